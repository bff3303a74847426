"""One IMAP connection: connect, greet, STARTTLS, log in, run commands, log out.

This is the I/O half of the IMAP backend. The sans-I/O half (``_proto/imap``) says what bytes
to send and what the replies mean; this module moves the bytes and applies the security
defaults of DESIGN.md: STARTTLS required for ``imap://`` (never "if available"), PREAUTH on a
connection that must be upgraded is fatal, capabilities learned before TLS are discarded, and
credentials never travel unencrypted without the caller's explicit opt-in.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from .._backends._anyio import AsyncStream
from .._errors import (
    CommandError,
    ConnectionLost,
    LimitExceeded,
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
from ._imap_auth import login
from ._imap_command import (
    Pending,
    Reply,
    answer_continuation,
    check_greeting,
    check_tagged,
    check_untagged,
    redacted_command,
)

__all__ = ["AsyncImapClient", "Pending", "Reply"]

_DEFAULT_PORTS = {Security.TLS: 993, Security.STARTTLS: 143, Security.PLAINTEXT: 143}


def _in_literal(proto: ImapProtocol) -> bool:
    """True while the response being read is inside a literal (its bytes are bulk data)."""
    return proto.in_literal


class AsyncImapClient:
    """An IMAP connection that runs one command at a time."""

    def __init__(self, stream: AsyncStream, options: Options) -> None:
        """Wrap a connected stream. Use :meth:`connect` instead of calling this."""
        self._stream = stream
        self._options = options
        self._proto = ImapProtocol(options.limits)
        self._capabilities: frozenset[str] = frozenset()
        self._in_flight: Pending | None = None
        self._received = 0  # bytes fed to the protocol so far
        #: Called with every response as it is read: the mailbox's eye on status responses
        #: that may come with any command, such as ``[ALERT]`` (RFC 9051 section 7.1).
        self.observer: Callable[[Response], None] | None = None

    @property
    def capabilities(self) -> frozenset[str]:
        """The server's current capabilities, upper case."""
        return self._capabilities

    @property
    def state(self) -> State:
        """The connection state (not authenticated, authenticated, selected, logout)."""
        return self._proto.state

    @classmethod
    async def connect(
        cls, options: Options, *, observer: Callable[[Response], None] | None = None
    ) -> AsyncImapClient:
        """Connect, read the greeting and, for STARTTLS, upgrade the connection.

        ``observer`` becomes :attr:`observer` before the greeting is read (which may carry
        an ``[ALERT]``); with ``Security.STARTTLS`` only once the TLS handshake succeeded,
        since what arrives in plaintext may be forged.

        Raises:
            ConnectError, Timeout: the server could not be reached.
            TLSError: TLS could not be set up as required (see the module docstring), or
                the server answered STARTTLS with garbage.
            ProtocolError: the greeting is malformed.
            CommandError: the server greeted with BYE.
        """
        url, security = options.url, options.security
        port = url.port or _DEFAULT_PORTS[security]
        stream = await AsyncStream.open_for(options, port)
        client = cls(stream, options)
        client.observer = observer
        try:
            await client._greet()
        except BaseException:
            await stream.aclose()
            raise
        return client

    async def _greet(self) -> None:
        observer = self.observer
        if self._options.security is Security.STARTTLS:
            # Everything before the handshake arrives in plaintext, where anyone on the path
            # can forge it (an [ALERT] telling the user to call a number): the mailbox sees
            # nothing of it. Restored once TLS is up.
            self.observer = None
        greeting = await self._read()
        check_greeting(greeting, starttls=self._options.security is Security.STARTTLS)
        if self._options.security is Security.STARTTLS:
            self._capabilities = capabilities_from([greeting]) or await self.capability()
            if "STARTTLS" not in self._capabilities:
                raise TLSError("the server does not offer STARTTLS (security='starttls')")
            try:
                await self.run("STARTTLS")
            except CommandError as exc:
                raise TLSError(f"the server refused STARTTLS: {exc.text}") from None
            except ProtocolError as exc:  # LimitExceeded too; the stream is closed already
                raise TLSError(f"the server answered STARTTLS with garbage: {exc}") from exc
            self._proto.start_tls()
            await self._stream.start_tls(self._options.tls_context(), self._options.url.host)
            self.observer = observer
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

    @property
    def options(self) -> Options:
        """The options the connection was opened with."""
        return self._options

    @property
    def is_tls(self) -> bool:
        """True when the connection is encrypted."""
        return self._stream.is_tls

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

    async def login(self) -> None:
        """Authenticate with the credentials of the options (see ``_imap_auth``).

        Raises:
            AuthenticationError: refused, LOGINDISABLED, no acceptable mechanism, missing
                credentials, or an unencrypted connection without ``allow_insecure_auth``.
            UnsupportedOperation: the requested mechanism is not offered.
        """
        if self.state is State.AUTHENTICATED:
            return  # PREAUTH on an implicit-TLS or explicitly plaintext connection
        await login(self)

    @property
    def compressed(self) -> bool:
        """True once :meth:`compress` turned compression on."""
        return self._stream.compressed

    async def compress(self) -> None:
        """Compress the rest of the connection with deflate (RFC 4978 COMPRESS=DEFLATE).

        Worth it on slow or metered links (headers and text compress three to five times);
        on a fast link it costs CPU. Call it after login; a second call does nothing.

        Raises:
            UnsupportedOperation: the server does not offer COMPRESS=DEFLATE.
            CommandError: the server refused (for example when another layer compresses).
        """
        if self._stream.compressed:
            return
        if "COMPRESS=DEFLATE" not in self._capabilities:
            raise UnsupportedOperation(
                "the server does not offer COMPRESS=DEFLATE", capability="COMPRESS=DEFLATE"
            )
        await self.run("COMPRESS", Atom("DEFLATE"))
        # RFC 4978 section 3: everything after this tagged OK is compressed, both ways.
        self._stream.start_compression()

    async def capabilities_after_login(self, reply: Reply) -> None:
        """Take the capabilities a successful login announced, or ask for them again
        (RFC 9051 6.2.3: they may change after login)."""
        found = capabilities_from([*reply.untagged, reply.tagged])
        self._capabilities = found if found is not None else await self.capability()

    async def run(
        self,
        name: str,
        *args: Arg,
        secret: bool = False,
        respond: Callable[[bytes], bytes] | None = None,
    ) -> Reply:
        """Send one command and read until its tagged reply.

        Args:
            name: the command (``"UID"`` for UID FETCH and friends).
            args: its arguments (see ``_proto.imap._wire``).
            secret: the arguments are credentials: the trace shows ``***`` instead.
            respond: answers each ``+`` continuation request (SASL): it gets the decoded
                challenge and returns the response, which is sent base64-encoded.

        The untagged responses are gathered in memory, so together they are bounded by
        ``limits.max_response_size`` (counted as the bytes received while reading them).
        Commands whose answers may be larger stream them with :meth:`start` and
        :meth:`next_response` instead, which hold one response at a time.

        Raises:
            CommandError: the server answered NO or BAD.
            ConnectionLost: the server said BYE or closed the connection.
            LimitExceeded: the untagged responses passed ``max_response_size`` (the
                connection is closed).
        """
        pending = await self.start(name, *args, secret=secret)
        untagged: list[Response] = []
        while (response := await self.next_response(pending)) is not None:
            if response.tag != "+":
                untagged.append(response)
                await self._check_gathered(pending)
                continue
            if respond is None:
                raise ProtocolError(f"unexpected continuation request during {name}")
            try:
                answer = answer_continuation(response, respond)
            except UnimailError:
                # RFC 9051 6.2.2: "*" cancels the exchange; the server answers BAD.
                await self._stream.send(b"*\r\n")
                with contextlib.suppress(CommandError):
                    while await self.next_response(pending) is not None:
                        pass
                raise
            await self._stream.send(answer, redacted=b"***\r\n")
        assert pending.tagged is not None  # next_response returns None only after the reply
        return Reply(pending.tagged, untagged)

    async def start(self, name: str, *args: Arg, secret: bool = False) -> Pending:
        """Send a command and return at once; read its responses with :meth:`next_response`.

        A command still in flight (a caller stopped reading early) is read to its end first,
        so the connection never gets out of step.
        """
        await self.drain()
        received_at = self._received
        command = self._proto.command(
            name,
            *args,
            literal_plus="LITERAL+" in self._capabilities,
            literal_minus="LITERAL-" in self._capabilities,
        )
        pending = Pending(command.tag, command.name, received_at)
        self._in_flight = pending
        redacted = None
        if secret:
            redacted = redacted_command(command.tag, command.name, args)
        for index, segment in enumerate(command.segments):
            if index:
                # A synchronising literal: wait for "+ go ahead" before sending its bytes.
                while (response := await self._read()).tag != "+":
                    if response.tag == command.tag:
                        pending.early = response  # refused before the literal was sent
                        return pending
                    check_untagged(pending, response)
                    pending.queued.append(response)
                    await self._check_gathered(pending)
            await self._stream.send(segment, redacted=redacted)
        return pending

    async def next_response(self, pending: Pending) -> Response | None:
        """Return the next untagged response or continuation request of ``pending``, or None
        once its tagged OK arrived (then in ``pending.tagged``).

        Raises:
            CommandError: the tagged reply is NO or BAD.
            ConnectionLost: the server said BYE (except during LOGOUT) or went away.
        """
        if pending.queued:
            return pending.queued.pop(0)
        if pending.tagged is not None:
            return None
        response = pending.early or await self._read()
        pending.early = None
        if response.tag == pending.tag:
            pending.tagged = response
            self._in_flight = None
            check_tagged(pending.name, response)
            return None
        check_untagged(pending, response)
        return response

    async def drain(self) -> None:
        """Read the command in flight (if any) to its end, discarding its responses."""
        pending = self._in_flight
        if pending is not None:
            with contextlib.suppress(CommandError):
                while await self.next_response(pending) is not None:
                    pass
            self._in_flight = None

    async def wait_response(self, seconds: float) -> Response | None:
        """Return the next response if one arrives within ``seconds``, else None (the
        connection stays usable). For IDLE, whose quiet periods are no error.

        Raises:
            ConnectionLost: the connection broke or the server went away.
            ProtocolError: the server sent something malformed.
        """
        try:
            while (response := self._proto.next_response()) is None:
                data = await self._stream.receive_within(seconds)
                if data is None:
                    return None
                self._received += len(data)
                self._proto.receive_data(data)
        except UnimailError:
            await self._stream.aclose()
            raise
        if self.observer is not None:
            self.observer(response)
        if response.name == "BYE" and response.tag == "*":
            raise ConnectionLost(f"the server closed the connection: {response.text}")
        return response

    def set_literal_sink(self, sink: Callable[[bytes, int], None] | None) -> None:
        """Stream literal data to ``sink(chunk, literal_size)`` instead of holding it in
        responses (their part for it is ``b""``); None restores normal reading."""
        self._proto.set_literal_sink(sink)

    async def send_line(self, line: bytes) -> None:
        """Send a raw line (IDLE's ``DONE``); CR, LF and NUL are not allowed inside it."""
        if b"\r" in line or b"\n" in line or b"\0" in line:
            raise ProtocolError("a raw IMAP line cannot hold CR, LF or NUL")
        await self._stream.send(line + b"\r\n")

    async def _check_gathered(self, pending: Pending) -> None:
        """Bound the responses held in memory for ``pending``: without it a server that
        floods ``* LIST`` and never sends the tagged reply would exhaust memory."""
        limit = self._options.limits.max_response_size
        if self._received - pending.received_at > limit:
            await self._stream.aclose()
            raise LimitExceeded(
                f"the responses to IMAP {pending.name} are larger than max_response_size "
                f"({limit} bytes)"
            )

    async def _read(self) -> Response:
        stream = self._stream
        # One deadline for the whole response, however slowly it trickles in (slowloris);
        # literal data renews it: a 1 GB literal only has to keep arriving (see the stream
        # module's docstring for the rule). Taken at the first wait: most responses of a
        # long answer are already received, and need no clock read.
        deadline: float | None = None
        waited = False
        try:
            while True:
                response = self._proto.next_response()
                if response is not None:
                    if self.observer is not None:
                        self.observer(response)
                    return response
                if not waited or _in_literal(self._proto):
                    deadline, waited = stream.deadline(), True
                data = await stream.receive_some(deadline)
                self._received += len(data)
                self._proto.receive_data(data)
        except UnimailError:
            # A broken connection stays broken: after a protocol error, a limit or a lost
            # connection nothing more is read from or written to this stream.
            await self._stream.aclose()
            raise

    async def abort(self) -> None:
        """Close the connection at once, without LOGOUT: the caller found the server's
        answers out of step (a broken connection stays broken: every later use raises
        ``ConnectionLost``)."""
        await self._stream.aclose()

    async def aclose(self) -> None:
        """Log out (when the connection still works) and close. Never raises."""
        if not self._stream.closed and self.state not in (State.LOGOUT, State.GREETING):
            # Closing anyway: a broken connection needs no goodbye.
            with contextlib.suppress(UnimailError):
                await self.run("LOGOUT")
        await self._stream.aclose()
