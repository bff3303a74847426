"""Credentials and command injection against the hostile kit, for IMAP, POP3 and SMTP.

- Credentials never travel in clear without the opt-in; LOGINDISABLED is respected; the
  password is absent from logs (DEBUG, ``unimail`` and ``unimail.protocol``), reprs and
  exceptions, while the server's recording shows it did reach the server (so the test can
  fail).
- CR, LF or NUL in any caller string raises InvalidArgument, and the recording shows that
  nothing was sent for that call: the next line the server reads is the goodbye.

This file is the source of tests/_sync/test_hostile_injection.py (tools/unasync.py).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable, Callable  # unasync: from collections.abc import Callable

import pytest

from tests._async.hostile_client import open_client
from tests.hostile import PASSWORD, HostileServer, ReadUntil, secret_forms
from tests.hostile_dialects import DIALECTS, IMAP, POP3, SMTP, Dialect, leaked
from tests.scripted_server import ReadLine, ReadUntilEOF, Send, StartTLS
from unimail import (
    AsyncImapMailbox,
    AsyncMailbox,
    AsyncSmtpTransport,
    AsyncTransport,
    AuthenticationError,
    Dsn,
    Flag,
    InvalidArgument,
)

PER_DIALECT = pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
BAD = pytest.mark.parametrize(
    "bad", ["\r\nX", "\nX", "\rX", "\0X"], ids=["crlf", "lf", "cr", "nul"]
)
MESSAGE = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: x\r\n\r\nbody\r\n"

Result = Awaitable[object]  # unasync: Result = object
ImapCall = Callable[[AsyncImapMailbox, str], Result]
SmtpCall = Callable[[AsyncSmtpTransport, str], Result]


def _secrets_in(text: str) -> list[bytes]:
    return [form for form in secret_forms() if form.decode() in text]


# -- credentials ------------------------------------------------------------------------------


@pytest.mark.anyio
@PER_DIALECT
@pytest.mark.parametrize("auth", [None, "PLAIN"])
async def test_no_credentials_in_clear_without_the_opt_in(
    dialect: Dialect, auth: str | None
) -> None:
    script = [*dialect.greet(starttls=False, mechanisms=("PLAIN", "LOGIN")), *dialect.after_error()]
    with HostileServer(script) as server:
        with pytest.raises(AuthenticationError, match="unencrypted"):
            await open_client(dialect, server, security="plaintext", auth=auth)
    assert leaked(dialect, server) == []


@pytest.mark.anyio
@PER_DIALECT
async def test_credentials_in_clear_with_the_opt_in(dialect: Dialect) -> None:
    # The control of the test above: both opt-ins given, the credentials do go out.
    script = [*dialect.greet(starttls=False), *dialect.accept_login(), *dialect.goodbye()]
    with HostileServer(script) as server:
        client = await open_client(dialect, server, security="plaintext", allow_insecure_auth=True)
        await client.aclose()
    assert server.errors == [] and secret_forms()[2] in server.received_plain


@pytest.mark.anyio
@pytest.mark.parametrize("auth", [None, "LOGIN"])
async def test_imap_logindisabled_is_respected(auth: str | None) -> None:
    script = [Send(b"* OK [CAPABILITY IMAP4rev1 LOGINDISABLED] hi\r\n"), *IMAP.after_error()]
    with HostileServer(script) as server:
        with pytest.raises(AuthenticationError, match="LOGINDISABLED"):
            await open_client(
                IMAP, server, security="plaintext", allow_insecure_auth=True, auth=auth
            )
    assert leaked(IMAP, server) == []


LOGINS = [(IMAP, ()), (IMAP, ("PLAIN",)), (POP3, ()), (POP3, ("PLAIN",)), (SMTP, ("PLAIN",))]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("dialect", "mechanisms"),
    LOGINS,
    ids=["imap-login", "imap-plain", "pop3-user", "pop3-plain", "smtp-plain"],
)
async def test_the_password_is_never_logged_or_shown(
    dialect: Dialect, mechanisms: tuple[str, ...], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="unimail")
    caplog.set_level(logging.DEBUG, logger="unimail.protocol")
    with HostileServer(dialect.implicit(*dialect.goodbye(), mechanisms=mechanisms)) as server:
        client = await open_client(dialect, server, tls=True)
        shown = repr(client) + repr(client.options) + str(client.options)
        await client.aclose()
    assert server.errors == []
    assert PASSWORD.encode() in server.received_tls or secret_forms()[2] in server.received_tls
    assert "C: " in caplog.text  # the trace was on
    assert _secrets_in(caplog.text) == [] and _secrets_in(shown) == []


@pytest.mark.anyio
@PER_DIALECT
async def test_a_refused_password_is_not_in_the_error(
    dialect: Dialect, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="unimail")
    caplog.set_level(logging.DEBUG, logger="unimail.protocol")
    script = [StartTLS(), *dialect.greet(starttls=False), *dialect.refuse_login()]
    with HostileServer(script) as server:
        with pytest.raises(AuthenticationError) as info:
            await open_client(dialect, server, tls=True)
    assert secret_forms()[2] in server.received_tls  # it was sent, and refused
    shown = "".join(traceback.format_exception(info.value)) + repr(info.value)
    assert _secrets_in(shown) == [] and _secrets_in(caplog.text) == []


# -- command injection before connecting ------------------------------------------------------


@pytest.mark.anyio
@PER_DIALECT
@BAD
@pytest.mark.parametrize("where", ["user", "password", "auth"])
async def test_bad_credentials_are_refused_before_connecting(
    dialect: Dialect, bad: str, where: str
) -> None:
    user = "alice" + bad if where == "user" else "alice"
    quoted = user.replace("\r", "%0D").replace("\n", "%0A").replace("\0", "%00")
    password = PASSWORD + bad if where == "password" else PASSWORD
    auth = "PLAIN" + bad if where == "auth" else None
    with HostileServer([ReadUntilEOF()]) as server:
        address = f"{dialect.tls_scheme}://{quoted}@{server.host}:{server.port}"
        with pytest.raises(InvalidArgument):
            await _open(dialect, address, password, auth)
    assert server.received == b""


async def _open(
    dialect: Dialect, address: str, password: str, auth: str | None
) -> AsyncMailbox | AsyncTransport:
    if dialect is SMTP:
        return await AsyncTransport.open(address, password=password, auth=auth)
    return await AsyncMailbox.open(address, password=password, auth=auth)


@pytest.mark.anyio
@BAD
async def test_bad_ehlo_name_is_refused_before_connecting(bad: str) -> None:
    with HostileServer([ReadUntilEOF()]) as server:
        with pytest.raises(InvalidArgument):
            await AsyncTransport.open(
                f"smtps://{server.host}:{server.port}", local_hostname="client" + bad
            )
    assert server.received == b""


# -- command injection on a logged-in connection ----------------------------------------------

IMAP_CALLS: dict[str, ImapCall] = {
    "folder": lambda box, bad: box.folder("INBOX" + bad).status(),
    "folders-pattern": lambda box, bad: box.folders("*" + bad),
    "create": lambda box, bad: box.create_folder("new" + bad),
    "rename": lambda box, bad: box.rename_folder("old", "new" + bad),
    "delete-folder": lambda box, bad: box.delete_folder("old" + bad),
    "subscribe": lambda box, bad: box.subscribe("old" + bad),
    "copy": lambda box, bad: box.folder("INBOX").copy([1], "Archive" + bad),
    "move": lambda box, bad: box.folder("INBOX").move([1], "Archive" + bad),
    "keyword": lambda box, bad: box.folder("INBOX").add_flags([1], {"kw" + bad}),
    "set-keyword": lambda box, bad: box.folder("INBOX").set_flags([1], {Flag.SEEN, "k" + bad}),
    "append-flag": lambda box, bad: box.folder("INBOX").append(MESSAGE, flags={"kw" + bad}),
    "id": lambda box, bad: box.server_id({"name": "x" + bad}),
}


@pytest.mark.anyio
@BAD
@pytest.mark.parametrize("call", IMAP_CALLS.values(), ids=IMAP_CALLS.keys())
async def test_imap_injection_sends_nothing(bad: str, call: ImapCall) -> None:
    with HostileServer(IMAP.implicit(*IMAP.goodbye())) as server:
        box = await open_client(IMAP, server, tls=True)
        assert isinstance(box, AsyncImapMailbox)
        with pytest.raises(InvalidArgument):
            await call(box, bad)
        await box.aclose()
    # The goodbye step checks that LOGOUT came right after the login: nothing in between.
    assert server.errors == []
    assert IMAP.verbs(server.received_tls) == [b"AUTHENTICATE", b"LOGOUT"]


# Search text (Q.subject(), Q.keyword(), ...): tests/test_hostile_queries.py.


SMTP_CALLS: dict[str, SmtpCall] = {
    "sender": lambda t, bad: t.send(MESSAGE, sender="a@x.org" + bad, recipients=["b@x.org"]),
    "recipient": lambda t, bad: t.send(MESSAGE, sender="a@x.org", recipients=["b@x.org" + bad]),
    "mail-option": lambda t, bad: t.send(
        MESSAGE, sender="a@x.org", recipients=["b@x.org"], mail_options=["X-A=1" + bad]
    ),
    "rcpt-option": lambda t, bad: t.send(
        MESSAGE, sender="a@x.org", recipients=["b@x.org"], rcpt_options=["X-A=1" + bad]
    ),
    "dsn-envid": lambda t, bad: t.send(
        MESSAGE, sender="a@x.org", recipients=["b@x.org"], dsn=Dsn(envid="id" + bad)
    ),
}


@pytest.mark.anyio
@BAD
@pytest.mark.parametrize("call", SMTP_CALLS.values(), ids=SMTP_CALLS.keys())
async def test_smtp_injection_sends_nothing(bad: str, call: SmtpCall) -> None:
    with HostileServer(SMTP.implicit(*SMTP.goodbye())) as server:
        transport = await open_client(SMTP, server, tls=True)
        assert isinstance(transport, AsyncSmtpTransport)
        with pytest.raises(InvalidArgument):
            await call(transport, bad)
        await transport.aclose()
    assert server.errors == []
    assert SMTP.verbs(server.received_tls) == [b"EHLO", b"AUTH", b"EHLO", b"QUIT"]


# -- SMTP smuggling ---------------------------------------------------------------------------

SMUGGLING = {
    "bare-lf-dot": b"Subject: x\r\n\r\nhi\n.\nMAIL FROM:<evil@x.org>\n",
    "bare-cr-dot": b"Subject: x\r\n\r\nhi\r.\rMAIL FROM:<evil@x.org>\r",
    "crlf-dot": b"Subject: x\r\n\r\nhi\r\n.\r\nMAIL FROM:<evil@x.org>\r\n",
    "lf-dot-crlf": b"Subject: x\r\n\r\nhi\n.\r\nMAIL FROM:<evil@x.org>\r\n",
    "crlf-dot-lf": b"Subject: x\r\n\r\nhi\r\n.\nMAIL FROM:<evil@x.org>\r\n",
    "cr-dot-crlf": b"Subject: x\r\n\r\nhi\r.\r\nMAIL FROM:<evil@x.org>\r\n",
}


@pytest.mark.anyio
@pytest.mark.parametrize("content", SMUGGLING.values(), ids=SMUGGLING.keys())
async def test_smtp_data_cannot_smuggle_a_second_message(content: bytes) -> None:
    script = SMTP.implicit(
        ReadLine(b"MAIL FROM:<a@x.org>\r\n"),
        ReadLine(b"RCPT TO:<b@x.org>\r\n"),
        ReadLine(b"DATA\r\n"),
        Send(b"250 ok\r\n250 ok\r\n354 go\r\n"),
        ReadUntil(b".\r\n"),
        Send(b"250 2.0.0 queued\r\n"),
        *SMTP.goodbye(),
    )
    with HostileServer(script) as server:
        transport = await open_client(SMTP, server, tls=True)
        assert isinstance(transport, AsyncSmtpTransport)
        await transport.send(content, sender="a@x.org", recipients=["b@x.org"])
        await transport.aclose()
    assert server.errors == []
    data = server.lines[server.lines.index(b"DATA\r\n") + 1 : server.lines.index(b"QUIT\r\n")]
    # Canonical: every line ends in CRLF with no other CR or LF, and the one line that is a
    # lone dot is the terminator: the smuggled MAIL FROM stayed inside the content.
    assert all(line.endswith(b"\r\n") and line.count(b"\r") == 1 for line in data), data
    assert [i for i, line in enumerate(data) if line == b".\r\n"] == [len(data) - 1]
    assert b"\r\n..\r\nMAIL FROM:<evil@x.org>\r\n" in b"".join(data)  # stuffed, kept
