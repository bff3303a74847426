"""``Folder.watch()`` for IMAP: IDLE (RFC 2177) where the server has it, NOOP polling otherwise.

Theory of operation
-------------------
The watch selects the folder (unless the connection has it selected) and takes a *baseline*:
``UID FETCH 1:* (UID FLAGS)`` fills a :class:`FolderState` with the folder as this session knows
it. What the session has not been told yet (mail since the SELECT or the last command) comes
as updates in the next responses: those are the first events. Then it loops:

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
   body may use the mailbox (fetch the new messages, move them...).

The untagged responses of the caller's own commands (the EXPUNGE of its UID EXPUNGE) go to
those commands, so the watch's sequence numbers may be stale afterwards. It notices (its
command tags are no longer consecutive, or another folder is selected), takes a new baseline
and yields the difference (``_proto.imap._events.diff``): nothing lost, nothing told twice.

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
  every attempt fails, the last error propagates. Where QRESYNC is enabled (RFC 7162), the new
  baseline costs no flags of unchanged messages: ``SELECT folder (QRESYNC (uidvalidity modseq
  known-uids))`` answers with the uids expunged (``VANISHED (EARLIER)``) and the messages
  changed or added since ``modseq``, the HIGHESTMODSEQ of the watch's last SELECT (a value
  from before its baseline, so nothing after it is missed); a ``UID SEARCH ALL`` gives the
  uids in sequence order, and the flags of the others are the old snapshot's. What the server
  reports again that the watch already knew compares equal in the diff: told once.
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

from .._errors import (
    CommandError,
    ConnectError,
    ConnectionLost,
    InvalidArgument,
    ProtocolError,
    Timeout,
    UnimailError,
)
from .._models import Flag, FolderEvent
from .._proto.imap._condstore import qresync_parameter, vanished_uids
from .._proto.imap._events import FolderState, diff
from .._proto.imap._fetch import fetch_data, parse_flags
from .._proto.imap._parser import Response
from .._proto.imap._search import search_uids
from .._proto.imap._wire import Arg, Atom, SequenceSet
from ._imap_client import AsyncImapClient, Pending

if TYPE_CHECKING:
    from ._imap_folder import AsyncImapFolder
    from .imap import AsyncImapMailbox

__all__ = ["DEFAULT_RECONNECT_DELAYS", "DEFAULT_RENEW_INTERVAL", "watch_folder"]

#: Seconds between IDLE renewals: well below the 29 minutes of RFC 2177, so that a connection a
#: NAT dropped silently is noticed within minutes rather than half an hour.
DEFAULT_RENEW_INTERVAL = 10 * 60.0

#: Pauses before each reconnection attempt after the connection broke.
DEFAULT_RECONNECT_DELAYS = (0.0, 1.0, 5.0)

_UID_FLAGS: list[Arg] = [Atom("UID"), Atom("FLAGS")]

# A server whose updates contradict a fresh baseline again and again is broken: give up then.
_MAX_RESYNCS = 3

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


def _tag_number(tag: str) -> int | None:
    digits = tag.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    return int(digits) if digits.isdigit() else None


class _Watcher:
    """The state of one watch: the folder's messages and what the connection is doing."""

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
        self._state = FolderState()
        self._next_poll = 0.0
        # The client and tag number of our last command: a gap means the caller ran commands.
        self._last: tuple[AsyncImapClient, int | None] | None = None
        self._idle: Pending | None = None  # IDLE in progress (DONE not yet sent)
        self._resyncs = 0  # baselines in a row forced by contradictions (FolderState.desynced)
        self._foreign = False  # someone else's commands ran on the connection since our last
        # HIGHESTMODSEQ of the SELECT before the current baseline (QRESYNC after a reconnect).
        self._modseq: int | None = None

    async def begin(self) -> None:
        await self._folder._select()
        self._modseq = self._selected_modseq()
        self._state = await self._baseline()
        self._next_poll = time.monotonic() + self._poll_interval

    async def next_events(self, deadline: float | None) -> list[FolderEvent]:
        """Wait for events; return them (the connection not idling), or [] at the deadline."""
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
        client = self._box.client
        if not self._in_step():
            return await self._resync()
        if not self._state.has_news():
            idle = "IDLE" in client.capabilities
            if not (idle and await self._wait_idle(client, deadline)):
                # No IDLE, or the server ended it by itself: poll this round, rather than
                # start IDLE again at once (and again, in a busy loop).
                if idle:
                    self._next_poll = time.monotonic() + self._poll_interval
                await self._wait_poll(client, deadline)
        if self._in_step():
            await self._fetch_new(client)
        if not self._in_step():
            return await self._resync()
        self._resyncs = 0
        return self._state.take_events()

    def _in_step(self) -> bool:
        """False when the state may no longer match the server's session."""
        folder = self._folder
        selected = self._box._selected == (folder.name, folder.readonly)
        return selected and not self._foreign and not self._state.desynced

    # -- waiting --------------------------------------------------------------------------------

    async def _wait_idle(self, client: AsyncImapClient, deadline: float | None) -> bool:
        """IDLE until news, renewal or the deadline; False if the server ended the IDLE."""
        pending, foreign = await self._start(client, "IDLE")
        self._idle = pending
        while (response := await client.next_response(pending)) is not None:
            if response.tag == "+":
                break  # RFC 2177: "+ idling", now updates come as they happen
            self._feed(response)
        else:
            self._idle = None  # the server answered IDLE without idling (an OK at once)
            return False
        self._foreign |= foreign  # then read nothing more: a new baseline follows
        renew_at = time.monotonic() + self._renew_interval
        ended = False
        while not self._state.has_news() and not self._foreign:
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
            self._feed(response)
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
            self._feed(response)

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
                self._feed(response)
        if self._state.has_news() or time.monotonic() < self._next_poll:
            return  # news already, or the deadline came before the poll was due
        pending, foreign = await self._start(client, "NOOP")
        while (response := await client.next_response(pending)) is not None:
            self._feed(response)
        self._next_poll = time.monotonic() + self._poll_interval
        self._foreign |= foreign

    # -- keeping the state --------------------------------------------------------------------

    def _feed(self, response: Response, *, baseline: bool = False) -> None:
        self._state.feed(response, baseline=baseline)
        self._box._unsolicited([response])  # the mailbox keeps its EXISTS count in step too

    async def _start(self, client: AsyncImapClient, name: str, *args: Arg) -> tuple[Pending, bool]:
        """Send a command; also say whether someone else's commands ran since our last."""
        pending = await client.start(name, *args)
        number = _tag_number(pending.tag)
        last = self._last
        foreign = last is None or last[0] is not client or number is None or last[1] != number - 1
        self._last = (client, number)
        return pending, foreign

    async def _run(self, client: AsyncImapClient, name: str, *args: Arg) -> None:
        pending, _ = await self._start(client, name, *args)
        while (response := await client.next_response(pending)) is not None:
            self._feed(response)

    async def _baseline(self) -> FolderState:
        """Return the folder as the session knows it (``UID FETCH 1:* (UID FLAGS)``); works
        on an empty folder too, where ``FETCH 1:*`` is an error (Dovecot: BAD)."""
        self._state = FolderState()
        client = self._box.client
        pending, _ = await self._start(client, "UID", Atom("FETCH"), SequenceSet("1:*"), _UID_FLAGS)
        while (response := await client.next_response(pending)) is not None:
            self._feed(response, baseline=True)
        await self._fetch_new(client)
        return self._state

    async def _fetch_new(self, client: AsyncImapClient) -> None:
        """Learn the uids (and flags) of the messages EXISTS announced.

        A plain FETCH by sequence number: the server may not send EXPUNGE during it
        (RFC 9051 section 7.4.1), so the numbers stay valid until its tagged OK.
        """
        tried: list[int] = []
        while (unknown := self._state.unknown()) and unknown != tried:
            tried = unknown
            try:
                for numbers in SequenceSet.chunks(unknown):
                    await self._run(client, "FETCH", numbers, _UID_FLAGS)
            except CommandError as exc:
                if exc.code != "NO":
                    raise
                # Some went meanwhile (RFC 5530 EXPUNGEISSUED); the EXPUNGE the server could
                # not send during FETCH comes with the next command.
                await self._run(client, "NOOP")
        if self._state.unknown():
            self._state.desynced = True  # the server did not say: start again from scratch

    def _selected_modseq(self) -> int | None:
        info = self._box._select_info
        return info.highest_modseq if info is not None and self._box.qresync else None

    async def _resync(self, before: Mapping[int, _Flags] | None = None) -> list[FolderEvent]:
        """Take a new baseline and return the events since the old one (see ``diff``).

        Args:
            before: the snapshot to compare with (after a reconnect: taken before the first
                attempt, as a failed attempt leaves a partial state behind, and the baseline
                comes from QRESYNC where it can); by default the current state, whose
                complete news are told first.
        """
        # Only contradictions count: the caller's commands are a reason as good as any.
        self._resyncs = self._resyncs + 1 if self._state.desynced else 0
        self._foreign = False
        if self._resyncs > _MAX_RESYNCS:
            raise ProtocolError(
                f"the server's updates for {self._folder.name!r} do not add up: "
                f"{_MAX_RESYNCS} fresh starts in a row did not agree with them"
            )
        told: list[FolderEvent] = []
        reconnected = before is not None
        if before is None:
            told = self._state.take_events()
            before = self._state.snapshot()
        uidvalidity = self._folder.uidvalidity
        if reconnected and self._modseq and uidvalidity and self._box.qresync:
            new = await self._qresync_baseline(before, uidvalidity, self._modseq)
        else:
            await self._folder._select()  # raises InvalidArgument if UIDVALIDITY changed
            new = await self._baseline()
        self._modseq = self._selected_modseq()
        new.take_events()  # already in the final state the diff compares with
        return told + diff(before, new)

    async def _qresync_baseline(
        self, before: Mapping[int, _Flags], uidvalidity: int, modseq: int
    ) -> FolderState:
        """Return the folder now, from ``SELECT ... (QRESYNC ...)`` and ``UID SEARCH ALL``
        (see the module docstring); the old flags stand for the messages it does not name."""
        client = self._box.client
        params = qresync_parameter(uidvalidity, modseq, before)
        reply = await self._folder._select_again(params)  # InvalidArgument: UIDVALIDITY changed
        self._last = (client, _tag_number(reply.tagged.tag))
        flags = dict(before)
        gone: set[int] = set()
        for response in reply.untagged:
            if response.name == "VANISHED":
                ranges = vanished_uids(response)[1]
                gone.update(uid for uid in before if uid in ranges)
            elif response.name == "FETCH":
                data = fetch_data(response)
                if data.uid is not None and "FLAGS" in data.items:
                    found = parse_flags(data.items["FLAGS"])
                    flags[data.uid] = frozenset(f for f in found if f is not Flag.RECENT)
        # The uids in sequence order (ascending); updates that come meanwhile apply after.
        returns: list[Arg] = (
            [Atom("RETURN"), [Atom("ALL")]] if "ESEARCH" in client.capabilities else []
        )
        pending, _ = await self._start(client, "UID", Atom("SEARCH"), *returns, Atom("ALL"))
        answers: list[Response] = []
        updates: list[Response] = []
        while (answer := await client.next_response(pending)) is not None:
            (answers if answer.name in ("SEARCH", "ESEARCH") else updates).append(answer)
        uids = sorted(set(search_uids(answers, pending.tag)))
        self._state = FolderState.of(uids, {u: f for u, f in flags.items() if u not in gone})
        for update in updates:
            self._feed(update)
        missing = [uid for uid in uids if uid not in flags or uid in gone]
        if missing:  # arrived between the SELECT and the SEARCH: their flags are unknown yet
            for uid_set in SequenceSet.chunks(missing):
                await self._run(client, "UID", Atom("FETCH"), uid_set, _UID_FLAGS)
        await self._fetch_new(client)
        return self._state

    async def _reconnect(self) -> list[FolderEvent]:
        """Open the connection again and resynchronise; each attempt that fails to connect,
        or loses the new connection before the resync is done, uses up one delay."""
        told = self._state.take_events()
        before = self._state.snapshot()
        self._idle = None
        error: UnimailError | None = None
        for delay in self._reconnect_delays:
            await anyio.sleep(delay)  # unasync: time.sleep(delay)
            self._last = None
            try:
                await _reopen(self._box)
                return told + await self._resync(before)
            except (ConnectError, ConnectionLost, Timeout) as exc:
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
