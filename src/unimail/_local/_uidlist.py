"""Stable uids for a Maildir folder: the ``unimail-uidlist`` file, and the folder lock.

Maildir names a message by a unique file name, but IMAP-style uids are ascending integers that
must never name another message later. Like Dovecot's ``dovecot-uidlist``, each folder keeps a
small file mapping uids to the messages' unique names (the part before ``:2,``)::

    unimail-uidlist 1 V<uidvalidity> N<uidnext>
    <uid> <unique name>
    ...

It is written to a temporary file and renamed over the old one (readers see the old or the new
list, never half of one), and changed only under the folder's lock (``flock`` on
``unimail-uidlist.lock``). A message found without a uid gets the next one; a uid whose file
is gone is dropped and never given again, because ``uidnext`` only grows. A missing or
unreadable list starts a new UIDVALIDITY, which tells every client that old uids are void.
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
_MAGIC = "unimail-uidlist 1"


class UidList:
    """The uid list of one folder, read into memory (see the module docstring)."""

    def __init__(self, uidvalidity: int, uidnext: int, uids: dict[str, int]) -> None:
        """Hold a list; use :meth:`load` to read one."""
        self.uidvalidity = uidvalidity
        self.uidnext = uidnext
        self.uids = uids  # unique name -> uid
        self.dirty = False

    @classmethod
    def load(cls, folder: str, new_uidvalidity: Callable[[], int]) -> UidList:
        """Read the folder's list, or start a new one (with ``new_uidvalidity()``)."""
        try:
            with open(os.path.join(folder, NAME), encoding="utf-8") as file:
                head = file.readline().split()
                if " ".join(head[:2]) != _MAGIC or len(head) != 4:
                    raise ValueError("not a uid list")
                uidvalidity, uidnext = int(head[2][1:]), int(head[3][1:])
                uids: dict[str, int] = {}
                for line in file:
                    uid, _, key = line.rstrip("\n").partition(" ")
                    uids[key] = int(uid)
        except (OSError, ValueError, UnicodeDecodeError):
            fresh = cls(new_uidvalidity(), 1, {})
            fresh.dirty = True
            return fresh
        return cls(uidvalidity, uidnext, uids)

    def save(self, folder: str) -> None:
        """Write the list if it changed (atomically: temporary file, fsync, rename)."""
        if not self.dirty:
            return
        lines = [f"{_MAGIC} V{self.uidvalidity} N{self.uidnext}\n"]
        lines += [f"{uid} {key}\n" for key, uid in sorted(self.uids.items(), key=_by_uid)]
        write_atomically(os.path.join(folder, NAME), "".join(lines).encode())
        self.dirty = False

    def add(self, key: str) -> int:
        """Give ``key`` the next uid and return it."""
        uid = self.uids[key] = self.uidnext
        self.uidnext += 1
        self.dirty = True
        return uid

    def drop(self, key: str) -> None:
        """Forget ``key`` (its uid is never given again)."""
        if self.uids.pop(key, None) is not None:
            self.dirty = True


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
