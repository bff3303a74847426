"""POP3 logins against scripted servers that do what Dovecot never would: APOP and SCRAM
preferences, RESP-CODES at login, a refused greeting, SASL lines too long, refused OAuth2
tokens, challenges that are not base64.

This file is the source of tests/_sync/test_pop3_auth_faults.py (tools/unasync.py).
"""

from __future__ import annotations

import base64

import pytest

from tests._async.test_pop3_faults import BYE, CA, FULL, capa, login, open_box, server
from tests.scripted_server import (
    ReadLine,
    ReadUntilEOF,
    ScriptedServer,
    Send,
    StartTLS,
)
from unimail import (
    AsyncMailbox,
    AsyncPop3Downloader,
    AsyncPop3Mailbox,
    AuthenticationError,
    CommandError,
    DownloadedMessage,
    FetchField,
    ProtocolError,
    UnsupportedOperation,
)


async def _ignore(message: DownloadedMessage) -> None:
    raise AssertionError("no message should be handed over")


@pytest.mark.anyio
async def test_no_credentials_in_clear_without_the_opt_in() -> None:
    script = [Send(b"+OK ready\r\n"), ReadLine(b"CAPA\r\n"), Send(capa(*FULL)), ReadUntilEOF()]
    with server(script) as srv:
        with pytest.raises(AuthenticationError, match="unencrypted"):
            await open_box(srv, "pop3", security="plaintext")
    assert srv.received == b"CAPA\r\n"


@pytest.mark.anyio
async def test_apop_when_the_greeting_has_a_timestamp() -> None:
    # RFC 1939 section 7's example: the digest of "<1896.697170952@dbc.mtview.ca.us>tanstaaf".
    script = [
        Send(b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n"),
        ReadLine(b"CAPA\r\n"), Send(b"-ERR unknown command\r\n"),
        ReadLine(b"APOP alice c4c9334bac560ecc979e58001b3e22fb\r\n"), Send(b"+OK\r\n"),
        ReadLine(b"CAPA\r\n"), Send(b"-ERR unknown command\r\n"),
        # No CAPA: whether UIDL works is found out by asking, one command at a time.
        ReadLine(b"LIST\r\n"), Send(b"+OK\r\n1 10\r\n.\r\n"),
        ReadLine(b"UIDL\r\n"), Send(b"-ERR no UIDL here\r\n"), *BYE,
    ]  # fmt: skip
    with ScriptedServer(script) as srv:
        box = await AsyncMailbox.open(
            f"pop3://alice@{srv.host}:{srv.port}", password="tanstaaf", security="plaintext",
            allow_insecure_auth=True,
        )  # fmt: skip
        async with box:
            assert isinstance(box, AsyncPop3Mailbox) and box.auth_method == "APOP"
            # Without UIDL: uids are this session's message numbers, and no deleting by them.
            assert not box.has_uidl and box.capabilities == frozenset()
            inbox = box.folder()
            assert [i.uid async for i in inbox.search(fields=FetchField.UID | FetchField.SIZE)] == [
                1
            ]
            with pytest.raises(UnsupportedOperation) as info:
                await inbox.delete([1])
            assert info.value.capability == "DELETE"
            with pytest.raises(UnsupportedOperation) as info:
                await AsyncPop3Downloader(box, "unused.sqlite3").run(_ignore)
            assert info.value.capability == "UIDL"
            with pytest.raises(UnsupportedOperation):
                [e async for e in inbox.watch(timeout=1)]
    assert srv.errors == []


@pytest.mark.anyio
async def test_scram_is_preferred_over_apop() -> None:
    script = [
        StartTLS(), Send(b"+OK ready <1.2@example.test>\r\n"), ReadLine(b"CAPA\r\n"),
        Send(capa(b"SASL PLAIN SCRAM-SHA-256", b"USER")), ReadLine(),
        Send(b"-ERR [AUTH] no\r\n"), ReadUntilEOF(),
    ]  # fmt: skip
    with server(script) as srv:
        with pytest.raises(AuthenticationError, match=r"\[AUTH\] no"):
            await open_box(srv)
    assert srv.lines[-1].startswith(b"AUTH SCRAM-SHA-256 ")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("reply", "error", "code", "temporary"),
    [
        (b"-ERR [IN-USE] Do you have another POP session running?", CommandError, "IN-USE", True),
        (b"-ERR [LOGIN-DELAY] wait", CommandError, "LOGIN-DELAY", True),
        (b"-ERR [SYS/TEMP] try later", CommandError, "SYS/TEMP", True),
        (b"-ERR [SYS/PERM] account closed", CommandError, "SYS/PERM", False),
        (b"-ERR [AUTH] wrong password", AuthenticationError, None, None),
        (b"-ERR wrong password", AuthenticationError, None, None),
    ],
)
async def test_resp_codes_at_login(
    reply: bytes, error: type[Exception], code: str | None, temporary: bool | None
) -> None:
    script = [*login()[:7], Send(reply + b"\r\n"), ReadUntilEOF()]
    with server(script) as srv:
        with pytest.raises(error) as info:
            await open_box(srv)
    if isinstance(info.value, CommandError):
        assert (info.value.enhanced_code, info.value.temporary) == (code, temporary)
        assert info.value.code == "-ERR"


@pytest.mark.anyio
async def test_greeting_err_is_a_temporary_refusal() -> None:
    with server([StartTLS(), Send(b"-ERR [SYS/TEMP] overloaded\r\n"), ReadUntilEOF()]) as srv:
        with pytest.raises(CommandError) as info:
            await open_box(srv)
    assert info.value.temporary and info.value.enhanced_code == "SYS/TEMP"


@pytest.mark.anyio
async def test_sasl_initial_response_too_long_for_the_command_line() -> None:
    user = "a" * 200
    response = base64.b64encode(f"\0{user}\0pw".encode())
    script = [
        StartTLS(), Send(b"+OK ready\r\n"), ReadLine(b"CAPA\r\n"), Send(capa(b"SASL PLAIN")),
        # RFC 5034 section 4: more than 255 octets: AUTH alone, then the response to "+ ".
        ReadLine(b"AUTH PLAIN\r\n"), Send(b"+ \r\n"), ReadLine(response + b"\r\n"),
        Send(b"+OK\r\n"), ReadLine(b"CAPA\r\n"), Send(capa(b"UIDL")), *BYE,
    ]  # fmt: skip
    with server(script) as srv:
        box = await AsyncMailbox.open(
            f"pop3s://{user}@{srv.host}:{srv.port}", password="pw",
            ssl_context=CA.client_context(),
        )  # fmt: skip
        await box.aclose()
    assert srv.errors == []


@pytest.mark.anyio
async def test_xoauth2_asks_the_provider_again_after_a_refusal() -> None:
    tokens = iter(["expired", "fresh"])
    calls: list[str] = []

    def provider() -> str:
        calls.append(token := next(tokens))
        return token

    def ir(token: str) -> bytes:
        return base64.b64encode(f"user=alice\x01auth=Bearer {token}\x01\x01".encode())

    error = base64.b64encode(b'{"status":"401","schemes":"bearer"}')
    script = [
        StartTLS(), Send(b"+OK ready\r\n"), ReadLine(b"CAPA\r\n"),
        Send(capa(b"SASL XOAUTH2 PLAIN", b"UIDL")),
        ReadLine(b"AUTH XOAUTH2 " + ir("expired") + b"\r\n"), Send(b"+ " + error + b"\r\n"),
        ReadLine(b"\r\n"), Send(b"-ERR [AUTH] invalid token\r\n"),
        ReadLine(b"AUTH XOAUTH2 " + ir("fresh") + b"\r\n"), Send(b"+OK welcome\r\n"),
        ReadLine(b"CAPA\r\n"), Send(capa(b"UIDL")), *BYE,
    ]  # fmt: skip
    with server(script) as srv:
        box = await AsyncMailbox.open(
            f"pop3s://alice@{srv.host}:{srv.port}", auth=provider, ssl_context=CA.client_context()
        )
        assert isinstance(box, AsyncPop3Mailbox) and box.auth_method == "XOAUTH2"
        await box.aclose()
    assert srv.errors == [] and calls == ["expired", "fresh"]


@pytest.mark.anyio
async def test_a_challenge_that_is_not_base64_cancels_the_exchange() -> None:
    script = [
        StartTLS(), Send(b"+OK ready\r\n"), ReadLine(b"CAPA\r\n"), Send(capa(b"SASL CRAM-MD5")),
        ReadLine(b"AUTH CRAM-MD5\r\n"), Send(b"+ !!not base64!!\r\n"), ReadLine(b"*\r\n"),
        Send(b"-ERR cancelled\r\n"), ReadUntilEOF(),
    ]  # fmt: skip
    with server(script) as srv:
        with pytest.raises(ProtocolError, match="not base64"):
            await open_box(srv)
    assert srv.errors == []
