"""POP3 status lines and the listings of STAT, LIST and UIDL (RFC 1939, RFC 2449).

Every reply starts with a status line. RFC 2449 section 9 gives its grammar, with the
extended response codes in brackets::

    single-line = status [SP text] CRLF       ;512 octets maximum
    status      = "+OK" / "-ERR"
    text        = *schar / resp-code *CHAR
    schar       = %x21-5A / %x5C-7F           ;printable ASCII, excluding "["
    resp-code   = "[" resp-level *("/" resp-level) "]"
    resp-level  = 1*rchar
    rchar       = %x21-2E / %x30-5C / %x5E-7F ;printable ASCII, excluding "/" and "]"

The codes this library gives a meaning to are those of RFC 2449 section 8 (``IN-USE``,
``LOGIN-DELAY``) and RFC 3206 (``SYS/TEMP``, ``SYS/PERM``, ``AUTH``).
"""

from __future__ import annotations

import re

import attrs

from ..._errors import LimitExceeded, ProtocolError, sanitize

__all__ = [
    "TEMPORARY_CODES",
    "StatusLine",
    "apop_timestamp",
    "parse_scan_listing",
    "parse_stat",
    "parse_status",
    "parse_uidl_listing",
    "split_listing",
]

#: Response codes after which the same command may succeed later (RFC 2449 section 8,
#: RFC 3206 section 4): the maildrop is locked, logins are rate limited, or the server has a
#: passing problem. ``SYS/PERM`` and ``AUTH`` are permanent.
TEMPORARY_CODES = frozenset({"IN-USE", "LOGIN-DELAY", "SYS/TEMP"})

_RCHARS = rb"[\x21-\x2e\x30-\x5c\x5e-\x7f]+"
_RESP_CODE = re.compile(rb"\[(" + _RCHARS + rb"(?:/" + _RCHARS + rb")*)\]")


@attrs.frozen(kw_only=True)
class StatusLine:
    """The first line of a reply.

    Attributes:
        ok: True for ``+OK``, False for ``-ERR``.
        code: the RFC 2449 response code in upper case (``"IN-USE"``, ``"SYS/TEMP"``), if any.
        raw: the rest of the line after the status, as received (for the APOP timestamp and
            the numbers of STAT, LIST n and UIDL n).
        raw_text: the human-readable part of ``raw`` (without the response code).
    """

    ok: bool
    code: str | None = None
    raw: bytes = b""
    raw_text: bytes = b""

    @property
    def text(self) -> str:
        """The human-readable text, sanitised for display (printable, bounded)."""
        return sanitize(self.raw_text)

    @property
    def temporary(self) -> bool:
        """True when the code says that trying again later may succeed."""
        return self.code in TEMPORARY_CODES


def parse_status(line: bytes) -> StatusLine:
    """Parse a status line (its terminator included or not).

    Raises:
        ProtocolError: the line starts with neither ``+OK`` nor ``-ERR``.
    """
    line = line.rstrip(b"\r\n")
    if line[:3] == b"+OK" and (len(line) == 3 or line[3:4] == b" "):
        ok, rest = True, line[4:]
    elif line[:4] == b"-ERR" and (len(line) == 4 or line[4:5] == b" "):
        ok, rest = False, line[5:]
    else:
        raise ProtocolError(f"malformed POP3 status line: {sanitize(line[:80])!r}")
    if rest[:1] == b"[" and (match := _RESP_CODE.match(rest)) is not None:
        code = match.group(1).decode("ascii").upper()
        return StatusLine(ok=ok, code=code, raw=rest, raw_text=rest[match.end() :].lstrip(b" "))
    return StatusLine(ok=ok, raw=rest, raw_text=rest)


# RFC 1939 section 7 (APOP): the greeting's timestamp is a msg-id in angle brackets:
#   "+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>"
_TIMESTAMP = re.compile(rb"<[\x21-\x3b\x3d\x3f-\x7e]*@[\x21-\x3b\x3d\x3f-\x7e]*>")


def apop_timestamp(greeting: StatusLine) -> bytes | None:
    """Return the APOP timestamp (``<...@...>``, brackets included) of ``greeting``, if any."""
    match = _TIMESTAMP.search(greeting.raw)
    return match.group(0) if match is not None else None


def _number(token: bytes, what: str) -> int:
    if not token.isdigit() or len(token) > 19:
        raise ProtocolError(f"{what}: {sanitize(token[:40])!r} is not a number")
    return int(token)


def parse_stat(status: StatusLine) -> tuple[int, int]:
    """Return ``(messages, octets)`` from the ``+OK nn mm`` reply of STAT (RFC 1939 5).

    Raises:
        ProtocolError: the reply does not start with two numbers.
    """
    parts = status.raw.split()
    if len(parts) < 2:
        raise ProtocolError(f"malformed STAT reply: {status.text!r}")
    return _number(parts[0], "STAT"), _number(parts[1], "STAT")


# RFC 1939 section 5 (LIST): scan listing = msg-number SP size, one per line.
# RFC 1939 section 7 (UIDL): unique-id listing = msg-number SP unique-id, where
#   unique-id = 1*70 of %x21-7E
# A mailbox lists thousands of these, so the checks are C-level bytes methods: isdigit, and
# translate() deleting every allowed byte of a unique-id (what is left is not allowed).
_UNIQUE_ID_BYTES = bytes(range(0x21, 0x7F))


def _listing_line(line: bytes, what: str) -> tuple[int, bytes]:
    number, _, rest = line.partition(b" ")
    # More fields after the second are allowed (RFC 1939 section 5 lets servers add some).
    value = rest.split(b" ", 1)[0]
    if not value or not number.isdigit() or len(number) > 19:
        raise ProtocolError(f"malformed {what} line: {sanitize(line[:80])!r}")
    return int(number), value


def parse_scan_listing(line: bytes) -> tuple[int, int]:
    """Return ``(number, size)`` from one line of LIST (or the ``+OK`` text of ``LIST n``).

    Raises:
        ProtocolError: the line is not ``number SP size``.
    """
    number, size = _listing_line(line.rstrip(b"\r\n"), "LIST")
    if not size.isdigit() or len(size) > 19:
        raise ProtocolError(f"LIST: {sanitize(size[:40])!r} is not a number")
    return number, int(size)


def parse_uidl_listing(line: bytes) -> tuple[int, str]:
    """Return ``(number, unique_id)`` from one line of UIDL (or the text of ``UIDL n``).

    Raises:
        ProtocolError: the line is not ``number SP unique-id`` (1 to 70 printable characters).
    """
    number, uid = _listing_line(line.rstrip(b"\r\n"), "UIDL")
    if len(uid) > 70 or uid.translate(None, _UNIQUE_ID_BYTES):
        raise ProtocolError(f"malformed UIDL unique-id: {sanitize(uid[:80])!r}")
    return number, uid.decode("ascii")


def split_listing(data: bytes, max_line_length: int) -> list[bytes]:
    """Split the (unstuffed) body of a multi-line listing into lines without terminators.

    Raises:
        LimitExceeded: a line is longer than ``max_line_length``.
    """
    lines = data.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for line in lines:
        if len(line) > max_line_length:
            raise LimitExceeded(f"listing line longer than max_line_length ({max_line_length})")
    return lines
