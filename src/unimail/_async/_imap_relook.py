"""The cheap second look at a tracked folder, under CONDSTORE (RFC 7162): what changed while
another folder was selected, without one line per message.

Why
---
When a tracked folder stops being live (``_imap_updates``), the next ``updates()`` or watch
step must tell what happened meanwhile. The plain way is a new baseline, ``UID FETCH 1:* (UID
FLAGS)``: one line per message, 20,000 lines for a folder of 20,000, when ten flags changed.
Where the server keeps modification sequences, the same view costs the changes only.

Theory of operation
-------------------
Each baseline and each re-look keeps the folder's UIDVALIDITY and the HIGHESTMODSEQ of the
SELECT *before* it (``Tracked.uidvalidity``, ``Tracked.modseq``). Every value the old state
holds was true after that SELECT, so a message whose flags differ now changed again since: its
modseq is higher (RFC 7162 section 3.1.1), and so is an arrival's. The re-look:

1. SELECTs the folder again. With QRESYNC enabled, ``SELECT folder (QRESYNC (uidvalidity
   modseq))``: its answer holds a ``FETCH (UID FLAGS MODSEQ)`` of each message changed or
   added since ``modseq`` (RFC 7162 section 3.2.5; no known-uids, with which servers leave the
   arrivals out) and ``VANISHED (EARLIER)``, only cross-checked here. A plain SELECT otherwise.
   Its HIGHESTMODSEQ is the next re-look's starting point.
2. ``UID SEARCH ALL`` (``RETURN (ALL)`` where ESEARCH is offered: ranges, not one number per
   message): the uids now, ascending, which is the sequence order, so the sequence-to-uid map
   that later EXPUNGEs need. What the old state has and this lacks was expunged; what it has
   more arrived.
3. The new state: these uids, the old flags of those kept, the FETCHes of the SELECT applied on
   top (they are checked against the map: sequence number and UID must agree). With CONDSTORE
   alone, ``UID FETCH 1:* (UID FLAGS) (CHANGEDSINCE modseq)`` instead, with the state live.
   Messages whose flags are still unknown (arrived between SELECT and SEARCH) are fetched by
   uid; announced ones by sequence number (``fetch_new``).

The caller reports ``diff(old, new)`` as after a full baseline: the same events. A change both
in the old state and reported since the modseq compares equal: told once.

Whatever does not add up returns None, and the caller takes the full baseline: no CONDSTORE, no
modseq kept, a folder without modification sequences (``NOMODSEQ``), a UIDVALIDITY other than
the old state's (the folder's own guard raises first where it knew the old one), updates
before the SEARCH answer (counted in it or not?), uids fewer or more than EXISTS, a vanished
uid the SEARCH still names, a refused command, a contradiction, flags the server keeps back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from .._errors import CommandError, FolderNotFound
from .._models import Flag
from .._proto.imap._condstore import changedsince_modifier, qresync_parameter, vanished_uids
from .._proto.imap._events import FolderState, UidRanges
from .._proto.imap._parser import Response
from .._proto.imap._search import search_uids
from .._proto.imap._wire import Arg, Atom, SequenceSet

if TYPE_CHECKING:
    from ._imap_folder import AsyncImapFolder
    from ._imap_updates import Tracked, UpdateTracker

__all__ = ["UID_FLAGS", "relook"]

UID_FLAGS: list[Arg] = [Atom("UID"), Atom("FLAGS")]

_ANSWERS = ("SEARCH", "ESEARCH")
# Responses that move the session's view of the folder.
_UPDATES = ("EXISTS", "EXPUNGE", "VANISHED", "FETCH")


async def relook(
    tracker: UpdateTracker,
    folder: AsyncImapFolder,
    tracked: Tracked,
    before: Mapping[int, frozenset[Flag | str]],
) -> FolderState | None:
    """Select ``folder`` and return its state now, live, from what changed since
    ``tracked.modseq`` (module docstring); None where the full baseline must be taken.

    Args:
        tracker: the mailbox's tracker.
        folder: the folder.
        tracked: its tracking, with the UIDVALIDITY and modseq of ``before``.
        before: the old state's :meth:`FolderState.snapshot`.

    Raises:
        InvalidArgument: the folder's UIDVALIDITY changed.
        FolderNotFound: the folder does not exist.
    """
    if not (folder._mailbox.condstore and tracked.modseq and tracked.uidvalidity):
        return None
    try:
        return await _relook(tracker, folder, tracked, before)
    except FolderNotFound:
        raise
    except CommandError:
        return None  # a server that refuses a part of this may still answer the plain way


async def _relook(
    tracker: UpdateTracker,
    folder: AsyncImapFolder,
    tracked: Tracked,
    before: Mapping[int, frozenset[Flag | str]],
) -> FolderState | None:
    box = folder._mailbox
    modseq, uidvalidity = tracked.modseq, tracked.uidvalidity
    assert modseq is not None and uidvalidity is not None  # checked by relook()
    qresync = box.qresync
    params = qresync_parameter(uidvalidity, modseq) if qresync else []
    selected = await folder._select_again(params)  # InvalidArgument: UIDVALIDITY changed
    info = box._select_info
    assert info is not None  # set by the successful SELECT
    if info.uidvalidity != uidvalidity or info.nomodseq or not info.highest_modseq:
        return None
    exists = info.exists
    changes = [r for r in selected.untagged if r.name == "FETCH"]
    gone = [vanished_uids(r)[1] for r in selected.untagged if r.name == "VANISHED"]

    # The tracker is not live yet: the SEARCH's responses are all ours to sort.
    client = box.client
    returns: list[Arg] = [Atom("RETURN"), [Atom("ALL")]] if "ESEARCH" in client.capabilities else []
    searched = await client.run("UID", Atom("SEARCH"), *returns, Atom("ALL"))
    box._unsolicited(searched.untagged)  # the mailbox's own EXISTS count
    uids, updates = _split(searched.untagged, searched.tagged.tag, exists)
    if uids is None or _vanished_but_here(gone, uids):
        return None

    state = FolderState.of(uids, before)
    tracker.go_live(tracked, state)
    tracked.modseq = info.highest_modseq
    for response in [*changes, *updates]:
        state.feed(response)
    if not qresync:
        since = changedsince_modifier(modseq)
        await tracker.run("UID", Atom("FETCH"), SequenceSet("1:*"), UID_FLAGS, since)
    if missing := state.unflagged():
        for uid_set in SequenceSet.chunks(missing):
            await tracker.run("UID", Atom("FETCH"), uid_set, UID_FLAGS)
    await tracker.fetch_new(tracked)
    if not tracker.in_step(tracked) or state.unflagged():
        return None
    return state


def _split(
    untagged: list[Response], tag: str, exists: int
) -> tuple[list[int] | None, list[Response]]:
    """Return the uids of a UID SEARCH ALL answer, ascending, and the updates that came after
    it; None for the uids when they may not be the view of the SELECT that found ``exists``."""
    first = next((i for i, r in enumerate(untagged) if r.name in _ANSWERS), None)
    if first is None or any(r.name in _UPDATES for r in untagged[:first]):
        return None, []  # no answer, or updates it may or may not count already
    found = search_uids([r for r in untagged if r.name in _ANSWERS], tag)
    uids = sorted(set(found))
    if len(uids) != exists:
        return None, []
    return uids, [r for r in untagged[first:] if r.name in _UPDATES]


def _vanished_but_here(gone: list[UidRanges], uids: list[int]) -> bool:
    """True when a uid of ``VANISHED (EARLIER)`` is still in the folder: a contradiction."""
    return any(uid in ranges for ranges in gone for uid in uids)
