"""Messages whose first line looks like a POP3 status line ("+OK ...", "-ERR ..."), read in
pipelined batches: fetch, search and the download helper get past them (the client logs in
again and asks for such a message alone) without losing, duplicating or mixing up a message,
and a server that really answers out of step still raises ProtocolError.

Against the real Dovecot, then against scripted servers for what Dovecot will not do (a
maildrop renumbered between the sessions with exact command lines checked, a server that
answers with one line).

This file is the source of tests/_sync/test_pop3_status_line_body.py (tools/unasync.py).
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from pathlib import Path

import pytest

from mailservers import MailServers
from tests._async.hostile_client import open_client
from tests._async.test_pop3_download import open_box
from tests.hostile import PASSWORD, HostileServer
from tests.hostile_dialects import POP3
from tests.scripted_server import ReadLine, ReadUntilEOF, Send, StartTLS, Step
from unimail import (
    AsyncPop3Downloader,
    AsyncPop3Mailbox,
    ConnectionLost,
    DownloadedMessage,
    FetchField,
    ProtocolError,
    Q,
    Timeout,
)
from unimail._proto.pop3._message import header_block


def message(n: int, first: bytes = b"") -> bytes:
    head = first + b"\r\n" if first else b""
    return (
        head
        + (
            f"From: bob@example.test\r\nTo: alice@example.test\r\nSubject: number {n}\r\n"
            f"Message-ID: <{n}@status-line.example.test>\r\n\r\nBody {n}\r\n.a dotted line\r\n"
        ).encode()
    )


# Raw messages whose first header line is a POP3 status line, each form the core looks at.
ODD = [message(1, b"+OK not a reply"), message(3, b"-ERR nor this"), message(5, b"+OK")]
MIXED = [message(0), ODD[0], message(2), ODD[1], message(4), ODD[2], message(6)]


async def uids_of(box: AsyncPop3Mailbox) -> list[str]:
    return [str(i.uid) async for i in box.folder().search(fields=FetchField.UID)]


async def on_server(servers: MailServers) -> list[bytes]:
    async with await open_box(servers) as box:
        uids = await uids_of(box)
        return [i.body or b"" async for i in box.folder().fetch(uids, FetchField.BODY)]


# -- against Dovecot -----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_fetch_gets_past_messages_that_start_like_a_status_line(alice: MailServers) -> None:
    alice.seed("alice", MIXED)
    async with await open_box(alice) as box:
        assert box.pipelining  # the batch is pipelined: each odd message is ambiguous in it
        uids = await uids_of(box)
        first = box.client
        inbox = box.folder()
        got = [(i.uid, i.body) async for i in inbox.fetch(uids, FetchField.BODY)]
        assert got == list(zip(uids, MIXED, strict=True))  # each once, in order, byte-exact
        assert box.client is not first  # it did log in again
        # Headers (TOP n 0) too: each header block once, under its own uid.
        fields = FetchField.HEADERS | FetchField.SIZE
        got_headers = [(i.uid, i.headers, i.size) async for i in inbox.fetch(uids, fields)]
        assert got_headers == [
            (u, header_block(m), len(m)) for u, m in zip(uids, MIXED, strict=True)
        ]
        # The new session is in step and usable.
        assert await inbox.get_bytes(uids[3]) == ODD[1]
        assert (await inbox.status()).messages == len(MIXED)


@pytest.mark.anyio
async def test_search_by_body_gets_past_them(alice: MailServers) -> None:
    alice.seed("alice", MIXED)
    async with await open_box(alice) as box:
        inbox = box.folder()
        found = [i.body async for i in inbox.search(Q.body("Body"), fields=FetchField.BODY)]
        assert found == MIXED


@pytest.mark.anyio
async def test_deletions_marked_before_logging_in_again_still_happen(alice: MailServers) -> None:
    alice.seed("alice", MIXED)
    async with await open_box(alice) as box:
        uids = await uids_of(box)
        inbox = box.folder()
        await inbox.delete([uids[0], uids[2]])
        first = box.client
        got = [(i.uid, i.body) async for i in inbox.fetch(uids, FetchField.BODY)]
        assert box.client is not first
        # The marked ones are not read; the others are, once each.
        keep = [n for n in range(len(MIXED)) if n not in (0, 2)]
        assert got == [(uids[n], MIXED[n]) for n in keep]
        # The dead session deleted nothing; the new one has them marked again.
        assert (await inbox.status()).messages == len(keep)
    assert await on_server(alice) == [MIXED[n] for n in keep]


@pytest.mark.anyio
async def test_a_maildrop_renumbered_in_between_is_followed_by_uidl(alice: MailServers) -> None:
    alice.seed("alice", MIXED)
    async with await open_box(alice) as box:
        uids = await uids_of(box)
        got: list[tuple[object, bytes | None]] = []
        async for info in box.folder().fetch(uids, FetchField.BODY):
            got.append((info.uid, info.body))
            if len(got) == 1:
                # Another client deletes message 1: the next session numbers every other
                # message one lower.
                async with await open_box(alice) as other:
                    await other.folder().delete([uids[0]])
        assert got == list(zip(uids, MIXED, strict=True))
        assert await box.folder().get_bytes(uids[5]) == ODD[2]
        assert (await box.folder().status()).messages == len(MIXED) - 1


class Store:
    def __init__(self) -> None:
        self.messages: list[DownloadedMessage] = []

    async def __call__(self, message: DownloadedMessage) -> None:
        self.messages.append(message)


@pytest.mark.anyio
async def test_download_gets_past_them_and_deletes_the_right_ones(
    alice: MailServers, tmp_path: Path
) -> None:
    state = tmp_path / "state.sqlite3"
    alice.seed("alice", MIXED[:2])
    async with await open_box(alice) as box:
        report = await AsyncPop3Downloader(box, state).run(store := Store())
    assert [m.data for m in store.messages] == MIXED[:2]
    assert len(report.delivered) == 2
    alice.seed("alice", MIXED[2:])
    async with await open_box(alice) as box:
        uids = await uids_of(box)
        # Delete mode: DELE of the two known messages, then RETRs, all pipelined; the dead
        # sessions deleted nothing, the last one deletes all.
        report = await AsyncPop3Downloader(box, state, delete=True).run(store := Store())
    assert [(m.uid, m.data) for m in store.messages] == list(zip(uids[2:], MIXED[2:], strict=True))
    assert not any(m.possibly_delivered for m in store.messages)
    assert report.delivered == tuple(uids[2:]) and report.known == 2
    assert sorted(report.deleted) == sorted(uids)
    assert await on_server(alice) == []
    async with await open_box(alice) as box:
        report = await AsyncPop3Downloader(box, state).run(store := Store())
    assert store.messages == [] and report.delivered == ()


@pytest.mark.anyio
async def test_download_leaving_on_server_records_each_once(
    alice: MailServers, tmp_path: Path
) -> None:
    state = tmp_path / "state.sqlite3"
    alice.seed("alice", MIXED)
    async with await open_box(alice) as box:
        uids = await uids_of(box)
        report = await AsyncPop3Downloader(box, state).run(store := Store())
    assert [(m.uid, m.data) for m in store.messages] == list(zip(uids, MIXED, strict=True))
    assert report.delivered == tuple(uids) and report.deleted == ()
    assert await on_server(alice) == MIXED
    async with await open_box(alice) as box:
        report = await AsyncPop3Downloader(box, state).run(store := Store())
    assert store.messages == [] and report.known == len(MIXED)


# -- against scripted servers ----------------------------------------------------------------


class TwoSessions(HostileServer):
    """Plays ``first`` on the first connection, then ``second`` on the next one (if any)."""

    def __init__(self, first: Sequence[Step], second: Sequence[Step]) -> None:
        super().__init__(first)
        self._second = tuple(second)
        self.first_lines: list[bytes] = []
        self.first_received = b""
        self.connections = 0

    def __enter__(self) -> TwoSessions:
        """Start the server thread."""
        super().__enter__()
        return self

    def _accept(self) -> socket.socket:
        conn = super()._accept()
        self.connections += 1
        return conn

    def _run(self) -> None:
        super()._run()
        self.first_lines, self.lines = self.lines, []
        self.first_received, self.received_tls = self.received_tls, b""
        if self.errors or self._stop.is_set():
            return
        self._script, self._pending, self.tls_established = self._second, bytearray(), False
        super()._run()


def capa(*tags: bytes) -> bytes:
    return b"+OK\r\n" + b"".join(t + b"\r\n" for t in tags) + b".\r\n"


def login(*tags: bytes) -> list[Step]:
    return [
        StartTLS(), Send(b"+OK ready\r\n"), ReadLine(b"CAPA\r\n"), Send(capa(b"USER", *tags)),
        ReadLine(b"USER alice\r\n"), Send(b"+OK\r\n"),
        ReadLine(b"PASS " + PASSWORD.encode() + b"\r\n"), Send(b"+OK in\r\n"),
        ReadLine(b"CAPA\r\n"), Send(capa(*tags)),
    ]  # fmt: skip


def listing(messages: Sequence[tuple[str, bytes]]) -> list[Step]:
    sizes = b"".join(b"%d %d\r\n" % (n, len(m)) for n, (_, m) in enumerate(messages, 1))
    uids = b"".join(b"%d %s\r\n" % (n, u.encode()) for n, (u, _) in enumerate(messages, 1))
    return [
        ReadLine(b"LIST\r\n"), Send(b"+OK\r\n" + sizes + b".\r\n"),
        ReadLine(b"UIDL\r\n"), Send(b"+OK\r\n" + uids + b".\r\n"),
    ]  # fmt: skip


def retr(data: bytes) -> bytes:
    return b"+OK\r\n" + data.replace(b"\r\n.", b"\r\n..") + b".\r\n"


async def collect(box: AsyncPop3Mailbox, uids: list[str] | list[int], got: list[object]) -> None:
    async for info in box.folder().fetch(uids, FetchField.BODY):
        got.append(info.uid)


X, A, B, C = message(10), message(11), message(12, b"+OK looks like a reply"), message(13)
TAGS = (b"UIDL", b"PIPELINING", b"TOP")
BYE = [ReadLine(b"QUIT\r\n"), Send(b"+OK bye\r\n"), ReadUntilEOF()]


@pytest.mark.anyio
async def test_the_new_session_is_numbered_by_uidl() -> None:
    # Session 1: x a b c; "a" is marked with DELE, then b and c are asked for, pipelined.
    first = [
        *login(*TAGS), *listing([("x", X), ("a", A), ("b", B), ("c", C)]),
        ReadLine(b"DELE 2\r\n"), Send(b"+OK marked\r\n"),
        ReadLine(b"RETR 3\r\n"), ReadLine(b"RETR 4\r\n"), Send(retr(B) + retr(C)),
        ReadUntilEOF(),
    ]  # fmt: skip
    # Session 2: "x" was deleted meanwhile, so a b c are 1 2 3. "a" is marked again (the dead
    # session deleted nothing), "b" asked for alone, then "c".
    second = [
        *login(*TAGS), *listing([("a", A), ("b", B), ("c", C)]),
        ReadLine(b"DELE 1\r\n"), Send(b"+OK marked\r\n"),
        ReadLine(b"RETR 2\r\n"), Send(retr(B)),
        ReadLine(b"RETR 3\r\n"), Send(retr(C)),
        *BYE,
    ]  # fmt: skip
    with TwoSessions(first, second) as server:
        box = await open_client(POP3, server, tls=True, timeout=2.0)
        assert isinstance(box, AsyncPop3Mailbox)
        async with box:
            inbox = box.folder()
            await inbox.delete(["a"])
            got = [(i.uid, i.body) async for i in inbox.fetch(["b", "c"], FetchField.BODY)]
        server.wait()
    assert got == [("b", B), ("c", C)]
    assert server.errors == []
    # The first connection got nothing after the ambiguous reply: no QUIT (which would have
    # committed its DELE), no command.
    assert server.first_lines[-1] == b"RETR 4\r\n"
    assert server.first_received.endswith(b"RETR 3\r\nRETR 4\r\n")


@pytest.mark.anyio
async def test_a_server_that_answers_with_one_line_is_still_a_protocol_error() -> None:
    # RETR 1 answered with one line: RETR 2's reply comes as its "body". Asked alone on the
    # new connection, the server answers with one line again: the message never comes.
    first = [
        *login(*TAGS), *listing([("a", A), ("b", B)]),
        ReadLine(b"RETR 1\r\n"), ReadLine(b"RETR 2\r\n"), Send(b"+OK\r\n" + retr(B)),
        ReadUntilEOF(),
    ]  # fmt: skip
    second = [
        *login(*TAGS), *listing([("a", A), ("b", B)]),
        ReadLine(b"RETR 1\r\n"), Send(b"+OK\r\n"), ReadUntilEOF(),
    ]  # fmt: skip
    got: list[object] = []
    with TwoSessions(first, second) as server:
        box = await open_client(POP3, server, tls=True, timeout=0.5)
        assert isinstance(box, AsyncPop3Mailbox)
        async with box:
            with pytest.raises(ProtocolError, match="alone on a new connection") as caught:
                await collect(box, ["a", "b"], got)
            assert isinstance(caught.value.__cause__, Timeout)
            with pytest.raises(ConnectionLost):
                await box.folder().get_bytes("b")
        server.wait()
    assert got == [] and server.errors == []
    assert server.first_received.endswith(b"RETR 1\r\nRETR 2\r\n")
    assert server.received_tls.endswith(b"RETR 1\r\n")  # nothing after the one-line answer


@pytest.mark.anyio
async def test_without_uidl_there_is_no_second_session() -> None:
    # Uids are message numbers of one session: nothing could name the message in another.
    tags = (b"PIPELINING", b"TOP")
    sizes = b"+OK\r\n1 %d\r\n2 %d\r\n.\r\n" % (len(B), len(C))
    first = [
        *login(*tags), ReadLine(b"LIST\r\n"), Send(sizes),
        ReadLine(b"RETR 1\r\n"), ReadLine(b"RETR 2\r\n"), Send(retr(B) + retr(C)),
        ReadUntilEOF(),
    ]  # fmt: skip
    with TwoSessions(first, []) as server:
        box = await open_client(POP3, server, tls=True, timeout=0.5)
        assert isinstance(box, AsyncPop3Mailbox)
        async with box:
            with pytest.raises(ProtocolError, match="status line") as caught:
                await collect(box, [1, 2], [])
            assert "new connection" not in str(caught.value)
    assert server.errors == [] and server.connections == 1
    assert server.first_lines[-1] == b"RETR 2\r\n"
