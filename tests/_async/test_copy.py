"""``copy()`` against the real Dovecot: IMAP -> IMAP between two users, POP3 -> IMAP with
``delete_after``, a second run that copies only what is new, and a UIDVALIDITY change.

This file is the source of tests/_sync/test_copy.py (tools/unasync.py). Interrupted runs are
in test_copy_resume.py; a killed process in tests/test_copy_crash.py.
"""

from __future__ import annotations

import collections
import datetime
from pathlib import Path

import pytest

from mailservers import MailServers
from unimail import (
    AsyncMailbox,
    CopyProgress,
    CopyStage,
    FetchField,
    Flag,
    FolderNotFound,
    InvalidArgument,
    Limits,
    Q,
    UnsupportedOperation,
    async_copy,
)
from unimail._copy_models import Fingerprint


def message(n: int, *, message_id: bool = True, body: str = "") -> bytes:
    header = f"Message-ID: <{n}@copy.example.test>\r\n" if message_id else ""
    return (
        f"From: bob@example.test\r\nTo: alice@example.test\r\nSubject: number {n}\r\n{header}"
        f"Date: Fri, 27 Nov 2026 10:00:00 +0000\r\n\r\nBody {n}\r\n{body}"
    ).encode()


async def imap(servers: MailServers, user: str) -> AsyncMailbox:
    return await AsyncMailbox.open(
        f"imaps://{user}@{servers.host}:{servers.imaps_port}",
        password=servers.users[user],
        ssl_context=servers.ssl_context(),
    )


async def pop3(servers: MailServers, user: str) -> AsyncMailbox:
    return await AsyncMailbox.open(
        f"pop3s://{user}@{servers.host}:{servers.pop3s_port}",
        password=servers.users[user],
        ssl_context=servers.ssl_context(),
    )


async def contents(box: AsyncMailbox, folder: str = "INBOX") -> collections.Counter[str]:
    """The messages of a folder, by content (a multiset of SHA-256)."""
    found: collections.Counter[str] = collections.Counter()
    inbox = box.folder(folder)
    uids = [i.uid async for i in inbox.search(fields=FetchField.UID)]
    async for info in inbox.fetch(uids, FetchField.BODY):
        assert info.body is not None
        found[Fingerprint.of(info.body).sha256] += 1
    return found


def hashes(messages: list[bytes]) -> collections.Counter[str]:
    return collections.Counter(Fingerprint.of(m).sha256 for m in messages)


@pytest.mark.anyio
async def test_imap_to_imap_keeps_flags_dates_and_folders(
    alice: MailServers, tmp_path: Path
) -> None:
    inbox = [message(n) for n in range(3)]
    archive = [message(n, body="archived\r\n") for n in range(10, 12)]
    alice.seed("alice", inbox[:2])
    alice.seed("alice", inbox[2:], flags="FS")
    alice.seed("alice", archive, folder="Archive/2026")
    state = tmp_path / "copy.sqlite3"
    events: list[CopyProgress] = []
    async with await imap(alice, "alice") as source, await imap(alice, "bob") as target:
        result = await async_copy(source, target, state=state, progress=events.append)
        assert (result.copied, result.skipped, result.failed) == (5, 0, 0)
        assert result.folders["INBOX"].copied == 3
        assert result.folders["Archive/2026"].destination == "Archive/2026"
        assert await contents(target) == hashes(inbox)
        assert await contents(target, "Archive/2026") == hashes(archive)
        # Flags and internal dates came along.
        fields = FetchField.FLAGS | FetchField.INTERNALDATE | FetchField.ENVELOPE
        before = {
            i.envelope.message_id if i.envelope else None: i
            async for i in source.folder("INBOX").search(fields=fields)
        }
        after = [i async for i in target.folder("INBOX").search(fields=fields)]
        for info in after:
            assert info.envelope is not None
            original = before[info.envelope.message_id]
            assert info.internal_date == original.internal_date
            assert (info.flags or set()) - {Flag.RECENT} == (original.flags or set()) - {
                Flag.RECENT
            }
        assert sum(Flag.FLAGGED in (i.flags or ()) for i in after) == 1
        stages = [e.stage for e in events]
        assert stages.count(CopyStage.APPENDED) == 5 and stages.count(CopyStage.FOLDER) == 2
        assert events[-1].done == events[-1].total > 0

        # A second run copies nothing; a third copies only the new message.
        again = await async_copy(source, target, state=state)
        assert (again.copied, again.skipped) == (0, 5)
        await source.folder("INBOX").append(message(99))
        third = await async_copy(source, target, state=state)
        assert (third.copied, third.skipped) == (1, 5)
        assert await contents(target) == hashes([*inbox, message(99)])


@pytest.mark.anyio
async def test_pop3_to_imap_migration_deletes_after_copy(
    alice: MailServers, tmp_path: Path
) -> None:
    messages = [message(n) for n in range(4)] + [message(7, message_id=False)]
    alice.seed("alice", messages)
    state = tmp_path / "copy.sqlite3"
    async with await imap(alice, "bob") as target:
        async with await pop3(alice, "alice") as source:
            result = await async_copy(source, target, state=state, delete_after=True)
            assert (result.copied, result.deleted) == (5, 5)
        # The POP3 session ended with QUIT: the copied messages are gone from the source.
        async with await pop3(alice, "alice") as source:
            assert [i async for i in source.folder("INBOX").search()] == []
        assert await contents(target) == hashes(messages)
        # POP3 has no internal dates: the copies got the messages' own dates.
        fields = FetchField.INTERNALDATE
        dates = {i.internal_date async for i in target.folder("INBOX").search(fields=fields)}
        assert dates == {datetime.datetime(2026, 11, 27, 10, tzinfo=datetime.timezone.utc)}


@pytest.mark.anyio
async def test_a_query_and_a_mapping(alice: MailServers, tmp_path: Path) -> None:
    alice.seed("alice", [message(1), message(2)])
    alice.seed("alice", [message(3)], flags="S")
    async with await imap(alice, "alice") as source, await imap(alice, "bob") as target:
        result = await async_copy(
            source, target, state=tmp_path / "s", folders=["inbox"],
            mapping={"INBOX": "From alice"}, query=Q.unseen(),
        )  # fmt: skip
        assert result.folders["INBOX"].destination == "From alice"
        assert result.copied == 2
        assert await contents(target, "From alice") == hashes([message(1), message(2)])
        with pytest.raises(FolderNotFound):
            await async_copy(source, target, state=tmp_path / "s", folders=["Nope"])


@pytest.mark.anyio
async def test_uidvalidity_change_copies_nothing_twice(alice: MailServers, tmp_path: Path) -> None:
    old = [message(n) for n in range(3)] + [message(5, message_id=False)] * 2
    alice.seed("alice", old, folder="Work")
    state = tmp_path / "copy.sqlite3"
    async with await imap(alice, "alice") as source, await imap(alice, "bob") as target:
        first = await async_copy(source, target, state=state, folders=["Work"])
        assert first.copied == 5
        validity = (await source.folder("Work").status()).uidvalidity
        # The same messages in a folder with another UIDVALIDITY (as after a server restore).
        await source.create_folder("Work2")
        work = source.folder("Work")
        await work.copy([i.uid async for i in work.search(fields=FetchField.UID)], "Work2")
        await source.delete_folder("Work")
        await source.rename_folder("Work2", "Work")
        await source.folder("Work").append(message(42))
        assert (await source.folder("Work").status()).uidvalidity != validity
        second = await async_copy(source, target, state=state, folders=["Work"])
        assert (second.copied, second.skipped) == (1, 5)
        assert await contents(target, "Work") == hashes([*old, message(42)])
        third = await async_copy(source, target, state=state, folders=["Work"])
        assert (third.copied, third.skipped) == (0, 6)


@pytest.mark.anyio
async def test_refused_before_anything_is_copied(alice: MailServers, tmp_path: Path) -> None:
    alice.seed("alice", [message(1)])
    async with await imap(alice, "alice") as imap_box, await pop3(alice, "bob") as pop3_box:
        with pytest.raises(UnsupportedOperation) as info:
            await async_copy(imap_box, pop3_box, state=tmp_path / "s")
        assert info.value.capability == "APPEND"


@pytest.mark.anyio
async def test_internal_date_is_kept(alice: MailServers, tmp_path: Path) -> None:
    when = datetime.datetime(2001, 2, 3, 4, 5, 6, tzinfo=datetime.timezone.utc)
    async with await imap(alice, "alice") as source, await imap(alice, "bob") as target:
        await source.folder("INBOX").append(message(1), internal_date=when, flags={Flag.SEEN})
        await async_copy(source, target, state=tmp_path / "s")
        infos = [i async for i in target.folder("INBOX").search(fields=FetchField.INTERNALDATE)]
        assert [i.internal_date for i in infos] == [when]


@pytest.mark.anyio
async def test_a_message_over_the_size_limit_fails_alone(
    alice: MailServers, tmp_path: Path
) -> None:
    small, large = message(1), message(2, body="x" * 3000 + "\r\n")
    alice.seed("alice", [small, large, message(3)])
    source = await AsyncMailbox.open(
        f"imaps://alice@{alice.host}:{alice.imaps_port}", password=alice.users["alice"],
        ssl_context=alice.ssl_context(), limits=Limits(max_message_size=2000),
    )  # fmt: skip
    async with source, await imap(alice, "bob") as target:
        result = await async_copy(source, target, state=tmp_path / "s")
        assert (result.copied, result.failed) == (2, 1)
        ((_uid, reason),) = result.folders["INBOX"].errors
        assert "max_message_size" in reason
        assert await contents(target) == hashes([small, message(3)])


@pytest.mark.anyio
async def test_a_folder_is_never_copied_into_itself(alice: MailServers, tmp_path: Path) -> None:
    alice.seed("alice", [message(1)])
    async with await imap(alice, "alice") as source, await imap(alice, "alice") as same:
        with pytest.raises(InvalidArgument, match="into itself"):
            await async_copy(source, same, state=tmp_path / "s")
        result = await async_copy(
            source, same, state=tmp_path / "s", folders=["INBOX"], mapping={"INBOX": "Copy"}
        )
        assert result.copied == 1
        assert await contents(same, "Copy") == hashes([message(1)])
        # One connection for both sides works too.
        result = await async_copy(
            source, source, state=tmp_path / "s2", folders=["INBOX"], mapping={"INBOX": "Two"}
        )
        assert result.copied == 1
        assert await contents(source, "Two") == hashes([message(1)])


async def flags_by_id(box: AsyncMailbox) -> dict[str | None, frozenset[Flag | str]]:
    fields = FetchField.FLAGS | FetchField.ENVELOPE
    return {
        i.envelope.message_id if i.envelope else None: frozenset(i.flags or ()) - {Flag.RECENT}
        async for i in box.folder("INBOX").search(fields=fields)
    }


@pytest.mark.anyio
async def test_sync_flags_carries_later_flag_changes(alice: MailServers, tmp_path: Path) -> None:
    alice.seed("alice", [message(n) for n in range(3)])
    state = tmp_path / "s"
    async with await imap(alice, "alice") as source, await imap(alice, "bob") as target:
        await async_copy(source, target, state=state)
        inbox = source.folder("INBOX")
        uids = [i.uid async for i in inbox.search(fields=FetchField.UID)]
        await inbox.add_flags(uids[:1], {Flag.FLAGGED})
        await inbox.add_flags(uids[1:2], {Flag.SEEN, "$Label1"})
        plain = await async_copy(source, target, state=state)
        assert plain.flags_updated == 0
        assert await flags_by_id(target) != await flags_by_id(source)
        synced = await async_copy(source, target, state=state, sync_flags=True)
        assert (synced.copied, synced.flags_updated) == (0, 2)
        assert await flags_by_id(target) == await flags_by_id(source)
        await inbox.remove_flags(uids[1:2], {Flag.SEEN})
        again = await async_copy(source, target, state=state, sync_flags=True)
        assert again.flags_updated == 1
        assert await flags_by_id(target) == await flags_by_id(source)
