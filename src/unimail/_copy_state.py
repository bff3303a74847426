"""The durable record of ``unimail.copy``: which source messages are in the destination.

One SQLite database that the caller names (``state=``); it may hold any number of copy jobs,
each keyed by its source and destination URLs. Every change is one transaction committed with
``synchronous=FULL`` in WAL mode, so a commit that returned is on disk and a crash leaves
either the state before or the state after. The database stays locked
(``locking_mode=EXCLUSIVE``) while a copy uses it: two copies on one file cannot both copy the
same message.

A message is keyed by its source folder, the folder's UIDVALIDITY (0 where the backend has
none: POP3, whose UIDL is stable by itself) and its uid, and is in one of two states:

- ``intent``: written *before* the append. If the run stops now (crash, dropped connection),
  nobody knows whether the destination stored the message; the next run looks for it there by
  its fingerprint (Message-ID, size, SHA-256) before appending it again.
- ``done``: written *after* the destination confirmed the append. The message is never copied
  again (and, with ``delete_after``, may now be deleted from the source).

Each record keeps the message's fingerprint, so that after a UIDVALIDITY change (every uid of
the folder renamed) the messages copied before are recognised by content, not copied twice.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import attrs

from ._copy_models import Fingerprint
from ._errors import InvalidArgument, UnimailError

__all__ = ["CopyRecord", "CopyState", "RecordState"]

RecordState = Literal["intent", "done"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS copy_messages (
    job TEXT NOT NULL,
    folder TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    uid TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('intent', 'done')),
    target TEXT NOT NULL,
    target_uid TEXT,
    target_validity INTEGER,
    message_id TEXT,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (job, folder, uidvalidity, uid)
);
CREATE INDEX IF NOT EXISTS copy_messages_by_hash ON copy_messages (job, target, sha256);
"""


@attrs.frozen(kw_only=True)
class CopyRecord:
    """One source message in the record (see the module docstring).

    Attributes:
        uidvalidity: the source folder's UIDVALIDITY when the message was recorded (0: none).
        uid: the source uid, as text (IMAP UIDs are written in decimal).
        state: ``"intent"`` or ``"done"``.
        target: the destination folder.
        target_uid: the destination uid, where the destination told it.
        target_validity: the destination folder's UIDVALIDITY that ``target_uid`` belongs to.
        fingerprint: what the message is (Message-ID, size, SHA-256).
    """

    uidvalidity: int
    uid: str
    state: RecordState
    target: str
    target_uid: str | None = None
    target_validity: int | None = None
    fingerprint: Fingerprint


class CopyState:
    """The record of ``unimail.copy``: an SQLite file, locked while it is open."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        """Open (or create) the database at ``path`` and lock it for this process.

        Raises:
            InvalidArgument: ``path`` is not a usable database, or another copy holds it.
        """
        self._path = os.fspath(path)
        try:
            self._db = sqlite3.connect(self._path, timeout=0, isolation_level=None)
        except sqlite3.Error as exc:
            raise InvalidArgument(f"cannot open the copy state {self._path!r}: {exc}") from None
        try:
            self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
            # WAL: one fsync per commit; FULL: that fsync happens before COMMIT returns.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            # The first write takes the exclusive lock, kept until close().
            self._db.execute("BEGIN EXCLUSIVE")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._db.close()
            reason = "another copy uses it" if "locked" in str(exc) else str(exc)
            raise InvalidArgument(f"cannot use the copy state {self._path!r}: {reason}") from None

    def load(self, job: str, folder: str) -> list[CopyRecord]:
        """Return every record of ``folder`` in ``job``, whatever its UIDVALIDITY."""
        rows = self._query(
            "SELECT uidvalidity, uid, state, target, target_uid, target_validity, message_id, "
            "size, sha256 "
            "FROM copy_messages WHERE job = ? AND folder = ?",
            (job, folder),
        )
        return [_record(row) for row in rows]

    def count_done(self, job: str, target: str, sha256: str) -> int:
        """Return how many messages with content ``sha256`` were copied into ``target``."""
        rows = self._query(
            "SELECT count(*) FROM copy_messages WHERE job = ? AND target = ? AND sha256 = ? "
            "AND state = 'done'",
            (job, target, sha256),
        )
        return int(rows[0][0])

    def commit(
        self,
        job: str,
        folder: str,
        records: Iterable[CopyRecord] = (),
        forget: Iterable[tuple[int, str]] = (),
    ) -> None:
        """Write ``records`` and remove the records ``forget`` (``(uidvalidity, uid)``
        pairs) of ``folder``, durably, in one transaction."""
        rows = [
            (
                job, folder, r.uidvalidity, r.uid, r.state, r.target, r.target_uid,
                r.target_validity,
                r.fingerprint.message_id, r.fingerprint.size, r.fingerprint.sha256,
            )
            for r in records
        ]  # fmt: skip
        gone = [(job, folder, validity, uid) for validity, uid in forget]
        if not rows and not gone:
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "DELETE FROM copy_messages WHERE job = ? AND folder = ? AND uidvalidity = ? "
                "AND uid = ?",
                gone,
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO copy_messages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise UnimailError(f"copy state {self._path!r}: {exc}") from None

    def close(self) -> None:
        """Release the lock and close the database. Idempotent."""
        self._db.close()

    def _query(self, sql: str, args: Sequence[Any]) -> list[tuple[Any, ...]]:
        try:
            return list(self._db.execute(sql, args))
        except sqlite3.Error as exc:
            raise UnimailError(f"copy state {self._path!r}: {exc}") from None


def _record(row: tuple[Any, ...]) -> CopyRecord:
    validity, uid, state, target, target_uid, target_validity, message_id, size, sha256 = row
    return CopyRecord(
        uidvalidity=int(validity),
        uid=str(uid),
        state=state,
        target=str(target),
        target_uid=target_uid,
        target_validity=target_validity,
        fingerprint=Fingerprint(message_id=message_id, size=int(size), sha256=str(sha256)),
    )
