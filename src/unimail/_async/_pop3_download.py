"""The lossless POP3 download helper: new messages to the caller's handler, exactly once.

What "lossless" means here, whatever point a run is interrupted at (crash, kill, lost
connection, an exception from the handler):

- no message is lost: DELE is sent only after the handler returned, and the server deletes
  only at a clean QUIT (RFC 1939 section 6), which the caller's ``aclose()`` sends after
  :meth:`AsyncPop3Downloader.run` has recorded every delivery durably;
- no message is handed over twice unannounced: a message is recorded as ``handing`` (durably)
  before its handler is called and ``done`` after it returned. If a run stops in between, the
  next run hands it over again with ``possibly_delivered=True``, and a handler that stores
  messages under their uid (or checks its own record) skips it. Every other message is handed
  over exactly once.

See ``_pop3_state`` for the record itself. Messages are retrieved with pipelined RETRs (when
the server pipelines), so a run costs a few round trips however many messages it fetches. A
message whose first line looks like a POP3 status line cannot come in a pipelined batch: the
run logs in again and asks for it alone (``_pop3_batch``), so it never stops at one; messages
are recorded by UIDL, which the new session keeps.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable  # unasync: from collections.abc import Callable

from .._errors import UnsupportedOperation
from .._pop3_state import DownloadedMessage, DownloadReport, Pop3State
from .._proto.pop3._listing import Listing
from ._pop3_batch import MessageBatch
from .pop3 import AsyncPop3Mailbox

__all__ = ["AsyncPop3Downloader", "Pop3Handler"]

#: The handler: called with each new message; returning means "stored safely".
Pop3Handler = Callable[[DownloadedMessage], Awaitable[None]]  # unasync: remove
# unasync: Pop3Handler = Callable[[DownloadedMessage], None]

# How many messages are recorded as "handing" (or "done") per transaction of the record.
_BATCH = 256


class AsyncPop3Downloader:
    """Downloads the messages of a POP3 maildrop that no earlier run delivered.

    Usage::

        async with AsyncMailbox.open("pop3s://alice@mail.example.org", password=pw) as box:
            downloader = AsyncPop3Downloader(box, "alice-pop3.sqlite3", delete=True)
            report = await downloader.run(store)   # async def store(message): ...
        # leaving the block sends QUIT: only now are the delivered messages deleted
    """

    def __init__(
        self,
        mailbox: AsyncPop3Mailbox,
        state: str | os.PathLike[str],
        *,
        delete: bool = False,
    ) -> None:
        """Prepare a downloader; does no I/O.

        Args:
            mailbox: an open POP3 mailbox (its server must have UIDL).
            state: the SQLite file that records what was delivered (created if missing). Use
                one file per machine; it may hold several accounts.
            delete: "delete after download" mode: mark each message with DELE once its
                handler returned (deleted at the mailbox's QUIT). Default: "leave on server".
        """
        self._mailbox = mailbox
        self._path = state
        self._delete = delete

    @property
    def account(self) -> str:
        """The key of this maildrop in the record: ``user@host``."""
        url = self._mailbox.options.url
        return f"{url.username}@{url.host}"

    async def run(self, handler: Pop3Handler) -> DownloadReport:
        """Hand every message not delivered before to ``handler``, oldest first.

        The handler gets a :class:`DownloadedMessage`; it must store the message safely
        before it returns. If it raises, the run stops and re-raises: that message counts as
        not delivered and is handed over again by the next run.

        What ``handler`` raises, and the mailbox's connection errors, propagate.

        Returns:
            What was delivered (and marked for deletion) in this run.

        Raises:
            UnsupportedOperation: the server has no UIDL (no stable uids to record).
            InvalidArgument: the record file cannot be used (or another run holds it).
        """
        box = self._mailbox
        if not box.has_uidl:
            raise UnsupportedOperation("downloading without UIDL is not safe", capability="UIDL")
        listing = await box._get_listing()
        store = Pop3State(self._path)
        try:
            return await _Run(box, store, self.account, self._delete).run(listing, handler)
        finally:
            store.close()


class _Run:
    def __init__(self, box: AsyncPop3Mailbox, store: Pop3State, account: str, delete: bool):
        self.box, self.store, self.account, self.delete = box, store, account, delete
        self.delivered: list[str] = []
        self.redelivered: list[str] = []
        self.deleted: list[str] = []
        self.unrecorded: list[str] = []  # delivered, "done" not committed yet
        self.marked: set[str] = set()  # recorded "handing" and not handed over yet

    async def run(self, listing: Listing, handler: Pop3Handler) -> DownloadReport:
        records = self.store.load(self.account)
        live = listing.live()
        on_server = {str(listing.uid_of[n]) for n in live}
        self.store.forget(self.account, [uid for uid in records if uid not in on_server])
        done = [n for n in live if records.get(str(listing.uid_of[n])) == "done"]
        todo = [n for n in live if records.get(str(listing.uid_of[n])) != "done"]
        again = {uid for uid, state in records.items() if state == "handing"}
        await self.box.client.drain()
        # Numbers are this listing's for the whole run: MessageBatch renumbers them (by UIDL) if
        # it has to log in again, and marks again what the dead session had marked (DELE).
        commands = MessageBatch(self.box, listing)
        if self.delete:
            await commands.submit("DELE", done)
        await commands.submit("RETR", todo)
        position = 0  # index in todo of the next message to hand over
        try:
            while commands.pending:
                answer = await commands.next()
                number = answer.number
                uid = str(listing.uid_of[number])
                if answer.name == "DELE":
                    if answer.ok:
                        self.deleted.append(uid)
                    continue
                while todo[position] != number:
                    position += 1
                data = answer.data
                if data is None:
                    continue  # gone since the listing
                if uid not in self.marked:
                    batch = [str(listing.uid_of[n]) for n in todo[position : position + _BATCH]]
                    self._mark_handing(batch, again)
                self.marked.discard(uid)
                message = DownloadedMessage(uid=uid, data=data, possibly_delivered=uid in again)
                try:
                    await handler(message)
                except Exception:
                    if uid not in again:
                        self.store.forget(self.account, [uid])  # refused: not delivered
                    raise
                self._delivered(uid, uid in again)
                if self.delete:
                    await commands.submit("DELE", [number])
        finally:
            self._commit(again)
        return DownloadReport(
            delivered=tuple(self.delivered), redelivered=tuple(self.redelivered),
            deleted=tuple(self.deleted), known=len(done),
        )  # fmt: skip

    def _mark_handing(self, uids: list[str], again: set[str]) -> None:
        # Marks left from the previous batch belong to messages that vanished before their
        # turn: they were never handed over.
        self.store.forget(self.account, [uid for uid in self.marked if uid not in again])
        # One transaction (one fsync) records the deliveries so far and the next batch.
        self.store.update(self.account, done=self.unrecorded, handing=uids)
        self.unrecorded = []
        self.marked = set(uids)

    def _delivered(self, uid: str, again: bool) -> None:
        self.delivered.append(uid)
        if again:
            self.redelivered.append(uid)
        self.unrecorded.append(uid)

    def _flush(self) -> None:
        if self.unrecorded:
            self.store.mark(self.account, self.unrecorded, "done")
            self.unrecorded = []

    def _commit(self, again: set[str]) -> None:
        """Record every delivery, and drop the "handing" marks of messages never handed over
        (their record from an earlier crash, if any, is kept)."""
        self._flush()
        self.store.forget(self.account, [uid for uid in self.marked if uid not in again])
        self.marked = set()
