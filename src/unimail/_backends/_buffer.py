"""Framing of received bytes into lines and exact-size chunks, with limits. Pure: no I/O.

Mail protocols are line based (RFC 3501 section 2.2, RFC 1939 section 3, RFC 5321 section
2.3.8: lines end with CRLF) with exact-size payloads in between (IMAP literals). A server that
never sends the line terminator must not make us buffer without bound, so the pending line is
checked against ``Limits.max_line_length`` on every call, before its end has arrived.
"""

from __future__ import annotations

from .._errors import InvalidArgument, LimitExceeded
from .._options import Limits

__all__ = ["ReceiveBuffer"]


class ReceiveBuffer:
    """Bytes received from the peer and not yet consumed.

    Feed it what the socket gives with :meth:`feed`; take complete lines with
    :meth:`take_line` and exact-size chunks with :meth:`take_exact`.

    Taking from the front of a ``bytearray`` is amortised O(1) in CPython, and the search for
    the line terminator resumes where the previous search stopped, so a line that arrives one
    byte at a time costs O(n), not O(n**2).
    """

    def __init__(self, limits: Limits) -> None:
        """Create an empty buffer that enforces ``limits``."""
        self._data = bytearray()
        # The first ``_scanned`` bytes are known to hold no b"\n": never search them again.
        self._scanned = 0
        self._limits = limits

    def __len__(self) -> int:
        """Return the number of bytes buffered and not yet taken."""
        return len(self._data)

    def feed(self, data: bytes) -> None:
        """Append ``data`` received from the peer."""
        self._data += data

    def take_line(self) -> bytes | None:
        """Remove and return the next complete line, including its terminating ``b"\\n"``.

        The terminator is normally CRLF; a bare LF also ends a line (servers send it, and
        treating it as data would hide it inside the next line). Callers that need strict CRLF
        check the returned line themselves.

        Returns:
            The line with its terminator, or ``None`` if no complete line is buffered yet.

        Raises:
            LimitExceeded: the line (without its terminator) is longer than
                ``limits.max_line_length``; raised as soon as the pending bytes pass the
                limit, even before the terminator arrives.
        """
        end = self._data.find(b"\n", self._scanned)
        limit = self._limits.max_line_length
        if end < 0:
            self._scanned = len(self._data)
            pending = self._scanned
            if pending and self._data[-1] == 0x0D:
                pending -= 1  # a trailing CR may be the first half of the terminator
            if pending > limit:
                raise LimitExceeded(
                    f"line longer than max_line_length ({limit} bytes) and still no end"
                )
            return None
        length = end - 1 if end and self._data[end - 1] == 0x0D else end
        if length > limit:
            raise LimitExceeded(f"line of {length} bytes exceeds max_line_length ({limit})")
        line = bytes(self._data[: end + 1])
        del self._data[: end + 1]
        self._scanned = 0
        return line

    def take_exact(self, n: int) -> bytes | None:
        """Remove and return exactly ``n`` bytes, or ``None`` if fewer are buffered.

        Raises:
            InvalidArgument: ``n`` is negative.
            LimitExceeded: ``n`` is larger than ``limits.max_literal_size``.
        """
        if n < 0:
            raise InvalidArgument(f"cannot take a negative number of bytes ({n})")
        limit = self._limits.max_literal_size
        if n > limit:
            raise LimitExceeded(f"{n} bytes announced, more than max_literal_size ({limit})")
        if len(self._data) < n:
            return None
        chunk = bytes(self._data[:n])
        del self._data[:n]
        self._scanned = max(0, self._scanned - n)
        return chunk

    def take_all(self) -> bytes:
        """Remove and return every buffered byte (``b""`` if none)."""
        chunk = bytes(self._data)
        self._data.clear()
        self._scanned = 0
        return chunk
