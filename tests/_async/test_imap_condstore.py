"""CONDSTORE / QRESYNC, BINARY and MULTIAPPEND against the real Dovecot. What Dovecot will not
do is in test_imap_condstore_scripted.py.

This file is the source of tests/_sync/test_imap_condstore.py (tools/unasync.py): every test
runs on asyncio, on trio, and through the generated sync facade.
"""

from __future__ import annotations

import email.message
import email.policy
import logging
import re
import subprocess
import time
from contextlib import aclosing

import pytest

from mailservers import MailServers
from unimail import (
    AsyncImapFolder,
    AsyncImapMailbox,
    Capability,
    FetchField,
    Flag,
    FlagsChanged,
    FolderEvent,
    InvalidArgument,
    MessagesRemoved,
    NewMessages,
    UnsupportedOperation,
)
from unimail._async._imap_watch import watch_folder
from unimail._opening import AsyncOpening  # unasync: remove

Opening = AsyncOpening[AsyncImapMailbox]  # unasync: Opening = ImapMailbox


def message(subject: str) -> bytes:
    return (
        f"From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '.')}@example.test>\r\n\r\nHello.\r\n"
    ).encode()


def open_box(servers: MailServers) -> Opening:
    return AsyncImapMailbox.open(
        f"imaps://alice@{servers.host}:{servers.imaps_port}",
        password=servers.users["alice"],
        ssl_context=servers.ssl_context(),
    )


async def uids(folder: AsyncImapFolder) -> list[int | str]:
    return [info.uid async for info in folder.search(fields=FetchField.UID)]


def kick(servers: MailServers, user: str) -> None:
    """Make Dovecot drop every IMAP session of ``user`` (it says BYE and closes)."""
    config = servers.workdir / "dovecot" / "dovecot.conf"
    subprocess.run(["doveadm", "-c", str(config), "kick", user], check=True, capture_output=True)
    # kick only signals the sessions: wait until they are gone, so that a watch finds its
    # connection dead rather than getting one more round of updates first.
    for _ in range(200):
        who = subprocess.run(
            ["doveadm", "-c", str(config), "who", "-1", user], capture_output=True, text=True
        )
        if user not in who.stdout:
            return
        time.sleep(0.05)


def plain(flags: frozenset[Flag | str] | None) -> frozenset[Flag | str]:
    """The flags without ``\\Recent``, which belongs to one session."""
    return frozenset(flags or ()) - {Flag.RECENT}


def sent_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    messages = [record.getMessage() for record in caplog.records]
    return [text[3:] for text in messages if text.startswith("C: ")]


# --- CONDSTORE / QRESYNC ----------------------------------------------------------------------


@pytest.mark.anyio
async def test_modseq_status_and_changed_since(alice: MailServers) -> None:
    alice.seed("alice", [message("one"), message("two"), message("three")])
    async with open_box(alice) as box:
        assert box.condstore and box.qresync
        assert Capability.CONDSTORE in box.capabilities
        inbox = box.folder("INBOX")
        before = await inbox.status()
        assert before.highest_modseq is not None and before.highest_modseq > 0
        infos = [i async for i in inbox.fetch([1, 2, 3], FetchField.FLAGS | FetchField.MODSEQ)]
        assert [i.uid for i in infos] == [1, 2, 3]
        assert all(i.modseq is not None and 0 < i.modseq <= before.highest_modseq for i in infos)
        await inbox.add_flags([2], {Flag.FLAGGED})
        changed = [
            i
            async for i in inbox.fetch(
                [1, 2, 3], FetchField.FLAGS, changed_since=before.highest_modseq
            )
        ]
        assert [(i.uid, plain(i.flags)) for i in changed] == [(2, frozenset({Flag.FLAGGED}))]
        assert changed[0].modseq is not None and changed[0].modseq > before.highest_modseq
        after = await inbox.status()
        assert after.highest_modseq == changed[0].modseq
        with pytest.raises(InvalidArgument):
            [i async for i in inbox.fetch([1], changed_since=0)]


@pytest.mark.anyio
async def test_store_unchanged_since_returns_the_modified_uids(alice: MailServers) -> None:
    alice.seed("alice", [message("one"), message("two")])
    async with open_box(alice) as box, open_box(alice) as other:
        inbox = box.folder("INBOX")
        looked = (await inbox.status()).highest_modseq
        assert looked is not None
        await other.folder("INBOX").add_flags([2], {"$Label"})  # someone else, meanwhile
        refused = await inbox.store_flags([1, 2], {Flag.SEEN}, action="add", unchanged_since=looked)
        assert refused == [2]
        flags = {i.uid: plain(i.flags) async for i in inbox.fetch([1, 2], FetchField.FLAGS)}
        assert flags == {1: frozenset({Flag.SEEN}), 2: frozenset({"$Label"})}
        # Told nothing changed since the newest modseq: every message is updated.
        now = (await inbox.status()).highest_modseq
        assert now is not None
        assert (
            await inbox.store_flags([1, 2], {Flag.SEEN}, action="remove", unchanged_since=now) == []
        )
        flags = {i.uid: plain(i.flags) async for i in inbox.fetch([1, 2], FetchField.FLAGS)}
        assert flags == {1: frozenset(), 2: frozenset({"$Label"})}
        with pytest.raises(InvalidArgument):
            await inbox.store_flags([1], {Flag.SEEN}, action="toggle")  # type: ignore[arg-type]


@pytest.mark.anyio
@pytest.mark.parametrize("selected", [False, True])
async def test_changes_since_with_qresync(
    alice: MailServers, caplog: pytest.LogCaptureFixture, selected: bool
) -> None:
    caplog.set_level(logging.DEBUG, logger="unimail.protocol")
    alice.seed("alice", [message("one"), message("two"), message("three")])
    async with open_box(alice) as box, open_box(alice) as other:
        inbox = box.folder("INBOX")
        status = await inbox.status()
        assert status.uidvalidity is not None and status.highest_modseq is not None
        if selected:
            assert await uids(inbox) == [1, 2, 3]
        theirs = other.folder("INBOX")
        await theirs.add_flags([1], {Flag.FLAGGED})
        await theirs.delete([2])
        alice.deliver_lmtp("alice", message("four"))
        changes = await inbox.changes_since(
            status.uidvalidity, status.highest_modseq, fields=FetchField.ENVELOPE
        )
        assert changes.uidvalidity == status.uidvalidity
        assert changes.vanished == (2,)
        assert [(i.uid, plain(i.flags)) for i in changes.changed] == [
            (1, frozenset({Flag.FLAGGED})),
            (4, frozenset()),
        ]
        assert changes.changed[1].envelope is not None
        assert changes.changed[1].envelope.subject == "four"
        assert all(i.modseq and i.modseq > status.highest_modseq for i in changes.changed)
        assert changes.highest_modseq > status.highest_modseq
        assert any(
            re.search(r"SELECT \"INBOX\" \(QRESYNC \(\d+ \d+\)\)", line)
            for line in sent_lines(caplog)
        )
        # Asked again from the new point: nothing; with the known uids, only those vanish.
        again = await inbox.changes_since(status.uidvalidity, changes.highest_modseq)
        assert (again.changed, again.vanished) == ((), ())
        narrowed = await inbox.changes_since(
            status.uidvalidity, status.highest_modseq, known_uids=[1, 3]
        )
        assert narrowed.vanished == ()
        assert [i.uid for i in narrowed.changed] == [1, 4]
        # The folder stays usable for everything else.
        assert await uids(inbox) == [1, 3, 4]


@pytest.mark.anyio
async def test_changes_since_with_condstore_only(
    alice: MailServers, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A server without QRESYNC: the expunged uids come from comparing UID SEARCH with ours.
    monkeypatch.setattr("unimail._async.imap._ENABLE", ("UTF8=ACCEPT", "CONDSTORE"))
    alice.seed("alice", [message("one"), message("two"), message("three")])
    async with open_box(alice) as box, open_box(alice) as other:
        assert box.condstore and not box.qresync
        inbox = box.folder("INBOX")
        status = await inbox.status()
        assert status.uidvalidity is not None and status.highest_modseq is not None
        with pytest.raises(UnsupportedOperation, match="QRESYNC"):
            await inbox.changes_since(status.uidvalidity, status.highest_modseq)
        await other.folder("INBOX").delete([3])
        await other.folder("INBOX").add_flags([2], {Flag.SEEN})
        changes = await inbox.changes_since(
            status.uidvalidity, status.highest_modseq, known_uids=[1, 2, 3]
        )
        assert changes.vanished == (3,)
        assert [(i.uid, plain(i.flags)) for i in changes.changed] == [(2, frozenset({Flag.SEEN}))]
        assert changes.highest_modseq > status.highest_modseq


@pytest.mark.anyio
async def test_changes_since_refuses_another_uidvalidity(alice: MailServers) -> None:
    async with open_box(alice) as box:
        await box.create_folder("Synced")
        folder = box.folder("Synced")
        await folder.append(message("one"))
        status = await folder.status()
        assert status.uidvalidity is not None and status.highest_modseq is not None
        await box.delete_folder("Synced")
        await box.create_folder("Synced")
        await box.folder("Synced").append(message("two"))
        with pytest.raises(InvalidArgument, match="UIDVALIDITY"):
            await box.folder("Synced").changes_since(status.uidvalidity, status.highest_modseq)
        with pytest.raises(InvalidArgument):
            await folder.changes_since(status.uidvalidity, 0)


@pytest.mark.anyio
@pytest.mark.parametrize("qresync", [True, False])
async def test_watch_reconnects_without_losing_or_repeating(
    alice: MailServers,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    qresync: bool,
) -> None:
    caplog.set_level(logging.DEBUG, logger="unimail.protocol")
    if not qresync:  # a server without QRESYNC: CHANGEDSINCE after the reconnect
        monkeypatch.setattr("unimail._async.imap._ENABLE", ("UTF8=ACCEPT", "CONDSTORE"))
    alice.seed("alice", [message("one"), message("two"), message("three")])
    async with open_box(alice) as box:
        inbox = box.folder("INBOX")
        assert await uids(inbox) == [1, 2, 3]
        alice.deliver_lmtp("alice", message("four"))
        seen: list[FolderEvent] = []
        async with aclosing(watch_folder(inbox, timeout=60, reconnect_delays=[0, 0.5])) as events:
            async for event in events:
                seen.append(event)
                if len(seen) == 1:
                    # Flag 4 (told already as new) and 2, drop 1, deliver 5, lose the connection.
                    async with open_box(alice) as other:
                        theirs = other.folder("INBOX")
                        await theirs.add_flags([2, 4], {Flag.FLAGGED})
                        await theirs.delete([1])
                    alice.deliver_lmtp("alice", message("five"))
                    kick(alice, "alice")
                elif isinstance(event, NewMessages):
                    break
        # Each change told once. Their order depends on when the kick lands: Dovecot may
        # still push them to the next IDLE (in its order) before it drops the connection.
        assert seen[0] == NewMessages(uids=(4,), exists=4)
        assert sorted(seen[1:], key=repr) == sorted(
            [
                MessagesRemoved(uids=(1,)),
                FlagsChanged(uid=2, flags=frozenset({Flag.FLAGGED})),
                FlagsChanged(uid=4, flags=frozenset({Flag.FLAGGED})),
                NewMessages(uids=(5,), exists=4),
            ],
            key=repr,
        )
        lines = sent_lines(caplog)
        qresynced = [ln for ln in lines if re.search(r'SELECT "INBOX" \(QRESYNC \(\d+ \d+\)\)', ln)]
        assert len(qresynced) == (1 if qresync else 0)
        changed = [
            ln
            for ln in lines
            if re.search(r"UID FETCH 1:\* \(UID FLAGS\) \(CHANGEDSINCE \d+\)", ln)
        ]
        assert len(changed) == (0 if qresync else 1)
        full = [ln for ln in lines if ln.endswith("UID FETCH 1:* (UID FLAGS)\\r\\n")]
        # Only the watch's first baseline reads every message: after the reconnect, only
        # what changed is asked for (QRESYNC's SELECT, or CHANGEDSINCE).
        assert len(full) == 1
        assert await uids(inbox) == [2, 3, 4, 5]


# --- BINARY and MULTIAPPEND -------------------------------------------------------------------

ATTACHMENT = bytes(range(256)) * 40


def with_attachment() -> bytes:
    msg = email.message.EmailMessage()
    msg["From"] = "bob@example.test"
    msg["To"] = "alice@example.test"
    msg["Subject"] = "report"
    msg.set_content("See the attachment.\n")
    msg.add_attachment(ATTACHMENT, maintype="application", subtype="octet-stream", filename="r.bin")
    return msg.as_bytes(policy=email.policy.SMTP)


@pytest.mark.anyio
@pytest.mark.parametrize("binary", [True, False])
async def test_get_part_decodes_attachments(alice: MailServers, binary: bool) -> None:
    alice.seed("alice", [with_attachment()])
    async with open_box(alice) as box:
        if not binary:  # a server without BINARY: decoded here
            box.client._capabilities = box.client.capabilities - {"BINARY"}
        inbox = box.folder("INBOX")
        infos = [i async for i in inbox.fetch([1], FetchField.BODYSTRUCTURE)]
        info = infos[0]
        assert info.body_structure is not None
        part = next(p for p in info.body_structure.walk() if p.filename == "r.bin")
        assert part.encoding.lower() == "base64" and part.section == "2"
        assert await inbox.get_part(1, "2") == ATTACHMENT
        assert await inbox.part_size(1, "2") == len(ATTACHMENT)
        assert (await inbox.get_part(1, "1")).strip() == b"See the attachment."
        with pytest.raises(InvalidArgument):
            await inbox.get_part(1, "2.")
        assert (await inbox.status()).unseen == 1  # never marked seen


@pytest.mark.anyio
@pytest.mark.parametrize("multiappend", [True, False])
async def test_append_many(
    alice: MailServers, caplog: pytest.LogCaptureFixture, multiappend: bool
) -> None:
    caplog.set_level(logging.DEBUG, logger="unimail.protocol")
    async with open_box(alice) as box:
        if not multiappend:  # a server without MULTIAPPEND: one APPEND each
            box.client._capabilities = box.client.capabilities - {"MULTIAPPEND"}
        inbox = box.folder("INBOX")
        await inbox.append(message("zero"))
        made = await inbox.append_many(
            [message("one"), message("two"), message("three")], flags={Flag.SEEN}
        )
        assert made == [2, 3, 4]
        infos = [i async for i in inbox.fetch([2, 3, 4], FetchField.FLAGS | FetchField.ENVELOPE)]
        assert [i.envelope.subject for i in infos if i.envelope] == ["one", "two", "three"]
        assert all(plain(i.flags) == {Flag.SEEN} for i in infos)
        appends = [line for line in sent_lines(caplog) if " APPEND " in line]
        assert len(appends) == (2 if multiappend else 4)
        assert await inbox.append_many([]) == []
        with pytest.raises(InvalidArgument):
            await inbox.append_many([message("ok"), b"bad\0message\r\n"])
        assert await uids(inbox) == [1, 2, 3, 4]  # nothing of the bad batch was sent
