"""Deliver a message straight to each recipient domain's mail exchangers (MX), without a relay.

    python3 examples/direct_mx.py --helo mail.example.org --sender alerts@example.org \\
        --to ops@example.net --subject "disk full" --text "on host db1"

For each recipient domain the MX hosts are tried in order of preference; STARTTLS is used
whenever a host offers it (``--require-tls`` skips hosts that do not). There is no login:
the receiving servers judge the sender by its IP address, its HELO name and the sender
domain's SPF/DKIM/DMARC records, so run this from a host whose address and name the world
accepts for the sender's domain (port 25 outbound is blocked on many networks).
``--port``, ``--dns`` and ``--cafile`` point it at test servers.
"""

from __future__ import annotations

import argparse
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import dns.resolver

import unimail


# --8<-- [start:deliver]
def deliver(
    message: EmailMessage,
    *,
    helo: str,
    require_tls: bool = False,
    port: int = 25,
    resolver: dns.resolver.Resolver | None = None,
    tls: ssl.SSLContext | None = None,
) -> int:
    """Deliver ``message`` to the MX hosts of its recipients; return how many were refused."""
    with unimail.MxTransport.open(
        "smtp+mx:",
        local_hostname=helo,  # the name this host gives in EHLO: make it resolve to our IP
        require_tls=require_tls,
        port=port,
        resolver=resolver,
        ssl_context=tls,
    ) as mx:
        try:
            result = mx.send(message)
        except unimail.SendError as error:  # no recipient accepted it
            result = unimail.SendResult(accepted=error.accepted, refused=error.refused)
    for address in result.accepted:
        print(f"delivered: {address}")
    for address, (code, text) in result.refused.items():
        # 4xx: try again later (the message is not queued anywhere: that is up to you).
        kind = "temporary" if 400 <= code < 500 else "permanent"
        print(f"refused ({kind}): {address} {code} {text}")
    return len(result.refused)


# --8<-- [end:deliver]


def main() -> None:
    """Parse the command line and deliver one message."""
    parser = argparse.ArgumentParser(description="Deliver a message directly to MX hosts.")
    parser.add_argument("--helo", required=True, help="this host's public name (EHLO)")
    parser.add_argument("--sender", required=True, help="the From address")
    parser.add_argument("--to", required=True, action="append", help="a recipient (repeatable)")
    parser.add_argument("--subject", default="Message")
    parser.add_argument("--text", default="")
    parser.add_argument("--require-tls", action="store_true", help="skip hosts without STARTTLS")
    parser.add_argument("--port", type=int, default=25, help="port of every MX (tests)")
    parser.add_argument("--dns", help="HOST:PORT of the DNS server to ask (tests)")
    parser.add_argument("--cafile", help="trust this CA (PEM file) instead of the system's")
    args = parser.parse_args()

    message = EmailMessage()
    message["From"] = args.sender
    message["To"] = ", ".join(args.to)
    message["Subject"] = args.subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=args.helo)
    message.set_content(args.text + "\n")

    resolver = None
    if args.dns:
        host, _, port = args.dns.rpartition(":")
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [host]
        resolver.port = int(port)
    tls = ssl.create_default_context(cafile=args.cafile) if args.cafile else None
    refused = deliver(
        message,
        helo=args.helo,
        require_tls=args.require_tls,
        port=args.port,
        resolver=resolver,
        tls=tls,
    )
    raise SystemExit(1 if refused else 0)


if __name__ == "__main__":
    main()
