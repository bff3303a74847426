"""The local stores' pure parts (flags, managed mbox headers, body structure), their safety
under concurrent writers in threads, and the sync twins of the local classes."""

from __future__ import annotations

import email.message
import email.policy
import inspect
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import unimail
from unimail import Flag, InvalidArgument, Mailbox
from unimail._local._flags import check_flags, from_letters, to_letters
from unimail._local._mbox import split_managed
from unimail._local._message import body_structure


def message(subject: str) -> bytes:
    return f"From: bob@example.test\nSubject: {subject}\n\nHello.\n".encode()


def n(uid: int | str | None) -> int:
    assert isinstance(uid, int)
    return uid


def test_flags_are_checked_as_imap_checks_them() -> None:
    assert check_flags(["\\SEEN", Flag.DRAFT, "$Label"]) == {Flag.SEEN, Flag.DRAFT, "$Label"}
    for bad in ("\\Seen", [Flag.RECENT], ["\\Recent"], ["\\Nope"], ["a b"], ["ü"], [""], [1]):
        with pytest.raises(InvalidArgument):
            check_flags(bad)  # type: ignore[arg-type]


def test_maildir_letters_round_trip_and_keep_unknown_letters() -> None:
    keywords = {"a": "$Work", "c": "Later"}
    flags, kept = from_letters("DFPRSTacz", keywords)
    assert flags == {Flag.DRAFT, Flag.FLAGGED, Flag.ANSWERED, Flag.SEEN, Flag.DELETED, "$Work",
                     "Later"}  # fmt: skip
    assert kept == "Pz"
    letters = {v: k for k, v in keywords.items()}
    assert to_letters(flags, kept, letters) == "DFPRSTacz"
    assert to_letters(frozenset({Flag.SEEN}), "", {}) == "S"


def test_split_managed_removes_fields_with_their_continuations() -> None:
    header = (
        b"X-UID: 7\r\nSubject: hi\r\nX-Keywords: a,\r\n b\r\nStatus: RO\r\n"
        b"X-Status: AF\r\nTo: x@y.test\r\n\r\n"
    )
    kept, values = split_managed(header)
    assert kept == b"Subject: hi\r\nTo: x@y.test\r\n\r\n"
    assert values[b"x-uid"] == b"7" and values[b"status"] == b"RO"
    assert values[b"x-status"] == b"AF"


def test_body_structure_numbers_parts_as_imap_does() -> None:
    inner = email.message.EmailMessage()
    inner["Subject"] = "inner"
    inner["From"] = "carol@example.test"
    inner.set_content("plain\n")
    inner.add_alternative("<p>html</p>\n", subtype="html")
    outer = email.message.EmailMessage()
    outer["Subject"] = "outer"
    outer.set_content("see attached\n")
    outer.add_attachment(inner)
    parsed = email.message_from_bytes(outer.as_bytes(), policy=email.policy.default)
    top = body_structure(parsed)
    assert top.content_type == "multipart/mixed" and top.section == ""
    sections = [(p.section, p.content_type) for p in top.walk()]
    assert sections == [
        ("", "multipart/mixed"), ("1", "text/plain"), ("2", "message/rfc822"),
        ("2", "multipart/alternative"), ("2.1", "text/plain"), ("2.2", "text/html"),
    ]  # fmt: skip
    embedded = top.children[1]
    assert embedded.envelope is not None and embedded.envelope.subject == "inner"
    assert top.children[0].charset == "utf-8" and top.children[0].lines == 1
    single = body_structure(email.message_from_bytes(b"Subject: x\n\nbody\n"))
    assert single.section == "1" and single.size == 5


@pytest.mark.parametrize("kind", ["maildir", "mbox"])
def test_concurrent_writers_in_threads_lose_nothing(tmp_path: Path, kind: str) -> None:
    url = f"{kind}:{tmp_path / 'store'}"
    errors: list[BaseException] = []
    uids: list[int | str | None] = []

    def writer(number: int) -> None:
        try:
            with unimail.Mailbox.open(url) as box:
                inbox = box.folder("INBOX")
                for n in range(8):
                    raw = f"Subject: w{number}-{n}\n\nbody\n".encode()
                    uids.append(inbox.append(raw, flags={Flag.SEEN} if n % 2 else ()))
                    inbox.add_flags([1], {Flag.FLAGGED})
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(u for u in uids if isinstance(u, int)) == list(range(1, 33))
    with unimail.Mailbox.open(url) as box:
        infos = list(box.folder("INBOX").search())
    subjects = sorted(i.envelope.subject or "" for i in infos if i.envelope)
    assert subjects == sorted(f"w{t}-{n}" for t in range(4) for n in range(8))
    assert [i.uid for i in infos] == list(range(1, 33))


PAIRS = [
    (unimail.AsyncLocalMailbox, unimail.LocalMailbox),
    (unimail.AsyncLocalFolder, unimail.LocalFolder),
    (unimail.AsyncMaildirMailbox, unimail.MaildirMailbox),
    (unimail.AsyncMboxMailbox, unimail.MboxMailbox),
    (unimail.AsyncMemoryMailbox, unimail.MemoryMailbox),
    (unimail.AsyncMaildirTransport, unimail.MaildirTransport),
    (unimail.AsyncMemoryTransport, unimail.MemoryTransport),
]


@pytest.mark.parametrize(("async_cls", "sync_cls"), PAIRS)
def test_sync_twins_have_the_same_methods_and_docs(async_cls: type, sync_cls: type) -> None:
    def members(cls: type) -> dict[str, str | None]:
        return {
            ("close" if name == "aclose" else name): inspect.getdoc(getattr(cls, name))
            for name in dir(cls)
            if not name.startswith("_")
        }

    async_members, sync_members = members(async_cls), members(sync_cls)
    assert set(async_members) == set(sync_members)
    for name, doc in sync_members.items():
        assert doc, f"{sync_cls.__name__}.{name} has no docstring"


# A process that appends a batch of three and dies (os._exit: no cleanup, no final save) at a
# chosen point of Maildir's delivery: after N renames into cur/, or before the directory sync.
CRASHER = """
import os, sys
import unimail
from unimail._local import _maildir

root, point = sys.argv[1], sys.argv[2]
real_rename, renames = os.rename, []

def rename(source, target):
    if point.startswith("rename") and len(renames) == int(point[6:]):
        os._exit(17)
    renames.append(target)
    real_rename(source, target)

def sync_directory(path):
    os._exit(17)

_maildir.os.rename = rename
if point == "sync":
    _maildir._sync_directory = sync_directory
with unimail.Mailbox.open(f"maildir:{root}") as box:
    box.folder("INBOX").append_many([b"Subject: b%d\\n\\nbatch\\n" % i for i in range(3)])
"""


@pytest.mark.parametrize("point", ["rename0", "rename2", "sync"])
def test_maildir_killed_in_a_batch_keeps_uids_unique(tmp_path: Path, point: str) -> None:
    root = tmp_path / "Maildir"
    with Mailbox.open(f"maildir:{root}") as box:
        first = box.folder("INBOX").append(message("first"))
    source = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": source}
    command = [sys.executable, "-c", CRASHER, str(root), point]
    assert subprocess.run(command, env=env, timeout=60, check=False).returncode == 17
    with Mailbox.open(f"maildir:{root}") as box:
        inbox = box.folder("INBOX")
        infos = list(inbox.search())
        subjects = [i.envelope.subject for i in infos if i.envelope]
        visible = {"rename0": 0, "rename2": 2, "sync": 3}[point]
        assert subjects == ["first"] + [f"b{i}" for i in range(visible)]
        assert infos[0].uid == first
        # Each delivered message kept the uid recorded before its rename: first+1, first+2...
        assert [i.uid for i in infos[1:]] == [n(first) + 1 + i for i in range(visible)]
        # The uids of the batch's undelivered messages are never given again.
        assert inbox.append(message("next")) == n(first) + 4
    with Mailbox.open(f"maildir:{root}") as box:
        assert [i.uid for i in box.folder("INBOX").search()] == [
            *(i.uid for i in infos),
            n(first) + 4,
        ]


def test_maildir_lists_a_folder_again_only_when_it_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "Maildir"
    listed: list[str] = []
    real_listdir = os.listdir

    def listdir(path: str) -> list[str]:
        if os.path.basename(path) == "cur":
            listed.append(path)
        return real_listdir(path)

    with Mailbox.open(f"maildir:{root}") as box:
        inbox = box.folder("INBOX")
        assert isinstance(inbox, unimail.LocalFolder)
        uids: list[int | str | None] = list(inbox.append_many([message(f"m{i}") for i in range(3)]))
        monkeypatch.setattr("unimail._local._maildir.os.listdir", listdir)
        # Just written: a change within the same clock tick would not move the stamps, so the
        # listing is not trusted yet and every look lists the folder.
        for _ in range(2):
            before = len(listed)
            assert [i.uid for i in inbox.search()] == uids
            assert len(listed) > before
        # Two seconds later (the stamps set back here), a listing is reused until a change.
        for sub in ("cur", "new"):
            os.utime(root / sub, (1_700_000_000, 1_700_000_000))
        listed.clear()
        for _ in range(3):
            assert [i.uid for i in inbox.search()] == uids
        assert len(listed) == 1
        (root / "new" / "1700000100.M1P1.other").write_bytes(message("other program"))
        infos = list(inbox.search(fields=unimail.FetchField.ENVELOPE))
        assert [i.envelope.subject for i in infos if i.envelope][-1] == "other program"
        assert len(listed) > 1 and n(infos[-1].uid) == n(uids[-1]) + 1
        # Its own changes (flags are file names) make the next look list the folder again.
        for sub in ("cur", "new"):
            os.utime(root / sub, (1_700_000_000, 1_700_000_000))
        assert len(list(inbox.search())) == 4
        listed.clear()
        inbox.add_flags([n(uids[0])], {Flag.SEEN})
        flags = next(inbox.fetch([n(uids[0])], unimail.FetchField.FLAGS)).flags
        assert flags == frozenset({Flag.SEEN}) and len(listed) >= 1
