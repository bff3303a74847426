"""SMTP authentication against scripted servers that do what Postfix never would: expired
OAuth2 tokens, refused passwords, malformed challenges, secrets echoed back.

This file is the source of tests/_sync/test_smtp_auth_scripted.py (tools/unasync.py).
"""

from __future__ import annotations

import base64
import logging
import traceback

import pytest

from tests._async.hostile_client import open_client
from tests._async.test_smtp_security import greet, url
from tests.hostile import USER, Answer, HostileServer, secret_forms
from tests.hostile_dialects import SMTP
from tests.scripted_server import (
    ReadLine,
    ReadUntilEOF,
    ScriptedServer,
    Send,
    StartTLS,
    Step,
)
from unimail import (
    AsyncSmtpTransport,
    AsyncTransport,
    AuthenticationError,
    ProtocolError,
)

EHLO = b"EHLO client.test\r\n"
MESSAGE = b"Subject: x\r\n\r\nbody\r\n"


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
