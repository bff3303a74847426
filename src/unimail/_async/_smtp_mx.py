"""Direct delivery: send each recipient's copy straight to its domain's mail exchangers.

``AsyncTransport.open("smtp+mx:")`` returns an :class:`AsyncMxTransport`. For each recipient
domain (RFC 5321 section 5.1):

- the MX hosts are tried by preference, in random order among equal preferences; a domain
  without MX records is its own mail host (implicit MX); a null MX (``0 .``, RFC 7505) is a
  permanent failure (556) and nothing is sent;
- each host's addresses are tried in turn; a host that cannot be reached, that answers with a
  4xx greeting, or that refuses the whole transaction with a 4xx reply is skipped for the next
  one; a 5xx answer is final;
- STARTTLS is used whenever the server offers it (RFC 3207); with ``require_tls=True`` a host
  without it is skipped. Without ``require_tls`` a host that does not offer STARTTLS gets the
  message in plaintext, as MX delivery has always done (RFC 7435 opportunistic security); a
  host that offers STARTTLS but fails the handshake is skipped, never downgraded.

No AUTH is done: MX hosts take mail for their own domains from anyone.
"""

from __future__ import annotations

import ipaddress
import logging
import ssl
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, ClassVar

import attrs
import dns.asyncresolver

from .._errors import (
    ConnectError,
    ConnectionLost,
    DeliveryUncertain,
    InvalidArgument,
    SendError,
    Timeout,
    TLSError,
    UnimailError,
)
from .._models import SendResult
from .._opening import AsyncOpening  # unasync: remove
from .._options import Limits, Options, Security, make_options
from .._proto.smtp import Dsn, EnvelopeAddress, MessageSource, OutgoingMessage
from .._proto.smtp import _commands as cmd
from .._smtp_prepare import prepare
from .._url import MailURL
from ._smtp_client import AsyncSmtpClient
from ._smtp_dns import addresses_of, mx_hosts
from ._smtp_send import send_jobs
from ._transport import AsyncTransport

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["AsyncMxTransport"]

# What makes the next MX worth trying: the host could not be reached or talked to.
_NEXT_HOST = (ConnectError, ConnectionLost, Timeout, TLSError)


class AsyncMxTransport(AsyncTransport):
    """Delivers mail directly to each recipient domain's MX hosts (no relay, no AUTH).

    Open it with ``AsyncTransport.open("smtp+mx:", local_hostname="mail.example.org")``,
    or with ``AsyncMxTransport.open("smtp+mx:", port=..., resolver=..., require_tls=True)``
    for the extra settings.
    """

    schemes: ClassVar[dict[str, Security]] = {"smtp+mx": Security.STARTTLS}
    open_options: ClassVar[frozenset[str]] = frozenset({"port", "resolver", "require_tls"})

    def __init__(
        self,
        options: Options,
        *,
        port: int = 25,
        resolver: dns.asyncresolver.Resolver | None = None,
        require_tls: bool = False,
    ) -> None:
        """Store the settings; does no I/O (connections are made per message and domain).

        Args:
            options: as made by ``open()``; ``security="tls"`` uses implicit TLS instead.
            port: the port of every MX (25; tests point it elsewhere).
            resolver: the DNS resolver for MX and address lookups.
            require_tls: skip MX hosts that do not offer STARTTLS.
        """
        super().__init__(options)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise InvalidArgument(f"port must be 1..65535, got {port!r}")
        self._port = port
        self._resolver = resolver
        self._require_tls = require_tls

    @classmethod
    def open(
        cls,
        url: str = "smtp+mx:",
        *,
        security: str | Security | None = None,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float | None = 60.0,
        connect_timeout: float | None = 30.0,
        limits: Limits | None = None,
        logger: logging.Logger | None = None,
        local_hostname: str | None = None,
        port: int = 25,
        resolver: dns.asyncresolver.Resolver | None = None,
        require_tls: bool = False,
        **unused: object,
    ) -> AsyncOpening[Self]:  # unasync: ) -> Self:
        """Return a direct-delivery transport (no connection is made until ``send()``).

        Args:
            url: ``"smtp+mx:"``.
            security, ssl_context, timeout, connect_timeout, limits, logger, local_hostname:
                as for ``AsyncTransport.open``.
            port: the port of every MX (25; tests point it elsewhere).
            resolver: the DNS resolver for MX and address lookups (default: the system's).
            require_tls: skip MX hosts that do not offer STARTTLS.
            unused: ``password``, ``auth`` and ``allow_insecure_auth`` are accepted and
                ignored (MX delivery never authenticates), so that any transport URL can be
                opened with the same call.

        Raises:
            InvalidArgument: a bad URL or argument.
        """
        options = make_options(
            MailURL.parse(url),
            default_security=cls.schemes,
            security=security,
            ssl_context=ssl_context,
            timeout=timeout,
            connect_timeout=connect_timeout,
            limits=limits,
            logger=logger,
            local_hostname=local_hostname,
        )
        transport = cls(options, port=port, resolver=resolver, require_tls=require_tls)
        return AsyncOpening(transport._open())  # unasync: return transport._open()

    async def _connect(self) -> None:
        """Nothing to connect yet: each send() connects to the recipients' MX hosts."""
        if self._options.local_hostname is not None:
            cmd.ehlo(self._options.local_hostname)  # InvalidArgument before any connection

    async def send(
        self,
        message: MessageSource,
        *,
        sender: str | None = None,
        recipients: Iterable[str] | None = None,
        mail_options: Sequence[str] = (),
        rcpt_options: Sequence[str] = (),
        dsn: Dsn | None = None,
    ) -> SendResult:
        """Deliver ``message`` to the MX hosts of each recipient's domain.

        Args:
            message: an EmailMessage, or raw bytes / binary file / path with an envelope.
            sender, recipients, mail_options, rcpt_options, dsn: as for the SMTP
                transport's ``send()``.

        Returns:
            Every recipient accepted by its domain's MX, and the refused ones with the code
            and text of the last host tried (556 for a null MX, 550 for a domain without
            any mail host, 451 when no host could be reached).

        Raises:
            InvalidArgument: a malformed address, parameter or message (nothing was sent).
            SendError: no recipient got the message.
            DeliveryUncertain: the connection to a host broke after the whole message was
                written and before its final reply: that domain's recipients may have it, so
                no other host of that domain is tried. The other domains are still served;
                the error's ``uncertain``, ``accepted`` and ``refused`` say who is where.
        """
        outgoing = OutgoingMessage.of(message, sender, recipients, mail_options, rcpt_options, dsn)
        by_domain: dict[str, list[EnvelopeAddress]] = {}
        for recipient in outgoing.recipients:
            by_domain.setdefault(recipient.domain.lower(), []).append(recipient)
        accepted: list[str] = []
        refused: dict[str, tuple[int, str]] = {}
        enhanced: dict[str, str] = {}
        responses: list[str] = []
        uncertain: list[DeliveryUncertain] = []
        for domain, group in by_domain.items():
            try:
                result = await self._deliver(
                    attrs.evolve(outgoing, recipients=tuple(group)), domain
                )
            except DeliveryUncertain as exc:
                # Another domain's hosts are other servers: what broke here says nothing
                # about them, and they must not be left without the message.
                uncertain.append(exc)
                refused.update(exc.refused)
                continue
            accepted += result.accepted
            refused.update(result.refused)
            enhanced.update(result.enhanced_codes)
            if result.response:
                responses.append(f"{domain}: {result.response}")
        if uncertain:
            raise _uncertain(uncertain, tuple(accepted), refused)
        if not accepted:
            first = next(iter(refused.values()))
            raise SendError(
                f"message not sent: no recipient accepted it ({first[0]} {first[1]})",
                refused=refused,
                code=str(first[0]),
                text=first[1],
                temporary=all(400 <= code < 500 for code, _ in refused.values()),
            )
        return SendResult(
            accepted=tuple(accepted),
            refused=refused,
            enhanced_codes=enhanced,
            response="; ".join(responses),
        )

    async def _deliver(self, outgoing: OutgoingMessage, domain: str) -> SendResult:
        """Try the MX hosts of ``domain`` in order; return the outcome for its recipients."""
        everyone = [r.original for r in outgoing.recipients]
        hosts: list[str] | None
        if domain.startswith("["):
            hosts = [domain[1:-1].removeprefix("IPv6:").removeprefix("ipv6:")]
        else:
            try:
                hosts = await mx_hosts(domain, self._resolver)
            except ConnectError as exc:
                return _all_refused(everyone, 451, f"DNS lookup failed: {exc}")
        if hosts is None:
            return _all_refused(everyone, 556, f"{domain} accepts no mail (null MX)", "5.1.10")
        if not hosts:
            return _all_refused(everyone, 550, f"{domain} has no mail host", "5.1.2")
        last: tuple[int, str] = (451, f"no mail host of {domain} could be reached")
        for host in hosts:
            for address in await self._addresses(host):
                try:
                    client = await AsyncSmtpClient.connect(
                        self._options,
                        host=address,
                        port=self._port,
                        server_name=host,
                        opportunistic_tls=not self._require_tls,
                    )
                except _NEXT_HOST as exc:
                    last = (451, f"{host}: {exc}")
                    continue
                try:
                    outcome = await self._send_on(client, outgoing)
                finally:
                    await client.aclose()
                if isinstance(outcome, SendResult):
                    return outcome
                if isinstance(outcome, SendError) and not outcome.temporary:
                    return SendResult(refused=outcome.refused)
                last = (451, f"{host}: {outcome}")
        return _all_refused(everyone, *last)

    async def _send_on(
        self, client: AsyncSmtpClient, outgoing: OutgoingMessage
    ) -> SendResult | UnimailError:
        try:
            prepared = prepare(outgoing, client.ehlo, self._options.limits, {})
        except SendError as exc:
            return exc
        job = prepared.job()
        try:
            await send_jobs(client, [job])
        except _NEXT_HOST as exc:
            outcome = job.interrupt(exc)
            if isinstance(outcome, DeliveryUncertain):
                # The host may have taken it: another host would deliver it a second time.
                raise outcome from exc
            return outcome
        finally:
            prepared.close()
        return job.outcome if job.outcome is not None else ConnectionLost("no final reply")

    async def _addresses(self, host: str) -> list[str]:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            return [host]
        try:
            return await addresses_of(host, self._resolver)
        except ConnectError:
            return []


def _all_refused(
    recipients: list[str], code: int, text: str, enhanced: str | None = None
) -> SendResult:
    return SendResult(
        refused={r: (code, text) for r in recipients},
        enhanced_codes={r: enhanced for r in recipients} if enhanced else {},
    )


def _uncertain(
    errors: list[DeliveryUncertain], accepted: tuple[str, ...], refused: dict[str, tuple[int, str]]
) -> DeliveryUncertain:
    """One error for the domains whose delivery is uncertain, with the whole outcome."""
    who = tuple(address for error in errors for address in error.uncertain)
    error = DeliveryUncertain(
        f"{errors[0]}; recipients that may have it: {len(who)}, that have it: {len(accepted)}, "
        f"refused: {len(refused)}",
        uncertain=who,
        accepted=accepted,
        refused=refused,
    )
    error.__cause__ = errors[0].__cause__
    return error
