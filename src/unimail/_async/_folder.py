"""The folder interface every backend implements: one API over IMAP, POP3 and local stores.

A backend overrides what it can do. Every method it does not override raises
``UnsupportedOperation`` naming the missing capability, so a caller can check
``mailbox.capabilities`` before calling or handle the error afterwards.
"""

from __future__ import annotations

import datetime
import email.message
import email.policy
import os
from collections.abc import AsyncGenerator, Callable, Collection, Iterable, Sequence
from typing import IO, TYPE_CHECKING

from .._errors import UnsupportedOperation
from .._message import Appendable, parse_email, split_appendable
from .._models import Capability, FetchField, Flag, FolderEvent, FolderStatus, MessageInfo
from .._search import Q

if TYPE_CHECKING:
    from ._mailbox import AsyncMailbox

__all__ = ["DEFAULT_FIELDS", "AsyncFolder", "Progress", "Uid"]

#: A message id as the backend gives it: IMAP UID (int), POP3 UIDL or Maildir key (str).
Uid = int | str

#: ``progress(done_bytes, total_bytes)``; total is None when the size is not known in advance.
Progress = Callable[[int, "int | None"], None]

#: What ``search()`` returns about each message unless told otherwise.
DEFAULT_FIELDS = FetchField.UID | FetchField.FLAGS | FetchField.SIZE | FetchField.ENVELOPE


class AsyncFolder:
    """One folder of a mailbox. Get it with ``mailbox.folder(name)``; it does no I/O itself
    until a method is called."""

    def __init__(self, mailbox: AsyncMailbox, name: str) -> None:
        self._mailbox = mailbox
        self._name = name

    @property
    def name(self) -> str:
        """The folder's full name, as ``Mailbox.folders()`` lists it."""
        return self._name

    @property
    def mailbox(self) -> AsyncMailbox:
        """The mailbox this folder belongs to."""
        return self._mailbox

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._name!r}>"

    def _unsupported(self, what: str, capability: Capability | str) -> UnsupportedOperation:
        return UnsupportedOperation(
            f"{type(self._mailbox).__name__} cannot {what}: it lacks {capability}",
            capability=str(capability),
        )

    async def status(self) -> FolderStatus:
        """Return the folder's counters (messages, unseen, uidnext, uidvalidity).

        Raises:
            FolderNotFound: the folder does not exist.
        """
        raise self._unsupported("report folder status", "STATUS")

    def search(
        self, query: Q | None = None, *, fields: FetchField = DEFAULT_FIELDS
    ) -> AsyncGenerator[MessageInfo, None]:
        """Yield a :class:`MessageInfo` for each message matching ``query`` (all when None),
        in ascending uid order, with the ``fields`` asked for.

        Usage: ``async for info in folder.search(Q.unseen()): ...``

        Raises:
            InvalidArgument: the query cannot be sent (checked before anything is sent).
            FolderNotFound: the folder does not exist.
        """
        raise self._unsupported("search", Capability.SERVER_SEARCH)

    def fetch(
        self, uids: Iterable[Uid], fields: FetchField = DEFAULT_FIELDS
    ) -> AsyncGenerator[MessageInfo, None]:
        """Yield a :class:`MessageInfo` for each of ``uids`` that still exists, in ascending
        uid order, with the ``fields`` asked for. Fetching never marks a message seen."""
        raise self._unsupported("fetch", "FETCH")

    async def get(self, uid: Uid) -> email.message.EmailMessage:
        """Return message ``uid`` parsed with ``email.policy.default``, its lines ended with
        ``"\\n"`` (the raw CRLF bytes are :meth:`get_bytes`). Never marks it seen.

        Raises:
            CommandError: the message does not exist (any more).
        """
        raw = await self.get_bytes(uid)
        return parse_email(raw)

    async def get_bytes(self, uid: Uid) -> bytes:
        """Return the raw bytes of message ``uid``. Never marks it seen.

        Raises:
            CommandError: the message does not exist (any more).
        """
        raise self._unsupported("read messages", "FETCH")

    async def download(
        self,
        uid: Uid,
        destination: str | os.PathLike[str] | IO[bytes],
        *,
        progress: Progress | None = None,
    ) -> int:
        """Write message ``uid`` to a path or a binary file in chunks; return its size."""
        raise self._unsupported("download messages", "FETCH")

    async def append(
        self,
        message: email.message.Message | bytes,
        *,
        flags: Collection[Flag | str] = (),
        internal_date: datetime.datetime | None = None,
    ) -> Uid | None:
        """Store ``message`` in this folder; return its new uid where the backend tells it."""
        raise self._unsupported("append", Capability.APPEND)

    async def append_many(
        self,
        messages: Iterable[email.message.Message | bytes | Appendable],
        *,
        flags: Collection[Flag | str] = (),
        internal_date: datetime.datetime | None = None,
    ) -> Sequence[Uid | None]:
        """Store ``messages`` here, in order; return their new uids in order (None where the
        backend cannot tell).

        Each message is an ``EmailMessage`` or bytes (stored with ``flags`` and
        ``internal_date``), or a ``(message, flags, internal_date)`` tuple with its own.
        Backends that can store many messages at once do (IMAP MULTIAPPEND, Maildir batches);
        this default stores them one :meth:`append` at a time. If storing fails, the messages
        before stay stored.

        Raises:
            InvalidArgument: a bad message, flag or date.
            UnsupportedOperation: the backend cannot store messages.
        """
        uids: list[Uid | None] = []
        for item in messages:
            message, own_flags, own_date = split_appendable(item, flags, internal_date)
            uids.append(await self.append(message, flags=own_flags, internal_date=own_date))
        return uids

    async def add_flags(self, uids: Iterable[Uid], flags: Collection[Flag | str]) -> None:
        """Add ``flags`` to each message of ``uids``."""
        raise self._unsupported("change flags", Capability.FLAGS)

    async def remove_flags(self, uids: Iterable[Uid], flags: Collection[Flag | str]) -> None:
        """Remove ``flags`` from each message of ``uids``."""
        raise self._unsupported("change flags", Capability.FLAGS)

    async def set_flags(self, uids: Iterable[Uid], flags: Collection[Flag | str]) -> None:
        """Replace the flags of each message of ``uids`` with ``flags``."""
        raise self._unsupported("change flags", Capability.FLAGS)

    async def copy(self, uids: Iterable[Uid], destination: str) -> dict[Uid, Uid]:
        """Copy messages to folder ``destination``; return ``{source_uid: new_uid}`` (empty
        where the server does not say)."""
        raise self._unsupported("copy", Capability.COPY)

    async def move(self, uids: Iterable[Uid], destination: str) -> dict[Uid, Uid]:
        """Move messages to folder ``destination``; return ``{source_uid: new_uid}``."""
        raise self._unsupported("move", Capability.MOVE)

    async def delete(self, uids: Iterable[Uid]) -> None:
        """Remove exactly the messages ``uids``, and no other message."""
        raise self._unsupported("delete", Capability.DELETE)

    def watch(self, *, timeout: float | None = None) -> AsyncGenerator[FolderEvent, None]:
        """Yield events (new messages, removed messages, flag changes) until the caller
        breaks out of the loop or ``timeout`` seconds pass."""
        raise self._unsupported("watch", Capability.WATCH_PUSH)

    async def updates(self, *, poll: bool = False) -> list[FolderEvent]:
        """Return, as events naming uids, what changed in the folder since the last call, as
        far as the backend learned it during other operations (IMAP: the server's untagged
        responses); with ``poll``, ask the backend for news first.

        Raises:
            UnsupportedOperation: the backend cannot report changes this way.
        """
        raise self._unsupported("report updates", "UPDATES")
