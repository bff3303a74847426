"""The durable record of the POP3 download helper (SQLite): states, accounts, lock, errors."""

from __future__ import annotations

import email.message
import sqlite3
from pathlib import Path

import pytest

from unimail import DownloadedMessage, DownloadReport, InvalidArgument
from unimail._pop3_state import Pop3State


def test_records_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    state = Pop3State(path)
    state.mark("alice@host", ["a", "b", "c"], "handing")
    state.update("alice@host", done=["a"], handing=["d"])
    state.mark("bob@host", ["a"], "done")
    state.forget("alice@host", ["c"])
    state.close()
    state.close()  # idempotent
    again = Pop3State(path)
    assert again.load("alice@host") == {"a": "done", "b": "handing", "d": "handing"}
    assert again.load("bob@host") == {"a": "done"}
    assert again.load("carol@host") == {}
    again.close()
    # Committed means on disk: a plain SQLite reader sees the same rows.
    with sqlite3.connect(path) as db:
        rows = sorted(db.execute("SELECT account, uid, state FROM pop3_messages"))
    assert ("alice@host", "a", "done") in rows and len(rows) == 4


def test_one_run_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    first = Pop3State(path)
    with pytest.raises(InvalidArgument, match="another download"):
        Pop3State(path)
    first.close()
    Pop3State(path).close()


def test_unusable_files_are_caller_errors(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(InvalidArgument, match="garbage"):
        Pop3State(garbage)
    with pytest.raises(InvalidArgument):
        Pop3State(tmp_path / "no" / "such" / "dir" / "state.sqlite3")


def test_values() -> None:
    message = DownloadedMessage(uid="u1", data=b"Subject: hi\r\n\r\nbody\r\n")
    parsed = message.message()
    assert isinstance(parsed, email.message.EmailMessage) and parsed["Subject"] == "hi"
    assert "body" not in repr(message) and not message.possibly_delivered
    assert DownloadReport().delivered == () and DownloadReport().known == 0
