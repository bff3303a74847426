"""The copy of one folder: list, skip what the record says is there, append the rest.

The order of events for each message is what makes the copy lossless (see ``_copy_state``):

1. the messages of a round are read from the source and fingerprinted;
2. ``intent`` is recorded for every message of the round still to append (durably, in one
   transaction with the ``done`` of the messages appended before);
3. the destination appends them: one ``append_many`` for the round where it has one
   (``_copy_batch``), else one ``append`` each (each with its own ``intent`` commit); only
   when the destination confirmed is a message ``done`` (recorded at the next commit, at the
   latest when the round or the run ends, also on an error);
4. with ``delete_after``, a round is deleted from the source only once its ``done`` records
   are committed.

A run stopped anywhere leaves at most one round per folder in ``intent``. The next run looks
for each of them in the destination by fingerprint and appends it only if it is not there,
counting identical copies against the ``done`` records of the same content (a folder may
legitimately hold two identical messages).
"""

from __future__ import annotations

import collections
import datetime
from collections.abc import Callable, Sequence
from contextlib import aclosing

import attrs

from .._copy_models import CopyProgress, CopyStage, Fingerprint, FolderCopyResult, arrival_date
from .._copy_state import CopyRecord, CopyState
from .._errors import CommandError
from .._models import Capability, FetchField, Flag, MessageInfo
from .._search import Q
from ._copy_batch import BATCH_MESSAGES, Outgoing, append_batch, batches
from ._copy_flags import sync_flags
from ._folder import AsyncFolder, Uid

__all__ = ["CopyProgressCallback", "FolderCopy"]

#: The ``progress`` callback of ``copy()``: called with each :class:`CopyProgress`.
CopyProgressCallback = Callable[[CopyProgress], None]

_LISTING = FetchField.UID | FetchField.FLAGS | FetchField.SIZE | FetchField.INTERNALDATE


@attrs.define
class _Counts:
    copied: int = 0
    skipped: int = 0
    failed: int = 0
    deleted: int = 0
    flags_updated: int = 0
    bytes: int = 0
    done: int = 0
    total: int = 0
    errors: list[tuple[Uid, str]] = attrs.field(factory=list)


class FolderCopy:
    """Copies one source folder into one destination folder (see the module docstring)."""

    def __init__(
        self,
        *,
        job: str,
        state: CopyState,
        source: AsyncFolder,
        target: AsyncFolder,
        capabilities: frozenset[Capability],
        query: Q | None,
        delete_after: bool,
        progress: CopyProgressCallback | None,
        update_flags: bool = False,
    ) -> None:
        """Prepare the copy of ``source`` into ``target``; does no I/O."""
        self._job, self._state = job, state
        self._source, self._target = source, target
        self._capabilities = capabilities
        self._query, self._delete_after, self._progress = query, delete_after, progress
        self._counts = _Counts()
        self._unrecorded: list[CopyRecord] = []  # appended, "done" not committed yet
        self._validity = 0
        self._target_validity: int | None = None
        self._update_flags = update_flags

    async def run(self) -> FolderCopyResult:
        """Copy the folder; return what was done.

        Raises:
            Whatever the source, the destination or the progress callback raise, except a
            ``CommandError`` about one message (counted as failed, the copy goes on).
        """
        listing = await self._listing()
        records = self._state.load(self._job, self._source.name)
        current = {r.uid: r for r in records if r.uidvalidity == self._validity}
        # Records of another UIDVALIDITY: their uids mean nothing now, their content does.
        previous = [r for r in records if r.uidvalidity != self._validity]
        done = [i.uid for i in listing if _is_done(current.get(str(i.uid)))]
        todo = [i for i in listing if not _is_done(current.get(str(i.uid)))]
        counts = self._counts
        counts.total = len(listing)
        counts.skipped = counts.done = len(done)
        self._report(CopyStage.FOLDER)
        if self._update_flags and Capability.FLAGS in self._capabilities:
            copies = [
                (self._flags(info), current[str(info.uid)])
                for info in listing
                if _is_done(current.get(str(info.uid))) and info.flags is not None
            ]
            counts.flags_updated = await sync_flags(self._target, copies, self._target_validity)
        if self._delete_after:
            await self._delete(done)
        matcher = _Previous(previous)
        try:
            for batch in batches(todo):
                copied = await self._copy_batch(batch, current, matcher)
                self._flush()
                if self._delete_after:
                    await self._delete(copied)
        finally:
            self._flush()
        if self._query is None and matcher.leftover():
            # The whole folder was seen: what is left of an old UIDVALIDITY is gone.
            self._state.commit(self._job, self._source.name, forget=matcher.leftover())
        return FolderCopyResult(
            source=self._source.name, destination=self._target.name, copied=counts.copied,
            skipped=counts.skipped, failed=counts.failed, deleted=counts.deleted,
            flags_updated=counts.flags_updated, bytes=counts.bytes, errors=tuple(counts.errors),
        )  # fmt: skip

    async def _listing(self) -> list[MessageInfo]:
        status = await self._source.status()
        async with aclosing(self._source.search(self._query, fields=_LISTING)) as found:
            listing = [info async for info in found]
        # The folder object knows the UIDVALIDITY its search ran under (IMAP: from SELECT);
        # STATUS came from another command and may predate a change.
        validity = getattr(self._source, "uidvalidity", None) or status.uidvalidity
        self._validity = int(validity or 0)
        self._target_validity = (await self._target.status()).uidvalidity
        return listing

    async def _copy_batch(
        self, batch: list[MessageInfo], current: dict[str, CopyRecord], matcher: _Previous
    ) -> list[Uid]:
        bodies: dict[Uid, bytes] = {}
        limits = self._source.mailbox.options.limits
        largest = min(limits.max_message_size, limits.max_literal_size)
        uids = [info.uid for info in batch if (info.size or 0) <= largest]
        async with aclosing(self._source.fetch(uids, FetchField.BODY)) as fetched:
            async for info in fetched:
                if info.body is not None:
                    bodies[info.uid] = info.body
        copied: list[Uid] = []
        outgoing: list[_Pending] = []
        for info in batch:
            data = bodies.get(info.uid)
            if (info.size or 0) > largest:
                # Reading it would break the connection (LimitExceeded) in every run: report
                # it instead, and copy the rest.
                reason = f"{info.size} bytes, more than the source's max_message_size {largest}"
                self._counts.failed += 1
                self._counts.errors.append((info.uid, reason))
            elif data is None:
                pass  # deleted from the source since the listing
            else:
                pending = await self._check(info, data, current.get(str(info.uid)), matcher)
                if pending is not None:
                    outgoing.append(pending)
                    continue
                copied.append(info.uid)
            self._counts.done += 1
            self._report(CopyStage.MESSAGE, info.uid)
        if len(outgoing) > 1:
            copied += await self._append_batch(outgoing)
        else:
            for pending in outgoing:
                if await self._append_one(pending):
                    copied.append(pending.info.uid)
        return copied

    async def _check(
        self, info: MessageInfo, data: bytes, record: CopyRecord | None, matcher: _Previous
    ) -> _Pending | None:
        """Return the message to append, or None when it is in the destination already
        (recorded ``done`` now)."""
        fingerprint = Fingerprint.of(data)
        forget: list[tuple[int, str]] = []
        unsure = record is not None and record.state == "intent"
        old = matcher.take(fingerprint)
        if old is not None:
            forget.append((old.uidvalidity, old.uid))
            unsure = unsure or old.state == "intent"
            if old.state == "done":
                self._record(info.uid, fingerprint, "done", None, forget)
                self._counts.skipped += 1
                return None
        if unsure and await self._in_target(fingerprint, data):
            self._record(info.uid, fingerprint, "done", None, forget)
            self._counts.skipped += 1
            return None
        return _Pending(info, data, fingerprint, forget)

    async def _append_batch(self, batch: list[_Pending]) -> list[Uid]:
        """Append ``batch`` with one ``append_many``: every intent is recorded (one commit)
        before, each ``done`` after the destination confirmed them all. Return the uids in
        the destination now."""
        intents = [self._make(p.info.uid, p.fingerprint, "intent", None) for p in batch]
        forget = [pair for p in batch for pair in p.forget]
        self._state.commit(self._job, self._source.name, [*self._unrecorded, *intents], forget)
        self._unrecorded = []
        for pending in batch:
            self._report(CopyStage.APPENDING, pending.info.uid)
        outgoing = [
            Outgoing(p.data, tuple(self._flags(p.info)), self._date(p.info, p.data)) for p in batch
        ]
        try:
            new_uids = await append_batch(self._target, outgoing)
        except CommandError:
            # Refused, perhaps after storing part of the batch (a server without MULTIAPPEND,
            # a Maildir that failed midway): each message is looked for, then appended alone.
            copied = []
            for pending in batch:
                if await self._append_one(attrs.evolve(pending, unsure=True, forget=[])):
                    copied.append(pending.info.uid)
            return copied
        for pending, new_uid in zip(batch, new_uids, strict=True):
            self._confirmed(pending, new_uid)
        return [p.info.uid for p in batch]

    async def _append_one(self, pending: _Pending) -> bool:
        """Append one message (looking for it first if an earlier attempt may have stored
        it); return True when it is in the destination now."""
        info, data, fingerprint = pending.info, pending.data, pending.fingerprint
        if pending.unsure and await self._in_target(fingerprint, data):
            self._record(info.uid, fingerprint, "done", None, pending.forget)
            self._counts.skipped += 1
            self._done(info.uid)
            return True
        self._record(info.uid, fingerprint, "intent", None, pending.forget)
        self._report(CopyStage.APPENDING, info.uid)
        try:
            new_uid = await self._target.append(
                data, flags=self._flags(info), internal_date=self._date(info, data)
            )
        except CommandError as exc:
            # Refused (too large, a bad message...): not stored; the next run tries again.
            self._state.commit(self._job, self._source.name, forget=[(self._validity, _key(info))])
            self._counts.failed += 1
            self._counts.errors.append((info.uid, str(exc)))
            self._done(info.uid)
            return False
        self._confirmed(pending, new_uid)
        return True

    def _confirmed(self, pending: _Pending, new_uid: Uid | None) -> None:
        """The destination stored ``pending``: ``done`` at the next commit."""
        info = pending.info
        self._report(CopyStage.APPENDED, info.uid)
        target_uid = None if new_uid is None else str(new_uid)
        # The folder object knows the UIDVALIDITY the new uid belongs to (IMAP: APPENDUID).
        validity = getattr(self._target, "uidvalidity", None) or self._target_validity
        record = self._make(info.uid, pending.fingerprint, "done", target_uid)
        self._unrecorded.append(attrs.evolve(record, target_validity=validity))
        self._counts.copied += 1
        self._counts.bytes += len(pending.data)
        self._done(info.uid)

    def _done(self, uid: Uid) -> None:
        self._counts.done += 1
        self._report(CopyStage.MESSAGE, uid)

    def _make(
        self, uid: Uid, fingerprint: Fingerprint, state: str, target_uid: str | None
    ) -> CopyRecord:
        return CopyRecord(
            uidvalidity=self._validity, uid=str(uid), state="done" if state == "done" else "intent",
            target=self._target.name, target_uid=target_uid, fingerprint=fingerprint,
        )  # fmt: skip

    def _record(
        self,
        uid: Uid,
        fingerprint: Fingerprint,
        state: str,
        target_uid: str | None,
        forget: list[tuple[int, str]],
    ) -> None:
        # One transaction: the appends confirmed so far become "done" with this record.
        records = [*self._unrecorded, self._make(uid, fingerprint, state, target_uid)]
        self._state.commit(self._job, self._source.name, records, forget)
        self._unrecorded = []

    def _flush(self) -> None:
        if self._unrecorded:
            self._state.commit(self._job, self._source.name, self._unrecorded)
            self._unrecorded = []

    async def _in_target(self, fingerprint: Fingerprint, data: bytes) -> bool:
        """Return True when the destination holds more copies of this content than the
        record accounts for: then the interrupted append did store it."""
        self._flush()
        if fingerprint.message_id is not None:
            query = Q.header("Message-ID", fingerprint.message_id)
        else:
            # The size as stored is the canonical size, give or take one octet per line: LF
            # line endings (Maildir, mbox), quoted From lines or a final line ending (mbox).
            lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").count(b"\n") + 1
            smallest = max(0, fingerprint.size - lines - 1)
            query = Q.larger(smallest) & Q.smaller(fingerprint.size + lines + 1)
        async with aclosing(self._target.search(query, fields=FetchField.UID)) as found:
            candidates = [info.uid async for info in found]
        matches = 0
        for start in range(0, len(candidates), BATCH_MESSAGES):
            chunk = candidates[start : start + BATCH_MESSAGES]
            async with aclosing(self._target.fetch(chunk, FetchField.BODY)) as fetched:
                async for info in fetched:
                    if info.body is not None and Fingerprint.of(info.body) == fingerprint:
                        matches += 1
        known = self._state.count_done(self._job, self._target.name, fingerprint.sha256)
        return matches > known

    def _flags(self, info: MessageInfo) -> list[Flag | str]:
        if info.flags is None or Capability.FLAGS not in self._capabilities:
            return []
        keywords = Capability.KEYWORDS in self._capabilities
        return sorted(
            (f for f in info.flags if f is not Flag.RECENT and (keywords or isinstance(f, Flag))),
            key=str,
        )

    def _date(self, info: MessageInfo, data: bytes) -> datetime.datetime | None:
        if Capability.INTERNAL_DATE not in self._capabilities:
            return None
        # POP3 has no internal date: the time of delivery (from the headers) is the best
        # stand-in, or every migrated message would look as if it arrived today.
        return info.internal_date or arrival_date(data)

    async def _delete(self, uids: Sequence[Uid]) -> None:
        if not uids:
            return
        await self._source.delete(uids)
        self._counts.deleted += len(uids)
        self._report(CopyStage.DELETED)

    def _report(self, stage: CopyStage, uid: Uid | None = None) -> None:
        if self._progress is None:
            return
        counts = self._counts
        self._progress(
            CopyProgress(
                stage=stage, folder=self._source.name, destination=self._target.name, uid=uid,
                done=counts.done, total=counts.total, copied=counts.copied, bytes=counts.bytes,
            )
        )  # fmt: skip


@attrs.frozen
class _Pending:
    """A message to append, with what its records need."""

    info: MessageInfo
    data: bytes
    fingerprint: Fingerprint
    forget: list[tuple[int, str]]
    unsure: bool = False  # an earlier attempt may have stored it: look before appending


class _Previous:
    """The records of an earlier UIDVALIDITY of the folder, matched by content."""

    def __init__(self, records: list[CopyRecord]) -> None:
        self._by_hash: dict[str, collections.deque[CopyRecord]] = collections.defaultdict(
            collections.deque
        )
        for record in records:
            self._by_hash[record.fingerprint.sha256].append(record)

    def take(self, fingerprint: Fingerprint) -> CopyRecord | None:
        """Return (and consume) a record with this content, "done" ones first."""
        found = self._by_hash.get(fingerprint.sha256)
        if not found:
            return None
        done = next((r for r in found if r.state == "done"), None)
        chosen = done if done is not None else found[0]
        found.remove(chosen)
        return chosen

    def leftover(self) -> list[tuple[int, str]]:
        """Return the records never matched, as ``(uidvalidity, uid)`` pairs."""
        return [(r.uidvalidity, r.uid) for found in self._by_hash.values() for r in found]


def _is_done(record: CopyRecord | None) -> bool:
    return record is not None and record.state == "done"


def _key(info: MessageInfo) -> str:
    return str(info.uid)
