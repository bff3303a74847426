"""The pure parts of ``unimail.copy``: fingerprints, folder name mapping, the durable record."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from unimail import CopyResult, FolderCopyResult, FolderInfo, FolderNotFound, InvalidArgument
from unimail import SpecialUse as Use
from unimail._copy_models import Fingerprint, arrival_date
from unimail._copy_names import plan_folders, target_name
from unimail._copy_state import CopyRecord, CopyState


def test_fingerprint_ignores_line_endings_but_not_content() -> None:
    crlf = b"Message-ID: <a@b>\r\nSubject: x\r\n\r\nline\r\nline\r\n"
    lf = crlf.replace(b"\r\n", b"\n")
    assert Fingerprint.of(crlf) == Fingerprint.of(lf)
    assert Fingerprint.of(crlf).message_id == "<a@b>"
    assert Fingerprint.of(crlf).size == len(crlf)
    assert Fingerprint.of(crlf + b"x") != Fingerprint.of(crlf)
    assert Fingerprint.of(b"Subject: none\r\n\r\nbody\r\n").message_id is None
    # A Message-ID in the body is not the message's.
    assert Fingerprint.of(b"Subject: s\r\n\r\nMessage-ID: <no@x>\r\n").message_id is None


def folder(name: str, delimiter: str | None = "/", use: Use | None = None) -> FolderInfo:
    return FolderInfo(name=name, delimiter=delimiter, special_use=use)


def test_names_are_mapped() -> None:
    target = [folder("INBOX"), folder("Sent", use=Use.SENT), folder("Deleted", use=Use.TRASH)]
    assert target_name(folder("inbox", "."), target, {}) == "INBOX"
    assert target_name(folder("Sent Items", ".", Use.SENT), target, {}) == "Sent"
    assert target_name(folder("Trash", ".", Use.TRASH), target, {}) == "Deleted"
    assert target_name(folder("Junk", ".", Use.JUNK), target, {}) == "Junk"
    assert target_name(folder("Lists.python", "."), target, {}) == "Lists/python"
    assert target_name(folder("a/b.c", "."), target, {}) == "a_b/c"
    assert target_name(folder("Lists.python", "."), target, {"Lists.python": "Py"}) == "Py"
    assert target_name(folder("Flat", None), target, {}) == "Flat"
    assert target_name(folder("A/B"), [folder("INBOX", None)], {}) == "A.B"


def test_plan_selects_and_refuses_collisions() -> None:
    source = [folder("INBOX"), folder("Lists", use=None), FolderInfo(
        name="Parent", delimiter="/", attributes=frozenset({"\\Noselect"})
    )]  # fmt: skip
    plan = plan_folders(source, [folder("INBOX")], None, None)
    assert [(f.name, t) for f, t in plan] == [("INBOX", "INBOX"), ("Lists", "Lists")]
    plan = plan_folders(source, [folder("INBOX")], ["inbox"], {"INBOX": "Old"})
    assert [(f.name, t) for f, t in plan] == [("INBOX", "Old")]
    with pytest.raises(FolderNotFound):
        plan_folders(source, [], ["Nope"], None)
    with pytest.raises(InvalidArgument, match="both be copied"):
        plan_folders(source, [], None, {"Lists": "INBOX"})
    with pytest.raises(InvalidArgument, match="LF"):
        plan_folders(source, [], None, {"Lists": "a\nb"})
    with pytest.raises(InvalidArgument):
        plan_folders(source, [], "INBOX", None)


def record(uid: str, state: str = "done", validity: int = 7, sha: str = "aa") -> CopyRecord:
    return CopyRecord(
        uidvalidity=validity, uid=uid, state="done" if state == "done" else "intent",
        target="INBOX", fingerprint=Fingerprint(message_id=None, size=3, sha256=sha),
    )  # fmt: skip


def test_state_is_durable_and_locked(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    state = CopyState(path)
    try:
        state.commit("job", "INBOX", [record("1"), record("2", "intent")])
        state.commit("job", "INBOX", [record("2")], forget=[(7, "1")])
        state.commit("other", "INBOX", [record("1")])
        with pytest.raises(InvalidArgument, match="another copy uses it"):
            CopyState(path)
    finally:
        state.close()
    state = CopyState(path)
    try:
        assert state.load("job", "INBOX") == [record("2")]
        assert state.count_done("job", "INBOX", "aa") == 1
        assert state.count_done("job", "INBOX", "bb") == 0
        assert state.load("job", "Other") == []
    finally:
        state.close()


def test_state_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "junk"
    path.write_bytes(b"not a database" * 100)
    with pytest.raises(InvalidArgument, match="copy state"):
        CopyState(path)


def test_result_totals() -> None:
    result = CopyResult(
        folders={
            "INBOX": FolderCopyResult(source="INBOX", destination="INBOX", copied=2, failed=1),
            "A": FolderCopyResult(source="A", destination="A", skipped=3, deleted=2),
        }
    )
    assert (result.copied, result.skipped, result.failed, result.deleted) == (2, 3, 1, 2)
    assert not result.ok


def test_fingerprint_ignores_mbox_quoting_and_a_missing_final_newline() -> None:
    original = b"Subject: s\r\n\r\nFrom here\r\n>From there\r\nend"
    stored = b"Subject: s\n\n>From here\n>>From there\nend\n"
    assert Fingerprint.of(original) == Fingerprint.of(stored)
    assert Fingerprint.of(original) != Fingerprint.of(original.replace(b"here", b"HERE"))


def test_a_memory_state_keeps_nothing() -> None:
    state = CopyState(":memory:")
    try:
        state.commit("job", "INBOX", [record("1")])
        assert state.load("job", "INBOX") == [record("1")]
    finally:
        state.close()
    state = CopyState(":memory:")
    try:
        assert state.load("job", "INBOX") == []
    finally:
        state.close()


def test_arrival_date_from_received_then_date() -> None:
    received = (
        b"Received: from mx.example.org by mail.example.org; Tue, 3 Feb 2026 04:05:06 +0100\r\n"
        b"Received: from a by b; Mon, 2 Feb 2026 00:00:00 +0000\r\n"
        b"Date: Sun, 1 Feb 2026 00:00:00 +0000\r\n\r\nbody\r\n"
    )
    when = arrival_date(received)
    assert when == datetime.datetime(2026, 2, 3, 3, 5, 6, tzinfo=datetime.timezone.utc)
    dated = b"Date: Sun, 1 Feb 2026 10:00:00 -0500\n\nbody\n"
    assert arrival_date(dated) == datetime.datetime(2026, 2, 1, 15, tzinfo=datetime.timezone.utc)
    assert arrival_date(b"Subject: no date\r\n\r\n") is None
    assert arrival_date(b"Date: not a date\r\n\r\n") is None
