"""watch() by polling on the local backends, and the transports that store what they send.

This file is the source of tests/_sync/test_local_watch.py (tools/unasync.py).
"""

from __future__ import annotations

import email.message
import uuid
from collections.abc import Iterator
from contextlib import aclosing
from pathlib import Path

import pytest

from unimail import (
    AsyncLocalMailbox,
    AsyncMaildirTransport,
    AsyncMemoryMailbox,
    AsyncMemoryTransport,
    AsyncTransport,
    FetchField,
    Flag,
    FlagsChanged,
    FolderEvent,
    InvalidArgument,
    MessagesRemoved,
    NewMessages,
)


def n(uid: int | str | None) -> int:
    """A local uid, which is an int."""
    assert isinstance(uid, int)
    return uid


def message(subject: str) -> bytes:
    """A small RFC 5322 message."""
    return f"From: bob@example.test\r\nSubject: {subject}\r\n\r\nHi\r\n".encode()


@pytest.fixture(params=["memory", "maildir", "mbox"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty local mailbox of each kind."""
    kind: str = request.param
    if kind == "memory":
        name = f"test-{uuid.uuid4().hex}"
        yield f"memory:{name}"
        AsyncMemoryMailbox.discard(name)
    elif kind == "maildir":
        yield f"maildir:{tmp_path / 'Maildir'}"
    else:
        yield f"mbox:{tmp_path / 'inbox.mbox'}"


@pytest.mark.anyio
async def test_watch_reports_each_change_once(url: str) -> None:
    async with AsyncLocalMailbox.open(url) as box, AsyncLocalMailbox.open(url) as other:
        inbox, elsewhere = box.folder("INBOX"), other.folder("INBOX")
        kept = await elsewhere.append(message("kept"))
        gone = await elsewhere.append(message("gone"))
        assert kept is not None and gone is not None
        assert (await inbox.status()).messages == 2  # the watch's baseline: the first look
        # Changes by another mailbox before the watch starts are its first events.
        await elsewhere.delete([gone])
        await elsewhere.add_flags([kept], {Flag.SEEN})
        new = await elsewhere.append(message("new"))
        events: list[FolderEvent] = []
        async with aclosing(inbox.watch(poll_interval=0.05, timeout=60)) as watch:
            async for event in watch:
                events.append(event)
                if isinstance(event, NewMessages) and event.uids == (new,):
                    # The loop body may use the mailbox: its own changes are not events...
                    await inbox.add_flags([new], {Flag.FLAGGED})
                    await inbox.move([kept], "INBOX")
                    # ...while another program's are.
                    later = await elsewhere.append(message("later"))
                if isinstance(event, NewMessages) and event.uids != (new,):
                    break
        uids = [i.uid async for i in inbox.search(fields=FetchField.UID)]
        assert events == [
            MessagesRemoved(uids=(gone,)),
            NewMessages(uids=(new,), exists=2),
            FlagsChanged(uid=kept, flags=frozenset({Flag.SEEN})),
            NewMessages(uids=(later,), exists=3),
        ]
        assert uids == [new, later - 1, later]  # kept was moved (to a new uid) before later came


@pytest.mark.anyio
async def test_watch_ends_after_its_timeout_and_checks_arguments(url: str) -> None:
    async with AsyncLocalMailbox.open(url) as box:
        inbox = box.folder("INBOX")
        events = [e async for e in inbox.watch(poll_interval=0.01, timeout=0.05)]
        assert events == []
        with pytest.raises(InvalidArgument):
            [e async for e in inbox.watch(poll_interval=0)]
        with pytest.raises(InvalidArgument):
            [e async for e in inbox.watch(timeout=-1)]


@pytest.mark.anyio
async def test_memory_transport_stores_what_it_sends() -> None:
    name = f"outbox-{uuid.uuid4().hex}"
    msg = email.message.EmailMessage()
    msg["From"] = "alice@example.test"
    msg["To"] = "bob@example.test, carol@example.test"
    msg["Bcc"] = "secret@example.test"
    msg["Subject"] = "test mail"
    msg.set_content("Hello Bob.\n")
    try:
        async with AsyncTransport.open(f"memory:{name}") as transport:
            assert isinstance(transport, AsyncMemoryTransport)
            result = await transport.send(msg)
            assert result.accepted == (
                "bob@example.test", "carol@example.test", "secret@example.test",
            )  # fmt: skip
            assert result.refused == {} and "uid 1" in result.response
            await transport.send(b"Subject: raw\r\n\r\nx\r\n", sender="", recipients=["x@y.test"])
            with pytest.raises(InvalidArgument):
                await transport.send(b"Subject: raw\r\n\r\nx\r\n")
        async with AsyncLocalMailbox.open(f"memory:{name}") as box:
            first = await box.folder("INBOX").get(1)
            assert first["Subject"] == "test mail" and first["Bcc"] is None
            assert first["Return-Path"] == "<alice@example.test>"
            assert first.get_content().strip() == "Hello Bob."
            second = await box.folder("INBOX").get_bytes(2)
            assert second == b"Return-Path: <>\r\nSubject: raw\r\n\r\nx\r\n"
    finally:
        AsyncMemoryMailbox.discard(name)


@pytest.mark.anyio
async def test_maildir_transport_delivers_into_the_maildir(tmp_path: Path) -> None:
    root = tmp_path / "Maildir"
    msg = email.message.EmailMessage()
    msg["From"] = "alice@example.test"
    msg["To"] = "bob@example.test"
    msg["Subject"] = "stored"
    msg.set_content("Body.\n")
    async with AsyncTransport.open(f"maildir:{root}") as transport:
        assert isinstance(transport, AsyncMaildirTransport)
        result = await transport.send(msg)
        assert result.accepted == ("bob@example.test",)
    async with AsyncLocalMailbox.open(f"maildir:{root}") as box:
        infos = [i async for i in box.folder("INBOX").search()]
        assert [i.envelope.subject for i in infos if i.envelope] == ["stored"]
        assert infos[0].flags == frozenset()
