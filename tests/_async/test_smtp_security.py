"""The SMTP transport against scripted servers that do what Postfix never would.

This file is the source of tests/_sync/test_smtp_security.py (tools/unasync.py).
"""

from __future__ import annotations

import pytest

from tests.scripted_server import (
    LocalCA,
    ReadLine,
    ReadUntilEOF,
    ScriptedServer,
    Send,
    Sleep,
    StartTLS,
    Step,
)
from unimail import (
    AsyncTransport,
    AuthenticationError,
    DeliveryUncertain,
    InvalidArgument,
    ProtocolError,
    SendError,
    Timeout,
    TLSError,
)

EHLO = b"EHLO client.test\r\n"
MESSAGE = b"Subject: x\r\n\r\nbody\r\n"


def url(server: ScriptedServer, user: str | None = None) -> str:
    return f"smtp://{user + '@' if user else ''}{server.host}:{server.port}"


def greet(extensions: bytes = b"250 PIPELINING\r\n") -> list[Step]:
    return [Send(b"220 fake ESMTP\r\n"), ReadLine(EHLO), Send(b"250-fake\r\n" + extensions)]


@pytest.mark.anyio
async def test_starttls_not_offered_sends_nothing_more() -> None:
    with ScriptedServer([*greet(), ReadUntilEOF()]) as server:
        with pytest.raises(TLSError, match="does not offer STARTTLS"):
            await AsyncTransport.open(
                url(server, "alice"), password="pw", local_hostname="client.test"
            )
    assert server.received == EHLO


@pytest.mark.anyio
async def test_starttls_refused() -> None:
    script = [
        *greet(b"250 STARTTLS\r\n"),
        ReadLine(b"STARTTLS\r\n"),
        Send(b"454 4.7.0 TLS not available\r\n"),
        ReadUntilEOF(),
    ]
    with ScriptedServer(script) as server:
        with pytest.raises(TLSError, match="refused STARTTLS"):
            await AsyncTransport.open(url(server), local_hostname="client.test")
    assert server.received == EHLO + b"STARTTLS\r\n"


@pytest.mark.anyio
async def test_reply_injected_before_the_handshake() -> None:
    ca = LocalCA()
    script = [
        *greet(b"250 STARTTLS\r\n"),
        ReadLine(b"STARTTLS\r\n"),
        # A man in the middle appends a reply to the plaintext 220 (CVE-2011-0411 class).
        Send(b"220 go ahead\r\n250-fake\r\n250 AUTH PLAIN\r\n"),
        ReadUntilEOF(),
    ]
    with ScriptedServer(script, ssl_context=ca.server_context()) as server:
        with pytest.raises(TLSError, match="after its STARTTLS reply"):
            await AsyncTransport.open(
                url(server), ssl_context=ca.client_context(), local_hostname="client.test"
            )
    assert not server.tls_established


@pytest.mark.anyio
async def test_extensions_are_asked_again_after_starttls() -> None:
    ca = LocalCA()
    script = [
        # Before TLS the server offers AUTH; after TLS it does not. Only what is learned over
        # TLS counts, so no credentials are sent.
        *greet(b"250-AUTH PLAIN\r\n250 STARTTLS\r\n"),
        ReadLine(b"STARTTLS\r\n"),
        Send(b"220 go ahead\r\n"),
        StartTLS(),
        ReadLine(EHLO),
        Send(b"250-fake\r\n250 PIPELINING\r\n"),
        ReadUntilEOF(),
    ]
    with ScriptedServer(script, ssl_context=ca.server_context()) as server:
        with pytest.raises(AuthenticationError, match="does not offer AUTH"):
            await AsyncTransport.open(
                url(server, "alice"),
                password="pw",
                ssl_context=ca.client_context(),
                local_hostname="client.test",
            )
    assert server.tls_established and b"AUTH" not in server.received


@pytest.mark.anyio
async def test_no_credentials_over_plaintext_without_the_opt_in() -> None:
    with ScriptedServer([*greet(b"250 AUTH PLAIN\r\n"), ReadUntilEOF()]) as server:
        with pytest.raises(AuthenticationError, match="unencrypted"):
            await AsyncTransport.open(
                url(server, "alice"),
                password="pw",
                security="plaintext",
                local_hostname="client.test",
            )
    assert b"AUTH" not in server.received and b"pw" not in server.received


@pytest.mark.anyio
async def test_code_changed_mid_reply() -> None:
    script = [
        Send(b"220 fake\r\n"),
        ReadLine(EHLO),
        Send(b"250-fake\r\n550 no\r\n"),
        ReadUntilEOF(),
    ]
    with ScriptedServer(script) as server:
        with pytest.raises(ProtocolError, match="changed from 250 to 550"):
            await AsyncTransport.open(
                url(server), security="plaintext", local_hostname="client.test"
            )


@pytest.mark.anyio
async def test_stall_in_data_is_a_timeout_never_a_success() -> None:
    script = [
        *greet(),
        ReadLine(b"MAIL FROM:<a@example.org>\r\n"),
        ReadLine(b"RCPT TO:<b@example.org>\r\n"),
        ReadLine(b"DATA\r\n"),
        Send(b"250 ok\r\n250 ok\r\n354 go\r\n"),
        ReadLine(b"Subject: x\r\n"),
        Sleep(10),  # the content arrives; the final reply never does
    ]
    with ScriptedServer(script) as server:
        async with AsyncTransport.open(
            url(server), security="plaintext", local_hostname="client.test", timeout=0.5
        ) as transport:
            with pytest.raises(DeliveryUncertain) as raised:
                await transport.send(MESSAGE, sender="a@example.org", recipients=["b@example.org"])
    # The whole content was written: the server may have taken it. The stall is the cause.
    assert isinstance(raised.value.__cause__, Timeout)


@pytest.mark.anyio
async def test_helo_fallback_and_no_pipelining() -> None:
    script = [
        Send(b"220 old server\r\n"),
        ReadLine(EHLO),
        Send(b"502 what?\r\n"),
        ReadLine(b"HELO client.test\r\n"),
        Send(b"250 old.example.org\r\n"),
        # Without PIPELINING every command waits for its reply.
        ReadLine(b"MAIL FROM:<a@example.org>\r\n"),
        Send(b"250 ok\r\n"),
        ReadLine(b"RCPT TO:<b@example.org>\r\n"),
        Send(b"250 ok\r\n"),
        ReadLine(b"DATA\r\n"),
        Send(b"354 go\r\n"),
        ReadLine(b"Subject: x\r\n"),
        ReadLine(b"\r\n"),
        ReadLine(b"..body\r\n"),
        ReadLine(b".\r\n"),
        Send(b"250 queued\r\n"),
        ReadLine(b"QUIT\r\n"),
        Send(b"221 bye\r\n"),
    ]
    with ScriptedServer(script) as server:
        async with AsyncTransport.open(
            url(server), security="plaintext", local_hostname="client.test"
        ) as transport:
            result = await transport.send(
                b"Subject: x\n\n.body", sender="a@example.org", recipients=["b@example.org"]
            )
    assert server.errors == []
    assert result.accepted == ("b@example.org",) and result.response == "250 queued"


@pytest.mark.anyio
async def test_size_is_refused_before_sending() -> None:
    script = [*greet(b"250 SIZE 100\r\n"), ReadLine(b"QUIT\r\n"), Send(b"221 bye\r\n")]
    with ScriptedServer(script) as server:
        async with AsyncTransport.open(
            url(server), security="plaintext", local_hostname="client.test"
        ) as transport:
            with pytest.raises(SendError) as info:
                await transport.send(
                    b"Subject: big\r\n\r\n" + b"x" * 200,
                    sender="a@example.org",
                    recipients=["b@example.org"],
                )
    assert info.value.code == "552" and info.value.enhanced_code == "5.3.4"
    assert server.errors == [] and b"MAIL" not in server.received


@pytest.mark.anyio
async def test_data_accepted_without_recipients_is_ended_empty() -> None:
    script = [
        *greet(),
        ReadLine(b"MAIL FROM:<a@example.org>\r\n"),
        ReadLine(b"RCPT TO:<b@example.org>\r\n"),
        ReadLine(b"DATA\r\n"),
        Send(b"250 ok\r\n550 5.1.1 no such user\r\n354 go\r\n"),
        ReadLine(b".\r\n"),  # not the message: just the end of an empty DATA
        Send(b"554 no valid recipients\r\n"),
        ReadLine(b"RSET\r\n"),
        Send(b"250 ok\r\n"),
        ReadLine(b"QUIT\r\n"),
        Send(b"221 bye\r\n"),
    ]
    with ScriptedServer(script) as server:
        async with AsyncTransport.open(
            url(server), security="plaintext", local_hostname="client.test"
        ) as transport:
            with pytest.raises(SendError) as info:
                await transport.send(MESSAGE, sender="a@example.org", recipients=["b@example.org"])
    assert server.errors == []
    assert info.value.refused == {"b@example.org": (550, "no such user")}
    assert b"Subject" not in server.received


@pytest.mark.anyio
async def test_421_after_the_content_is_not_a_success_and_not_resent() -> None:
    script = [
        *greet(),
        ReadLine(b"MAIL FROM:<a@example.org>\r\n"),
        ReadLine(b"RCPT TO:<b@example.org>\r\n"),
        ReadLine(b"DATA\r\n"),
        Send(b"250 ok\r\n250 ok\r\n354 go\r\n"),
        ReadLine(b"Subject: x\r\n"),
        ReadLine(b"\r\n"),
        ReadLine(b"body\r\n"),
        ReadLine(b".\r\n"),
        Send(b"421 4.3.2 shutting down\r\n"),
        ReadUntilEOF(),
    ]
    with ScriptedServer(script) as server:
        async with AsyncTransport.open(
            url(server), security="plaintext", local_hostname="client.test", timeout=5
        ) as transport:
            # The message may or may not have been taken: uncertain, and never sent twice.
            with pytest.raises(DeliveryUncertain, match="shutting down"):
                await transport.send(MESSAGE, sender="a@example.org", recipients=["b@example.org"])
    assert server.errors == [] and server.received.count(b"MAIL FROM") == 1


@pytest.mark.anyio
async def test_refused_greeting() -> None:
    with ScriptedServer([Send(b"554 go away\r\n"), ReadUntilEOF()]) as server:
        with pytest.raises(ConnectionError, match="go away"):
            await AsyncTransport.open(
                url(server), security="plaintext", local_hostname="client.test"
            )
    assert server.received == b""


@pytest.mark.anyio
async def test_binarymime_goes_in_bdat_unchanged() -> None:
    body = b"Subject: x\r\n\r\nbin\nary.\r\n"  # a bare LF and a leading dot stay as they are
    script = [
        *greet(b"250-PIPELINING\r\n250-CHUNKING\r\n250 BINARYMIME\r\n"),
        ReadLine(b"MAIL FROM:<a@example.org> BODY=BINARYMIME\r\n"),
        ReadLine(b"RCPT TO:<b@example.org>\r\n"),
        Send(b"250 ok\r\n250 ok\r\n"),
        ReadLine(b"BDAT %d LAST\r\n" % len(body)),
        ReadLine(b"Subject: x\r\n"),
        ReadLine(b"\r\n"),
        ReadLine(b"bin\n"),
        ReadLine(b"ary.\r\n"),
        Send(b"250 2.0.0 queued\r\n"),
        ReadLine(b"QUIT\r\n"),
        Send(b"221 bye\r\n"),
    ]
    with ScriptedServer(script) as server:
        async with AsyncTransport.open(
            url(server), security="plaintext", local_hostname="client.test"
        ) as transport:
            result = await transport.send(
                body,
                sender="a@example.org",
                recipients=["b@example.org"],
                mail_options=["BODY=BINARYMIME"],
            )
    assert server.errors == [] and result.accepted == ("b@example.org",)


@pytest.mark.anyio
async def test_bad_ehlo_name_is_refused_before_connecting() -> None:
    with ScriptedServer([ReadUntilEOF()]) as server:
        for name in ("bad name", "host\r\nQUIT"):
            with pytest.raises(InvalidArgument):
                await AsyncTransport.open(url(server), security="plaintext", local_hostname=name)
    assert server.received == b""
