"""The ``maildir:PATH`` store: Maildir++ folders (https://cr.yp.to/proto/maildir.html).

Layout, as Dovecot and Courier use it: ``PATH`` is INBOX (``cur/``, ``new/``, ``tmp/``), and
the folder ``Archive.2024`` is the directory ``PATH/.Archive.2024`` (``.`` is the hierarchy
delimiter; names are stored in IMAP's modified UTF-7, as Dovecot stores them). A message is one
file ``cur/<unique>:2,<info>`` whose info letters are its flags (``D`` draft, ``F`` flagged,
``R`` answered, ``S`` seen, ``T`` deleted); keywords are the letters ``a``-``z`` of Dovecot's
``dovecot-keywords`` file (26 per folder at most, as in Dovecot).

- Delivery is atomic: the message is written to ``tmp/``, synced, then renamed into ``cur/``:
  a crash leaves at most a file in ``tmp/``, which no reader looks at (and which is removed
  after 36 hours, as the format asks). Mail that other programs deliver to ``new/`` is moved to
  ``cur/`` the first time a folder is looked at.
- Uids are stable across sessions and processes: see ``_uidlist``.
- The internal date is the file's modification time (as Dovecot reads it).
"""

from __future__ import annotations

import datetime
import itertools
import os
import secrets
import shutil
import socket
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import IO, ClassVar

import attrs

from .._errors import CommandError, FolderNotFound, InvalidArgument, UnsupportedOperation
from .._models import Flag
from .._proto.imap._mutf7 import decode_mutf7, encode_mutf7
from ._flags import FlagSet, from_letters, to_letters
from ._uidlist import UidList, folder_lock, next_uidvalidity, write_atomically
from ._view import Entry, FolderView, NewMessage, Store

__all__ = ["MaildirStore", "make_maildir"]

_KEYWORDS = "dovecot-keywords"
_STALE_TMP = 36 * 3600  # seconds after which a file in tmp/ is an abandoned delivery
# A directory stamp this much older than the listing that read it is trusted (racy-git rule):
# two seconds covers the coarsest timestamps of the file systems in use (FAT, HFS+: 1-2 s).
_RACY = 2_000_000_000
_counter = itertools.count(1)


def make_maildir(path: str, *, subfolder: bool = False) -> None:
    """Create the directories of a Maildir at ``path`` (those missing)."""
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(path, sub), mode=0o700, exist_ok=True)
    if subfolder:
        # Maildir++: a sub-folder holds an empty "maildirfolder" file (Courier, Dovecot).
        open(os.path.join(path, "maildirfolder"), "ab").close()


def _unique_name() -> str:
    # time.MusecPpidQcounterRrandom.host, the form of the Maildir specification (Dovecot too);
    # "/" and ":" cannot appear in the host part.
    now = time.time()
    host = socket.gethostname().replace("/", "\\057").replace(":", "\\072")
    usec = int(now * 1e6) % 1_000_000
    return f"{int(now)}.M{usec}P{os.getpid()}Q{next(_counter)}R{secrets.token_hex(4)}.{host}"


@attrs.frozen
class _Listing:
    """What ``cur/`` held at one look: reused while the directories' stamps are unchanged."""

    stamps: tuple[int, int]  # st_mtime_ns of new/ and cur/, taken before the listing
    names: dict[str, str] = attrs.field(eq=False)  # unique name -> file name in cur/
    trusted: bool  # False when a stamp was too recent to rule out a change in the same tick


def _split(name: str) -> tuple[str, str]:
    """Return the unique part and the info letters of a file name in ``cur/``."""
    key, _, info = name.partition(":")
    return key, info[2:] if info.startswith("2,") else ""


class _MaildirView(FolderView):
    def __init__(self, store: MaildirStore, path: str) -> None:
        self._store = store
        self._path = path
        self._cur = os.path.join(path, "cur")
        self._uidlist = store.uidlists[path] = UidList.load(
            path,
            lambda: next_uidvalidity(store.root, store.lock_timeout),
            store.uidlists.get(path),
        )
        self._letters = self._read_keywords()
        self._keywords_dirty = False
        # Scanned when first needed: an append needs only the uid list, not the listing.
        self._entries: dict[int, Entry] | None = None
        self.uidvalidity = self._uidlist.uidvalidity
        self.uidnext = self._uidlist.uidnext

    def _read_keywords(self) -> dict[str, str]:
        """Return keyword -> letter from ``dovecot-keywords`` (lines ``<index> <keyword>``)."""
        letters: dict[str, str] = {}
        try:
            with open(os.path.join(self._path, _KEYWORDS), encoding="utf-8") as file:
                for line in file:
                    index, _, keyword = line.strip().partition(" ")
                    if index.isdigit() and int(index) < 26 and keyword:
                        letters[keyword] = chr(ord("a") + int(index))
        except (OSError, UnicodeDecodeError):
            pass
        return letters

    def _list(self) -> dict[str, str]:
        """Return the unique name -> file name of every message in ``cur/`` (moving what
        other programs delivered to ``new/`` first); the last listing is reused while
        neither directory changed since (see :class:`_Listing`)."""
        new = os.path.join(self._path, "new")
        stamps = (os.stat(new).st_mtime_ns, os.stat(self._cur).st_mtime_ns)
        cached = self._store.listings.get(self._path)
        if cached is not None and cached.trusted and cached.stamps == stamps:
            return cached.names
        started = time.time_ns()
        moved = False
        for name in os.listdir(new):
            if not name.startswith("."):
                target = name if ":" in name else name + ":2,"
                with suppress(FileNotFoundError):  # another reader moved it first
                    os.rename(os.path.join(new, name), os.path.join(self._cur, target))
                    moved = True
        if moved:
            stamps = (os.stat(new).st_mtime_ns, os.stat(self._cur).st_mtime_ns)
        self._store.clean_tmp(self._path)
        # The stamps were taken before the names were read: a change made while they are read
        # changes a stamp later, unless it falls in the same clock tick as a stamp; a stamp
        # older than _RACY cannot share its tick with anything done after it.
        names = {_split(n)[0]: n for n in os.listdir(self._cur) if not n.startswith(".")}
        trusted = max(stamps) < started - _RACY
        self._store.listings[self._path] = _Listing(stamps, names, trusted)
        return names

    def _scan(self) -> dict[int, Entry]:
        keywords = {letter: keyword for keyword, letter in self._letters.items()}
        names = self._list()
        uids = self._uidlist
        for key in [k for k in uids.uids if k not in names]:
            uids.drop(key)
        fresh = [k for k in names if k not in uids.uids]
        if fresh:
            fresh.sort(key=lambda k: (self._mtime(names[k]), k))
            for key in fresh:
                uids.add(key)
        ordered = sorted((uids.uids[key], key) for key in names)
        return {
            uid: Entry(uid, from_letters(_split(names[key])[1], keywords)[0], names[key])
            for uid, key in ordered
        }

    def _mtime(self, name: str) -> float:
        try:
            return os.stat(os.path.join(self._cur, name)).st_mtime
        except FileNotFoundError:
            return 0.0

    def save(self) -> None:
        """Write the uid list and keywords if they changed (before the lock is let go)."""
        self._save_keywords()
        self._uidlist.save(self._path)

    def _save_keywords(self) -> None:
        if self._keywords_dirty:
            lines = sorted((ord(letter) - ord("a"), k) for k, letter in self._letters.items())
            data = "".join(f"{index} {keyword}\n" for index, keyword in lines)
            write_atomically(os.path.join(self._path, _KEYWORDS), data.encode())
            self._keywords_dirty = False

    def entries(self) -> dict[int, Entry]:
        if self._entries is None:
            self._entries = self._scan()
            self.uidnext = self._uidlist.uidnext
        return self._entries

    def _file(self, entry: Entry) -> str:
        assert isinstance(entry.ref, str)  # a file name in cur/, set by _scan
        return os.path.join(self._cur, entry.ref)

    def size(self, entry: Entry) -> int:
        return os.stat(self._file(entry)).st_size

    def internal_date(self, entry: Entry) -> datetime.datetime:
        stamp = int(os.stat(self._file(entry)).st_mtime)
        return datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc)

    def open(self, entry: Entry) -> tuple[IO[bytes], int]:
        file = open(self._file(entry), "rb")  # noqa: SIM115 - the caller closes it
        return file, os.fstat(file.fileno()).st_size

    def _info(self, flags: FlagSet, kept: str) -> str:
        new = sorted(f for f in flags if not isinstance(f, Flag) and f not in self._letters)
        for keyword in new:
            used = set(self._letters.values())
            free = next((chr(c) for c in range(ord("a"), ord("z") + 1) if chr(c) not in used), None)
            if free is None:
                raise UnsupportedOperation(
                    "a Maildir folder holds at most 26 keywords", capability="KEYWORDS"
                )
            self._letters[keyword] = free
            self._keywords_dirty = True
        return to_letters(flags, kept, self._letters)

    def add(self, raw: bytes, flags: FlagSet, internal_date: datetime.datetime | None) -> Entry:
        return self.add_many([(raw, flags, internal_date)])[0]

    def add_many(self, items: Sequence[NewMessage]) -> list[Entry]:
        """Deliver a batch: each file written to ``tmp/`` and synced; then the uids recorded
        (one append to the uid list, one fsync) and the keywords file written; then every file
        renamed into ``cur/``; then ``cur/`` synced once. A crash leaves each message either
        in ``cur/`` with its uid on disk, or invisible (in ``tmp/``, or nowhere)."""
        made: list[tuple[str, str, FlagSet]] = []  # unique name, file name in cur/, flags
        renamed = 0
        try:
            for raw, flags, internal_date in items:
                key = _unique_name()
                made.append((key, f"{key}:2,{self._info(flags, '')}", flags))
                temporary = os.path.join(self._path, "tmp", key)
                with open(temporary, "xb") as file:
                    file.write(raw)
                    file.flush()
                    if internal_date is not None:
                        stamp = internal_date.timestamp()
                        os.utime(temporary, (stamp, stamp))
                    os.fsync(file.fileno())  # the bytes and the date
            uids = [self._uidlist.add(key) for key, _, _ in made]
            self._uidlist.save(self._path)
            self._save_keywords()
            for key, name, _ in made:
                os.rename(os.path.join(self._path, "tmp", key), os.path.join(self._cur, name))
                renamed += 1
        except BaseException:
            for key, _, _ in made[renamed:]:
                with suppress(OSError):
                    os.unlink(os.path.join(self._path, "tmp", key))
            raise
        _sync_directory(self._cur)
        self.uidnext = self._uidlist.uidnext
        entries = [Entry(u, flags, name) for u, (_, name, flags) in zip(uids, made, strict=True)]
        if self._entries is not None:
            self._entries.update((entry.uid, entry) for entry in entries)
        return entries

    def set_flags(self, entry: Entry, flags: FlagSet) -> Entry:
        assert isinstance(entry.ref, str)  # a file name in cur/
        key, info = _split(entry.ref)
        kept = from_letters(info, {v: k for k, v in self._letters.items()})[1]
        name = f"{key}:2,{self._info(flags, kept)}"
        self._store.listings.pop(self._path, None)
        try:
            os.rename(self._file(entry), os.path.join(self._cur, name))
        except FileNotFoundError:
            return entry  # removed or renamed by another program meanwhile: nothing to change
        changed = self.entries()[entry.uid] = Entry(entry.uid, flags, name)
        return changed

    def remove(self, entries: list[Entry]) -> None:
        self._store.listings.pop(self._path, None)
        for entry in entries:
            with suppress(FileNotFoundError):
                os.unlink(self._file(entry))
            assert isinstance(entry.ref, str)
            self._uidlist.drop(_split(entry.ref)[0])
            self.entries().pop(entry.uid, None)


def _sync_directory(path: str) -> None:
    # The rename is durable only once the directory itself is on disk.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class MaildirStore(Store):
    """A Maildir++ tree; see the module docstring."""

    delimiter: ClassVar[str | None] = "."

    def __init__(self, root: str, *, lock_timeout: float | None) -> None:
        """Use (and create, if missing) the Maildir at ``root``."""
        super().__init__(lock_timeout=lock_timeout)
        self.root = os.path.abspath(os.path.expanduser(root))
        make_maildir(self.root)
        self._cleaned: set[str] = set()
        # Per folder directory, what the last operation read (each used under its lock).
        self.uidlists: dict[str, UidList] = {}
        self.listings: dict[str, _Listing] = {}

    def canonical(self, name: str) -> str:
        """Return the stored name; refuse names a Maildir++ directory cannot have."""
        name = super().canonical(name)
        if "/" in name or name.startswith(".") or name.endswith(".") or ".." in name:
            raise InvalidArgument(f"folder name {name!r} is not a Maildir++ name")
        return name

    def path_of(self, name: str) -> str:
        """Return the directory of folder ``name``."""
        name = self.canonical(name)
        return self.root if name == "INBOX" else os.path.join(self.root, "." + encode_mutf7(name))

    def clean_tmp(self, path: str) -> None:
        """Remove abandoned deliveries from ``tmp/`` (once per folder and store)."""
        if path in self._cleaned:
            return
        self._cleaned.add(path)
        tmp = os.path.join(path, "tmp")
        limit = time.time() - _STALE_TMP
        for name in os.listdir(tmp):
            try:
                if os.stat(os.path.join(tmp, name)).st_mtime < limit:
                    os.unlink(os.path.join(tmp, name))
            except OSError:
                pass  # gone already, or not ours to remove

    @contextmanager
    def view(self, folder: str) -> Iterator[FolderView]:
        """Lock the folder and return its view; changes are saved before it is unlocked."""
        path = self.path_of(folder)
        if not os.path.isdir(os.path.join(path, "cur")):
            raise FolderNotFound(f"no folder named {folder!r}", code="NO")
        with folder_lock(path, self.lock_timeout):
            try:
                view = _MaildirView(self, path)
                try:
                    yield view
                finally:
                    view.save()
            except BaseException:
                # What is in memory may be ahead of the files: read them again next time.
                self.uidlists.pop(path, None)
                self.listings.pop(path, None)
                raise

    def folder_names(self) -> list[str]:
        """Return INBOX and every ``.Name`` directory holding a ``cur/``."""
        names = []
        for entry in os.listdir(self.root):
            path = os.path.join(self.root, entry, "cur")
            if entry.startswith(".") and entry not in (".", "..") and os.path.isdir(path):
                names.append(decode_mutf7(entry[1:]))
        return ["INBOX", *sorted(names)]

    def create_folder(self, name: str) -> None:
        """Create ``.Name`` with ``cur/``, ``new/``, ``tmp/`` and ``maildirfolder``."""
        path = self.path_of(name)
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            raise CommandError(f"folder {name!r} already exists", code="NO") from None
        make_maildir(path, subfolder=True)

    def rename_folder(self, old: str, new: str) -> None:
        """Rename ``.Old`` and every ``.Old.*`` sub-folder (their uid lists go along)."""
        old, new = self.canonical(old), self.canonical(new)
        if old == "INBOX" or new == "INBOX":
            raise CommandError("INBOX cannot be renamed here", code="NO")
        names = self.folder_names()
        if old not in names:
            raise FolderNotFound(f"no folder named {old!r}", code="NO")
        if new in names:
            raise CommandError(f"folder {new!r} already exists", code="NO")
        for name in names:
            if name == old or name.startswith(old + "."):
                os.rename(self.path_of(name), self.path_of(new + name[len(old) :]))

    def delete_folder(self, name: str) -> None:
        """Delete a folder without sub-folders, and its messages."""
        name = self.canonical(name)
        if name == "INBOX":
            raise CommandError("INBOX cannot be deleted", code="NO")
        names = self.folder_names()
        if name not in names:
            raise FolderNotFound(f"no folder named {name!r}", code="NO")
        if any(n.startswith(name + ".") for n in names):
            raise CommandError(f"folder {name!r} has sub-folders", code="NO")
        path = self.path_of(name)
        # Rename first, so that no other reader sees a half-deleted folder.
        doomed = os.path.join(self.root, f"unimail-deleting.{secrets.token_hex(4)}")
        os.rename(path, doomed)
        shutil.rmtree(doomed)
