"""Flags and keywords: checking what the caller passes, and the Maildir info letters.

Flags are checked as IMAP checks them (RFC 9051 section 2.3.2), so that a caller's code behaves
the same on every backend: system flags by their ``\\Name`` (any case) or as :class:`Flag`;
keywords as atoms (printable ASCII without ``(){ %*"\\]``). ``\\Recent`` is set by a server
only and cannot be stored.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from .._errors import InvalidArgument
from .._models import Flag

__all__ = ["FlagSet", "check_flags", "check_uids", "from_letters", "to_letters"]

#: What a message carries: system flags as :class:`Flag`, keywords as ``str``.
FlagSet = frozenset[Flag | str]

# flag-keyword = atom; ATOM-CHAR excludes atom-specials: ( ) { SP CTL % * " \ ]
_ATOM_SPECIALS = frozenset('(){ %*"\\]')
_SYSTEM = {flag.value.lower(): flag for flag in Flag if flag is not Flag.RECENT}

# Maildir info flags (https://cr.yp.to/proto/maildir.html), in the ASCII order they are
# written in: "P" (passed, i.e. forwarded) has no IMAP system flag and is kept as it was.
_LETTER_OF = {
    Flag.DRAFT: "D",
    Flag.FLAGGED: "F",
    Flag.ANSWERED: "R",
    Flag.SEEN: "S",
    Flag.DELETED: "T",
}
_FLAG_OF = {letter: flag for flag, letter in _LETTER_OF.items()}


def check_flags(flags: Collection[Flag | str]) -> FlagSet:
    """Return ``flags`` as a set of :class:`Flag` and keyword strings.

    Raises:
        InvalidArgument: a single string instead of a collection, ``\\Recent``, an unknown
            ``\\`` flag, or a keyword that is not an IMAP atom.
    """
    if isinstance(flags, (str, bytes, Flag)):
        raise InvalidArgument("flags must be a collection of flags, not a single string")
    result: set[Flag | str] = set()
    for flag in flags:
        text = flag.value if isinstance(flag, Flag) else flag
        if not isinstance(text, str) or not text:
            raise InvalidArgument(f"a flag must be a Flag or a str keyword, got {flag!r}")
        if text.startswith("\\"):
            system = _SYSTEM.get(text.lower())
            if system is None:
                raise InvalidArgument(f"{text!r} is not a system flag; keywords have no backslash")
            result.add(system)
        elif any(c in _ATOM_SPECIALS or not "\x20" < c < "\x7f" for c in text):
            raise InvalidArgument(f"keyword {text!r} is not an atom (printable ASCII, no specials)")
        else:
            result.add(text)
    return frozenset(result)


def check_uids(uids: Iterable[int | str]) -> list[int]:
    """Return the uids as ints, checked (local uids are ints from 1 to 2**32-1, as in IMAP).

    Raises:
        InvalidArgument: a uid that is not such an int, or one string instead of an iterable.
    """
    if isinstance(uids, (str, bytes)):
        raise InvalidArgument("uids must be an iterable of ints, not one string")
    values: list[int] = []
    for uid in uids:
        if isinstance(uid, bool) or not isinstance(uid, int) or not 0 < uid < 2**32:
            raise InvalidArgument(f"local uids are ints from 1 to 4294967295, got {uid!r}")
        values.append(uid)
    return values


def from_letters(info: str, keywords: dict[str, str]) -> tuple[FlagSet, str]:
    """Read the letters after ``:2,``: return the flags and the letters kept as they were
    (upper-case letters without a system flag, lower-case ones without a known keyword).

    Args:
        info: the letters.
        keywords: lower-case letter -> keyword (Dovecot's ``dovecot-keywords``).
    """
    flags: set[Flag | str] = set()
    kept = ""
    for letter in info:
        found: Flag | str | None = _FLAG_OF.get(letter) or keywords.get(letter)
        if found is None:
            kept += letter
        else:
            flags.add(found)
    return frozenset(flags), kept


def to_letters(flags: FlagSet, kept: str, letter_of: dict[str, str]) -> str:
    """Return the info letters for ``flags`` (ASCII order, as the Maildir format asks).

    Args:
        flags: the flags to write.
        kept: letters read from the old name that mean nothing here (kept as they were).
        letter_of: keyword -> its lower-case letter (every keyword of ``flags`` has one).
    """
    letters = set(kept)
    for flag in flags:
        letters.add(_LETTER_OF[flag] if isinstance(flag, Flag) else letter_of[flag])
    return "".join(sorted(letters))
