"""The IMAP mailbox against the real Dovecot started by the test suite (changing messages,
UIDVALIDITY, many uids and downloads are in test_imap_messages.py).

This file is the source of tests/_sync/test_imap.py (tools/unasync.py): every test runs on
asyncio, on trio, and through the generated sync facade.
"""

from __future__ import annotations

import logging
import ssl

import attrs
import pytest

from mailservers import MailServers
from unimail import (
    AsyncImapFolder,
    AsyncImapMailbox,
    AsyncMailbox,
    AuthenticationError,
    FetchField,
    Flag,
    FolderNotFound,
    InvalidArgument,
    Q,
    SpecialUse,
    TLSError,
    UnsupportedOperation,
)

PASSWORD_LOG = "unimail.protocol"


def message(subject: str, body: str = "Hello.\r\n", sender: str = "bob@example.test") -> bytes:
    """A small RFC 5322 message."""
    return (
        f"From: Bob <{sender}>\r\nTo: alice@example.test\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '.')}@example.test>\r\n"
        f"Date: Fri, 27 Nov 2026 10:00:00 +0000\r\n\r\n{body}"
    ).encode()


def url(servers: MailServers, scheme: str = "imaps") -> str:
    port = servers.imaps_port if scheme == "imaps" else servers.imap_port
    return f"{scheme}://alice@{servers.host}:{port}"


@pytest.mark.anyio
async def test_decoded_envelope_and_the_raw_values_behind_it(alice: MailServers) -> None:
    subject = "=?utf-8?q?Gr=C3=BC=C3=9Fe?= aus =?iso-8859-1?b?S/Zsbg==?="
    alice.seed("alice", [message(subject, sender="bob@example.test")])
    async with AsyncMailbox.open(
        url(alice), password=alice.users["alice"], ssl_context=alice.ssl_context()
    ) as box:
        fields = FetchField.UID | FetchField.ENVELOPE | FetchField.FLAGS
        [info] = [i async for i in box.folder("INBOX").search(fields=fields)]
    assert info.envelope is not None and info.envelope.subject == "Grüße aus Köln"
    assert info.raw is not None
    envelope = info.raw["ENVELOPE"]
    assert isinstance(envelope, list) and envelope[1] == subject.encode()  # as the server sent it
    assert info.raw["FLAGS"] == ["\\Recent"] and info.raw["UID"] == info.uid  # as spelt
    # The raw items are not part of the value: the same message compares equal without them.
    assert info == attrs.evolve(info, raw=None)


@pytest.mark.anyio
@pytest.mark.parametrize("scheme", ["imaps", "imap"])
async def test_read_inbox(alice: MailServers, scheme: str) -> None:
    alice.seed("alice", [message("first"), message("second", "Zweite Nachricht\r\n")])
    async with AsyncMailbox.open(
        url(alice, scheme), password=alice.users["alice"], ssl_context=alice.ssl_context()
    ) as box:
        assert isinstance(box, AsyncImapMailbox)
        names = [f.name for f in await box.folders()]
        assert "INBOX" in names
        inbox = box.folder("INBOX")
        status = await inbox.status()
        assert (status.messages, status.unseen) == (2, 2)
        assert status.uidvalidity is not None and status.uidnext is not None
        infos = [info async for info in inbox.search()]
        assert [i.envelope.subject for i in infos if i.envelope] == ["first", "second"]
        assert infos[0].envelope is not None
        assert infos[0].envelope.from_[0].addr == "bob@example.test"
        assert infos[0].envelope.from_[0].name == "Bob"
        assert all(i.flags is not None and Flag.SEEN not in i.flags and i.size for i in infos)
        second = await inbox.get(infos[1].uid)
        assert second["Subject"] == "second"
        assert second.get_content() == "Zweite Nachricht\n"  # lines end in \n, not CRLF
        raw = await inbox.get_bytes(infos[0].uid)
        assert raw.startswith(b"From: Bob") and b"Hello." in raw
        # Reading never marks a message \Seen.
        assert (await inbox.status()).unseen == 2


@pytest.mark.anyio
async def test_search_query_and_fields(alice: MailServers) -> None:
    alice.seed("alice", [message("alpha"), message("beta"), message("gamma", "the beta word")])
    async with AsyncMailbox.open(
        url(alice), password=alice.users["alice"], ssl_context=alice.ssl_context()
    ) as box:
        inbox = box.folder("INBOX")
        found = [i async for i in inbox.search(Q.subject("beta"), fields=FetchField.UID)]
        assert len(found) == 1 and found[0].envelope is None and found[0].flags is None
        text = [i async for i in inbox.search(Q.text("beta"))]
        assert {i.envelope.subject for i in text if i.envelope} == {"beta", "gamma"}
        assert [i async for i in inbox.search(Q.subject("no such subject"))] == []
        assert [i async for i in inbox.search(Q.seen())] == []
        unseen = [i async for i in inbox.search(Q.unseen() & ~Q.subject("alpha"))]
        assert len(unseen) == 2
        # A non-ASCII search goes out as CHARSET UTF-8 with a literal.
        assert [i async for i in inbox.search(Q.subject("Ünïcode"))] == []
        fetched = [
            i
            async for i in inbox.fetch(
                [found[0].uid], FetchField.FLAGS | FetchField.SIZE | FetchField.HEADERS
            )
        ]
        assert fetched[0].headers is not None and b"Subject: beta" in fetched[0].headers
        assert fetched[0].flags is not None and Flag.SEEN not in fetched[0].flags
        assert fetched[0].size


@pytest.mark.anyio
async def test_folders_round_trip_names(alice: MailServers) -> None:
    names = ["Entwürfe", 'With "quotes" and \\ backslash', "Space & ampersand", "日本語"]
    async with AsyncMailbox.open(
        url(alice), password=alice.users["alice"], ssl_context=alice.ssl_context()
    ) as box:
        for name in names:
            await box.create_folder(name)
        listed = {f.name for f in await box.folders()}
        assert set(names) <= listed
        for name in names:
            assert (await box.folder(name).status()).messages == 0
        await box.rename_folder(names[0], "Drafts renamed")
        await box.delete_folder(names[1])
        listed = {f.name for f in await box.folders()}
        assert "Drafts renamed" in listed and names[0] not in listed and names[1] not in listed


@pytest.mark.anyio
async def test_missing_folder(alice: MailServers) -> None:
    async with AsyncMailbox.open(
        url(alice), password=alice.users["alice"], ssl_context=alice.ssl_context()
    ) as box:
        with pytest.raises(FolderNotFound):
            await box.folder("Nope").status()
        # The connection is still usable after a refused command.
        assert (await box.folder("INBOX").status()).messages == 0


@pytest.mark.anyio
async def test_bad_input_is_refused_before_sending(alice: MailServers) -> None:
    async with AsyncMailbox.open(
        url(alice), password=alice.users["alice"], ssl_context=alice.ssl_context()
    ) as box:
        for bad in ("a\r\nb", "x\n", "nul\0"):
            with pytest.raises(InvalidArgument):
                box.folder(bad)
            with pytest.raises(InvalidArgument):
                await box.create_folder(bad)
        with pytest.raises(InvalidArgument):
            [i async for i in box.folder("INBOX").fetch(["not a uid"])]
        assert (await box.folder("INBOX").status()).messages == 0


@pytest.mark.anyio
async def test_wrong_password(alice: MailServers) -> None:
    with pytest.raises(AuthenticationError):
        await AsyncMailbox.open(url(alice), password="wrong", ssl_context=alice.ssl_context())


@pytest.mark.anyio
@pytest.mark.parametrize("scheme", ["imaps", "imap"])
async def test_untrusted_certificate(alice: MailServers, scheme: str) -> None:
    # The default context trusts the system's CAs, not the test CA.
    with pytest.raises(TLSError, match="certificate verify failed"):
        await AsyncMailbox.open(url(alice, scheme), password=alice.users["alice"])


@pytest.mark.anyio
async def test_plaintext_needs_both_opt_ins(alice: MailServers) -> None:
    with pytest.raises(AuthenticationError, match="unencrypted"):
        await AsyncMailbox.open(
            url(alice, "imap"), password=alice.users["alice"], security="plaintext"
        )
    async with AsyncMailbox.open(
        url(alice, "imap"),
        password=alice.users["alice"],
        security="plaintext",
        allow_insecure_auth=True,
    ) as box:
        assert (await box.folder("INBOX").status()).messages == 0


@pytest.mark.anyio
@pytest.mark.parametrize(
    "auth", [None, "LOGIN", "PLAIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256"]
)
@pytest.mark.parametrize("user", ["alice", "carol", "dave"])
async def test_every_mechanism_and_awkward_passwords(
    alice: MailServers, caplog: pytest.LogCaptureFixture, auth: str | None, user: str
) -> None:
    # carol's password is non-ASCII, dave's holds quotes, a backslash and spaces.
    caplog.set_level(logging.DEBUG, logger=PASSWORD_LOG)
    password = alice.users[user]
    async with AsyncMailbox.open(
        f"imap://{user}@{alice.host}:{alice.imap_port}",
        password=password,
        auth=auth,
        ssl_context=alice.ssl_context(),
    ) as box:
        assert (await box.folder("INBOX").status()).messages == 0
        assert password not in repr(box)
    assert "STARTTLS" in caplog.text
    expected = "LOGIN" if auth == "LOGIN" else f"AUTHENTICATE {auth or 'SCRAM-SHA-256'}"
    assert expected in caplog.text
    assert password not in caplog.text
    assert password.encode("utf-8").hex() not in caplog.text


def test_sslcontext_is_verifying_by_default() -> None:
    assert ssl.create_default_context().verify_mode is ssl.CERT_REQUIRED


@pytest.mark.anyio
async def test_subscriptions_special_use_namespaces_and_id(alice: MailServers) -> None:
    async with AsyncMailbox.open(
        url(alice), password=alice.users["alice"], ssl_context=alice.ssl_context()
    ) as box:
        assert isinstance(box, AsyncImapMailbox)
        for name in ("Sent", "Trash", "Projects", "Projects/2026", "Projects/2026/Q4"):
            await box.create_folder(name)
        roles = {f.name: f.special_use for f in await box.folders()}
        assert roles["Sent"] is SpecialUse.SENT and roles["Trash"] is SpecialUse.TRASH
        assert roles["Projects"] is None
        children = {f.name for f in await box.folders("Projects/%")}
        assert children == {"Projects/2026"}
        await box.subscribe("Projects/2026")
        assert {f.name for f in await box.folders(subscribed=True)} >= {"Projects/2026"}
        await box.unsubscribe("Projects/2026")
        assert "Projects/2026" not in {f.name for f in await box.folders(subscribed=True)}
        spaces = await box.namespaces()
        assert spaces.personal == (("", "/"),)
        info = await box.server_id({"name": "unimail tests"})
        assert "name" in info


@pytest.mark.anyio
async def test_readonly_folder_changes_nothing(alice: MailServers) -> None:
    alice.seed("alice", [message("keep me")])
    async with AsyncMailbox.open(
        url(alice), password=alice.users["alice"], ssl_context=alice.ssl_context()
    ) as box:
        assert isinstance(box, AsyncImapMailbox)
        readonly = box.folder("INBOX", readonly=True)
        [info] = [i async for i in readonly.search()]
        with pytest.raises(UnsupportedOperation, match="read-only"):
            await readonly.add_flags([info.uid], {Flag.SEEN})
        with pytest.raises(UnsupportedOperation, match="read-only"):
            await readonly.delete([info.uid])
        with pytest.raises(UnsupportedOperation, match="read-only"):
            await readonly.move([info.uid], "Trash")
        with pytest.raises(UnsupportedOperation, match="read-only"):
            await readonly.append(message("no"))
        assert (await readonly.status()).unseen == 1
        # The same folder opened for writing works on the same connection.
        await box.folder("INBOX").add_flags([info.uid], {Flag.SEEN})
        assert (await readonly.status()).unseen == 0


@pytest.mark.anyio
async def test_sorted_search(alice: MailServers) -> None:
    alice.seed(
        "alice",
        [message("b second", sender="zed@example.test"), message("a first"), message("c third")],
    )
    async with AsyncMailbox.open(
        url(alice), password=alice.users["alice"], ssl_context=alice.ssl_context()
    ) as box:
        assert isinstance(box, AsyncImapMailbox)
        inbox = box.folder("INBOX")
        assert isinstance(inbox, AsyncImapFolder)
        subjects = [i.envelope.subject async for i in inbox.search(sort=["subject"]) if i.envelope]
        assert subjects == ["a first", "b second", "c third"]
        backwards = [i.uid async for i in inbox.search(sort=["-subject"], fields=FetchField.UID)]
        uids = [i.uid async for i in inbox.search(fields=FetchField.UID)]
        assert backwards == [uids[2], uids[0], uids[1]]
        by_sender = [i.uid async for i in inbox.search(~Q.subject("third"), sort=["-from", "date"])]
        assert by_sender == [uids[0], uids[1]]  # zed sorts last, so first when reversed
        with pytest.raises(InvalidArgument, match="sort key"):
            [i async for i in inbox.search(sort=["colour"])]


@pytest.mark.anyio
async def test_body_structure(alice: MailServers) -> None:
    multipart = (
        b"From: bob@example.test\r\nTo: alice@example.test\r\nSubject: with attachment\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
        b"--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee attached.\r\n"
        b"--XX\r\nContent-Type: application/pdf; name=r.pdf\r\n"
        b"Content-Disposition: attachment; filename*=utf-8''R%C3%A9sum%C3%A9.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--XX--\r\n"
    )
    alice.seed("alice", [multipart])
    async with AsyncMailbox.open(
        url(alice), password=alice.users["alice"], ssl_context=alice.ssl_context()
    ) as box:
        inbox = box.folder("INBOX")
        [info] = [i async for i in inbox.search(fields=FetchField.BODYSTRUCTURE)]
        tree = info.body_structure
        assert tree is not None and tree.content_type == "multipart/mixed"
        text, pdf = tree.children
        assert (text.section, text.content_type, text.charset) == ("1", "text/plain", "utf-8")
        assert (pdf.section, pdf.filename, pdf.is_attachment) == ("2", "Résumé.pdf", True)
