"""One IMAP connection: connect, greet, STARTTLS, log in, run commands, log out.

This is the I/O half of the IMAP backend. The sans-I/O half (``_proto/imap``) says what bytes
to send and what the replies mean; this module moves the bytes and applies the security
defaults of DESIGN.md: STARTTLS required for ``imap://`` (never "if available"), PREAUTH on a
connection that must be upgraded is fatal, capabilities learned before TLS are discarded, and
credentials never travel unencrypted without the caller's explicit opt-in.
"""

from __future__ import annotations

import base64
import contextlib

import attrs

from .._backends._anyio import AsyncStream
from .._errors import (
    AuthenticationError,
    CommandError,
    ConnectionLost,
    ProtocolError,
    TLSError,
    UnimailError,
    UnsupportedOperation,
)
from .._options import Options, Security
from .._proto.imap._capability import capabilities_from
from .._proto.imap._parser import Response
from .._proto.imap._protocol import ImapProtocol, State
from .._proto.imap._wire import Arg, Atom

__all__ = ["AsyncImapClient", "Reply"]

_DEFAULT_PORTS = {Security.TLS: 993, Security.STARTTLS: 143, Security.PLAINTEXT: 143}

# Response codes after which trying again later may work (RFC 5530).
_TEMPORARY_CODES = frozenset({"UNAVAILABLE", "INUSE", "LIMIT", "OVERQUOTA", "SERVERBUG"})


@attrs.frozen
class Reply:
    """The outcome of one command: its tagged OK and the untagged responses before it."""

    tagged: Response
    untagged: list[Response]


class AsyncImapClient:
    """An IMAP connection that runs one command at a time."""

    def __init__(self, stream: AsyncStream, options: Options) -> None:
        """Wrap a connected stream. Use :meth:`connect` instead of calling this."""
        self._stream = stream
        self._options = options
        self._proto = ImapProtocol(options.limits)
        self._capabilities: frozenset[str] = frozenset()

    @property
    def capabilities(self) -> frozenset[str]:
        """The server's current capabilities, upper case."""
        return self._capabilities

    @property
    def state(self) -> State:
        """The connection state (not authenticated, authenticated, selected, logout)."""
        return self._proto.state

    @classmethod
    async def connect(cls, options: Options) -> AsyncImapClient:
        """Connect, read the greeting and, for STARTTLS, upgrade the connection.

        Raises:
            ConnectError, Timeout: the server could not be reached.
            TLSError: TLS could not be set up as required (see the module docstring).
            ProtocolError: the greeting is malformed.
            CommandError: the server greeted with BYE.
        """
        url, security = options.url, options.security
        port = url.port or _DEFAULT_PORTS[security]
        stream = await AsyncStream.connect(
            url.host,
            port,
            tls=options.tls_context() if security is Security.TLS else None,
            connect_timeout=options.connect_timeout,
            timeout=options.timeout,
            limits=options.limits,
            logger=options.logger,
        )
        client = cls(stream, options)
        try:
            await client._greet()
        except BaseException:
            await stream.aclose()
            raise
        return client

    async def _greet(self) -> None:
        greeting = await self._read()
        if greeting.name == "BYE":
            raise CommandError(
                f"the server refused the connection: {greeting.text}", code="BYE",
                text=greeting.text, temporary=True,
            )  # fmt: skip
        if self._options.security is Security.STARTTLS:
            if greeting.name == "PREAUTH":
                # RFC 9051 7.1.4: PREAUTH leaves no way to negotiate STARTTLS.
                raise TLSError("the server sent PREAUTH, so STARTTLS is impossible: refusing")
            self._capabilities = capabilities_from([greeting]) or await self.capability()
            if "STARTTLS" not in self._capabilities:
                raise TLSError("the server does not offer STARTTLS (security='starttls')")
            try:
                await self.run("STARTTLS")
            except CommandError as exc:
                raise TLSError(f"the server refused STARTTLS: {exc.text}") from None
            self._proto.start_tls()
            await self._stream.start_tls(self._options.tls_context(), self._options.url.host)
            # RFC 9051 6.2.1: forget everything learned before TLS and ask again.
            self._capabilities = await self.capability()
        else:
            self._capabilities = capabilities_from([greeting]) or await self.capability()

    async def capability(self) -> frozenset[str]:
        """Ask the server for its capabilities (and remember them)."""
        reply = await self.run("CAPABILITY")
        found = capabilities_from([*reply.untagged, reply.tagged])
        if found is None:
            raise ProtocolError("the server answered CAPABILITY without capabilities")
        self._capabilities = found
        return found

    async def login(self) -> None:
        """Authenticate with the user name of the URL and the password.

        Raises:
            AuthenticationError: refused, LOGINDISABLED, no password, or the connection is
                unencrypted without ``allow_insecure_auth``.
            UnsupportedOperation: the requested mechanism is not available.
        """
        options = self._options
        if self.state is State.AUTHENTICATED:
            return  # PREAUTH on an implicit-TLS or explicitly plaintext connection
        if not self._stream.is_tls and not options.allow_insecure_auth:
            raise AuthenticationError(
                "refusing to send credentials over an unencrypted connection "
                "(set allow_insecure_auth=True together with security='plaintext' to allow it)"
            )
        user, password = options.url.username, options.password
        if user is None or password is None:
            raise AuthenticationError("a user name (in the URL) and a password are needed")
        mechanism = options.auth.upper() if isinstance(options.auth, str) else None
        if mechanism == "PLAIN" or (mechanism is None and "LOGINDISABLED" in self.capabilities):
            if "AUTH=PLAIN" not in self.capabilities:
                raise AuthenticationError("the server offers neither LOGIN nor AUTH=PLAIN")
            token = base64.b64encode(f"\0{user}\0{password}".encode()).decode("ascii")
            if "SASL-IR" in self.capabilities:  # RFC 4959: initial response on the command line
                await self._login_command("AUTHENTICATE", Atom("PLAIN"), Atom(token))
            else:
                await self._login_command("AUTHENTICATE", Atom("PLAIN"), continuation=token)
        elif mechanism in (None, "LOGIN"):
            await self._login_command("LOGIN", user, password)
        else:
            raise UnsupportedOperation(
                f"authentication mechanism {mechanism or options.auth!r} is not supported yet",
                capability=f"AUTH={mechanism}",
            )

    async def _login_command(self, name: str, *args: Arg, continuation: str | None = None) -> None:
        try:
            reply = await self.run(name, *args, secret=True, continuation=continuation)
        except CommandError as exc:
            raise AuthenticationError(f"the server refused the credentials: {exc.text}") from None
        # RFC 9051 6.2.3: capabilities may change after login; the OK usually carries them.
        found = capabilities_from([*reply.untagged, reply.tagged])
        self._capabilities = found if found is not None else await self.capability()

    async def run(
        self, name: str, *args: Arg, secret: bool = False, continuation: str | None = None
    ) -> Reply:
        """Send one command and read until its tagged reply.

        Args:
            name: the command (``"UID"`` for UID FETCH and friends).
            args: its arguments (see ``_proto.imap._wire``).
            secret: the arguments are credentials: the trace shows ``***`` instead.
            continuation: a line (base64 SASL data) to send when the server asks with ``+``.

        Raises:
            CommandError: the server answered NO or BAD.
            ConnectionLost: the server said BYE or closed the connection.
        """
        literal_plus = "LITERAL+" in self._capabilities
        command = self._proto.command(name, *args, literal_plus=literal_plus)
        untagged: list[Response] = []
        for index, segment in enumerate(command.segments):
            if index:
                # A synchronising literal: wait for "+ go ahead" before sending its bytes.
                refused = await self._until_continuation(command.tag, untagged)
                if refused is not None:
                    return self._finish(command.name, refused, untagged)
            redacted = b"%s %s ***\r\n" % (command.tag.encode(), name.encode()) if secret else None
            await self._stream.send(segment, redacted=redacted)
        while True:
            response = await self._read()
            if response.tag == command.tag:
                return self._finish(command.name, response, untagged)
            if response.tag == "+":
                if continuation is None:
                    raise ProtocolError(f"unexpected continuation request during {name}")
                await self._stream.send(continuation.encode("ascii") + b"\r\n", redacted=b"***\r\n")
                continuation = None
                continue
            self._untagged(command.name, response, untagged)

    async def _until_continuation(self, tag: str, untagged: list[Response]) -> Response | None:
        while True:
            response = await self._read()
            if response.tag == "+":
                return None
            if response.tag == tag:
                return response  # refused before the literal: the tagged NO/BAD follows up
            self._untagged("", response, untagged)

    def _untagged(self, name: str, response: Response, untagged: list[Response]) -> None:
        if response.name == "BYE" and name != "LOGOUT":
            raise ConnectionLost(f"the server closed the connection: {response.text}")
        untagged.append(response)

    def _finish(self, name: str, tagged: Response, untagged: list[Response]) -> Reply:
        if tagged.name == "OK":
            return Reply(tagged, untagged)
        code = tagged.code
        raise CommandError(
            f"IMAP {name} failed: {tagged.name} {f'[{code}] ' if code else ''}{tagged.text}",
            code=tagged.name,
            enhanced_code=code,
            text=tagged.text,
            temporary=code in _TEMPORARY_CODES,
        )

    async def _read(self) -> Response:
        try:
            while True:
                response = self._proto.next_response()
                if response is not None:
                    return response
                self._proto.receive_data(await self._stream.receive_some())
        except UnimailError:
            # A broken connection stays broken: after a protocol error, a limit or a lost
            # connection nothing more is read from or written to this stream.
            await self._stream.aclose()
            raise

    async def aclose(self) -> None:
        """Log out (when the connection still works) and close. Never raises."""
        if not self._stream.closed and self.state not in (State.LOGOUT, State.GREETING):
            # Closing anyway: a broken connection needs no goodbye.
            with contextlib.suppress(UnimailError):
                await self.run("LOGOUT")
        await self._stream.aclose()
