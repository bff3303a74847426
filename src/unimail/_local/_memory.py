"""The ``memory:NAME`` store: folders of messages in this process, shared by name.

Every mailbox opened on ``memory:NAME`` (async or sync, in any thread) sees the same store,
so a test can deliver with one object and read with another; ``memory:`` with no name opens a
new private store. Operations never block: they run on the event loop itself, under a
``threading.Lock`` (held only for the operation's few dictionary updates).
"""

from __future__ import annotations

import datetime
import io
import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, ClassVar

import attrs

from .._errors import CommandError, FolderNotFound, InvalidArgument
from ._flags import FlagSet
from ._view import Entry, FolderView, Store

__all__ = ["MemoryStore"]

_stores: dict[str, MemoryStore] = {}
_stores_lock = threading.Lock()
# UIDVALIDITY values: unique within the process, so that a folder deleted and created again
# never reuses its uids' validity.
_validity = itertools.count(int(time.time()))


@attrs.frozen
class _Message:
    raw: bytes
    flags: FlagSet
    internal_date: datetime.datetime


@attrs.define
class _Folder:
    uidvalidity: int
    uidnext: int = 1
    # uid -> entry (whose ref is the _Message), kept as entries() returns it: no copy per look.
    messages: dict[int, Entry] = attrs.field(factory=dict)


class _MemoryView(FolderView):
    def __init__(self, folder: _Folder) -> None:
        self._folder = folder
        self.uidvalidity = folder.uidvalidity
        self.uidnext = folder.uidnext

    def entries(self) -> dict[int, Entry]:
        return self._folder.messages

    def _message(self, entry: Entry) -> _Message:
        assert isinstance(entry.ref, _Message)  # made by entries()
        return entry.ref

    def size(self, entry: Entry) -> int:
        return len(self._message(entry).raw)

    def internal_date(self, entry: Entry) -> datetime.datetime:
        return self._message(entry).internal_date

    def open(self, entry: Entry) -> tuple[IO[bytes], int]:
        raw = self._message(entry).raw
        return io.BytesIO(raw), len(raw)

    def read(self, entry: Entry, *, limit: int | None = None) -> bytes:
        raw = self._message(entry).raw
        return raw if limit is None else raw[:limit]

    def add(self, raw: bytes, flags: FlagSet, internal_date: datetime.datetime | None) -> Entry:
        when = internal_date or datetime.datetime.now(datetime.timezone.utc)
        message = _Message(raw, flags, when.replace(microsecond=0))
        uid = self._folder.uidnext
        entry = self._folder.messages[uid] = Entry(uid, flags, message)
        self._folder.uidnext = self.uidnext = uid + 1
        return entry

    def set_flags(self, entry: Entry, flags: FlagSet) -> Entry:
        message = attrs.evolve(self._message(entry), flags=flags)
        changed = self._folder.messages[entry.uid] = Entry(entry.uid, flags, message)
        return changed

    def remove(self, entries: list[Entry]) -> None:
        for entry in entries:
            self._folder.messages.pop(entry.uid, None)


class MemoryStore(Store):
    """Folders in memory; see the module docstring."""

    blocking: ClassVar[bool] = False
    delimiter: ClassVar[str | None] = "/"

    def __init__(self) -> None:
        """Make an empty store with an empty INBOX."""
        super().__init__(lock_timeout=None)
        self._lock = threading.RLock()  # a transfer holds two views of the store at once
        self._folders: dict[str, _Folder] = {"INBOX": _Folder(next(_validity))}

    @classmethod
    def named(cls, name: str) -> MemoryStore:
        """Return the store called ``name`` (made on first use); a new one for ``""``."""
        if not name:
            return cls()
        with _stores_lock:
            store = _stores.get(name)
            if store is None:
                store = _stores[name] = cls()
            return store

    @staticmethod
    def discard(name: str) -> None:
        """Forget the store called ``name``: the next ``memory:NAME`` starts empty."""
        with _stores_lock:
            _stores.pop(name, None)

    def canonical(self, name: str) -> str:
        """Return the stored name; the delimiter may not start, end or double a name."""
        name = super().canonical(name)
        if name.startswith("/") or name.endswith("/") or "//" in name:
            raise InvalidArgument(f"folder name {name!r} has an empty level")
        return name

    @contextmanager
    def view(self, folder: str) -> Iterator[FolderView]:
        """Lock the store and return the folder's view."""
        name = self.canonical(folder)
        with self._lock:
            found = self._folders.get(name)
            if found is None:
                raise FolderNotFound(f"no folder named {folder!r}", code="NO")
            yield _MemoryView(found)

    def folder_names(self) -> list[str]:
        """Return the folder names, INBOX first."""
        with self._lock:
            return ["INBOX", *sorted(n for n in self._folders if n != "INBOX")]

    def create_folder(self, name: str) -> None:
        """Create an empty folder."""
        name = self.canonical(name)
        with self._lock:
            if name in self._folders:
                raise CommandError(f"folder {name!r} already exists", code="NO")
            self._folders[name] = _Folder(next(_validity))

    def rename_folder(self, old: str, new: str) -> None:
        """Rename a folder and its sub-folders (keeping their uids)."""
        old, new = self.canonical(old), self.canonical(new)
        with self._lock:
            if old not in self._folders:
                raise FolderNotFound(f"no folder named {old!r}", code="NO")
            if old == "INBOX":
                raise CommandError("INBOX cannot be renamed here", code="NO")
            if new in self._folders:
                raise CommandError(f"folder {new!r} already exists", code="NO")
            for name in [n for n in self._folders if n == old or n.startswith(old + "/")]:
                self._folders[new + name[len(old) :]] = self._folders.pop(name)

    def delete_folder(self, name: str) -> None:
        """Delete a folder without sub-folders."""
        name = self.canonical(name)
        with self._lock:
            if name not in self._folders:
                raise FolderNotFound(f"no folder named {name!r}", code="NO")
            if name == "INBOX":
                raise CommandError("INBOX cannot be deleted", code="NO")
            if any(n.startswith(name + "/") for n in self._folders):
                raise CommandError(f"folder {name!r} has sub-folders", code="NO")
            del self._folders[name]
