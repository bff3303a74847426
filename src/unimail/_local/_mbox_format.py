"""One message as an mbox file stores it: its state header fields, mboxrd quoting, ``From`` lines.

The store itself (``_mbox``, whose docstring describes the format as a user sees it) reads and
writes the file through the standard library's ``mailbox`` module; this module turns one
message into what is stored and back: the fields that hold its state (``X-UID``, ``Status``,
``X-Status``, ``X-Keywords``: :func:`split_managed`, :func:`flags_of`, :func:`compose`), the
mboxrd quoting of its ``From`` lines (:func:`quote`, :func:`unquote`, :func:`unquoted_lines`,
:func:`count_quoted`), and the ``From`` line that carries its internal date
(:func:`from_line_at`, :func:`date_of`).
"""

from __future__ import annotations

import datetime
import re
import time
from collections.abc import Iterator
from typing import Protocol

from .._models import Flag
from ._flags import FlagSet

__all__ = [
    "compose",
    "count_quoted",
    "date_of",
    "flags_of",
    "from_line_at",
    "quote",
    "split_managed",
    "unquote",
    "unquoted_lines",
]

_MANAGED = (b"status", b"x-status", b"x-keywords", b"x-uid")
_X_STATUS = {"A": Flag.ANSWERED, "F": Flag.FLAGGED, "T": Flag.DRAFT, "D": Flag.DELETED}
_X_LETTER = {flag: letter for letter, flag in _X_STATUS.items()}


def split_managed(header: bytes) -> tuple[bytes, dict[bytes, bytes]]:
    """Return ``header`` without the fields this store manages, and their values by lower-case
    name (a field's continuation lines go with it)."""
    kept: list[bytes] = []
    values: dict[bytes, bytes] = {}
    dropping = False
    for line in header.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t") and line.strip():
            if not dropping:
                kept.append(line)
            continue
        name, colon, value = line.partition(b":")
        dropping = bool(colon) and name.strip().lower() in _MANAGED
        if dropping:
            values[name.strip().lower()] = value.strip()
        else:
            kept.append(line)
    return b"".join(kept), values


def flags_of(values: dict[bytes, bytes]) -> FlagSet:
    """Return the flags that the managed ``values`` (from :func:`split_managed`) hold."""
    flags: set[Flag | str] = set()
    if b"R" in values.get(b"status", b""):
        flags.add(Flag.SEEN)
    for letter in values.get(b"x-status", b"").decode("ascii", "replace"):
        if letter in _X_STATUS:
            flags.add(_X_STATUS[letter])
    words = values.get(b"x-keywords", b"").decode("ascii", "replace").replace(",", " ").split()
    flags.update(words)
    return frozenset(flags)


# mboxrd: ">"* "From " at the start of a line gains one ">" when stored, loses one when read.
_TO_QUOTE = re.compile(rb"^(>*From )", re.MULTILINE)
_QUOTED = re.compile(rb"^>(>*From )", re.MULTILINE)
_QUOTED_LINE = re.compile(rb">+From ")
_LINE = 64 * 1024


def quote(raw: bytes) -> bytes:
    """Quote ``raw`` for storage (mboxrd)."""
    return _TO_QUOTE.sub(rb">\1", raw)


def unquote(stored: bytes) -> bytes:
    """Undo :func:`quote`."""
    return _QUOTED.sub(rb"\1", stored)


def unquoted_lines(file: _Lines) -> Iterator[bytes]:
    """Yield the rest of ``file`` in pieces of at most a line, unquoted (bounded memory)."""
    at_start = True
    while line := file.readline(_LINE):
        if at_start and line[:1] == b">" and _QUOTED_LINE.match(line):
            line = line[1:]
        at_start = line.endswith(b"\n")
        yield line


def count_quoted(file: _Lines) -> int:
    """Count the quoted lines in the rest of ``file``: one byte each that reading drops."""
    return sum(1 for line in iter(lambda: file.readline(_LINE), b"")
               if line[:1] == b">" and _QUOTED_LINE.match(line))  # fmt: skip


class _Lines(Protocol):
    def readline(self, size: int = -1, /) -> bytes: ...


def compose(from_line: bytes, raw: bytes, uid: int, flags: FlagSet) -> bytes:
    """Return the bytes to store: the ``From`` line, the managed fields, then ``raw``."""
    eol = b"\r\n" if raw.find(b"\r\n") == raw.find(b"\n") - 1 >= 0 else b"\n"
    fields = [b"X-UID: %d" % uid, b"Status: RO" if Flag.SEEN in flags else b"Status: O"]
    letters = "".join(sorted(_X_LETTER[f] for f in flags if isinstance(f, Flag) and f in _X_LETTER))
    if letters:
        fields.append(b"X-Status: " + letters.encode())
    keywords = sorted(f for f in flags if not isinstance(f, Flag))
    if keywords:
        fields.append(b"X-Keywords: " + " ".join(keywords).encode())
    return from_line.rstrip(b"\r\n") + b"\n" + eol.join(fields) + eol + quote(raw)


def from_line_at(when: datetime.datetime) -> bytes:
    """Return the ``From`` line, with its newline, of a message received at ``when``."""
    # From_ line: "From " sender SP asctime date, in UTC (as mail delivery agents write it).
    stamp = time.asctime(when.astimezone(datetime.timezone.utc).timetuple())
    return f"From MAILER-DAEMON {stamp}\n".encode()


def date_of(from_line: bytes) -> datetime.datetime | None:
    """Return the date of ``from_line`` (UTC), or None when it has none that parses."""
    parts = from_line.decode("ascii", "replace").split(None, 2)
    try:
        parsed = time.strptime(parts[2].strip()[:24], "%a %b %d %H:%M:%S %Y")
    except (IndexError, ValueError):
        return None
    return datetime.datetime(*parsed[:6], tzinfo=datetime.timezone.utc)
