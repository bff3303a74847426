"""One POP3 connection: connect, greet, STLS, CAPA, run commands (pipelined when offered), QUIT.

This is the I/O half of the POP3 backend. The sans-I/O half (``_proto/pop3``) says what bytes
to send and what the replies mean; this module moves the bytes and applies the security
defaults of DESIGN.md: STLS required for ``pop3://`` (never "if available"), capabilities
learned before TLS discarded and asked again, and (in ``_pop3_auth``) credentials never sent
unencrypted without the caller's explicit opt-in.

Commands are queued with :meth:`AsyncPop3Client.submit` and their replies read in order with
:meth:`AsyncPop3Client.next_reply` (then :meth:`AsyncPop3Client.next_chunk` for a body). When
the server announces PIPELINING (RFC 2449 section 6.6) up to ``WINDOW`` commands are in flight
at once, so reading N messages costs a few round trips instead of N; without it, each command
is sent when the previous reply has been read. The window is small enough (a few KiB of
commands) that the server's receive buffer always takes them: sending never blocks while the
server waits for us to read, so the two sides cannot deadlock (RFC 2449 section 6.6 warns
about exactly that).
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Callable, Iterable
from typing import NoReturn

from .._backends._anyio import AsyncStream
from .._errors import (
    CommandError,
    LimitExceeded,
    ProtocolError,
    TLSError,
    UnimailError,
)
from .._options import Options, Security
from .._proto.pop3._capa import Pop3Capabilities, parse_capa
from .._proto.pop3._commands import Command
from .._proto.pop3._protocol import Continuation, Data, End, Event, Pop3Protocol, Reply, State
from .._proto.pop3._reply import StatusLine, split_listing

__all__ = ["WINDOW", "AsyncPop3Client", "command_error"]

_DEFAULT_PORTS = {Security.TLS: 995, Security.STARTTLS: 110, Security.PLAINTEXT: 110}

#: How many commands may be in flight at once when the server pipelines, refilled by half a
#: window at a time so that one send carries many commands. Half a window of RETR/TOP/DELE
#: lines is at most 512 * 13 bytes (6.5 KiB), which any server's receive buffer takes
#: whole: a send never waits for the server, so neither side can block the other.
WINDOW = 1024


def _in_body(proto: Pop3Protocol) -> bool:
    """True while the reply being read is in its multi-line body (bulk data)."""
    return proto.in_body


def command_error(name: str, status: StatusLine) -> CommandError:
    """Return the error for a ``-ERR`` reply to ``name``: RESP-CODE and temporary flag kept."""
    code = f"[{status.code}] " if status.code else ""
    return CommandError(
        f"POP3 {name or 'greeting'} failed: -ERR {code}{status.text}",
        code="-ERR",
        enhanced_code=status.code,
        text=status.text,
        temporary=status.temporary,
    )


class AsyncPop3Client:
    """A POP3 connection. Create it with :meth:`connect`; log in with ``_pop3_auth.login``."""

    def __init__(self, stream: AsyncStream, options: Options) -> None:
        """Wrap a connected stream. Use :meth:`connect` instead of calling this."""
        self._stream = stream
        self._options = options
        self._proto = Pop3Protocol(options.limits)
        self._capabilities = Pop3Capabilities.unknown()
        self._greeting = StatusLine(ok=True)
        # Commands submitted and not sent yet (sent when the window has room).
        self._unsent: collections.deque[Command] = collections.deque()

    @property
    def capabilities(self) -> Pop3Capabilities:
        """What the server announced with CAPA, asked again after STLS and after login."""
        return self._capabilities

    @property
    def greeting(self) -> StatusLine:
        """The server's greeting (it holds the APOP timestamp, if any)."""
        return self._greeting

    @property
    def state(self) -> State:
        """The session state (authorization, transaction, update, closed)."""
        return self._proto.state

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

    @property
    def closed(self) -> bool:
        """True once the connection is closed."""
        return self._stream.closed

    @property
    def options(self) -> Options:
        """The options the connection was opened with."""
        return self._options

    @property
    def busy(self) -> bool:
        """True while replies of earlier commands are still unread (see :meth:`drain`)."""
        return bool(self._unsent) or self._proto.pending > 0

    @classmethod
    async def connect(cls, options: Options) -> AsyncPop3Client:
        """Connect, read the greeting, ask CAPA and, for ``pop3://``, upgrade with STLS.

        Raises:
            ConnectError, Timeout: the server could not be reached.
            TLSError: TLS could not be set up as required (STLS missing, refused or answered
                with garbage, bytes injected before the handshake, a certificate that does not
                verify).
            CommandError: the server greeted with ``-ERR`` (``temporary`` for ``[SYS/TEMP]``).
            ProtocolError: the greeting is malformed.
        """
        url, security = options.url, options.security
        stream = await AsyncStream.open_for(options, url.port or _DEFAULT_PORTS[security])
        client = cls(stream, options)
        try:
            await client._greet()
        except BaseException:
            await stream.aclose()
            raise
        return client

    async def _greet(self) -> None:
        reply = await self._next_reply()
        self._greeting = reply.status
        if not reply.status.ok:
            raise command_error("", reply.status)
        await self.capa()
        if self._options.security is Security.STARTTLS:
            if not self._capabilities.stls:
                raise TLSError("the server does not offer STLS (security='starttls')")
            try:
                status = await self.simple(Command.make("STLS"), check=False)
            except ProtocolError as exc:  # LimitExceeded too; the stream is closed already
                raise TLSError(f"the server answered STLS with garbage: {exc}") from exc
            if not status.ok:
                raise TLSError(f"the server refused STLS: {status.text}")
            try:
                self._proto.start_tls()
            except TLSError:
                await self._stream.aclose()
                raise
            await self._stream.start_tls(self._options.tls_context(), self._options.url.host)
            # RFC 2595 section 4: forget what was learned before TLS and ask again.
            self._capabilities = Pop3Capabilities.unknown()
            await self.capa()

    async def capa(self) -> Pop3Capabilities:
        """Ask the server for its capabilities (CAPA) and remember them.

        A server without CAPA (RFC 1939 only) answers ``-ERR``: its capabilities are then
        ``known=False`` and the optional commands are tried when needed.
        """
        status, body = await self.listing(Command.make("CAPA"))
        if status.ok:
            self._capabilities = parse_capa(body)
            self._proto.pipelining = self._capabilities.pipelining
        else:
            self._capabilities = Pop3Capabilities.unknown()
            self._proto.pipelining = False
        return self._capabilities

    # -- running commands --------------------------------------------------------------------

    async def submit(self, commands: Iterable[Command]) -> None:
        """Queue ``commands``; they are sent as the window allows, their replies read in order.

        Raises:
            ConnectionLost, Timeout: sending failed (the connection is closed).
        """
        self._unsent.extend(commands)
        await self._fill()

    async def _fill(self) -> None:
        proto = self._proto
        if not self._unsent:
            return
        if not proto.pipelining or proto.state is not State.TRANSACTION:
            if proto.pending == 0:
                command = self._unsent.popleft()
                await self._send(command)
            return
        if proto.pending > WINDOW // 2:
            return
        room = WINDOW - proto.pending
        batch = [self._unsent.popleft() for _ in range(min(room, len(self._unsent)))]
        await self._stream.send(b"".join(proto.send(c) for c in batch))

    async def _send(self, command: Command) -> None:
        await self._stream.send(self._proto.send(command), redacted=command.redacted())

    async def next_reply(self, whole: int = 0, *, listing: bool = False) -> Reply:
        """Send what the window allows, then return the status line of the next reply.

        When it ``has_body``, read the body with :meth:`next_chunk` or :meth:`read_body`
        before the next call, unless ``reply.body`` holds it already (with ``whole`` > 0, a
        body of at most ``whole`` bytes that arrived with its status line).

        Args:
            whole: gather a body of at most this many bytes into ``reply.body``.
            listing: the body is a listing (CAPA, LIST, UIDL): it shares the status line's
                one deadline; a message body (RETR, TOP) renews it as it arrives.

        Raises:
            ProtocolError: a malformed reply (the connection is closed).
            ConnectionLost, Timeout: the connection broke or stalled (it is closed).
        """
        if self._unsent:
            await self._fill()
        return await self._next_reply(whole, listing=listing)

    async def _next_reply(self, whole: int = 0, *, listing: bool = False) -> Reply:
        event = await self._event(whole, listing=listing)
        if not isinstance(event, Reply):
            await self._broken(ProtocolError(f"unexpected {type(event).__name__} from server"))
        return event

    async def next_chunk(self) -> bytes | None:
        """Return the next piece of the current reply's body, or ``None`` at its end."""
        event = await self._event()
        if isinstance(event, Data):
            return event.data
        if isinstance(event, End):
            return None
        await self._broken(ProtocolError("a body was expected"))

    async def read_body(self, limit: int, what: str) -> bytes:
        """Return the whole body of the current reply, at most ``limit`` bytes.

        Raises:
            LimitExceeded: the body is longer than ``limit`` (the connection is closed: the
                rest is never read into memory).
        """
        pieces: list[bytes] = []
        size = 0
        while (chunk := await self.next_chunk()) is not None:
            size += len(chunk)
            if size > limit:
                await self._broken(LimitExceeded(f"{what} is larger than {limit} bytes"))
            pieces.append(chunk)
        return b"".join(pieces)

    async def next_continuation(self) -> Continuation | Reply:
        """Return the next line of an AUTH exchange: a challenge or the final status."""
        event = await self._event()
        if not isinstance(event, (Continuation, Reply)):
            await self._broken(ProtocolError("unexpected data during AUTH"))
        return event

    async def send_line(self, data: bytes, *, redacted: bytes | None = None) -> None:
        """Send one line of an AUTH exchange (base64, or ``*`` to cancel)."""
        await self._stream.send(self._proto.send_continuation(data), redacted=redacted)

    async def simple(self, command: Command, *, check: bool = True) -> StatusLine:
        """Run one command with a single-line reply and return its status.

        Raises:
            CommandError: ``-ERR`` (when ``check``), with the RESP-CODE in ``enhanced_code``.
        """
        await self.drain()
        await self.submit([command])
        reply = await self.next_reply()
        if reply.streams:
            await self.read_body(self._options.limits.max_response_size, command.name)
        if check and not reply.status.ok:
            raise command_error(command.name, reply.status)
        return reply.status

    async def listing(self, command: Command) -> tuple[StatusLine, list[bytes]]:
        """Run one command with a multi-line reply (CAPA, LIST, UIDL) and return its status
        and lines. A ``-ERR`` is returned, not raised.

        Raises:
            LimitExceeded: the reply is larger than ``max_response_size`` or a line longer
                than ``max_line_length``.
        """
        await self.drain()
        await self.submit([command])
        return await self.next_listing(command.name)

    async def next_listing(self, name: str) -> tuple[StatusLine, list[bytes]]:
        """Read the next reply as a listing (see :meth:`listing`), ``name`` its command."""
        limits = self._options.limits
        reply = await self.next_reply(whole=limits.max_response_size, listing=True)
        if not reply.has_body:
            return reply.status, []
        body = reply.body
        if body is None:
            body = await self.read_body(limits.max_response_size, f"the {name} reply")
        try:
            return reply.status, split_listing(body, limits.max_line_length)
        except LimitExceeded as exc:
            await self._broken(exc)

    async def drain(self) -> None:
        """Read and discard the replies of commands sent earlier (a caller that stopped
        reading half-way, e.g. by leaving a loop), so the next reply is the next command's."""
        self._unsent.clear()
        while self._proto.pending:
            reply = await self._next_reply()
            if reply.streams:
                while await self.next_chunk() is not None:
                    pass

    async def _event(self, whole: int = 0, *, listing: bool = False) -> Event:
        """Read until the next event. One deadline covers a status line (and, with
        ``listing``, the whole CAPA/LIST/UIDL block gathered with it), however slowly it
        trickles in; the bytes of a message body renew it: a long RETR only has to keep
        arriving (see the stream module's docstring for the rule)."""
        proto, stream = self._proto, self._stream
        deadline = stream.deadline()
        try:
            while True:
                event = proto.next_event(whole)
                if event is not None:
                    return event
                if not listing and _in_body(proto):
                    deadline = stream.deadline()
                proto.receive_data(await stream.receive_some(deadline))
        except UnimailError:
            # A broken connection stays broken: nothing more is read from or written to it.
            await stream.aclose()
            raise

    async def _broken(self, error: UnimailError) -> NoReturn:
        await self._stream.aclose()
        raise error

    # -- ending ------------------------------------------------------------------------------

    async def quit(self) -> None:
        """Send QUIT and wait for its reply: in the transaction state this commits the
        deletions (RFC 1939 section 6), then close.

        Raises:
            CommandError: the server answered ``-ERR`` (RFC 1939: some deletions failed).
            ConnectionLost, Timeout: no reply: whether deletions were committed is unknown.
        """
        try:
            await self.simple(Command.make("QUIT"))
        finally:
            await self._stream.aclose()

    async def aclose(self) -> None:
        """QUIT (when logged in and the connection still works) and close. Never raises.

        Before login there is nothing to commit, and a server that just refused something
        is not waited for: the connection is simply closed.
        """
        if not self._stream.closed and self.state is State.TRANSACTION:
            with contextlib.suppress(UnimailError):
                await self.quit()
        await self._stream.aclose()

    async def abort(self) -> None:
        """Close the connection without QUIT: nothing marked with DELE is deleted."""
        await self._stream.aclose()
