"""Cuts and stalls during TLS handshakes, against the real servers.

``tests/fault_jobs.ByteCutProxy`` forwards bytes between the client and Dovecot or Postfix
and cuts (or stalls) every connection once a chosen number of bytes went through. Here the
cut falls anywhere from the first byte of the ClientHello to well after the handshake, for
implicit TLS (IMAPS, POP3S, SMTPS) and for STARTTLS (IMAP, POP3, SMTP). Every attempt must
end promptly in a library error: ``TLSError`` when the handshake was cut, ``ConnectionLost``
after it, ``Timeout`` when the proxy stalls; never a raw ``ssl.SSLError``, ``OSError`` or
anyio error, never a hang. Some offsets must land in the handshake (a ``TLSError``), so the
test cannot pass by cutting only after it.

This file is the source of tests/_sync/test_tls_faults.py (tools/unasync.py).
"""

from __future__ import annotations

import pytest

from mailservers import MailServers
from tests.fault_jobs import ByteCutProxy
from unimail import (
    AsyncMailbox,
    AsyncSmtpTransport,
    ConnectionLost,
    Security,
    Timeout,
    TLSError,
)

# A TLS 1.3 handshake with the test certificate is about 2.5 KB in all; the offsets run from
# the ClientHello's first byte to the login after it.
OFFSETS = [0, 5, 300, 700, 1000, 1300, 1600, 2000, 2400, 2800, 4000, 6000]
STALLS = [0, 300, 1300, 2800]

KINDS = {
    "imaps": ("imaps", "imaps_port", Security.TLS),
    "imap-starttls": ("imap", "imap_port", Security.STARTTLS),
    "pop3s": ("pop3s", "pop3s_port", Security.TLS),
    "pop3-starttls": ("pop3", "pop3_port", Security.STARTTLS),
    "smtps": ("smtps", "smtps_port", Security.TLS),
    "smtp-starttls": ("smtp", "smtp_port", Security.STARTTLS),
}


async def _attempt(servers: MailServers, kind: str, proxy: ByteCutProxy, timeout: float) -> str:
    """Log in through ``proxy`` and do one thing; return "ok" or the error's class name."""
    scheme, _, security = KINDS[kind]
    url = f"{scheme}://alice@{servers.host}:{proxy.port}"
    password, context = servers.users["alice"], servers.ssl_context()
    try:
        if scheme.startswith("smtp"):
            # Opening is EHLO, STARTTLS (or implicit TLS), EHLO again and AUTH.
            transport = await AsyncSmtpTransport.open(
                url, password=password, security=security, ssl_context=context,
                timeout=timeout, connect_timeout=timeout,
            )  # fmt: skip
            await transport.aclose()
        else:
            async with await AsyncMailbox.open(
                url, password=password, security=security, ssl_context=context,
                timeout=timeout, connect_timeout=timeout,
            ) as box:  # fmt: skip
                await box.folder("INBOX").status()
    except (TLSError, ConnectionLost, Timeout) as exc:
        return type(exc).__name__
    return "ok"


@pytest.mark.anyio
@pytest.mark.parametrize("kind", list(KINDS))
async def test_cut_anywhere_in_the_tls_handshake(mail_servers: MailServers, kind: str) -> None:
    port = getattr(mail_servers, KINDS[kind][1])
    outcomes = {}
    for offset in OFFSETS:
        with ByteCutProxy(mail_servers.host, port, cut_after=offset) as proxy:
            outcomes[offset] = await _attempt(mail_servers, kind, proxy, timeout=10)
    assert "TLSError" in outcomes.values(), outcomes  # some cuts fell in the handshake
    assert outcomes[6000] in ("ok", "ConnectionLost"), outcomes


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["imaps", "pop3-starttls", "smtps"])
async def test_stall_in_the_tls_handshake_times_out(mail_servers: MailServers, kind: str) -> None:
    port = getattr(mail_servers, KINDS[kind][1])
    for offset in STALLS:
        with ByteCutProxy(mail_servers.host, port, cut_after=offset, stall=True) as proxy:
            assert await _attempt(mail_servers, kind, proxy, timeout=0.5) == "Timeout", offset
