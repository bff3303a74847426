"""The POP3 client against scripted servers that do what Dovecot never would: refuse or skip
STLS, inject bytes, lie about sizes, stall, drop the connection between RETR and QUIT, send
RESP-CODES, lack CAPA, UIDL, TOP or PIPELINING. Logins are in test_pop3_auth_faults.py.

This file is the source of tests/_sync/test_pop3_faults.py (tools/unasync.py).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

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
    Step,
)
from unimail import (
    AsyncMailbox,
    AsyncPop3Mailbox,
    ConnectionLost,
    FetchField,
    InvalidArgument,
    LimitExceeded,
    Limits,
    Timeout,
    TLSError,
    UnsupportedOperation,
)

CA = LocalCA()
FULL = (b"TOP", b"UIDL", b"RESP-CODES", b"PIPELINING", b"USER")
MESSAGE = b"From: bob@example.test\r\nSubject: hi\r\n\r\nhello\r\n"


def capa(*tags: bytes) -> bytes:
    return b"+OK\r\n" + b"".join(t + b"\r\n" for t in tags) + b".\r\n"


def login(tags: Sequence[bytes] = FULL, greeting: bytes = b"+OK ready\r\n") -> list[Step]:
    """Implicit TLS, CAPA, USER/PASS, CAPA again."""
    return [
        StartTLS(),
        Send(greeting),
        ReadLine(b"CAPA\r\n"),
        Send(capa(*tags)),
        ReadLine(b"USER alice\r\n"),
        Send(b"+OK\r\n"),
        ReadLine(b"PASS pw\r\n"),
        Send(b"+OK logged in\r\n"),
        ReadLine(b"CAPA\r\n"),
        Send(capa(*tags)),
    ]


LISTING = [
    ReadLine(b"LIST\r\n"),
    ReadLine(b"UIDL\r\n"),
    Send(b"+OK\r\n1 %d\r\n2 %d\r\n.\r\n+OK\r\n1 uid-a\r\n2 uid-b\r\n.\r\n" % ((len(MESSAGE),) * 2)),
]
BYE = [ReadLine(b"QUIT\r\n"), Send(b"+OK bye\r\n"), ReadUntilEOF()]


def server(script: list[Step]) -> ScriptedServer:
    return ScriptedServer(script, ssl_context=CA.server_context())


async def open_box(
    srv: ScriptedServer, scheme: str = "pop3s", **kwargs: object
) -> AsyncPop3Mailbox:
    box = await AsyncMailbox.open(
        f"{scheme}://alice@{srv.host}:{srv.port}", password="pw",
        ssl_context=CA.client_context(), **kwargs,  # type: ignore[arg-type]
    )  # fmt: skip
    assert isinstance(box, AsyncPop3Mailbox)
    return box


# -- STLS ------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_stls_not_offered_sends_no_credentials() -> None:
    script = [Send(b"+OK ready\r\n"), ReadLine(b"CAPA\r\n"), Send(capa(*FULL)), ReadUntilEOF()]
    with server(script) as srv:
        with pytest.raises(TLSError, match="does not offer STLS"):
            await open_box(srv, "pop3")
    assert srv.received == b"CAPA\r\n" and srv.errors == []


@pytest.mark.anyio
async def test_stls_refused() -> None:
    script = [
        Send(b"+OK ready\r\n"), ReadLine(b"CAPA\r\n"), Send(capa(*FULL, b"STLS")),
        ReadLine(b"STLS\r\n"), Send(b"-ERR [SYS/TEMP] not now\r\n"), ReadUntilEOF(),
    ]  # fmt: skip
    with server(script) as srv:
        with pytest.raises(TLSError, match="refused STLS"):
            await open_box(srv, "pop3")
    assert srv.received == b"CAPA\r\nSTLS\r\n"


@pytest.mark.anyio
async def test_bytes_injected_before_the_handshake_are_refused() -> None:
    script = [
        Send(b"+OK ready\r\n"), ReadLine(b"CAPA\r\n"), Send(capa(*FULL, b"STLS")),
        ReadLine(b"STLS\r\n"), Send(b"+OK go\r\n+OK logged in\r\n"), ReadUntilEOF(),
    ]  # fmt: skip
    with server(script) as srv:
        with pytest.raises(TLSError, match="before the TLS handshake"):
            await open_box(srv, "pop3")
    assert not srv.tls_established


@pytest.mark.anyio
async def test_capabilities_are_read_again_after_stls() -> None:
    # Before TLS the server claims SASL PLAIN and PIPELINING; after TLS only USER: the client
    # must act on the second answer (RFC 2595 section 4).
    script = [
        Send(b"+OK ready\r\n"), ReadLine(b"CAPA\r\n"),
        Send(capa(b"STLS", b"SASL PLAIN", b"PIPELINING", b"UIDL")), ReadLine(b"STLS\r\n"),
        Send(b"+OK go\r\n"), StartTLS(), ReadLine(b"CAPA\r\n"), Send(capa(b"USER", b"UIDL")),
        ReadLine(b"USER alice\r\n"), Send(b"+OK\r\n"), ReadLine(b"PASS pw\r\n"),
        Send(b"+OK\r\n"), ReadLine(b"CAPA\r\n"), Send(capa(b"UIDL")), *BYE,
    ]  # fmt: skip
    with server(script) as srv:
        async with await open_box(srv, "pop3") as box:
            assert box.auth_method == "USER" and not box.pipelining
            assert box.server_capabilities == {"UIDL"}
    assert srv.errors == [] and srv.received_plain == b"CAPA\r\nSTLS\r\n"


# -- the transaction state -------------------------------------------------------------------


@pytest.mark.anyio
async def test_connection_killed_between_retr_and_quit_sends_no_quit() -> None:
    script = [
        *login(), *LISTING, ReadLine(b"DELE 1\r\n"), Send(b"+OK marked\r\n"),
        ReadLine(b"RETR 2\r\n"), Send(b"+OK\r\nFrom: half a mess"), Close(abort=True),
    ]  # fmt: skip
    with server(script) as srv:
        box = await open_box(srv)
        inbox = box.folder()
        await inbox.delete(["uid-a"])
        with pytest.raises(ConnectionLost):
            await inbox.get_bytes("uid-b")
        await box.aclose()
    # The server never saw QUIT, so (RFC 1939 section 6) it deletes nothing.
    assert b"QUIT" not in srv.received and srv.errors == []


@pytest.mark.anyio
async def test_a_dot_line_ended_by_a_bare_lf_is_data() -> None:
    script = [
        *login(), *LISTING, ReadLine(b"RETR 1\r\n"),
        Send(b"+OK\r\nline\r\n.\nstill the message\r\n.\r\n"), *BYE,
    ]  # fmt: skip
    with server(script) as srv:
        async with await open_box(srv) as box:
            assert await box.folder().get_bytes("uid-a") == b"line\r\n\nstill the message\r\n"
    assert srv.errors == []


@pytest.mark.anyio
async def test_limits() -> None:
    big = b"x" * 5000 + b"\r\n"
    script = [*login(), *LISTING, ReadLine(b"RETR 1\r\n"), Send(b"+OK\r\n" + big + b".\r\n")]
    script += [ReadLine(b"RETR 1\r\n"), Send(b"+OK\r\n" + big + b".\r\n"), *BYE]
    with server(script) as srv:
        async with await open_box(srv, limits=Limits(max_message_size=1000)) as box:
            # download() streams: it is not bounded by max_message_size, memory is.
            buffer = io.BytesIO()
            assert await box.folder().download("uid-a", buffer) == len(big)
            with pytest.raises(LimitExceeded):
                await box.folder().get_bytes("uid-a")
            assert box.client.closed  # the rest is never read into memory
    long_line = [StartTLS(), Send(b"+OK " + b"x" * 200), ReadUntilEOF()]
    with server(long_line) as srv:
        with pytest.raises(LimitExceeded):
            await open_box(srv, limits=Limits(max_line_length=100))


@pytest.mark.anyio
async def test_a_stalled_server_times_out() -> None:
    with server([*login(), ReadLine(b"LIST\r\n"), Sleep(10)]) as srv:
        box = await open_box(srv, timeout=0.5)
        with pytest.raises(Timeout):
            await box.folder().status()
        await box.aclose()


@pytest.mark.anyio
async def test_without_top_headers_come_from_retr() -> None:
    tags = (b"UIDL", b"USER")
    script = [
        *login(tags), ReadLine(b"LIST\r\n"), Send(b"+OK\r\n1 40\r\n.\r\n"), ReadLine(b"UIDL\r\n"),
        Send(b"+OK\r\n1 uid-a\r\n.\r\n"), ReadLine(b"RETR 1\r\n"),
        Send(b"+OK\r\n" + MESSAGE + b".\r\n"), *BYE,
    ]  # fmt: skip
    with server(script) as srv:
        async with await open_box(srv) as box:
            infos = [i async for i in box.folder().fetch(["uid-a"], FetchField.ENVELOPE)]
            assert infos[0].envelope is not None and infos[0].envelope.subject == "hi"
    assert srv.errors == []


@pytest.mark.anyio
async def test_bad_input_is_refused_before_sending() -> None:
    with server([*login(), *BYE]) as srv:
        async with await open_box(srv) as box:
            with pytest.raises(InvalidArgument):
                [i async for i in box.folder().fetch([b"uid-a"], FetchField.SIZE)]  # type: ignore[list-item]
    assert srv.errors == [] and b"LIST" not in srv.received
    with pytest.raises(InvalidArgument):
        await AsyncMailbox.open("pop3s://ali\nce@127.0.0.1", password="pw")
    with pytest.raises(InvalidArgument):
        await AsyncMailbox.open("pop3s://alice@127.0.0.1", password="p\r\nQUIT")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("tags", "expire", "delay"),
    [
        ((b"EXPIRE 0", b"LOGIN-DELAY 900"), 0, 900),
        ((b"EXPIRE NEVER",), "NEVER", None),
        ((b"EXPIRE 31 USER", b"LOGIN-DELAY 60 USER"), 31, 60),
        ((), None, None),
    ],
)
async def test_expire_and_login_delay_are_exposed(
    tags: tuple[bytes, ...], expire: int | str | None, delay: int | None
) -> None:
    with server([*login((*FULL, *tags)), *BYE]) as srv:
        async with await open_box(srv) as box:
            assert (box.expire, box.login_delay) == (expire, delay)
            assert box.pipelining and box.capabilities
    assert srv.errors == []


@pytest.mark.anyio
async def test_uidl_announced_but_refused_gives_the_weaker_mailbox() -> None:
    script = [
        *login(), ReadLine(b"LIST\r\n"), ReadLine(b"UIDL\r\n"),
        Send(b"+OK\r\n1 10\r\n.\r\n-ERR [SYS/TEMP] UIDL index broken\r\n"), *BYE,
    ]  # fmt: skip
    with server(script) as srv:
        async with await open_box(srv) as box:
            inbox = box.folder()
            assert [i.uid async for i in inbox.search(fields=FetchField.UID)] == [1]
            assert not box.has_uidl and box.capabilities == frozenset()
            with pytest.raises(UnsupportedOperation):
                await inbox.delete([1])
    assert srv.errors == [] and b"DELE" not in srv.received
