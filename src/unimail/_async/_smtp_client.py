"""One SMTP connection: connect, greet, EHLO (HELO fallback), STARTTLS, AUTH, commands, QUIT.

The I/O half of the SMTP transport; the sans-I/O half (``_proto/smtp``) writes the commands
and reads the replies. Security defaults (DESIGN.md): ``smtp://`` requires STARTTLS and fails
with TLSError when it is missing or refused, and nothing is pipelined across it (bytes left in
the buffer when TLS starts are fatal: response injection); everything EHLO said before TLS is
forgotten and asked again; credentials never go over an unencrypted connection without
``allow_insecure_auth``. A broken connection stays broken: after a protocol error, a timeout
or a lost connection, the stream is closed and every later use raises.
"""

from __future__ import annotations

import contextlib
import functools
import socket
import ssl
from collections.abc import Callable

from .._backends._anyio import AsyncStream
from .._errors import (
    CommandError,
    ConnectError,
    ConnectionLost,
    ProtocolError,
    TLSError,
    UnimailError,
)
from .._options import Options, Security
from .._proto.smtp import EhloInfo, Reply, ReplyParser
from .._proto.smtp import _commands as cmd
from ._smtp_auth import authenticate

__all__ = ["DEFAULT_PORTS", "AsyncSmtpClient", "local_name"]

#: RFC 8314 section 3.3: 465 for implicit TLS; RFC 6409: 587 for submission with STARTTLS.
DEFAULT_PORTS = {Security.TLS: 465, Security.STARTTLS: 587, Security.PLAINTEXT: 587}


@functools.lru_cache(maxsize=1)
def local_name() -> str:
    """This machine's fully qualified name for EHLO, or ``localhost`` if it is not usable."""
    name = socket.getfqdn()
    try:
        cmd.ehlo(name)
    except UnimailError:
        return "localhost"
    return name


class AsyncSmtpClient:
    """An SMTP connection. Use :meth:`connect`; then :meth:`login`, :meth:`command`, ...

    Attributes:
        ehlo: what the server said in its last EHLO reply.
    """

    def __init__(self, stream: AsyncStream, options: Options, *, server_name: str) -> None:
        """Wrap a connected stream. Use :meth:`connect` instead of calling this."""
        self._stream = stream
        self._options = options
        self._server_name = server_name
        self._parser = ReplyParser(options.limits)
        self.ehlo = EhloInfo("")
        self.authenticated = False
        self.in_transaction = False

    @classmethod
    async def connect(
        cls,
        options: Options,
        *,
        host: str | None = None,
        port: int | None = None,
        server_name: str | None = None,
        opportunistic_tls: bool = False,
    ) -> AsyncSmtpClient:
        """Connect, read the greeting, EHLO, and STARTTLS as ``options.security`` says.

        Args:
            options: the transport's options.
            host, port: where to connect (default: the URL's host and port, or the default
                port of the security mode).
            server_name: the name to verify the certificate against (default ``host``).
            opportunistic_tls: with ``Security.STARTTLS``, use STARTTLS when offered and go on
                in plaintext when it is not (direct MX delivery, RFC 3207 section 4).

        Raises:
            ConnectError, Timeout: the server could not be reached.
            TLSError: TLS could not be set up as required.
            CommandError: the server refused the connection (a 554 greeting) or EHLO/HELO.
            ProtocolError: the server does not speak SMTP.
        """
        security = options.security
        host = host or options.url.host
        port = port or options.url.port or DEFAULT_PORTS[security]
        name = server_name or host
        stream = await AsyncStream.open_for(options, port, host=host, server_hostname=name)
        client = cls(stream, options, server_name=name)
        try:
            await client._greet(opportunistic_tls=opportunistic_tls)
        except BaseException:
            await stream.aclose()
            raise
        return client

    @property
    def is_tls(self) -> bool:
        """True when the connection is encrypted."""
        return self._stream.is_tls

    @property
    def closed(self) -> bool:
        """True once the connection is closed (by QUIT, by an error or by the peer)."""
        return self._stream.closed

    @property
    def peer(self) -> str:
        """The server as ``host:port``."""
        return self._stream.peer

    def hide_in_trace(
        self, redact: Callable[[bytes], bytes], safe_cut: Callable[[bytes], int] | None = None
    ) -> None:
        """Log what the server sends through ``redact`` from now on: a login's
        ``Redactor.redact_bytes``, as servers may quote refused credentials back; a partial
        line is cut only where ``safe_cut`` (``Redactor.safe_cut``) says."""
        self._stream.hide_in_trace(redact, safe_cut)

    async def _greet(self, *, opportunistic_tls: bool) -> None:
        greeting = await self.read_reply()
        if greeting.code != 220:
            # RFC 5321 3.1: 554 instead of 220 means "no service here"; keep reading nothing.
            raise ConnectError(f"the server at {self.peer} refused the connection: {greeting}")
        await self.hello()
        if self._options.security is Security.STARTTLS and not self.is_tls:
            if "STARTTLS" not in self.ehlo:
                if opportunistic_tls:
                    return
                raise TLSError(
                    f"the server at {self.peer} does not offer STARTTLS (security='starttls')"
                )
            await self.start_tls(self._options.tls_context())

    async def hello(self) -> EhloInfo:
        """Send EHLO (HELO if the server does not know EHLO) and remember the extensions.

        Raises:
            CommandError: both EHLO and HELO were refused.
        """
        name = self._options.local_hostname or local_name()
        reply = await self.command(cmd.ehlo(name), check=False)
        if reply.code == 250:
            self.ehlo = EhloInfo.parse(reply)
            return self.ehlo
        if reply.code in (500, 501, 502, 504, 550):  # RFC 5321 4.1.4: fall back to HELO
            reply = await self.command(cmd.helo(name), check=False)
            if reply.code == 250:
                self.ehlo = EhloInfo.parse(reply, esmtp=False)
                return self.ehlo
        raise self.error("EHLO", reply)

    async def start_tls(self, context: ssl.SSLContext) -> None:
        """Send STARTTLS alone, upgrade, then EHLO again (RFC 3207 section 4.2).

        Raises:
            TLSError: the server refused STARTTLS, answered it with garbage, bytes followed
                its reply (response injection), or the handshake failed.
        """
        try:
            reply = await self.command(cmd.starttls(), check=False)
        except ProtocolError as exc:  # LimitExceeded too; the stream is closed already
            raise TLSError(f"the server answered STARTTLS with garbage: {exc}") from exc
        if reply.code != 220:
            raise TLSError(f"the server at {self.peer} refused STARTTLS: {reply}")
        if self._parser.buffered:
            # Bytes after the 220 arrived in plaintext and would be read as protected replies.
            await self._stream.aclose()
            raise TLSError(
                f"{self._parser.buffered} bytes arrived from {self.peer} after its STARTTLS "
                "reply, before the TLS handshake: refusing to go on (possible injection)"
            )
        await self._stream.start_tls(context, self._server_name)
        # RFC 3207 4.2: the client MUST discard any knowledge obtained from the server before.
        self.ehlo = EhloInfo("")
        await self.hello()

    async def login(self) -> None:
        """Authenticate with AUTH (RFC 4954) as the URL's user, then EHLO again.

        Raises:
            AuthenticationError: refused, no usable mechanism, no credentials, or the
                connection is unencrypted without ``allow_insecure_auth``.
        """
        await authenticate(self, self._options)
        self.authenticated = True
        await self.hello()

    async def send(self, data: bytes, *, redacted: bytes | None = None) -> None:
        """Write ``data`` (commands, content) as it is."""
        try:
            await self._stream.send(data, redacted=redacted)
        except UnimailError:
            await self._stream.aclose()
            raise

    async def read_reply(self) -> Reply:
        """Read the next complete reply.

        Raises:
            ProtocolError, LimitExceeded: a malformed or oversized reply (connection closed).
            ConnectionLost, Timeout: the connection broke or the server did not answer in time.
        """
        try:
            # Pipelined replies are mostly buffered already: no clock read for those.
            if (reply := self._parser.next_reply()) is None:
                # One deadline for the whole reply, however slowly it trickles in (slowloris).
                deadline = self._stream.deadline()
                while (reply := self._parser.next_reply()) is None:
                    self._parser.receive_data(await self._stream.receive_some(deadline))
        except UnimailError:
            await self._stream.aclose()
            raise
        if reply.code == 421:
            # RFC 5321 3.8: the server is shutting the connection down, whatever we asked.
            await self._stream.aclose()
            raise ConnectionLost(f"the server at {self.peer} closed the connection: {reply}")
        return reply

    async def command(self, line: bytes, *, check: bool = True) -> Reply:
        """Send one command line and read its reply.

        Args:
            line: the command, CRLF included (see ``_proto.smtp._commands``).
            check: raise CommandError when the reply is not 2xx/3xx.
        """
        await self.send(line)
        reply = await self.read_reply()
        if check and not reply.positive:
            raise self.error(line.split(b" ", 1)[0].strip().decode("ascii", "replace"), reply)
        return reply

    @staticmethod
    def error(what: str, reply: Reply) -> CommandError:
        """Return the CommandError for ``reply`` refusing ``what``."""
        return CommandError(
            f"SMTP {what} failed: {reply}",
            code=str(reply.code),
            enhanced_code=reply.enhanced,
            text=reply.message,
            temporary=reply.temporary,
        )

    async def reset(self) -> None:
        """RSET: abort the current transaction (RFC 5321 4.1.1.5).

        Raises:
            ProtocolError: the server did not answer 250 (the connection is closed: its state
                is unknown, so it must not carry another message).
        """
        reply = await self.command(cmd.rset(), check=False)
        self.in_transaction = False
        if reply.code != 250:
            await self._stream.aclose()
            raise ProtocolError(f"the server answered RSET with {reply}")

    async def noop(self) -> None:
        """NOOP: check that the connection still works."""
        await self.command(cmd.noop())

    async def abort(self) -> None:
        """Close the connection at once, without QUIT (its state is unknown)."""
        await self._stream.aclose()

    async def aclose(self) -> None:
        """QUIT (when the connection still works) and close. Never raises."""
        if not self._stream.closed:
            with contextlib.suppress(UnimailError):
                await self.send(cmd.quit())
                await self.read_reply()
        await self._stream.aclose()
