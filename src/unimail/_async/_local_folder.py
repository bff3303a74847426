"""A folder of a local mailbox (Maildir, mbox, memory): every Folder operation.

Uids are valid together with the folder's UIDVALIDITY, as in IMAP: a folder object remembers
the UIDVALIDITY it first saw, and refuses uids (``InvalidArgument``) once the folder has
another one (it was deleted and created again, or its uid list was lost).

Search is evaluated on the client (``Q.matches``), a batch of messages per worker-thread call;
results stream as each batch is done. Reading never changes a message (no ``\\Seen``).
"""

from __future__ import annotations

import datetime
import email.message
import io
import os
from collections.abc import AsyncGenerator, Collection, Iterable
from typing import IO, TYPE_CHECKING

from .._errors import CommandError, InvalidArgument, LimitExceeded
from .._files import Destination
from .._local import _ops
from .._local._flags import FlagSet, check_flags, check_uids
from .._local._message import serialise
from .._local._ops import Snapshot
from .._local._view import NewMessage
from .._message import Appendable, split_appendable
from .._models import FetchField, Flag, FolderEvent, FolderStatus, MessageInfo
from .._search import Q
from ._folder import DEFAULT_FIELDS, AsyncFolder, Progress, Uid

if TYPE_CHECKING:
    from ._local_mailbox import AsyncLocalMailbox

__all__ = ["AsyncLocalFolder"]

_CHUNK = 256 * 1024
_MANY = 500  # messages stored per worker-thread call of append_many()


class AsyncLocalFolder(AsyncFolder):
    """A folder of a Maildir, mbox or memory mailbox."""

    _mailbox: AsyncLocalMailbox

    def __init__(self, mailbox: AsyncLocalMailbox, name: str) -> None:
        """Name a folder of ``mailbox``; does no I/O. See ``AsyncLocalMailbox.folder``."""
        super().__init__(mailbox, name)
        self._uidvalidity: int | None = None

    @property
    def uidvalidity(self) -> int | None:
        """The UIDVALIDITY this folder's uids belong to (None until the first operation)."""
        return self._uidvalidity

    async def _look(self) -> int:
        """Return the UIDVALIDITY the caller's uids belong to (taking the mailbox's first
        look at the folder, the baseline of ``watch()``, if it has none yet)."""
        box = self._mailbox
        known = box._known.get(self.name)
        if known is None or self._uidvalidity is None:
            # A new folder object checks what the mailbox knows: the folder may have been
            # deleted and created again meanwhile (by another program).
            now = await box._run(_ops.snapshot, box.store, self.name)
            if known is None or known.uidvalidity != now.uidvalidity:
                known = box._known[self.name] = now
        if self._uidvalidity is None:
            self._uidvalidity = known.uidvalidity
        return self._uidvalidity

    def _note(self, folder: str, changes: dict[int, FlagSet], removed: Iterable[int] = ()) -> None:
        """Record this mailbox's own changes in what it knows (so watch() does not report them)."""
        known = self._mailbox._known.get(folder)
        if known is not None:
            known.flags.update(changes)
            for uid in removed:
                known.flags.pop(uid, None)

    async def status(self) -> FolderStatus:
        """Return the folder's counters: messages, unseen, uidnext, uidvalidity.

        Raises:
            FolderNotFound: the folder does not exist.
        """
        await self._look()
        box = self._mailbox
        return await box._run(_ops.status, box.store, self.name)

    async def search(
        self, query: Q | None = None, *, fields: FetchField = DEFAULT_FIELDS
    ) -> AsyncGenerator[MessageInfo, None]:
        """Yield each message matching ``query`` (all when None) in ascending uid order, with
        the ``fields`` asked for. The query is evaluated here: headers are read only when it
        looks at headers, whole messages only when it looks at bodies.

        Raises:
            InvalidArgument: ``query`` is not a ``Q``.
            FolderNotFound: the folder does not exist.
        """
        if query is not None and not isinstance(query, Q):
            raise InvalidArgument(f"query must be a unimail.Q, got {type(query).__name__}")
        expected = await self._look()
        box = self._mailbox
        uids = await box._run(_ops.uids, box.store, self.name, expected)
        async for info in self._infos(uids, fields, query, expected):
            yield info

    async def fetch(
        self, uids: Iterable[Uid], fields: FetchField = DEFAULT_FIELDS
    ) -> AsyncGenerator[MessageInfo, None]:
        """Yield the ``fields`` of each of ``uids`` that still exists, in ascending uid order.
        Fetching never marks a message seen.

        Raises:
            InvalidArgument: a uid that is not an int from 1 to 2**32-1.
            FolderNotFound: the folder does not exist.
        """
        wanted = sorted(set(check_uids(uids)))
        expected = await self._look()
        async for info in self._infos(wanted, fields, None, expected):
            yield info

    async def _infos(
        self, uids: list[int], fields: FetchField, query: Q | None, expected: int
    ) -> AsyncGenerator[MessageInfo, None]:
        box = self._mailbox
        start = 0
        while start < len(uids):
            found, done = await box._run(
                _ops.infos, box.store, self.name, uids[start:], fields, query, expected
            )
            start += done
            for info in found:
                yield info

    async def get_bytes(self, uid: Uid) -> bytes:
        """Return the raw bytes of message ``uid``; never marks it seen.

        Raises:
            CommandError: no message has this uid (any more).
            LimitExceeded: the message is larger than ``limits.max_message_size`` (use
                :meth:`download` to stream it instead).
        """
        limit = self._mailbox.options.limits.max_message_size
        buffer = io.BytesIO()
        await self._copy(uid, buffer, None, limit)
        return buffer.getvalue()

    async def download(
        self,
        uid: Uid,
        destination: str | os.PathLike[str] | IO[bytes],
        *,
        progress: Progress | None = None,
    ) -> int:
        """Write message ``uid`` to a path or a binary file in chunks (memory stays bounded
        whatever the size); return its size. A path is written as ``<path>.part`` and renamed
        when complete.

        Args:
            progress: called as ``progress(done_bytes, total_bytes)`` after each chunk.

        Raises:
            CommandError: no message has this uid (any more).
        """
        with Destination(destination) as file:
            return await self._copy(uid, file, progress, None)

    async def _copy(
        self, uid: Uid, target: IO[bytes], progress: Progress | None, limit: int | None
    ) -> int:
        (checked,) = check_uids([uid])
        expected = await self._look()
        box = self._mailbox
        source, size = await box._run(_ops.open_message, box.store, self.name, checked, expected)
        try:
            if limit is not None and size > limit:
                raise LimitExceeded(
                    f"message {uid} has {size} bytes, more than max_message_size ({limit}): "
                    "use download() to stream it"
                )
            done = 0
            while done < size:
                chunk = await box._run(source.read, min(_CHUNK, size - done))
                if not chunk:
                    raise CommandError(f"message {uid} was cut short while read", code="NO")
                target.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, size)
            return done
        finally:
            source.close()

    async def append(
        self,
        message: email.message.Message | bytes,
        *,
        flags: Collection[Flag | str] = (),
        internal_date: datetime.datetime | None = None,
    ) -> int:
        """Store ``message`` here (bytes as given; an ``EmailMessage`` with CRLF line
        endings); return its new uid.

        Args:
            flags: its flags (``\\Recent`` cannot be set).
            internal_date: when it was received (a naive datetime is local time); now by
                default. Kept to the second.

        Raises:
            InvalidArgument: a bad flag, date or message (NUL bytes).
            FolderNotFound: the folder does not exist.
        """
        raw = serialise(message)
        checked = check_flags(flags)
        when = _aware(internal_date)
        box = self._mailbox
        uid, uidvalidity, stored = await box._run(
            _ops.append, box.store, self.name, raw, checked, when
        )
        if self._uidvalidity is None:
            self._uidvalidity = uidvalidity
        known = box._known.get(self.name)
        if known is not None and known.uidvalidity == uidvalidity:
            known.flags[uid] = stored
        return uid

    async def append_many(
        self,
        messages: Iterable[email.message.Message | bytes | Appendable],
        *,
        flags: Collection[Flag | str] = (),
        internal_date: datetime.datetime | None = None,
    ) -> list[int]:
        """Store ``messages`` here, in order, in batches (Maildir: each file synced, the
        uids recorded with one sync, then the files renamed and the folder synced once per
        batch of up to 500); return their new uids in order.

        Each message is an ``EmailMessage`` or bytes (given ``flags`` and ``internal_date``),
        or a ``(message, flags, internal_date)`` tuple with its own. Every message is checked
        before the first is stored. If storing fails (``CommandError``), the batches before
        stay stored, and so may part of the failing one (each message whole, with its uid).

        Raises:
            InvalidArgument: a bad flag, date or message (nothing was stored).
            FolderNotFound: the folder does not exist.
        """
        shared = (check_flags(flags), _aware(internal_date))
        items: list[NewMessage] = []
        for item in messages:
            if isinstance(item, tuple):
                one, own_flags, own_date = split_appendable(item, flags, internal_date)
                items.append((serialise(one), check_flags(own_flags), _aware(own_date)))
            else:
                items.append((serialise(item), *shared))
        box = self._mailbox
        made: list[int] = []
        for start in range(0, len(items), _MANY):
            uids, uidvalidity, stored = await box._run(
                _ops.append_many, box.store, self.name, items[start : start + _MANY]
            )
            if self._uidvalidity is None:
                self._uidvalidity = uidvalidity
            known = box._known.get(self.name)
            if known is not None and known.uidvalidity == uidvalidity:
                known.flags.update(zip(uids, stored, strict=True))
            made += uids
        return made

    async def add_flags(self, uids: Iterable[Uid], flags: Collection[Flag | str]) -> None:
        """Add ``flags`` to each message of ``uids`` (uids no longer there are ignored)."""
        await self._store(uids, "add", flags)

    async def remove_flags(self, uids: Iterable[Uid], flags: Collection[Flag | str]) -> None:
        """Remove ``flags`` from each message of ``uids``."""
        await self._store(uids, "remove", flags)

    async def set_flags(self, uids: Iterable[Uid], flags: Collection[Flag | str]) -> None:
        """Replace the flags of each message of ``uids`` with ``flags``."""
        await self._store(uids, "set", flags)

    async def _store(
        self, uids: Iterable[Uid], mode: _ops.Mode, flags: Collection[Flag | str]
    ) -> None:
        wanted = check_uids(uids)
        checked = check_flags(flags)
        if not wanted or (not checked and mode != "set"):
            return
        expected = await self._look()
        box = self._mailbox
        changed = await box._run(
            _ops.change_flags, box.store, self.name, wanted, mode, checked, expected
        )
        self._note(self.name, changed)

    async def copy(self, uids: Iterable[Uid], destination: str) -> dict[Uid, Uid]:
        """Copy messages (with their flags and internal dates) to folder ``destination``;
        return ``{source uid: new uid}``.

        Raises:
            FolderNotFound: this folder or ``destination`` does not exist.
        """
        return await self._transfer(uids, destination, move=False)

    async def move(self, uids: Iterable[Uid], destination: str) -> dict[Uid, Uid]:
        """Move messages to folder ``destination``; return ``{source uid: new uid}``. The
        copies are complete before the originals are removed (a crash in between leaves a
        message in both folders, never in none).

        Raises:
            FolderNotFound: this folder or ``destination`` does not exist.
        """
        return await self._transfer(uids, destination, move=True)

    async def _transfer(
        self, uids: Iterable[Uid], destination: str, *, move: bool
    ) -> dict[Uid, Uid]:
        wanted = check_uids(uids)
        box = self._mailbox
        target = box.store.canonical(destination)
        if not wanted:
            return {}
        expected = await self._look()
        mapping, added, removed = await box._run(
            _ops.transfer, box.store, self.name, wanted, target, expected, move
        )
        self._note(target, added)
        self._note(self.name, {}, removed)
        return {source: new for source, new in mapping.items()}

    async def delete(self, uids: Iterable[Uid]) -> None:
        """Remove exactly the messages ``uids`` (uids no longer there are ignored)."""
        wanted = check_uids(uids)
        if not wanted:
            return
        expected = await self._look()
        box = self._mailbox
        removed = await box._run(_ops.delete, box.store, self.name, wanted, expected)
        self._note(self.name, {}, removed)

    def watch(
        self, *, timeout: float | None = None, poll_interval: float = 1.0
    ) -> AsyncGenerator[FolderEvent, None]:
        """Yield the folder's changes by polling it every ``poll_interval`` seconds.

        Usage: ``async with aclosing(folder.watch()) as events: async for event in events:``

        Events, as IMAP's watch gives them: :class:`MessagesRemoved`, :class:`NewMessages`
        (with the new message count) and :class:`FlagsChanged`, each change told once. They
        are the changes since this mailbox's first look at the folder (or its last poll);
        changes made through this mailbox are not reported (the loop body may fetch, flag or
        move the new messages). Changes made by other programs and other mailbox objects are.

        Args:
            timeout: seconds after which the loop ends; None: until the caller breaks out.
            poll_interval: seconds between two looks at the folder.

        Raises:
            InvalidArgument: a bad argument, or the folder's UIDVALIDITY changed.
            FolderNotFound: the folder does not exist.
        """
        from ._local_watch import watch_folder

        return watch_folder(self, timeout=timeout, poll_interval=poll_interval)

    async def _poll(self) -> tuple[Snapshot, Snapshot]:
        """Return what the mailbox knew of this folder and what it holds now (and remember
        the latter)."""
        before = await self._look()
        box = self._mailbox
        known = box._known[self.name]
        now = await box._run(_ops.snapshot, box.store, self.name)
        if now.uidvalidity != before:
            raise InvalidArgument(
                f"the UIDVALIDITY of {self.name!r} changed ({before} -> {now.uidvalidity}): "
                f"get the folder again with mailbox.folder({self.name!r}) and watch again."
            )
        box._known[self.name] = now
        return known, now


def _aware(when: datetime.datetime | None) -> datetime.datetime | None:
    if when is None:
        return None
    if not isinstance(when, datetime.datetime):
        raise InvalidArgument(f"internal_date must be a datetime, got {type(when).__name__}")
    if when.tzinfo is None:
        when = when.astimezone()  # a naive datetime is local time
    return when.astimezone(datetime.timezone.utc).replace(microsecond=0)
