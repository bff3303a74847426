"""``Folder.append_many()`` with per-message flags and dates: IMAP with and without
MULTIAPPEND (Dovecot), and the local backends. Source of tests/_sync/test_append_many.py."""

from __future__ import annotations

import datetime
import uuid
from pathlib import Path

import pytest

from mailservers import MailServers
from unimail import AsyncFolder, AsyncImapMailbox, AsyncMailbox, FetchField, Flag, InvalidArgument

UTC = datetime.timezone.utc
DATES = [datetime.datetime(2020 + n, 1 + n, 2, 3, 4, 5, tzinfo=UTC) for n in range(3)]


def message(subject: str) -> bytes:
    """A small RFC 5322 message."""
    return f"From: bob@example.test\r\nSubject: {subject}\r\n\r\nHello.\r\n".encode()


async def check_append_many(folder: AsyncFolder) -> None:
    uids = await folder.append_many(
        [
            (message("zero"), {Flag.SEEN}, DATES[0]),
            message("one"),  # the shared flags and date
            (message("two"), {Flag.FLAGGED, "$Label"}, DATES[2]),
        ],
        flags={Flag.ANSWERED},
        internal_date=DATES[1],
    )
    assert len(uids) == 3 and all(uid is not None for uid in uids)
    fields = FetchField.UID | FetchField.FLAGS | FetchField.INTERNALDATE | FetchField.BODY
    found = {info.uid: info async for info in folder.fetch([u for u in uids if u], fields)}
    got = [found[uid] for uid in uids if uid is not None]
    assert [info.body for info in got] == [message("zero"), message("one"), message("two")]
    assert [info.internal_date for info in got] == DATES
    # \Recent is the server's to set (IMAP4rev1), not the caller's.
    stored = [set(info.flags or ()) - {Flag.RECENT} for info in got]
    expected: list[set[Flag | str]] = [{Flag.SEEN}, {Flag.ANSWERED}, {Flag.FLAGGED, "$Label"}]
    assert stored == expected
    with pytest.raises(InvalidArgument, match="append_many"):
        await folder.append_many([(message("bad"), set())])  # type: ignore[list-item]


@pytest.mark.anyio
@pytest.mark.parametrize("multiappend", [True, False])
async def test_imap_append_many(alice: MailServers, multiappend: bool) -> None:
    url = f"imaps://alice@{alice.host}:{alice.imaps_port}"
    async with AsyncMailbox.open(
        url, password=alice.users["alice"], ssl_context=alice.ssl_context()
    ) as box:
        assert isinstance(box, AsyncImapMailbox)
        assert "MULTIAPPEND" in box.client.capabilities
        if not multiappend:
            box.client._capabilities -= {"MULTIAPPEND"}
        await check_append_many(box.folder("INBOX"))


@pytest.mark.anyio
@pytest.mark.parametrize("scheme", ["maildir", "memory"])
async def test_local_append_many(tmp_path: Path, scheme: str) -> None:
    where = tmp_path / "mail" if scheme == "maildir" else uuid.uuid4().hex
    async with AsyncMailbox.open(f"{scheme}:{where}") as box:
        await check_append_many(box.folder("INBOX"))
