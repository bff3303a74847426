"""Scripted IMAP servers for what Dovecot will not do: [ALERT], unsolicited updates in the
middle of a command, a refused MULTIAPPEND batch, a server without ENABLE or modseqs.

This file is the source of tests/_sync/test_imap_condstore_scripted.py (tools/unasync.py):
every test runs on asyncio, on trio, and through the generated sync facade.
"""

from __future__ import annotations

import logging

import pytest

from tests._async.test_imap_condstore import plain, uids
from tests.scripted_server import (
    LocalCA,
    ReadLine,
    ReadUntilEOF,
    ScriptedServer,
    Send,
    StartTLS,
    Step,
    imap_login,
)
from unimail import (
    AsyncImapMailbox,
    Capability,
    CommandError,
    FetchField,
    Flag,
    UnsupportedOperation,
)

CAPS = b"IMAP4rev1 CONDSTORE QRESYNC ENABLE ESEARCH"

# The greeting carries an alert instead of the capabilities, so they are asked for.
LOGIN_WITH_ALERT: list[Step] = [
    StartTLS(),
    Send(b"* OK [ALERT] Read-only until noon\r\n"),
    ReadLine(b"U1 CAPABILITY\r\n"),
    Send(b"* CAPABILITY " + CAPS + b"\r\nU1 OK done\r\n"),
    ReadLine(b'U2 LOGIN "alice" "pw"\r\n'),
    Send(b"U2 OK [CAPABILITY " + CAPS + b"] logged in\r\n"),
    ReadLine(b"U3 ENABLE CONDSTORE QRESYNC\r\n"),
    Send(b"* ENABLED CONDSTORE QRESYNC\r\nU3 OK enabled\r\n"),
]


@pytest.mark.anyio
async def test_alerts_are_logged_and_kept_and_updates_never_leak(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ca = LocalCA()
    script = [
        *LOGIN_WITH_ALERT,
        ReadLine(b'U4 SELECT "INBOX"\r\n'),
        Send(
            b"* 3 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [HIGHESTMODSEQ 90] ok\r\n"
            b"* OK [ALERT] Mailbox is 95% full\r\nU4 OK [READ-WRITE] done\r\n"
        ),
        ReadLine(b"U5 UID FETCH 5 (UID FLAGS)\r\n"),
        # Around the answer: another message's update, a second FETCH for uid 5 (an update
        # after its answer), a new message, a vanished one, and an alert on the tagged OK.
        Send(
            b"* 2 FETCH (UID 6 FLAGS (\\Seen) MODSEQ (91))\r\n"
            b"* 1 FETCH (UID 5 FLAGS (\\Answered))\r\n"
            b"* 4 EXISTS\r\n* VANISHED 6\r\n"
            b"* 1 FETCH (UID 5 FLAGS (\\Answered \\Flagged) MODSEQ (93))\r\n"
            b"U5 OK [ALERT] Maintenance at 22:00\r\n"
        ),
        ReadLine(b"U6 UID SEARCH RETURN (ALL) ALL\r\n"),
        Send(b'* 4 FETCH (UID 9 FLAGS ())\r\n* ESEARCH (TAG "U6") UID ALL 5,7:9\r\nU6 OK done\r\n'),
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
            inbox = box.folder("INBOX")
            infos = [i async for i in inbox.fetch([5], FetchField.FLAGS)]
            assert [(i.uid, plain(i.flags)) for i in infos] == [(5, frozenset({Flag.ANSWERED}))]
            assert box._select_info is not None and box._select_info.exists == 3
            assert await uids(inbox) == [5, 7, 8, 9]
            assert box.take_alerts() == [
                "Read-only until noon",
                "Mailbox is 95% full",
                "Maintenance at 22:00",
            ]
            assert box.take_alerts() == []
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [w for w in warnings if "alert" in w.lower()] == [
        "IMAP server alert: Read-only until noon",
        "IMAP server alert: Mailbox is 95% full",
        "IMAP server alert: Maintenance at 22:00",
    ]
    assert server.errors == []


@pytest.mark.anyio
async def test_multiappend_batch_refused_by_the_server() -> None:
    ca = LocalCA()
    caps = b"IMAP4rev1 MULTIAPPEND UIDPLUS LITERAL+"
    script = [
        *imap_login(caps),
        ReadLine(b'U2 APPEND "INBOX" () {3+}\r\n'),
        ReadLine(b"one () {3+}\r\n"),
        ReadLine(b"two\r\n"),
        Send(b"U2 OK [APPENDUID 7 10:11] done\r\n"),
        ReadLine(b'U3 APPEND "INBOX" () {5+}\r\n'),
        ReadLine(b"three\r\n"),
        Send(b"U3 NO [OVERQUOTA] quota exceeded\r\n"),
        ReadLine(b"U4 LOGOUT\r\n"),
        Send(b"* BYE bye\r\nU4 OK done\r\n"),
        ReadUntilEOF(),
    ]
    with ScriptedServer(script, ssl_context=ca.server_context()) as server:
        async with AsyncImapMailbox.open(
            f"imaps://alice@{server.host}:{server.port}",
            password="pw",
            ssl_context=ca.client_context(),
        ) as box:
            inbox = box.folder("INBOX")
            assert await inbox.append_many([b"one", b"two"]) == [10, 11]
            with pytest.raises(CommandError, match="quota"):
                await inbox.append_many([b"three"])
    assert server.errors == []


@pytest.mark.anyio
async def test_folder_without_modseqs_and_server_without_enable() -> None:
    ca = LocalCA()
    script: list[Step] = [
        StartTLS(),
        *LOGIN_WITH_ALERT[1:],
        ReadLine(b'U4 SELECT "Archive" (QRESYNC (7 5))\r\n'),
        Send(b"* 0 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [NOMODSEQ] none\r\nU4 OK done\r\n"),
        ReadLine(b"U5 LOGOUT\r\n"),
        Send(b"* BYE bye\r\nU5 OK done\r\n"),
        ReadUntilEOF(),
    ]
    with ScriptedServer(script, ssl_context=ca.server_context()) as server:
        async with AsyncImapMailbox.open(
            f"imaps://alice@{server.host}:{server.port}",
            password="pw",
            ssl_context=ca.client_context(),
        ) as box:
            with pytest.raises(UnsupportedOperation, match="NOMODSEQ"):
                await box.folder("Archive").changes_since(7, 5)
    assert server.errors == []
    # CONDSTORE without ENABLE (RFC 5161): no ENABLE is sent, and modseqs are not offered.
    caps = b"IMAP4rev1 CONDSTORE"
    script = [
        *imap_login(caps),
        ReadLine(b"U2 LOGOUT\r\n"),
        Send(b"* BYE bye\r\nU2 OK done\r\n"),
        ReadUntilEOF(),
    ]
    with ScriptedServer(script, ssl_context=ca.server_context()) as server:
        async with AsyncImapMailbox.open(
            f"imaps://alice@{server.host}:{server.port}",
            password="pw",
            ssl_context=ca.client_context(),
        ) as box:
            assert not box.condstore and Capability.CONDSTORE not in box.capabilities
            inbox = box.folder("INBOX")
            with pytest.raises(UnsupportedOperation, match="CONDSTORE"):
                [i async for i in inbox.fetch([1], FetchField.MODSEQ)]
            with pytest.raises(UnsupportedOperation, match="CONDSTORE"):
                await inbox.store_flags([1], {Flag.SEEN}, unchanged_since=5)
            with pytest.raises(UnsupportedOperation, match="CONDSTORE"):
                await inbox.changes_since(7, 5, known_uids=[1])
    assert server.errors == []
