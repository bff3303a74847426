"""The ``mbox:PATH`` store, on the standard library's ``mailbox`` module.

``PATH`` names either one mbox file, which is the mailbox's only folder (INBOX; no
``FOLDERS`` capability), or a directory whose regular files are its folders (``INBOX`` is the
file ``PATH/INBOX``; names are flat, without a hierarchy), as mutt and Dovecot arrange them.

Every operation holds the ``mailbox`` module's lock on the file (``lockf`` and a ``.lock`` dot
file, which other programs using the module, mutt and procmail respect) from its first read to
its last write, and waits (up to the mailbox's ``timeout``) while another process holds it. An
operation that changes the file rewrites it as the module does (a new file renamed over the old
one) before unlocking. Within this process a per-file lock orders the operations first, since
POSIX ``lockf`` locks do not exclude threads of one process.

State is kept in each message's header, as Dovecot and mutt keep it: ``X-UID`` (the uid),
``Status`` (``R`` seen, ``O`` old), ``X-Status`` (``A`` answered, ``F`` flagged, ``T``
draft, ``D`` deleted) and ``X-Keywords``. These fields are taken out of what ``get_bytes()``
returns and of the size. UIDVALIDITY and the next uid are in ``.<name>.unimail-uids`` beside
the file; a message found without a valid ``X-UID`` (delivered by another program) is given
one, which rewrites the file. The internal date is the date of the ``From`` line.

Lines are quoted the mboxrd way, so that every message reads back byte for byte: a line
starting ``From ``, ``>From ``, ``>>From ``... is stored with one more ``>``, and one ``>`` is
taken off when it is read. (The ``mailbox`` module alone quotes only ``From `` lines, the
mboxo way, which cannot tell a quoted ``From `` from a real ``>From `` line.) The one loss the
format cannot avoid: a message not ending with a newline gets one.

This module holds the store and its folder view; what one stored message looks like (state
fields, quoting, ``From`` line) is written and read by ``_mbox_format``.
"""

from __future__ import annotations

import datetime
import mailbox
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, ClassVar

import attrs

from .._errors import CommandError, FolderNotFound, InvalidArgument, Timeout, UnsupportedOperation
from .._proto.pop3._message import header_block
from ._flags import FlagSet
from ._mbox_format import (
    compose,
    count_quoted,
    date_of,
    flags_of,
    from_line_at,
    split_managed,
    unquote,
    unquoted_lines,
)
from ._message import read_header_block
from ._uidlist import next_uidvalidity, write_atomically
from ._view import Entry, FolderView, Store, retry_locked

__all__ = ["MboxStore", "split_managed"]

_HEADER_LIMIT = 1024 * 1024
_SPOOL = 1024 * 1024  # a message opened for reading is copied to memory up to this size
_path_locks: dict[str, threading.Lock] = {}
_path_locks_guard = threading.Lock()


def _path_lock(path: str) -> threading.Lock:
    with _path_locks_guard:
        return _path_locks.setdefault(path, threading.Lock())


@attrs.frozen
class _Ref:
    key: str
    from_line: bytes
    stored: int  # bytes after the From line, managed fields left out (quoting included)
    date: datetime.datetime
    size: int | None = None  # the message's own size, when known without reading it


class _MboxView(FolderView):
    def __init__(self, store: MboxStore, box: mailbox.mbox, path: str) -> None:
        self._box = box
        self._path = path
        self._sidecar = store.sidecar_of(path)
        self._dirty = False
        try:
            with open(self._sidecar, encoding="ascii") as file:
                validity, uidnext = (int(v) for v in file.read().split())
        except (OSError, ValueError):
            validity, uidnext = next_uidvalidity(store.directory, store.lock_timeout,
                                                 name=".unimail-uidvalidity"), 1  # fmt: skip
            self._dirty = True
        self.uidvalidity, self.uidnext = validity, uidnext
        # Scanned when first needed (an append needs only the next uid), except when the
        # sidecar was lost: the next uid must then come after every X-UID in the file.
        self._entries: dict[int, Entry] | None = self._scan() if self._dirty else None

    def _scan(self) -> dict[int, Entry]:
        found: list[tuple[int | None, FlagSet, _Ref]] = []
        default_date = datetime.datetime.fromtimestamp(
            int(os.path.getmtime(self._path)), datetime.timezone.utc
        )
        for key in self._box.iterkeys():
            file = self._box.get_file(key, from_=True)
            from_line = file.readline()
            header = read_header_block(file, _HEADER_LIMIT)
            file.seek(0, 2)
            total = file.tell()
            stripped, values = split_managed(header)
            size = total - len(from_line) - (len(header) - len(stripped))
            ref = _Ref(key, from_line, size, date_of(from_line) or default_date)
            uid_text = values.get(b"x-uid", b"")
            uid = int(uid_text) if uid_text.isdigit() and 0 < int(uid_text) < 2**32 else None
            found.append((uid, flags_of(values), ref))
        known = [uid for uid, _, _ in found if uid is not None]
        if self._dirty and known:
            self.uidnext = max(self.uidnext, max(known) + 1)  # a lost sidecar: keep the X-UIDs
        entries: dict[int, Entry] = {}
        for uid, flags, ref in found:
            if uid is None or uid >= self.uidnext or uid in entries:
                # No X-UID, or one this folder never gave (a copied file): a new uid, written.
                uid = self._next_uid()
                ref = self._store_state(ref, uid, flags)
            entries[uid] = Entry(uid, flags, ref)
        return dict(sorted(entries.items()))

    def _next_uid(self) -> int:
        uid = self.uidnext
        self.uidnext += 1
        self._dirty = True
        return uid

    def _store_state(self, ref: _Ref, uid: int, flags: FlagSet) -> _Ref:
        raw = self._raw(ref)
        self._box[ref.key] = compose(ref.from_line, raw, uid, flags)
        return ref

    def _raw(self, ref: _Ref) -> bytes:
        data = self._box.get_bytes(ref.key)
        header = header_block(data)
        return unquote(split_managed(header)[0] + data[len(header) :])

    def save(self) -> None:
        """Write the file (if changed) and the sidecar, while still locked."""
        self._box.flush()
        if self._dirty:
            write_atomically(self._sidecar, f"{self.uidvalidity} {self.uidnext}\n".encode())
            self._dirty = False

    def entries(self) -> dict[int, Entry]:
        if self._entries is None:
            self._entries = self._scan()
        return self._entries

    def _ref(self, entry: Entry) -> _Ref:
        assert isinstance(entry.ref, _Ref)  # made by _scan or add
        return entry.ref

    def size(self, entry: Entry) -> int:
        ref = self._ref(entry)
        if ref.size is None:
            # The stored size less one byte per quoted line: counted line by line.
            source = self._box.get_file(ref.key)
            header = read_header_block(source, _HEADER_LIMIT)
            source.seek(len(header))
            quoted = count_quoted(source)
            ref = attrs.evolve(ref, size=ref.stored - quoted)
            self.entries()[entry.uid] = Entry(entry.uid, entry.flags, ref)
        assert ref.size is not None  # computed above
        return ref.size

    def internal_date(self, entry: Entry) -> datetime.datetime:
        return self._ref(entry).date

    def read(self, entry: Entry, *, limit: int | None = None) -> bytes:
        raw = self._raw(self._ref(entry))
        return raw if limit is None else raw[:limit]

    def open(self, entry: Entry) -> tuple[IO[bytes], int]:
        # A copy (in memory up to _SPOOL, on disk beyond), so that reading it needs no lock.
        source = self._box.get_file(self._ref(entry).key)
        header = read_header_block(source, _HEADER_LIMIT)
        copy = tempfile.SpooledTemporaryFile(max_size=_SPOOL)  # noqa: SIM115 - caller closes
        try:
            copy.write(split_managed(header)[0])
            source.seek(len(header))
            for piece in unquoted_lines(source):
                copy.write(piece)
            size = copy.tell()
            copy.seek(0)
        except BaseException:
            copy.close()
            raise
        return copy, size

    def add(self, raw: bytes, flags: FlagSet, internal_date: datetime.datetime | None) -> Entry:
        if raw.startswith(b"From "):
            raw = raw.partition(b"\n")[2]  # an mbox envelope line, not a header field
        header = header_block(raw)
        raw = split_managed(header)[0] + raw[len(header) :]
        when = internal_date or datetime.datetime.now(datetime.timezone.utc)
        from_line = from_line_at(when)
        uid = self._next_uid()
        key = self._box.add(compose(from_line, raw, uid, flags))
        size = len(raw) + (0 if raw.endswith(b"\n") else 1)  # mailbox adds a final newline
        ref = _Ref(str(key), from_line, size, date_of(from_line) or when, size)
        entry = Entry(uid, flags, ref)
        if self._entries is not None:
            self._entries[uid] = entry
        return entry

    def set_flags(self, entry: Entry, flags: FlagSet) -> Entry:
        ref = self._store_state(self._ref(entry), entry.uid, flags)
        changed = self.entries()[entry.uid] = Entry(entry.uid, flags, ref)
        return changed

    def remove(self, entries: list[Entry]) -> None:
        for entry in entries:
            self._box.discard(self._ref(entry).key)
            self.entries().pop(entry.uid, None)


class MboxStore(Store):
    """One mbox file, or a directory of them; see the module docstring."""

    delimiter: ClassVar[str | None] = None

    def __init__(self, path: str, *, lock_timeout: float | None) -> None:
        """Use the mbox file or directory at ``path`` (a missing file is created when first
        written)."""
        super().__init__(lock_timeout=lock_timeout)
        self.path = os.path.abspath(os.path.expanduser(path))
        self.has_folders = os.path.isdir(self.path)
        self.directory = self.path if self.has_folders else os.path.dirname(self.path)

    def canonical(self, name: str) -> str:
        """Return the stored name; refuse names that are not plain file names."""
        name = super().canonical(name)
        if "/" in name or name.startswith(".") or name.endswith(".lock"):
            raise InvalidArgument(f"folder name {name!r} is not an mbox file name")
        return name

    def path_of(self, name: str) -> str:
        """Return the file of folder ``name``.

        Raises:
            FolderNotFound: a folder other than INBOX in a single-file store.
        """
        name = self.canonical(name)
        if not self.has_folders:
            if name != "INBOX":
                raise FolderNotFound(f"no folder named {name!r} (one mbox file)", code="NO")
            return self.path
        return os.path.join(self.path, name)

    def sidecar_of(self, path: str) -> str:
        """Return where the folder at ``path`` keeps its UIDVALIDITY and next uid."""
        return os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.unimail-uids")

    @contextmanager
    def view(self, folder: str) -> Iterator[FolderView]:
        """Lock the file (waiting for other holders) and return its view."""
        path = self.path_of(folder)
        if self.canonical(folder) != "INBOX" and not os.path.isfile(path):
            raise FolderNotFound(f"no folder named {folder!r}", code="NO")
        with self._thread_lock(path):
            box = mailbox.mbox(path, create=True)
            try:
                retry_locked(box.lock, mailbox.ExternalClashError, self.lock_timeout,
                             f"the mbox file {path!r}")  # fmt: skip
                view = _MboxView(self, box, path)
                try:
                    yield view
                finally:
                    view.save()
            finally:
                box.close()  # also unlocks

    @contextmanager
    def _thread_lock(self, path: str) -> Iterator[None]:
        """Hold this process's lock on ``path``, waiting at most ``lock_timeout`` (two threads
        moving messages in opposite directions get a Timeout, not a deadlock)."""
        lock = _path_lock(path)
        timeout = -1 if self.lock_timeout is None else self.lock_timeout
        if not lock.acquire(timeout=timeout):
            raise Timeout(f"the mbox file {path!r} stayed locked by another thread")
        try:
            yield
        finally:
            lock.release()

    def folder_names(self) -> list[str]:
        """Return INBOX and, in a directory, its other regular files."""
        if not self.has_folders:
            return ["INBOX"]
        names = [
            name
            for name in os.listdir(self.path)
            if not name.startswith(".") and not name.endswith(".lock") and name != "INBOX"
            and os.path.isfile(os.path.join(self.path, name))
        ]  # fmt: skip
        return ["INBOX", *sorted(names)]

    def _folders_needed(self) -> None:
        if not self.has_folders:
            raise UnsupportedOperation(
                "this mbox mailbox is one file: it has no other folders (open a directory)",
                capability="FOLDERS",
            )

    def create_folder(self, name: str) -> None:
        """Create an empty mbox file."""
        self._folders_needed()
        path = self.path_of(name)
        if self.canonical(name) == "INBOX" and not os.path.exists(path):
            open(path, "xb").close()
            return
        try:
            open(path, "xb").close()
        except FileExistsError:
            raise CommandError(f"folder {name!r} already exists", code="NO") from None

    def rename_folder(self, old: str, new: str) -> None:
        """Rename an mbox file (and its sidecar: the uids stay valid)."""
        self._folders_needed()
        source, target = self.path_of(old), self.path_of(new)
        if "INBOX" in (self.canonical(old), self.canonical(new)):
            raise CommandError("INBOX cannot be renamed here", code="NO")
        if not os.path.isfile(source):
            raise FolderNotFound(f"no folder named {old!r}", code="NO")
        if os.path.exists(target):
            raise CommandError(f"folder {new!r} already exists", code="NO")
        with self._thread_lock(source):
            os.rename(source, target)
            if os.path.exists(self.sidecar_of(source)):
                os.rename(self.sidecar_of(source), self.sidecar_of(target))

    def delete_folder(self, name: str) -> None:
        """Delete an mbox file and its sidecar."""
        self._folders_needed()
        path = self.path_of(name)
        if self.canonical(name) == "INBOX":
            raise CommandError("INBOX cannot be deleted", code="NO")
        if not os.path.isfile(path):
            raise FolderNotFound(f"no folder named {name!r}", code="NO")
        with self._thread_lock(path):
            os.unlink(path)
            if os.path.exists(self.sidecar_of(path)):
                os.unlink(self.sidecar_of(path))
