"""Conformance checks for changing a mailbox: flags, append, copy, move, delete, folders and
bad input. A capability the backend does not declare must raise ``UnsupportedOperation``."""

from __future__ import annotations

import datetime
import email.message
import email.policy

from .._errors import FolderNotFound, InvalidArgument, UnsupportedOperation
from .._models import Capability, FetchField, Flag
from .._search import Q
from ._conformance import (
    AsyncConformanceTarget,
    expect,
    expect_raises,
    fail,
    message,
    seed,
    supports,
    system_flags,
    wrong_type_uid,
)
from ._folder import AsyncFolder, Uid

__all__ = [
    "check_append",
    "check_copy_and_move",
    "check_delete",
    "check_flags",
    "check_folder_names",
    "check_invalid_arguments",
    "check_unknown_folder",
]

BAD_NAMES = ("a\r\nb", "line\n", "cr\r", "nul\0")
FOLDER_NAMES = (
    "Entwürfe",
    'With "quotes" and \\ backslash',
    "Space & ampersand",
    "日本語",
)
MISSING = "No such folder"
_REFUSED = (UnsupportedOperation, FolderNotFound)


async def _uids(folder: AsyncFolder) -> list[Uid]:
    return [info.uid async for info in folder.search(fields=FetchField.UID)]


async def _flags(folder: AsyncFolder, uids: list[Uid]) -> dict[Uid, frozenset[Flag | str]]:
    return {i.uid: system_flags(i) async for i in folder.fetch(uids, FetchField.FLAGS)}


async def _message_ids(folder: AsyncFolder) -> dict[str | None, Uid]:
    fields = FetchField.UID | FetchField.ENVELOPE
    found = [i async for i in folder.search(fields=fields)]
    return {i.envelope.message_id if i.envelope else None: i.uid for i in found}


async def check_flags(target: AsyncConformanceTarget) -> None:
    """With FLAGS: add/remove/set round-trip (also across sessions) and Q.seen() / status()
    agree. Without: every flag operation raises UnsupportedOperation."""
    await seed(target, [message(i) for i in range(3)])
    async with await target.open() as box:
        inbox = box.folder("INBOX")
        uids = await _uids(inbox)
        if not supports(box, Capability.FLAGS):
            for what, change in (
                ("add_flags", inbox.add_flags), ("remove_flags", inbox.remove_flags),
                ("set_flags", inbox.set_flags),
            ):  # fmt: skip
                with expect_raises(UnsupportedOperation, f"{what}() without FLAGS"):
                    await change(uids[:1], {Flag.SEEN})
            return
        await inbox.add_flags(uids[:2], {Flag.SEEN, Flag.FLAGGED})
        await inbox.remove_flags(uids[1:2], {Flag.FLAGGED})
        await inbox.set_flags(uids[2:], {Flag.ANSWERED})
        want: dict[Uid, frozenset[Flag | str]] = {
            uids[0]: frozenset({Flag.SEEN, Flag.FLAGGED}),
            uids[1]: frozenset({Flag.SEEN}),
            uids[2]: frozenset({Flag.ANSWERED}),
        }
        expect(await _flags(inbox, uids) == want, f"flags after add/remove/set: {want!r}")
        if supports(box, Capability.KEYWORDS):
            await inbox.add_flags(uids[2:], {"$Conformance"})
            want[uids[2]] = want[uids[2]] | {"$Conformance"}
            expect(await _flags(inbox, uids) == want, "a keyword round-trips")
        found = [i.uid async for i in inbox.search(Q.seen(), fields=FetchField.UID)]
        expect(sorted(found, key=str) == sorted(uids[:2], key=str), f"Q.seen(): {found!r}")
        flagged = [i.uid async for i in inbox.search(Q.flagged(), fields=FetchField.UID)]
        expect(flagged == uids[:1], f"Q.flagged(): {flagged!r}")
        unseen = (await inbox.status()).unseen
        expect(unseen in (None, 1), f"status().unseen with 2 of 3 seen: {unseen}")
        await inbox.set_flags(uids[:1], set())
        want[uids[0]] = frozenset()
    async with await target.open() as box:
        inbox = box.folder("INBOX")
        expect(await _flags(inbox, uids) == want, "flags are kept from one session to the next")


async def check_append(target: AsyncConformanceTarget) -> None:
    """With APPEND: append() stores the exact bytes (or an EmailMessage) with its flags and
    returns the new uid (required with UIDPLUS). Without: UnsupportedOperation."""
    async with await target.open() as box:
        inbox = box.folder("INBOX")
        raw = message(1, subject="conformance appended")
        if not supports(box, Capability.APPEND):
            with expect_raises(UnsupportedOperation, "append() without APPEND"):
                await inbox.append(raw)
            return
        flags = {Flag.SEEN} if supports(box, Capability.FLAGS) else set()
        uid = await inbox.append(raw, flags=flags)
        expect(uid is not None or not supports(box, Capability.UIDPLUS), "UIDPLUS: uid is None")
        ids = await _message_ids(inbox)
        expect("<conformance-1@example.test>" in ids, f"the appended message: {ids!r}")
        found = ids["<conformance-1@example.test>"]
        expect(uid is None or uid == found, f"append() returned {uid!r}, search() has {found!r}")
        expect(await inbox.get_bytes(found) == raw, "append() then get_bytes() is not exact")
        if flags:
            [info] = [i async for i in inbox.fetch([found], FetchField.FLAGS)]
            expect(system_flags(info) == flags, f"appended flags: {info.flags!r}")
        parsed = email.message_from_bytes(message(2), policy=email.policy.default)
        expect(isinstance(parsed, email.message.EmailMessage), "test message")
        await inbox.append(parsed)
        expect("<conformance-2@example.test>" in await _message_ids(inbox), "append(Message)")
        if supports(box, Capability.INTERNAL_DATE):
            when = datetime.datetime(2020, 2, 29, 12, 30, 5, tzinfo=datetime.timezone.utc)
            await inbox.append(message(3), internal_date=when)
            uid3 = (await _message_ids(inbox))["<conformance-3@example.test>"]
            [info] = [i async for i in inbox.fetch([uid3], FetchField.INTERNALDATE)]
            expect(info.internal_date == when, f"internal_date: {info.internal_date!r}")
        if supports(box, Capability.FOLDERS):
            with expect_raises(FolderNotFound, "append() to a missing folder"):
                await box.folder(MISSING).append(raw)


async def check_copy_and_move(target: AsyncConformanceTarget) -> None:
    """copy() duplicates and move() transfers exactly the uids given, returning
    {source uid: new uid} (complete with UIDPLUS). Without COPY: UnsupportedOperation; move()
    without MOVE may be emulated, else it raises UnsupportedOperation. With COPY but one
    folder: copy() duplicates into INBOX, and move() elsewhere is refused."""
    sent = [message(i) for i in range(3)]
    await seed(target, sent)
    async with await target.open() as box:
        inbox = box.folder("INBOX")
        uids = await _uids(inbox)
        if not supports(box, Capability.COPY):
            with expect_raises(UnsupportedOperation, "copy() without COPY"):
                await inbox.copy(uids[:1], "Archive")
            if not supports(box, Capability.MOVE):
                with expect_raises(UnsupportedOperation, "move() without MOVE or COPY"):
                    await inbox.move(uids[:1], "Archive")
            return
        if not supports(box, Capability.FOLDERS):
            # One folder: copy() duplicates into INBOX; there is nowhere else to move to.
            copied = await inbox.copy(uids[:2], "INBOX")
            expect(set(copied) <= set(uids[:2]), f"copy() mapped other uids: {copied!r}")
            after = await _uids(inbox)
            expect(len(after) == 5 and set(uids) <= set(after), f"copy() into INBOX: {after!r}")
            with expect_raises(_REFUSED, "move() to another folder without FOLDERS"):
                await inbox.move(uids[:1], "Archive")
            return
        await box.create_folder("Archive")
        archive = box.folder("Archive")
        expect(await inbox.copy([], "Archive") == {}, "copy([]) returns {}")
        copied = await inbox.copy(uids[:2], "Archive")
        await _check_map(inbox, archive, copied, uids[:2], "copy()")
        expect(await _uids(inbox) == uids, "copy() left the source unchanged")
        try:
            moved = await inbox.move(uids[2:], "Archive")
        except UnsupportedOperation as exc:
            expect(not supports(box, Capability.MOVE), f"MOVE declared, move() raised {exc}")
            return
        await _check_map(inbox, archive, moved, uids[2:], "move()")
        expect(await _uids(inbox) == uids[:2], "move() removed exactly the moved uids")
        expect((await archive.status()).messages == 3, "the destination holds 3 messages")


async def _check_map(
    source: AsyncFolder,
    destination: AsyncFolder,
    mapping: dict[Uid, Uid],
    uids: list[Uid],
    what: str,
) -> None:
    expect(set(mapping) <= set(uids), f"{what} mapped uids it was not given: {mapping!r}")
    if supports(source.mailbox, Capability.UIDPLUS):
        expect(set(mapping) == set(uids), f"{what} with UIDPLUS maps every uid: {mapping!r}")
    there = await _uids(destination)
    for new in mapping.values():
        expect(new in there, f"{what}: new uid {new!r} is not in the destination")
        body = await destination.get_bytes(new)
        expect(body.endswith(b"conformance suite.\r\n"), f"{what}: uid {new!r} has other bytes")


async def check_delete(target: AsyncConformanceTarget) -> None:
    """With DELETE: delete() removes exactly the uids given (not others marked \\Deleted),
    for good (a new session agrees), and the others keep their uids. Without: it raises."""
    await seed(target, [message(i) for i in range(4)])
    async with await target.open() as box:
        inbox = box.folder("INBOX")
        uids = await _uids(inbox)
        if not supports(box, Capability.DELETE):
            with expect_raises(UnsupportedOperation, "delete() without DELETE"):
                await inbox.delete(uids[:1])
            return
        if supports(box, Capability.FLAGS):
            await inbox.add_flags(uids[3:], {Flag.DELETED})
        await inbox.delete([uids[0], uids[2]])
        await inbox.delete([])
        left = await _uids(inbox)
        expect(left == [uids[1], uids[3]], f"delete() of 2 of {uids!r} left {left!r}")
        expect([i async for i in inbox.fetch(uids[:1])] == [], "a deleted uid is not fetched")
    async with await target.open() as box:
        left = await _uids(box.folder("INBOX"))
        expect(left == [uids[1], uids[3]], f"after a new session: {left!r}")


async def check_folder_names(target: AsyncConformanceTarget) -> None:
    """With FOLDERS: names with spaces, quotes, backslashes and non-ASCII round-trip through
    create, list, status, rename and delete. Without: each raises UnsupportedOperation."""
    async with await target.open() as box:
        if not supports(box, Capability.FOLDERS):
            with expect_raises(UnsupportedOperation, "create_folder() without FOLDERS"):
                await box.create_folder("Archive")
            with expect_raises(UnsupportedOperation, "rename_folder() without FOLDERS"):
                await box.rename_folder("INBOX", "Archive")
            with expect_raises(UnsupportedOperation, "delete_folder() without FOLDERS"):
                await box.delete_folder("Archive")
            with expect_raises(UnsupportedOperation, "another folder without FOLDERS"):
                await box.folder("Archive").status()
            return
        for name in FOLDER_NAMES:
            await box.create_folder(name)
        listed = {f.name for f in await box.folders()}
        expect(set(FOLDER_NAMES) <= listed, f"folders() after create_folder(): {listed!r}")
        for name in FOLDER_NAMES:
            expect((await box.folder(name).status()).messages == 0, f"status() of {name!r}")
        await box.rename_folder(FOLDER_NAMES[0], "Renamed Entwürfe")
        await box.delete_folder(FOLDER_NAMES[1])
    async with await target.open() as box:
        listed = {f.name for f in await box.folders()}
        want = {"Renamed Entwürfe", *FOLDER_NAMES[2:]}
        expect(want <= listed, f"folders() in a new session: {listed!r}")
        expect(not listed & set(FOLDER_NAMES[:2]), f"renamed or deleted names: {listed!r}")
        with expect_raises(FolderNotFound, "status() of a deleted folder"):
            await box.folder(FOLDER_NAMES[1]).status()


async def check_unknown_folder(target: AsyncConformanceTarget) -> None:
    """A folder that does not exist is FolderNotFound (status, search, copy destination),
    and the mailbox stays usable."""
    await seed(target, [message(1)])
    async with await target.open() as box:
        if not supports(box, Capability.FOLDERS):
            with expect_raises(UnsupportedOperation, "a folder other than INBOX"):
                await box.folder(MISSING).status()
            expect((await box.folder("INBOX").status()).messages == 1, "still usable")
            return
        missing = box.folder(MISSING)
        with expect_raises(FolderNotFound, "status() of a missing folder"):
            await missing.status()
        with expect_raises(FolderNotFound, "search() of a missing folder"):
            [i async for i in missing.search()]
        inbox = box.folder("INBOX")
        if supports(box, Capability.COPY):
            with expect_raises(FolderNotFound, "copy() to a missing folder"):
                await inbox.copy(await _uids(inbox), MISSING)
        expect((await inbox.status()).messages == 1, "still usable after FolderNotFound")


async def check_invalid_arguments(target: AsyncConformanceTarget) -> None:
    """CR, LF or NUL in a folder name or flag, or a uid of the wrong type, is InvalidArgument
    before anything is sent (a backend without FOLDERS may say UnsupportedOperation for a
    name); the mailbox stays usable."""
    await seed(target, [message(1)])
    async with await target.open() as box:
        inbox = box.folder("INBOX")
        uids = await _uids(inbox)
        folders = supports(box, Capability.FOLDERS)
        refused = InvalidArgument if folders else (InvalidArgument, UnsupportedOperation)
        for bad in BAD_NAMES:
            try:
                await box.folder(bad).status()
            except refused:
                pass
            else:
                fail(f"folder({bad!r}) was accepted")
            if folders:
                with expect_raises(InvalidArgument, f"create_folder({bad!r})"):
                    await box.create_folder(bad)
                with expect_raises(InvalidArgument, f"delete_folder({bad!r})"):
                    await box.delete_folder(bad)
            if supports(box, Capability.COPY):
                with expect_raises(InvalidArgument, f"copy() to {bad!r}"):
                    await inbox.copy(uids, bad)
            if supports(box, Capability.KEYWORDS):
                with expect_raises(InvalidArgument, f"add_flags() of {bad!r}"):
                    await inbox.add_flags(uids, {bad})
        with expect_raises(InvalidArgument, "get_bytes() of a uid of the wrong type"):
            await inbox.get_bytes(wrong_type_uid(uids))  # type: ignore[arg-type]
        expect((await inbox.status()).messages == 1, "still usable after InvalidArgument")
