"""A tiny authoritative DNS server on 127.0.0.1 for tests (dnspython's ``dns.message`` over UDP).

It answers from a dict of records, in a background thread, so MX ordering, implicit MX, null
MX and SRV discovery can be tested without touching the real DNS::

    zone = {"example.test.": [("MX", "10 mx1.example.test."), ("MX", "20 localhost.")],
            "localhost.": [("A", "127.0.0.1")]}
    with DnsServer(zone) as server:
        resolver = server.resolver()          # dns.resolver.Resolver pointed at it
        aresolver = server.async_resolver()   # dns.asyncresolver.Resolver

A name that is not in the zone gets NXDOMAIN; a name with no record of the asked type gets an
empty NOERROR answer (NoAnswer), as a real server would say. ``queries`` records every question
as ``(name, type)``.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Mapping, Sequence
from types import TracebackType

import dns.asyncresolver
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import dns.rrset

__all__ = ["DnsServer"]

Zone = Mapping[str, Sequence[tuple[str, str]]]


class DnsServer:
    """Serve ``zone`` (absolute name -> [(type, rdata text)]) on a UDP port of 127.0.0.1."""

    host = "127.0.0.1"

    def __init__(self, zone: Zone) -> None:
        """Bind the socket; the thread starts with ``with``."""
        self._zone = {dns.name.from_text(name): list(records) for name, records in zone.items()}
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((self.host, 0))
        self._sock.settimeout(0.1)
        self.port: int = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dns-server", daemon=True)
        self.queries: list[tuple[str, str]] = []

    def __enter__(self) -> DnsServer:
        """Start answering."""
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the thread and close the socket."""
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def resolver(self) -> dns.resolver.Resolver:
        """A blocking resolver that asks only this server."""
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [self.host]
        resolver.port = self.port
        resolver.lifetime = 5.0
        return resolver

    def async_resolver(self) -> dns.asyncresolver.Resolver:
        """An async resolver (asyncio and trio) that asks only this server."""
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [self.host]
        resolver.port = self.port
        resolver.lifetime = 5.0
        return resolver

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                wire, peer = self._sock.recvfrom(4096)
            except (TimeoutError, OSError):
                continue
            with contextlib.suppress(Exception):  # a malformed query is simply not answered
                self._sock.sendto(self._answer(dns.message.from_wire(wire)).to_wire(), peer)

    def _answer(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        name, rdtype = question.name, question.rdtype
        self.queries.append((name.to_text(), dns.rdatatype.to_text(rdtype)))
        records = self._zone.get(name)
        if records is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response
        wanted = dns.rdatatype.to_text(rdtype)
        texts = [text for kind, text in records if kind == wanted]
        if texts:
            response.answer.append(
                dns.rrset.from_text_list(name, 300, dns.rdataclass.IN, rdtype, texts)
            )
        return response
