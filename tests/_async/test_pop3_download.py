"""The lossless POP3 download helper against the real Dovecot: both modes, a refusing
handler, and an interrupted run (the connection dropped with a message half handed over).

This file is the source of tests/_sync/test_pop3_download.py (tools/unasync.py). The crash of
a whole process (no cleanup code runs at all) is in tests/test_pop3_crash.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mailservers import MailServers
from unimail import (
    AsyncMailbox,
    AsyncPop3Downloader,
    AsyncPop3Mailbox,
    DownloadedMessage,
    FetchField,
    InvalidArgument,
)


def message(n: int) -> bytes:
    return (
        f"From: bob@example.test\r\nTo: alice@example.test\r\nSubject: number {n}\r\n"
        f"Message-ID: <{n}@download.example.test>\r\n\r\nBody {n}\r\n.starts with a dot\r\n"
    ).encode()


async def open_box(servers: MailServers) -> AsyncPop3Mailbox:
    box = await AsyncMailbox.open(
        f"pop3s://alice@{servers.host}:{servers.pop3s_port}",
        password=servers.users["alice"],
        ssl_context=servers.ssl_context(),
    )
    assert isinstance(box, AsyncPop3Mailbox)
    return box


async def on_server(servers: MailServers) -> list[bytes]:
    async with await open_box(servers) as box:
        inbox = box.folder()
        uids = [i.uid async for i in inbox.search(fields=FetchField.UID)]
        return [i.body or b"" async for i in inbox.fetch(uids, FetchField.BODY)]


class Store:
    """A handler that keeps what it was given, and can be told to fail."""

    def __init__(self, fail_at: int | None = None, crash_at: int | None = None) -> None:
        self.messages: list[DownloadedMessage] = []
        self.fail_at = fail_at
        self.crash_at = crash_at

    async def __call__(self, message: DownloadedMessage) -> None:
        if len(self.messages) == self.fail_at:
            raise OSError("disk full")
        self.messages.append(message)
        if len(self.messages) == self.crash_at:
            raise Interrupted  # the message was stored, the run did not learn it


class Interrupted(BaseException):
    """Stands for an interruption the run cannot handle (Ctrl-C, cancellation)."""


@pytest.mark.anyio
async def test_leave_on_server(alice: MailServers, tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite3"
    alice.seed("alice", [message(n) for n in range(3)])
    store = Store()
    async with await open_box(alice) as box:
        report = await AsyncPop3Downloader(box, state).run(store)
    assert [m.data for m in store.messages] == [message(n) for n in range(3)]
    assert not any(m.possibly_delivered for m in store.messages)
    assert report.delivered == tuple(m.uid for m in store.messages)
    assert (report.deleted, report.known, report.redelivered) == ((), 0, ())
    alice.seed("alice", [message(3)])
    async with await open_box(alice) as box:
        report = await AsyncPop3Downloader(box, state).run(store)
    assert [m.data for m in store.messages] == [message(n) for n in range(4)]
    assert len(report.delivered) == 1 and report.known == 3
    assert await on_server(alice) == [message(n) for n in range(4)]


@pytest.mark.anyio
async def test_delete_after_download(alice: MailServers, tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite3"
    alice.seed("alice", [message(n) for n in range(5)])
    store = Store()
    async with await open_box(alice) as box:
        report = await AsyncPop3Downloader(box, state, delete=True).run(store)
        assert len(report.deleted) == 5 and report.deleted == report.delivered
        # Marked only: another session still sees every message until this one QUITs.
        assert len(await on_server(alice)) == 5
    assert await on_server(alice) == []
    assert [m.data for m in store.messages] == [message(n) for n in range(5)]


@pytest.mark.anyio
async def test_a_refusing_handler_loses_and_duplicates_nothing(
    alice: MailServers, tmp_path: Path
) -> None:
    state = tmp_path / "state.sqlite3"
    alice.seed("alice", [message(n) for n in range(4)])
    first = Store(fail_at=2)
    async with await open_box(alice) as box:
        with pytest.raises(OSError, match="disk full"):
            await AsyncPop3Downloader(box, state, delete=True).run(first)
    assert [m.data for m in first.messages] == [message(0), message(1)]
    # Nothing was lost: the two refused/unreached messages are still there.
    assert message(2) in await on_server(alice) and message(3) in await on_server(alice)
    second = Store()
    async with await open_box(alice) as box:
        report = await AsyncPop3Downloader(box, state, delete=True).run(second)
    # The refused message comes again as a new one; the delivered ones never come again.
    assert [m.data for m in second.messages] == [message(2), message(3)]
    assert not any(m.possibly_delivered for m in second.messages)
    assert report.known == len(report.deleted) - 2
    assert await on_server(alice) == []


@pytest.mark.anyio
async def test_an_interrupted_run_is_announced_not_duplicated(
    alice: MailServers, tmp_path: Path
) -> None:
    state = tmp_path / "state.sqlite3"
    alice.seed("alice", [message(n) for n in range(4)])
    first = Store(crash_at=2)
    box = await open_box(alice)
    with pytest.raises(Interrupted):
        await AsyncPop3Downloader(box, state, delete=True).run(first)
    await box.abort()  # the connection drops: no QUIT, so no DELE takes effect
    assert await on_server(alice) == [message(n) for n in range(4)]
    second = Store()
    async with await open_box(alice) as box:
        report = await AsyncPop3Downloader(box, state, delete=True).run(second)
    # Message 1 was being handed over when the run stopped: it comes again, announced.
    assert [(m.data, m.possibly_delivered) for m in second.messages] == [
        (message(1), True), (message(2), False), (message(3), False),
    ]  # fmt: skip
    assert report.redelivered == (second.messages[0].uid,)
    assert report.known == 1 and len(report.deleted) == 4
    assert await on_server(alice) == []


@pytest.mark.anyio
async def test_the_record_is_exclusive(alice: MailServers, tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite3"
    alice.seed("alice", [message(0)])
    async with await open_box(alice) as box:
        downloader = AsyncPop3Downloader(box, state)
        assert downloader.account == f"alice@{alice.host}"
        seen: list[DownloadedMessage] = []

        async def nested(msg: DownloadedMessage) -> None:
            seen.append(msg)
            with pytest.raises(InvalidArgument, match="another download"):
                await AsyncPop3Downloader(box, state).run(Store())

        await downloader.run(nested)
        assert len(seen) == 1
    (tmp_path / "not-a-db").write_bytes(b"garbage" * 200)
    async with await open_box(alice) as box:
        with pytest.raises(InvalidArgument, match="not-a-db"):
            await AsyncPop3Downloader(box, tmp_path / "not-a-db").run(Store())
