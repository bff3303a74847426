"""The client side of TLS over an anyio byte stream, for :class:`._anyio.AsyncStream`.

Its blocking twin is :mod:`._tls_sync` (``TLSClientSocket``), for ``SyncStream``.

Why not anyio's ``TLSStream``: it returns one TLS record per ``receive()``, and servers send
small records (Dovecot's are about 3 KiB). Every receive of ``AsyncStream`` runs under a
deadline, a cancel scope that sets and clears a timer, and that costs more than decrypting the
record: downloading 165 MB of mail took some 50,000 receives, and the async facade took
1.46 times as long as the sync one on the same work. :meth:`TLSClientStream.receive` decrypts
every record that one transport receive brought (up to ``max_bytes``) in one call, as a TLS
socket's ``recv`` into a large buffer would.

The TLS work is the standard library's (``ssl.SSLObject`` over two ``MemoryBIO``: certificate
and host name checks as the context says); this module only moves bytes between the BIOs and
the transport. Errors are the ones anyio streams raise, which ``AsyncStream`` translates:
``EndOfStream`` when the server closes (with or without a TLS close_notify: mail servers often
skip it, and the mail protocol's own end marks a clean close), ``BrokenResourceError`` when the
transport breaks, ``ssl.SSLError`` for a TLS failure.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Protocol, TypeVar

import anyio
import anyio.abc

__all__ = ["ByteTransport", "TLSClientStream"]

_T = TypeVar("_T")


class ByteTransport(Protocol):
    """What a byte stream offers: anyio's TCP streams, and :class:`TLSClientStream` itself."""

    async def receive(self, max_bytes: int = 65536) -> bytes:
        """Wait for and return some bytes; raise ``anyio.EndOfStream`` at the end."""

    async def send(self, item: bytes) -> None:
        """Send all of ``item``."""

    async def aclose(self) -> None:
        """Close the stream."""


class TLSClientStream:
    """A TLS session over a connected byte stream: ``receive``, ``send``, ``aclose``."""

    __slots__ = ("_broken", "_incoming", "_outgoing", "_ssl", "_transport")

    def __init__(
        self,
        transport: ByteTransport,
        ssl_object: ssl.SSLObject,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
    ) -> None:
        """Wrap the parts; use :meth:`wrap`, which also runs the handshake."""
        self._transport = transport
        self._ssl = ssl_object
        self._incoming = incoming
        self._outgoing = outgoing
        self._broken = False

    @classmethod
    async def wrap(
        cls, transport: ByteTransport, context: ssl.SSLContext, hostname: str
    ) -> TLSClientStream:
        """Run the client handshake over ``transport``, verifying as ``context`` says.

        Args:
            transport: the connected plaintext stream.
            context: the client context (certificate and host name checks).
            hostname: the name sent in SNI and checked against the certificate.

        Returns:
            The encrypted stream.

        Raises:
            ssl.SSLError: the handshake failed (``ssl.SSLCertVerificationError`` when the
                certificate was refused).
            anyio.EndOfStream: the server closed the connection during the handshake.
            anyio.BrokenResourceError: the transport broke.
        """
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        ssl_object = context.wrap_bio(incoming, outgoing, server_hostname=hostname)
        stream = cls(transport, ssl_object, incoming, outgoing)
        await stream._drive(ssl_object.do_handshake)
        return stream

    async def receive(self, max_bytes: int = 65536) -> bytes:
        """Return the decrypted data that has arrived (waiting for some), at most ``max_bytes``.

        Raises:
            anyio.EndOfStream: the server closed the connection.
            anyio.BrokenResourceError: the transport broke.
            ssl.SSLError: the server sent something that is not valid TLS.
        """
        if self._outgoing.pending:
            # What the last read had to answer (a TLS 1.3 key update): sent before reading
            # on, never after a read, where a failure would lose the data just decrypted.
            await self._flush()
        data = await self._until_done(self._ssl.read, max_bytes)
        if not data:  # the server's close_notify
            raise anyio.EndOfStream
        # The transport receive that completed the first record usually brought more: decrypt
        # them now, without another receive (and its deadline) per record.
        if len(data) < max_bytes and self._incoming.pending:
            pieces, size = [data], len(data)
            while size < max_bytes:
                try:
                    more = self._ssl.read(max_bytes - size)
                except ssl.SSLError:
                    break  # a partial record (or a fault, which the next receive raises)
                if not more:
                    break  # close_notify: the next receive raises EndOfStream
                pieces.append(more)
                size += len(more)
            data = b"".join(pieces)
        return data

    async def send(self, item: bytes) -> None:
        """Encrypt and send all of ``item``.

        Raises:
            anyio.BrokenResourceError: the transport broke (also on every later call).
            ssl.SSLError: the TLS session failed.
        """
        await self._drive(self._ssl.write, item)

    async def aclose(self) -> None:
        """Close the transport, without a TLS close_notify (see the module docstring)."""
        await self._transport.aclose()

    async def _drive(self, step: Callable[..., _T], *args: object) -> _T:
        """Call ``step`` (an SSLObject method) until it stops asking for more bytes; send
        what it wrote."""
        result = await self._until_done(step, *args)
        if self._outgoing.pending:
            await self._flush()
        return result

    async def _until_done(self, step: Callable[..., _T], *args: object) -> _T:
        """Call ``step`` until it stops asking for more bytes (sending what it wrote before
        each wait); what it wrote last is left for the caller to send."""
        if self._broken:
            raise anyio.BrokenResourceError
        while True:
            try:
                return step(*args)
            except ssl.SSLWantReadError:
                if self._outgoing.pending:
                    await self._flush()
                await self._fill()
            except ssl.SSLWantWriteError:  # pragma: no cover - memory BIOs never fill up
                await self._flush()
            except ssl.SSLSyscallError as exc:
                self._broken = True
                raise anyio.BrokenResourceError from exc
            except ssl.SSLError as exc:
                self._broken = True
                if isinstance(exc, ssl.SSLEOFError) or "UNEXPECTED_EOF" in str(exc):
                    raise anyio.EndOfStream from None  # a close without close_notify
                raise

    async def _fill(self) -> None:
        """Receive what the transport has into the TLS object's input."""
        try:
            data = await self._transport.receive()
        except anyio.EndOfStream:
            self._incoming.write_eof()  # the next SSLObject call raises SSLEOFError
        except OSError as exc:
            self._broken = True
            raise anyio.BrokenResourceError from exc
        else:
            self._incoming.write(data)

    async def _flush(self) -> None:
        data = self._outgoing.read()
        try:
            await self._transport.send(data)
        except BaseException:
            # The records written consumed sequence numbers: once they are lost the server
            # cannot decrypt anything after them, so the session is over.
            self._broken = True
            raise
