"""Hostile-server tests that FAIL today: each shows a library bug (issue 8), with its fix.

pytest does not collect this module (its name does not start with ``test_``); run it by name:
``python3 -m pytest tests/hostile_pending.py -q`` (asyncio and trio). When a fix lands, move
the test into the collected file named beside it (tests/_async/test_hostile_*.py) and run
``python3 tools/unasync.py``.

1. STARTTLS answered with garbage raises ProtocolError, not TLSError (IMAP, POP3, SMTP).
   Fix: in ``_imap_client._greet``, ``_pop3_client._greet`` and ``_smtp_client.start_tls``,
   wrap the STARTTLS/STLS exchange in ``except ProtocolError as exc: raise TLSError(f"the
   server answered STARTTLS with garbage: {exc}") from exc`` (LimitExceeded included; the
   stream is closed already).
2. IMAP ``[ALERT]``s received in plaintext before STARTTLS reach ``take_alerts()`` (and the
   WARNING log), although anyone on the path can forge them. Fix: in
   ``AsyncImapClient._greet``, for ``Security.STARTTLS`` hold the observer back
   (``observer, self.observer = self.observer, None``) until ``start_tls`` has succeeded,
   then restore it.
3. IMAP untagged responses are never bounded: ``AsyncImapClient.run`` appends every untagged
   response of a command to a list, so a server that floods ``* LIST`` (or ``* 1 EXISTS``)
   without ever sending the tagged reply grows memory without end; ``max_response_size``
   bounds one response only. Fix: count the bytes (``len`` of each frame) of the untagged
   responses gathered by one ``run`` and raise LimitExceeded (closing the stream) once they
   pass ``limits.max_response_size``.
4. Slowloris: a server that trickles a byte now and then is never timed out, because every
   ``receive_some`` gets a fresh deadline: ``AsyncImapClient._read``, the POP3 client's reply
   reading and ``AsyncSmtpClient.read_reply`` loop on ``receive_some`` until a response is
   complete (a greeting or reply trickled at 50 bytes/s is read to its end, 8 s with
   ``timeout=0.5``; SMTP then even retries the job on a new connection). Fix: one deadline per
   response: give ``AsyncStream.receive_some`` / ``SyncStream.receive_some`` an optional
   absolute ``deadline`` (``anyio.current_time() + timeout`` / ``time.monotonic() + timeout``,
   taken once when the client starts reading a response) and use the time left for each
   receive, raising Timeout when none is left.
"""

from __future__ import annotations

import pytest

from tests._async.hostile_client import open_client
from tests.hostile import Answer, Flood, HostileServer, peak_memory
from tests.hostile_dialects import DIALECTS, IMAP, POP3, SMTP, Dialect, leaked
from tests.scripted_server import ReadLine, ReadUntilEOF, Send, StartTLS, Trickle
from unimail import (
    AsyncImapMailbox,
    AsyncPop3Mailbox,
    AsyncSmtpTransport,
    LimitExceeded,
    Limits,
    Timeout,
    TLSError,
)

MiB = 1024 * 1024
MESSAGE = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: x\r\n\r\nbody\r\n"
_GARBAGE = [(d, r) for d in DIALECTS for r in d.garbage]


# 1. -> tests/_async/test_hostile_tls.py
@pytest.mark.anyio
@pytest.mark.parametrize(
    ("dialect", "reply"), _GARBAGE, ids=[f"{d.name}-{r[:8]!r}" for d, r in _GARBAGE]
)
async def test_starttls_answered_with_garbage(dialect: Dialect, reply: bytes) -> None:
    script = [*dialect.greet(starttls=True), ReadLine(dialect.starttls), Send(reply)]
    with HostileServer([*script, ReadUntilEOF()]) as server:
        with pytest.raises(TLSError):
            await open_client(dialect, server)
    assert leaked(dialect, server) == []
    assert server.received.endswith(dialect.starttls) and not server.tls_established


# 2. -> tests/_async/test_hostile_tls.py
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


# 3. -> test_a_response_that_never_ends in tests/_async/test_hostile_limits.py
@pytest.mark.anyio
async def test_imap_untagged_responses_that_never_end() -> None:
    chunk = (b'* LIST () "/" "' + b"f" * 200 + b'"\r\n') * 256
    flood = Flood(b"", chunk, 16 * MiB)
    limits = Limits(max_response_size=1 * MiB)
    with HostileServer(IMAP.implicit(ReadLine(), flood)) as server:
        box = await open_client(IMAP, server, tls=True, limits=limits, timeout=0.5)
        assert isinstance(box, AsyncImapMailbox)
        try:
            with peak_memory() as peak:
                with pytest.raises(LimitExceeded):
                    await box.folders()
        finally:
            await box.aclose()
    assert peak.bytes < 4 * MiB, f"peak {peak.bytes} bytes"
    assert server.flood_sent < flood.total


# 4. -> tests/_async/test_hostile_limits.py
@pytest.mark.anyio
@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
async def test_slowloris_greeting(dialect: Dialect) -> None:
    # Every byte comes well within the deadline; the greeting as a whole does not.
    start = {IMAP: b"* OK ", POP3: b"+OK ", SMTP: b"220 "}[dialect]
    with HostileServer([StartTLS(), Trickle(start + b"x" * 200 + b"\r\n", 0.02)]) as server:
        with pytest.raises(Timeout):
            await open_client(dialect, server, tls=True, timeout=0.5)


# 4. -> tests/_async/test_hostile_limits.py
@pytest.mark.anyio
@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
async def test_slowloris_reply(dialect: Dialect) -> None:
    reply = {
        IMAP: b'* LIST () "/" ' + b"x" * 200 + b"\r\n",
        POP3: b"+OK\r\n" + b"1 100\r\n" * 30,
        SMTP: b"250-x\r\n" * 30,  # the reply to MAIL FROM (MAIL, RCPT, DATA are pipelined)
    }[dialect]
    steps = [ReadLine()] * (3 if dialect is SMTP else 1)
    with HostileServer(dialect.implicit(*steps, Trickle(reply, 0.02))) as server:
        client = await open_client(dialect, server, tls=True, timeout=0.5)
        try:
            # A read deadline, not the connect deadline of a retry on a new connection.
            with pytest.raises(Timeout, match="timed out after"):
                await _list(client)
        finally:
            await client.aclose()


async def _list(client: object) -> object:
    if isinstance(client, AsyncImapMailbox):
        return await client.folders()
    if isinstance(client, AsyncPop3Mailbox):
        return await client.folder().status()
    assert isinstance(client, AsyncSmtpTransport)
    # Before the fix the first connection is dropped after the trickle and the job retried
    # on a new one; with it, the first reply times out at 0.5 s.
    return await client.send(MESSAGE, sender="a@example.org", recipients=["b@example.org"])
