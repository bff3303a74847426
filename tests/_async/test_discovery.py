"""Opening a mailbox or a transport from a bare address (RFC 6186 SRV records).

The DNS answers come from tests/dns_server.py on 127.0.0.1; the servers are the real Dovecot
and Postfix, reached as "localhost" (the name their test certificate carries).
"""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage

import dns.asyncresolver
import pytest

from mailservers import MailServers
from tests.dns_server import DnsServer
from unimail import AsyncMailbox, AsyncTransport, ConnectError, Q


@pytest.fixture
def srv_zone(clean_mailbox: MailServers, monkeypatch: pytest.MonkeyPatch) -> Iterator[MailServers]:
    servers = clean_mailbox
    zone = {
        "_imaps._tcp.example.test.": [("SRV", f"0 1 {servers.imaps_port} localhost.")],
        "_imap._tcp.example.test.": [("SRV", f"5 1 {servers.imap_port} localhost.")],
        "_submissions._tcp.example.test.": [("SRV", f"0 1 {servers.smtps_port} localhost.")],
        "_imaps._tcp.nomail.test.": [("SRV", "0 0 0 .")],  # RFC 6186 3.4: not offered
    }
    with DnsServer(zone) as server:
        monkeypatch.setattr(dns.asyncresolver, "default_resolver", server.async_resolver())
        yield servers


@pytest.mark.anyio
async def test_bare_address_finds_the_servers(srv_zone: MailServers) -> None:
    password, context = srv_zone.users["alice"], srv_zone.ssl_context()
    message = EmailMessage()
    message["From"] = message["To"] = "alice@example.test"
    message["Subject"] = "found by SRV"
    message.set_content("Discovered.\n")
    async with AsyncTransport.open(
        "alice@example.test", password=password, ssl_context=context
    ) as transport:
        assert transport.options.url.port == srv_zone.smtps_port
        result = await transport.send(message)
    assert result.accepted == ("alice@example.test",)
    async with AsyncMailbox.open(
        "alice@example.test", password=password, ssl_context=context
    ) as box:
        assert box.options.url.scheme == "imaps"
        assert box.options.url.username == "alice@example.test"
        inbox = box.folder("INBOX")
        for _ in range(100):  # delivery through Postfix and LMTP takes a moment
            found = [i async for i in inbox.search(Q.subject("found by SRV"))]
            if found:
                break
            await box.folder("INBOX").status()
        assert len(found) == 1


@pytest.mark.anyio
async def test_a_domain_without_services(srv_zone: MailServers) -> None:
    with pytest.raises(ConnectError, match="announces no"):
        await AsyncMailbox.open("bob@nomail.test", password="pw")
    with pytest.raises(ConnectError, match="announces no submission"):
        await AsyncTransport.open("bob@nomail.test", password="pw")
