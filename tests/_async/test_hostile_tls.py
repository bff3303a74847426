"""STARTTLS stripping, response injection, certificates and greetings, for IMAP, POP3 and SMTP.

Each test is written once against the hostile kit's dialects (tests/hostile.py) and asserts on
the server's recording that no credential and no mail command left the client.
This file is the source of tests/_sync/test_hostile_tls.py (tools/unasync.py).
"""

from __future__ import annotations

import pytest

from tests._async.hostile_client import open_client
from tests.hostile import CERTS, Answer, HostileServer
from tests.hostile_dialects import DIALECTS, IMAP, POP3, SMTP, Dialect, leaked
from tests.scripted_server import ReadLine, ReadUntilEOF, Send, StartTLS
from unimail import (
    AsyncImapMailbox,
    AuthenticationError,
    CommandError,
    ConnectError,
    ProtocolError,
    TLSError,
)

PER_DIALECT = pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)


def _replies(kind: str) -> list[tuple[Dialect, bytes]]:
    return [(d, r) for d in DIALECTS for r in getattr(d, kind)]


def _id(value: object) -> str:
    if isinstance(value, Dialect):
        return value.name
    return repr(value)[2:14]


# -- STARTTLS stripping -----------------------------------------------------------------------


@pytest.mark.anyio
@PER_DIALECT
async def test_starttls_not_offered(dialect: Dialect) -> None:
    with HostileServer([*dialect.greet(starttls=False), ReadUntilEOF()]) as server:
        with pytest.raises(TLSError, match="does not offer"):
            await open_client(dialect, server)
    assert leaked(dialect, server) == []
    assert dialect.starttls not in server.received and not server.tls_established


@pytest.mark.anyio
@pytest.mark.parametrize(("dialect", "reply"), _replies("refusals"), ids=_id)
async def test_starttls_refused(dialect: Dialect, reply: bytes) -> None:
    script = [*dialect.greet(starttls=True), ReadLine(dialect.starttls), Send(reply)]
    with HostileServer([*script, ReadUntilEOF()]) as server:
        with pytest.raises(TLSError, match="refused"):
            await open_client(dialect, server)
    assert server.errors == [] and leaked(dialect, server) == []
    assert server.received.endswith(dialect.starttls)  # nothing after the refusal


@pytest.mark.anyio
@pytest.mark.parametrize(("dialect", "reply"), _replies("garbage"), ids=_id)
async def test_starttls_answered_with_garbage(dialect: Dialect, reply: bytes) -> None:
    script = [*dialect.greet(starttls=True), ReadLine(dialect.starttls), Send(reply)]
    with HostileServer([*script, ReadUntilEOF()]) as server:
        with pytest.raises(TLSError):
            await open_client(dialect, server)
    assert leaked(dialect, server) == []
    assert server.received.endswith(dialect.starttls) and not server.tls_established


# -- response injection ---------------------------------------------------------------------


@pytest.mark.anyio
@PER_DIALECT
async def test_bytes_after_the_go_ahead_are_refused_before_the_handshake(
    dialect: Dialect,
) -> None:
    script = [
        *dialect.greet(starttls=True),
        ReadLine(dialect.starttls),
        # A man in the middle appends a forged answer to the plaintext go-ahead, in the same
        # segment, hoping it is read as the first protected reply (CVE-2011-0411 class).
        Send(dialect.go_ahead + dialect.injected),
        ReadUntilEOF(),
    ]
    with HostileServer(script) as server:
        with pytest.raises(TLSError):
            await open_client(dialect, server)
    assert not server.tls_established and leaked(dialect, server) == []
    assert server.received.endswith(dialect.starttls)


@pytest.mark.anyio
@PER_DIALECT
async def test_capabilities_learned_before_tls_are_forgotten(dialect: Dialect) -> None:
    script = [
        # Plaintext: PLAIN and LOGIN offered. Over TLS: only SCRAM-SHA-256. The client must
        # choose from the second list alone.
        *dialect.greet(starttls=True, mechanisms=("PLAIN", "LOGIN")),
        ReadLine(dialect.starttls),
        Send(dialect.go_ahead),
        StartTLS(),
        *dialect.capabilities_again(("SCRAM-SHA-256",)),
        *dialect.refuse_login(),
    ]
    with HostileServer(script) as server:
        with pytest.raises(AuthenticationError):
            await open_client(dialect, server)
    assert server.errors == [] and server.tls_established
    logins = [line for line in server.lines if set(dialect.verbs(line)) & dialect.credential_verbs]
    assert logins and all(b" SCRAM-SHA-256" in line for line in logins)
    assert b"PLAIN" not in server.received_tls and b"LOGIN" not in server.received_tls


@pytest.mark.anyio
async def test_imap_alerts_before_tls_never_reach_the_caller() -> None:
    script = [
        *IMAP.greet(starttls=True),
        ReadLine(IMAP.starttls),
        # Untagged data before the go-ahead arrived in plaintext: forged, perhaps.
        Send(b"* OK [ALERT] plaintext: call +1 555 0100 now\r\n" + IMAP.go_ahead),
        StartTLS(),
        *IMAP.capabilities_again(),
        Answer(
            lambda line: b"* OK [ALERT] protected: quota\r\nU3 OK [CAPABILITY IMAP4rev1] in\r\n"
        ),
        *IMAP.goodbye(),
    ]
    with HostileServer(script) as server:
        box = await open_client(IMAP, server)
        assert isinstance(box, AsyncImapMailbox)
        alerts = box.take_alerts()
        await box.aclose()
    assert server.errors == []
    assert alerts == ["protected: quota"]


# -- greetings --------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("capabilities", [b"", b"[CAPABILITY IMAP4rev1 STARTTLS] "])
async def test_imap_preauth_where_starttls_is_required(capabilities: bytes) -> None:
    greeting = b"* PREAUTH " + capabilities + b"logged in already\r\n"
    with HostileServer([Send(greeting), ReadUntilEOF()]) as server:
        with pytest.raises(TLSError, match="PREAUTH"):
            await open_client(IMAP, server)
    assert server.received == b""


_GREETINGS = [
    (IMAP, b"* BYE go away\r\n", CommandError),
    (IMAP, b"HTTP/1.1 400 Bad Request\r\n", ProtocolError),
    (IMAP, b"* NO [ALERT] no\r\n", ProtocolError),
    (POP3, b"-ERR go away\r\n", CommandError),
    (POP3, b"HTTP/1.1 400 Bad Request\r\n", ProtocolError),
    (SMTP, b"554 5.3.2 go away\r\n", ConnectError),
    (SMTP, b"HTTP/1.1 400 Bad Request\r\n", ProtocolError),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("dialect", "greeting", "error"), _GREETINGS, ids=_id)
async def test_a_refused_or_broken_greeting_is_fatal(
    dialect: Dialect, greeting: bytes, error: type[Exception]
) -> None:
    for tls in (False, True):
        start = [StartTLS()] if tls else []
        with HostileServer([*start, Send(greeting), ReadUntilEOF()]) as server:
            with pytest.raises(error):
                await open_client(dialect, server, tls=tls)
        assert server.received == b""


# -- certificates ---------------------------------------------------------------------------


@pytest.mark.anyio
@PER_DIALECT
@pytest.mark.parametrize("kind", CERTS.KINDS)
async def test_bad_certificate_with_implicit_tls(dialect: Dialect, kind: str) -> None:
    script = [StartTLS(), *dialect.greet(starttls=False), ReadUntilEOF()]
    with HostileServer(script, ssl_context=CERTS.server_context(kind)) as server:
        with pytest.raises(TLSError, match="certificate verify failed"):
            await open_client(dialect, server, tls=True)
    assert server.received == b""


@pytest.mark.anyio
@PER_DIALECT
@pytest.mark.parametrize("kind", CERTS.KINDS)
async def test_bad_certificate_after_starttls(dialect: Dialect, kind: str) -> None:
    script = [
        *dialect.greet(starttls=True),
        ReadLine(dialect.starttls),
        Send(dialect.go_ahead),
        StartTLS(),
        ReadUntilEOF(),
    ]
    with HostileServer(script, ssl_context=CERTS.server_context(kind)) as server:
        with pytest.raises(TLSError, match="certificate verify failed"):
            await open_client(dialect, server)
    assert server.received_tls == b"" and leaked(dialect, server) == []
    assert server.received_plain.endswith(dialect.starttls)


@pytest.mark.anyio
@PER_DIALECT
@pytest.mark.parametrize("tls", [True, False], ids=["implicit", "starttls"])
async def test_a_good_certificate_is_accepted(dialect: Dialect, tls: bool) -> None:
    # The control of the tests above: the same scripts with the good certificate log in.
    if tls:
        script = dialect.implicit(*dialect.goodbye())
    else:
        script = [
            *dialect.greet(starttls=True),
            ReadLine(dialect.starttls),
            Send(dialect.go_ahead),
            StartTLS(),
            *dialect.capabilities_again(),
            *dialect.accept_login(),
            *dialect.goodbye(),
        ]
    with HostileServer(script) as server:
        client = await open_client(dialect, server, tls=tls)
        await client.aclose()
    assert server.errors == [] and server.tls_established
    assert server.received_plain == b"" if tls else server.received_plain.endswith(dialect.starttls)
