"""Sends that lose nothing: the connection to the real Postfix cut at a random byte.

Each seed sends three messages through a proxy (tests/cutting_proxy.py) that cuts the
connection after a number of bytes drawn from ``random.Random(seed)``, in one direction or the
other, with ``send()`` one message after another or with ``send_many()``, and with BDAT
(Postfix offers CHUNKING and PIPELINING) or DATA (the proxy hides CHUNKING). Then the retry
policy a careful caller follows: resend, straight to Postfix, exactly the messages reported
as not sent, that is every message whose send raised anything but ``DeliveryUncertain``.
Once Postfix's queue is empty, each message is counted in the recipient's Maildir:

- a message whose send returned a SendResult was delivered exactly once;
- a message reported not sent, then resent, was delivered exactly once (never twice: the
  cut one never arrived);
- a message reported ``DeliveryUncertain`` was delivered at most once (it is not resent).

Two more tests put the cut where each report is certain: after the server accepted the
content (the final reply is lost: ``DeliveryUncertain``, delivered once) and before the content
was written (plain ``ConnectionLost``, never delivered). A failure names its seed.

This file is the source of tests/_sync/test_send_faults.py (tools/unasync.py).
"""

from __future__ import annotations

import random
import socket
import time
from pathlib import Path
from typing import Literal

import pytest

from mailservers import MailServers
from tests.cutting_proxy import CuttingProxy
from unimail import (
    AsyncSmtpTransport,
    ConnectError,
    ConnectionLost,
    DeliveryUncertain,
    OutgoingMessage,
    ProtocolError,
    SendResult,
    Timeout,
    UnimailError,
)

SEEDS = range(40)
RECIPIENT = "dave"
MESSAGES_PER_SEED = 3
# What a cut connection may raise (DeliveryUncertain is a ConnectionLost).
CUT = (ConnectError, ConnectionLost, Timeout, ProtocolError)
# The proxy rewrites the server's EHLO keyword (same length: byte counts do not change).
NO_CHUNKING = (b"CHUNKING", b"XHUNKING")


def message(tag: str) -> bytes:
    body = "".join(f"line {n} of {tag}\r\n" for n in range(12)).encode()
    return (
        f"From: <alice@example.test>\r\nTo: <{RECIPIENT}@example.test>\r\nSubject: {tag}\r\n"
        f"Message-ID: <{tag}@faults.example.test>\r\n\r\n"
    ).encode() + body


async def open_transport(servers: MailServers, port: int) -> AsyncSmtpTransport:
    """A transport without AUTH (Postfix takes mail for its own domain from anyone)."""
    return await AsyncSmtpTransport.open(
        f"smtp://{servers.host}:{port}", security="plaintext", timeout=10
    )


async def send_through(
    servers: MailServers, proxy: CuttingProxy, tags: list[str], many: bool
) -> dict[str, SendResult | UnimailError]:
    """Send one message per tag through ``proxy``; return each one's result or error."""
    envelope = ("alice@example.test", [servers.address(RECIPIENT)])
    outcomes: dict[str, SendResult | UnimailError] = {}
    try:
        smtp = await open_transport(servers, proxy.port)
    except CUT as exc:
        return dict.fromkeys(tags, exc)
    async with smtp:
        if many:
            items = [OutgoingMessage.of(message(tag), *envelope) for tag in tags]
            outcomes = dict(zip(tags, await smtp.send_many(items), strict=True))
        else:
            for tag in tags:
                try:
                    outcomes[tag] = await smtp.send(
                        message(tag), sender=envelope[0], recipients=envelope[1]
                    )
                except UnimailError as exc:
                    outcomes[tag] = exc
    return outcomes


def queue_files(servers: MailServers) -> list[Path]:
    """The messages in Postfix's queue (tools/mailservers.py keeps it under postfix/queue)."""
    root = servers.workdir / "postfix" / "queue"
    found: list[Path] = []
    for name in ("maildrop", "incoming", "active", "deferred", "hold"):
        found += [path for path in (root / name).rglob("*") if path.is_file()]
    return found


def delivered(servers: MailServers, tags: list[str]) -> dict[str, int]:
    """How many copies of each tagged message are in the recipient's Maildir."""
    counts = dict.fromkeys(tags, 0)
    root = servers.maildir(RECIPIENT)
    for sub in ("new", "cur"):
        for path in (root / sub).iterdir() if (root / sub).exists() else ():
            head = path.read_bytes()[:2000]
            start = head.find(b"Message-ID: <")
            if start >= 0:
                tag = head[start + 13 : head.find(b"@", start)].decode()
                if tag in counts:
                    counts[tag] += 1
    return counts


def wait_for_postfix(servers: MailServers, expected: dict[str, int]) -> dict[str, int]:
    """Wait (up to a minute) until Postfix's queue is empty and every message of
    ``expected`` arrived as often as expected at least; return the counts."""
    for _ in range(600):
        counts = delivered(servers, list(expected))
        if not queue_files(servers) and all(counts[t] >= n for t, n in expected.items()):
            return counts
        time.sleep(0.1)
    return delivered(servers, list(expected))


def not_sent(outcome: SendResult | UnimailError) -> bool:
    """The caller's retry policy: everything that raised, except DeliveryUncertain."""
    return not isinstance(outcome, (SendResult, DeliveryUncertain))


@pytest.mark.anyio
async def test_cut_anywhere_never_duplicates_nor_claims_wrongly(
    mail_servers: MailServers,
) -> None:
    servers = mail_servers
    # Tags unique to this run of this test (facade and event loop included).
    flavour = f"cut-{time.time_ns()}"
    outcomes: dict[str, SendResult | UnimailError] = {}
    seeds: dict[str, int] = {}
    for seed in SEEDS:
        rng = random.Random(seed)
        side: Literal["client", "server"] = "client" if rng.random() < 0.5 else "server"
        chunking = seed % 2 == 0
        many = seed % 4 >= 2
        size = len(message("x-0-0"))
        # Beyond the whole exchange (greeting, EHLO, envelopes, contents, QUIT) now and then:
        # some seeds are not cut at all.
        total = 400 + MESSAGES_PER_SEED * (size + 150) if side == "client" else 700
        after = rng.randrange(total)
        tags = [f"{flavour}-{seed}-{n}" for n in range(MESSAGES_PER_SEED)]
        with CuttingProxy(
            servers.host,
            servers.smtp_port,
            side=side,
            after=after,
            replace=None if chunking else NO_CHUNKING,
        ) as proxy:
            result = await send_through(servers, proxy, tags, many)
        for tag, outcome in result.items():
            if proxy.cut:
                # Only the cut can have stopped it, and the error says what kind of stop.
                assert not isinstance(outcome, UnimailError) or isinstance(outcome, CUT), (
                    f"seed {seed}: {outcome!r}"
                )
            else:
                assert isinstance(outcome, SendResult), f"seed {seed} (not cut): {outcome!r}"
            outcomes[tag], seeds[tag] = outcome, seed

    retry = [tag for tag, outcome in outcomes.items() if not_sent(outcome)]
    if retry:
        async with await open_transport(servers, servers.smtp_port) as smtp:
            for tag in retry:
                resent = await smtp.send(
                    message(tag),
                    sender="alice@example.test",
                    recipients=[servers.address(RECIPIENT)],
                )
                assert isinstance(resent, SendResult)

    expected = {tag: 0 if isinstance(o, DeliveryUncertain) else 1 for tag, o in outcomes.items()}
    counts = wait_for_postfix(servers, expected)
    for tag, outcome in outcomes.items():
        where = f"seed {seeds[tag]}, {tag}: {outcome!r}"
        if isinstance(outcome, DeliveryUncertain):
            assert counts[tag] <= 1, where
        else:
            # Sent: exactly once. Reported not sent: the cut copy never arrived, the resent one did.
            assert counts[tag] == 1, where


@pytest.mark.anyio
async def test_lost_final_reply_is_uncertain_and_delivered_once(
    mail_servers: MailServers,
) -> None:
    servers = mail_servers
    tag = f"uncertain-{time.time_ns()}"
    # Postfix's final reply to the content: "250 2.0.0 Ok: queued as ...". The server has the
    # message; the client never hears it.
    with CuttingProxy(servers.host, servers.smtp_port, marker=b"queued as", side="server") as proxy:
        async with await open_transport(servers, proxy.port) as smtp:
            with pytest.raises(DeliveryUncertain) as raised:
                await smtp.send(
                    message(tag),
                    sender="alice@example.test",
                    recipients=[servers.address(RECIPIENT)],
                )
    assert isinstance(raised.value, ConnectionLost) and proxy.cut
    assert isinstance(raised.value.__cause__, ConnectionLost)
    assert wait_for_postfix(servers, {tag: 1}) == {tag: 1}


def greeting_and_ehlo_size(servers: MailServers) -> int:
    """How many bytes Postfix sends before its reply to the first MAIL (greeting and EHLO)."""
    with socket.create_connection((servers.host, servers.smtp_port), timeout=10) as sock:
        received = b""
        while not received.endswith(b"\r\n"):
            received += sock.recv(4096)
        sock.sendall(b"EHLO client.test\r\n")
        while b"\r\n250 " not in received:
            received += sock.recv(4096)
        while not received.endswith(b"\r\n"):
            received += sock.recv(4096)
        sock.sendall(b"QUIT\r\n")
    return len(received)


@pytest.mark.anyio
async def test_cut_before_the_content_is_not_sent(mail_servers: MailServers) -> None:
    servers = mail_servers
    tags = [f"notsent-{time.time_ns()}-{n}" for n in range(3)]
    # The first envelope goes alone, before any content; the server's replies to it are cut
    # (and so is everything it sends afterwards, on any connection: the transport's one
    # attempt on a new connection fails too).
    after = greeting_and_ehlo_size(servers) + 3
    with CuttingProxy(servers.host, servers.smtp_port, after=after, side="server") as proxy:
        async with await AsyncSmtpTransport.open(
            f"smtp://{servers.host}:{proxy.port}",
            security="plaintext",
            timeout=10,
            local_hostname="client.test",
        ) as smtp:
            items = [
                OutgoingMessage.of(message(t), "alice@example.test", [servers.address(RECIPIENT)])
                for t in tags
            ]
            results = await smtp.send_many(items)
    assert proxy.cut
    for result in results:
        assert isinstance(result, ConnectionLost) and not isinstance(result, DeliveryUncertain)
    assert wait_for_postfix(servers, dict.fromkeys(tags, 0)) == dict.fromkeys(tags, 0)
