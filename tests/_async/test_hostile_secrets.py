"""Secrets against the hostile kit: every IMAP and POP3 login method, and servers that quote
the credentials back.

tests/_async/test_hostile_injection.py checks the password of LOGIN, AUTHENTICATE PLAIN,
USER/PASS and POP3 AUTH PLAIN after a plain refusal. This file adds the other methods (IMAP
SASL LOGIN and XOAUTH2, POP3 APOP) and servers whose NO, BYE or -ERR text repeats what the
client sent (the whole command line, and the secret decoded): the password, the token, their
base64 forms and the APOP digest must be absent from the exception (message, repr, traceback,
``text``, the chain of causes), from the client's own log lines and from the reprs of the
mailbox, its folder and its options. Each test also asserts that the secret did reach the
server, so it cannot pass by sending nothing.

The log check covers the whole captured log, the protocol trace's ``S: ...`` lines included:
each login tells the stream's trace its secrets (``Trace.hide``), also when a server's echo is
cut between two receives.

This file is the source of tests/_sync/test_hostile_secrets.py (tools/unasync.py).
"""

from __future__ import annotations

import base64
import logging
import traceback
from collections.abc import Callable

import pytest

from tests._async.hostile_client import open_client, url
from tests.hostile import CERTS, PASSWORD, USER, Answer, HostileServer, secret_forms
from tests.hostile_dialects import IMAP, POP3, Dialect
from tests.scripted_server import Close, ReadLine, ReadUntilEOF, Send, Sleep, StartTLS, Step
from unimail import (
    AsyncImapMailbox,
    AsyncMailbox,
    AsyncPop3Mailbox,
    AuthenticationError,
    CommandError,
    ConnectionLost,
)
from unimail._backends._trace import MAX_HELD
from unimail._proto.pop3._commands import apop_digest

TOKEN = "ya29.Token-Secret-42"
TIMESTAMP = b"<1896.697170952@hostile.test>"
DIGEST = apop_digest(TIMESTAMP, PASSWORD)
XOAUTH2 = base64.b64encode(f"user={USER}\x01auth=Bearer {TOKEN}\x01\x01".encode())


def forms() -> list[str]:
    """Every form of every secret of this file, as text."""
    found = [form.decode() for form in secret_forms()]
    return [*found, TOKEN, XOAUTH2.decode(), base64.b64encode(TOKEN.encode()).decode(), DIGEST]


def leaks(text: str) -> list[str]:
    return [form for form in forms() if form in text]


def shown(error: BaseException) -> str:
    """Everything an exception shows: message, repr, traceback, ``text``, and the same of
    every exception in its chain of causes and contexts."""
    parts: list[str] = ["".join(traceback.format_exception(error))]
    current: BaseException | None = error
    while current is not None:
        parts += [str(current), repr(current), str(getattr(current, "text", ""))]
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


def echo(status: bytes) -> Callable[[bytes], bytes]:
    """An Answer maker: refuse with ``status``, quoting the client's line and, when it is
    base64, what it decodes to (IMAP: the line's tag first)."""

    def make(line: bytes) -> bytes:
        words = line.split()
        imap = status.startswith(b"NO")
        # A SASL answer is a bare base64 line: the command it answers is U1's.
        tag = (words[0] if len(words) > 1 else b"U1") + b" " if imap else b""
        try:
            decoded = base64.b64decode(words[-1], validate=True).replace(b"\0", b" ")
        except ValueError:
            decoded = b""
        decoded = decoded.replace(b"\x01", b" ")
        return tag + status + b" you sent " + line.strip() + b" = " + decoded + b"\r\n"

    return make


@pytest.fixture(autouse=True)
def _debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="unimail")
    caplog.set_level(logging.DEBUG, logger="unimail.protocol")


def _token() -> str:
    return TOKEN


async def _open_with_token(dialect: Dialect, server: HostileServer) -> AsyncMailbox:
    """Open with the OAuth2 token provider (``open_client`` takes a mechanism name only)."""
    return await AsyncMailbox.open(
        url(dialect, server, tls=True), auth=_token, ssl_context=CERTS.client_context(),
        timeout=2, connect_timeout=2,
    )  # fmt: skip


# -- IMAP ---------------------------------------------------------------------------------------

_IMAP_BEFORE: dict[str, list[Step]] = {
    "login": [],
    "plain": [],
    # SASL LOGIN: the server asks for the user name, then the password (base64 each).
    "sasl-login": [
        ReadLine(b"U1 AUTHENTICATE LOGIN\r\n"),
        Send(b"+ VXNlcm5hbWU6\r\n"),
        ReadLine(base64.b64encode(USER.encode()) + b"\r\n"),
        Send(b"+ UGFzc3dvcmQ6\r\n"),
    ],
    "xoauth2": [],
}
_IMAP_MECHANISMS: dict[str, tuple[str, ...]] = {
    "login": (),
    "plain": ("PLAIN",),
    "sasl-login": ("LOGIN",),
    "xoauth2": ("XOAUTH2",),
}
IMAP_METHODS = pytest.mark.parametrize("method", list(_IMAP_BEFORE))


async def _open_imap(server: HostileServer, method: str) -> AsyncImapMailbox:
    box = (
        await _open_with_token(IMAP, server)
        if method == "xoauth2"
        else await open_client(IMAP, server, tls=True)
    )
    assert isinstance(box, AsyncImapMailbox)
    return box


def _imap_sent_secret(server: HostileServer, method: str) -> bool:
    if method == "xoauth2":
        return XOAUTH2 in server.received_tls
    wanted = base64.b64encode(PASSWORD.encode()) if method == "sasl-login" else PASSWORD.encode()
    return wanted in server.received_tls or secret_forms()[2] in server.received_tls


@pytest.mark.anyio
@IMAP_METHODS
async def test_imap_login_shows_no_secret(method: str, caplog: pytest.LogCaptureFixture) -> None:
    mechanisms = _IMAP_MECHANISMS[method]
    accept = IMAP.accept_login(mechanisms)
    if method == "sasl-login":  # the last line is the password, not a tagged command
        accept = [Answer(lambda line: b"U1 OK [CAPABILITY IMAP4rev1] in\r\n")]
    script = [
        StartTLS(),
        *IMAP.greet(starttls=False, mechanisms=mechanisms),
        *_IMAP_BEFORE[method],
        *accept,
        *IMAP.goodbye(),
    ]
    with HostileServer(script) as server:
        box = await _open_imap(server, method)
        folder = box.folder("INBOX")
        reprs = [repr(box), repr(folder), repr(box.options), str(box.options), repr(box.client)]
        await box.aclose()
    assert server.errors == [] and _imap_sent_secret(server, method)
    assert "C: " in caplog.text  # the trace was on
    assert leaks("\n".join(reprs)) == [] and leaks(caplog.text) == []


@pytest.mark.anyio
@IMAP_METHODS
async def test_imap_refusal_quoting_the_credentials(
    method: str, caplog: pytest.LogCaptureFixture
) -> None:
    refuse = Answer(echo(b"NO [AUTHENTICATIONFAILED]"))
    # An OAuth2 token refused is asked for once more (it may have expired): two refusals.
    refusals = [refuse, refuse] if method == "xoauth2" else [refuse]
    mechanisms = _IMAP_MECHANISMS[method]
    script = [
        StartTLS(),
        *IMAP.greet(starttls=False, mechanisms=mechanisms),
        *_IMAP_BEFORE[method],
        *refusals,
        *IMAP.goodbye(),
    ]
    with HostileServer(script) as server:
        with pytest.raises(AuthenticationError, match="you sent") as info:
            await _open_imap(server, method)
    assert server.errors == [] and _imap_sent_secret(server, method)
    assert "***" in str(info.value)  # the echo was there, and redacted
    assert leaks(shown(info.value)) == [] and leaks(caplog.text) == []  # the trace's S: lines too


@pytest.mark.anyio
async def test_imap_bye_quoting_the_credentials() -> None:
    def bye(line: bytes) -> bytes:
        return b"* BYE " + echo(b"OK")(line)

    script = [StartTLS(), *IMAP.greet(starttls=False, mechanisms=()), Answer(bye), Close()]
    with HostileServer(script) as server:
        with pytest.raises(ConnectionLost, match="you sent") as info:
            await _open_imap(server, "login")
    assert PASSWORD.encode() in server.received_tls
    assert leaks(shown(info.value)) == []


@pytest.mark.anyio
async def test_imap_echo_of_the_password_cut_between_two_receives(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The refusal quotes the password in two TCP segments, a pause between them: the client
    # receives each half on its own, and the trace must not log either half as it came.
    half = len(PASSWORD) // 2

    def first_half(line: bytes) -> bytes:
        return line.split()[0] + b" NO [AUTHENTICATIONFAILED] you sent " + PASSWORD[:half].encode()

    script = [
        StartTLS(),
        *IMAP.greet(starttls=False, mechanisms=()),
        Answer(first_half),
        Sleep(0.3),
        Send(PASSWORD[half:].encode() + b" back\r\n"),
        *IMAP.goodbye(),
    ]
    with HostileServer(script) as server:
        with pytest.raises(AuthenticationError, match="you sent") as info:
            await _open_imap(server, "login")
    assert server.errors == [] and PASSWORD.encode() in server.received_tls
    assert "***" in str(info.value)
    assert leaks(shown(info.value)) == [] and leaks(caplog.text) == []
    assert PASSWORD[:half] not in caplog.text and PASSWORD[half:] not in caplog.text
    assert "S: " in caplog.text  # the server's lines were traced


@pytest.mark.anyio
async def test_imap_echo_of_the_password_after_more_than_the_trace_holds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The first segment has more than MAX_HELD bytes without a line break, so the trace must
    # log it before the line ends: it keeps back the end where the password begins.
    half = len(PASSWORD) // 2
    padding = b"x" * (MAX_HELD + 100)

    def first_half(line: bytes) -> bytes:
        tag = line.split()[0]
        return (
            tag
            + b" NO [AUTHENTICATIONFAILED] "
            + padding
            + b" you sent "
            + PASSWORD[:half].encode()
        )

    script = [
        StartTLS(),
        *IMAP.greet(starttls=False, mechanisms=()),
        Answer(first_half),
        Sleep(0.3),
        Send(PASSWORD[half:].encode() + b" back\r\n"),
        *IMAP.goodbye(),
    ]
    with HostileServer(script) as server:
        with pytest.raises(AuthenticationError):
            await _open_imap(server, "login")
    assert server.errors == [] and PASSWORD.encode() in server.received_tls
    assert PASSWORD[:half] not in caplog.text and PASSWORD[half:] not in caplog.text
    assert leaks(caplog.text) == [] and "S: *** back" in caplog.text


# -- POP3 ---------------------------------------------------------------------------------------


def _capa(*tags: bytes) -> bytes:
    return b"+OK\r\n" + b"".join(t + b"\r\n" for t in tags) + b".\r\n"


_POP3_GREETING: dict[str, list[Step]] = {
    "user": [Send(b"+OK ready\r\n"), ReadLine(b"CAPA\r\n"), Send(_capa(b"USER", b"UIDL"))],
    "apop": [
        Send(b"+OK ready " + TIMESTAMP + b"\r\n"),
        ReadLine(b"CAPA\r\n"),
        Send(_capa(b"USER", b"UIDL")),
    ],
    "plain": [Send(b"+OK ready\r\n"), ReadLine(b"CAPA\r\n"), Send(_capa(b"SASL PLAIN", b"UIDL"))],
    "xoauth2": [
        Send(b"+OK ready\r\n"),
        ReadLine(b"CAPA\r\n"),
        Send(_capa(b"SASL XOAUTH2", b"UIDL")),
    ],
}
_POP3_BEFORE: dict[str, list[Step]] = {
    "user": [ReadLine(b"USER alice\r\n"), Send(b"+OK\r\n")],
    "apop": [],
    "plain": [],
    "xoauth2": [],
}
POP3_METHODS = pytest.mark.parametrize("method", list(_POP3_GREETING))


async def _open_pop3(server: HostileServer, method: str) -> AsyncPop3Mailbox:
    box = (
        await _open_with_token(POP3, server)
        if method == "xoauth2"
        else await open_client(POP3, server, tls=True)
    )
    assert isinstance(box, AsyncPop3Mailbox)
    return box


def _pop3_sent_secret(server: HostileServer, method: str) -> bool:
    wanted = {
        "user": b"PASS " + PASSWORD.encode(),
        "apop": DIGEST.encode(),
        "plain": secret_forms()[2],
        "xoauth2": XOAUTH2,
    }
    return wanted[method] in server.received_tls


@pytest.mark.anyio
@POP3_METHODS
async def test_pop3_login_shows_no_secret(method: str, caplog: pytest.LogCaptureFixture) -> None:
    script = [
        StartTLS(),
        *_POP3_GREETING[method],
        *_POP3_BEFORE[method],
        Answer(lambda line: b"+OK welcome\r\n"),
        ReadLine(b"CAPA\r\n"),
        Send(_capa(b"UIDL")),
        *POP3.goodbye(),
    ]
    with HostileServer(script) as server:
        box = await _open_pop3(server, method)
        folder = box.folder()
        reprs = [repr(box), repr(folder), repr(box.options), str(box.options), repr(box.client)]
        await box.aclose()
    assert server.errors == [] and _pop3_sent_secret(server, method)
    assert "C: " in caplog.text
    assert leaks("\n".join(reprs)) == [] and leaks(caplog.text) == []


_AUTH = (b"-ERR [AUTH]", AuthenticationError)
# [IN-USE] says the credentials were fine: a CommandError, whose ``text`` is shown too.
_IN_USE = (b"-ERR [IN-USE]", CommandError)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("method", "status", "error"),
    [*((method, *_AUTH) for method in _POP3_GREETING), ("user", *_IN_USE), ("plain", *_IN_USE)],
    ids=[*_POP3_GREETING, "user-in-use", "plain-in-use"],
)
async def test_pop3_refusal_quoting_the_credentials(
    method: str, status: bytes, error: type[Exception], caplog: pytest.LogCaptureFixture
) -> None:
    refuse = Answer(echo(status))
    # A refused token is asked for once more, unless the code says it is not the token.
    again = [refuse] if method == "xoauth2" and error is AuthenticationError else []
    script = [
        StartTLS(),
        *_POP3_GREETING[method],
        *_POP3_BEFORE[method],
        refuse,
        *again,
        ReadUntilEOF(),
    ]
    with HostileServer(script) as server:
        with pytest.raises(error, match="you sent") as info:
            await _open_pop3(server, method)
    assert server.errors == [] and _pop3_sent_secret(server, method)
    assert "***" in str(info.value)
    assert leaks(shown(info.value)) == [] and leaks(caplog.text) == []  # the trace's S: lines too
