"""Folder.watch() on IMAP: IDLE against the real Dovecot (the exact wire is in
test_imap_watch_wire.py).

This file is the source of tests/_sync/test_imap_watch.py (tools/unasync.py): every test runs
on asyncio, on trio, and through the generated sync facade. No test needs a second thread or
task: what the watch reports is done either before the loop starts (the connection has not
been told yet, so the first IDLE reports it) or in the loop body, while the watcher holds an
event and its connection is not idling.
"""

from __future__ import annotations

import logging
import re
import subprocess
from collections.abc import AsyncGenerator
from contextlib import aclosing

import pytest

from mailservers import MailServers
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
)
from unimail._async._imap_watch import watch_folder
from unimail._opening import AsyncOpening  # unasync: remove


def message(subject: str) -> bytes:
    return (
        f"From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject}@example.test>\r\n\r\nHello.\r\n"
    ).encode()


Opening = AsyncOpening[AsyncImapMailbox]  # unasync: Opening = ImapMailbox


def open_box(servers: MailServers) -> Opening:
    return AsyncImapMailbox.open(
        f"imaps://alice@{servers.host}:{servers.imaps_port}",
        password=servers.users["alice"],
        ssl_context=servers.ssl_context(),
    )


async def inbox_of(box: AsyncImapMailbox) -> AsyncImapFolder:
    """The INBOX, selected: the watch reports what happens after this moment."""
    folder = box.folder("INBOX")
    await uids(folder)
    return folder


async def uids(folder: AsyncImapFolder) -> list[int | str]:
    return [info.uid async for info in folder.search(fields=FetchField.UID)]


async def drain(events: AsyncGenerator[FolderEvent, None]) -> None:
    async with aclosing(events) as opened:
        async for _ in opened:
            pass


def kick(servers: MailServers, user: str) -> None:
    """Make Dovecot drop every IMAP session of ``user`` (it says BYE and closes)."""
    config = servers.workdir / "dovecot" / "dovecot.conf"
    subprocess.run(["doveadm", "-c", str(config), "kick", user], check=True, capture_output=True)


def sent_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The command lines the client sent, from the protocol trace."""
    messages = [record.getMessage() for record in caplog.records]
    return [text[3:] for text in messages if text.startswith("C: ")]


@pytest.mark.anyio
async def test_new_mail_flags_and_removal(alice: MailServers) -> None:
    alice.seed("alice", [message("one"), message("two")])
    async with open_box(alice) as box, open_box(alice) as other:
        inbox = await inbox_of(box)
        theirs = other.folder("INBOX")
        alice.deliver_lmtp("alice", message("three"))
        seen: list[FolderEvent] = []
        async with aclosing(inbox.watch(timeout=60)) as events:
            async for event in events:
                seen.append(event)
                if len(seen) == 1:
                    await theirs.add_flags([1], {Flag.FLAGGED})
                elif len(seen) == 2:
                    await theirs.delete([2])
                elif isinstance(event, MessagesRemoved):
                    break
        assert seen[:2] == [
            NewMessages(uids=(3,), exists=3),
            FlagsChanged(uid=1, flags=frozenset({Flag.FLAGGED})),
        ]
        # Dovecot may or may not tell the \Deleted flag before the expunge.
        deleted = FlagsChanged(uid=2, flags=frozenset({Flag.DELETED}))
        assert seen[2:] in ([MessagesRemoved(uids=(2,))], [deleted, MessagesRemoved(uids=(2,))])
        # Breaking out left the connection ready for commands.
        assert await uids(inbox) == [1, 3]


@pytest.mark.anyio
async def test_renewal_loses_nothing_and_timeout_stops_gracefully(
    alice: MailServers, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="unimail.protocol")
    alice.seed("alice", [message("one")])
    async with open_box(alice) as box:
        inbox = await inbox_of(box)
        alice.deliver_lmtp("alice", message("two"))
        seen: list[FolderEvent] = []
        async with aclosing(watch_folder(inbox, timeout=3, renew_interval=0.4)) as events:
            async for event in events:
                seen.append(event)
                if len(seen) == 1:
                    alice.deliver_lmtp("alice", message("three"))
        assert seen == [NewMessages(uids=(2,), exists=2), NewMessages(uids=(3,), exists=3)]
        lines = sent_lines(caplog)
        idles = [line for line in lines if re.fullmatch(r"U\d+ IDLE\\r\\n", line)]
        # Two IDLEs ended by events, and at least one renewed in the quiet time after them;
        # every IDLE was ended by DONE (the timeout too), so no command is left in flight.
        assert len(idles) >= 3
        assert lines.count("DONE\\r\\n") == len(idles)
        assert await uids(inbox) == [1, 2, 3]


@pytest.mark.anyio
async def test_breaking_out_leaves_the_connection_usable(alice: MailServers) -> None:
    alice.seed("alice", [message("one")])
    async with open_box(alice) as box:
        inbox = await inbox_of(box)
        alice.deliver_lmtp("alice", message("two"))
        async with aclosing(inbox.watch()) as events:
            async for event in events:
                assert event == NewMessages(uids=(2,), exists=2)
                break
        assert await uids(inbox) == [1, 2]
        # A new watch starts from where the connection stands: the next mail is its event.
        alice.deliver_lmtp("alice", message("three"))
        async with aclosing(inbox.watch(timeout=60)) as events:
            async for event in events:
                assert event == NewMessages(uids=(3,), exists=3)
                break
        assert (await inbox.status()).messages == 3


@pytest.mark.anyio
async def test_commands_in_the_loop_body_lose_no_event(alice: MailServers) -> None:
    alice.seed("alice", [message("one"), message("two"), message("three")])
    async with open_box(alice) as box, open_box(alice) as other:
        inbox = await inbox_of(box)
        alice.deliver_lmtp("alice", message("four"))
        seen: list[FolderEvent] = []
        async with aclosing(inbox.watch(timeout=60)) as events:
            async for event in events:
                seen.append(event)
                if len(seen) == 1:
                    # The caller's own commands on the watched connection: the EXPUNGE and
                    # FETCH responses they bring are theirs, and the watch must not lose step.
                    await inbox.delete([2])
                    await inbox.add_flags([3], {Flag.SEEN})
                    assert [i.uid async for i in inbox.fetch([4], FetchField.UID)] == [4]
                elif len(seen) == 3:
                    alice.deliver_lmtp("alice", message("five"))
                elif len(seen) == 4:
                    # Message 4 of the session is uid 5 now that uid 2 is gone.
                    await other.folder("INBOX").add_flags([5], {Flag.FLAGGED})
                elif len(seen) == 5:
                    break
        assert seen == [
            NewMessages(uids=(4,), exists=4),
            MessagesRemoved(uids=(2,)),
            FlagsChanged(uid=3, flags=frozenset({Flag.SEEN})),
            NewMessages(uids=(5,), exists=4),
            FlagsChanged(uid=5, flags=frozenset({Flag.FLAGGED})),
        ]


@pytest.mark.anyio
async def test_dropped_connection_reconnects_without_losing_or_repeating(
    alice: MailServers,
) -> None:
    alice.seed("alice", [message("one"), message("two")])
    async with open_box(alice) as box:
        inbox = await inbox_of(box)
        first_client = box.client
        alice.deliver_lmtp("alice", message("three"))
        seen: list[FolderEvent] = []
        async with aclosing(watch_folder(inbox, timeout=60, reconnect_delays=[0, 0.5])) as events:
            async for event in events:
                seen.append(event)
                if len(seen) == 1:
                    # The server drops the connection; meanwhile mail comes and goes.
                    kick(alice, "alice")
                    alice.deliver_lmtp("alice", message("four"))
                    async with open_box(alice) as other:
                        await other.folder("INBOX").delete([1])
                        await other.folder("INBOX").add_flags([2], {Flag.FLAGGED})
                elif isinstance(event, NewMessages):
                    break
        assert seen == [
            NewMessages(uids=(3,), exists=3),
            MessagesRemoved(uids=(1,)),
            FlagsChanged(uid=2, flags=frozenset({Flag.FLAGGED})),
            NewMessages(uids=(4,), exists=3),
        ]
        assert box.client is not first_client
        assert await uids(inbox) == [2, 3, 4]


@pytest.mark.anyio
async def test_polls_with_noop_where_the_server_lacks_idle(
    alice: MailServers, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="unimail.protocol")
    alice.seed("alice", [message("one"), message("two")])
    async with open_box(alice) as box, open_box(alice) as other:
        inbox = await inbox_of(box)
        box.client._capabilities = box.client.capabilities - {"IDLE"}  # a server without IDLE
        alice.deliver_lmtp("alice", message("three"))
        seen: list[FolderEvent] = []
        async with aclosing(inbox.watch(timeout=60, poll_interval=0.2)) as events:
            async for event in events:
                seen.append(event)
                if len(seen) == 1:
                    await other.folder("INBOX").delete([1])
                else:
                    break
        assert seen == [NewMessages(uids=(3,), exists=3), MessagesRemoved(uids=(1,))]
        lines = sent_lines(caplog)
        assert not [line for line in lines if "IDLE" in line]
        assert [line for line in lines if re.fullmatch(r"U\d+ NOOP\\r\\n", line)]


@pytest.mark.anyio
async def test_uidvalidity_change_ends_the_watch(alice: MailServers) -> None:
    async with open_box(alice) as box, open_box(alice) as other:
        await box.create_folder("Watched")
        folder = box.folder("Watched")
        await folder.append(message("one"))
        assert await uids(folder) == [1]
        await other.folder("Watched").append(message("two"))
        seen: list[FolderEvent] = []

        async def watch() -> None:
            async with aclosing(folder.watch(timeout=60)) as events:
                async for event in events:
                    seen.append(event)
                    # The folder is replaced by another of the same name, and the connection
                    # drops: after reconnecting, the old uids name other messages.
                    await other.delete_folder("Watched")
                    await other.create_folder("Watched")
                    await other.folder("Watched").append(message("three"))
                    kick(alice, "alice")

        with pytest.raises(InvalidArgument, match="UIDVALIDITY"):
            await watch()
        assert seen == [NewMessages(uids=(2,), exists=2)]
