"""Folder.updates() on IMAP: what the server reported during the caller's own commands, as uid
events, against the real Dovecot (two connections: one changes the folder, the other works and
then asks), and a scripted server for the exact wire.

This file is the source of tests/_sync/test_imap_updates.py (tools/unasync.py): every test runs
on asyncio, on trio, and through the generated sync facade.
"""

from __future__ import annotations

import io
import logging
from contextlib import aclosing

import pytest

from mailservers import MailServers
from tests.scripted_server import (
    LocalCA,
    ReadLine,
    ReadUntilEOF,
    ScriptedServer,
    Send,
    imap_login,
)
from unimail import (
    AsyncImapFolder,
    AsyncImapMailbox,
    FetchField,
    Flag,
    FlagsChanged,
    FolderEvent,
    InvalidArgument,
    MessagesRemoved,
    NewMessages,
    Q,
)
from unimail._opening import AsyncOpening  # unasync: remove

Opening = AsyncOpening[AsyncImapMailbox]  # unasync: Opening = ImapMailbox

FLAGGED = frozenset({Flag.FLAGGED})


def message(subject: str) -> bytes:
    return (
        f"From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject}@example.test>\r\n\r\nHello.\r\n"
    ).encode()


def open_box(servers: MailServers) -> Opening:
    return AsyncImapMailbox.open(
        f"imaps://alice@{servers.host}:{servers.imaps_port}",
        password=servers.users["alice"],
        ssl_context=servers.ssl_context(),
    )


async def uids(folder: AsyncImapFolder) -> list[int | str]:
    return [info.uid async for info in folder.search(fields=FetchField.UID)]


def sent_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The command lines the client sent, from the protocol trace."""
    messages = [record.getMessage() for record in caplog.records]
    return [text[3:] for text in messages if text.startswith("C: ")]


@pytest.mark.anyio
async def test_changes_by_another_client_during_own_commands(alice: MailServers) -> None:
    alice.seed("alice", [message("one"), message("two"), message("three")])
    async with open_box(alice) as box, open_box(alice) as other:
        inbox = box.folder("INBOX")
        theirs = other.folder("INBOX")
        assert await inbox.updates() == []  # starts tracking: nothing happened since
        await theirs.add_flags([1], {Flag.FLAGGED})
        # Our own command: its result is exactly what was asked, the news goes aside.
        found = [(i.uid, i.flags) async for i in inbox.fetch([3], FetchField.FLAGS)]
        assert [(uid, Flag.FLAGGED in (flags or ())) for uid, flags in found] == [(3, False)]
        assert await inbox.updates() == [FlagsChanged(uid=1, flags=FLAGGED)]
        assert await inbox.updates() == []  # each event once

        await theirs.delete([2])
        await theirs.append(message("four"))
        alice.deliver_lmtp("alice", message("five"))
        hits = [i.uid async for i in inbox.search(Q.subject("three"), fields=FetchField.UID)]
        assert hits == [3]
        assert await inbox.updates() == [
            MessagesRemoved(uids=(2,)),
            NewMessages(uids=(4, 5), exists=4),
        ]
        assert await inbox.updates() == []
        assert (await inbox.status()).messages == 4


@pytest.mark.anyio
async def test_poll_asks_the_server_for_what_it_has_not_told(alice: MailServers) -> None:
    alice.seed("alice", [message("one")])
    async with open_box(alice) as box, open_box(alice) as other:
        inbox = box.folder("INBOX")
        assert await inbox.updates() == []
        await other.folder("INBOX").add_flags([1], {Flag.FLAGGED})
        alice.deliver_lmtp("alice", message("two"))
        # No command ran since: the server had no answer to tell it in.
        assert await inbox.updates() == []
        assert await inbox.updates(poll=True) == [
            FlagsChanged(uid=1, flags=FLAGGED),
            NewMessages(uids=(2,), exists=2),
        ]


@pytest.mark.anyio
async def test_own_commands_are_reported_too(alice: MailServers) -> None:
    alice.seed("alice", [message("one"), message("two"), message("three")])
    async with open_box(alice) as box:
        inbox = box.folder("INBOX")
        assert await inbox.updates() == []
        await inbox.add_flags([1], {Flag.SEEN})
        await inbox.delete([2])  # its \Deleted is no separate event: the removal says it
        new = await inbox.append(message("four"))
        assert new is not None
        assert await inbox.updates() == [
            FlagsChanged(uid=1, flags=frozenset({Flag.SEEN})),
            MessagesRemoved(uids=(2,)),
            NewMessages(uids=(new,), exists=3),
        ]
        # Setting flags a message has already is no change.
        await inbox.add_flags([1], {Flag.SEEN})
        assert await inbox.updates() == []


@pytest.mark.anyio
async def test_reading_bodies_of_a_tracked_folder(alice: MailServers) -> None:
    alice.seed("alice", [message("one")])
    async with open_box(alice) as box:
        inbox = box.folder("INBOX")
        assert await inbox.updates() == []
        # BINARY literal8 answers, streamed literals: all read by the tracker without harm.
        assert await inbox.get_part(1, "1") == b"Hello.\r\n"
        sink = io.BytesIO()
        assert await inbox.download(1, sink) == len(await inbox.get_bytes(1))
        assert await inbox.updates() == []


@pytest.mark.anyio
async def test_work_in_another_folder_loses_nothing(alice: MailServers) -> None:
    alice.seed("alice", [message("one"), message("two"), message("three")])
    async with open_box(alice) as box, open_box(alice) as other:
        await box.create_folder("Other")
        inbox = box.folder("INBOX")
        assert await inbox.updates() == []
        await inbox.add_flags([3], {Flag.SEEN})  # told, but not taken before the switch
        elsewhere = box.folder("Other")
        await elsewhere.append(message("elsewhere"))
        assert await uids(elsewhere) == [1]  # INBOX is no longer selected
        theirs = other.folder("INBOX")
        await theirs.delete([1])
        await theirs.add_flags([2], {Flag.FLAGGED})
        alice.deliver_lmtp("alice", message("four"))
        assert await inbox.updates() == [
            FlagsChanged(uid=3, flags=frozenset({Flag.SEEN})),
            MessagesRemoved(uids=(1,)),
            FlagsChanged(uid=2, flags=FLAGGED),
            NewMessages(uids=(4,), exists=3),
        ]
        assert await elsewhere.updates() == []  # tracking starts per folder
        assert await inbox.updates() == []


@pytest.mark.anyio
async def test_shared_with_watch_each_event_once(alice: MailServers) -> None:
    alice.seed("alice", [message("one"), message("two")])
    async with open_box(alice) as box, open_box(alice) as other:
        inbox = box.folder("INBOX")
        theirs = other.folder("INBOX")
        assert await inbox.updates() == []
        alice.deliver_lmtp("alice", message("three"))
        await uids(inbox)  # the EXISTS comes with the answer to this search
        seen: list[FolderEvent] = []
        async with aclosing(inbox.watch(timeout=60)) as events:
            async for event in events:
                seen.append(event)
                if len(seen) == 1:
                    await theirs.add_flags([2], {Flag.FLAGGED})
                else:
                    break
        assert seen == [NewMessages(uids=(3,), exists=3), FlagsChanged(uid=2, flags=FLAGGED)]
        assert await inbox.updates() == []  # the watch told them: not again
        # What comes after the watch is the next updates() call's.
        await theirs.delete([1])
        assert await inbox.updates(poll=True) == [MessagesRemoved(uids=(1,))]


@pytest.mark.anyio
async def test_plain_users_pay_nothing(
    alice: MailServers, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="unimail.protocol")
    alice.seed("alice", [message("one")])
    async with open_box(alice) as box:
        inbox = box.folder("INBOX")
        await inbox.add_flags([1], {Flag.SEEN})
        untracked = sent_lines(caplog)
        assert not [line for line in untracked if "1:*" in line]
        assert [line for line in untracked if "STORE 1 +FLAGS.SILENT" in line]
        caplog.clear()
        await inbox.updates()
        await inbox.add_flags([1], {Flag.FLAGGED})
        tracked = sent_lines(caplog)
        assert [line for line in tracked if "UID FETCH 1:* (UID FLAGS)" in line]
        # Tracked: the server reports what it stored, so that the change is an event.
        assert [line for line in tracked if "STORE 1 +FLAGS (" in line]
        assert await inbox.updates() == [
            FlagsChanged(uid=1, flags=frozenset({Flag.SEEN, Flag.FLAGGED}))
        ]


@pytest.mark.anyio
async def test_uidvalidity_change_is_refused(alice: MailServers) -> None:
    async with open_box(alice) as box, open_box(alice) as other:
        await box.create_folder("Tracked")
        folder = box.folder("Tracked")
        await folder.append(message("one"))
        assert await folder.updates() == []
        assert await uids(box.folder("INBOX")) == []
        # Replaced by another folder of the same name: the old uids name other messages.
        await other.delete_folder("Tracked")
        await other.create_folder("Tracked")
        await other.folder("Tracked").append(message("two"))
        with pytest.raises(InvalidArgument, match="UIDVALIDITY"):
            await folder.updates()


# --- a scripted server: the exact wire --------------------------------------------------------

CAPS = b"IMAP4rev1 IDLE UIDPLUS"


@pytest.mark.anyio
async def test_wire_sequence_numbers_resolved_to_uids() -> None:
    ca = LocalCA()
    script = [
        *imap_login(CAPS),
        ReadLine(b'U2 SELECT "INBOX"\r\n'),
        Send(b"* 3 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\nU2 OK [READ-WRITE] done\r\n"),
        ReadLine(b"U3 UID FETCH 1:* (UID FLAGS)\r\n"),
        Send(
            b"* 1 FETCH (UID 5 FLAGS ())\r\n* 2 FETCH (UID 9 FLAGS (\\Seen))\r\n"
            b"* 3 FETCH (UID 11 FLAGS ())\r\nU3 OK done\r\n"
        ),
        # The caller fetches uid 11; the server interleaves news of other messages.
        ReadLine(b"U4 UID FETCH 11 (UID FLAGS)\r\n"),
        Send(
            b"* 1 EXPUNGE\r\n* 1 FETCH (FLAGS (\\Seen \\Flagged))\r\n* 3 EXISTS\r\n"
            b"* 2 FETCH (UID 11 FLAGS (\\Answered))\r\nU4 OK done\r\n"
        ),
        # updates(): sequence number 3 is new; its uid is asked (no UID: a plain FETCH).
        ReadLine(b"U5 FETCH 3 (UID FLAGS)\r\n"),
        Send(b"* 3 FETCH (UID 12 FLAGS ())\r\nU5 OK done\r\n"),
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
            folder = box.folder("INBOX")
            assert await folder.updates() == []
            found = [(i.uid, i.flags) async for i in folder.fetch([11], FetchField.FLAGS)]
            assert found == [(11, frozenset({Flag.ANSWERED}))]
            assert await folder.updates() == [
                MessagesRemoved(uids=(5,)),
                FlagsChanged(uid=9, flags=frozenset({Flag.SEEN, Flag.FLAGGED})),
                FlagsChanged(uid=11, flags=frozenset({Flag.ANSWERED})),
                NewMessages(uids=(12,), exists=3),
            ]
    assert server.errors == []
