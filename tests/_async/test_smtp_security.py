"""The SMTP transport against scripted servers that do what Postfix never would.

This file is the source of tests/_sync/test_smtp_security.py (tools/unasync.py).
"""

from __future__ import annotations

import base64
import logging
import traceback

import pytest

from tests._async.hostile_client import open_client
from tests.hostile import USER, Answer, HostileServer, secret_forms
from tests.hostile_dialects import SMTP
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
    AsyncSmtpTransport,
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
async def test_oauth_token_provider_and_extensions_after_auth() -> None:
    initial = base64.b64encode(b"user=alice\x01auth=Bearer t0ken\x01\x01")
    script = [
        *greet(b"250 AUTH XOAUTH2 PLAIN\r\n"),
        ReadLine(b"AUTH XOAUTH2 " + initial + b"\r\n"),
        Send(b"235 2.7.0 accepted\r\n"),
        ReadLine(EHLO),  # asked again after AUTH: the extensions may have changed
        Send(b"250-fake\r\n250 SIZE 1000\r\n"),
        ReadLine(b"QUIT\r\n"),
        Send(b"221 bye\r\n"),
    ]
    with ScriptedServer(script) as server:
        async with AsyncTransport.open(
            url(server, "alice"),
            auth=lambda: "t0ken",
            security="plaintext",
            allow_insecure_auth=True,
            local_hostname="client.test",
        ) as transport:
            assert isinstance(transport, AsyncSmtpTransport)
            assert transport.extensions.max_size == 1000
    assert server.errors == []


@pytest.mark.anyio
async def test_refused_oauth_token_is_asked_for_again_once() -> None:
    tokens = iter(["expired", "fresh", "never asked"])

    def initial(token: str) -> bytes:
        return base64.b64encode(f"user=alice\x01auth=Bearer {token}\x01\x01".encode())

    error = base64.b64encode(b'{"status":"401","schemes":"bearer","scope":"mail"}')
    script = [
        *greet(b"250 AUTH XOAUTH2\r\n"),
        ReadLine(b"AUTH XOAUTH2 " + initial("expired") + b"\r\n"),
        Send(b"334 " + error + b"\r\n"),  # RFC 7628 3.2.2: the client answers with nothing
        ReadLine(b"\r\n"),
        Send(b"535 5.7.8 token expired\r\n"),
        ReadLine(b"AUTH XOAUTH2 " + initial("fresh") + b"\r\n"),
        Send(b"235 2.7.0 accepted\r\n"),
        ReadLine(EHLO),
        Send(b"250 fake\r\n"),
        ReadLine(b"QUIT\r\n"),
        Send(b"221 bye\r\n"),
    ]
    with ScriptedServer(script) as server:
        async with AsyncTransport.open(
            url(server, "alice"),
            auth=lambda: next(tokens),
            security="plaintext",
            allow_insecure_auth=True,
            local_hostname="client.test",
        ):
            pass
    assert server.errors == [] and next(tokens) == "never asked"


@pytest.mark.anyio
async def test_a_refused_password_is_not_tried_twice() -> None:
    plain = base64.b64encode(b"\0alice\0pw")
    script = [
        *greet(b"250 AUTH PLAIN\r\n"),
        ReadLine(b"AUTH PLAIN " + plain + b"\r\n"),
        Send(b"535 5.7.8 no\r\n"),
        ReadUntilEOF(),
    ]
    with ScriptedServer(script) as server:
        with pytest.raises(AuthenticationError, match="refused"):
            await AsyncTransport.open(
                url(server, "alice"),
                password="pw",
                security="plaintext",
                allow_insecure_auth=True,
                local_hostname="client.test",
            )
    assert server.errors == [] and server.received.count(b"AUTH") == 1


@pytest.mark.anyio
async def test_malformed_challenge_cancels_the_exchange() -> None:
    plain = base64.b64encode(b"\0alice\0pw")
    script = [
        *greet(b"250 AUTH PLAIN\r\n"),
        ReadLine(b"AUTH PLAIN " + plain + b"\r\n"),
        Send(b"334 !!not base64!!\r\n"),
        ReadLine(b"*\r\n"),
        Send(b"501 5.0.0 cancelled\r\n"),
        ReadUntilEOF(),
    ]
    with ScriptedServer(script) as server:
        with pytest.raises(ProtocolError, match="not base64"):
            await AsyncTransport.open(
                url(server, "alice"),
                password="pw",
                security="plaintext",
                allow_insecure_auth=True,
                local_hostname="client.test",
            )
    assert server.errors == []


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


def _shown(error: BaseException) -> str:
    """Everything an exception shows: message, repr, traceback, and the same of its causes."""
    parts = ["".join(traceback.format_exception(error))]
    current: BaseException | None = error
    while current is not None:
        parts += [str(current), repr(current), str(getattr(current, "text", ""))]
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


def _leaks(text: str) -> list[str]:
    return [form.decode() for form in secret_forms() if form.decode() in text]


def _echo(line: bytes) -> bytes:
    """A 535 quoting what the client sent, and what its base64 decodes to."""
    decoded = base64.b64decode(line.split()[-1]).replace(b"\0", b" ")
    return b"535 5.7.8 you sent " + line.strip() + b" = " + decoded + b"\r\n"


def _auth_steps(mechanism: str, last: Answer) -> list[Step]:
    """The client's AUTH ``mechanism`` exchange; ``last`` answers its last line."""
    if mechanism == "PLAIN":
        return [last]  # AUTH PLAIN <initial response>
    return [
        ReadLine(b"AUTH LOGIN\r\n"),
        Send(b"334 VXNlcm5hbWU6\r\n"),
        ReadLine(base64.b64encode(USER.encode()) + b"\r\n"),
        Send(b"334 UGFzc3dvcmQ6\r\n"),
        last,
    ]


@pytest.mark.anyio
@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
async def test_auth_secrets_in_no_log_repr_or_error(
    mechanism: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="unimail")
    # Accepted: the trace and the reprs of the transport and its options hold no secret.
    accept = Answer(lambda line: b"235 2.7.0 accepted\r\n")
    script = [
        StartTLS(),
        *SMTP.greet(starttls=False, mechanisms=(mechanism,)),
        *_auth_steps(mechanism, accept),
        *SMTP.capabilities_again(),
        *SMTP.goodbye(),
    ]
    with HostileServer(script) as server:
        transport = await open_client(SMTP, server, tls=True, auth=mechanism)
        assert isinstance(transport, AsyncSmtpTransport)
        reprs = [repr(transport), repr(vars(transport)), repr(transport.extensions)]
        await transport.aclose()
    assert server.errors == []
    assert any(form in server.received_tls for form in secret_forms()[1:])  # it was sent
    assert "C: AUTH " + mechanism in caplog.text
    assert _leaks("\n".join(reprs)) == [] and _leaks(caplog.text) == []  # the trace's S: lines too

    # Refused by a server that quotes the credentials back: not in the error either.
    caplog.clear()
    script = [
        StartTLS(),
        *SMTP.greet(starttls=False, mechanisms=(mechanism,)),
        *_auth_steps(mechanism, Answer(_echo)),
        ReadUntilEOF(),
    ]
    with HostileServer(script) as server:
        with pytest.raises(AuthenticationError) as raised:
            await open_client(SMTP, server, tls=True, auth=mechanism)
    assert server.errors == []
    assert "you sent" in str(raised.value)  # the server's text is shown, secrets redacted
    # caplog.text holds the trace's S: lines too: an echo must be redacted there as well.
    assert _leaks(_shown(raised.value)) == [] and _leaks(caplog.text) == []
