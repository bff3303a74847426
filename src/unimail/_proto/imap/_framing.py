"""Cutting the server's byte stream into whole IMAP responses (RFC 9051 section 2.2.2, 4.3).

A response is one line, unless the line ends with a literal announcement ``{n}`` (or the
non-synchronising ``{n+}``): then exactly ``n`` bytes of literal data follow and the response
goes on with another line, and so on. ``ResponseFramer`` is fed bytes in chunks of any size and
hands out *frames*: a list of parts alternating ``text, literal, text, literal, ..., text``,
where each text part is a line without its CRLF (ending in ``{n}`` when a literal follows).

Every part is bounded by :class:`~unimail.Limits`: a line longer than ``max_line_length``, a
literal larger than ``max_literal_size`` or a response larger than ``max_response_size`` raises
:class:`~unimail.LimitExceeded` as soon as it is known, before its bytes are buffered.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable

from ..._errors import LimitExceeded
from ..._options import Limits

__all__ = ["Frame", "ResponseFramer"]

Frame = list[bytes]

# literal = "{" number64 ["+"] "}" CRLF *CHAR8   (RFC 9051 and RFC 7888 for the "+")
# Matched at the line's last "{" (the only place it can start): a regex search would try
# every position of the line first.
_LITERAL_AT_END = re.compile(rb"\{(\d{1,20})\+?\}\Z")
# A literal this large is written, as it arrives, straight into the memory of the bytes
# object that becomes its part (io.BytesIO hands its buffer out without a copy), instead of
# growing the receive buffer and being copied out of it: a message is held once, not twice.
_DIRECT = 1 << 16
# Below this size, bytes(buf[start:end]) (two copies) costs less than making a memoryview.
_SMALL = 4096


class ResponseFramer:
    """Sans-I/O framer: ``feed()`` bytes, then call ``next_frame()`` until it returns None."""

    def __init__(self, limits: Limits | None = None) -> None:
        self._limits = limits or Limits()
        self._buf = bytearray()
        self._pos = 0  # start of the unconsumed data in _buf
        self._scan = 0  # where the search for the next LF resumes (never rescan)
        self._parts: Frame = []
        self._literal: int | None = None  # bytes of literal data still expected
        self._size = 0  # bytes in the response being assembled
        self._literal_total = 0
        self._target: io.BytesIO | None = None  # where a large literal is being collected
        #: When set, literal data goes to ``sink(chunk, literal_size)`` as it arrives instead
        #: of into the frame (whose part for it is then ``b""``): a message of any size is
        #: downloaded in memory bounded by the receive chunk size. Not bound by
        #: ``max_literal_size``, since nothing is held.
        self.sink: Callable[[bytes, int], None] | None = None

    def feed(self, data: bytes) -> None:
        """Add ``data`` received from the server."""
        if self._target is not None and self._literal:
            take = min(len(data), self._literal)
            with memoryview(data) as view:
                self._target.write(view[:take])
            self._literal -= take
            data = data[take:]
            if not data:
                return
        if self._pos:
            # Compact once per feed, not once per frame: keeps framing linear in the input.
            del self._buf[: self._pos]
            self._scan -= self._pos
            self._pos = 0
        self._buf += data

    @property
    def buffered(self) -> int:
        """How many received bytes are not yet part of a returned frame."""
        collected = self._target.tell() if self._target is not None else 0
        return len(self._buf) - self._pos + sum(map(len, self._parts)) + collected

    @property
    def literal_pending(self) -> int | None:
        """Bytes of literal data still expected, or None outside a literal."""
        return self._literal

    def next_frame(self) -> Frame | None:
        """Return the next complete response, or None if more bytes are needed.

        Raises:
            LimitExceeded: a line, literal or response passed its configured bound.
        """
        buf = self._buf
        limits = self._limits
        while True:
            if self._literal is None:
                pass  # the usual case: a line is due
            elif self._target is not None:
                if self._literal:
                    return None
                self._parts.append(self._target.getvalue())  # no copy: see _DIRECT
                self._target.close()
                self._target = self._literal = None
            elif self.sink is not None:
                take = min(len(buf) - self._pos, self._literal)
                if take:
                    self.sink(_copy(buf, self._pos, self._pos + take), self._literal_total)
                    self._pos = self._scan = self._pos + take
                    self._literal -= take
                if self._literal:
                    return None
                self._parts.append(b"")
                self._literal = None
            elif self._literal >= _DIRECT:
                self._target = _collect(self._literal)
                take = min(len(buf) - self._pos, self._literal)
                with memoryview(buf) as view:
                    self._target.write(view[self._pos : self._pos + take])
                self._pos = self._scan = self._pos + take
                self._literal -= take
                continue
            else:
                end = self._pos + self._literal
                if len(buf) < end:
                    return None
                self._parts.append(_copy(buf, self._pos, end))
                self._pos = self._scan = end
                self._literal = None
            pos = self._pos
            newline = buf.find(b"\n", self._scan if self._scan > pos else pos)
            if newline < 0:
                self._scan = len(buf)
                # The limit counts the line without its CRLF: a CR waiting for its LF is free.
                pending = len(buf) - pos - (1 if buf.endswith(b"\r") else 0)
                if pending > limits.max_line_length:
                    raise LimitExceeded(f"server line longer than {limits.max_line_length} bytes")
                return None
            end = newline - 1 if newline > pos and buf[newline - 1] == 0x0D else newline
            if end - pos > limits.max_line_length:
                raise LimitExceeded(f"server line longer than {limits.max_line_length} bytes")
            line = bytes(buf[pos:end]) if end - pos < _SMALL else _copy(buf, pos, end)
            self._pos = self._scan = newline + 1
            self._size += len(line) + 2
            if self._size > limits.max_response_size:
                raise LimitExceeded(f"server response larger than {limits.max_response_size} bytes")
            self._parts.append(line)
            match = _LITERAL_AT_END.match(line, line.rfind(b"{")) if line.endswith(b"}") else None
            if match is None:
                frame, self._parts, self._size = self._parts, [], 0
                return frame
            size = int(match.group(1))
            self._literal, self._literal_total = size, size
            if self.sink is not None:
                continue
            if size > limits.max_literal_size:
                raise LimitExceeded(
                    f"server announced a literal of {size} bytes, "
                    f"over the limit of {limits.max_literal_size}"
                )
            self._size += size
            if self._size > limits.max_response_size:  # checked before the literal arrives
                raise LimitExceeded(f"server response larger than {limits.max_response_size} bytes")


def _collect(size: int) -> io.BytesIO:
    """A BytesIO whose buffer already has ``size`` bytes, so writes never reallocate it."""
    target = io.BytesIO()
    target.seek(size - 1)
    target.write(b"\0")
    target.seek(0)
    return target


def _copy(buf: bytearray, start: int, end: int) -> bytes:
    if end - start < _SMALL:
        return bytes(buf[start:end])  # two small copies cost less than making a view
    # One copy, not two (a bytearray slice, then bytes of it): a large literal is briefly held
    # twice instead of three times. The view is released at once, so the buffer can shrink.
    with memoryview(buf) as view:
        return bytes(view[start:end])
