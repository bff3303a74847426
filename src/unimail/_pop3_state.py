"""The durable record of the POP3 download helper: which messages were handed over.

The helper (``_async/_pop3_download.py``) needs a record that survives a crash at any point,
so that the next run neither loses nor duplicates a message. It is one SQLite database that
the caller names; every change is a transaction committed with ``synchronous=FULL``, so a
commit that returned is on disk, and a crash leaves either the state before or the state after.

Each message (by account and UIDL) is in one of two states:

- ``handing``: written *before* the message is given to the caller's handler. If the run
  crashes now, the next run does not know whether the handler finished: it hands the message
  over again with ``possibly_delivered=True``, so a handler that keeps its own record (or
  writes under a name derived from the uid) can tell a repeat from a new message.
- ``done``: written *after* the handler returned. The message is never handed over again;
  in "delete" mode the helper sends DELE for it, in this run or the next.

Records of messages that are no longer on the server are dropped at the start of a run.
The database stays locked (``locking_mode=EXCLUSIVE``) while a run uses it, so two runs on
the same file cannot both hand the same message over.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import os
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Literal

import attrs

from ._errors import InvalidArgument, UnimailError
from ._message import parse_email

__all__ = ["DownloadReport", "DownloadedMessage", "Pop3State", "RecordState"]

RecordState = Literal["handing", "done"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pop3_messages (
    account TEXT NOT NULL,
    uid TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('handing', 'done')),
    PRIMARY KEY (account, uid)
)
"""


@attrs.frozen(kw_only=True)
class DownloadedMessage:
    """One message handed to the handler of the POP3 download helper.

    Attributes:
        uid: the message's UIDL (stable: use it to recognise a message handed over before).
        data: the raw message (RFC 5322 bytes, CRLF line endings as the server sent them).
        possibly_delivered: True when an earlier run handed this message over and crashed
            before it could record that the handler returned: the handler may already have
            stored it, so it should check (by ``uid``) before storing it again.
    """

    uid: str
    data: bytes = attrs.field(repr=False)
    possibly_delivered: bool = False

    def message(self) -> email.message.EmailMessage:
        """Return the message parsed with ``email.policy.default``, lines ended with ``"\\n"``."""
        return parse_email(self.data)


@attrs.frozen(kw_only=True)
class DownloadReport:
    """What one run of the POP3 download helper did.

    Attributes:
        delivered: the uids whose handler returned in this run, in maildrop order.
        redelivered: those of ``delivered`` that were handed over with
            ``possibly_delivered=True``.
        deleted: the uids marked with DELE in this run ("delete" mode); the server deletes
            them when the session ends with QUIT.
        known: how many messages on the server had been delivered by earlier runs.
    """

    delivered: tuple[str, ...] = ()
    redelivered: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    known: int = 0


class Pop3State:
    """The record of one download helper: an SQLite file, locked while it is open."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        """Open (or create) the database at ``path`` and lock it for this process.

        Raises:
            InvalidArgument: ``path`` is not a usable database, or another run holds it.
        """
        self._path = os.fspath(path)
        try:
            self._db = sqlite3.connect(self._path, timeout=0, isolation_level=None)
        except sqlite3.Error as exc:
            raise InvalidArgument(f"cannot open the download state {self._path!r}: {exc}") from None
        try:
            self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
            # WAL: one fsync per commit; FULL: that fsync happens before COMMIT returns.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            # The first write takes the exclusive lock, kept until close().
            self._db.execute("BEGIN EXCLUSIVE")
            self._db.execute(_SCHEMA)
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._db.close()
            reason = "another download uses it" if "locked" in str(exc) else str(exc)
            raise InvalidArgument(
                f"cannot use the download state {self._path!r}: {reason}"
            ) from None

    def load(self, account: str) -> dict[str, RecordState]:
        """Return every record of ``account``: uid -> state."""
        rows = self._run("SELECT uid, state FROM pop3_messages WHERE account = ?", (account,))
        return {uid: state for uid, state in rows}

    def mark(self, account: str, uids: Iterable[str], state: RecordState) -> None:
        """Record ``uids`` in ``state``, durably, in one transaction."""
        rows = [(account, uid, state) for uid in uids]
        if rows:
            self._many("INSERT OR REPLACE INTO pop3_messages VALUES (?, ?, ?)", rows)

    def update(self, account: str, done: Iterable[str], handing: Iterable[str]) -> None:
        """Record ``done`` as done and ``handing`` as being handed over, in one transaction."""
        rows = [(account, uid, "done") for uid in done]
        rows += [(account, uid, "handing") for uid in handing]
        if rows:
            self._many("INSERT OR REPLACE INTO pop3_messages VALUES (?, ?, ?)", rows)

    def forget(self, account: str, uids: Iterable[str]) -> None:
        """Remove the records of ``uids``, durably, in one transaction."""
        rows = [(account, uid) for uid in uids]
        if rows:
            self._many("DELETE FROM pop3_messages WHERE account = ? AND uid = ?", rows)

    def close(self) -> None:
        """Release the lock and close the database. Idempotent."""
        self._db.close()

    def _run(self, sql: str, args: tuple[str, ...]) -> list[tuple[str, RecordState]]:
        try:
            return list(self._db.execute(sql, args))
        except sqlite3.Error as exc:
            raise UnimailError(f"download state {self._path!r}: {exc}") from None

    def _many(self, sql: str, rows: Sequence[tuple[str, ...]]) -> None:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(sql, rows)
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise UnimailError(f"download state {self._path!r}: {exc}") from None
