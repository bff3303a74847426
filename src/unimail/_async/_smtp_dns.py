"""DNS for mail (dnspython): MX lookup for direct delivery, domain checks, SRV discovery.

- MX (RFC 5321 section 5.1): hosts sorted by preference, in random order among equal
  preferences; no MX record means the domain itself is the mail host ("implicit MX", its A or
  AAAA records); a single MX ``0 .`` is a null MX (RFC 7505): the domain accepts no mail.
  :func:`verify_domains` applies this to a message's recipients before it is sent
  (``verify_domains=True``).
- SRV discovery (RFC 6186 and RFC 8314 section 5.1): ``_submissions._tcp``, ``_submission._tcp``,
  ``_imaps._tcp``, ``_imap._tcp``, ``_pop3s._tcp``, ``_pop3._tcp``; ordered by priority, and
  by weight (heaviest first) within a priority; a target of ``.`` means "not offered here".

The resolver is the caller's choice (``dns.asyncresolver.Resolver``; ``dns.resolver.Resolver``
in the sync facade), so tests and split-horizon setups can point it at their own server.
"""

from __future__ import annotations

import random
import urllib.parse

import attrs
import dns._asyncbackend  # unasync: remove
import dns.asyncbackend  # unasync: remove
import dns.asyncresolver
import dns.exception
import dns.rdatatype
import dns.resolver
import sniffio  # unasync: remove

from .._errors import ConnectError, InvalidArgument
from .._options import Security
from .._proto.smtp import OutgoingMessage, check_address

__all__ = [
    "Discovery",
    "Endpoint",
    "addresses_of",
    "discover",
    "domain_has_mail",
    "mx_hosts",
    "verify_domains",
]

# dnspython's "there is nothing" answers: the name or the record type does not exist.
_NOTHING = (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer)


def _backend() -> dns._asyncbackend.Backend:  # unasync: remove
    # dnspython caches the first event loop it sees; ask for the one running now (trio or
    # asyncio), so that one process can use both.
    return dns.asyncbackend.get_backend(sniffio.current_async_library())  # unasync: remove


def _resolver(resolver: dns.asyncresolver.Resolver | None) -> dns.asyncresolver.Resolver:
    return resolver if resolver is not None else dns.asyncresolver.get_default_resolver()


async def _query(
    resolver: dns.asyncresolver.Resolver, name: str, rdtype: str
) -> list[dns.rdata.Rdata]:
    """The records of ``name``; [] when there are none.

    Raises:
        ConnectError: the DNS failed (timeout, SERVFAIL, no nameserver answered).
    """
    try:
        answer = await resolver.resolve(
            name,
            rdtype,
            search=False,
            backend=_backend(),  # unasync: remove
        )
    except _NOTHING:
        return []
    except (dns.exception.DNSException, OSError) as exc:
        raise ConnectError(f"DNS lookup of {name} {rdtype} failed: {exc}") from None
    return list(answer)


async def addresses_of(host: str, resolver: dns.asyncresolver.Resolver | None = None) -> list[str]:
    """Return the IPv6 and IPv4 addresses of ``host`` (AAAA first, RFC 6724 preference)."""
    found: list[str] = []
    for rdtype in ("AAAA", "A"):
        found += [str(r) for r in await _query(_resolver(resolver), host, rdtype)]
    return found


async def mx_hosts(
    domain: str, resolver: dns.asyncresolver.Resolver | None = None
) -> list[str] | None:
    """Return the mail hosts of ``domain`` in the order to try them.

    Returns:
        The MX hosts by preference (random among equals); ``[domain]`` when there is no MX but
        the domain has an address (implicit MX); ``[]`` when the domain has neither; None for
        a null MX (RFC 7505: the domain accepts no mail).

    Raises:
        ConnectError: the DNS lookup failed (try again later).
    """
    resolver = _resolver(resolver)
    records = await _query(resolver, domain, "MX")
    if records:
        exchanges = [(int(r.preference), str(r.exchange).rstrip(".")) for r in records]  # type: ignore[attr-defined]
        if len(exchanges) == 1 and exchanges[0][1] == "":
            return None
        rng = random.SystemRandom()
        ordered = sorted(exchanges, key=lambda e: (e[0], rng.random()))
        return [host for _, host in ordered if host]
    return [domain] if await addresses_of(domain, resolver) else []


async def domain_has_mail(
    domain: str, resolver: dns.asyncresolver.Resolver | None = None
) -> bool | None:
    """True when ``domain`` can receive mail (MX, or A/AAAA); None for a null MX."""
    if domain.startswith("["):
        return True  # an address literal needs no DNS
    hosts = await mx_hosts(domain, resolver)
    return None if hosts is None else bool(hosts)


async def verify_domains(
    outgoing: OutgoingMessage, resolver: dns.asyncresolver.Resolver | None
) -> dict[str, tuple[int, str]]:
    """Return the recipients whose domain cannot receive mail, with a code and reason."""
    refused: dict[str, tuple[int, str]] = {}
    verdicts: dict[str, bool | None] = {}
    for recipient in outgoing.recipients:
        domain = recipient.domain
        if domain not in verdicts:
            verdicts[domain] = await domain_has_mail(domain, resolver)
        verdict = verdicts[domain]
        if verdict is None:
            refused[recipient.original] = (556, f"{domain} accepts no mail (null MX, RFC 7505)")
        elif not verdict:
            refused[recipient.original] = (550, f"{domain} has no MX, A or AAAA record")
    return refused


@attrs.frozen(kw_only=True)
class Endpoint:
    """A service found by :func:`discover`.

    Attributes:
        host: the server's name.
        port: its port.
        security: ``Security.TLS`` (implicit TLS) or ``Security.STARTTLS``.
        priority, weight: the SRV record's ordering fields.
    """

    host: str
    port: int
    security: Security
    priority: int = 0
    weight: int = 0

    def url(self, scheme: str, username: str | None = None) -> str:
        """Return the URL of this endpoint for ``scheme`` ("smtp", "imap", "pop3").

        The ``s`` of implicit TLS is added to the scheme when ``security`` says so.
        """
        full = scheme + ("s" if self.security is Security.TLS else "")
        user = urllib.parse.quote(username, safe="") + "@" if username else ""
        return f"{full}://{user}{self.host}:{self.port}"


@attrs.frozen(kw_only=True)
class Discovery:
    """The mail services of a domain (RFC 6186, RFC 8314), best first in each list.

    Attributes:
        submission: where to send mail (SMTP submission).
        imap: IMAP servers.
        pop3: POP3 servers.
    """

    submission: tuple[Endpoint, ...] = ()
    imap: tuple[Endpoint, ...] = ()
    pop3: tuple[Endpoint, ...] = ()


_SERVICES = {
    "submission": (("_submissions._tcp", Security.TLS), ("_submission._tcp", Security.STARTTLS)),
    "imap": (("_imaps._tcp", Security.TLS), ("_imap._tcp", Security.STARTTLS)),
    "pop3": (("_pop3s._tcp", Security.TLS), ("_pop3._tcp", Security.STARTTLS)),
}


async def discover(
    address: str, *, resolver: dns.asyncresolver.Resolver | None = None
) -> Discovery:
    """Find the submission, IMAP and POP3 servers of ``address``'s domain from SRV records.

    Args:
        address: an e-mail address (``alice@example.org``) or a bare domain.
        resolver: the DNS resolver (default: the system's).

    Returns:
        The endpoints by RFC 6186 order: priority, then weight (heaviest first); implicit
        TLS before STARTTLS at equal priority and weight (RFC 8314 section 5.1).

    Raises:
        InvalidArgument: ``address`` is not an address or a domain.
        ConnectError: the DNS lookups failed.
    """
    if not isinstance(address, str):
        raise InvalidArgument("address must be a str")
    domain = address.rpartition("@")[2] if "@" in address else address
    domain = check_address(f"postmaster@{domain}", what="address").domain
    resolver = _resolver(resolver)
    found: dict[str, tuple[Endpoint, ...]] = {}
    for service, names in _SERVICES.items():
        endpoints: list[Endpoint] = []
        for prefix, security in names:
            for record in await _query(resolver, f"{prefix}.{domain}", "SRV"):
                target = str(record.target).rstrip(".")  # type: ignore[attr-defined]
                if not target:
                    continue  # RFC 2782: "." means the service is decidedly not available
                endpoints.append(
                    Endpoint(
                        host=target,
                        port=int(record.port),  # type: ignore[attr-defined]
                        security=security,
                        priority=int(record.priority),  # type: ignore[attr-defined]
                        weight=int(record.weight),  # type: ignore[attr-defined]
                    )
                )
        tls_first = {Security.TLS: 0, Security.STARTTLS: 1}
        endpoints.sort(key=lambda e: (e.priority, -e.weight, tls_first[e.security]))
        found[service] = tuple(endpoints)
    return Discovery(**found)
