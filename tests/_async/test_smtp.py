"""The SMTP transport against the real Postfix (submission with STARTTLS + AUTH, implicit TLS),
reading every delivered message back from Dovecot over IMAP.

This file is the source of tests/_sync/test_smtp.py (tools/unasync.py): every test runs on
asyncio, on trio, and through the generated sync facade.
"""

from __future__ import annotations

import base64
import email.message
import email.policy
import logging
import tracemalloc
from contextlib import aclosing
from pathlib import Path

import anyio  # unasync: import time
import pytest

from mailservers import MailServers
from unimail import (
    AsyncMailbox,
    AsyncSmtpTransport,
    AsyncTransport,
    AuthenticationError,
    ConnectionLost,
    DeliveryUncertain,
    Dsn,
    InvalidArgument,
    OutgoingMessage,
    SendError,
    SendResult,
    TLSError,
)

# Fields Postfix (Received) and Dovecot's LMTP delivery (Return-Path, Delivered-To) prepend.
ADDED = (b"Return-Path:", b"Delivered-To:", b"Received:", b" ", b"\t")


def url(servers: MailServers, scheme: str = "smtp", user: str = "alice") -> str:
    port = servers.smtps_port if scheme == "smtps" else servers.smtp_port
    return f"{scheme}://{user}@{servers.host}:{port}"


def raw_message(tag: str, body: bytes = b"Hello.\r\n", to: str = "bob@example.test") -> bytes:
    return (
        f"From: Alice <alice@example.test>\r\nTo: {to}\r\nSubject: {tag}\r\n"
        f"Message-ID: <{tag}@example.test>\r\nDate: Fri, 27 Nov 2026 10:00:00 +0000\r\n\r\n"
    ).encode() + body


async def delivered(servers: MailServers, user: str, tag: str) -> bytes:
    """The message with Message-ID <tag@example.test> in ``user``'s INBOX, read over IMAP."""
    async with AsyncMailbox.open(
        f"imaps://{user}@{servers.host}:{servers.imaps_port}",
        password=servers.users[user],
        ssl_context=servers.ssl_context(),
    ) as box:
        inbox = box.folder("INBOX")
        for _ in range(300):  # Postfix hands the message to Dovecot asynchronously
            async with aclosing(inbox.search()) as infos:
                async for info in infos:
                    envelope = info.envelope
                    if envelope is not None and envelope.message_id == f"<{tag}@example.test>":
                        return await inbox.get_bytes(info.uid)
            await anyio.sleep(0.1)  # unasync: time.sleep(0.1)
    raise AssertionError(f"message {tag} never reached {user}'s INBOX")


def assert_same_apart_from_added_headers(received: bytes, sent: bytes) -> None:
    assert received.endswith(sent)
    for line in received[: len(received) - len(sent)].split(b"\r\n")[:-1]:
        assert line.startswith(ADDED), line


@pytest.mark.anyio
@pytest.mark.parametrize("scheme", ["smtp", "smtps"])
async def test_send_raw_bytes_and_read_them_back(clean_mailbox: MailServers, scheme: str) -> None:
    servers = clean_mailbox
    tag = f"raw-{scheme}"
    # Lines that start with dots, a lone dot, bare LFs (normalised to CRLF), 8-bit text.
    body = b"first\r\n.\r\n..two dots\r\n.x\r\nlast line \xc3\xa9t\xc3\xa9\r\n"
    sent = raw_message(tag, body)
    async with AsyncTransport.open(
        url(servers, scheme), password=servers.users["alice"], ssl_context=servers.ssl_context()
    ) as transport:
        assert isinstance(transport, AsyncSmtpTransport)
        assert "PIPELINING" in transport.extensions
        result = await transport.send(
            sent, sender="alice@example.test", recipients=["bob@example.test"]
        )
    assert result.accepted == ("bob@example.test",) and result.refused == {}
    assert result.response.startswith("250")
    assert_same_apart_from_added_headers(await delivered(servers, "bob", tag), sent)


@pytest.mark.anyio
async def test_email_message_envelope_and_bcc(clean_mailbox: MailServers) -> None:
    servers = clean_mailbox
    msg = email.message.EmailMessage()
    msg["From"] = "Alice <alice@example.test>"
    msg["To"] = "Bob <bob@example.test>"
    msg["Bcc"] = "carol@example.test"
    msg["Subject"] = "Gr\u00fc\u00dfe"
    msg["Message-ID"] = "<email-message@example.test>"
    msg["Date"] = "Fri, 27 Nov 2026 10:00:00 +0000"
    msg.set_content("Hallo Bob,\n.\nein Punkt allein.\n")
    async with AsyncTransport.open(
        url(servers), password=servers.users["alice"], ssl_context=servers.ssl_context()
    ) as transport:
        result = await transport.send(msg)
    assert result.accepted == ("bob@example.test", "carol@example.test")
    assert msg["Bcc"] == "carol@example.test"  # the caller's message is not changed
    for user in ("bob", "carol"):
        received = await delivered(servers, user, "email-message")
        assert b"carol@example.test" not in received.split(b"\r\n\r\n", 1)[0].replace(
            b"Delivered-To: carol@example.test", b""
        )
        parsed = email.message_from_bytes(received, policy=email.policy.default)
        assert parsed["Subject"] == "Gr\u00fc\u00dfe"
        body = parsed.get_content()
        assert body.replace("\r\n", "\n") == "Hallo Bob,\n.\nein Punkt allein.\n"


@pytest.mark.anyio
async def test_partial_and_total_refusal_then_the_connection_goes_on(
    clean_mailbox: MailServers,
) -> None:
    servers = clean_mailbox
    async with AsyncTransport.open(
        url(servers), password=servers.users["alice"], ssl_context=servers.ssl_context()
    ) as transport:
        result = await transport.send(
            raw_message("partial"),
            sender="alice@example.test",
            recipients=["nobody@example.test", "bob@example.test"],
        )
        assert result.accepted == ("bob@example.test",)
        code, text = result.refused["nobody@example.test"]
        assert code == 550 and text
        assert result.enhanced_codes["nobody@example.test"].startswith("5.1.")
        with pytest.raises(SendError) as info:
            await transport.send(
                raw_message("refused"), sender="alice@example.test", recipients=["x@example.test"]
            )
        assert not info.value.temporary and info.value.code == "550"
        assert set(info.value.refused) == {"x@example.test"}
        # RSET put the connection back in order: the next message goes through.
        result = await transport.send(
            raw_message("after"), sender="alice@example.test", recipients=["bob@example.test"]
        )
        assert result.accepted == ("bob@example.test",)
    assert (await delivered(servers, "bob", "after")).endswith(raw_message("after"))


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("user", "mechanism"),
    [
        ("alice", "PLAIN"),
        ("alice", "LOGIN"),
        ("alice", "CRAM-MD5"),
        ("alice", "SCRAM-SHA-1"),
        ("carol", "SCRAM-SHA-256"),
        ("dave", None),
    ],
)
async def test_auth_mechanisms(mail_servers: MailServers, user: str, mechanism: str | None) -> None:
    async with AsyncTransport.open(
        url(mail_servers, user=user),
        password=mail_servers.users[user],
        auth=mechanism,
        ssl_context=mail_servers.ssl_context(),
    ) as transport:
        assert isinstance(transport, AsyncSmtpTransport)
        assert "AUTH" in transport.extensions


@pytest.mark.anyio
@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
async def test_credentials_never_reach_the_trace(
    mail_servers: MailServers, caplog: pytest.LogCaptureFixture, mechanism: str
) -> None:
    password = mail_servers.users["alice"]
    secrets = [
        password,
        base64.b64encode(password.encode()).decode(),
        base64.b64encode(b"\0alice\0" + password.encode()).decode(),
    ]
    with caplog.at_level(logging.DEBUG, logger="unimail.protocol"):
        async with AsyncTransport.open(
            url(mail_servers), password=password, auth=mechanism,
            ssl_context=mail_servers.ssl_context(),
        ):  # fmt: skip
            pass
    trace = caplog.text
    assert "AUTH " + mechanism in trace and "235" in trace
    assert not any(secret in trace for secret in secrets)


@pytest.mark.anyio
async def test_wrong_password(mail_servers: MailServers) -> None:
    with pytest.raises(AuthenticationError):
        await AsyncTransport.open(
            url(mail_servers), password="wrong", ssl_context=mail_servers.ssl_context()
        )


@pytest.mark.anyio
async def test_certificate_is_verified(mail_servers: MailServers) -> None:
    with pytest.raises(TLSError, match="certificate verify failed"):
        await AsyncTransport.open(url(mail_servers, "smtps"), password="x")


@pytest.mark.anyio
async def test_send_many_over_a_pool(clean_mailbox: MailServers) -> None:
    servers = clean_mailbox
    items = [
        OutgoingMessage.of(raw_message(f"many-{i}"), "alice@example.test", ["bob@example.test"])
        for i in range(40)
    ]
    items.insert(7, OutgoingMessage.of(raw_message("bad"), "alice@example.test", "y@example.test"))
    async with AsyncSmtpTransport.open(
        url(servers),
        password=servers.users["alice"],
        ssl_context=servers.ssl_context(),
        max_connections=4,
    ) as transport:
        results = await transport.send_many(items)
    assert len(results) == 41
    assert isinstance(results[7], SendError)
    assert all(isinstance(r, SendResult) for i, r in enumerate(results) if i != 7)
    assert (await delivered(servers, "bob", "many-39")).endswith(raw_message("many-39"))


@pytest.mark.anyio
async def test_a_connection_closed_while_idle_is_replaced(mail_servers: MailServers) -> None:
    async with AsyncSmtpTransport.open(
        url(mail_servers),
        password=mail_servers.users["alice"],
        ssl_context=mail_servers.ssl_context(),
    ) as transport:
        # What a server's idle timeout does to a pooled connection: the next send finds it
        # dead before any reply, so nothing can have been delivered and it is sent again.
        for client in transport._idle:
            await client.abort()
        result = await transport.send(
            raw_message("idle"), sender="alice@example.test", recipients=["bob@example.test"]
        )
    assert result.accepted == ("bob@example.test",)


@pytest.mark.anyio
async def test_send_many_replaces_a_connection_closed_while_idle(
    clean_mailbox: MailServers,
) -> None:
    servers = clean_mailbox
    async with AsyncSmtpTransport.open(
        url(servers), password=servers.users["alice"], ssl_context=servers.ssl_context()
    ) as transport:
        for client in transport._idle:
            await client.abort()
        items = [
            OutgoingMessage.of(
                raw_message(f"idle-many-{n}"), "alice@example.test", ["bob@example.test"]
            )
            for n in range(3)
        ]
        results = await transport.send_many(items)
    assert all(isinstance(result, SendResult) for result in results), results
    for n in range(3):
        received = await delivered(servers, "bob", f"idle-many-{n}")
        assert received.endswith(raw_message(f"idle-many-{n}"))


@pytest.mark.anyio
async def test_save_to_appends_the_exact_bytes(clean_mailbox: MailServers) -> None:
    servers = clean_mailbox
    sent = raw_message("saved")
    async with AsyncMailbox.open(
        f"imaps://alice@{servers.host}:{servers.imaps_port}",
        password=servers.users["alice"],
        ssl_context=servers.ssl_context(),
    ) as box:
        async with AsyncSmtpTransport.open(
            url(servers), password=servers.users["alice"], ssl_context=servers.ssl_context()
        ) as transport:
            await transport.send(
                sent,
                sender="alice@example.test",
                recipients=["bob@example.test"],
                save_to=box.folder("INBOX"),
            )
    assert await delivered(servers, "alice", "saved") == sent


@pytest.mark.anyio
async def test_large_file_is_streamed(clean_mailbox: MailServers, tmp_path: Path) -> None:
    servers = clean_mailbox
    line = b"0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ .,;\r\n"
    path = tmp_path / "big.eml"
    with path.open("wb") as file:
        file.write(raw_message("big", b""))
        for _ in range(16 * 1024 * 1024 // len(line)):
            file.write(line)
    async with AsyncSmtpTransport.open(
        url(servers), password=servers.users["alice"], ssl_context=servers.ssl_context()
    ) as transport:
        tracemalloc.start()
        try:
            await transport.send(path, sender="alice@example.test", recipients=["bob@example.test"])
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 8 * 1024 * 1024  # a 16 MB message, sent with a few MB
    assert_same_apart_from_added_headers(await delivered(servers, "bob", "big"), path.read_bytes())


@pytest.mark.anyio
async def test_nul_deep_in_a_streamed_file_fails_that_message_alone(
    clean_mailbox: MailServers, tmp_path: Path
) -> None:
    servers = clean_mailbox
    path = tmp_path / "nul.eml"
    # The NUL comes after the first chunk (1 MB), which is on the wire before it is found.
    path.write_bytes(raw_message("nul", b"x" * 70 + b"\r\n") * 20_000 + b"a\0b\r\n")
    envelope = ("alice@example.test", ["bob@example.test"])
    items = [
        OutgoingMessage.of(raw_message("before-nul"), *envelope),
        OutgoingMessage.of(path, *envelope),
        OutgoingMessage.of(raw_message("after-nul"), *envelope),
    ]
    async with AsyncSmtpTransport.open(
        url(servers), password=servers.users["alice"], ssl_context=servers.ssl_context()
    ) as transport:
        first, bad, last = await transport.send_many(items)
    assert isinstance(first, SendResult)
    assert isinstance(bad, InvalidArgument) and "NUL" in str(bad)
    # Taken for the same connection, never written: not sent (and not blamed for the NUL).
    assert isinstance(last, ConnectionLost) and not isinstance(last, DeliveryUncertain)
    assert (await delivered(servers, "bob", "before-nul")).endswith(raw_message("before-nul"))


@pytest.mark.anyio
async def test_smtputf8_sender_is_accepted(mail_servers: MailServers) -> None:
    # Postfix takes it (MAIL FROM:<...> SMTPUTF8); the test Dovecot's LMTP does not offer
    # SMTPUTF8, so it is not read back: Postfix would bounce it on delivery.
    async with AsyncSmtpTransport.open(
        url(mail_servers),
        password=mail_servers.users["alice"],
        ssl_context=mail_servers.ssl_context(),
    ) as transport:
        assert "SMTPUTF8" in transport.extensions
        result = await transport.send(
            raw_message("utf8"),
            sender="\u00e9l\u00e8ve@example.test",
            recipients=["bob@relay.invalid"],
        )
    assert result.accepted == ("bob@relay.invalid",)


@pytest.mark.anyio
async def test_dsn_request(clean_mailbox: MailServers) -> None:
    servers = clean_mailbox
    async with AsyncSmtpTransport.open(
        url(servers), password=servers.users["alice"], ssl_context=servers.ssl_context()
    ) as transport:
        result = await transport.send(
            raw_message("dsn"),
            sender="alice@example.test",
            recipients=["bob@example.test"],
            dsn=Dsn(notify=("FAILURE", "DELAY"), ret="HDRS", envid="dsn-test"),
        )
    assert result.accepted == ("bob@example.test",)
    assert_same_apart_from_added_headers(await delivered(servers, "bob", "dsn"), raw_message("dsn"))


@pytest.mark.anyio
async def test_bad_input_is_refused_before_sending(mail_servers: MailServers) -> None:
    async with AsyncTransport.open(
        url(mail_servers),
        password=mail_servers.users["alice"],
        ssl_context=mail_servers.ssl_context(),
    ) as transport:
        for recipients in (["bob@example.test\r\nRCPT TO:<x@example.test>"], [], ["bob"]):
            with pytest.raises(InvalidArgument):
                await transport.send(
                    raw_message("bad"), sender="alice@example.test", recipients=recipients
                )
        with pytest.raises(InvalidArgument, match="NUL"):
            await transport.send(
                b"Subject: x\r\n\r\na\0b\r\n",
                sender="alice@example.test",
                recipients=["bob@example.test"],
            )
        with pytest.raises(InvalidArgument):
            await transport.send(
                raw_message("bad"),
                sender="alice@example.test",
                recipients=["bob@example.test"],
                mail_options=["X=1\r\nRSET"],
            )
        # Nothing above reached the server: the connection is still in step.
        result = await transport.send(
            raw_message("fine"), sender="alice@example.test", recipients=["bob@example.test"]
        )
        assert result.accepted == ("bob@example.test",)
