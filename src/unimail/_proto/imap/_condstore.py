"""CONDSTORE and QRESYNC (RFC 7162): modification sequences, CHANGEDSINCE, UNCHANGEDSINCE,
VANISHED and SELECT ... (QRESYNC ...).

Grammar (RFC 7162 section 7)::

    fetch-modifier      =/ chgsince-fetch-mod / "VANISHED"
    chgsince-fetch-mod  = "CHANGEDSINCE" SP mod-sequence-value
    store-modifier      =/ "UNCHANGEDSINCE" SP mod-sequence-valzer
    fetch-mod-resp      = "MODSEQ" SP "(" permsg-modsequence ")"
    resp-text-code      =/ "HIGHESTMODSEQ" SP mod-sequence-value / "NOMODSEQ" /
                           "MODIFIED" SP sequence-set
    select-param        =/ "QRESYNC" SP "(" uidvalidity SP mod-sequence-value
                           [SP known-uids] [SP seq-match-data] ")"
    expunged-resp       = "VANISHED" [SP "(EARLIER)"] SP known-uids
    mod-sequence-value  = 1*DIGIT   ; 1 <= n <= 9,223,372,036,854,775,807
    mod-sequence-valzer = "0" / mod-sequence-value

Every message has a modification sequence (MODSEQ) that grows whenever its flags change; the
folder's HIGHESTMODSEQ is the largest. A client that keeps ``(UIDVALIDITY, HIGHESTMODSEQ)`` asks
later for what changed since (CHANGEDSINCE) and, with QRESYNC, for the uids expunged since
(VANISHED (EARLIER)), instead of fetching the flags of every message again.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..._errors import InvalidArgument, ProtocolError
from ._events import UidRanges
from ._parser import Response
from ._uidplus import parse_uid_set
from ._wire import Arg, Atom, SequenceSet

__all__ = [
    "MAX_MODSEQ",
    "changedsince_modifier",
    "check_modseq",
    "enabled",
    "highest_modseq",
    "modified_uids",
    "qresync_parameter",
    "vanished_uids",
]

#: mod-sequence-value is a positive 63-bit number.
MAX_MODSEQ = 2**63 - 1

# Above this many characters the known-uids of SELECT (QRESYNC ...) are left out: the command
# line must stay well under servers' limits (Dovecot refuses lines over 64 KiB), and the
# parameter only narrows the answer (RFC 7162 section 3.2.5).
_MAX_KNOWN_UIDS = 8000


def check_modseq(value: object, what: str, *, zero: bool = False) -> int:
    """Return ``value`` if it is a valid mod-sequence (``zero``: 0 allowed too).

    Raises:
        InvalidArgument: it is not an int in 1 (or 0) .. 2**63 - 1.
    """
    low = 0 if zero else 1
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_MODSEQ:
        raise InvalidArgument(f"{what} must be an int from {low} to 2**63-1, got {value!r}")
    return value


def enabled(responses: Iterable[Response]) -> frozenset[str]:
    """Return what an ``* ENABLED ...`` response names (RFC 5161), upper case."""
    found: set[str] = set()
    for response in responses:
        if response.name == "ENABLED":
            found.update(str(item).upper() for item in response.data)
    return frozenset(found)


def highest_modseq(response: Response) -> int | None:
    """Return the value of a ``[HIGHESTMODSEQ n]`` response code, or None without one.

    Raises:
        ProtocolError: the code's value is not a number.
    """
    if response.code != "HIGHESTMODSEQ":
        return None
    text = response.code_data.strip()
    if not text.isdigit():
        raise ProtocolError(f"malformed HIGHESTMODSEQ: {text[:40]!r}")
    return int(text)


def modified_uids(tagged: Response) -> list[int]:
    """Return the uids of a ``[MODIFIED set]`` code on a UID STORE's tagged OK: the messages
    left unchanged because they changed after UNCHANGEDSINCE (RFC 7162 section 3.1.3)."""
    if tagged.code != "MODIFIED":
        return []
    return parse_uid_set(tagged.code_data.strip())


def vanished_uids(response: Response) -> tuple[bool, UidRanges]:
    """Return ``(earlier, uids)`` of a ``VANISHED [(EARLIER)] known-uids`` response.

    Raises:
        ProtocolError: the response is malformed.
    """
    # VANISHED (EARLIER) 1:3,5  ->  data = [["EARLIER"], "1:3,5"]; VANISHED 7 -> [7]
    items = response.data
    earlier = bool(items) and isinstance(items[0], list)
    if earlier:
        items = items[1:]
    if len(items) != 1 or not isinstance(items[0], (int, str)) or isinstance(items[0], bool):
        raise ProtocolError(f"malformed VANISHED response: {response.data!r:.120}")
    return earlier, UidRanges(str(items[0]))


def changedsince_modifier(modseq: int, *, vanished: bool = False) -> list[Arg]:
    """Return the FETCH modifier list ``(CHANGEDSINCE n [VANISHED])``."""
    modifier: list[Arg] = [Atom("CHANGEDSINCE"), check_modseq(modseq, "changed_since")]
    if vanished:
        modifier.append(Atom("VANISHED"))  # RFC 7162 3.2.6: only with CHANGEDSINCE, UID FETCH
    return modifier


def qresync_parameter(uidvalidity: int, modseq: int, known_uids: Iterable[int] = ()) -> list[Arg]:
    """Return the SELECT parameter list ``(QRESYNC (uidvalidity modseq [known-uids]))``.

    The known uids are left out when they would make the command line too long; the server
    then reports every uid expunged since ``modseq``, which is as correct and only longer.
    """
    if isinstance(uidvalidity, bool) or not isinstance(uidvalidity, int):
        raise InvalidArgument(f"uidvalidity must be an int, got {uidvalidity!r}")
    if not 0 < uidvalidity < 2**32:
        raise InvalidArgument(f"uidvalidity must be in 1 .. 4294967295, got {uidvalidity!r}")
    inner: list[Arg] = [uidvalidity, check_modseq(modseq, "modseq")]
    uids = list(known_uids)
    if uids:
        known = SequenceSet.of(uids)
        if len(known.text) <= _MAX_KNOWN_UIDS:
            inner.append(known)
    return [Atom("QRESYNC"), inner]
