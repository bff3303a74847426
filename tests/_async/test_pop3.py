"""The POP3 mailbox against the real Dovecot started by the test suite (POP3 with STLS, POP3S).

This file is the source of tests/_sync/test_pop3.py (tools/unasync.py): every test runs on
asyncio, on trio, and through the generated sync facade.
"""

from __future__ import annotations

import io
import logging
from contextlib import aclosing
from pathlib import Path

import pytest

from mailservers import MailServers
from unimail import (
    AsyncMailbox,
    AsyncPop3Mailbox,
    AuthenticationError,
    Capability,
    CommandError,
    ConnectionLost,
    FetchField,
    FolderInfo,
    InvalidArgument,
    MessagesRemoved,
    NewMessages,
    Q,
    UnsupportedOperation,
)
from unimail._async._pop3_client import WINDOW
from unimail._proto.pop3._commands import Command


def message(subject: str, body: str = "Hello.\r\n", sender: str = "bob@example.test") -> bytes:
    """A small RFC 5322 message."""
    return (
        f"From: Bob <{sender}>\r\nTo: alice@example.test\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '.')}@example.test>\r\n"
        f"Date: Fri, 27 Nov 2026 10:00:00 +0000\r\n\r\n{body}"
    ).encode()


def url(servers: MailServers, scheme: str = "pop3s", user: str = "alice") -> str:
    port = servers.pop3s_port if scheme == "pop3s" else servers.pop3_port
    return f"{scheme}://{user}@{servers.host}:{port}"


async def open_box(
    servers: MailServers, scheme: str = "pop3s", **kwargs: object
) -> AsyncPop3Mailbox:
    box = await AsyncMailbox.open(
        url(servers, scheme), password=servers.users["alice"], ssl_context=servers.ssl_context(),
        **kwargs,  # type: ignore[arg-type]
    )  # fmt: skip
    assert isinstance(box, AsyncPop3Mailbox)
    return box


async def subjects(box: AsyncPop3Mailbox) -> list[str]:
    return [
        i.envelope.subject or ""
        async for i in box.folder().search(fields=FetchField.ENVELOPE)
        if i.envelope is not None
    ]


@pytest.mark.anyio
@pytest.mark.parametrize("scheme", ["pop3s", "pop3"])
async def test_read_inbox(alice: MailServers, scheme: str) -> None:
    alice.seed("alice", [message("first"), message("second", "Zweite Nachricht\r\n")])
    async with AsyncMailbox.open(
        url(alice, scheme), password=alice.users["alice"], ssl_context=alice.ssl_context()
    ) as box:
        assert isinstance(box, AsyncPop3Mailbox)
        assert box.client.is_tls
        # Capabilities say what POP3 cannot do before anyone calls.
        assert box.capabilities == frozenset({Capability.DELETE})
        assert {"UIDL", "TOP", "PIPELINING", "RESP-CODES"} <= box.server_capabilities
        assert box.pipelining and box.has_uidl and box.auth_method == "SCRAM-SHA-256"
        assert await box.folders() == [FolderInfo(name="INBOX")]
        inbox = box.folder("INBOX")
        assert (await inbox.status()).messages == 2
        infos = [info async for info in inbox.search()]
        assert [i.envelope.subject for i in infos if i.envelope] == ["first", "second"]
        assert all(isinstance(i.uid, str) and i.flags is None and i.size for i in infos)
        assert infos[0].envelope is not None
        assert infos[0].envelope.from_[0].addr == "bob@example.test"
        assert infos[0].envelope.from_[0].name == "Bob"
        second = await inbox.get(infos[1].uid)
        assert second["Subject"] == "second"
        assert second.get_content() == "Zweite Nachricht\n"  # lines end in \n, not CRLF
        raw = await inbox.get_bytes(infos[0].uid)
        assert raw == message("first")
        assert len(raw) == infos[0].size
        with pytest.raises(UnsupportedOperation) as info:
            box.folder("Archive")
        assert info.value.capability == "FOLDERS"
        with pytest.raises(UnsupportedOperation):
            await inbox.add_flags([infos[0].uid], {"\\Seen"})
        with pytest.raises(UnsupportedOperation):
            await inbox.append(message("new"))
        with pytest.raises(UnsupportedOperation):
            await box.create_folder("Archive")


@pytest.mark.anyio
async def test_search_is_evaluated_on_the_client(alice: MailServers) -> None:
    alice.seed(
        "alice",
        [
            message("alpha", sender="carol@example.test"),
            message("beta"),
            message("gamma", "the beta word\r\n" + "x" * 5000 + "\r\n"),
        ],
    )
    async with await open_box(alice) as box:
        inbox = box.folder()
        found = [i async for i in inbox.search(Q.subject("beta"), fields=FetchField.UID)]
        assert len(found) == 1 and found[0].envelope is None and found[0].size is None
        text = [i async for i in inbox.search(Q.text("beta"))]
        assert {i.envelope.subject for i in text if i.envelope} == {"beta", "gamma"}
        body = [i async for i in inbox.search(Q.body("BETA WORD"), fields=FetchField.BODY)]
        assert len(body) == 1 and body[0].body is not None and body[0].body.startswith(b"From")
        sender = [i async for i in inbox.search(Q.sender("carol") | Q.larger(4000))]
        assert [i.envelope.subject for i in sender if i.envelope] == ["alpha", "gamma"]
        small = [i async for i in inbox.search(~Q.larger(4000) & ~Q.subject("alpha"))]
        assert [i.envelope.subject for i in small if i.envelope] == ["beta"]
        # POP3 has no flags and no internal dates: said before anything is downloaded.
        with pytest.raises(UnsupportedOperation) as info:
            [i async for i in inbox.search(Q.unseen())]
        assert info.value.capability == "FLAGS"
        with pytest.raises(UnsupportedOperation) as info:
            [i async for i in inbox.search(Q.subject("a") | Q.flagged())]
        assert info.value.capability == "FLAGS"


@pytest.mark.anyio
async def test_fetch_fields(alice: MailServers) -> None:
    alice.seed("alice", [message("one"), message("two"), message("three")])
    async with await open_box(alice) as box:
        inbox = box.folder()
        uids = [i.uid async for i in inbox.search(fields=FetchField.UID)]
        assert len(uids) == 3 and len(set(uids)) == 3
        sizes = [i async for i in inbox.fetch(reversed(uids), FetchField.SIZE)]
        assert [i.uid for i in sizes] == uids  # maildrop order, whatever the order asked
        assert [i.size for i in sizes] == [len(message(s)) for s in ("one", "two", "three")]
        headers = [i async for i in inbox.fetch([uids[1], "no-such-uid"], FetchField.HEADERS)]
        assert len(headers) == 1 and headers[0].headers is not None
        assert headers[0].headers.endswith(b"\r\n\r\n") and b"Subject: two" in headers[0].headers
        bodies = [i async for i in inbox.fetch(uids, FetchField.BODY | FetchField.ENVELOPE)]
        assert [i.body for i in bodies] == [message(s) for s in ("one", "two", "three")]
        assert [i.envelope.subject for i in bodies if i.envelope] == ["one", "two", "three"]
        with pytest.raises(InvalidArgument):
            [i async for i in inbox.fetch([1], FetchField.SIZE)]
        with pytest.raises(InvalidArgument):
            [i async for i in inbox.fetch(uids[0], FetchField.SIZE)]  # type: ignore[arg-type]
        with pytest.raises(CommandError):
            await inbox.get_bytes("no-such-uid")
        # Leaving a loop half-way leaves no reply behind for the next command.
        async with aclosing(inbox.fetch(uids, FetchField.BODY)) as stream:
            async for _info in stream:
                break
        assert await inbox.get_bytes(uids[2]) == message("three")


@pytest.mark.anyio
async def test_a_message_starting_like_a_status_line_is_downloaded_exactly(
    alice: MailServers,
) -> None:
    # Its first line looks like a POP3 reply: alone in flight, it is the message's own text.
    odd = b"+OK not a reply\r\nFrom: bob@example.test\r\nSubject: odd\r\n\r\nBody.\r\n"
    alice.seed("alice", [odd, message("after")])
    async with await open_box(alice) as box:
        assert box.pipelining  # offered, but get_bytes has one command in flight
        inbox = box.folder()
        infos = [i async for i in inbox.search(fields=FetchField.UID | FetchField.SIZE)]
        assert [i.size for i in infos] == [len(odd), len(message("after"))]
        assert await inbox.get_bytes(infos[0].uid) == odd
        buffer = io.BytesIO()
        assert await inbox.download(infos[0].uid, buffer) == len(odd)
        assert buffer.getvalue() == odd
        # The connection stayed in step: the next message is the right one.
        assert await inbox.get_bytes(infos[1].uid) == message("after")


@pytest.mark.anyio
async def test_download_streams_in_chunks(alice: MailServers, tmp_path: Path) -> None:
    lines = "".join(f".line {n} starts with a dot\r\n" for n in range(40_000))
    big = message("big", lines)
    alice.seed("alice", [big, message("small")])
    async with await open_box(alice) as box:
        inbox = box.folder()
        uids = [i.uid async for i in inbox.search(fields=FetchField.UID)]
        seen: list[tuple[int, int | None]] = []
        target = tmp_path / "big.eml"
        size = await inbox.download(uids[0], target, progress=lambda d, t: seen.append((d, t)))
        assert size == len(big) and target.read_bytes() == big
        assert not (tmp_path / "big.eml.part").exists()
        # Written as it arrived: many chunks, none larger than one receive.
        assert len(seen) > 10 and seen[-1] == (len(big), len(big))
        steps = [b - a for (a, _), (b, _) in zip([(0, None), *seen], seen, strict=False)]
        assert max(steps) <= 65536
        buffer = io.BytesIO()
        assert await inbox.download(uids[1], buffer) == len(message("small"))
        assert buffer.getvalue() == message("small")
        with pytest.raises(CommandError):
            await inbox.download("no-such-uid", tmp_path / "none.eml")
        assert not (tmp_path / "none.eml").exists()


@pytest.mark.anyio
async def test_delete_commits_only_at_quit(alice: MailServers) -> None:
    alice.seed("alice", [message("keep"), message("drop 1"), message("drop 2")])
    async with await open_box(alice) as box:
        inbox = box.folder()
        infos = [i async for i in inbox.search()]
        await inbox.delete([i.uid for i in infos[1:]] + ["no-such-uid"])
        assert (await inbox.status()).messages == 1
        assert [i.uid async for i in inbox.search(fields=FetchField.UID)] == [infos[0].uid]
        # Another session still sees them: nothing is deleted before QUIT.
        async with await open_box(alice) as other:
            assert await subjects(other) == ["keep", "drop 1", "drop 2"]
    async with await open_box(alice) as box:
        assert await subjects(box) == ["keep"]


@pytest.mark.anyio
async def test_dropped_connection_deletes_nothing(alice: MailServers) -> None:
    alice.seed("alice", [message("precious"), message("also precious"), message("third")])
    box = await open_box(alice)
    inbox = box.folder()
    uids = [i.uid async for i in inbox.search(fields=FetchField.UID)]
    assert await inbox.get_bytes(uids[1]) == message("also precious")
    await inbox.delete(uids[:2])
    with pytest.raises(CommandError):
        await inbox.get_bytes(uids[0])  # marked: gone for this session already
    # A RETR is in flight, its body not read yet, when the socket is closed abruptly: no
    # QUIT ever reaches Dovecot.
    await box.client.submit([Command.numbered("RETR", 3)])
    reply = await box.client.next_reply()
    assert reply.status.ok and reply.streams
    await box.abort()
    with pytest.raises(ConnectionLost):
        await inbox.status()
    await box.aclose()  # nothing left to do, and no error
    async with await open_box(alice) as again:
        assert await subjects(again) == ["precious", "also precious", "third"]


@pytest.mark.anyio
async def test_reset_unmarks(alice: MailServers) -> None:
    alice.seed("alice", [message("one"), message("two")])
    async with await open_box(alice) as box:
        inbox = box.folder()
        uids = [i.uid async for i in inbox.search(fields=FetchField.UID)]
        await inbox.delete(uids)
        assert (await inbox.status()).messages == 0
        await box.reset()
        await box.noop()
        assert (await inbox.status()).messages == 2
    async with await open_box(alice) as box:
        assert await subjects(box) == ["one", "two"]


@pytest.mark.anyio
async def test_watch_polls_by_uidl(alice: MailServers) -> None:
    alice.seed("alice", [message("old")])
    events: list[object] = []
    async with await open_box(alice) as box:
        inbox = box.folder()
        assert (await inbox.status()).messages == 1
        alice.seed("alice", [message("new")])
        async with aclosing(inbox.watch(interval=0.2, timeout=30)) as watching:
            async for event in watching:
                events.append(event)
                if isinstance(event, NewMessages):
                    # Another session deletes the old message; the next poll reports it.
                    async with await open_box(alice) as other:
                        first = [i.uid async for i in other.folder().search(fields=FetchField.UID)]
                        await other.folder().delete(first[:1])
                if isinstance(event, MessagesRemoved):
                    break
        assert isinstance(events[0], NewMessages) and len(events[0].uids) == 1
        assert events[0].exists == 2
        assert isinstance(events[-1], MessagesRemoved) and len(events[-1].uids) == 1
        assert await subjects(box) == ["new"]
        # A watch with a timeout and nothing new simply ends.
        assert [e async for e in inbox.watch(interval=0.1, timeout=0.3)] == []


@pytest.mark.anyio
@pytest.mark.parametrize("auth", ["USER", "PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1"])
async def test_login_methods(alice: MailServers, auth: str) -> None:
    async with await open_box(alice, auth=auth) as box:
        assert box.auth_method == auth
        assert (await box.folder().status()).messages == 0


@pytest.mark.anyio
@pytest.mark.parametrize("user", ["carol", "dave"])
async def test_unusual_passwords(alice: MailServers, user: str) -> None:
    for auth in (None, "USER"):
        async with AsyncMailbox.open(
            url(alice, "pop3s", user), password=alice.users[user],
            ssl_context=alice.ssl_context(), auth=auth,
        ) as box:  # fmt: skip
            assert (await box.folder("INBOX").status()).messages == 0


@pytest.mark.anyio
async def test_wrong_password(alice: MailServers, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="unimail.protocol")
    for auth in ("USER", None):
        with pytest.raises(AuthenticationError, match="refused") as info:
            await AsyncMailbox.open(
                url(alice), password="not-the-Secret-42", ssl_context=alice.ssl_context(),
                auth=auth,
            )  # fmt: skip
        assert "[AUTH]" in str(info.value)
    assert "not-the-Secret-42" not in caplog.text


@pytest.mark.anyio
async def test_plaintext_needs_both_opt_ins(alice: MailServers) -> None:
    with pytest.raises(AuthenticationError, match="unencrypted"):
        await AsyncMailbox.open(
            url(alice, "pop3"), password=alice.users["alice"], security="plaintext"
        )
    alice.seed("alice", [message("in the clear")])
    async with AsyncMailbox.open(
        url(alice, "pop3"), password=alice.users["alice"], security="plaintext",
        allow_insecure_auth=True, auth="USER",
    ) as box:  # fmt: skip
        assert isinstance(box, AsyncPop3Mailbox) and not box.client.is_tls
        assert await subjects(box) == ["in the clear"]


@pytest.mark.anyio
async def test_many_messages_cost_few_round_trips(
    alice: MailServers, caplog: pytest.LogCaptureFixture
) -> None:
    alice.seed("alice", [message(f"m{n}") for n in range(2500)])
    async with await open_box(alice) as box:
        inbox = box.folder()
        uids = [i.uid async for i in inbox.search(fields=FetchField.UID)]
        caplog.set_level(logging.DEBUG, logger="unimail.protocol")
        caplog.clear()
        bodies = [i.body async for i in inbox.fetch(uids, FetchField.BODY)]
        assert bodies == [message(f"m{n}") for n in range(2500)]
        sends = [r.getMessage() for r in caplog.records if r.getMessage().startswith("C: ")]
        # 2500 RETRs in a few writes: the window is refilled half a window at a time.
        assert all(s.startswith("C: RETR ") for s in sends)
        assert len(sends) <= 2500 // (WINDOW // 2) + 2
