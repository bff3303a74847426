"""Whole messages pipelined with BDAT (RFC 2920 + RFC 3030), and the options of Transport.open.

This file is the source of tests/_sync/test_smtp_pipeline.py (tools/unasync.py).
"""

from __future__ import annotations

import pytest

from tests.scripted_server import ReadLine, ReadUntilEOF, ScriptedServer, Send, Step
from unimail import (
    AsyncSmtpTransport,
    AsyncTransport,
    ConnectionLost,
    DeliveryUncertain,
    InvalidArgument,
    OutgoingMessage,
    ProtocolError,
    SendError,
    SendResult,
)

EHLO = b"EHLO client.test\r\n"
MESSAGE = b"Subject: x\r\n\r\nbody\r\n"
BDAT = b"BDAT %d LAST\r\n" % len(MESSAGE)


def url(server: ScriptedServer) -> str:
    return f"smtp://{server.host}:{server.port}"


def greet() -> list[Step]:
    return [
        Send(b"220 fake ESMTP\r\n"),
        ReadLine(EHLO),
        Send(b"250-fake\r\n250-PIPELINING\r\n250 CHUNKING\r\n"),
    ]


def envelope(to: bytes) -> list[Step]:
    return [ReadLine(b"MAIL FROM:<a@example.org>\r\n"), ReadLine(b"RCPT TO:<%s>\r\n" % to)]


def content() -> list[Step]:
    return [ReadLine(BDAT), ReadLine(b"Subject: x\r\n"), ReadLine(b"\r\n"), ReadLine(b"body\r\n")]


def items(*recipients: str) -> list[OutgoingMessage]:
    return [OutgoingMessage.of(MESSAGE, "a@example.org", [r]) for r in recipients]


@pytest.mark.anyio
async def test_messages_go_back_to_back_and_each_keeps_its_result() -> None:
    script = [
        *greet(),
        # The first envelope alone: it proves the connection alive before content is written.
        *envelope(b"b@example.org"),
        Send(b"250 ok\r\n250 ok\r\n"),
        # Then everything else in one write, before any further reply.
        *content(),
        *envelope(b"nobody@example.org"),
        *content(),
        *envelope(b"c@example.org"),
        *content(),
        Send(b"250 2.0.0 queued as 1\r\n"),
        Send(b"250 ok\r\n550 5.1.1 no such user\r\n554 5.5.1 no valid recipients\r\n"),
        Send(b"250 ok\r\n250 ok\r\n250 2.0.0 queued as 3\r\n"),
        # A refused transaction is followed by RSET before the connection is used again.
        ReadLine(b"RSET\r\n"),
        Send(b"250 ok\r\n"),
        ReadLine(b"QUIT\r\n"),
        Send(b"221 bye\r\n"),
    ]
    with ScriptedServer(script) as server:
        async with AsyncSmtpTransport.open(
            url(server), security="plaintext", local_hostname="client.test", timeout=10
        ) as transport:
            results = await transport.send_many(
                items("b@example.org", "nobody@example.org", "c@example.org")
            )
    assert server.errors == []
    first, second, third = results
    assert isinstance(first, SendResult) and first.response.endswith("queued as 1")
    assert isinstance(second, SendError)
    assert second.refused == {"nobody@example.org": (550, "no such user")}
    assert isinstance(third, SendResult) and third.response.endswith("queued as 3")


@pytest.mark.anyio
async def test_content_taken_after_a_refused_mail_is_never_a_success() -> None:
    script = [
        *greet(),
        *envelope(b"b@example.org"),
        Send(b"250 ok\r\n250 ok\r\n"),
        *content(),
        *envelope(b"c@example.org"),
        *content(),
        # A server that kept a transaction open: MAIL refused, yet the content accepted.
        Send(b"250 2.0.0 queued as 1\r\n503 5.5.1 nested MAIL\r\n250 ok\r\n250 2.0.0 ok\r\n"),
    ]
    with ScriptedServer(script) as server:
        async with AsyncSmtpTransport.open(
            url(server), security="plaintext", local_hostname="client.test", timeout=10
        ) as transport:
            results = await transport.send_many(items("b@example.org", "c@example.org"))
    assert isinstance(results[0], SendResult)
    # Its fate is unknown: DeliveryUncertain (caused by the server's protocol error), not a
    # success, and not a refusal that invites a resend.
    assert isinstance(results[1], DeliveryUncertain) and not isinstance(results[1], SendError)
    assert isinstance(results[1].__cause__, ProtocolError)
    assert results[1].uncertain == ("c@example.org",)  # whom to check before resending
    assert server.received.count(b"MAIL FROM") == 2


@pytest.mark.anyio
async def test_transport_open_passes_the_transports_own_options() -> None:
    script = [*greet(), ReadLine(b"QUIT\r\n"), Send(b"221 bye\r\n")]
    with ScriptedServer(script) as server:
        async with AsyncTransport.open(
            url(server), security="plaintext", local_hostname="client.test", max_connections=3
        ) as transport:
            assert isinstance(transport, AsyncSmtpTransport)
            assert transport.max_connections == 3
    assert server.errors == []


@pytest.mark.anyio
async def test_transport_open_refuses_an_option_of_another_transport() -> None:
    with ScriptedServer([]) as server:
        with pytest.raises(InvalidArgument, match="require_tls"):
            await AsyncTransport.open(url(server), security="plaintext", require_tls=True)
        with pytest.raises(InvalidArgument, match="max_connections"):
            await AsyncTransport.open("smtp+mx:", max_connections=2)
        with pytest.raises(InvalidArgument, match="colour"):
            await AsyncSmtpTransport.open(url(server), security="plaintext", colour="red")
    assert server.received == b""


@pytest.mark.anyio
async def test_connection_lost_after_the_content_is_written_resends_nothing() -> None:
    script = [
        *greet(),
        *envelope(b"b@example.org"),
        Send(b"250 ok\r\n250 ok\r\n"),
        *content(),
        *envelope(b"c@example.org"),
        *content(),
        Send(b"421 4.3.2 shutting down\r\n"),
        ReadUntilEOF(),
    ]
    with ScriptedServer(script) as server:
        async with AsyncSmtpTransport.open(
            url(server), security="plaintext", local_hostname="client.test", timeout=10
        ) as transport:
            results = await transport.send_many(items("b@example.org", "c@example.org"))
    # Both contents were written: either may have been taken, so neither is sent again.
    assert all(isinstance(r, ConnectionLost) for r in results)
    assert server.errors == [] and server.received.count(b"MAIL FROM") == 2
