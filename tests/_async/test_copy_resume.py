"""Interrupted copies converge: a run stopped at any point of any message (before its append,
after the destination confirmed it but before it was recorded, after it was recorded, while
deleting) is resumed by the next run, and the destination then holds exactly the source's
messages (compared by content), none lost and none twice.

This file is the source of tests/_sync/test_copy_resume.py (tools/unasync.py).
"""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Literal

import pytest

from mailservers import MailServers
from tests._async.test_copy import contents, hashes, imap, message, pop3
from tests.cutting_proxy import CuttingProxy
from unimail import AsyncMailbox, ConnectionLost, CopyProgress, CopyStage, Timeout, async_copy


class Crash(Exception):
    """Injected by the progress callback."""


class CrashAt:
    """A progress callback that raises at the ``count``-th report of ``stage``."""

    def __init__(self, stage: CopyStage, count: int) -> None:
        self.stage, self.count, self.seen = stage, count, 0

    def __call__(self, event: CopyProgress) -> None:
        if event.stage is self.stage:
            self.seen += 1
            if self.seen == self.count:
                raise Crash(f"{self.stage} #{self.count}")


def source_messages() -> list[bytes]:
    # Identical twins and messages without Message-ID: uids alone cannot tell them apart.
    return [
        message(1), message(2), message(2), message(3, message_id=False),
        message(3, message_id=False), message(4, message_id=False, body="other\r\n"),
        message(5),
    ]  # fmt: skip


POINTS = [
    (stage, count)
    for stage in (CopyStage.APPENDING, CopyStage.APPENDED, CopyStage.MESSAGE)
    for count in (1, 2, 3, 5, 7)
]


@pytest.mark.anyio
@pytest.mark.parametrize(("stage", "count"), POINTS)
async def test_imap_to_imap_resumes_after_a_failure(
    alice: MailServers, tmp_path: Path, stage: CopyStage, count: int
) -> None:
    messages = source_messages()
    alice.seed("alice", messages)
    state = tmp_path / "copy.sqlite3"
    async with await imap(alice, "alice") as source, await imap(alice, "bob") as target:
        with pytest.raises(Crash):
            await async_copy(source, target, state=state, progress=CrashAt(stage, count))
        result = await async_copy(source, target, state=state)
        assert result.failed == 0
        assert await contents(target) == hashes(messages)
        assert result.copied + result.skipped == len(messages)
        again = await async_copy(source, target, state=state)
        assert (again.copied, again.skipped) == (0, len(messages))


@pytest.mark.anyio
async def test_repeated_interruptions_converge(alice: MailServers, tmp_path: Path) -> None:
    messages = source_messages() * 2
    alice.seed("alice", messages)
    state = tmp_path / "copy.sqlite3"
    runs = 0
    async with await imap(alice, "alice") as source, await imap(alice, "bob") as target:
        # Each run gets one step further before it is stopped, alternating the stage.
        stages = [CopyStage.APPENDED, CopyStage.APPENDING]
        while True:
            runs += 1
            crash = CrashAt(stages[runs % 2], 2)
            try:
                await async_copy(source, target, state=state, progress=crash)
            except Crash:
                continue
            break
        # Stopped twice at least: a round of messages goes in one append_many, so one run
        # gets further than one message (in a round: before it, or before its "done").
        assert runs >= 3
        assert await contents(target) == hashes(messages)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("marker", "side", "occurrence"),
    [
        # The connection drops after the server stored a round (one MULTIAPPEND of the
        # messages sharing flags and date), before the client heard.
        (b"APPENDUID", "server", 1),
        # ... and as the client sends an APPEND: the round never reaches the server.
        (b"APPEND", "client", 1),
        # ... in the middle of a round, and at its last message (a MULTIAPPEND cut short
        # stores none of it: RFC 3502 makes it all or nothing).
        (b"Subject: number 3", "client", 1),
        (b"Subject: number 5", "client", 1),
    ],
)
async def test_connection_dropped_around_an_append(
    alice: MailServers, tmp_path: Path, marker: bytes, side: Literal["client", "server"],
    occurrence: int,
) -> None:  # fmt: skip
    messages = source_messages()
    alice.seed("alice", messages)
    state = tmp_path / "copy.sqlite3"
    async with await imap(alice, "alice") as source:
        with CuttingProxy(
            alice.host, alice.imap_port, marker=marker, side=side, occurrence=occurrence
        ) as proxy:
            target = await AsyncMailbox.open(
                f"imap://bob@127.0.0.1:{proxy.port}", password=alice.users["bob"],
                security="plaintext", allow_insecure_auth=True,
            )  # fmt: skip
            async with target:
                with pytest.raises((ConnectionLost, Timeout)):
                    await async_copy(source, target, state=state)
            assert proxy.cut
        async with await imap(alice, "bob") as target:
            result = await async_copy(source, target, state=state)
            assert result.failed == 0
            assert await contents(target) == hashes(messages)


@pytest.mark.anyio
@pytest.mark.parametrize("count", [1, 3, 6])
async def test_pop3_delete_after_resumes(alice: MailServers, tmp_path: Path, count: int) -> None:
    messages = source_messages()
    alice.seed("alice", messages)
    state = tmp_path / "copy.sqlite3"
    async with await imap(alice, "bob") as target:
        async with await pop3(alice, "alice") as source:
            with pytest.raises(Crash):
                await async_copy(
                    source, target, state=state, delete_after=True,
                    progress=CrashAt(CopyStage.APPENDED, count),
                )  # fmt: skip
        async with await pop3(alice, "alice") as source:
            result = await async_copy(source, target, state=state, delete_after=True)
            assert result.failed == 0
        async with await pop3(alice, "alice") as source:
            left = [i async for i in source.folder("INBOX").search()]
            assert left == []
        assert await contents(target) == hashes(messages)
        assert sum(collections.Counter(await contents(target)).values()) == len(messages)
