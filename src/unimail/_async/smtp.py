"""The SMTP transport: ``smtp://`` (submission with STARTTLS required) and ``smtps://``.

``AsyncTransport.open("smtp://alice@mail.example.org", password=pw)`` connects (port 587;
465 for ``smtps``), upgrades with STARTTLS, authenticates with the strongest SASL mechanism
both sides support and returns an :class:`AsyncSmtpTransport`. One connection carries many
messages; ``max_connections`` lets concurrent ``send()`` calls and :meth:`send_many` use a
bounded pool of connections (the sync facade has one connection and sends in order).
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from collections.abc import AsyncGenerator, Iterable, Sequence
from typing import TYPE_CHECKING, ClassVar

import anyio  # unasync: remove
import dns.asyncresolver

from .._errors import ConnectionLost, InvalidArgument, UnimailError
from .._models import SendResult
from .._opening import AsyncOpening  # unasync: remove
from .._options import Limits, Options, Security, TokenProvider, make_options
from .._proto.smtp import Dsn, EhloInfo, MessageSource, OutgoingMessage
from .._proto.smtp import _commands as cmd
from .._smtp_prepare import Job, Prepared, prepare
from .._url import MailURL
from ._folder import AsyncFolder
from ._smtp_client import AsyncSmtpClient
from ._smtp_dns import verify_domains
from ._smtp_feed import Feed
from ._smtp_send import send_jobs
from ._transport import AsyncTransport

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["AsyncSmtpTransport"]

# send_many() opens no more connections than one per this many messages.
_MIN_SHARE = 16


class AsyncSmtpTransport(AsyncTransport):
    """Sends mail through an SMTP submission server (RFC 6409, RFC 5321).

    Open it with ``AsyncTransport.open("smtp://user@host", password=...)`` or, for the extra
    options, ``AsyncSmtpTransport.open(..., max_connections=8, verify_domains=True)``.
    """

    schemes: ClassVar[dict[str, Security]] = {"smtp": Security.STARTTLS, "smtps": Security.TLS}
    open_options: ClassVar[frozenset[str]] = frozenset(
        {"max_connections", "verify_domains", "resolver"}
    )

    def __init__(
        self,
        options: Options,
        *,
        max_connections: int = 1,
        verify_domains: bool = False,
        resolver: dns.asyncresolver.Resolver | None = None,
    ) -> None:
        """Store the settings; does no I/O. Use :meth:`open` to get a connected transport."""
        super().__init__(options)
        if isinstance(max_connections, bool) or not isinstance(max_connections, int):
            raise InvalidArgument("max_connections must be a positive int")
        if max_connections < 1:
            raise InvalidArgument("max_connections must be a positive int")
        self._max_connections = max_connections
        self._verify_domains = verify_domains
        self._resolver = resolver
        self._idle: list[AsyncSmtpClient] = []
        # The sync facade sends over one connection, one message after another.
        slots = max_connections
        self._slots = anyio.Semaphore(slots)  # unasync: self._slots = contextlib.nullcontext(slots)
        self._ehlo = EhloInfo("")
        self._closed = False

    @classmethod
    def open(
        cls,
        url: str,
        *,
        password: str | None = None,
        auth: str | TokenProvider | None = None,
        security: str | Security | None = None,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float | None = 60.0,
        connect_timeout: float | None = 30.0,
        limits: Limits | None = None,
        logger: logging.Logger | None = None,
        allow_insecure_auth: bool = False,
        local_hostname: str | None = None,
        max_connections: int = 1,
        verify_domains: bool = False,
        resolver: dns.asyncresolver.Resolver | None = None,
        **others: object,
    ) -> AsyncOpening[Self]:  # unasync: ) -> Self:
        """Connect to the submission server at ``url`` and log in.

        ``AsyncTransport.open(url, max_connections=8, ...)`` takes the same options.
        ``password``, ``auth``, ``security``, ``ssl_context``, ``timeout``,
        ``connect_timeout``, ``limits``, ``logger``, ``allow_insecure_auth`` and
        ``local_hostname`` are those of ``AsyncTransport.open``.

        Args:
            url: ``smtp://user@host[:port]`` (STARTTLS, port 587) or ``smtps://...``
                (implicit TLS, port 465). Without a user name no AUTH is done.
            max_connections: how many connections concurrent sends may use (async only; the
                sync transport always has one).
            verify_domains: check that each recipient's domain has MX or A/AAAA records
                before sending; those that do not are reported refused and not sent to.
            resolver: the DNS resolver for ``verify_domains`` (default: the system's).
            others: nothing else is taken: any other keyword raises InvalidArgument (it is
                here so that the signature accepts what ``AsyncTransport.open`` accepts).

        Raises:
            InvalidArgument: a bad URL or argument, or an unknown option (nothing was sent).
            ConnectError, Timeout, TLSError: the connection could not be set up securely.
            AuthenticationError: the server refused the credentials.
        """
        if others:
            raise InvalidArgument(
                f"{cls.__name__}.open() does not take {', '.join(sorted(others))} (it takes "
                f"{', '.join(sorted(cls.open_options))} beyond the generic options)"
            )
        parsed = MailURL.parse(url)
        options = make_options(
            parsed,
            default_security=cls.schemes,
            password=password,
            auth=auth,
            security=security,
            ssl_context=ssl_context,
            timeout=timeout,
            connect_timeout=connect_timeout,
            limits=limits,
            logger=logger,
            allow_insecure_auth=allow_insecure_auth,
            local_hostname=local_hostname,
        )
        transport = cls(
            options,
            max_connections=max_connections,
            verify_domains=verify_domains,
            resolver=resolver,
        )
        return AsyncOpening(transport._open())  # unasync: return transport._open()

    async def _connect(self) -> None:
        if self._options.local_hostname is not None:
            cmd.ehlo(self._options.local_hostname)  # InvalidArgument before connecting
        self._idle.append(await self._new_client())

    async def _new_client(self) -> AsyncSmtpClient:
        client = await AsyncSmtpClient.connect(self._options)
        try:
            if self._options.url.username is not None:
                await client.login()
        except BaseException:
            await client.abort()
            raise
        self._ehlo = client.ehlo
        return client

    @property
    def extensions(self) -> EhloInfo:
        """What the server announced in its last EHLO (after TLS and AUTH)."""
        return self._ehlo

    @property
    def max_connections(self) -> int:
        """How many connections this transport may open at once."""
        return self._max_connections

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncGenerator[AsyncSmtpClient, None]:
        if self._closed:
            raise ConnectionLost("the transport is closed")
        async with self._slots:
            client = self._idle.pop() if self._idle else await self._new_client()
            try:
                yield client
            except BaseException:
                # Mid-transaction, the connection's state is unknown: never reuse it.
                await client.abort()
                raise
            if client.closed or self._closed:
                await client.aclose()
            else:
                self._idle.append(client)

    async def _send_jobs(self, jobs: list[Job] | Feed) -> None:
        """Send ``jobs`` over a pooled connection, setting their outcomes.

        A pooled connection may have been closed by the server while it sat idle (a timeout,
        a 421). When the connection is lost before any reply to a job was read and before any
        of its content was written, that job cannot have been delivered, so it is sent once
        more over a new connection (and a feed goes on there). A job that got further is
        never resent: it might be a duplicate.
        """
        for attempt in range(2):
            try:
                async with self._connection() as client:
                    await send_jobs(client, jobs)
                return
            except ConnectionLost:
                taken = jobs if isinstance(jobs, list) else jobs.jobs()
                again = [job for job in taken if job.resendable]
                if attempt or any(job.outcome is None and not job.resendable for job in taken):
                    raise
                for job in again:
                    job.restart()
                if isinstance(jobs, Feed):
                    jobs.again(again)  # perhaps none: the feed had not taken any message yet
                elif again:
                    jobs = again
                else:
                    raise

    async def send(
        self,
        message: MessageSource,
        *,
        sender: str | None = None,
        recipients: Iterable[str] | None = None,
        mail_options: Sequence[str] = (),
        rcpt_options: Sequence[str] = (),
        dsn: Dsn | None = None,
        save_to: AsyncFolder | None = None,
    ) -> SendResult:
        """Send ``message``; return which recipients accepted it and which refused.

        Args:
            message: an ``EmailMessage``, or the raw message as ``bytes``, a binary file or a
                path (these need ``sender`` and ``recipients``, or are read from the headers
                of an EmailMessage only).
            sender: the envelope sender (default: Sender, else From); ``""`` is the null path.
            recipients: the envelope recipients (default: To, Cc and Bcc; or the topmost
                Resent-To/Cc/Bcc of a resent message).
            mail_options: extra ESMTP parameters for MAIL FROM (``"X-FOO=bar"``).
            rcpt_options: extra ESMTP parameters for every RCPT TO.
            dsn: delivery status notifications to ask for (needs the server's DSN).
            save_to: a folder to append the exact bytes sent to, once the server accepted
                them (a Sent folder). If that append fails, its error is raised although the
                message *was* sent: do not send it again.

        Returns:
            The accepted recipients and the refused ones with code and text.

        Raises:
            InvalidArgument: a malformed address, parameter or message (nothing was sent).
            UnsupportedOperation: the message needs an extension the server lacks (SMTPUTF8,
                8BITMIME, DSN), or is larger than its SIZE.
            SendError: no recipient got the message; ``refused`` says why for each.
            DeliveryUncertain: the connection broke (or the server stalled) after the whole
                message was written and before the server's final reply: it may have been
                delivered; do not resend it blindly.
            ConnectionLost, Timeout, ProtocolError: the connection broke before the whole
                message was written: it was not delivered (safe to send again).
        """
        outgoing = OutgoingMessage.of(message, sender, recipients, mail_options, rcpt_options, dsn)
        refused = await verify_domains(outgoing, self._resolver) if self._verify_domains else {}
        prepared = prepare(outgoing, self._ehlo, self._options.limits, refused)
        try:
            if not prepared.job_needed:
                raise prepared.early_outcome()
            job = prepared.job()
            try:
                await self._send_jobs([job])
            except UnimailError as exc:
                # An outcome settled before the connection broke (RSET failed after it, ...)
                # stands; otherwise the message was not sent, or DeliveryUncertain.
                if not isinstance(job.outcome, SendResult):
                    if (broken := job.interrupt(exc)) is exc:
                        raise
                    raise broken from exc
            if save_to is not None and isinstance(job.outcome, SendResult):
                await save_to.append(prepared.content.read_all())
        finally:
            prepared.close()
        outcome = job.outcome
        if isinstance(outcome, UnimailError):
            raise outcome
        if outcome is None:
            raise ConnectionLost("the connection ended before the server's final reply")
        return outcome

    async def send_many(
        self,
        messages: Iterable[MessageSource | OutgoingMessage],
        *,
        save_to: AsyncFolder | None = None,
    ) -> list[SendResult | UnimailError]:
        """Send many messages, over up to ``max_connections`` connections at once.

        Each connection pipelines its messages back to back (RFC 2920 section 3.1). A message
        that fails does not stop the others.

        Args:
            messages: EmailMessages (envelope from their headers), or :class:`OutgoingMessage`
                values for raw messages and explicit envelopes.
            save_to: a folder to append each accepted message to.

        Returns:
            One entry per message, in order: its SendResult, or the error that stopped it:
            SendError, InvalidArgument, UnsupportedOperation, or the ConnectionLost /
            Timeout / ProtocolError that broke its connection before the message was all
            written (not delivered, safe to send again); or DeliveryUncertain when the
            connection broke after it was all written and before its final reply (it may
            have been delivered: do not resend it blindly).
        """
        items = [m if isinstance(m, OutgoingMessage) else OutgoingMessage.of(m) for m in messages]
        results: list[SendResult | UnimailError] = [ConnectionLost("not sent")] * len(items)
        queue = list(range(len(items)))
        queue.reverse()
        # At least _MIN_SHARE messages per connection: a connection costs a handshake and a
        # login, more than pipelining a few more messages on one already open.
        workers = min(self._max_connections, max(1, -(-len(items) // _MIN_SHARE)))

        async def worker() -> None:
            while queue:
                feed = Feed(items, queue, results, self._prepare, keep=save_to is not None)
                error: UnimailError | None = None
                try:
                    await self._send_jobs(feed)
                except UnimailError as exc:
                    error = exc
                    if not feed.count:
                        # No connection could be set up: trying again for every message
                        # would cost a connection attempt (and its timeout) each.
                        while queue:
                            results[queue.pop()] = exc
                except BaseException:
                    feed.close()  # cancelled: no result is returned
                    raise
                await feed.settle(error, save_to)

        async with anyio.create_task_group() as group:  # unasync: if workers:
            for _ in range(workers):
                group.start_soon(worker)  # unasync: worker()
        return results

    async def _prepare(self, outgoing: OutgoingMessage) -> Prepared:
        """Check ``outgoing`` against the server (and DNS, with ``verify_domains``)."""
        refused = await verify_domains(outgoing, self._resolver) if self._verify_domains else {}
        return prepare(outgoing, self._ehlo, self._options.limits, refused)

    async def aclose(self) -> None:
        """QUIT and close every connection. Safe to call more than once."""
        self._closed = True
        idle, self._idle = self._idle, []
        for client in idle:
            await client.aclose()
