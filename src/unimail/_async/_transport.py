"""The transport interface: what you send mail through (SMTP submission, direct MX delivery).

``AsyncTransport.open(url, ...)`` picks the transport from the URL scheme, connects,
authenticates and returns the backend's subclass.
"""

from __future__ import annotations

import email.message
import logging
import ssl
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar

from .._errors import ConnectError, InvalidArgument, UnsupportedOperation
from .._models import SendResult
from .._opening import AsyncOpening  # unasync: remove
from .._options import Limits, Options, Security, TokenProvider, make_options
from .._url import MailURL, is_address
from ._smtp_dns import discover

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["AsyncTransport"]


class AsyncTransport:
    """A connected mail transport.

    Use it as a context manager so that the connection is closed (SMTP QUIT)::

        async with AsyncTransport.open("smtp://alice@mail.example.org:587", password=pw) as t:
            result = await t.send(message)
    """

    #: URL schemes this transport serves, with the security each implies by default.
    schemes: ClassVar[dict[str, Security]] = {}
    #: The transport's own options: keyword arguments of :meth:`open` beyond the generic
    #: ones, passed on to its constructor (``max_connections`` for SMTP, ...).
    open_options: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, options: Options, **backend_options: object) -> None:
        """Store ``options``; does no I/O. Use :meth:`open` to get a connected transport.

        Args:
            options: the generic options, as ``open`` made them.
            backend_options: the transport's own options (a subclass names them in its
                signature and in ``open_options``; this base class takes none).

        Raises:
            InvalidArgument: an option this transport does not take.
        """
        if backend_options:
            raise InvalidArgument(f"{type(self).__name__} does not take {sorted(backend_options)}")
        self._options = options

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
        **backend_options: Any,
    ) -> AsyncOpening[Self]:  # unasync: ) -> Self:
        """Connect to the transport at ``url`` and log in; return the backend's transport.

        The arguments are those of ``AsyncMailbox.open``, plus ``local_hostname``: the name
        sent in EHLO (by default the machine's fully qualified name), and the options of the
        transport the scheme picks (its ``open_options``), for example::

            AsyncTransport.open("smtps://alice@example.org", password=pw, max_connections=8)

        ``smtp`` / ``smtps`` take ``max_connections``, ``verify_domains`` and ``resolver``;
        ``smtp+mx`` takes ``port``, ``resolver`` and ``require_tls`` (see each transport's
        ``open`` for their types and meaning).

        Raises:
            InvalidArgument: a bad URL or argument, no transport serves the scheme, or an
                option that the scheme's transport does not take (nothing was sent).
            ConnectError: for a bare address (``alice@example.org``, looked up with RFC 6186
                SRV records), no submission server is announced.
            ConnectError, Timeout, TLSError: the connection could not be set up securely.
            AuthenticationError: the server refused the credentials.
        """
        from ._registry import transport_class

        if is_address(url):
            settings = {
                "password": password, "auth": auth, "security": security,
                "ssl_context": ssl_context, "timeout": timeout, "connect_timeout": connect_timeout,
                "limits": limits, "logger": logger, "allow_insecure_auth": allow_insecure_auth,
                "local_hostname": local_hostname, **backend_options,
            }  # fmt: skip
            opening = cls._open_address(url, settings)
            return AsyncOpening(opening)  # unasync: return opening
        parsed = MailURL.parse(url)
        backend = transport_class(parsed.scheme)
        if not issubclass(backend, cls):
            raise InvalidArgument(f"{parsed.scheme!r} URLs open a {backend.__name__}")
        unknown = sorted(set(backend_options) - backend.open_options)
        if unknown:
            takes = ", ".join(sorted(backend.open_options)) or "no other option"
            raise InvalidArgument(
                f"{backend.__name__} does not take {', '.join(unknown)} (it takes {takes})"
            )
        options = make_options(
            parsed,
            default_security=backend.schemes,
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
        transport = backend(options, **backend_options)
        return AsyncOpening(transport._open())  # unasync: return transport._open()

    @classmethod
    async def _open_address(cls, address: str, settings: dict[str, Any]) -> Self:
        # RFC 6186 / RFC 8314: the domain's SRV records name its submission servers, implicit
        # TLS first. The address is the user name.
        found = await discover(address)
        if not found.submission:
            raise ConnectError(f"the domain of {address!r} announces no submission server (SRV)")
        return await cls.open(found.submission[0].url("smtp", address), **settings)

    async def _open(self) -> Self:
        try:
            await self._connect()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def _connect(self) -> None:
        """Connect and authenticate (backends override this)."""
        raise UnsupportedOperation(f"{type(self).__name__} cannot connect", capability="OPEN")

    @property
    def options(self) -> Options:
        """The options this transport was opened with (the password is not in its repr)."""
        return self._options

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._options.url}>"

    async def send(
        self,
        message: email.message.Message | bytes,
        *,
        sender: str | None = None,
        recipients: Iterable[str] | None = None,
        mail_options: Sequence[str] = (),
        rcpt_options: Sequence[str] = (),
    ) -> SendResult:
        """Send ``message``; return which recipients accepted it and which refused.

        The envelope comes from the headers (Sender/From; To/Cc/Bcc) unless ``sender`` and
        ``recipients`` are given; bytes need both. Bcc is not transmitted.

        Raises:
            InvalidArgument: a malformed address or message (nothing was sent).
            SendError: no recipient accepted the message.
        """
        raise UnsupportedOperation(f"{type(self).__name__} cannot send", capability="SEND")

    async def aclose(self) -> None:
        """Say goodbye and close the connection. Safe to call more than once."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
