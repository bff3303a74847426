"""``Folder.updates()`` for IMAP: what the server reported between commands, as uid events.

Why a call and not callbacks
----------------------------
MailKit raises ``CountChanged`` / ``MessageExpunged`` / ``MessageFlagsChanged`` while it reads a
response, with sequence numbers (an index, for an expunge). Events here name *uids*, and the uid
of a message that ``EXISTS`` announced is only known after a ``FETCH n (UID FLAGS)``, a command
that cannot be sent in the middle of another command's answer. A callback fired there could
not use the mailbox either (one command at a time), nor be a coroutine in the sync facade. So
:meth:`UpdateMethods.updates` is a plain call between commands, the same in both facades
(imapclient hands the caller its unsolicited responses the same way, but raw and by sequence
number): it learns the missing uids and returns typed events.

Theory of operation
-------------------
Tracking starts with the first ``updates()`` or ``watch()`` of a folder, and costs nothing
before: the mailbox gets an :class:`UpdateTracker`, which keeps a :class:`FolderState` per
tracked folder (key: name and read-only). The first look is a *baseline*, ``UID FETCH 1:*
(UID FLAGS)``: the uid of each sequence number, and the flags a change is measured against
(one short line per message, once). From then on the tracker sees *every* response the
connection reads (``AsyncImapClient.observer``, called by the mailbox), in order, while its
folder is selected: EXISTS, EXPUNGE, VANISHED and FETCH of the caller's own commands keep the
sequence-to-uid map in step as well as unsolicited ones, and the UID in a ``UID FETCH`` answer
resolves a new message for free. A FETCH whose FLAGS differ from the last known ones is a
``FlagsChanged``, whoever caused it: while a folder is tracked, its flag stores are sent
without ``.SILENT`` so that the caller's own changes are reported like everyone else's (one
line per message), as ``watch()`` always did.

The state stops being *live* when another SELECT or EXAMINE starts (the mailbox clears its
``_selected`` first), when the connection is replaced, or when a response contradicts it
(``FolderState.desynced``). The next ``updates()`` (or watch step) then selects the folder,
takes a new baseline and reports the difference from the old one (``diff``): what happened
while another folder was selected is told too, once. Where the server keeps modification
sequences (CONDSTORE, RFC 7162), that new look costs the changes only, not a line per message:
``_imap_relook`` (the full baseline remains the fallback). ``watch()`` and ``updates()`` share
the state, so an event is taken by exactly one of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import attrs

from .._errors import CommandError, ProtocolError
from .._models import FolderEvent
from .._proto.imap._events import FolderState, diff
from .._proto.imap._parser import Response
from .._proto.imap._wire import Arg, Atom, SequenceSet
from ._imap_relook import UID_FLAGS, relook

if TYPE_CHECKING:
    from ._imap_client import AsyncImapClient
    from ._imap_folder import AsyncImapFolder
    from .imap import AsyncImapMailbox

__all__ = ["UID_FLAGS", "Tracked", "UpdateMethods", "UpdateTracker", "tracker_of"]

# A server whose updates contradict a fresh baseline again and again is broken: give up then.
_MAX_RESYNCS = 3


@attrs.define(eq=False)
class Tracked:
    """One tracked folder: its state and the connection whose session that state follows."""

    key: tuple[str, bool]  # (name, read-only), as AsyncImapMailbox._selected
    state: FolderState = attrs.field(factory=FolderState)
    client: AsyncImapClient | None = None  # None: no baseline yet
    baselining: bool = False  # the responses read answer the baseline UID FETCH 1:*
    resyncs: int = 0  # baselines in a row forced by contradictions
    #: HIGHESTMODSEQ of the SELECT before the baseline or re-look, under CONDSTORE: the point
    #: from which the cheap re-look (``_imap_relook``) and watch's reconnection ask for changes.
    modseq: int | None = None
    #: UIDVALIDITY of that SELECT: the uids of the state belong to it.
    uidvalidity: int | None = None


class UpdateTracker:
    """The tracked folders of one mailbox, fed with every response the connection reads."""

    def __init__(self, box: AsyncImapMailbox) -> None:
        """Track nothing yet; :func:`tracker_of` creates and attaches one."""
        self._box = box
        self._folders: dict[tuple[str, bool], Tracked] = {}
        self._live: Tracked | None = None  # the folder whose state follows the session

    def observe(self, response: Response) -> None:
        """Apply ``response`` to the live folder's state (``AsyncImapClient.observer``).

        Raises:
            ProtocolError: a FETCH or VANISHED response about the folder is malformed.
        """
        live = self._live
        if live is None:
            return
        if self._box._selected != live.key or self._box._client is not live.client:
            self._live = None  # another SELECT started, or a new connection: no longer in step
            return
        live.state.feed(response, baseline=live.baselining)

    def tracked(self, folder: AsyncImapFolder) -> Tracked:
        """Return the tracking of ``folder``, starting it (without a baseline) if needed."""
        key = (folder.name, folder.readonly)
        found = self._folders.get(key)
        if found is None:
            found = self._folders[key] = Tracked(key)
        return found

    def is_tracked(self, folder: AsyncImapFolder) -> bool:
        """True when ``updates()`` or ``watch()`` tracks ``folder``."""
        return (folder.name, folder.readonly) in self._folders

    def in_step(self, tracked: Tracked) -> bool:
        """True when ``tracked`` follows the session: no new baseline is needed."""
        box = self._box
        return (
            self._live is tracked
            and box._selected == tracked.key
            and box._client is tracked.client
            and not tracked.state.desynced
        )

    def go_live(self, tracked: Tracked, state: FolderState) -> None:
        """Make ``state`` the one that follows the session of the current connection."""
        tracked.state = state
        tracked.client = self._box.client
        self._live = tracked

    async def run(self, name: str, *args: Arg) -> list[Response]:
        """Run a command; return its untagged responses (the tracker saw them already)."""
        box = self._box
        untagged = (await box.client.run(name, *args)).untagged
        box._unsolicited(untagged)  # the mailbox keeps its EXISTS count in step too
        return untagged

    async def baseline(self, folder: AsyncImapFolder, tracked: Tracked) -> FolderState:
        """Select ``folder`` and return its state as the session knows it, fresh from ``UID
        FETCH 1:* (UID FLAGS)`` (no events: they are the starting point), uids of the messages
        announced meanwhile fetched."""
        await folder._select()  # InvalidArgument if the UIDVALIDITY changed
        box = self._box
        info = box._select_info
        assert info is not None  # set by the successful SELECT
        keeps = box.condstore and not info.nomodseq
        tracked.modseq = info.highest_modseq if keeps else None
        tracked.uidvalidity = info.uidvalidity
        self.go_live(tracked, FolderState())
        tracked.baselining = True
        try:
            # Also on an empty folder, where FETCH 1:* is an error (Dovecot: BAD) and UID FETCH
            # is not.
            await self.run("UID", Atom("FETCH"), SequenceSet("1:*"), UID_FLAGS)
        finally:
            tracked.baselining = False
        await self.fetch_new(tracked)
        return tracked.state

    async def fetch_new(self, tracked: Tracked) -> None:
        """Learn the uids (and flags) of the messages EXISTS announced.

        A plain FETCH by sequence number: the server may not send EXPUNGE during it
        (RFC 9051 section 7.4.1), so the numbers stay valid until its tagged OK.
        """
        tried: list[int] = []
        while self.in_step(tracked) and (unknown := tracked.state.unknown()) != tried:
            tried = unknown
            if not unknown:
                return
            try:
                for numbers in SequenceSet.chunks(unknown):
                    await self.run("FETCH", numbers, UID_FLAGS)
            except CommandError as exc:
                if exc.code != "NO":
                    raise
                # Some went meanwhile (RFC 5530 EXPUNGEISSUED); the EXPUNGE the server could
                # not send during FETCH comes with the next command.
                await self.run("NOOP")
        if self.in_step(tracked) and tracked.state.unknown():
            tracked.state.desynced = True  # the server did not say: start again from scratch

    async def resync(self, folder: AsyncImapFolder, tracked: Tracked) -> list[FolderEvent]:
        """Take a new baseline; return the events not taken yet and the difference from the
        old baseline (none on the first).

        Raises:
            ProtocolError: fresh baselines were contradicted too many times in a row.
        """
        # Only contradictions count: another SELECT is a reason as good as any.
        tracked.resyncs = tracked.resyncs + 1 if tracked.state.desynced else 0
        if tracked.resyncs > _MAX_RESYNCS:
            raise ProtocolError(
                f"the server's updates for {folder.name!r} do not add up: "
                f"{_MAX_RESYNCS} fresh starts in a row did not agree with them"
            )
        first = tracked.client is None
        old = tracked.state
        try:
            new = None
            if not first and not old.desynced:  # a desynced state is no base to add changes to
                new = await relook(self, folder, tracked, old.snapshot())
            if new is None:
                new = await self.baseline(folder, tracked)
        except BaseException:
            # A baseline cut short is no view of the folder: keep the old one (and the events
            # it holds) to compare with next time.
            tracked.state, self._live = old, None
            raise
        told = old.take_events()
        if first:
            return told  # the new state's own events (arrivals meanwhile) are taken later
        new.take_events()  # already in the final state the diff compares with
        return told + diff(old.snapshot(), new)

    async def take(self, folder: AsyncImapFolder, *, poll: bool) -> list[FolderEvent]:
        """The work of :meth:`UpdateMethods.updates`."""
        tracked = self.tracked(folder)
        events: list[FolderEvent] = []
        if not self.in_step(tracked):
            events += await self.resync(folder, tracked)
        if poll:
            await self.run("NOOP")
        await self.fetch_new(tracked)
        while not self.in_step(tracked):
            events += await self.resync(folder, tracked)
        tracked.resyncs = 0
        return events + tracked.state.take_events()


def tracker_of(box: AsyncImapMailbox) -> UpdateTracker:
    """Return the tracker of ``box``, attaching one on first use."""
    if box._tracker is None:
        box._tracker = UpdateTracker(box)
    return box._tracker


class UpdateMethods:
    """The ``updates()`` method of :class:`AsyncImapFolder` (a mixin of it)."""

    async def updates(self, *, poll: bool = False) -> list[FolderEvent]:
        """Return what the server reported about this folder since the last call, as events
        naming uids: :class:`NewMessages`, :class:`MessagesRemoved`, :class:`FlagsChanged`.

        Servers tell news (another client's mail, expunges, flag changes) in the answers to
        any command; this collects what came during your ``search()``, ``fetch()``,
        ``add_flags()``... and learns the uids of new messages (one ``FETCH``). Each event
        is told once, by this or by :meth:`watch`: they share their view of the folder. The
        consequences of your own commands are reported too (your expunges, your flag changes,
        your appends to this folder), as ``watch()`` does.

        The first call starts tracking: it selects the folder, reads each message's uid and
        flags once (``UID FETCH 1:* (UID FLAGS)``) and returns what was pending, usually
        nothing. After the mailbox worked in another folder, the next call compares a fresh
        look with the old one, so nothing that happened meanwhile is lost (with CONDSTORE,
        that look asks for the changes since, not for every message again). Folders nobody
        asked about cost nothing.

        Args:
            poll: send a NOOP first, so that the server tells what it has not told yet
                (servers report news only in answers to commands).

        Returns:
            The events, oldest first (the arrivals last, as one ``NewMessages``).

        Raises:
            InvalidArgument: the folder's UIDVALIDITY changed: its uids name other messages
                now; get the folder again with ``mailbox.folder(name)``.
            FolderNotFound: the folder does not exist.
            ProtocolError: the server's updates do not add up, even after fresh looks.
        """
        folder = cast("AsyncImapFolder", self)
        return await tracker_of(folder._mailbox).take(folder, poll=poll)

    def _store_action(self, action: str) -> str:
        """The STORE action to send: without ``.SILENT`` while this folder is tracked, so
        that the server reports the flags it stored (see the module docstring)."""
        folder = cast("AsyncImapFolder", self)
        tracker = folder._mailbox._tracker
        if tracker is not None and tracker.is_tracked(folder):
            return action.removesuffix(".SILENT")
        return action
