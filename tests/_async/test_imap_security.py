"""The IMAP security defaults against scripted servers that do what Dovecot never would.

This file is the source of tests/_sync/test_imap_security.py (tools/unasync.py).
"""

from __future__ import annotations

import base64

import pytest

from tests.scripted_server import (
    Close,
    LocalCA,
    ReadLine,
    ReadUntilEOF,
    ScriptedServer,
    Send,
    Sleep,
    StartTLS,
)
from unimail import (
    AsyncMailbox,
    AuthenticationError,
    CommandError,
    ConnectionLost,
    FetchField,
    Flag,
    ProtocolError,
    Timeout,
    TLSError,
)

CAPS = b"IMAP4rev1 LITERAL+"


def url(server: ScriptedServer, scheme: str = "imap") -> str:
    return f"{scheme}://alice@{server.host}:{server.port}"


@pytest.mark.anyio
async def test_starttls_not_offered_sends_nothing() -> None:
    ca = LocalCA()
    script = [Send(b"* OK [CAPABILITY " + CAPS + b"] ready\r\n"), ReadUntilEOF()]
    with ScriptedServer(script) as server:
        with pytest.raises(TLSError, match="does not offer STARTTLS"):
            await AsyncMailbox.open(url(server), password="pw", ssl_context=ca.client_context())
    assert server.received == b""


@pytest.mark.anyio
async def test_starttls_refused() -> None:
    ca = LocalCA()
    script = [
        Send(b"* OK [CAPABILITY " + CAPS + b" STARTTLS] ready\r\n"),
        ReadLine(b"U1 STARTTLS\r\n"),
        Send(b"U1 NO not today\r\n"),
        ReadUntilEOF(),
    ]
    with ScriptedServer(script) as server:
        with pytest.raises(TLSError, match="refused STARTTLS"):
            await AsyncMailbox.open(url(server), password="pw", ssl_context=ca.client_context())
    assert server.received == b"U1 STARTTLS\r\n"


@pytest.mark.anyio
async def test_preauth_where_tls_is_required() -> None:
    ca = LocalCA()
    script = [Send(b"* PREAUTH [CAPABILITY " + CAPS + b" STARTTLS] welcome\r\n"), ReadUntilEOF()]
    with ScriptedServer(script) as server:
        with pytest.raises(TLSError, match="PREAUTH"):
            await AsyncMailbox.open(url(server), password="pw", ssl_context=ca.client_context())
    assert server.received == b""


@pytest.mark.anyio
async def test_response_injected_before_the_handshake() -> None:
    ca = LocalCA()
    script = [
        Send(b"* OK [CAPABILITY " + CAPS + b" STARTTLS] ready\r\n"),
        ReadLine(b"U1 STARTTLS\r\n"),
        # A man in the middle appends a response to the plaintext OK (CVE-2011-0411 class).
        Send(b"U1 OK begin TLS\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n"),
        ReadUntilEOF(),
    ]
    with ScriptedServer(script, ssl_context=ca.server_context()) as server:
        with pytest.raises(TLSError, match="after its STARTTLS reply"):
            await AsyncMailbox.open(url(server), password="pw", ssl_context=ca.client_context())
    assert server.received == b"U1 STARTTLS\r\n"
    assert not server.tls_established


@pytest.mark.anyio
async def test_capabilities_are_asked_again_after_starttls() -> None:
    ca = LocalCA()
    script = [
        # Before TLS the server claims LOGIN is fine; after TLS it says LOGINDISABLED. The
        # client must believe only what it learns over TLS.
        Send(b"* OK [CAPABILITY " + CAPS + b" STARTTLS] ready\r\n"),
        ReadLine(b"U1 STARTTLS\r\n"),
        Send(b"U1 OK begin TLS\r\n"),
        StartTLS(),
        ReadLine(b"U2 CAPABILITY\r\n"),
        Send(b"* CAPABILITY IMAP4rev1 LOGINDISABLED\r\nU2 OK done\r\n"),
        ReadUntilEOF(),
    ]
    with ScriptedServer(script, ssl_context=ca.server_context()) as server:
        with pytest.raises(AuthenticationError):
            await AsyncMailbox.open(url(server), password="pw", ssl_context=ca.client_context())
    assert server.tls_established
    assert b"LOGIN" not in server.received_tls and b"pw" not in server.received


@pytest.mark.anyio
async def test_silent_server_times_out() -> None:
    ca = LocalCA()
    with ScriptedServer([Sleep(10)]) as server:
        with pytest.raises(Timeout):
            await AsyncMailbox.open(
                url(server), password="pw", ssl_context=ca.client_context(), timeout=0.3
            )


@pytest.mark.anyio
async def test_bye_greeting() -> None:
    ca = LocalCA()
    with ScriptedServer([Send(b"* BYE too busy\r\n"), Close()]) as server:
        with pytest.raises(CommandError, match="too busy") as info:
            await AsyncMailbox.open(url(server), password="pw", ssl_context=ca.client_context())
    assert info.value.temporary


@pytest.mark.anyio
async def test_garbage_greeting() -> None:
    ca = LocalCA()
    with ScriptedServer([Send(b"HTTP/1.1 400 Bad Request\r\n"), ReadUntilEOF()]) as server:
        with pytest.raises(ProtocolError):
            await AsyncMailbox.open(url(server), password="pw", ssl_context=ca.client_context())


@pytest.mark.anyio
async def test_drop_in_the_middle_of_a_literal() -> None:
    ca = LocalCA()
    script = [
        StartTLS(),
        Send(b"* OK [CAPABILITY " + CAPS + b"] ready\r\n"),
        ReadLine(b'U1 LOGIN "alice" "pw"\r\n'),
        Send(b"U1 OK [CAPABILITY IMAP4rev1] logged in\r\n"),
        ReadLine(b'U2 SELECT "INBOX"\r\n'),
        Send(b"* 1 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\nU2 OK [READ-WRITE] done\r\n"),
        ReadLine(b"U3 UID FETCH 1 (UID BODY.PEEK[])\r\n"),
        Send(b"* 1 FETCH (UID 1 BODY[] {100}\r\nonly part of it"),
        Close(),
    ]
    with ScriptedServer(script, ssl_context=ca.server_context()) as server:
        async with AsyncMailbox.open(
            url(server, "imaps"), password="pw", ssl_context=ca.client_context()
        ) as box:
            with pytest.raises(ConnectionLost):
                await box.folder("INBOX").get_bytes(1)
            # A broken connection stays broken: no desynchronised reuse.
            with pytest.raises((ConnectionLost, ProtocolError)):
                await box.folder("INBOX").status()
    assert server.errors == []


@pytest.mark.anyio
async def test_expired_oauth2_token_is_asked_for_again() -> None:
    ca = LocalCA()
    tokens = iter(["expired-token", "fresh-token"])
    script = [
        StartTLS(),
        Send(b"* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2] ready\r\n"),
        ReadLine(),
        # XOAUTH2's failure: a JSON challenge, answered with an empty line, then NO.
        Send(b"+ " + base64.b64encode(b'{"status":"401"}') + b"\r\n"),
        ReadLine(b"\r\n"),
        Send(b"U1 NO [AUTHENTICATIONFAILED] invalid credentials\r\n"),
        ReadLine(),
        Send(b"U2 OK [CAPABILITY IMAP4rev1] welcome\r\n"),
        ReadLine(b"U3 LOGOUT\r\n"),
        Send(b"* BYE bye\r\nU3 OK done\r\n"),
        ReadUntilEOF(),
    ]
    with ScriptedServer(script, ssl_context=ca.server_context()) as server:
        async with AsyncMailbox.open(
            url(server, "imaps"), auth=lambda: next(tokens), ssl_context=ca.client_context()
        ):
            pass
    assert server.errors == []
    first, _, second, _ = server.lines
    assert first.startswith(b"U1 AUTHENTICATE XOAUTH2 ")
    assert b"expired-token" in base64.b64decode(first.split()[-1])
    assert b"fresh-token" in base64.b64decode(second.split()[-1])


@pytest.mark.anyio
async def test_a_split_fetch_answer_is_merged() -> None:
    ca = LocalCA()
    script = [
        StartTLS(),
        Send(b"* OK [CAPABILITY " + CAPS + b"] ready\r\n"),
        ReadLine(b'U1 LOGIN "alice" "pw"\r\n'),
        Send(b"U1 OK [CAPABILITY IMAP4rev1] logged in\r\n"),
        ReadLine(b'U2 SELECT "INBOX"\r\n'),
        Send(b"* 2 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\nU2 OK [READ-WRITE] done\r\n"),
        ReadLine(b"U3 UID FETCH 5 (UID FLAGS RFC822.SIZE)\r\n"),
        # RFC 9051 7.5.2 lets a server split one message's data over several responses; an
        # unrelated message's flag change comes in between.
        Send(
            b"* 1 FETCH (FLAGS (\\Seen) UID 5)\r\n* 2 FETCH (FLAGS (\\Deleted))\r\n"
            b"* 1 FETCH (UID 5 RFC822.SIZE 42)\r\nU3 OK done\r\n"
        ),
        ReadLine(b"U4 LOGOUT\r\n"),
        Send(b"* BYE bye\r\nU4 OK done\r\n"),
        ReadUntilEOF(),
    ]
    with ScriptedServer(script, ssl_context=ca.server_context()) as server:
        async with AsyncMailbox.open(
            url(server, "imaps"), password="pw", ssl_context=ca.client_context()
        ) as box:
            infos = [
                i async for i in box.folder("INBOX").fetch([5], FetchField.FLAGS | FetchField.SIZE)
            ]
    assert server.errors == []
    assert [(i.uid, i.flags, i.size) for i in infos] == [(5, frozenset({Flag.SEEN}), 42)]
