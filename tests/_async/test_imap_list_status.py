"""``folders(status=True)``: LIST-STATUS (RFC 5819) where Dovecot offers it, one STATUS per
folder where a server does not. Source of tests/_sync/test_imap_list_status.py."""

from __future__ import annotations

import pytest

from mailservers import MailServers
from unimail import AsyncImapMailbox, AsyncMailbox, FolderStatus


def message(subject: str) -> bytes:
    """A small RFC 5322 message."""
    return f"From: bob@example.test\r\nSubject: {subject}\r\n\r\nHello.\r\n".encode()


async def counters(servers: MailServers, *, list_status: bool) -> dict[str, FolderStatus | None]:
    url = f"imaps://alice@{servers.host}:{servers.imaps_port}"
    async with AsyncMailbox.open(
        url, password=servers.users["alice"], ssl_context=servers.ssl_context()
    ) as box:
        assert isinstance(box, AsyncImapMailbox)
        assert "LIST-STATUS" in box.client.capabilities
        if not list_status:
            # A server without RFC 5819: the mailbox must fall back to STATUS per folder.
            box.client._capabilities -= {"LIST-STATUS"}
        await box.create_folder("Archive")
        await box.create_folder("Empty folder")
        await box.folder("Archive").append(message("kept"))
        return {info.name: info.status for info in await box.folders(status=True)}


@pytest.mark.anyio
@pytest.mark.parametrize("list_status", [True, False])
async def test_folders_with_status(alice: MailServers, list_status: bool) -> None:
    alice.seed("alice", [message("one"), message("two")], flags=None)
    found = await counters(alice, list_status=list_status)
    inbox, archive, empty = found["INBOX"], found["Archive"], found["Empty folder"]
    assert inbox is not None and archive is not None and empty is not None
    assert (inbox.messages, inbox.unseen) == (2, 2)
    assert (archive.messages, archive.uidnext) == (1, 2)
    assert empty.messages == 0 and empty.uidvalidity is not None


@pytest.mark.anyio
async def test_folders_without_status_has_none(alice: MailServers) -> None:
    url = f"imaps://alice@{alice.host}:{alice.imaps_port}"
    async with AsyncMailbox.open(
        url, password=alice.users["alice"], ssl_context=alice.ssl_context()
    ) as box:
        assert all(info.status is None for info in await box.folders())
