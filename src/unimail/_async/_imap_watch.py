"""``Folder.watch()`` for IMAP: IDLE (RFC 2177) where the server has it, NOOP polling otherwise.

Theory of operation
-------------------
The folder's state (a :class:`FolderState`: the uid of each sequence number, with its flags)
is the mailbox's *tracker*'s, shared with ``folder.updates()`` (``_imap_updates``, whose
docstring explains it): it follows every response the connection reads, the answers to the
caller's own commands included, so an event is told once, by the watch or by ``updates()``.
The watch selects the folder and, unless the tracker is in step with it already, takes a
*baseline*: ``UID FETCH 1:* (UID FLAGS)``. What the session has not been told yet (mail since
the SELECT or the last command) comes as updates in the next responses: those are the first
events. Then it loops:

1. IDLE and wait (``client.wait_response``: a quiet period is no error) until a response means
   an event, the IDLE is due for renewal (``renew_interval``, below the 29 minutes after which
   RFC 2177 lets a server drop an idle client), or ``timeout`` passes. Without IDLE: a NOOP
   every ``poll_interval`` seconds, whose untagged responses are the same updates.
2. ``DONE``, and read to IDLE's tagged OK (updates may come before it). That OK, due within the
   connection's ``timeout``, is the liveness check: a connection that died silently (a NAT
   dropped it) is found out here at the latest, as ``Timeout``.
3. ``FETCH n (UID FLAGS)`` the messages EXISTS announced (events name uids; no command may be
   sent during IDLE).
4. Yield the events. The connection is *not* idling while the caller holds one, so the loop
   body may use the mailbox (fetch the new messages, move them...): the EXPUNGE of its UID
   EXPUNGE, the FLAGS of its STORE are events too.

If the loop body selected another folder (or the server's updates contradicted the state),
the tracker is no longer in step: the watch takes a new baseline and yields the difference
(``_proto.imap._events.diff``): nothing lost, nothing told twice.

Stops and failures
------------------
- ``timeout`` passes: DONE, the tagged OK is read, the generator ends; the connection is usable.
- Breaking out of the loop (close the generator: ``aclosing``): the connection never idles at
  a ``yield``, so nothing is left in flight and it stays usable.
- A cancellation or interrupt *during* the wait: a shielded ``finally`` sends DONE and reads
  the OK, or closes the connection if that fails. Today the byte stream closes a connection
  whose read was interrupted, so the mailbox raises ``ConnectionLost`` afterwards.
- The connection breaks (``ConnectionLost``, ``Timeout``): the mailbox connects and logs in
  again (``reconnect_delays`` give the attempts), selects the folder, takes a new baseline and
  yields the difference: arrivals, removals and flag changes of the meantime, each once. If
  every attempt fails, the last error propagates. Where the server keeps modification
  sequences (RFC 7162), the new baseline costs no flags of unchanged messages: the re-look of
  ``_imap_relook`` (``SELECT folder (QRESYNC (uidvalidity modseq))`` under QRESYNC, else
  ``UID FETCH 1:* (UID FLAGS) (CHANGEDSINCE modseq)``, and ``UID SEARCH ALL`` for the uids in
  sequence order) asks only for what changed since ``modseq``, the HIGHESTMODSEQ of the
  watch's last SELECT (a value from before its baseline, so nothing after it is missed); the
  flags of the others are the old snapshot's. What the server reports again that the watch
  already knew compares equal in the diff: told once. On any doubt the whole folder is read.
- UIDVALIDITY changed (seen after a reconnect or a re-SELECT): the caller's uids name other
  messages now and no difference means anything, so the folder's UIDVALIDITY guard raises
  ``InvalidArgument``: get the folder again with ``mailbox.folder(name)`` and watch again.
- ``CommandError`` (the server refused) and ``ProtocolError`` (it sent garbage, or updates that
  contradict each fresh baseline) propagate.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import TYPE_CHECKING

import anyio  # unasync: import contextlib

from .._errors import ConnectError, ConnectionLost, InvalidArgument, Timeout, UnimailError
from .._models import Flag, FolderEvent
from .._proto.imap._events import FolderState, diff
from .._proto.imap._parser import Response
from ._imap_client import AsyncImapClient, Pending
from ._imap_relook import relook
from ._imap_updates import tracker_of

if TYPE_CHECKING:
    from ._imap_folder import AsyncImapFolder
    from .imap import AsyncImapMailbox

__all__ = ["DEFAULT_RECONNECT_DELAYS", "DEFAULT_RENEW_INTERVAL", "watch_folder"]

#: Seconds between IDLE renewals: well below the 29 minutes of RFC 2177, so that a connection a
#: NAT dropped silently is noticed within minutes rather than half an hour.
DEFAULT_RENEW_INTERVAL = 10 * 60.0

#: Pauses before each reconnection attempt after the connection broke.
DEFAULT_RECONNECT_DELAYS = (0.0, 1.0, 5.0)

_Flags = frozenset[Flag | str]


async def watch_folder(
    folder: AsyncImapFolder,
    *,
    timeout: float | None = None,
    poll_interval: float = 30.0,
    renew_interval: float = DEFAULT_RENEW_INTERVAL,
    reconnect_delays: Sequence[float] = DEFAULT_RECONNECT_DELAYS,
) -> AsyncGenerator[FolderEvent, None]:
    """Yield the events of ``folder`` (see the module docstring) until ``timeout`` passes.

    Args:
        folder: the folder to watch.
        timeout: seconds after which the watch ends (gracefully); None watches until the
            caller stops.
        poll_interval: seconds between NOOPs where the server lacks IDLE.
        renew_interval: seconds after which IDLE is left and entered again (at most 29 min).
        reconnect_delays: pauses before each reconnection attempt; empty: never reconnect.

    Raises:
        InvalidArgument: a bad argument (before anything is sent), or the folder's
            UIDVALIDITY changed.
        FolderNotFound: the folder does not exist.
        ConnectionLost, Timeout, ConnectError, AuthenticationError: the connection broke and
            could not be set up again.
        CommandError: the server refused IDLE, NOOP or FETCH.
    """
    if timeout is not None and not timeout >= 0:
        raise InvalidArgument(f"timeout must be None or >= 0 seconds, got {timeout!r}")
    if not poll_interval > 0:
        raise InvalidArgument(f"poll_interval must be > 0 seconds, got {poll_interval!r}")
    if not 0 < renew_interval <= 29 * 60:
        raise InvalidArgument(f"renew_interval must be in (0, 1740] seconds: {renew_interval!r}")
    deadline = None if timeout is None else time.monotonic() + timeout
    watcher = _Watcher(folder, poll_interval, renew_interval, tuple(reconnect_delays))
    try:
        await watcher.begin()
        while True:
            events = await watcher.next_events(deadline)
            for event in events:
                yield event
            if _expired(deadline):
                return
    finally:
        await watcher.stop()


def _expired(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() >= deadline


class _Watcher:
    """One watch: how the connection waits; the folder's state is the tracker's (shared with
    ``updates()``, see ``_imap_updates``)."""

    def __init__(
        self,
        folder: AsyncImapFolder,
        poll_interval: float,
        renew_interval: float,
        reconnect_delays: tuple[float, ...],
    ) -> None:
        self._folder = folder
        self._box: AsyncImapMailbox = folder._mailbox
        self._poll_interval = poll_interval
        self._renew_interval = renew_interval
        self._reconnect_delays = reconnect_delays
        self._tracker = tracker_of(self._box)
        self._tracked = self._tracker.tracked(folder)
        self._next_poll = 0.0
        self._idle: Pending | None = None  # IDLE in progress (DONE not yet sent)
        self._pending: list[FolderEvent] = []  # found by begin(), told first

    @property
    def _state(self) -> FolderState:
        return self._tracked.state

    async def begin(self) -> None:
        if not self._tracker.in_step(self._tracked):
            self._pending = await self._tracker.resync(self._folder, self._tracked)
        self._next_poll = time.monotonic() + self._poll_interval

    async def next_events(self, deadline: float | None) -> list[FolderEvent]:
        """Wait for events; return them (the connection not idling), or [] at the deadline."""
        if self._pending:
            events, self._pending = self._pending, []
            return events
        while True:
            try:
                events = await self._step(deadline)
            except (ConnectionLost, Timeout):
                if self._box._client is None or not self._reconnect_delays:
                    raise  # the caller closed the mailbox, or reconnecting is not wanted
                events = await self._reconnect()
            if events or _expired(deadline):
                return events

    async def _step(self, deadline: float | None) -> list[FolderEvent]:
        tracker, tracked = self._tracker, self._tracked
        client = self._box.client
        if not tracker.in_step(tracked):
            return await tracker.resync(self._folder, tracked)
        if not self._state.has_news():
            idle = "IDLE" in client.capabilities
            if not (idle and await self._wait_idle(client, deadline)):
                # No IDLE, or the server ended it by itself: poll this round, rather than
                # start IDLE again at once (and again, in a busy loop).
                if idle:
                    self._next_poll = time.monotonic() + self._poll_interval
                await self._wait_poll(client, deadline)
        await tracker.fetch_new(tracked)
        if not tracker.in_step(tracked):
            return await tracker.resync(self._folder, tracked)
        tracked.resyncs = 0
        return self._state.take_events()

    # -- waiting --------------------------------------------------------------------------------

    async def _wait_idle(self, client: AsyncImapClient, deadline: float | None) -> bool:
        """IDLE until news, renewal or the deadline; False if the server ended the IDLE."""
        pending = await client.start("IDLE")
        self._idle = pending
        while (response := await client.next_response(pending)) is not None:
            if response.tag == "+":
                break  # RFC 2177: "+ idling", now updates come as they happen
            self._count(response)
        else:
            self._idle = None  # the server answered IDLE without idling (an OK at once)
            return False
        renew_at = time.monotonic() + self._renew_interval
        ended = False
        while not self._state.has_news():
            until = renew_at if deadline is None else min(renew_at, deadline)
            remaining = until - time.monotonic()
            if remaining <= 0:
                break
            response = await client.wait_response(remaining)
            if response is None:
                continue
            if response.tag == pending.tag:
                pending.early = response  # the server ended IDLE itself; next_response reads it
                ended = True
                break
            self._count(response)
        await self._leave_idle(client, pending, send_done=not ended)
        return not ended

    async def _leave_idle(
        self, client: AsyncImapClient, pending: Pending, *, send_done: bool
    ) -> None:
        if send_done:
            await client.send_line(b"DONE")
        self._idle = None
        # The tagged OK within the connection's timeout is the liveness check (Timeout if not).
        while (response := await client.next_response(pending)) is not None:
            self._count(response)

    async def _wait_poll(self, client: AsyncImapClient, deadline: float | None) -> None:
        while not self._state.has_news():
            until = self._next_poll if deadline is None else min(self._next_poll, deadline)
            remaining = until - time.monotonic()
            if remaining <= 0:
                break
            # Not a sleep: reading notices a closed connection, and takes data a server may
            # send between commands (RFC 9051 section 7: untagged data at any time).
            response = await client.wait_response(remaining)
            if response is not None:
                self._count(response)
        if self._state.has_news() or time.monotonic() < self._next_poll:
            return  # news already, or the deadline came before the poll was due
        await self._tracker.run("NOOP")
        self._next_poll = time.monotonic() + self._poll_interval

    # -- keeping the state --------------------------------------------------------------------

    def _count(self, response: Response) -> None:
        # The tracker saw the response as it was read; the mailbox keeps its EXISTS count.
        self._box._unsolicited([response])

    async def _resync_after(self, before: Mapping[int, _Flags]) -> list[FolderEvent]:
        """Take a new baseline on a new connection; return the difference from ``before``,
        the state when the old connection broke (a failed attempt leaves a partial state
        behind, so it is taken before the first attempt). With modification sequences
        (CONDSTORE, QRESYNC) only what changed is asked for (``_imap_relook``)."""
        tracked = self._tracked
        new = await relook(self._tracker, self._folder, tracked, before)
        if new is None:
            new = await self._tracker.baseline(self._folder, tracked)
        new.take_events()  # already in the final state the diff compares with
        return diff(before, new)

    async def _reconnect(self) -> list[FolderEvent]:
        """Open the connection again and resynchronise; each attempt that fails to connect,
        or loses the new connection before the resync is done, uses up one delay."""
        told = self._state.take_events()
        before = self._state.snapshot()
        self._idle = None
        error: UnimailError | None = None
        for delay in self._reconnect_delays:
            await anyio.sleep(delay)  # unasync: time.sleep(delay)
            try:
                await _reopen(self._box)
                return told + await self._resync_after(before)
            except (ConnectionLost, ConnectError, Timeout) as exc:
                error = exc
        assert error is not None  # the loop ran at least once: reconnect_delays is not empty
        raise error

    async def stop(self) -> None:
        """Leave IDLE if a cancellation or an error interrupted it, so the connection stays
        usable; close the connection if even that fails."""
        pending, self._idle = self._idle, None
        if pending is None or pending.tagged is not None:
            return  # not idling, or IDLE already completed (refused with NO, say)
        client = self._box._client
        if client is None:
            return
        # Shielded: this runs while a cancellation propagates, and must still read the OK.
        with anyio.CancelScope(shield=True):  # unasync: with contextlib.nullcontext():
            try:
                await client.send_line(b"DONE")
                while await client.next_response(pending) is not None:
                    pass
            except UnimailError:
                # Raising here would hide the error that interrupted the watch; a connection
                # that cannot leave IDLE is useless anyway.
                await client.aclose()
            except BaseException:
                await client.aclose()
                raise


async def _reopen(box: AsyncImapMailbox) -> None:
    """Connect and log in again with the mailbox's options; forget the selected folder.

    This belongs in ``AsyncImapMailbox`` (a ``_reconnect()`` beside ``_connect()``); it lives
    here until the mailbox has it.
    """
    old, box._client = box._client, None
    box._selected, box._select_info = None, None
    if old is not None:
        await old.aclose()  # already broken: this only releases the socket
    try:
        await box._connect()
    except BaseException:
        # _connect() may have set a client that failed to log in: never leave it half-open.
        broken, box._client = box._client, None
        if broken is not None:
            await broken.aclose()
        raise
