"""Stable uids for a Maildir folder: the ``unimail-uidlist`` journal, and the folder lock.

Maildir names a message by a unique file name, but IMAP-style uids are ascending integers that
must never name another message later. Like Dovecot's ``dovecot-uidlist``, each folder keeps a
small file mapping uids to the messages' unique names (the part before ``:2,``). It is a
journal: records are only ever appended, so recording a uid costs one short write, whatever the
folder holds::

    unimail-uidlist 2 V<uidvalidity> N<uidnext> G<generation>
    <uid> <unique name>          a message was given this uid
    - <unique name>              the message is gone (its uid is never given again)

``uidnext`` is the larger of the header's ``N`` and one more than the largest uid recorded;
``G`` is random, new at each rewrite (so a cached list is never taken for a rewritten file).
When dead records outnumber the live ones, the list is compacted: written whole to a temporary
file and renamed over the old one (readers see the old or the new list, never half of one).
Version 1 files (the same without drop records) are read as they are.

Crash safety: a delivery appends (and fsyncs) its uid record *before* the message is renamed
into ``cur/``, so a visible message always has its uid on disk; a record whose message never
appeared is dropped at the next look, and its uid is not given again. A record cut short by a
crash (no final newline) was never followed by its rename: it is ignored and cut off before the
next append. A missing or unreadable list starts a new UIDVALIDITY (every old uid is void), and
the messages found get new uids: the list is rebuilt.

The list is changed only under the folder's lock (``flock`` on ``unimail-uidlist.lock``). A
store keeps the list it read in memory, with the file's identity (inode, size, mtime); the next
operation re-reads nothing when the file is unchanged, and only the appended tail when another
process appended to it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Callable, Iterator

from ._view import retry_locked

__all__ = ["UidList", "folder_lock", "next_uidvalidity", "write_atomically"]

NAME = "unimail-uidlist"
_MAGIC = "unimail-uidlist"
_VERSIONS = ("1", "2")
_Stamp = tuple[int, int, int]  # st_ino, st_size, st_mtime_ns


class UidList:
    """The uid list of one folder, read into memory (see the module docstring)."""

    def __init__(self, uidvalidity: int, uidnext: int, uids: dict[str, int]) -> None:
        """Hold a list; use :meth:`load` to read one."""
        self.uidvalidity = uidvalidity
        self.uidnext = uidnext
        self.uids = uids  # unique name -> uid
        self.records = len(uids)  # records in the file, dead ones included
        self.pending: list[str] = []  # records not written yet
        self.rewrite = False  # the file must be written whole (new, or compacted)
        self.length = 0  # bytes of the file read (up to the last complete record)
        self.stamp: _Stamp | None = None  # the file as last read or written
        self.head = b""  # its first line

    @property
    def dirty(self) -> bool:
        """True when the file is behind the list in memory."""
        return self.rewrite or bool(self.pending)

    @classmethod
    def load(
        cls, folder: str, new_uidvalidity: Callable[[], int], cached: UidList | None = None
    ) -> UidList:
        """Read the folder's list, or start a new one (with ``new_uidvalidity()``).

        Args:
            cached: the list this store read last time: returned as it is when the file did
                not change since, brought up to date from the appended tail when it grew.
        """
        path = os.path.join(folder, NAME)
        try:
            with open(path, "rb") as file:
                info = os.fstat(file.fileno())
                stamp = (info.st_ino, info.st_size, info.st_mtime_ns)
                head = file.readline(256)
                usable = cached is not None and not cached.dirty and cached.head == head
                if usable and cached is not None and cached.stamp is not None:
                    # The header changes at every rewrite (G): same header, same file.
                    if cached.stamp == stamp:
                        return cached
                    if cached.stamp[0] == stamp[0] and stamp[1] > cached.length:
                        file.seek(cached.length)
                        cached._read(file.read(), cached.length)
                        cached.stamp = stamp
                        return cached
                body = file.read()
            fields = head.decode("ascii").split()
            if len(fields) not in (4, 5) or fields[0] != _MAGIC or fields[1] not in _VERSIONS:
                raise ValueError("not a uid list")
            found = cls(int(fields[2][1:]), int(fields[3][1:]), {})
            found.head = head
            found._read(body, len(head))
            found.stamp = stamp
        except (OSError, ValueError, UnicodeDecodeError):
            fresh = cls(new_uidvalidity(), 1, {})
            fresh.rewrite = True
            return fresh
        return found

    def _read(self, data: bytes, offset: int) -> None:
        """Apply the complete records of ``data``, which starts at ``offset`` of the file.

        Raises:
            ValueError: a malformed record.
        """
        end = data.rfind(b"\n") + 1  # a record without its newline was cut short by a crash
        for line in data[:end].decode("utf-8").splitlines():
            uid, _, key = line.partition(" ")
            if uid == "-":
                self.uids.pop(key, None)
            else:
                number = int(uid)
                if number < 1 or not key:
                    raise ValueError("a bad uid record")
                self.uids[key] = number
                self.uidnext = max(self.uidnext, number + 1)
            self.records += 1
        self.length = offset + end

    def save(self, folder: str) -> None:
        """Write what changed: append the new records (one write, one fsync), or write the
        list whole when it is new or mostly dead records (temporary file, fsync, rename)."""
        if not self.dirty:
            return
        path = os.path.join(folder, NAME)
        if self.rewrite or self.records + len(self.pending) > 2 * len(self.uids) + 64:
            head = f"{_MAGIC} 2 V{self.uidvalidity} N{self.uidnext} G{secrets.token_hex(4)}\n"
            lines = [f"{uid} {key}\n" for key, uid in sorted(self.uids.items(), key=_by_uid)]
            data = (head + "".join(lines)).encode()
            write_atomically(path, data)
            self.records, self.length, self.head = len(self.uids), len(data), head.encode()
        else:
            data = "".join(self.pending).encode()
            fd = os.open(path, os.O_WRONLY)
            try:
                if os.fstat(fd).st_size != self.length:
                    os.ftruncate(fd, self.length)  # a record cut short by a crash
                os.pwrite(fd, data, self.length)
                os.fsync(fd)
            finally:
                os.close(fd)
            self.records += len(self.pending)
            self.length += len(data)
        self.pending, self.rewrite = [], False
        info = os.stat(path)
        self.stamp = (info.st_ino, info.st_size, info.st_mtime_ns)

    def add(self, key: str) -> int:
        """Give ``key`` the next uid and return it (recorded at the next :meth:`save`)."""
        uid = self.uids[key] = self.uidnext
        self.uidnext += 1
        self.pending.append(f"{uid} {key}\n")
        return uid

    def drop(self, key: str) -> None:
        """Forget ``key`` (its uid is never given again)."""
        if self.uids.pop(key, None) is not None:
            self.pending.append(f"- {key}\n")


def _by_uid(item: tuple[str, int]) -> int:
    return item[1]


def next_uidvalidity(root: str, timeout: float | None, *, name: str = "unimail-uidvalidity") -> int:
    """Return a new UIDVALIDITY for a folder of the store at ``root``: the time in seconds
    (as Dovecot does), but always above the last one given (``unimail-uidvalidity``), so that
    a folder deleted and created again within a second never repeats one."""
    path = os.path.join(root, name)
    with folder_lock(root, timeout, name=name + ".lock"):
        try:
            with open(path, encoding="ascii") as file:
                last = int(file.read().strip() or 0)
        except (OSError, ValueError):
            last = 0
        value = max(int(time.time()), last + 1) % 2**32 or 1
        write_atomically(path, f"{value}\n".encode())
        return value


def write_atomically(path: str, data: bytes) -> None:
    """Replace the file ``path`` with ``data``: no reader ever sees a half-written file."""
    temporary = f"{path}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        with open(temporary, "xb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


@contextlib.contextmanager
def folder_lock(
    folder: str, timeout: float | None, *, name: str = NAME + ".lock"
) -> Iterator[None]:
    """Hold the folder's lock (``flock`` on ``unimail-uidlist.lock``); it excludes other
    processes and other threads alike (each takes it through its own open file).

    Raises:
        Timeout: another holder kept it for longer than ``timeout`` seconds.
    """
    import fcntl  # here: POSIX only, and "import unimail" must work everywhere

    fd = os.open(os.path.join(folder, name), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        retry_locked(
            lambda: fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB),
            BlockingIOError, timeout, f"the Maildir folder {folder!r}",
        )  # fmt: skip
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
