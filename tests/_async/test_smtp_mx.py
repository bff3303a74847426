"""Direct MX delivery, domain checks and SRV discovery against a local DNS server
(tests/dns_server.py) and the real Postfix standing in for every MX.

This file is the source of tests/_sync/test_smtp_mx.py (tools/unasync.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from mailservers import MailServers
from tests.dns_server import DnsServer
from tests.hostile import HostileServer, ReadUntil
from tests.scripted_server import Close, ReadLine, Send, unused_port
from unimail import (
    AsyncMxTransport,
    AsyncSmtpTransport,
    AsyncTransport,
    DeliveryUncertain,
    OutgoingMessage,
    Security,
    SendError,
    SendResult,
    async_discover,
)
from unimail._async._smtp_dns import mx_hosts

ZONE = {
    # The first MX refuses connections (nothing listens on 127.0.0.2 at Postfix's port), so
    # delivery must go on to the second, "localhost", which is Postfix.
    "example.test.": [("MX", "20 localhost."), ("MX", "10 down.example.test.")],
    "down.example.test.": [("A", "127.0.0.2")],
    "localhost.": [("A", "127.0.0.1")],
    "nullmx.test.": [("MX", "0 .")],
    "empty.test.": [("TXT", '"no mail here"')],
    "implicit.test.": [("A", "127.0.0.1")],
    "order.test.": [("MX", "20 c.test."), ("MX", "10 a.test."), ("MX", "10 b.test.")],
    "_submissions._tcp.srv.test.": [("SRV", "0 1 465 smtp.srv.test.")],
    "_submission._tcp.srv.test.": [("SRV", "5 0 587 smtp.srv.test.")],
    "_imaps._tcp.srv.test.": [
        ("SRV", "10 10 993 imap2.srv.test."),
        ("SRV", "0 5 993 imap1.srv.test."),
    ],
    "_imap._tcp.srv.test.": [("SRV", "0 0 0 .")],
    # Two MX hosts, both the scripted server of the test.
    "uncertain.test.": [("MX", "10 one.uncertain.test."), ("MX", "20 two.uncertain.test.")],
    "one.uncertain.test.": [("A", "127.0.0.1")],
    "two.uncertain.test.": [("A", "127.0.0.1")],
}


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    with DnsServer(ZONE) as server:
        yield server


def message(tag: str) -> bytes:
    return (
        f"From: alice@example.test\r\nTo: bob@example.test\r\nSubject: {tag}\r\n"
        f"Message-ID: <{tag}@example.test>\r\nDate: Fri, 27 Nov 2026 10:00:00 +0000\r\n"
        "\r\nDirect.\r\n"
    ).encode()


@pytest.mark.anyio
async def test_mx_order_is_by_preference(dns_server: DnsServer) -> None:
    seen = set()
    for _ in range(20):
        hosts = await mx_hosts("order.test", dns_server.async_resolver())
        assert hosts is not None and hosts[2] == "c.test" and set(hosts[:2]) == {"a.test", "b.test"}
        seen.add(tuple(hosts[:2]))
    assert len(seen) == 2  # random among equal preferences (1 chance in 2**19 to fail)
    assert await mx_hosts("nullmx.test", dns_server.async_resolver()) is None
    assert await mx_hosts("implicit.test", dns_server.async_resolver()) == ["implicit.test"]
    assert await mx_hosts("empty.test", dns_server.async_resolver()) == []
    assert await mx_hosts("nowhere.test", dns_server.async_resolver()) == []


@pytest.mark.anyio
async def test_direct_delivery_per_domain(
    clean_mailbox: MailServers, dns_server: DnsServer
) -> None:
    servers = clean_mailbox
    # Mail another test sent to bob may still be in Postfix's queue: this one is told apart.
    tag = f"direct-{uuid.uuid4().hex}"
    async with AsyncMxTransport.open(
        "smtp+mx:",
        port=servers.smtp_port,
        resolver=dns_server.async_resolver(),
        ssl_context=servers.ssl_context(),
        local_hostname="client.test",
        connect_timeout=5,
    ) as transport:
        result = await transport.send(
            message(tag),
            sender="alice@example.test",
            recipients=["bob@example.test", "x@nullmx.test", "y@empty.test", "z@nowhere.test"],
        )
    assert result.accepted == ("bob@example.test",)
    assert result.refused["x@nullmx.test"][0] == 556
    assert result.enhanced_codes["x@nullmx.test"] == "5.1.10"
    assert result.refused["y@empty.test"][0] == 550
    assert result.refused["z@nowhere.test"][0] == 550
    # Both MX hosts were looked up: the preferred one first.
    names = [name for name, kind in dns_server.queries if kind == "A"]
    assert names.index("down.example.test.") < names.index("localhost.")
    inbox = servers.maildir("bob") / "new"
    marker = f"<{tag}@example.test>".encode()
    for _ in range(100):
        found = [data for p in inbox.iterdir() if marker in (data := p.read_bytes())]
        if found:
            break
        await _pause()
    (delivered,) = found  # once, not twice
    assert delivered.endswith(message(tag).replace(b"\r\n", b"\n"))  # Maildir uses LF
    assert b"with ESMTPS" in delivered  # STARTTLS was used because Postfix offers it


@pytest.mark.anyio
async def test_implicit_mx_and_permanent_refusal(
    mail_servers: MailServers, dns_server: DnsServer
) -> None:
    context = mail_servers.ssl_context()
    context.check_hostname = False  # the test certificate does not name "implicit.test"
    async with AsyncMxTransport.open(
        "smtp+mx:", port=mail_servers.smtp_port, resolver=dns_server.async_resolver(),
        ssl_context=context, local_hostname="client.test",
    ) as transport:  # fmt: skip
        with pytest.raises(SendError) as info:
            await transport.send(
                message("relay"), sender="a@example.test", recipients=["b@implicit.test"]
            )
    # Postfix, reached as the implicit MX of implicit.test, refuses to relay for it: a 5xx
    # answer is final (no retry elsewhere) and is what the caller sees.
    code, text = info.value.refused["b@implicit.test"]
    assert 550 <= code < 560 and "Relay access denied" in text
    assert not info.value.temporary


@pytest.mark.anyio
async def test_unreachable_mx_is_temporary(dns_server: DnsServer) -> None:
    async with AsyncMxTransport.open(
        "smtp+mx:", port=unused_port(), resolver=dns_server.async_resolver(), connect_timeout=5
    ) as transport:
        with pytest.raises(SendError) as info:
            await transport.send(
                message("nobody"), sender="a@example.test", recipients=["b@example.test"]
            )
    assert info.value.temporary and info.value.refused["b@example.test"][0] == 451


@pytest.mark.anyio
async def test_cut_after_the_content_tries_no_other_host(dns_server: DnsServer) -> None:
    script = [
        Send(b"220 one ESMTP\r\n"),
        ReadLine(b"EHLO client.test\r\n"),
        Send(b"250-one\r\n250 PIPELINING\r\n"),
        ReadLine(b"MAIL FROM:<a@example.test>\r\n"),
        ReadLine(b"RCPT TO:<b@uncertain.test>\r\n"),
        ReadLine(b"DATA\r\n"),
        Send(b"250 ok\r\n250 ok\r\n354 go\r\n"),
        ReadUntil(),
        Close(),  # the content is in; its final reply never comes
    ]
    with HostileServer(script) as server:
        async with AsyncMxTransport.open(
            "smtp+mx:", port=server.port, resolver=dns_server.async_resolver(),
            local_hostname="client.test", connect_timeout=5, timeout=5,
        ) as transport:  # fmt: skip
            with pytest.raises(DeliveryUncertain) as info:
                await transport.send(
                    message("cut"), sender="a@example.test", recipients=["b@uncertain.test"]
                )
    # The second MX would deliver it a second time if the first one has it: not tried.
    assert server.errors == [] and server.received.count(b"MAIL FROM") == 1
    assert info.value.uncertain == ("b@uncertain.test",)
    assert info.value.accepted == () and info.value.refused == {}


@pytest.mark.anyio
async def test_an_uncertain_domain_does_not_stop_the_others(
    dns_server: DnsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One domain's host broke after the content (uncertain); the domains after it are other
    # servers, and must still get the message. The error then tells who is where.
    tried: list[str] = []

    async def deliver(outgoing: OutgoingMessage, domain: str) -> SendResult:
        tried.append(domain)
        everyone = tuple(r.original for r in outgoing.recipients)
        if domain == "uncertain.test":
            raise DeliveryUncertain("cut after the content", uncertain=everyone)
        if domain == "refusing.test":
            return SendResult(refused={address: (550, "no such user") for address in everyone})
        return SendResult(accepted=everyone)

    recipients = ["b@uncertain.test", "c@example.test", "d@refusing.test", "e@uncertain.test"]
    async with AsyncMxTransport.open("smtp+mx:", resolver=dns_server.async_resolver()) as transport:
        monkeypatch.setattr(transport, "_deliver", deliver)
        with pytest.raises(DeliveryUncertain, match="cut after the content") as info:
            await transport.send(message("three"), sender="a@example.test", recipients=recipients)
    assert tried == ["uncertain.test", "example.test", "refusing.test"]
    assert info.value.uncertain == ("b@uncertain.test", "e@uncertain.test")
    assert info.value.accepted == ("c@example.test",)
    assert info.value.refused == {"d@refusing.test": (550, "no such user")}


@pytest.mark.anyio
async def test_smtp_mx_scheme_is_registered() -> None:
    async with AsyncTransport.open("smtp+mx:") as transport:
        assert isinstance(transport, AsyncMxTransport)


@pytest.mark.anyio
async def test_verify_domains_before_sending(
    clean_mailbox: MailServers, dns_server: DnsServer
) -> None:
    servers = clean_mailbox
    async with AsyncSmtpTransport.open(
        f"smtp://alice@{servers.host}:{servers.smtp_port}",
        password=servers.users["alice"],
        ssl_context=servers.ssl_context(),
        verify_domains=True,
        resolver=dns_server.async_resolver(),
    ) as transport:
        result = await transport.send(
            message("verified"),
            sender="alice@example.test",
            recipients=["bob@example.test", "c@nullmx.test", "d@nowhere.test"],
        )
        assert result.accepted == ("bob@example.test",)
        assert result.refused["c@nullmx.test"][0] == 556
        assert result.refused["d@nowhere.test"][0] == 550
        with pytest.raises(SendError):
            await transport.send(
                message("none"), sender="alice@example.test", recipients=["e@empty.test"]
            )


@pytest.mark.anyio
async def test_discover_from_srv_records(dns_server: DnsServer) -> None:
    found = await async_discover("alice@srv.test", resolver=dns_server.async_resolver())
    assert [(e.host, e.port, e.security) for e in found.submission] == [
        ("smtp.srv.test", 465, Security.TLS),
        ("smtp.srv.test", 587, Security.STARTTLS),
    ]
    assert [e.host for e in found.imap] == ["imap1.srv.test", "imap2.srv.test"]
    assert found.pop3 == ()
    assert (
        found.submission[0].url("smtp", "alice@srv.test")
        == "smtps://alice%40srv.test@smtp.srv.test:465"
    )


async def _pause() -> None:
    import anyio  # unasync: import time

    await anyio.sleep(0.1)  # unasync: time.sleep(0.1)
