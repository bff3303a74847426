"""The async byte stream on anyio: runs on asyncio and on trio.

Its blocking twin is :mod:`._socket` (``SyncStream``): same methods, same docstrings, same
error mapping; the generated sync facade calls it wherever the async source calls
:class:`AsyncStream`. Keep the two structurally parallel.

Every operation runs under one deadline (a cancel scope, ``_anyio_open.Deadline``): a server that
trickles one byte at a time cannot keep a read alive past ``timeout``. Every failure closes
the stream, and a closed stream stays closed: any later call raises
``ConnectionLost("connection is closed")``.

Replies read piecewise follow the deadline rule in the package's docstring
(:mod:`unimail._backends`): one deadline per reply, renewed by progress only for bulk data.

Raw exceptions (``OSError``, ``ssl.SSLError``, anyio's and trio's stream errors,
``TimeoutError``) are translated here, where they enter the library.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from collections.abc import Callable
from types import TracebackType
from typing import NoReturn

import anyio
import anyio.abc

from .._errors import (
    ConnectionLost,
    InvalidArgument,
    LimitExceeded,
    ProtocolError,
    TLSError,
)
from .._options import Limits, Options, Security
from ._anyio_open import Deadline, close_now, open_transport, translate, wrap_tls
from ._buffer import ReceiveBuffer
from ._deflate import Deflate
from ._reasons import peer_name
from ._tls import ByteTransport
from ._trace import Trace

__all__ = ["AsyncStream"]

# One receive asks for at most this much: bounds memory per call, and is the usual socket
# buffer size (a TLS record is at most 16 KiB anyway).
_RECEIVE_SIZE = 65536


class AsyncStream:
    """A connected byte stream to a mail server, with deadlines, limits and a protocol trace.

    Create one with :meth:`connect`. Reads are framed by an internal :class:`ReceiveBuffer`;
    every operation has a deadline of ``timeout`` seconds (``None``: wait forever). Any error
    below (except ``InvalidArgument``) closes the stream; afterwards every operation raises
    ``ConnectionLost("connection is closed")``.
    """

    def __init__(
        self,
        stream: ByteTransport,
        *,
        peer: str,
        timeout: float | None,
        limits: Limits,
        trace: Trace,
        is_tls: bool,
    ) -> None:
        """Wrap an already connected stream. Use :meth:`connect` instead of calling this."""
        self._stream = stream
        self._peer = peer
        self._timeout = timeout
        self._limits = limits
        self._buffer = ReceiveBuffer(limits)
        self._trace = trace
        self._is_tls = is_tls
        self._closed = False
        self._deflate: Deflate | None = None

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        *,
        tls: ssl.SSLContext | None = None,
        server_hostname: str | None = None,
        connect_timeout: float | None = 30.0,
        timeout: float | None = 60.0,
        limits: Limits = Limits(),  # noqa: B008 - Limits is a frozen, immutable value
        logger: logging.Logger | None = None,
    ) -> AsyncStream:
        """Open a TCP connection to ``host:port``, with implicit TLS when ``tls`` is given.

        Args:
            host: the server's host name or IP address.
            port: the TCP port.
            tls: an SSL context for implicit TLS (imaps, pop3s, smtps); the certificate and
                the host name are verified as the context says (verified by
                ``ssl.create_default_context()``). ``None``: plain TCP.
            server_hostname: the name to send (SNI) and verify; defaults to ``host``.
            connect_timeout: deadline in seconds for DNS, TCP connect and TLS handshake
                together; ``None`` waits forever.
            timeout: deadline in seconds of every later operation; ``None`` waits forever.
            limits: the bounds on what is read (line length, literal size).
            logger: where the protocol trace goes (default ``unimail.protocol``), at DEBUG.

        Returns:
            The connected stream.

        Raises:
            ConnectError: DNS failure, connection refused, network unreachable (the message
                names ``host:port`` and the operating system's reason).
            Timeout: ``connect_timeout`` passed.
            TLSError: the TLS handshake failed; the message gives the reason, such as
                ``certificate verify failed: ...``.
        """
        peer = peer_name(host, port)
        trace = Trace(logger, peer)
        stream = await open_transport(
            host, port, tls, server_hostname or host, connect_timeout=connect_timeout, peer=peer
        )
        trace.note(f"connected to {peer}" + (" with TLS" if tls is not None else ""))
        return cls(
            stream, peer=peer, timeout=timeout, limits=limits, trace=trace, is_tls=tls is not None
        )

    @classmethod
    async def open_for(
        cls,
        options: Options,
        port: int,
        *,
        host: str | None = None,
        server_hostname: str | None = None,
    ) -> AsyncStream:
        """Connect as ``options`` say: implicit TLS for ``Security.TLS`` (STARTTLS and plaintext
        start in the clear), with their timeouts, limits and logger. ``host`` defaults to the
        URL's host; ``server_hostname`` (SNI and certificate name) to ``host``.

        Raises:
            ConnectError, Timeout, TLSError: as :meth:`connect`.
        """
        return await cls.connect(
            host or options.url.host,
            port,
            tls=options.tls_context() if options.security is Security.TLS else None,
            server_hostname=server_hostname,
            connect_timeout=options.connect_timeout,
            timeout=options.timeout,
            limits=options.limits,
            logger=options.logger,
        )

    @property
    def is_tls(self) -> bool:
        """True when the stream is encrypted (implicit TLS or after :meth:`start_tls`)."""
        return self._is_tls

    @property
    def closed(self) -> bool:
        """True once the stream is closed, by :meth:`aclose` or by an error."""
        return self._closed

    @property
    def peer(self) -> str:
        """The server as ``"host:port"`` (``"[v6addr]:port"`` for IPv6 literals)."""
        return self._peer

    def hide_in_trace(
        self, redact: Callable[[bytes], bytes], safe_cut: Callable[[bytes], int] | None = None
    ) -> None:
        """Log what the server sends through ``redact`` from now on, cutting a partial line
        only where ``safe_cut`` says (see ``Trace.hide``)."""
        self._trace.hide(redact, safe_cut)

    async def send(self, data: bytes, *, redacted: bytes | None = None) -> None:
        """Send all of ``data`` within the deadline.

        Args:
            data: the bytes to send.
            redacted: what the protocol trace shows instead of ``data``; pass it whenever
                ``data`` holds a password, token or AUTH payload, which must never be logged.

        Raises:
            ConnectionLost: the connection broke, or the stream is closed.
            Timeout: the deadline passed.
        """
        self._check_open()
        if not data:
            return
        self._trace.sent(data, redacted)
        if self._deflate is not None:
            data = self._deflate.compress(data)
        try:
            with Deadline(self._timeout):
                await self._stream.send(data)
        except BaseException as exc:
            await self._fail(exc, "sending")

    async def read_line(self) -> bytes:
        """Read one line, including its terminator (``b"\\r\\n"``, or a bare ``b"\\n"``).

        The whole read has one deadline, however slowly the bytes arrive.

        Raises:
            LimitExceeded: the line is longer than ``limits.max_line_length``.
            ConnectionLost: EOF before the line ended, the connection broke, or the stream
                is closed.
            Timeout: the deadline passed.
        """
        self._check_open()
        try:
            with Deadline(self._timeout):
                while (line := self._buffer.take_line()) is None:
                    await self._receive_into_buffer()
        except BaseException as exc:
            await self._fail(exc, "reading a line")
        self._trace.received(line)
        return line

    async def read_exact(self, n: int) -> bytes:
        """Read exactly ``n`` bytes (an IMAP literal, a message body chunk).

        Raises:
            InvalidArgument: ``n`` is negative (nothing is read; the stream stays open).
            LimitExceeded: ``n`` is larger than ``limits.max_literal_size`` (checked first).
            ConnectionLost: EOF came first, the connection broke, or the stream is closed.
            Timeout: the deadline passed.
        """
        self._check_open()
        if n < 0:
            raise InvalidArgument(f"cannot read a negative number of bytes ({n})")
        if n > self._limits.max_literal_size:
            await self.aclose()
            limit = self._limits.max_literal_size
            raise LimitExceeded(f"{n} bytes announced, more than max_literal_size ({limit})")
        try:
            with Deadline(self._timeout):
                while (chunk := self._buffer.take_exact(n)) is None:
                    await self._receive_into_buffer()
        except BaseException as exc:
            await self._fail(exc, f"reading {n} bytes")
        self._trace.received(chunk)
        return chunk

    def deadline(self) -> float | None:
        """The deadline of a reply whose reading starts now, for :meth:`receive_some`.

        Returns:
            ``timeout`` seconds from now on the stream's clock (``anyio.current_time()``), or
            None when ``timeout`` is None (no deadline).
        """
        return None if self._timeout is None else anyio.current_time() + self._timeout

    async def receive_some(self, deadline: float | None = None) -> bytes:
        """Return the buffered bytes if there are any, else what one receive gives.

        Args:
            deadline: an absolute deadline from :meth:`deadline`, taken once for a whole
                reply read with several calls (see the module docstring); None: ``timeout``
                from now. Buffered bytes are returned even when it has passed.

        Returns:
            At most 64 KiB more than was buffered; never ``b""``.

        Raises:
            ConnectionLost: EOF, the connection broke, or the stream is closed.
            Timeout: the deadline passed.
        """
        self._check_open()
        if len(self._buffer):
            data = self._buffer.take_all()
        else:
            try:
                with Deadline(self._timeout, deadline):
                    data = await self._receive()
            except BaseException as exc:
                await self._fail(exc, "receiving")
        self._trace.received(data)
        return data

    async def receive_within(self, seconds: float) -> bytes | None:
        """Like :meth:`receive_some`, but a quiet ``seconds`` is no error: return None and
        keep the stream open (for IMAP IDLE and other long waits with their own deadline).

        Raises:
            ConnectionLost: EOF, the connection broke, or the stream is closed.
        """
        self._check_open()
        if len(self._buffer):
            data = self._buffer.take_all()
        else:
            try:
                with anyio.move_on_after(seconds):
                    data = await self._receive()
                    self._trace.received(data)
                    return data
                return None
            except anyio.get_cancelled_exc_class():
                # Cancelled from outside while waiting: nothing was consumed (a TLS record read
                # halfway stays in the TLS object), so the stream stays sound for the caller's
                # clean-up (IMAP IDLE's DONE).
                raise
            except BaseException as exc:
                await self._fail(exc, "waiting for data")
        self._trace.received(data)
        return data

    async def start_tls(self, context: ssl.SSLContext, server_hostname: str) -> None:
        """Upgrade the connection to TLS (STARTTLS, STLS), verifying as ``context`` says.

        Call it right after the server's go-ahead. Any byte already received and not read is
        fatal: it arrived in plaintext and could be taken for a protected response
        (response injection, CVE-2011-0411 class).

        Raises:
            TLSError: TLS is already on, bytes were buffered before the handshake, or the
                handshake failed (the message gives the reason, such as ``certificate verify
                failed: ...``).
            Timeout: the handshake did not finish within the deadline.
            ConnectionLost: the stream is closed.
        """
        self._check_open()
        if self._is_tls:
            await self.aclose()
            raise TLSError(f"TLS is already on with {self._peer}: refusing to start it again")
        if pending := len(self._buffer):
            await self.aclose()
            raise TLSError(
                f"{pending} bytes arrived from {self._peer} before the TLS handshake: "
                "refusing to upgrade (possible response injection)"
            )
        try:
            with anyio.fail_after(self._timeout):
                self._stream = await wrap_tls(self._stream, context, server_hostname, self._peer)
        except BaseException as exc:
            await self._fail(exc, "the TLS handshake")
        self._is_tls = True
        self._trace.note("TLS started")

    def start_compression(self) -> None:
        """Compress both directions from now on (IMAP COMPRESS=DEFLATE, RFC 4978).

        Call it right after the server's tagged OK to ``COMPRESS DEFLATE``: every byte
        received after that OK, buffered ones included, is compressed data. Received data is
        inflated in bounded chunks (see ``_deflate``), so the usual limits still apply.

        Raises:
            ProtocolError: compression is already on (RFC 4978 allows it once), or buffered
                bytes are not valid compressed data.
            ConnectionLost: the stream is closed.
        """
        self._check_open()
        if self._deflate is not None:
            raise ProtocolError("compression is already on")
        self._deflate = Deflate()
        self._trace.note("compression (deflate) started")
        pending = self._buffer.take_all()
        if pending:
            self._buffer.feed(self._deflate.decompress(pending))

    @property
    def compressed(self) -> bool:
        """True once :meth:`start_compression` was called."""
        return self._deflate is not None

    async def aclose(self) -> None:
        """Close the stream. Idempotent; never raises."""
        if self._closed:
            return
        self._closed = True
        self._buffer.take_all()
        self._trace.note("closed")
        # Do not wait for a TLS close_notify or for the peer.
        with contextlib.suppress(Exception):
            await close_now(self._stream)

    async def __aenter__(self) -> AsyncStream:
        """Return the stream itself."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the stream."""
        await self.aclose()

    def _check_open(self) -> None:
        if self._closed:
            raise ConnectionLost("connection is closed")

    async def _receive_into_buffer(self) -> None:
        self._buffer.feed(await self._receive())

    async def _receive(self) -> bytes:
        deflate = self._deflate
        if deflate is None:
            return await self._stream.receive(_RECEIVE_SIZE)
        while True:  # a deflate block may be cut anywhere: receive until it gives a byte
            if deflate.pending:
                data = deflate.more()
            else:
                data = deflate.decompress(await self._stream.receive(_RECEIVE_SIZE))
            if data:
                return data

    async def _fail(self, exc: BaseException, doing: str) -> NoReturn:
        """Close the stream (a broken connection stays broken) and raise ``exc`` translated."""
        error = translate(
            exc, doing, peer=self._peer, timeout=self._timeout, unread=len(self._buffer)
        )
        await self.aclose()
        if error is exc:
            raise exc
        raise error from exc
