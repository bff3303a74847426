"""The portal adapter: an async-only backend used from the sync API.

unimail's own backends have generated sync twins (``tools/unasync.py``). A plugin backend may
ship only its async class; ``Mailbox.open("eml:...")`` then returns a :class:`PortalMailbox`:
a real ``Mailbox`` subclass that runs the async backend on an event loop in a thread of its
own, through an anyio blocking portal. Every call crosses the portal once (tens of
microseconds); ``search()``, ``fetch()`` and ``watch()`` cross it once per *batch* of results:
the first batch holds a few results (the first one arrives quickly), each next one twice as
many, up to :data:`MAX_BATCH` results or :data:`BATCH_BYTES` of message data. So fetching
10,000 messages takes 16 round trips, not 10,000. ``watch()`` hands over each event as
it comes.

Between two batches the async generator is suspended at a ``yield``, as it is between two
steps of an ``async for``: the loop body may use the mailbox. Unlike the generated twins, the
adapter costs a thread per open mailbox; an operation interrupted by Ctrl-C goes on in that
thread until ``close()`` cancels it; ``progress`` callbacks run in that thread.

The sync registry finds the adapter through ``_portal_registry``; ``_portal_transport`` is the
same for ``Transport``.
"""

from __future__ import annotations

import contextlib
import datetime
import email.message
import functools
import os
from collections.abc import AsyncGenerator, Awaitable, Callable, Collection, Generator, Iterable
from typing import IO, Any, ClassVar, Generic, TypeVar, overload

import anyio
from anyio.from_thread import BlockingPortal, start_blocking_portal

from ._async._folder import AsyncFolder
from ._async._mailbox import AsyncMailbox
from ._errors import ConnectionLost
from ._models import (
    Capability,
    FetchField,
    Flag,
    FolderEvent,
    FolderInfo,
    FolderStatus,
    MessageInfo,
)
from ._options import Options
from ._search import Q
from ._sync._folder import DEFAULT_FIELDS, Folder, Progress, Uid
from ._sync._mailbox import Mailbox

__all__ = ["BATCH_BYTES", "FIRST_BATCH", "MAX_BATCH", "PortalFolder", "PortalMailbox"]

#: Results in the first batch of ``search()`` / ``fetch()``; each next batch doubles.
FIRST_BATCH = 16
#: The most results one batch carries.
MAX_BATCH = 1024
#: A batch ends early once it holds this many bytes of headers and bodies.
BATCH_BYTES = 4 * 1024 * 1024

T = TypeVar("T")


class PortalMailbox(Mailbox):
    """A sync ``Mailbox`` over an async-only backend, run in an event-loop thread.

    ``Mailbox.open(url)`` returns one for a scheme served only by an ``AsyncMailbox``
    subclass (``_portal_registry.portal_class``); :meth:`wrap` makes one from an async
    factory.
    """

    #: The async backend class this adapter runs (set on each class portal_class() makes).
    async_class: ClassVar[type[AsyncMailbox]] = AsyncMailbox
    #: The anyio backend of the event-loop thread: ``"asyncio"`` or ``"trio"``.
    loop_backend: ClassVar[str] = "asyncio"

    def __init__(self, options: Options) -> None:
        """Store ``options``; does no I/O (``Mailbox.open`` connects)."""
        super().__init__(options)
        self._stack = contextlib.ExitStack()
        self._portal: BlockingPortal | None = None
        self._inner: AsyncMailbox | None = None

    @classmethod
    def wrap(
        cls, opener: Callable[[], Awaitable[AsyncMailbox]], *, loop_backend: str = "asyncio"
    ) -> PortalMailbox:
        """Start an event-loop thread, await ``opener()`` in it, and return the sync mailbox.

        Args:
            opener: returns an awaitable of a connected async mailbox, e.g.
                ``lambda: AsyncMailbox.open("eml:/srv/mail")``.
            loop_backend: ``"asyncio"`` or ``"trio"``.

        Whatever ``opener()`` raises propagates; the thread is stopped then.
        """
        stack = contextlib.ExitStack()
        with stack:
            portal = stack.enter_context(start_blocking_portal(loop_backend))
            inner = portal.call(_await, opener)
            box = cls(inner.options)
            box._stack, box._portal, box._inner = stack.pop_all(), portal, inner
            return box

    def _connect(self) -> None:
        portal = self._stack.enter_context(start_blocking_portal(self.loop_backend))
        self._portal = portal
        self._inner = portal.call(self._open_inner)

    async def _open_inner(self) -> AsyncMailbox:
        return await self.async_class(self._options)._open()

    @property
    def async_mailbox(self) -> AsyncMailbox:
        """The async mailbox this adapter runs (use it through :meth:`call`).

        Raises:
            ConnectionLost: the mailbox is closed.
        """
        if self._inner is None:
            raise ConnectionLost("the mailbox is closed")
        return self._inner

    @overload
    def call(self, func: Callable[..., Awaitable[T]], *args: Any) -> T: ...

    @overload
    def call(self, func: Callable[..., T], *args: Any) -> T: ...

    def call(self, func: Callable[..., Any], *args: Any) -> Any:
        """Run ``func(*args)`` in the event-loop thread (awaited if it is async); return its
        result. For what the sync API does not cover: ``box.call(box.async_mailbox.x, 1)``.

        Whatever ``func`` raises propagates.

        Raises:
            ConnectionLost: the mailbox is closed.
        """
        if self._portal is None:
            raise ConnectionLost("the mailbox is closed")
        return self._portal.call(func, *args)

    def _call(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self.call(functools.partial(func, *args, **kwargs))

    def _iterate(
        self, results: AsyncGenerator[T, None], *, first: int, most: int
    ) -> Generator[T, None, None]:
        if self._portal is None:
            raise ConnectionLost("the mailbox is closed")
        pump: _Pump[T] = _Pump(results)
        self._portal.start_task_soon(pump.run)
        size, done = first, False
        try:
            while not done:
                items, done, error = self.call(pump.ask, size)
                yield from items
                if error is not None:
                    raise error
                size = min(size * 2, most)
        finally:
            if not done and self._portal is not None:
                # The caller left the loop early: let the async generator clean up (its
                # finally blocks, an IMAP DONE, ...) before the caller goes on, as aclosing()
                # would.
                self.call(pump.ask, 0)

    @property
    def capabilities(self) -> frozenset[Capability]:
        """What the async backend says it can do."""
        return self._inner.capabilities if self._inner is not None else frozenset()

    def folders(self, **options: Any) -> list[FolderInfo]:
        """Return every folder of the mailbox (see the async backend's ``folders``)."""
        result: list[FolderInfo] = self._call(self.async_mailbox.folders, **options)
        return result

    def folder(self, name: str, **options: Any) -> PortalFolder:
        """Return the folder ``name`` (see the async backend's ``folder``)."""
        inner: AsyncFolder = self._call(self.async_mailbox.folder, name, **options)
        return PortalFolder(self, inner)

    def create_folder(self, name: str, **options: Any) -> None:
        """Create the folder ``name``."""
        self._call(self.async_mailbox.create_folder, name, **options)

    def rename_folder(self, old: str, new: str, **options: Any) -> None:
        """Rename folder ``old`` to ``new``."""
        self._call(self.async_mailbox.rename_folder, old, new, **options)

    def delete_folder(self, name: str, **options: Any) -> None:
        """Delete the folder ``name`` and the messages in it."""
        self._call(self.async_mailbox.delete_folder, name, **options)

    def close(self) -> None:
        """Close the async mailbox, then stop the event-loop thread (cancelling whatever an
        interrupted call left running there). Safe to call more than once."""
        inner, self._inner = self._inner, None
        portal, self._portal = self._portal, None
        try:
            if inner is not None and portal is not None:
                portal.call(inner.aclose)
        finally:
            if portal is not None:
                with contextlib.suppress(RuntimeError):  # already stopped
                    portal.call(portal.stop, True)
            self._stack.close()


class PortalFolder(Folder):
    """A sync ``Folder`` over an async backend's folder; see :class:`PortalMailbox`."""

    _mailbox: PortalMailbox

    def __init__(self, mailbox: PortalMailbox, inner: AsyncFolder) -> None:
        """Wrap ``inner``, a folder of ``mailbox.async_mailbox``; does no I/O."""
        super().__init__(mailbox, inner.name)
        self._inner = inner

    @property
    def async_folder(self) -> AsyncFolder:
        """The async folder this adapter runs (use it through ``mailbox.call``)."""
        return self._inner

    def status(self, **options: Any) -> FolderStatus:
        """Return the folder's counters."""
        result: FolderStatus = self._mailbox._call(self._inner.status, **options)
        return result

    def search(
        self, query: Q | None = None, *, fields: FetchField = DEFAULT_FIELDS, **options: Any
    ) -> Generator[MessageInfo, None, None]:
        """Yield each message matching ``query``, fetched from the loop thread in batches."""
        results = self._mailbox._call(self._inner.search, query, fields=fields, **options)
        return self._mailbox._iterate(results, first=FIRST_BATCH, most=MAX_BATCH)

    def fetch(
        self, uids: Iterable[Uid], fields: FetchField = DEFAULT_FIELDS, **options: Any
    ) -> Generator[MessageInfo, None, None]:
        """Yield the ``fields`` of each of ``uids`` that still exists, in batches."""
        results = self._mailbox._call(self._inner.fetch, uids, fields, **options)
        return self._mailbox._iterate(results, first=FIRST_BATCH, most=MAX_BATCH)

    def get(self, uid: Uid, **options: Any) -> email.message.EmailMessage:
        """Return message ``uid`` parsed with ``email.policy.default``."""
        result: email.message.EmailMessage = self._mailbox._call(self._inner.get, uid, **options)
        return result

    def get_bytes(self, uid: Uid, **options: Any) -> bytes:
        """Return the raw bytes of message ``uid``."""
        result: bytes = self._mailbox._call(self._inner.get_bytes, uid, **options)
        return result

    def download(
        self,
        uid: Uid,
        destination: str | os.PathLike[str] | IO[bytes],
        *,
        progress: Progress | None = None,
        **options: Any,
    ) -> int:
        """Write message ``uid`` to a path or a binary file in chunks; return its size.
        ``progress`` is called in the event-loop thread."""
        inner = self._inner.download
        result: int = self._mailbox._call(inner, uid, destination, progress=progress, **options)
        return result

    def append(
        self,
        message: email.message.Message | bytes,
        *,
        flags: Collection[Flag | str] = (),
        internal_date: datetime.datetime | None = None,
        **options: Any,
    ) -> Uid | None:
        """Store ``message`` in this folder; return its new uid where the backend tells it."""
        inner = self._inner.append
        result: Uid | None = self._mailbox._call(
            inner, message, flags=flags, internal_date=internal_date, **options
        )
        return result

    def add_flags(self, uids: Iterable[Uid], flags: Collection[Flag | str], **options: Any) -> None:
        """Add ``flags`` to each message of ``uids``."""
        self._mailbox._call(self._inner.add_flags, uids, flags, **options)

    def remove_flags(
        self, uids: Iterable[Uid], flags: Collection[Flag | str], **options: Any
    ) -> None:
        """Remove ``flags`` from each message of ``uids``."""
        self._mailbox._call(self._inner.remove_flags, uids, flags, **options)

    def set_flags(self, uids: Iterable[Uid], flags: Collection[Flag | str], **options: Any) -> None:
        """Replace the flags of each message of ``uids`` with ``flags``."""
        self._mailbox._call(self._inner.set_flags, uids, flags, **options)

    def copy(self, uids: Iterable[Uid], destination: str, **options: Any) -> dict[Uid, Uid]:
        """Copy messages to folder ``destination``; return ``{source_uid: new_uid}``."""
        result: dict[Uid, Uid] = self._mailbox._call(self._inner.copy, uids, destination, **options)
        return result

    def move(self, uids: Iterable[Uid], destination: str, **options: Any) -> dict[Uid, Uid]:
        """Move messages to folder ``destination``; return ``{source_uid: new_uid}``."""
        result: dict[Uid, Uid] = self._mailbox._call(self._inner.move, uids, destination, **options)
        return result

    def delete(self, uids: Iterable[Uid], **options: Any) -> None:
        """Remove exactly the messages ``uids``, and no other message."""
        self._mailbox._call(self._inner.delete, uids, **options)

    def watch(
        self, *, timeout: float | None = None, **options: Any
    ) -> Generator[FolderEvent, None, None]:
        """Yield the folder's events, each as soon as the backend yields it."""
        events = self._mailbox._call(self._inner.watch, timeout=timeout, **options)
        return self._mailbox._iterate(events, first=1, most=1)


Batch = tuple[list[T], bool, BaseException | None]


class _Pump(Generic[T]):
    """Runs one async generator in a task of its own, a batch per request.

    Each ``portal.call`` runs in a new task, but an async generator may hold an anyio cancel
    scope across its ``yield`` (a deadline, ``move_on_after(timeout)``), which must be entered
    and left in one task. So the generator stays in this task, and each call only asks it.
    """

    def __init__(self, results: AsyncGenerator[T, None]) -> None:
        self._results = results
        self._send_request, self._requests = anyio.create_memory_object_stream[int]()
        self._send_reply, self._replies = anyio.create_memory_object_stream[Batch[T]](1)

    async def run(self) -> None:
        async with self._send_reply, self._requests:
            try:
                async for size in self._requests:
                    if size <= 0:
                        break  # the caller left the loop: aclose() below, then reply
                    batch = await _pull(self._results, size)
                    await self._send_reply.send(batch)
                    if batch[1]:
                        return
            finally:
                await self._results.aclose()
            await self._send_reply.send(([], True, None))

    async def ask(self, size: int) -> Batch[T]:
        """Ask for up to ``size`` results (0: close the generator); wait for them."""
        try:
            await self._send_request.send(size)
            batch = await self._replies.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            batch = [], True, ConnectionLost("the results were abandoned (mailbox closed)")
        if batch[1]:  # the last batch: the pump has ended
            self._send_request.close()
            self._replies.close()
        return batch


async def _await(opener: Callable[[], Awaitable[T]]) -> T:
    return await opener()


async def _pull(results: AsyncGenerator[T, None], size: int) -> Batch[T]:
    """Take up to ``size`` results (fewer once ``BATCH_BYTES`` of data came); return them,
    whether the generator is exhausted, and the error it raised (after those results)."""
    items: list[T] = []
    weight = 0
    while len(items) < size and weight < BATCH_BYTES:
        try:
            item = await results.__anext__()
        except StopAsyncIteration:
            return items, True, None
        except Exception as exc:  # handed over after the results that came before it
            return items, True, exc
        items.append(item)
        if isinstance(item, MessageInfo):
            weight += len(item.body or b"") + len(item.headers or b"")
    return items, False, None
