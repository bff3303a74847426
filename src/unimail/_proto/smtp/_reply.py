"""SMTP replies: cutting the server's bytes into replies (RFC 5321 section 4.2).

A reply is one or more lines that all carry the same three-digit code; every line but the last
has ``-`` after the code, the last has a space (or nothing)::

    Reply-line     = *( Reply-code "-" [ textstring ] CRLF )
                     Reply-code [ SP textstring ] CRLF
    Reply-code     = %x32-35 %x30-35 %x30-39
    textstring     = 1*(%d09 / %d32-126) ; HT, SP, Printable US-ASCII

RFC 5321 4.2.1 requires the code to be the same on every line of a multi-line reply; a reply
whose code changes mid-way is a :class:`ProtocolError`: a client that trusted the last line
could be made to believe a refused command was accepted. Codes from 1xx to 5xx are read (some
servers send 1xx in violation of the grammar above; they are refused later as unexpected).

Enhanced status codes (RFC 3463 section 2, announced by ENHANCEDSTATUSCODES, RFC 2034) open
the text of each line::

    status-code    = class "." subject "." detail
    class          = "2" / "4" / "5"
    subject        = 1*3digit
    detail         = 1*3digit

Received bytes are bounded: a line longer than ``Limits.max_line_length`` or a reply larger
than ``Limits.max_response_size`` raises :class:`LimitExceeded` before it is buffered whole.
"""

from __future__ import annotations

import re

import attrs

from ..._errors import LimitExceeded, ProtocolError, sanitize
from ..._options import Limits

__all__ = ["Reply", "ReplyParser", "enhanced_code"]

_ENHANCED = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})(?:\s+|$)")


def enhanced_code(code: int, text: str) -> str | None:
    """Return the RFC 3463 enhanced status code opening ``text``, or None.

    The class digit must match the reply code's first digit (a ``250 5.0.0`` is not an
    enhanced code: it is text that happens to look like one).
    """
    match = _ENHANCED.match(text)
    if match is None or match.group(1) != str(code)[0]:
        return None
    return f"{match.group(1)}.{match.group(2)}.{match.group(3)}"


@attrs.frozen
class Reply:
    """One complete SMTP reply.

    Attributes:
        code: the three-digit reply code (``250``, ``354``, ``550``, ...).
        lines: the text of each line, without code, separator and CRLF (decoded as UTF-8 with
            replacement: RFC 6531 servers may send UTF-8).
    """

    code: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        """The text of every line, joined by newlines, enhanced codes left in place."""
        return "\n".join(self.lines)

    @property
    def enhanced(self) -> str | None:
        """The enhanced status code of the first line (RFC 3463), if it has one."""
        return enhanced_code(self.code, self.lines[0]) if self.lines else None

    @property
    def message(self) -> str:
        """The human-readable text: every line without its enhanced code, sanitised."""
        if len(self.lines) == 1:
            line = self.lines[0]
            match = _ENHANCED.match(line)
            if match is not None and match.group(1) == str(self.code)[0]:
                line = line[match.end() :]
            # The common case, one short printable line, needs no character-by-character pass.
            if line.isprintable() and len(line) <= 200:
                return line.strip()
            return sanitize(line.strip())
        parts = []
        for line in self.lines:
            match = _ENHANCED.match(line)
            if match is not None and match.group(1) == str(self.code)[0]:
                line = line[match.end() :]
            parts.append(line)
        return sanitize(" ".join(parts).strip())

    @property
    def positive(self) -> bool:
        """True for 2xx (completion) and 3xx (intermediate) replies."""
        return 200 <= self.code < 400

    @property
    def temporary(self) -> bool:
        """True for 4xx replies: trying again later may succeed."""
        return 400 <= self.code < 500

    def __str__(self) -> str:
        return f"{self.code} {self.message}"


class ReplyParser:
    """Sans-I/O reply reader: :meth:`receive_data` bytes, then :meth:`next_reply` until None.

    Lines end with CRLF; a bare LF is accepted too (some servers send it, and treating it as
    data would only hide the next reply inside this one).

    A server answers most commands with the same few one-line replies (``250 2.1.0 Ok`` to
    every MAIL of a batch): the replies to recently seen lines are kept (at most
    ``_CACHE_SIZE``; a :class:`Reply` is immutable, so one object can be returned many times)
    and such a line is not parsed again.
    """

    _CACHE_SIZE = 32

    def __init__(self, limits: Limits | None = None) -> None:
        """Create a parser that enforces ``limits`` (defaults: :class:`Limits`)."""
        limits = limits or Limits()
        self._max_line = limits.max_line_length
        self._max_size = limits.max_response_size
        self._buf = bytearray()
        self._scan = 0  # the first _scan bytes of _buf hold no LF: never search them again
        self._code: int | None = None
        self._lines: list[str] = []
        self._size = 0
        # One-line replies by their line (CR included, when it was sent), within the limits.
        self._seen: dict[bytes, Reply] = {}

    def receive_data(self, data: bytes) -> None:
        """Add ``data`` received from the server."""
        self._buf += data

    @property
    def buffered(self) -> int:
        """How many received bytes are not part of a returned reply yet."""
        return len(self._buf)

    def next_reply(self) -> Reply | None:
        """Return the next complete reply, or None if more bytes are needed.

        Raises:
            ProtocolError: a line is not ``code[-| ]text``, or the code changed mid-reply.
            LimitExceeded: a line or the reply passed its configured bound.
        """
        buf = self._buf
        while True:
            end = buf.find(b"\n", self._scan)
            if end < 0:
                self._scan = len(buf)
                if self._scan > self._max_line:
                    raise LimitExceeded(
                        f"reply line longer than max_line_length ({self._max_line})"
                    )
                return None
            raw = bytes(buf[:end])
            del buf[: end + 1]  # O(1): a bytearray drops its head by moving its start
            self._scan = 0
            if self._code is None:
                reply = self._seen.get(raw)
                if reply is not None:
                    return reply
            line = raw[:-1] if raw.endswith(b"\r") else raw
            if len(line) > self._max_line:
                raise LimitExceeded(f"reply line of {len(line)} bytes exceeds max_line_length")
            self._size += len(line) + 2
            if self._size > self._max_size:
                raise LimitExceeded(f"reply larger than max_response_size ({self._max_size})")
            one_line = self._code is None
            reply = self._line(line)
            if reply is not None:
                if one_line:
                    # A line already within the limits: seen again, it is the same reply.
                    if len(self._seen) >= self._CACHE_SIZE:
                        self._seen.clear()
                    self._seen[raw] = reply
                return reply

    def _line(self, line: bytes) -> Reply | None:
        code_bytes, separator = line[:3], line[3:4]
        if len(code_bytes) != 3 or not code_bytes.isdigit() or separator not in (b" ", b"-", b""):
            raise ProtocolError(f"malformed SMTP reply line: {sanitize(line[:80])!r}")
        code = int(code_bytes)
        if not 100 <= code <= 599:
            raise ProtocolError(f"SMTP reply code {code} is out of range")
        if self._code is not None and code != self._code:
            raise ProtocolError(
                f"SMTP reply code changed from {self._code} to {code} in a multi-line reply"
            )
        self._code = code
        self._lines.append(line[4:].decode("utf-8", "replace"))
        if separator == b"-":
            return None
        reply = Reply(code, tuple(self._lines))
        self._code, self._lines, self._size = None, [], 0
        return reply
