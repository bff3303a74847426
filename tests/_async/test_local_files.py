"""What only the file-based local backends do: Maildir's layout and crash safety, mbox's
locking against other processes.

This file is the source of tests/_sync/test_local_files.py (tools/unasync.py).
"""

from __future__ import annotations

import datetime
import mailbox
import os
import subprocess
import sys
import threading
import tracemalloc
from pathlib import Path

import pytest

from unimail import (
    AsyncLocalMailbox,
    AsyncMaildirMailbox,
    AsyncMboxMailbox,
    Capability,
    CommandError,
    FetchField,
    Flag,
    InvalidArgument,
    Timeout,
    UnsupportedOperation,
)
from unimail._local import _uidlist


def n(uid: int | str | None) -> int:
    """A local uid, which is an int."""
    assert isinstance(uid, int)
    return uid


def message(subject: str, body: str = "Hello.\n") -> bytes:
    """A small message with LF line endings, as mail delivery agents store them."""
    return f"From: bob@example.test\nTo: alice@example.test\nSubject: {subject}\n\n{body}".encode()


def files(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir()) if path.exists() else []


@pytest.mark.anyio
async def test_maildir_layout_flags_and_keywords(tmp_path: Path) -> None:
    root = tmp_path / "Maildir"
    async with AsyncLocalMailbox.open(f"maildir:{root}") as box:
        assert isinstance(box, AsyncMaildirMailbox) and box.path == str(root)
        uid = await box.folder("INBOX").append(
            message("a"), flags={Flag.SEEN, Flag.FLAGGED, Flag.ANSWERED, "$Work"}
        )
        (name,) = files(root / "cur")
        assert name.endswith(":2,FRSa")
        assert (root / "dovecot-keywords").read_text() == "0 $Work\n"
        await box.create_folder("Lists.Python")
        await box.create_folder("Entwürfe")
        assert (root / ".Lists.Python" / "maildirfolder").exists()
        assert (root / ".Entw&APw-rfe" / "cur").is_dir()
        names = {f.name: f for f in await box.folders()}
        assert {"INBOX", "Lists.Python", "Entwürfe"} == set(names)
        assert names["Lists.Python"].delimiter == "."
        await box.folder("INBOX").remove_flags([uid], {Flag.FLAGGED, "$Work"})
        (name,) = files(root / "cur")
        assert name.endswith(":2,RS")


@pytest.mark.anyio
async def test_maildir_sees_mail_other_programs_deliver(tmp_path: Path) -> None:
    root = tmp_path / "Maildir"
    async with AsyncLocalMailbox.open(f"maildir:{root}") as box:
        inbox = box.folder("INBOX")
        first = await inbox.append(message("ours"))
        # A delivery agent writes to tmp/ and renames into new/; a mail reader files into cur/.
        (root / "tmp" / "1700000000.M1P2.host").write_bytes(message("delivered"))
        os.rename(root / "tmp" / "1700000000.M1P2.host", root / "new" / "1700000000.M1P2.host")
        (root / "cur" / "1700000001.M1P3.host:2,ST").write_bytes(message("read elsewhere"))
        (root / "tmp" / "1700000002.M1P4.host").write_bytes(b"From: half a deliv")  # in flight
        fields = FetchField.FLAGS | FetchField.ENVELOPE
        infos = [i async for i in inbox.search(fields=fields)]
        subjects = [i.envelope.subject for i in infos if i.envelope]
        assert subjects == ["ours", "delivered", "read elsewhere"]
        assert infos[0].uid == first and n(infos[1].uid) > first
        assert infos[2].flags == frozenset({Flag.SEEN, Flag.DELETED})
        assert files(root / "new") == []
        assert "1700000000.M1P2.host:2," in files(root / "cur")
    async with AsyncLocalMailbox.open(f"maildir:{root}") as box:
        again = [i.uid async for i in box.folder("INBOX").search()]
        assert again == [i.uid for i in infos]


@pytest.mark.anyio
async def test_maildir_delivery_that_fails_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "Maildir"
    real_rename = os.rename

    def failing_rename(source: str, target: str) -> None:
        if os.sep + "tmp" + os.sep in str(source):
            raise OSError(28, "No space left on device")
        real_rename(source, target)

    async with AsyncLocalMailbox.open(f"maildir:{root}") as box:
        inbox = box.folder("INBOX")
        monkeypatch.setattr("unimail._local._maildir.os.rename", failing_rename)
        with pytest.raises(CommandError, match="No space left"):
            await inbox.append(message("lost?"))
        monkeypatch.undo()
        assert files(root / "tmp") == [] and files(root / "cur") == []
        assert (await inbox.status()).messages == 0


@pytest.mark.anyio
async def test_maildir_failure_to_record_uids_leaves_nothing_visible(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "Maildir"
    async with AsyncLocalMailbox.open(f"maildir:{root}") as box:
        inbox = box.folder("INBOX")
        before = await inbox.append(message("before"))
        validity = (await inbox.status()).uidvalidity

        def crash(self: _uidlist.UidList, folder: str) -> None:
            raise OSError(5, "Input/output error")

        monkeypatch.setattr(_uidlist.UidList, "save", crash)
        with pytest.raises(CommandError):
            await inbox.append_many([message("during"), message("also")])
        monkeypatch.undo()
        # The uids were not on disk: no message was renamed into cur/, tmp/ is clean.
        assert files(root / "tmp") == [] and len(files(root / "cur")) == 1
        after = await inbox.append(message("after"))
    async with AsyncLocalMailbox.open(f"maildir:{root}") as box:
        inbox = box.folder("INBOX")
        infos = [i async for i in inbox.search()]
        assert [i.envelope.subject for i in infos if i.envelope] == ["before", "after"]
        assert [i.uid for i in infos] == [before, after] and n(after) > n(before)
        assert (await inbox.status()).uidvalidity == validity


@pytest.mark.anyio
async def test_maildir_uid_list_is_a_journal(tmp_path: Path) -> None:
    root = tmp_path / "Maildir"
    uidlist = root / "unimail-uidlist"
    async with AsyncLocalMailbox.open(f"maildir:{root}") as box:
        inbox = box.folder("INBOX")
        uids = await inbox.append_many([message(f"m{i}") for i in range(10)])
        head = uidlist.read_bytes().split(b"\n")[0]
        size = uidlist.stat().st_size
        inode = uidlist.stat().st_ino
        more = await inbox.append(message("more"))
        # Appended to, not rewritten: the same file, one record longer.
        assert uidlist.stat().st_ino == inode and uidlist.read_bytes().startswith(head)
        uid, key = uidlist.read_bytes()[size:].decode().split()
        assert int(uid) == more and key + ":2," in files(root / "cur")
        # A crash cut the last record short: it is ignored, and cut off by the next append.
        with uidlist.open("ab") as file:
            file.write(b"999 torn-rec")
    async with AsyncLocalMailbox.open(f"maildir:{root}") as box:
        inbox = box.folder("INBOX")
        assert [i.uid async for i in inbox.search()] == [*uids, more]
        last = await inbox.append(message("last"))
        assert last == n(more) + 1 and b"torn-rec" not in uidlist.read_bytes()
        # Deleting most messages compacts the list (rewritten whole, under a new header).
        await inbox.delete([*uids, more][:-1])
        await inbox.append_many([message(f"n{i}") for i in range(70)])
        await inbox.delete([i.uid async for i in inbox.search()][1:])
        assert len(uidlist.read_bytes().splitlines()) < 40
        assert not uidlist.read_bytes().startswith(head)
    async with AsyncLocalMailbox.open(f"maildir:{root}") as box:
        inbox = box.folder("INBOX")
        assert [i.uid async for i in inbox.search()] == [more]
        assert await inbox.append(message("again")) == n(last) + 71


@pytest.mark.anyio
async def test_maildir_two_mailboxes_append_to_one_folder(tmp_path: Path) -> None:
    root = tmp_path / "Maildir"
    async with AsyncLocalMailbox.open(f"maildir:{root}") as one:
        async with AsyncLocalMailbox.open(f"maildir:{root}") as two:
            made = []
            for i in range(6):
                box = one if i % 2 else two
                made += await box.folder("INBOX").append_many([message(f"m{i}")] * 2)
            assert made == list(range(1, 13))
            for box in (one, two):
                infos = [i async for i in box.folder("INBOX").search()]
                assert [i.uid for i in infos] == made
                subjects = [i.envelope.subject for i in infos if i.envelope]
                assert subjects == [f"m{i // 2}" for i in range(12)]


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["maildir", "mbox", "memory"])
async def test_append_many_keeps_each_message_flags_and_date(tmp_path: Path, kind: str) -> None:
    url = f"{kind}:{tmp_path / 'store'}" if kind != "memory" else "memory:"
    when = datetime.datetime(2020, 5, 17, 8, 30, tzinfo=datetime.timezone.utc)
    async with AsyncLocalMailbox.open(url) as box:
        inbox = box.folder("INBOX")
        assert await inbox.append_many([]) == []
        made = await inbox.append_many(
            [message("plain"), (message("own"), {Flag.SEEN, "$Work"}, when), message("last")],
            flags={Flag.FLAGGED},
        )
        assert made == [1, 2, 3]
        fields = FetchField.FLAGS | FetchField.INTERNALDATE | FetchField.ENVELOPE
        infos = [i async for i in inbox.fetch(made, fields)]
        assert [i.envelope.subject for i in infos if i.envelope] == ["plain", "own", "last"]
        assert [i.flags for i in infos] == [{Flag.FLAGGED}, {Flag.SEEN, "$Work"}, {Flag.FLAGGED}]
        assert infos[1].internal_date == when and infos[0].internal_date != when
        with pytest.raises(InvalidArgument):
            await inbox.append_many([message("ok"), (message("bad"), {"\\Nope"}, None)])
        assert [i.uid async for i in inbox.search()] == made


@pytest.mark.anyio
async def test_maildir_lost_uid_list_means_new_uidvalidity(tmp_path: Path) -> None:
    root = tmp_path / "Maildir"
    async with AsyncLocalMailbox.open(f"maildir:{root}") as box:
        await box.folder("INBOX").append(message("a"))
        validity = (await box.folder("INBOX").status()).uidvalidity
    (root / "unimail-uidlist").unlink()
    async with AsyncLocalMailbox.open(f"maildir:{root}") as box:
        status = await box.folder("INBOX").status()
        assert status.messages == 1 and status.uidvalidity != validity


# Another process using the standard library's mbox locking (lockf + dot-lock): it takes the
# lock, says so, waits for a line on stdin, adds a message and unlocks.
HOLDER = """
import mailbox, sys
box = mailbox.mbox(sys.argv[1])
box.lock()
print("locked", flush=True)
sys.stdin.readline()
box.add(b"From: other@example.test\\nSubject: from the other process\\n\\nhi\\n")
box.flush()
box.unlock()
box.close()
"""


def hold_lock(path: Path) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
    return holder


def release(holder: subprocess.Popen[str]) -> None:
    assert holder.stdin is not None
    holder.stdin.write("go\n")
    holder.stdin.close()


@pytest.mark.anyio
async def test_mbox_waits_for_another_process_holding_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "inbox.mbox"
    path.write_bytes(b"")
    holder = hold_lock(path)
    try:
        async with AsyncLocalMailbox.open(f"mbox:{path}", timeout=0.3) as box:
            with pytest.raises(Timeout):
                await box.folder("INBOX").append(message("too early"))
        async with AsyncLocalMailbox.open(f"mbox:{path}") as box:
            releaser = threading.Timer(0.2, release, [holder])
            releaser.start()
            uid = await box.folder("INBOX").append(message("ours"))
            releaser.join()
            infos = [i async for i in box.folder("INBOX").search()]
    finally:
        release(holder) if holder.stdin and not holder.stdin.closed else None
        assert holder.wait(timeout=30) == 0
        if holder.stdout is not None:
            holder.stdout.close()
    # Our message went in after the other process's, which was not overwritten.
    assert [i.envelope.subject for i in infos if i.envelope] == ["from the other process", "ours"]
    assert infos[1].uid == uid
    parsed = mailbox.mbox(str(path))
    try:
        assert [m["Subject"] for m in parsed] == ["from the other process", "ours"]
    finally:
        parsed.close()
    assert "inbox.mbox.lock" not in files(tmp_path)  # no dot-lock left behind


@pytest.mark.anyio
async def test_mbox_single_file_keeps_state_in_headers(tmp_path: Path) -> None:
    path = tmp_path / "alice"
    other = mailbox.mbox(str(path))  # a delivery agent, before unimail ever looked
    other.add(message("delivered"))
    other.close()
    async with AsyncLocalMailbox.open(f"mbox:{path}") as box:
        assert isinstance(box, AsyncMboxMailbox)
        assert Capability.FOLDERS not in box.capabilities
        with pytest.raises(UnsupportedOperation):
            box.folder("Archive")
        with pytest.raises(UnsupportedOperation):
            await box.create_folder("Archive")
        inbox = box.folder("INBOX")
        body = "From here\n>From there\n>>From afar\nend\n"
        raw = message("ours", body).replace(b"Subject", b"X-UID: 77\nStatus: RO\nSubject")
        uid = await inbox.append(raw, flags={Flag.FLAGGED, "$Work"})
        assert uid is not None
        infos = [i async for i in inbox.search(fields=FetchField.FLAGS | FetchField.SIZE)]
        assert [i.flags for i in infos] == [frozenset(), {Flag.FLAGGED, "$Work"}]
        ours = await inbox.get_bytes(uid)
        assert ours == message("ours", body) and infos[1].size == len(ours)
        await inbox.add_flags([infos[0].uid], {Flag.SEEN})
    text = path.read_bytes()
    assert text.count(b"X-UID: ") == 2 and b"X-UID: 77" not in text
    assert b"\n>From here\n>>From there\n>>>From afar\n" in text  # mboxrd quoting
    assert text.startswith(b"From MAILER-DAEMON ") and b"\nX-UID: 1\nStatus: RO\nFrom: bob" in text
    async with AsyncLocalMailbox.open(f"mbox:{path}") as box:
        again = [i async for i in box.folder("INBOX").search(fields=FetchField.FLAGS)]
        assert [(i.uid, i.flags) for i in again] == [
            (infos[0].uid, {Flag.SEEN}),
            (uid, infos[1].flags),
        ]


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["maildir", "mbox"])
async def test_download_memory_stays_bounded(tmp_path: Path, kind: str) -> None:
    big = message("big", "0123456789abcde\n" * 4 * 1024 * 128)  # 8 MiB of lines
    async with AsyncLocalMailbox.open(f"{kind}:{tmp_path / 'store'}") as box:
        inbox = box.folder("INBOX")
        uid = await inbox.append(big)
        del big
        tracemalloc.start()
        try:
            size = await inbox.download(uid, tmp_path / "big.eml")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert size == 8 * 1024 * 1024 + len(message("big", ""))
    assert peak < 2 * 1024 * 1024, peak
