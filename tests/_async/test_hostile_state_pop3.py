"""State confusion against the hostile kit, for POP3: replies out of step (an extra line
after a one-line reply, a body after a one-line reply, a one-line reply to a pipelined RETR
or LIST, a reply sent before its command). The IMAP cases, and what each test holds the
client to: test_hostile_state.py.

This file is the source of tests/_sync/test_hostile_state_pop3.py (tools/unasync.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests._async.hostile_client import open_client
from tests._async.test_hostile_state import A, B, files
from tests.hostile import PASSWORD, HostileServer
from tests.hostile_dialects import POP3
from tests.scripted_server import Close, ReadLine, ReadUntilEOF, Send, Sleep, StartTLS, Step
from unimail import (
    AsyncFolder,
    AsyncPop3Mailbox,
    CommandError,
    ConnectionLost,
    FetchField,
    ProtocolError,
    Timeout,
)

# -- POP3: replies out of step -----------------------------------------------------------------


def _capa(*tags: bytes) -> bytes:
    return b"+OK\r\n" + b"".join(t + b"\r\n" for t in tags) + b".\r\n"


def pop3_login(*tags: bytes, after: bytes = b"") -> list[Step]:
    """Implicit TLS, USER/PASS, CAPA with ``tags``; ``after`` is sent right behind the last
    CAPA reply (data nobody asked for yet)."""
    return [
        StartTLS(),
        Send(b"+OK ready\r\n"),
        ReadLine(b"CAPA\r\n"),
        Send(_capa(b"USER", *tags)),
        ReadLine(b"USER alice\r\n"),
        Send(b"+OK\r\n"),
        ReadLine(b"PASS " + PASSWORD.encode() + b"\r\n"),
        Send(b"+OK in\r\n"),
        ReadLine(b"CAPA\r\n"),
        Send(_capa(*tags) + after),
    ]


LISTING = [
    ReadLine(b"LIST\r\n"),
    Send(b"+OK\r\n1 %d\r\n2 %d\r\n.\r\n" % (len(A), len(B))),
    ReadLine(b"UIDL\r\n"),
    Send(b"+OK\r\n1 uid-a\r\n2 uid-b\r\n.\r\n"),
]
BYE = [ReadLine(b"QUIT\r\n"), Send(b"+OK bye\r\n"), ReadUntilEOF()]


def retr(data: bytes) -> bytes:
    return b"+OK %d octets\r\n" % len(data) + data + b".\r\n"


async def _open_pop3(server: HostileServer) -> AsyncPop3Mailbox:
    box = await open_client(POP3, server, tls=True, timeout=0.5)
    assert isinstance(box, AsyncPop3Mailbox)
    return box


# Each case: the script after the login, and what the caller does first.
_OUT_OF_STEP: dict[str, tuple[list[Step], str]] = {
    # DELE's one-line reply, then a line nobody asked for.
    "extra-line": ([*LISTING, ReadLine(b"DELE 1\r\n"), Send(b"+OK\r\n+OK\r\n")], "delete"),
    # DELE answered with a multi-line reply.
    "body-after-one-line": (
        [*LISTING, ReadLine(b"DELE 1\r\n"), Send(b"+OK\r\n" + A + b".\r\n")],
        "delete",
    ),
    # RETR answered with one line: the next reply (RETR 2, pipelined) would be its body.
    "one-line-for-retr": (
        [*LISTING, ReadLine(b"RETR 1\r\n"), ReadLine(b"RETR 2\r\n"), Send(b"+OK\r\n" + retr(B))],
        "fetch",
    ),
    # LIST answered with one line: UIDL's listing (pipelined) would be read as LIST's.
    "one-line-for-list": (
        [
            ReadLine(b"LIST\r\n"),
            ReadLine(b"UIDL\r\n"),
            Send(b"+OK 2 messages\r\n+OK\r\n1 uid-a\r\n2 uid-b\r\n.\r\n"),
        ],
        "fetch",
    ),
}


async def _act(inbox: AsyncFolder, action: str, got: list[tuple[object, bytes | None]]) -> None:
    if action == "delete":
        await inbox.delete(["uid-a"])
        return
    async for info in inbox.fetch(["uid-a", "uid-b"], FetchField.BODY):
        got.append((info.uid, info.body))


@pytest.mark.anyio
@pytest.mark.parametrize("case", list(_OUT_OF_STEP))
async def test_pop3_replies_out_of_step(case: str) -> None:
    steps, action = _OUT_OF_STEP[case]
    script = [*pop3_login(b"UIDL", b"PIPELINING"), *steps, ReadUntilEOF()]
    got: list[tuple[object, bytes | None]] = []
    with HostileServer(script) as server:
        box = await _open_pop3(server)
        inbox = box.folder()
        try:
            with pytest.raises(ProtocolError):
                await _act(inbox, action, got)
            # Never used again: not even QUIT (which would commit the DELE).
            with pytest.raises((ConnectionLost, ProtocolError)):
                await inbox.get_bytes("uid-b")
        finally:
            await box.aclose()
    assert got == [] and server.errors == []
    # Nothing was sent after the out-of-step reply: the last line the script read is the end.
    assert server.received_tls.endswith(server.lines[-1])


@pytest.mark.anyio
async def test_pop3_a_reply_before_its_command() -> None:
    # A LIST answer arrives with the CAPA reply, before LIST was sent.
    early = b"+OK\r\n1 %d\r\n.\r\n" % len(B)
    with HostileServer([*pop3_login(b"UIDL", after=early), ReadUntilEOF()]) as server:
        with pytest.raises(ProtocolError, match="more than its reply"):
            await _open_pop3(server)
    assert b"LIST" not in server.received_tls and server.errors == []


@pytest.mark.anyio
async def test_pop3_one_line_for_retr_without_pipelining_waits_for_the_body() -> None:
    # Without pipelining RETR 2 is not sent yet: the missing body is a stall, not B's bytes.
    script = [*pop3_login(b"UIDL"), *LISTING, ReadLine(b"RETR 1\r\n"), Send(b"+OK\r\n"), Sleep(5)]
    with HostileServer(script) as server:
        async with await _open_pop3(server) as box:
            with pytest.raises(Timeout):
                await box.folder().get_bytes("uid-a")
            with pytest.raises(ConnectionLost):
                await box.folder().get_bytes("uid-b")


@pytest.mark.anyio
async def test_pop3_response_code_on_retr_is_a_plain_error() -> None:
    code = b"[SYS/TEMP]"  # [IN-USE] and the others at login: test_pop3_faults
    script = [
        *pop3_login(b"UIDL", b"RESP-CODES"),
        *LISTING,
        ReadLine(b"RETR 1\r\n"),
        Send(b"-ERR " + code + b" try later\r\n"),
        ReadLine(b"RETR 2\r\n"),
        Send(retr(B)),
        *BYE,
    ]
    with HostileServer(script) as server:
        async with await _open_pop3(server) as box:
            with pytest.raises(CommandError, match="try later") as info:
                await box.folder().get_bytes("uid-a")
            # The connection is in step: the next message is the right one.
            assert await box.folder().get_bytes("uid-b") == B
    assert info.value.temporary and info.value.enhanced_code == code.strip(b"[]").decode()
    assert server.errors == []


@pytest.mark.anyio
async def test_pop3_download_cut_in_the_middle_of_the_body(tmp_path: Path) -> None:
    script = [*pop3_login(b"UIDL"), *LISTING, ReadLine(b"RETR 1\r\n"), Send(b"+OK\r\n" + A[:20])]
    target = tmp_path / "message.eml"
    with HostileServer([*script, Close()]) as server:
        box = await _open_pop3(server)
        try:
            with pytest.raises(ConnectionLost):
                await box.folder().download("uid-a", target)
            with pytest.raises(ConnectionLost):
                await box.folder().download("uid-b", target)
        finally:
            await box.aclose()
    assert files(tmp_path) == [] and server.errors == []
    assert b"QUIT" not in server.received_tls
