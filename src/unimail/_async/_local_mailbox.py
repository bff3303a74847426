"""The mailbox of the local backends (Maildir, mbox, memory), over a ``_local`` store.

The file-system work is plain blocking code in ``unimail._local``, written once for both
facades. Here, each operation runs it in a worker thread (``anyio.to_thread.run_sync``), so
that a slow disk or a lock held by another process never blocks the event loop; the generated
sync twin calls it directly (a ``# unasync:`` directive on that one line). The memory store
never blocks, so its operations run on the event loop without a thread. A cancelled operation
waits for its thread to finish its step: a lock is never left behind and a file never half
written.
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread  # unasync: remove

from .._errors import ConnectionLost
from .._local._ops import Snapshot, call
from .._local._view import Store
from .._models import Capability, FolderInfo
from .._options import Options
from ._local_folder import AsyncLocalFolder
from ._mailbox import AsyncMailbox

__all__ = ["AsyncLocalMailbox", "run_store"]

T = TypeVar("T")

_CAPABILITIES = frozenset({
    Capability.FOLDERS, Capability.FLAGS, Capability.KEYWORDS, Capability.APPEND,
    Capability.COPY, Capability.MOVE, Capability.DELETE, Capability.UIDPLUS,
    Capability.INTERNAL_DATE,
})  # fmt: skip


async def run_store(blocking: bool, function: Callable[..., T], *args: Any) -> T:
    """Run one store operation: in a worker thread when it may block (async side only)."""
    if not blocking:
        return call(function, *args)
    work = functools.partial(call, function, *args)
    return await anyio.to_thread.run_sync(work)  # unasync: return work()


class AsyncLocalMailbox(AsyncMailbox, abc.ABC):
    """A mailbox kept on this machine: the base of the Maildir, mbox and memory mailboxes.

    Uids are ints, stable across sessions, valid with the folder's UIDVALIDITY (as in IMAP).
    Search is evaluated on the client; ``watch()`` polls.
    """

    _store: Store | None = None

    def __init__(self, options: Options) -> None:
        """Store ``options``; does no I/O. Use :meth:`open` to get an open mailbox."""
        super().__init__(options)
        # What this mailbox last knew of each folder (uids and flags): watch() reports the
        # changes since, and this mailbox's own changes update it (they are not news).
        self._known: dict[str, Snapshot] = {}

    @abc.abstractmethod
    def _make_store(self) -> Store:
        """Return the store this mailbox works on (each backend says which)."""

    async def _connect(self) -> None:
        self._store = await run_store(True, self._make_store)
        capabilities = set(_CAPABILITIES)
        if not self._store.has_folders:
            capabilities.discard(Capability.FOLDERS)
        self._capabilities = frozenset(capabilities)

    @property
    def store(self) -> Store:
        """The local store behind this mailbox.

        Raises:
            ConnectionLost: the mailbox is closed.
        """
        if self._store is None:
            raise ConnectionLost("the mailbox is closed")
        return self._store

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        """Run one blocking store operation (in a worker thread on the async side)."""
        return await run_store(self.store.blocking, function, *args)

    async def folders(self) -> list[FolderInfo]:
        """Return every folder: INBOX first, then the others by name.

        Raises:
            ConnectionLost: the mailbox is closed.
        """
        return await self._run(self.store.folders)

    def folder(self, name: str) -> AsyncLocalFolder:
        """Return the folder ``name`` (no I/O: a missing folder raises ``FolderNotFound`` at
        its first operation). ``INBOX`` is matched in any case.

        Raises:
            InvalidArgument: a name this store cannot hold.
            UnsupportedOperation: a folder other than INBOX of a single-folder store.
        """
        store = self.store
        canonical = store.canonical(name)
        if canonical != "INBOX" and not store.has_folders:
            raise self._unsupported(f"open folder {name!r} (it has only INBOX)", "FOLDERS")
        return AsyncLocalFolder(self, canonical)

    async def create_folder(self, name: str) -> None:
        """Create the folder ``name``.

        Raises:
            CommandError: it exists already.
            InvalidArgument: a name this store cannot hold.
            UnsupportedOperation: a single-folder store (capability ``FOLDERS``).
        """
        await self._run(self.store.create_folder, name)

    async def rename_folder(self, old: str, new: str) -> None:
        """Rename folder ``old`` (and its sub-folders) to ``new``; uids stay valid.

        Raises:
            FolderNotFound: ``old`` does not exist.
            CommandError: ``new`` exists, or ``old`` is INBOX.
        """
        await self._run(self.store.rename_folder, old, new)
        self._forget(old)
        self._forget(new)

    async def delete_folder(self, name: str) -> None:
        """Delete the folder ``name`` and its messages.

        Raises:
            FolderNotFound: it does not exist.
            CommandError: it is INBOX, or it has sub-folders.
        """
        await self._run(self.store.delete_folder, name)
        self._forget(name)

    def _forget(self, name: str) -> None:
        store = self.store
        canonical = store.canonical(name)
        for known in list(self._known):
            if known == canonical or (
                store.delimiter is not None and known.startswith(canonical + store.delimiter)
            ):
                del self._known[known]

    async def aclose(self) -> None:
        """Close the mailbox (no I/O: every operation saved its changes). Safe to call more
        than once."""
        self._store = None
