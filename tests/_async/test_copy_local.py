"""``copy()`` between the real Dovecot and the local backends: an IMAP -> Maildir backup
(folders, flags, dates, a second run, interrupted runs) and its restore, Maildir -> IMAP.

This file is the source of tests/_sync/test_copy_local.py (tools/unasync.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mailservers import MailServers
from tests._async.test_copy import contents, hashes, imap, message
from tests._async.test_copy_resume import Crash, CrashAt, source_messages
from unimail import AsyncMailbox, CopyStage, FetchField, Flag, UnsupportedOperation, async_copy


async def maildir(path: Path) -> AsyncMailbox:
    return await AsyncMailbox.open(f"maildir:{path}")


def local_url(kind: str, path: Path) -> str:
    """The URL of a Maildir, or of a directory of mbox files, at ``path``."""
    if kind == "mbox":
        path.mkdir(exist_ok=True)
    return f"{kind}:{path}"


async def local(kind: str, path: Path) -> AsyncMailbox:
    return await AsyncMailbox.open(local_url(kind, path))


@pytest.mark.anyio
async def test_imap_backup_to_maildir_and_restore(alice: MailServers, tmp_path: Path) -> None:
    inbox = [message(n) for n in range(3)]
    lists = [message(n, body="list\r\n") for n in range(20, 23)]
    alice.seed("alice", inbox[:1], flags="S")
    alice.seed("alice", inbox[1:])
    alice.seed("alice", lists, folder="Lists/python")
    state = tmp_path / "backup.sqlite3"
    backup = tmp_path / "Maildir"
    async with await imap(alice, "alice") as source, await maildir(backup) as target:
        result = await async_copy(source, target, state=state)
        assert (result.copied, result.failed) == (6, 0)
        python = result.folders["Lists/python"].destination
        assert python == "Lists.python"  # the Maildir++ delimiter
        assert await contents(target) == hashes(inbox)
        assert await contents(target, python) == hashes(lists)
        infos = [i async for i in target.folder("INBOX").search(fields=FetchField.FLAGS)]
        assert sum(Flag.SEEN in (i.flags or ()) for i in infos) == 1
        again = await async_copy(source, target, state=state)
        assert (again.copied, again.skipped) == (0, 6)
    # The restore: the backup goes into bob's IMAP mailbox, with the IMAP folder names.
    async with await maildir(backup) as source, await imap(alice, "bob") as target:
        result = await async_copy(source, target, state=state)
        assert result.copied == 6
        assert result.folders[python].destination == "Lists/python"
        assert await contents(target) == hashes(inbox)
        assert await contents(target, "Lists/python") == hashes(lists)


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["maildir", "mbox"])
@pytest.mark.parametrize(
    ("stage", "count"),
    [(CopyStage.APPENDING, 2), (CopyStage.APPENDED, 1), (CopyStage.APPENDED, 5)],
)
async def test_interrupted_backup_resumes(
    alice: MailServers, tmp_path: Path, kind: str, stage: CopyStage, count: int
) -> None:
    # "From the body" lines: an mbox stores them quoted, and the copy is still recognised.
    messages = [*source_messages(), message(8, body="From the body\r\n>From quoted\r\n")]
    alice.seed("alice", messages)
    state = tmp_path / "backup.sqlite3"
    async with await imap(alice, "alice") as source:
        async with await local(kind, tmp_path / "backup") as target:
            with pytest.raises(Crash):
                await async_copy(source, target, state=state, progress=CrashAt(stage, count))
        async with await local(kind, tmp_path / "backup") as target:
            result = await async_copy(source, target, state=state)
            assert result.failed == 0
            assert await contents(target) == hashes(messages)
            again = await async_copy(source, target, state=state)
            assert (again.copied, again.skipped) == (0, len(messages))


@pytest.mark.anyio
async def test_imap_to_mbox_folders_and_a_single_mbox_file(
    alice: MailServers, tmp_path: Path
) -> None:
    alice.seed("alice", [message(1)])
    alice.seed("alice", [message(2)], folder="Lists/python")
    async with await imap(alice, "alice") as source:
        async with await local("mbox", tmp_path / "mail") as target:
            result = await async_copy(source, target, state=tmp_path / "s")
            assert result.folders["Lists/python"].destination == "Lists.python"
            assert await contents(target, "Lists.python") == hashes([message(2)])
        async with await AsyncMailbox.open(f"mbox:{tmp_path / 'one.mbox'}") as single:
            with pytest.raises(UnsupportedOperation) as info:
                await async_copy(source, single, state=tmp_path / "s")
            assert info.value.capability == "FOLDERS"
            result = await async_copy(
                source, single, state=tmp_path / "s", folders=["Lists/python"],
                mapping={"Lists/python": "INBOX"},
            )  # fmt: skip
            assert await contents(single) == hashes([message(2)])


@pytest.mark.anyio
async def test_sync_flags_into_a_maildir(alice: MailServers, tmp_path: Path) -> None:
    alice.seed("alice", [message(1), message(2)])
    state = tmp_path / "s"
    async with await imap(alice, "alice") as source, await maildir(tmp_path / "M") as target:
        await async_copy(source, target, state=state)
        inbox = source.folder("INBOX")
        uids = [i.uid async for i in inbox.search(fields=FetchField.UID)]
        await inbox.add_flags(uids[1:], {Flag.SEEN, Flag.ANSWERED})
        result = await async_copy(source, target, state=state, sync_flags=True)
        assert result.flags_updated == 1
        infos = [i async for i in target.folder("INBOX").search(fields=FetchField.FLAGS)]
        assert sorted(len(i.flags or ()) for i in infos) == [0, 2]
