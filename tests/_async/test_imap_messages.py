"""The IMAP backend against the real Dovecot: changing messages (flags, append, copy, move,
delete), a UIDVALIDITY change, thousands of uids with an early break, a download streamed to
a file.

This file is the source of tests/_sync/test_imap_messages.py (tools/unasync.py): every test
runs on asyncio, on trio, and through the generated sync facade.
"""

from __future__ import annotations

import datetime
import io
import os
import tracemalloc
from contextlib import aclosing
from pathlib import Path

import pytest

from mailservers import MailServers
from tests._async.test_imap import message, url
from unimail import (
    AsyncMailbox,
    CommandError,
    FetchField,
    Flag,
    InvalidArgument,
    Q,
)


@pytest.mark.anyio
async def test_flags_append_copy_move_delete(alice: MailServers) -> None:
    alice.seed("alice", [message(f"m{i}") for i in range(5)])
    async with AsyncMailbox.open(
        url(alice), password=alice.users["alice"], ssl_context=alice.ssl_context()
    ) as box:
        inbox = box.folder("INBOX")
        uids = [i.uid async for i in inbox.search(fields=FetchField.UID)]
        assert len(uids) == 5
        await inbox.add_flags(uids[:2], {Flag.SEEN, "$Important"})
        await inbox.remove_flags(uids[1:2], {"$Important"})
        flags = {i.uid: i.flags async for i in inbox.fetch(uids, FetchField.FLAGS)}
        assert {Flag.SEEN, "$Important"} <= (flags[uids[0]] or set())
        assert "$Important" not in (flags[uids[1]] or ())
        await inbox.set_flags(uids[:1], {Flag.FLAGGED})
        found = [i.uid async for i in inbox.search(Q.flagged(), fields=FetchField.UID)]
        assert found == uids[:1]
        assert (await inbox.status()).unseen == 4

        await box.create_folder("Archive")
        archive = box.folder("Archive")
        when = datetime.datetime(2020, 2, 29, 12, 30, 5, tzinfo=datetime.timezone.utc)
        new_uid = await archive.append(message("appended"), flags={Flag.SEEN}, internal_date=when)
        assert isinstance(new_uid, int)
        [appended] = [i async for i in archive.fetch([new_uid], FetchField.INTERNALDATE)]
        assert appended.internal_date == when

        copied = await inbox.copy(uids[2:3], "Archive")
        assert list(copied) == uids[2:3]
        moved = await inbox.move(uids[3:], "Archive")
        assert sorted(moved) == uids[3:]
        assert (await archive.status()).messages == 4
        assert (await inbox.status()).messages == 3

        # delete() removes exactly the given uids, even when others are marked \Deleted.
        await inbox.add_flags(uids[1:2], {Flag.DELETED})
        await inbox.delete(uids[:1])
        left = [i.uid async for i in inbox.search(fields=FetchField.UID)]
        assert left == uids[1:3]


@pytest.mark.anyio
async def test_uidvalidity_change_voids_old_uids(alice: MailServers) -> None:
    async with AsyncMailbox.open(
        url(alice), password=alice.users["alice"], ssl_context=alice.ssl_context()
    ) as box:
        await box.create_folder("Volatile")
        old = box.folder("Volatile")
        uid = await old.append(message("before"))
        assert uid is not None
        await box.delete_folder("Volatile")
        await box.create_folder("Volatile")
        await box.folder("Volatile").append(message("after"))
        with pytest.raises(InvalidArgument, match="UIDVALIDITY"):
            await old.add_flags([uid], {Flag.SEEN})
        fresh = [i async for i in box.folder("Volatile").search()]
        assert [i.envelope.subject for i in fresh if i.envelope] == ["after"]
        assert fresh[0].flags is not None and Flag.SEEN not in fresh[0].flags


@pytest.mark.anyio
async def test_many_uids_and_an_early_break(alice: MailServers) -> None:
    alice.seed("alice", [message(f"bulk {i}") for i in range(3000)])
    async with AsyncMailbox.open(
        url(alice), password=alice.users["alice"], ssl_context=alice.ssl_context()
    ) as box:
        inbox = box.folder("INBOX")
        uids = [i.uid async for i in inbox.search(fields=FetchField.UID)]
        every_other = uids[::2]  # 1,500 separate uids: "1,3,5,..." is longer than one line
        sizes = [i.size async for i in inbox.fetch(every_other, FetchField.SIZE)]
        assert len(sizes) == 1500 and all(sizes)
        async with aclosing(inbox.fetch(uids, FetchField.ENVELOPE)) as infos:
            async for info in infos:
                assert info.envelope is not None and info.envelope.subject == "bulk 0"
                break  # the rest of the response is drained before the next command
        assert (await inbox.status()).messages == 3000
        assert (await inbox.get(uids[-1]))["Subject"] == "bulk 2999"


@pytest.mark.anyio
async def test_download_streams_to_a_file(alice: MailServers, tmp_path: Path) -> None:
    line = b"0123456789abcdef" * 4 + b"\r\n"  # 66 bytes
    big = message("big", "") + line * (20 * 1024 * 1024 // len(line))  # about 20 MB
    alice.seed("alice", [big])
    async with AsyncMailbox.open(
        url(alice), password=alice.users["alice"], ssl_context=alice.ssl_context()
    ) as box:
        inbox = box.folder("INBOX")
        [info] = [i async for i in inbox.search(fields=FetchField.UID | FetchField.SIZE)]
        seen: list[tuple[int, int | None]] = []
        target = tmp_path / "big.eml"
        tracemalloc.start()
        try:
            size = await inbox.download(info.uid, target, progress=lambda d, t: seen.append((d, t)))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert size == info.size == len(big) == target.stat().st_size
        assert target.read_bytes() == big
        assert peak < 8 * 1024 * 1024  # bounded by chunks, not by the 20 MB message
        assert seen[-1] == (len(big), len(big)) and len(seen) > 10
        buffer = io.BytesIO()
        assert await inbox.download(info.uid, buffer) == len(big)
        assert buffer.getvalue() == big
        with pytest.raises(CommandError):
            await inbox.download(int(info.uid) + 1, tmp_path / "missing.eml")
        assert sorted(os.listdir(tmp_path)) == ["big.eml"]
        # The connection is in step after all that.
        assert (await inbox.status()).messages == 1
