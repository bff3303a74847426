"""Checking and writing the arguments of IMAP commands that come from the caller: uids, flags,
sort keys, APPEND's date-time. Everything is refused with ``InvalidArgument`` before a byte is
sent.

    flag-list      = "(" [flag *(SP flag)] ")"
    sort-criterion = ["REVERSE" SP] sort-key                         ; RFC 5256
    date-time      = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
"""

from __future__ import annotations

import datetime
from collections.abc import Collection, Iterable, Sequence

from ..._errors import InvalidArgument
from ..._models import Flag
from ._wire import Arg, Atom

__all__ = ["check_uids", "date_time", "flag_list", "sort_keys"]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_SORT_KEYS = frozenset({"ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO"})
# \Recent cannot be stored (RFC 9051 section 2.3.2).
_SYSTEM = {flag.value.lower() for flag in Flag if flag is not Flag.RECENT}


def sort_keys(sort: Sequence[str]) -> list[Arg]:
    """Return the SORT criteria of keys like ``["-date", "subject"]`` (``-``: reversed).

    Raises:
        InvalidArgument: not a list of known keys.
    """
    # sort-criteria = "(" sort-criterion *(SP sort-criterion) ")"
    # sort-criterion = ["REVERSE" SP] sort-key
    if isinstance(sort, str):
        raise InvalidArgument("sort takes a list of keys, e.g. ['-date']")
    criteria: list[Arg] = []
    for key in sort:
        name = key.removeprefix("-").upper() if isinstance(key, str) else ""
        if name not in _SORT_KEYS:
            raise InvalidArgument(f"unknown sort key {key!r} (known: {sorted(_SORT_KEYS)})")
        criteria += [Atom("REVERSE"), Atom(name)] if key.startswith("-") else [Atom(name)]
    if not criteria:
        raise InvalidArgument("sort needs at least one key")
    return criteria


def check_uids(uids: Iterable[int | str]) -> list[int]:
    """Return ``uids`` as a list, each checked to be an IMAP uid (1 .. 2**32 - 1).

    Raises:
        InvalidArgument: one is not.
    """
    values: list[int] = []
    for uid in uids:
        if isinstance(uid, bool) or not isinstance(uid, int) or not 0 < uid < 2**32:
            raise InvalidArgument(f"IMAP uids are ints from 1 to 4294967295, got {uid!r}")
        values.append(uid)
    return values


def flag_list(flags: Collection[Flag | str]) -> list[Arg]:
    """Return the flag-list of ``flags`` (system flags and keywords).

    Raises:
        InvalidArgument: a single string instead of a collection, an unknown system flag, or
            a keyword that is no atom (CR, LF, NUL, spaces, parentheses...).
    """
    if isinstance(flags, (str, Flag)):
        raise InvalidArgument("flags must be a collection of flags, not a single string")
    result: list[Arg] = []
    for flag in flags:
        text = flag.value if isinstance(flag, Flag) else flag
        if not isinstance(text, str):
            raise InvalidArgument(f"a flag must be a Flag or a str keyword, got {flag!r}")
        if text.startswith("\\") and text.lower() not in _SYSTEM:
            raise InvalidArgument(f"{text!r} is not a system flag; keywords have no backslash")
        result.append(Atom(text))  # Atom refuses CR, LF, NUL, spaces and parentheses
    return result


def date_time(when: datetime.datetime) -> str:
    """Return APPEND's date-time of ``when`` (a naive datetime is local time)."""
    # date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
    if when.tzinfo is None:
        when = when.astimezone()  # a naive datetime is local time
    offset = when.utcoffset() or datetime.timedelta()
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    zone = f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    month = _MONTHS[when.month - 1]
    return f"{when.day:2d}-{month}-{when.year:04d} {when:%H:%M:%S} {zone}"
