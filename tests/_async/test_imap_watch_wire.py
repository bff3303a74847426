"""Folder.watch() on IMAP, the exact wire: scripted servers for what Dovecot will not do
(a silent dead connection, IDLE ended by the server, IDLE refused, updates that never add up).

This file is the source of tests/_sync/test_imap_watch_wire.py (tools/unasync.py): every test
runs on asyncio, on trio, and through the generated sync facade.
"""

from __future__ import annotations

from contextlib import aclosing

import pytest

from tests._async.test_imap_watch import drain
from tests.scripted_server import (
    LocalCA,
    ReadLine,
    ReadUntilEOF,
    ScriptedServer,
    Send,
    Sleep,
    imap_login,
)
from unimail import (
    AsyncImapMailbox,
    CommandError,
    Flag,
    FlagsChanged,
    FolderEvent,
    MessagesRemoved,
    NewMessages,
    ProtocolError,
    Timeout,
)
from unimail._async._imap_watch import watch_folder

CAPS = b"IMAP4rev1 IDLE"
LOGIN_SELECT = [
    *imap_login(CAPS),
    ReadLine(b'U2 SELECT "INBOX"\r\n'),
    Send(b"* 2 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\nU2 OK [READ-WRITE] done\r\n"),
    ReadLine(b"U3 UID FETCH 1:* (UID FLAGS)\r\n"),
    Send(b"* 1 FETCH (UID 5 FLAGS ())\r\n* 2 FETCH (UID 9 FLAGS (\\Seen))\r\nU3 OK done\r\n"),
]


@pytest.mark.anyio
async def test_wire_done_then_fetch_by_sequence_then_graceful_timeout() -> None:
    ca = LocalCA()
    script = [
        *LOGIN_SELECT,
        ReadLine(b"U4 IDLE\r\n"),
        Send(b"+ idling\r\n* 1 EXPUNGE\r\n"),
        ReadLine(b"DONE\r\n"),
        # Updates may still come between DONE and the tagged OK.
        Send(b"* 2 EXISTS\r\n* 1 FETCH (FLAGS (\\Seen \\Answered))\r\nU4 OK idle done\r\n"),
        # Commands are not allowed during IDLE: the new message's uid is asked after DONE.
        ReadLine(b"U5 FETCH 2 (UID FLAGS)\r\n"),
        Send(b"* 2 FETCH (UID 12 FLAGS ())\r\nU5 OK done\r\n"),
        ReadLine(b"U6 IDLE\r\n"),
        Send(b"+ idling\r\n"),
        ReadLine(b"DONE\r\n"),  # the timeout: a graceful stop
        Send(b"U6 OK idle done\r\n"),
        ReadLine(b"U7 NOOP\r\n"),
        Send(b"U7 OK still here\r\n"),
        ReadLine(b"U8 LOGOUT\r\n"),
        Send(b"* BYE bye\r\nU8 OK done\r\n"),
        ReadUntilEOF(),
    ]
    with ScriptedServer(script, ssl_context=ca.server_context()) as server:
        async with AsyncImapMailbox.open(
            f"imaps://alice@{server.host}:{server.port}",
            password="pw",
            ssl_context=ca.client_context(),
        ) as box:
            folder = box.folder("INBOX")
            seen: list[FolderEvent] = []
            async with aclosing(folder.watch(timeout=1.0)) as events:
                async for event in events:
                    seen.append(event)
            assert seen == [
                MessagesRemoved(uids=(5,)),
                FlagsChanged(uid=9, flags=frozenset({Flag.SEEN, Flag.ANSWERED})),
                NewMessages(uids=(12,), exists=2),
            ]
            await box.client.run("NOOP")  # the connection is usable after the timeout
    assert server.errors == []


@pytest.mark.anyio
async def test_silent_dead_connection_is_found_at_the_renewal() -> None:
    ca = LocalCA()
    script = [
        *LOGIN_SELECT,
        ReadLine(b"U4 IDLE\r\n"),
        Send(b"+ idling\r\n"),
        ReadLine(b"DONE\r\n"),  # the renewal; the tagged OK never comes
        Sleep(10),
    ]
    with ScriptedServer(script, ssl_context=ca.server_context()) as server:
        async with AsyncImapMailbox.open(
            f"imaps://alice@{server.host}:{server.port}",
            password="pw",
            ssl_context=ca.client_context(),
            timeout=0.5,
        ) as box:
            folder = box.folder("INBOX")
            watch = watch_folder(folder, renew_interval=0.2, reconnect_delays=())
            with pytest.raises(Timeout):
                await drain(watch)
    assert server.errors == []


@pytest.mark.anyio
async def test_server_ending_idle_by_itself_gets_a_poll_not_a_busy_loop() -> None:
    ca = LocalCA()
    script = [
        *LOGIN_SELECT,
        ReadLine(b"U4 IDLE\r\n"),
        Send(b"+ idling\r\nU4 OK enough idling\r\n"),
        ReadLine(b"U5 NOOP\r\n"),
        Send(b"* 3 EXISTS\r\nU5 OK done\r\n"),
        ReadLine(b"U6 FETCH 3 (UID FLAGS)\r\n"),
        Send(b"* 3 FETCH (UID 20 FLAGS ())\r\nU6 OK done\r\n"),
        ReadLine(b"U7 LOGOUT\r\n"),
        Send(b"* BYE bye\r\nU7 OK done\r\n"),
        ReadUntilEOF(),
    ]
    with ScriptedServer(script, ssl_context=ca.server_context()) as server:
        async with AsyncImapMailbox.open(
            f"imaps://alice@{server.host}:{server.port}",
            password="pw",
            ssl_context=ca.client_context(),
        ) as box:
            folder = box.folder("INBOX")
            async with aclosing(folder.watch(timeout=30, poll_interval=0.1)) as events:
                async for event in events:
                    assert event == NewMessages(uids=(20,), exists=3)
                    break
    assert server.errors == []


@pytest.mark.anyio
async def test_refused_idle_raises_and_leaves_the_connection_usable() -> None:
    ca = LocalCA()
    script = [
        *LOGIN_SELECT,
        ReadLine(b"U4 IDLE\r\n"),
        Send(b"U4 NO [LIMIT] too many idlers\r\n"),
        ReadLine(b"U5 NOOP\r\n"),  # no stray DONE before it
        Send(b"U5 OK done\r\n"),
        ReadLine(b"U6 LOGOUT\r\n"),
        Send(b"* BYE bye\r\nU6 OK done\r\n"),
        ReadUntilEOF(),
    ]
    with ScriptedServer(script, ssl_context=ca.server_context()) as server:
        async with AsyncImapMailbox.open(
            f"imaps://alice@{server.host}:{server.port}",
            password="pw",
            ssl_context=ca.client_context(),
        ) as box:
            with pytest.raises(CommandError, match="too many idlers"):
                await drain(box.folder("INBOX").watch(timeout=30))
            await box.client.run("NOOP")
    assert server.errors == []


@pytest.mark.anyio
async def test_updates_that_never_add_up_end_in_a_protocol_error() -> None:
    ca = LocalCA()
    # EXISTS may only shrink through EXPUNGE: each fresh start is contradicted again.
    contradiction = b"* 1 FETCH (UID 5 FLAGS ())\r\n* 2 FETCH (UID 9 FLAGS ())\r\n* 1 EXISTS\r\n"
    script = [
        *LOGIN_SELECT,
        ReadLine(b"U4 IDLE\r\n"),
        Send(b"+ idling\r\n* 1 EXISTS\r\n"),
        ReadLine(b"DONE\r\n"),
        Send(b"U4 OK done\r\n"),
        ReadLine(b"U5 UID FETCH 1:* (UID FLAGS)\r\n"),
        Send(contradiction + b"U5 OK done\r\n"),
        ReadLine(b"U6 UID FETCH 1:* (UID FLAGS)\r\n"),
        Send(contradiction + b"U6 OK done\r\n"),
        ReadLine(b"U7 UID FETCH 1:* (UID FLAGS)\r\n"),
        Send(contradiction + b"U7 OK done\r\n"),
        ReadLine(b"U8 LOGOUT\r\n"),  # given up without a busy loop; the connection is sound
        Send(b"* BYE bye\r\nU8 OK done\r\n"),
        ReadUntilEOF(),
    ]
    with ScriptedServer(script, ssl_context=ca.server_context()) as server:
        async with AsyncImapMailbox.open(
            f"imaps://alice@{server.host}:{server.port}",
            password="pw",
            ssl_context=ca.client_context(),
        ) as box:
            with pytest.raises(ProtocolError, match="do not add up"):
                await drain(box.folder("INBOX").watch(timeout=30))
    assert server.errors == []
