"""What every local store provides: folders, and a locked view of one folder at a time.

The generic operations (``_ops``) are written once over these primitives; a store implements
them for its format. A :class:`FolderView` exists for the duration of one operation and holds
the folder's lock all along, so what it reads and writes is consistent even with other
processes working on the same files.
"""

from __future__ import annotations

import abc
import datetime
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import IO, ClassVar, TypeVar

import attrs

from .._errors import InvalidArgument, Timeout
from .._models import FolderInfo, SpecialUse
from ._flags import FlagSet

__all__ = ["Entry", "FolderView", "NewMessage", "Store", "retry_locked", "special_use_of"]

T = TypeVar("T")

#: A message to store: its bytes, its flags and its internal date (None: now).
NewMessage = tuple[bytes, FlagSet, "datetime.datetime | None"]


@attrs.frozen
class Entry:
    """One message of a folder view: its uid, its flags, and the store's handle to it."""

    uid: int
    flags: FlagSet
    ref: object = attrs.field(eq=False)


class FolderView(abc.ABC):
    """One folder, locked, for one operation. Entries are in ascending uid order."""

    uidvalidity: int
    uidnext: int

    @abc.abstractmethod
    def entries(self) -> dict[int, Entry]:
        """Return the folder's messages by uid, ascending."""

    @abc.abstractmethod
    def size(self, entry: Entry) -> int:
        """Return the size of the message in bytes."""

    @abc.abstractmethod
    def internal_date(self, entry: Entry) -> datetime.datetime:
        """Return when the message was stored (aware)."""

    @abc.abstractmethod
    def open(self, entry: Entry) -> tuple[IO[bytes], int]:
        """Return a binary file positioned at the message's first byte, and its size. Reading
        ``size`` bytes from it gives the message; the caller closes it (also after the view
        ended: the bytes it gives stay those of the message)."""

    def read(self, entry: Entry, *, limit: int | None = None) -> bytes:
        """Return the message's bytes (the first ``limit`` at most)."""
        file, size = self.open(entry)
        with file:
            return file.read(size if limit is None else min(size, limit))

    @abc.abstractmethod
    def add(self, raw: bytes, flags: FlagSet, internal_date: datetime.datetime | None) -> Entry:
        """Store a new message; return its entry (with its new uid)."""

    def add_many(self, items: Sequence[NewMessage]) -> list[Entry]:
        """Store new messages, in order; return their entries. Stores override this where a
        batch is cheaper than one message at a time (Maildir: one sync of the directory)."""
        return [self.add(raw, flags, when) for raw, flags, when in items]

    @abc.abstractmethod
    def set_flags(self, entry: Entry, flags: FlagSet) -> Entry:
        """Replace the flags of a message; return its new entry."""

    @abc.abstractmethod
    def remove(self, entries: list[Entry]) -> None:
        """Remove these messages (and no other)."""


class Store(abc.ABC):
    """A local mailbox: a set of folders in one format."""

    #: False when operations never block (memory): they then run on the event loop itself.
    blocking: ClassVar[bool] = True
    #: The hierarchy delimiter of folder names, None for a flat list.
    delimiter: ClassVar[str | None] = None
    #: False for a store with only INBOX (one mbox file).
    has_folders: bool = True

    def __init__(self, *, lock_timeout: float | None) -> None:
        """Remember how long to wait for another process's lock (None: forever)."""
        self.lock_timeout = lock_timeout

    @abc.abstractmethod
    def view(self, folder: str) -> AbstractContextManager[FolderView]:
        """Open and lock ``folder`` for one operation.

        Raises:
            FolderNotFound: no such folder.
            Timeout: another process held the lock for longer than ``lock_timeout``.
        """

    @abc.abstractmethod
    def folder_names(self) -> list[str]:
        """Return the names of every folder, INBOX first."""

    @abc.abstractmethod
    def create_folder(self, name: str) -> None:
        """Create an empty folder (CommandError when it exists)."""

    @abc.abstractmethod
    def rename_folder(self, old: str, new: str) -> None:
        """Rename a folder and its sub-folders."""

    @abc.abstractmethod
    def delete_folder(self, name: str) -> None:
        """Delete a folder without sub-folders, with its messages."""

    def folders(self) -> list[FolderInfo]:
        """Return every folder, as ``Mailbox.folders()`` lists them."""
        names = self.folder_names()
        delimiter = self.delimiter
        infos = []
        for name in names:
            attributes: frozenset[str] = frozenset()
            if delimiter is not None:
                children = any(n.startswith(name + delimiter) for n in names)
                attributes = frozenset({"\\HasChildren" if children else "\\HasNoChildren"})
            infos.append(
                FolderInfo(
                    name=name,
                    delimiter=delimiter,
                    attributes=attributes,
                    special_use=special_use_of(name),
                )
            )
        return infos

    def canonical(self, name: str) -> str:
        """Return the folder name as stored: INBOX in any case is ``INBOX``.

        Raises:
            InvalidArgument: not a str, empty, or holding control characters.
        """
        if not isinstance(name, str) or not name:
            raise InvalidArgument(f"a folder name is a non-empty str, got {name!r}")
        if any(c < "\x20" or c == "\x7f" for c in name):
            raise InvalidArgument(f"folder name {name!r} holds control characters")
        return "INBOX" if name.upper() == "INBOX" else name


_SPECIAL = {
    "archive": SpecialUse.ARCHIVE,
    "drafts": SpecialUse.DRAFTS,
    "junk": SpecialUse.JUNK,
    "spam": SpecialUse.JUNK,
    "sent": SpecialUse.SENT,
    "sent messages": SpecialUse.SENT,
    "trash": SpecialUse.TRASH,
}


def special_use_of(name: str) -> SpecialUse | None:
    """Return the role a top-level folder's usual name implies (``Sent``, ``Trash``...): local
    stores have no other place to keep it, and mail clients use these names."""
    return _SPECIAL.get(name.lower())


def retry_locked(
    attempt: Callable[[], T], busy: type[BaseException], timeout: float | None, what: str
) -> T:
    """Call ``attempt`` until it stops raising ``busy`` (another process holds a lock).

    Raises:
        Timeout: the lock was still held after ``timeout`` seconds.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    for delay in _delays():
        try:
            return attempt()
        except busy:
            if deadline is not None and time.monotonic() + delay > deadline:
                raise Timeout(f"{what} stayed locked by another process") from None
            time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover - _delays() never ends


def _delays() -> Iterator[float]:
    delay = 0.005
    while True:
        yield delay
        delay = min(delay * 2, 0.2)
