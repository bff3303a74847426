"""Conformance checks for reading: open and close, folders, status, search, fetch, get,
download and uid stability. Every backend must pass each of them (DESIGN.md, the contract)."""

from __future__ import annotations

import email.message
import io
import os
import tempfile
from pathlib import Path

from .._errors import CommandError, ConnectionLost, InvalidArgument, UnsupportedOperation
from .._models import Capability, FetchField, Flag, FolderInfo
from .._search import Q
from ._conformance import (
    AsyncConformanceTarget,
    expect,
    expect_raises,
    fail,
    large_message,
    message,
    missing_uid,
    seed,
    supports,
    system_flags,
    tricky_message,
    wrong_type_uid,
)
from ._folder import AsyncFolder, Uid

__all__ = [
    "check_download",
    "check_fetch",
    "check_folders_and_status",
    "check_get_bytes_exact",
    "check_open_and_close",
    "check_search",
    "check_uid_stability",
]


class _Marker(Exception):
    """Raised inside ``async with`` to see that the mailbox is closed on the way out."""


async def _uids(folder: AsyncFolder) -> list[Uid]:
    found = [info.uid async for info in folder.search(fields=FetchField.UID)]
    expect(len(set(found)) == len(found), f"search() yielded a uid twice: {found!r}")
    return found


def _in_order(uids: list[Uid], what: str) -> None:
    types = {type(uid) for uid in uids}
    expect(len(types) <= 1 and types <= {int, str}, f"{what}: uids are int or str, got {uids!r}")
    if types == {int}:
        expect(uids == sorted(uids), f"{what}: int uids come in ascending order, got {uids!r}")


async def check_open_and_close(target: AsyncConformanceTarget) -> None:
    """capabilities is a frozenset of Capability; aclose() is idempotent; after it (and after
    ``async with``, also when the block raised) every operation raises ConnectionLost."""
    box = await target.open()
    caps = box.capabilities
    expect(isinstance(caps, frozenset), f"capabilities is a frozenset, got {type(caps)}")
    expect(all(isinstance(c, Capability) for c in caps), f"not all Capability: {caps!r}")
    expect(bool(repr(box)), "repr() of the mailbox is empty")
    await box.aclose()
    await box.aclose()
    with expect_raises(ConnectionLost, "status() after aclose()"):
        await box.folder("INBOX").status()
    async with await target.open() as box:
        expect((await box.folder("INBOX").status()).messages == 0, "the store starts empty")
    with expect_raises(ConnectionLost, "status() after the `async with` block"):
        await box.folder("INBOX").status()
    try:
        async with await target.open() as box:
            raise _Marker
    except _Marker:
        pass
    with expect_raises(ConnectionLost, "status() after an `async with` block that raised"):
        await box.folder("INBOX").status()


async def check_folders_and_status(target: AsyncConformanceTarget) -> None:
    """folders() lists INBOX; status() counts the messages (and the unseen ones with FLAGS)."""
    async with await target.open() as box:
        folders = await box.folders()
        expect(all(isinstance(f, FolderInfo) for f in folders), f"folders(): {folders!r}")
        expect("INBOX" in {f.name for f in folders}, f"folders() lacks INBOX: {folders!r}")
        expect((await box.folder("INBOX").status()).messages == 0, "the store starts empty")
    await seed(target, [message(i) for i in range(3)])
    async with await target.open() as box:
        status = await box.folder("INBOX").status()
        expect(status.messages == 3, f"status().messages after 3 messages: {status!r}")
        if supports(box, Capability.FLAGS):
            expect(status.unseen == 3, f"3 new messages are unseen: {status!r}")
        else:
            expect(status.unseen in (None, 3), f"unseen is None or 3: {status!r}")


async def check_search(target: AsyncConformanceTarget) -> None:
    """search() yields each message once with the default fields; Q filters as IMAP would."""
    await seed(
        target,
        [
            message(1, subject="conformance alpha"),
            message(2, subject="conformance beta", sender="Carol <carol@example.test>"),
            message(3, subject="conformance gamma", body="a needle in the body\r\n"),
            tricky_message(),
        ],
    )
    async with await target.open() as box:
        inbox = box.folder("INBOX")
        infos = [info async for info in inbox.search()]
        _in_order([i.uid for i in infos], "search()")
        expect(len(infos) == 4, f"search() found {len(infos)} of 4 messages")
        subjects = {i.envelope.subject if i.envelope else None for i in infos}
        want = {"conformance alpha", "conformance beta", "conformance gamma", "Grüße aus Köln"}
        expect(subjects == want, f"envelope subjects (RFC 2047 decoded): {subjects!r}")
        first = next(i for i in infos if i.envelope and i.envelope.subject == "conformance alpha")
        envelope = first.envelope
        expect(envelope is not None and envelope.from_[0].addr == "bob@example.test", "from_")
        expect(envelope is not None and envelope.from_[0].name == "Bob Example", "from_ name")
        expect(
            envelope is not None and envelope.message_id == "<conformance-1@example.test>",
            f"envelope.message_id: {envelope!r}",
        )
        for info in infos:
            raw = await inbox.get_bytes(info.uid)
            expect(info.size == len(raw), f"size {info.size} != len(get_bytes()) {len(raw)}")
            if supports(box, Capability.FLAGS):
                expect(Flag.SEEN not in system_flags(info), "a new message is not \\Seen")
            else:
                expect(info.flags is None, f"flags without FLAGS: None, got {info.flags!r}")

        def subjects_of(found: list[str | None]) -> set[str | None]:
            return set(found)

        async def find(query: Q) -> set[str | None]:
            found = [i async for i in inbox.search(query)]
            return subjects_of([i.envelope.subject if i.envelope else None for i in found])

        expect(await find(Q.subject("beta")) == {"conformance beta"}, "Q.subject")
        expect(await find(Q.sender("carol@example.test")) == {"conformance beta"}, "Q.sender")
        expect(await find(Q.body("needle")) == {"conformance gamma"}, "Q.body")
        expect(await find(Q.subject("Grüße")) == {"Grüße aus Köln"}, "non-ASCII Q.subject")
        expect(await find(Q.subject("no such subject")) == set(), "Q that matches nothing")
        both = Q.subject("alpha") | Q.subject("gamma")
        expect(await find(both) == {"conformance alpha", "conformance gamma"}, "Q | Q")
        expect(len(await find(Q.subject("conformance") & ~Q.subject("alpha"))) == 2, "Q & ~Q")
        bare = [i async for i in inbox.search(Q.subject("alpha"), fields=FetchField.UID)]
        expect(len(bare) == 1, f"fields=UID: one result, got {bare!r}")
        expect(bare[0].envelope is None and bare[0].size is None, "fields not asked are None")
        if supports(box, Capability.FLAGS):
            expect(await find(Q.seen()) == set(), "Q.seen() on new messages")
        else:
            with expect_raises(UnsupportedOperation, "Q.seen() without FLAGS"):
                await find(Q.seen())


async def check_fetch(target: AsyncConformanceTarget) -> None:
    """fetch() yields each existing uid asked for once, with only the fields asked for;
    reading never marks a message seen; a uid of the wrong type is InvalidArgument."""
    await seed(target, [message(i) for i in range(3)])
    async with await target.open() as box:
        inbox = box.folder("INBOX")
        uids = await _uids(inbox)
        some = [i async for i in inbox.fetch([uids[2], uids[0]], FetchField.UID)]
        _in_order([i.uid for i in some], "fetch()")
        expect({i.uid for i in some} == {uids[0], uids[2]}, f"fetch() of 2 uids: {some!r}")
        expect(len(some) == 2, f"fetch() yields each uid once: {some!r}")
        gone = missing_uid(uids)
        expect([i async for i in inbox.fetch([gone])] == [], f"fetch([{gone!r}]) (no message)")
        expect([i async for i in inbox.fetch([])] == [], "fetch([]) yields nothing")
        fields = FetchField.SIZE | FetchField.HEADERS
        [info] = [i async for i in inbox.fetch([uids[1]], fields)]
        raw = await inbox.get_bytes(uids[1])
        expect(
            info.headers is not None and b"Subject: conformance 1\r\n" in info.headers, "headers"
        )
        expect(info.headers is not None and raw.startswith(info.headers), "headers: raw prefix")
        expect(info.body is None and info.envelope is None, "fields not asked are None")
        [full] = [i async for i in inbox.fetch([uids[1]], FetchField.BODY)]
        expect(full.body == raw, "fetch(BODY).body == get_bytes()")
        if supports(box, Capability.FLAGS):
            flags = [system_flags(i) async for i in inbox.fetch(uids, FetchField.FLAGS)]
            expect(all(Flag.SEEN not in f for f in flags), f"reading set \\Seen: {flags!r}")
        with expect_raises(InvalidArgument, "fetch() of a uid of the wrong type"):
            [i async for i in inbox.fetch([wrong_type_uid(uids)])]  # type: ignore[list-item]
        expect((await inbox.status()).messages == 3, "still usable after InvalidArgument")


async def check_get_bytes_exact(target: AsyncConformanceTarget) -> None:
    """get_bytes() returns exactly the stored bytes (8-bit, dots, From lines); get() parses
    them with email.policy.default; a missing uid is CommandError."""
    sent = [tricky_message(), message(1)]
    await seed(target, sent)
    async with await target.open() as box:
        inbox = box.folder("INBOX")
        uids = await _uids(inbox)
        got = [await inbox.get_bytes(uid) for uid in uids]
        expect(sorted(got) == sorted(sent), "get_bytes() is not byte-exact")
        parsed = await inbox.get(uids[got.index(sent[0])])
        expect(isinstance(parsed, email.message.EmailMessage), "get() returns an EmailMessage")
        expect(parsed["Subject"] == "Grüße aus Köln", f"get() subject: {parsed['Subject']!r}")
        with expect_raises(CommandError, "get_bytes() of a missing uid"):
            await inbox.get_bytes(missing_uid(uids))


async def check_download(target: AsyncConformanceTarget) -> None:
    """download() writes the exact bytes to a path or a binary file, reports progress up to
    the size, returns the size, and leaves no file (nor ``.part``) for a missing uid."""
    big = large_message()
    await seed(target, [big])
    async with await target.open() as box:
        inbox = box.folder("INBOX")
        [uid] = await _uids(inbox)
        calls: list[tuple[int, int | None]] = []
        buffer = io.BytesIO()
        size = await inbox.download(uid, buffer, progress=lambda d, t: calls.append((d, t)))
        expect(buffer.getvalue() == big, "download() to a binary file is not byte-exact")
        expect(size == len(big), f"download() returns the size: {size} != {len(big)}")
        expect(bool(calls) and calls[-1][0] == len(big), f"progress ends at the size: {calls}")
        done = [d for d, _ in calls]
        expect(done == sorted(done), f"progress goes forward: {done}")
        expect(all(t in (None, len(big)) for _, t in calls), f"progress total: {calls}")
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "message.eml"
            expect(await inbox.download(uid, path) == len(big), "download() to a path")
            expect(path.read_bytes() == big, "download() to a path is not byte-exact")
            missing = Path(directory) / "missing.eml"
            with expect_raises(CommandError, "download() of a missing uid"):
                await inbox.download(missing_uid([uid]), missing)
            left = sorted(os.listdir(directory))
            expect(left == ["message.eml"], f"files left after downloads: {left}")


async def check_uid_stability(target: AsyncConformanceTarget) -> None:
    """A message keeps its uid (and uidvalidity) from one session to the next."""
    await seed(target, [message(i) for i in range(3)])
    async with await target.open() as box:
        inbox = box.folder("INBOX")
        first = {i.uid: i.envelope.message_id if i.envelope else None async for i in inbox.search()}
        validity = (await inbox.status()).uidvalidity
    async with await target.open() as box:
        inbox = box.folder("INBOX")
        again = {i.uid: i.envelope.message_id if i.envelope else None async for i in inbox.search()}
        expect(again == first, f"uids changed between sessions: {first!r} -> {again!r}")
        expect((await inbox.status()).uidvalidity == validity, "uidvalidity changed")
        if None in first.values():
            fail("search() gave no envelope (Message-ID) with the default fields")
