"""Writing IMAP command arguments (RFC 9051 section 4 and the ABNF of section 9).

A command is a list of arguments; each Python type has one spelling on the wire:

=====================  =============================================================
``Atom("SEEN")``       sent as it is, after checking it holds only ATOM-CHARs
``str``                an ``astring``: a quoted string when it is printable ASCII,
                       otherwise a literal holding its UTF-8 bytes
``bytes``              always a literal (message data for APPEND)
``int``                a ``number``
``datetime.date``      a ``date`` (``1-Feb-2024``) for SEARCH SINCE / BEFORE / ON
``SequenceSet``        a ``sequence-set`` (``1:5,7``)
``list`` / ``tuple``   a parenthesised list of the above
=====================  =============================================================

A literal splits the command: the client must wait for the server's ``+`` continuation
before it sends the literal's bytes, unless the server offers LITERAL+ (RFC 7888), in which case
``{n+}`` lets the whole command go in one write. :func:`serialize` therefore returns the
command as a list of *segments*: a client writes segment 0, and before each further segment
waits for a continuation (or not, with LITERAL+).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Sequence

import attrs

from ..._errors import InvalidArgument

__all__ = ["Arg", "Atom", "SequenceSet", "serialize"]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# ATOM-CHAR = <any CHAR except atom-specials>
# atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials / resp-specials
# Flags (``\Seen``) and section specs (``BODY.PEEK[HEADER]``) are written through Atom as well,
# so backslash and brackets are allowed here; callers never pass user text as an Atom.
_ATOM_FORBIDDEN = frozenset(b'(){ "%*') | frozenset(range(0x20)) | {0x7F}

# Quoted strings may hold any TEXT-CHAR except " and \ unescaped; we keep them to printable
# ASCII so that a server never has to guess a charset.
_QUOTABLE = frozenset(range(0x20, 0x7F))

_SEQUENCE_SET = re.compile(
    r"(?:[1-9][0-9]*|\*)(?::(?:[1-9][0-9]*|\*))?(?:,(?:[1-9][0-9]*|\*)(?::(?:[1-9][0-9]*|\*))?)*",
    re.ASCII,
)


@attrs.frozen
class Atom:
    """An IMAP atom written verbatim: a command name, a search key, a flag, a section spec."""

    value: str

    def __attrs_post_init__(self) -> None:
        raw = self.value.encode("ascii", "replace")
        if not raw or not self.value.isascii() or any(b in _ATOM_FORBIDDEN for b in raw):
            raise InvalidArgument(f"{self.value!r} is not a valid IMAP atom")


@attrs.frozen
class SequenceSet:
    """A set of uids or sequence numbers, written compactly (``1:5,7,9:*``).

    ``SequenceSet.of([3, 1, 2, 7])`` gives ``1:3,7``. ``"*"`` may be given as the text form.
    """

    text: str

    def __attrs_post_init__(self) -> None:
        # sequence-set = (seq-number / seq-range) ["," sequence-set]; seq-number = nz-number / "*"
        if not _SEQUENCE_SET.fullmatch(self.text):
            raise InvalidArgument(f"{self.text[:40]!r} is not a valid IMAP sequence set")

    @classmethod
    def of(cls, numbers: Iterable[int]) -> SequenceSet:
        """Return the compact set of ``numbers``.

        Raises:
            InvalidArgument: the set is empty or holds a number outside 1..2**32-1.
        """
        values = sorted(set(numbers))
        if not values:
            raise InvalidArgument("an empty set of uids cannot be sent")
        for number in (values[0], values[-1]):
            if isinstance(number, bool) or not isinstance(number, int) or not 0 < number < 2**32:
                raise InvalidArgument(f"{number!r} is not a valid uid (1 .. 4294967295)")
        ranges: list[str] = []
        start = prev = values[0]
        for number in values[1:]:
            if number != prev + 1:
                ranges.append(str(start) if start == prev else f"{start}:{prev}")
                start = number
            prev = number
        ranges.append(str(start) if start == prev else f"{start}:{prev}")
        return cls(",".join(ranges))

    @classmethod
    def chunks(cls, numbers: Iterable[int], max_length: int = 8000) -> list[SequenceSet]:
        """Return compact sets covering ``numbers``, each at most ``max_length`` characters,
        in ascending order: servers refuse overlong command lines (Dovecot: 64 KiB)."""
        whole = cls.of(numbers)
        if len(whole.text) <= max_length:
            return [whole]
        sets: list[SequenceSet] = []
        current: list[str] = []
        size = 0
        for part in whole.text.split(","):
            if current and size + 1 + len(part) > max_length:
                sets.append(cls(",".join(current)))
                current, size = [], 0
            current.append(part)
            size += len(part) + (1 if size else 0)
        sets.append(cls(",".join(current)))
        return sets


# RFC 7888 section 5: under LITERAL-, non-synchronising literals hold at most 4096 bytes.
_LITERAL_MINUS_MAX = 4096


@attrs.frozen
class _Literals:
    plus: bool  # LITERAL+: every literal may go without waiting
    minus: bool  # LITERAL-: literals up to 4096 bytes may


Arg = Atom | str | bytes | int | datetime.date | SequenceSet | Sequence["Arg"]


def serialize(
    tag: str, args: Sequence[Arg], *, literal_plus: bool = False, literal_minus: bool = False
) -> list[bytes]:
    """Return the segments of the command line ``tag args...`` (see the module docstring).

    Raises:
        InvalidArgument: an argument holds CR, LF or NUL, or cannot be written.
    """
    segments: list[bytes] = []
    current = bytearray(tag.encode("ascii"))
    for arg in args:
        current += b" "
        _write(arg, current, segments, _Literals(literal_plus, literal_minus), depth=0)
    current += b"\r\n"
    segments.append(bytes(current))
    return segments


def _write(
    arg: Arg, out: bytearray, segments: list[bytes], literals: _Literals, depth: int
) -> None:
    if isinstance(arg, Atom):
        out += arg.value.encode("ascii")
    elif isinstance(arg, SequenceSet):
        out += arg.text.encode("ascii")
    elif isinstance(arg, bool):
        raise InvalidArgument("a bool cannot be sent as an IMAP argument")
    elif isinstance(arg, int):
        if arg < 0:
            raise InvalidArgument(f"IMAP numbers are not negative: {arg}")
        out += str(arg).encode("ascii")
    elif isinstance(arg, str):
        _write_string(arg, out, segments, literals)
    elif isinstance(arg, bytes):
        _write_literal(arg, out, segments, literals)
    elif isinstance(arg, datetime.date):
        out += f"{arg.day}-{_MONTHS[arg.month - 1]}-{arg.year:04d}".encode("ascii")
    elif isinstance(arg, (list, tuple)):
        if depth > 16:
            raise InvalidArgument("IMAP argument lists nest too deeply")
        out += b"("
        for i, item in enumerate(arg):
            if i:
                out += b" "
            _write(item, out, segments, literals, depth + 1)
        out += b")"
    else:
        raise InvalidArgument(f"cannot send {type(arg).__name__} as an IMAP argument")


def _write_string(value: str, out: bytearray, segments: list[bytes], literals: _Literals) -> None:
    if "\r" in value or "\n" in value or "\0" in value:
        raise InvalidArgument(f"{value[:40]!r} contains CR, LF or NUL, which cannot be sent")
    try:
        raw = value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, e.g. from os.fsdecode()
        raise InvalidArgument(f"{value[:40]!r} is not valid Unicode text") from None
    if all(b in _QUOTABLE for b in raw):
        out += b'"' + raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
    else:
        _write_literal(raw, out, segments, literals)


def _write_literal(data: bytes, out: bytearray, segments: list[bytes], literals: _Literals) -> None:
    # RFC 9051 section 4.3: a literal may hold any octet but NUL.
    if b"\0" in data:
        raise InvalidArgument("IMAP literals cannot hold NUL bytes")
    if literals.plus or (literals.minus and len(data) <= _LITERAL_MINUS_MAX):
        out += b"{%d+}\r\n" % len(data)
        out += data
        return
    out += b"{%d}\r\n" % len(data)
    segments.append(bytes(out))
    out.clear()
    out += data
