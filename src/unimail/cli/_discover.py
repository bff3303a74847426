"""``unimail discover ADDRESS``: the mail servers of an address's domain (RFC 6186 SRV)."""

from __future__ import annotations

import argparse
from typing import Any

import unimail

from ._common import EXIT_ERROR, EXIT_OK, print_json

__all__ = ["add_parsers"]

_SCHEMES = {"submission": "smtp", "imap": "imap", "pop3": "pop3"}


def add_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``discover`` command."""
    discover = commands.add_parser(
        "discover", parents=[common], allow_abbrev=False,
        help="find the mail servers of an address (DNS SRV)",
        description="Look up the SRV records of the address's domain (RFC 6186, RFC 8314) "
        "and print the URL of each IMAP, POP3 and submission server, best first. Exits 1 "
        "when the domain announces none.",
    )  # fmt: skip
    discover.add_argument("address", help="a mail address: alice@example.org")
    discover.set_defaults(run=run_discover)


def run_discover(args: argparse.Namespace) -> int:
    """Print what DNS says about the address's domain."""
    found = unimail.discover(args.address)
    services = {"imap": found.imap, "pop3": found.pop3, "submission": found.submission}
    if args.json:
        print_json(
            {
                name: [
                    {
                        "url": e.url(_SCHEMES[name], args.address), "host": e.host,
                        "port": e.port, "security": str(e.security.value),
                        "priority": e.priority, "weight": e.weight,
                    }
                    for e in endpoints
                ]
                for name, endpoints in services.items()
            }
        )  # fmt: skip
    else:
        for name, endpoints in services.items():
            for endpoint in endpoints:
                print(f"{name}\t{endpoint.url(_SCHEMES[name], args.address)}")
    return EXIT_OK if any(services.values()) else EXIT_ERROR
