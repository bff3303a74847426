"""The local backends (memory:, maildir:, mbox:) on the Mailbox contract, each test run on
all three.

This file is the source of tests/_sync/test_local_backends.py (tools/unasync.py): every test
runs on asyncio, on trio, and through the generated sync facade.
"""

from __future__ import annotations

import datetime
import email.message
import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from unimail import (
    AsyncLocalFolder,
    AsyncLocalMailbox,
    AsyncMemoryMailbox,
    Capability,
    CommandError,
    FetchField,
    Flag,
    FolderNotFound,
    InvalidArgument,
    LimitExceeded,
    Limits,
    Q,
    SpecialUse,
)

ALL_FIELDS = (
    FetchField.UID | FetchField.FLAGS | FetchField.SIZE | FetchField.INTERNALDATE
    | FetchField.ENVELOPE | FetchField.HEADERS | FetchField.BODY | FetchField.BODYSTRUCTURE
)  # fmt: skip
WHEN = datetime.datetime(2024, 3, 4, 5, 6, 7, tzinfo=datetime.timezone.utc)


def n(uid: int | str | None) -> int:
    """A local uid, which is an int."""
    assert isinstance(uid, int)
    return uid


def message(subject: str, body: str = "Hello.\r\n", sender: str = "bob@example.test") -> bytes:
    """A small RFC 5322 message."""
    return (
        f"From: Bob <{sender}>\r\nTo: alice@example.test\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '.')}@example.test>\r\n"
        f"Date: Fri, 27 Nov 2026 10:00:00 +0000\r\n\r\n{body}"
    ).encode()


@pytest.fixture(params=["memory", "maildir", "mbox"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty local mailbox of each kind (mbox: a directory of mbox files)."""
    kind: str = request.param
    if kind == "memory":
        name = f"test-{uuid.uuid4().hex}"
        yield f"memory:{name}"
        AsyncMemoryMailbox.discard(name)
    elif kind == "maildir":
        yield f"maildir:{tmp_path / 'Maildir'}"
    else:
        (tmp_path / "mail").mkdir()
        yield f"mbox:{tmp_path / 'mail'}"


@pytest.mark.anyio
async def test_append_then_read_every_field(url: str) -> None:
    async with AsyncLocalMailbox.open(url) as box:
        assert isinstance(box, AsyncLocalMailbox)
        assert {Capability.FOLDERS, Capability.FLAGS, Capability.MOVE} <= box.capabilities
        assert Capability.SERVER_SEARCH not in box.capabilities
        inbox = box.folder("inbox")
        assert isinstance(inbox, AsyncLocalFolder) and inbox.name == "INBOX"
        raw = message("=?utf-8?q?Gr=C3=BC=C3=9Fe?=", "Zweite Nachricht\r\n")
        uid = await inbox.append(raw, flags={Flag.SEEN, "$Label"}, internal_date=WHEN)
        other = await inbox.append(message("second"))
        assert isinstance(uid, int) and isinstance(other, int) and other > uid
        status = await inbox.status()
        assert (status.messages, status.unseen) == (2, 1)
        assert status.uidnext is not None and status.uidnext > other
        assert status.uidvalidity == inbox.uidvalidity
        infos = [i async for i in inbox.fetch([other, uid, 999], ALL_FIELDS)]
        assert [i.uid for i in infos] == [uid, other]
        first = infos[0]
        assert first.flags == frozenset({Flag.SEEN, "$Label"})
        assert first.size == len(raw) and first.body == raw
        assert first.internal_date == WHEN
        assert first.headers is not None and first.headers.startswith(b"From: Bob")
        assert first.envelope is not None and first.envelope.subject == "Grüße"
        assert first.envelope.from_[0].name == "Bob"
        assert first.envelope.from_[0].addr == "bob@example.test"
        assert first.envelope.message_id == "<=?utf-8?q?Gr=C3=BC=C3=9Fe?=@example.test>"
        assert first.body_structure is not None
        assert first.body_structure.content_type == "text/plain"
        assert first.body_structure.section == "1"
        assert infos[1].flags == frozenset()
        assert await inbox.get_bytes(uid) == raw
        parsed = await inbox.get(other)
        assert isinstance(parsed, email.message.EmailMessage) and parsed["Subject"] == "second"
        # Reading never marks a message seen.
        assert (await inbox.status()).unseen == 1


@pytest.mark.anyio
async def test_email_message_is_stored_with_crlf(url: str) -> None:
    msg = email.message.EmailMessage()
    msg["From"] = "alice@example.test"
    msg["To"] = "bob@example.test"
    msg["Subject"] = "multipart"
    msg.set_content("text part\n")
    msg.add_attachment(b"\x00\x01binary", maintype="application", subtype="octet-stream",
                       filename="data.bin")  # fmt: skip
    async with AsyncLocalMailbox.open(url) as box:
        inbox = box.folder("INBOX")
        uid = await inbox.append(msg)
        assert uid is not None
        raw = await inbox.get_bytes(uid)
        assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
        (info,) = [i async for i in inbox.fetch([uid], FetchField.BODYSTRUCTURE)]
        structure = info.body_structure
        assert structure is not None and structure.content_type == "multipart/mixed"
        assert [p.section for p in structure.children] == ["1", "2"]
        attachment = structure.children[1]
        assert attachment.is_attachment and attachment.filename == "data.bin"
        assert attachment.encoding == "base64"


@pytest.mark.anyio
async def test_search_evaluates_every_kind_of_query(url: str) -> None:
    async with AsyncLocalMailbox.open(url) as box:
        inbox = box.folder("INBOX")
        a = await inbox.append(message("invoice 42", "Please pay.\r\n"), flags={Flag.SEEN})
        b = await inbox.append(message("hello", "Bonjour\r\n", sender="carol@example.test"),
                               flags={"$Todo"}, internal_date=WHEN)  # fmt: skip
        c = await inbox.append(message("big", "x" * 5000 + "\r\n"), flags={Flag.FLAGGED})

        async def uids(query: Q | None) -> list[int | str]:
            return [i.uid async for i in inbox.search(query, fields=FetchField.UID)]

        assert await uids(None) == [a, b, c]
        assert await uids(Q.subject("INVOICE")) == [a]
        assert await uids(Q.sender("carol")) == [b]
        assert await uids(Q.body("bonjour")) == [b]
        assert await uids(Q.text("pay")) == [a]
        assert await uids(Q.unseen()) == [b, c]
        assert await uids(Q.flagged() | Q.keyword("$Todo")) == [b, c]
        assert await uids(Q.on(WHEN.date())) == [b]
        assert await uids(Q.larger(4000)) == [c]
        assert await uids(Q.uid([a, c]) & ~Q.seen()) == [c]
        found = [i async for i in inbox.search(Q.subject("hello"))]
        assert len(found) == 1 and found[0].envelope is not None
        assert found[0].envelope.subject == "hello" and found[0].flags == frozenset({"$Todo"})
        with pytest.raises(InvalidArgument):
            [i async for i in inbox.search("ALL")]  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_download_streams_to_paths_and_files(url: str, tmp_path: Path) -> None:
    body = "line of text\r\n" * 40_000  # 560 kB: several chunks
    raw = message("large", body)
    async with AsyncLocalMailbox.open(url, limits=Limits(max_message_size=100_000)) as box:
        inbox = box.folder("INBOX")
        uid = await inbox.append(raw)
        assert uid is not None
        seen: list[tuple[int, int | None]] = []
        target = tmp_path / "out.eml"
        size = await inbox.download(uid, target, progress=lambda d, t: seen.append((d, t)))
        assert size == len(raw) and target.read_bytes() == raw
        assert len(seen) > 1 and seen[-1] == (len(raw), len(raw))
        assert not (tmp_path / "out.eml.part").exists()
        buffer = io.BytesIO()
        assert await inbox.download(uid, buffer) == len(raw) and buffer.getvalue() == raw
        with pytest.raises(LimitExceeded):
            await inbox.get_bytes(uid)  # larger than max_message_size: download() streams
        with pytest.raises(CommandError):
            await inbox.download(uid + 100, tmp_path / "missing.eml")
        assert not (tmp_path / "missing.eml").exists()
        with pytest.raises(CommandError):
            await inbox.get_bytes(uid + 100)
        with pytest.raises(InvalidArgument):
            await inbox.get_bytes("1")


@pytest.mark.anyio
async def test_flags_and_keywords(url: str) -> None:
    async with AsyncLocalMailbox.open(url) as box:
        inbox = box.folder("INBOX")
        a = await inbox.append(message("a"))
        b = await inbox.append(message("b"), flags={Flag.DRAFT})
        assert a is not None and b is not None
        await inbox.add_flags([a, b], {Flag.SEEN, "\\flagged", "$Work"})
        await inbox.remove_flags([b], {Flag.DRAFT, "$Work"})
        await inbox.add_flags([a], {Flag.ANSWERED, Flag.DELETED})
        flags = {i.uid: i.flags async for i in inbox.search(fields=FetchField.FLAGS)}
        assert flags == {
            a: {Flag.SEEN, Flag.FLAGGED, Flag.ANSWERED, Flag.DELETED, "$Work"},
            b: {Flag.SEEN, Flag.FLAGGED},
        }
        await inbox.set_flags([a], {"$Other"})
        await inbox.set_flags([b], ())
        await inbox.add_flags([12345], {Flag.SEEN})  # a uid that is not there is ignored
        flags = {i.uid: i.flags async for i in inbox.search(fields=FetchField.FLAGS)}
        assert flags == {a: {"$Other"}, b: frozenset()}
        for bad in ("\\Seen", {Flag.RECENT}, {"\\Unknown"}, {"two words"}, {"x\r\ny"}):
            with pytest.raises(InvalidArgument):
                await inbox.add_flags([a], bad)
        with pytest.raises(InvalidArgument):
            await inbox.add_flags([0], {Flag.SEEN})


@pytest.mark.anyio
async def test_copy_move_delete(url: str) -> None:
    async with AsyncLocalMailbox.open(url) as box:
        await box.create_folder("Archive")
        inbox, archive = box.folder("INBOX"), box.folder("Archive")
        a = await inbox.append(message("a"), flags={Flag.SEEN, "$Keep"}, internal_date=WHEN)
        b = await inbox.append(message("b"))
        c = await inbox.append(message("c"))
        assert a is not None and b is not None and c is not None
        copied = await inbox.copy([a, 999], "Archive")
        assert list(copied) == [a]
        moved = await inbox.move([b], "Archive")
        assert list(moved) == [b] and moved[b] != copied[a]
        fields = FetchField.FLAGS | FetchField.INTERNALDATE | FetchField.ENVELOPE
        got = {i.uid: i async for i in archive.search(fields=fields)}
        assert set(got) == {copied[a], moved[b]}
        assert got[copied[a]].flags == frozenset({Flag.SEEN, "$Keep"})
        assert got[copied[a]].internal_date == WHEN
        envelope = got[moved[b]].envelope
        assert envelope is not None and envelope.subject == "b"
        assert [i.uid async for i in inbox.search()] == [a, c]
        await inbox.delete([c, 4242])
        assert [i.uid async for i in inbox.search()] == [a]
        assert (await archive.status()).messages == 2
        # Copying within one folder makes a second message.
        again = await archive.copy([copied[a]], "Archive")
        assert (await archive.status()).messages == 3 and n(again[copied[a]]) > n(moved[b])
        with pytest.raises(FolderNotFound):
            await inbox.copy([a], "Nowhere")
        assert [i.uid async for i in inbox.search()] == [a]


@pytest.mark.anyio
async def test_folder_management(url: str) -> None:
    async with AsyncLocalMailbox.open(url) as box:
        await box.create_folder("Sent")
        await box.create_folder("Projects")
        with pytest.raises(CommandError):
            await box.create_folder("Projects")
        folders = {f.name: f for f in await box.folders()}
        assert next(iter(folders)) == "INBOX" and {"Sent", "Projects"} <= set(folders)
        assert folders["Sent"].special_use is SpecialUse.SENT
        uid = await box.folder("Projects").append(message("p"))
        await box.rename_folder("Projects", "Done")
        names = [f.name for f in await box.folders()]
        assert "Done" in names and "Projects" not in names
        # A rename keeps the uids.
        assert [i.uid async for i in box.folder("Done").search()] == [uid]
        with pytest.raises(FolderNotFound):
            await box.folder("Projects").status()
        with pytest.raises(FolderNotFound):
            await box.rename_folder("Projects", "X")
        with pytest.raises(CommandError):
            await box.delete_folder("INBOX")
        await box.delete_folder("Done")
        with pytest.raises(FolderNotFound):
            await box.delete_folder("Done")
        with pytest.raises(FolderNotFound):
            [i async for i in box.folder("Done").search()]
        with pytest.raises(InvalidArgument):
            box.folder("")


@pytest.mark.anyio
async def test_uids_are_stable_and_never_reused(url: str) -> None:
    async with AsyncLocalMailbox.open(url) as box:
        inbox = box.folder("INBOX")
        uids = [await inbox.append(message(f"m{n}")) for n in range(3)]
        validity = (await inbox.status()).uidvalidity
        await inbox.delete([uids[2]])
    async with AsyncLocalMailbox.open(url) as box:
        inbox = box.folder("INBOX")
        status = await inbox.status()
        assert status.uidvalidity == validity
        infos = [i async for i in inbox.search()]
        assert [i.uid for i in infos] == uids[:2]
        assert [i.envelope.subject for i in infos if i.envelope] == ["m0", "m1"]
        new = await inbox.append(message("m3"))
        assert new is not None and new > max(u for u in uids if u is not None)


@pytest.mark.anyio
async def test_uidvalidity_change_voids_old_uids(url: str) -> None:
    async with AsyncLocalMailbox.open(url) as box, AsyncLocalMailbox.open(url) as other:
        await box.create_folder("Temp")
        temp = box.folder("Temp")
        uid = await temp.append(message("t"))
        assert (await temp.status()).messages == 1
        assert uid is not None
        await other.delete_folder("Temp")
        await other.create_folder("Temp")
        await other.folder("Temp").append(message("someone else"))
        with pytest.raises(InvalidArgument, match="UIDVALIDITY"):
            await temp.get_bytes(uid)
        fresh = box.folder("Temp")
        assert [i.envelope.subject async for i in fresh.search() if i.envelope] == ["someone else"]


@pytest.mark.anyio
async def test_closed_mailbox_refuses_work(url: str) -> None:
    box = await AsyncLocalMailbox.open(url)
    inbox = box.folder("INBOX")
    await box.aclose()
    await box.aclose()
    with pytest.raises(Exception, match="closed"):
        await inbox.status()
