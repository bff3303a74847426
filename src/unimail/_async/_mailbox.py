"""The mailbox interface: what you read mail from, whatever the backend.

``AsyncMailbox.open(url, ...)`` picks the backend from the URL scheme (see ``_registry``),
connects, authenticates and returns the backend's subclass. A backend implements ``_connect``
and the operations it supports; everything else raises ``UnsupportedOperation``.
"""

from __future__ import annotations

import logging
import ssl
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar

from .._errors import ConnectError, InvalidArgument, UnsupportedOperation
from .._models import Capability, FolderInfo
from .._opening import AsyncOpening  # unasync: remove
from .._options import Limits, Options, Security, TokenProvider, make_options
from .._url import MailURL, is_address
from ._folder import AsyncFolder
from ._smtp_dns import discover

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["AsyncMailbox"]


class AsyncMailbox:
    """A connected mailbox: folders of messages.

    Use it as a context manager so that the connection is closed (IMAP LOGOUT, POP3 QUIT)::

        async with AsyncMailbox.open("imaps://alice@mail.example.org", password=pw) as box:
            async for info in box.folder("INBOX").search():
                print(info.uid, info.envelope.subject)
    """

    #: URL schemes this backend serves, with the security each implies by default.
    schemes: ClassVar[dict[str, Security]] = {}

    def __init__(self, options: Options) -> None:
        """Store ``options``; does no I/O. Use :meth:`open` to get a connected mailbox."""
        self._options = options
        self._capabilities: frozenset[Capability] = frozenset()

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
    ) -> AsyncOpening[Self]:  # unasync: ) -> Self:
        """Connect to the mailbox at ``url`` and log in; return the backend's mailbox.

        ``await AsyncMailbox.open(...)`` returns the mailbox; ``async with
        AsyncMailbox.open(...) as box:`` also closes it at the end of the block.

        Args:
            url: ``imaps://user@host[:port]``, ``imap://...`` (STARTTLS), or another
                registered scheme. The user name is percent-encoded; never put a password here.
                A bare address (``alice@example.org``) is looked up in DNS (RFC 6186 SRV
                records) and logged in with as the user name.
            password: the password, for password-based mechanisms.
            auth: a SASL mechanism name (``"PLAIN"``, ...) or an OAuth2 token provider;
                by default the strongest mechanism both sides support.
            security: ``"tls"``, ``"starttls"`` or ``"plaintext"``; by default from the scheme.
                ``"plaintext"`` disables encryption entirely: only for tests on localhost.
            ssl_context: the TLS context; by default one that verifies certificates and host
                names against the system's trust store.
            timeout: seconds each network operation may take; ``None`` waits forever.
            connect_timeout: seconds the connection (TCP and TLS handshake) may take.
            limits: bounds on what is read from the server.
            logger: where the protocol trace goes (DEBUG), default ``unimail.protocol``.
            allow_insecure_auth: with ``security="plaintext"``, also allow credentials to be
                sent unencrypted. Both must be set for that to happen.

        Raises:
            InvalidArgument: a bad URL or argument (nothing was sent).
            ConnectError, Timeout, TLSError: the connection could not be set up securely.
            AuthenticationError: the server refused the credentials.
        """
        from ._registry import mailbox_class

        if is_address(url):
            settings = {
                "password": password, "auth": auth, "security": security,
                "ssl_context": ssl_context, "timeout": timeout, "connect_timeout": connect_timeout,
                "limits": limits, "logger": logger, "allow_insecure_auth": allow_insecure_auth,
            }  # fmt: skip
            opening = cls._open_address(url, settings)
            return AsyncOpening(opening)  # unasync: return opening
        parsed = MailURL.parse(url)
        backend = mailbox_class(parsed.scheme)
        if not issubclass(backend, cls):
            raise InvalidArgument(f"{parsed.scheme!r} URLs open a {backend.__name__}")
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
        )
        box = backend(options)
        return AsyncOpening(box._open())  # unasync: return box._open()

    @classmethod
    async def _open_address(cls, address: str, settings: dict[str, Any]) -> Self:
        # RFC 6186: the domain's SRV records name its IMAP and POP3 servers; IMAP is preferred,
        # implicit TLS before STARTTLS (RFC 8314). The address is the user name.
        found = await discover(address)
        for scheme, endpoints in (("imap", found.imap), ("pop3", found.pop3)):
            if endpoints:
                return await cls.open(endpoints[0].url(scheme, address), **settings)
        raise ConnectError(f"the domain of {address!r} announces no IMAP or POP3 server (SRV)")

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
    def capabilities(self) -> frozenset[Capability]:
        """What this backend, on this server, can do."""
        return self._capabilities

    @property
    def options(self) -> Options:
        """The options this mailbox was opened with (the password is not in its repr)."""
        return self._options

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._options.url}>"

    def _unsupported(self, what: str, capability: Capability | str) -> UnsupportedOperation:
        return UnsupportedOperation(
            f"{type(self).__name__} cannot {what}: it lacks {capability}",
            capability=str(capability),
        )

    async def folders(self) -> list[FolderInfo]:
        """Return every folder of the mailbox."""
        raise self._unsupported("list folders", Capability.FOLDERS)

    def folder(self, name: str) -> AsyncFolder:
        """Return the folder ``name`` (no I/O: errors surface at the first operation)."""
        raise self._unsupported("open folders", Capability.FOLDERS)

    async def create_folder(self, name: str) -> None:
        """Create the folder ``name``."""
        raise self._unsupported("create folders", Capability.FOLDERS)

    async def rename_folder(self, old: str, new: str) -> None:
        """Rename folder ``old`` to ``new``."""
        raise self._unsupported("rename folders", Capability.FOLDERS)

    async def delete_folder(self, name: str) -> None:
        """Delete the folder ``name`` and the messages in it."""
        raise self._unsupported("delete folders", Capability.FOLDERS)

    async def aclose(self) -> None:
        """Log out and close the connection. Safe to call more than once; never raises for a
        connection that is already broken."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
