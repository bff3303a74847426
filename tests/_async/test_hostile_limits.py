"""Resource limits, stalls and drops against the hostile kit, for IMAP, POP3 and SMTP.

A server that announces 10 GB, sends a 100 MB line, nests lists 10,000 deep, never ends a
response, asks for an absurd SCRAM iteration count, stays silent, trickles, or hangs up in the
middle of a message: the client raises LimitExceeded, Timeout or ConnectionLost, its peak
memory (tracemalloc) stays far below what was sent, and the broken connection is never used
again. Also: an IMAP tagged reply with an unknown tag (state confusion) is a ProtocolError.

This file is the source of tests/_sync/test_hostile_limits.py (tools/unasync.py).
"""

from __future__ import annotations

import pytest

from tests._async.hostile_client import open_client
from tests.hostile import Answer, Flood, HostileServer, peak_memory, scram_server_first
from tests.hostile_dialects import DIALECTS, IMAP, POP3, SMTP, Dialect
from tests.scripted_server import Close, ReadLine, Send, Sleep, StartTLS, Step, Trickle
from unimail import (
    AsyncImapMailbox,
    AsyncPop3Mailbox,
    AsyncSmtpTransport,
    ConnectError,
    ConnectionLost,
    FetchField,
    LimitExceeded,
    Limits,
    ProtocolError,
    Timeout,
)

PER_DIALECT = pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
MiB = 1024 * 1024
#: What a flood would cost in memory if the client kept it; its peak must stay far below.
FLOOD = 100 * MiB
BOUND = 8 * MiB
SMALL = Limits(
    max_line_length=1 * MiB,
    max_literal_size=1 * MiB,
    max_response_size=1 * MiB,
    max_message_size=1 * MiB,
)
MESSAGE = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: x\r\n\r\nbody\r\n"

IMAP_SELECT = [
    ReadLine(b'U2 SELECT "INBOX"\r\n'),
    Send(b"* 1 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\nU2 OK [READ-WRITE] done\r\n"),
]
POP3_LISTING = [
    ReadLine(b"LIST\r\n"),
    Send(b"+OK\r\n1 %d\r\n.\r\n" % len(MESSAGE)),
    ReadLine(b"UIDL\r\n"),
    Send(b"+OK\r\n1 uid-a\r\n.\r\n"),
]
SMTP_DATA = [
    ReadLine(b"MAIL FROM:<a@example.org>\r\n"),
    ReadLine(b"RCPT TO:<b@example.org>\r\n"),
    ReadLine(b"DATA\r\n"),
    Send(b"250 ok\r\n250 ok\r\n354 go\r\n"),
    *(ReadLine(line) for line in MESSAGE.splitlines(keepends=True)),
    ReadLine(b".\r\n"),
]


async def act(client: object) -> object:
    """The one operation each flood test runs on a logged-in client."""
    if isinstance(client, AsyncImapMailbox):
        return await client.folders()
    if isinstance(client, AsyncPop3Mailbox):
        return await client.folder().status()
    assert isinstance(client, AsyncSmtpTransport)
    return await client.send(MESSAGE, sender="a@example.org", recipients=["b@example.org"])


async def again(client: object) -> None:
    """A second call on a client whose connection broke: it must raise, not reuse it."""
    if isinstance(client, AsyncImapMailbox):
        await client.folder("INBOX").status()
    elif isinstance(client, AsyncPop3Mailbox):
        await client.folder().status()
    else:
        assert isinstance(client, AsyncSmtpTransport)
        await client.send(MESSAGE, sender="a@example.org", recipients=["b@example.org"])


def _before_flood(dialect: Dialect) -> list[Step]:
    """The steps up to the point where ``act`` waits for its answer."""
    if dialect is IMAP:
        return [ReadLine()]  # U2 LIST
    if dialect is POP3:
        return [ReadLine(b"LIST\r\n")]
    return [ReadLine(), ReadLine(), ReadLine()]  # MAIL, RCPT, DATA (pipelined)


async def _flooded(dialect: Dialect, flood: Flood, limits: Limits = SMALL) -> None:
    script = dialect.implicit(*_before_flood(dialect), flood)
    with HostileServer(script) as server:
        # The limit, not the deadline, must end a flood: one reply has one deadline, and
        # parsing a megabyte of short lines under tracemalloc takes about a second.
        # The second call of an SMTP transport connects again, to a server that takes one
        # connection: it waits for the connect deadline, kept short.
        client = await open_client(
            dialect, server, tls=True, limits=limits, timeout=5, connect_timeout=2
        )
        try:
            with peak_memory() as peak:
                with pytest.raises(LimitExceeded):
                    await act(client)
            with pytest.raises((ConnectionLost, ProtocolError, Timeout, ConnectError)):
                await again(client)
        finally:
            await client.aclose()
    assert peak.bytes < BOUND, f"peak {peak.bytes} bytes"
    assert server.flood_sent < flood.total  # the client hung up long before the end


# -- floods -----------------------------------------------------------------------------------

_LONG_LINE = {
    IMAP: b'* LIST () "/" ',
    POP3: b"+OK\r\n1 ",
    SMTP: b"250-",  # the reply to MAIL FROM
}


@pytest.mark.anyio
@PER_DIALECT
async def test_a_100_mb_line(dialect: Dialect) -> None:
    await _flooded(dialect, Flood(_LONG_LINE[dialect], b"x" * 65536, FLOOD))


_ENDLESS = {
    # Untagged responses, each small, never followed by the tagged reply: one command's
    # responses are bounded together, not only one by one.
    IMAP: Flood(b"", (b'* LIST () "/" "' + b"f" * 200 + b'"\r\n') * 256, FLOOD),
    # A listing that never reaches its terminating dot.
    POP3: Flood(b"+OK\r\n", b"1 100\r\n" * 8192, FLOOD),
    # A multi-line reply whose last line never comes.
    SMTP: Flood(b"", b"250-still going\r\n" * 4096, FLOOD),
}


@pytest.mark.anyio
@PER_DIALECT
async def test_a_response_that_never_ends(dialect: Dialect) -> None:
    await _flooded(dialect, _ENDLESS[dialect])


@pytest.mark.anyio
async def test_imap_a_fetch_streams_responses_beyond_max_response_size() -> None:
    # Not a flood: fetch() hands each response on as it comes, holding none of them, so
    # only responses gathered into one list (LIST, SEARCH...) are bounded together.
    count = 2000
    answers = b"".join(
        b"* %d FETCH (UID %d FLAGS (\\Seen))\r\n" % (n, n) for n in range(1, 1 + count)
    )
    assert len(answers) > 64 * 1024
    script = IMAP.implicit(
        *IMAP_SELECT, ReadLine(), Send(answers + b"U3 OK done\r\n"), *IMAP.goodbye()
    )
    with HostileServer(script) as server:
        box = await open_client(IMAP, server, tls=True, limits=Limits(max_response_size=65536))
        assert isinstance(box, AsyncImapMailbox)
        try:
            uids = range(1, 1 + count)
            infos = [info async for info in box.folder("INBOX").fetch(uids, FetchField.FLAGS)]
        finally:
            await box.aclose()
    assert [info.uid for info in infos] == list(range(1, 1 + count)) and server.errors == []


@pytest.mark.anyio
async def test_imap_a_10_gb_literal() -> None:
    script = IMAP.implicit(
        *IMAP_SELECT,
        ReadLine(b"U3 UID FETCH 1 (UID BODY.PEEK[])\r\n"),
        Flood(b"* 1 FETCH (UID 1 BODY[] {10737418240}\r\n", b"x" * 65536, FLOOD),
    )
    with HostileServer(script) as server:
        box = await open_client(IMAP, server, tls=True, limits=SMALL)
        assert isinstance(box, AsyncImapMailbox)
        try:
            with peak_memory() as peak:
                with pytest.raises(LimitExceeded):
                    await box.folder("INBOX").get_bytes(1)
            with pytest.raises((ConnectionLost, ProtocolError)):
                await box.folder("INBOX").status()
        finally:
            await box.aclose()
    assert peak.bytes < BOUND and server.flood_sent < FLOOD


@pytest.mark.anyio
async def test_pop3_a_100_mb_message() -> None:
    script = POP3.implicit(
        *POP3_LISTING,
        ReadLine(b"RETR 1\r\n"),
        Flood(b"+OK\r\n", (b"x" * 998 + b"\r\n") * 64, FLOOD),
    )
    with HostileServer(script) as server:
        box = await open_client(POP3, server, tls=True, limits=SMALL, timeout=0.5)
        assert isinstance(box, AsyncPop3Mailbox)
        try:
            with peak_memory() as peak:
                with pytest.raises(LimitExceeded):
                    await box.folder().get_bytes("uid-a")
            with pytest.raises((ConnectionLost, ProtocolError)):
                await box.folder().status()
        finally:
            await box.aclose()
    assert peak.bytes < BOUND and server.flood_sent < FLOOD


@pytest.mark.anyio
@pytest.mark.parametrize("where", ["list", "bodystructure"])
async def test_imap_10000_nested_parentheses(where: str) -> None:
    deep = b"(" * 10_000 + b")" * 10_000
    if where == "list":
        steps: list[Step] = [ReadLine(), Send(b"* LIST " + deep + b' "/" INBOX\r\nU2 OK\r\n')]
    else:
        steps = [
            *IMAP_SELECT,
            ReadLine(b"U3 UID FETCH 1 (UID BODYSTRUCTURE)\r\n"),
            Send(b"* 1 FETCH (UID 1 BODYSTRUCTURE " + deep + b")\r\nU3 OK\r\n"),
        ]
    with HostileServer(IMAP.implicit(*steps)) as server:
        box = await open_client(IMAP, server, tls=True)
        assert isinstance(box, AsyncImapMailbox)
        try:
            with pytest.raises(LimitExceeded):  # never RecursionError
                await (act(box) if where == "list" else _bodystructure(box))
        finally:
            await box.aclose()


async def _bodystructure(box: AsyncImapMailbox) -> object:
    return [i async for i in box.folder("INBOX").fetch([1], FetchField.BODYSTRUCTURE)]


@pytest.mark.anyio
@PER_DIALECT
@pytest.mark.parametrize("iterations", [0, 2**31], ids=["zero", "2**31"])
async def test_scram_iteration_count_out_of_range(dialect: Dialect, iterations: int) -> None:
    make = scram_server_first(iterations)
    script = [
        StartTLS(),
        *dialect.greet(starttls=False, mechanisms=("SCRAM-SHA-256",)),
        Answer(lambda line: dialect.challenge(make(line))),
        *dialect.sasl_cancelled(),
    ]
    with HostileServer(script) as server:
        with pytest.raises(LimitExceeded, match="iteration count"):
            await open_client(dialect, server, tls=True)
    assert any(
        line.startswith((b"U1 AUTHENTICATE SCRAM-SHA-256 ", b"AUTH SCRAM-SHA-256 "))
        for line in server.lines
    )


# -- stalls -----------------------------------------------------------------------------------


@pytest.mark.anyio
@PER_DIALECT
@pytest.mark.parametrize("tls", [False, True], ids=["starttls", "implicit"])
async def test_silence_after_connect(dialect: Dialect, tls: bool) -> None:
    with HostileServer([*([StartTLS()] if tls else []), Sleep(10)]) as server:
        with pytest.raises(Timeout):
            await open_client(dialect, server, tls=tls, timeout=0.5)
    assert server.received_tls == b"" and server.received_plain == b""


@pytest.mark.anyio
@PER_DIALECT
async def test_slowloris_greeting(dialect: Dialect) -> None:
    # Every byte comes well within the deadline; the greeting as a whole does not.
    start = {IMAP: b"* OK ", POP3: b"+OK ", SMTP: b"220 "}[dialect]
    with HostileServer([StartTLS(), Trickle(start + b"x" * 200 + b"\r\n", 0.02)]) as server:
        with pytest.raises(Timeout):
            await open_client(dialect, server, tls=True, timeout=0.5)


_TRICKLED_REPLY = {
    IMAP: b'* LIST () "/" ' + b"x" * 200 + b"\r\n",
    POP3: b"+OK\r\n" + b"1 100\r\n" * 30,  # a listing is one reply, with one deadline
    SMTP: b"250-x\r\n" * 30,  # the reply to MAIL FROM (MAIL, RCPT, DATA are pipelined)
}


@pytest.mark.anyio
@PER_DIALECT
async def test_slowloris_reply(dialect: Dialect) -> None:
    script = dialect.implicit(*_before_flood(dialect), Trickle(_TRICKLED_REPLY[dialect], 0.02))
    with HostileServer(script) as server:
        client = await open_client(dialect, server, tls=True, timeout=0.5)
        try:
            # A read deadline, not the connect deadline of a retry on a new connection (an
            # SMTP job is retried once on a new connection after a dropped one).
            with pytest.raises(Timeout, match="timed out after"):
                await act(client)
        finally:
            await client.aclose()


_TRICKLED_BODY = {
    IMAP: [
        *IMAP_SELECT,
        ReadLine(b"U3 UID FETCH 1 (UID BODY.PEEK[])\r\n"),
        Send(b"* 1 FETCH (UID 1 BODY[] {%d}\r\n" % len(MESSAGE)),
        Trickle(MESSAGE, 0.02),
        Send(b")\r\nU3 OK done\r\n"),
    ],
    POP3: [*POP3_LISTING, ReadLine(b"RETR 1\r\n"), Send(b"+OK\r\n"), Trickle(MESSAGE, 0.02)],
}


@pytest.mark.anyio
@pytest.mark.parametrize("dialect", [IMAP, POP3], ids=lambda d: d.name)
async def test_a_message_body_that_keeps_arriving_is_no_slowloris(dialect: Dialect) -> None:
    # A download is bulk data, not one reply that must finish within ``timeout``: a body
    # arriving slowly (three times the timeout in all) but steadily is read to its end.
    end = [Send(b".\r\n")] if dialect is POP3 else []
    script = dialect.implicit(*_TRICKLED_BODY[dialect], *end, *dialect.goodbye())
    with HostileServer(script) as server:
        client = await open_client(dialect, server, tls=True, timeout=0.5)
        try:
            got = await _download(client)
        finally:
            await client.aclose()
    assert got == MESSAGE and server.errors == []


async def _download(client: object) -> bytes | None:
    if isinstance(client, AsyncImapMailbox):
        return await client.folder("INBOX").get_bytes(1)
    assert isinstance(client, AsyncPop3Mailbox)
    # fetch() reads a small message whole with its status line (one read, not chunks).
    infos = [info async for info in client.folder().fetch(["uid-a"], FetchField.BODY)]
    return infos[0].body if len(infos) == 1 else None


# -- drops ------------------------------------------------------------------------------------

_CUT = {
    IMAP: [
        *IMAP_SELECT,
        ReadLine(b"U3 UID FETCH 1 (UID BODY.PEEK[])\r\n"),
        Send(b"* 1 FETCH (UID 1 BODY[] {100}\r\nFrom: only part of it"),
    ],
    POP3: [*POP3_LISTING, ReadLine(b"RETR 1\r\n"), Send(b"+OK\r\nFrom: only part of it")],
    SMTP: [*SMTP_DATA, Send(b"250 2.0.0 que")],
}


@pytest.mark.anyio
@PER_DIALECT
@pytest.mark.parametrize("abort", [False, True], ids=["fin", "rst"])
async def test_connection_cut_in_the_middle_of_a_message(dialect: Dialect, abort: bool) -> None:
    with HostileServer(dialect.implicit(*_CUT[dialect], Close(abort=abort))) as server:
        client = await open_client(dialect, server, tls=True, timeout=0.5)
        try:
            # SMTP: cut before the final reply, so never reported as sent.
            with pytest.raises(ConnectionLost):
                await _read_or_send(client)
            # The next call raises: the broken connection is never reused out of step (SMTP
            # may try a new connection, which this one-connection server never accepts).
            with pytest.raises((ConnectionLost, ProtocolError, Timeout, ConnectError)):
                await again(client)
        finally:
            await client.aclose()
    assert server.errors == []


async def _read_or_send(client: object) -> object:
    if isinstance(client, AsyncImapMailbox):
        return await client.folder("INBOX").get_bytes(1)
    if isinstance(client, AsyncPop3Mailbox):
        return await client.folder().get_bytes("uid-a")
    return await act(client)


# -- state confusion --------------------------------------------------------------------------


@pytest.mark.anyio
async def test_imap_tagged_reply_with_an_unknown_tag() -> None:
    # A reply to a command never sent: the client cannot know what it answers, so the
    # connection is out of step and must not be used again (not even for LOGOUT).
    reply = b'* LIST () "/" INBOX\r\nX9 OK done\r\nU2 OK done\r\n'
    with HostileServer(IMAP.implicit(ReadLine(), Send(reply), *IMAP.goodbye())) as server:
        box = await open_client(IMAP, server, tls=True, timeout=0.5)
        assert isinstance(box, AsyncImapMailbox)
        try:
            with pytest.raises(ProtocolError, match="unknown tag"):
                await box.folders()
            with pytest.raises((ConnectionLost, ProtocolError)):
                await box.folders()
        finally:
            await box.aclose()
    assert IMAP.verbs(server.received_tls) == [b"AUTHENTICATE", b"LIST"]
