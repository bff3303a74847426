"""The client side of TLS over a blocking socket, for :class:`._socket.SyncStream`.

The blocking twin of :mod:`._tls` (``TLSClientStream``), for the same reason: an
``ssl.SSLSocket`` returns one TLS record per ``recv()``, and servers send small records
(Dovecot's are about 3 KiB), each read with its own timeout set-up and system calls. Here the
standard library's ``ssl.SSLObject`` works over two ``MemoryBIO``: one ``recv`` of the socket
takes what the kernel holds (up to 64 KiB), and :meth:`TLSClientSocket.recv` decrypts every
whole record in it in one call. Certificate and host name checks are the context's, as with
``wrap_socket``.

It offers what ``SyncStream`` uses of a socket: ``settimeout``, ``send``, ``recv``, ``close``.
``recv`` returns ``b""`` at the end of the stream, with or without a TLS close_notify (mail
servers often skip it, and the mail protocol's own end marks a clean close), as an
``SSLSocket`` does by default. A TLS failure raises ``ssl.SSLError``, a broken socket
``OSError``, a passed timeout ``TimeoutError``.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable

__all__ = ["TLSClientSocket"]

# One socket read takes at most this much.
_READ_SIZE = 65536


class TLSClientSocket:
    """A TLS session over a connected blocking socket."""

    __slots__ = ("_incoming", "_outgoing", "_sock", "_ssl")

    def __init__(
        self,
        sock: socket.socket,
        ssl_object: ssl.SSLObject,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
    ) -> None:
        """Wrap the parts; use :meth:`wrap`, which also runs the handshake."""
        self._sock = sock
        self._ssl = ssl_object
        self._incoming = incoming
        self._outgoing = outgoing

    @classmethod
    def wrap(
        cls,
        sock: socket.socket,
        context: ssl.SSLContext,
        hostname: str,
        timeout: Callable[[], float | None],
    ) -> TLSClientSocket:
        """Run the client handshake over ``sock``, verifying as ``context`` says.

        Args:
            sock: the connected socket.
            context: the client context (certificate and host name checks).
            hostname: the name sent in SNI and checked against the certificate.
            timeout: gives the socket timeout before each wait (the time left before the
                handshake's deadline; raises ``TimeoutError`` when none is left).

        Returns:
            The encrypted socket.

        Raises:
            ssl.SSLError: the handshake failed (``ssl.SSLCertVerificationError`` when the
                certificate was refused; ``ssl.SSLEOFError`` when the server closed the
                connection).
            OSError: the socket broke; ``TimeoutError`` when the deadline passed.
        """
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        ssl_object = context.wrap_bio(incoming, outgoing, server_hostname=hostname)
        tls = cls(sock, ssl_object, incoming, outgoing)
        while True:
            try:
                ssl_object.do_handshake()
            except ssl.SSLWantReadError:
                sock.settimeout(timeout())
                tls._flush()
                tls._fill()
            else:
                break
        if outgoing.pending:
            sock.settimeout(timeout())
            tls._flush()
        return tls

    def settimeout(self, seconds: float | None) -> None:
        """Bound each later socket operation by ``seconds`` (as ``socket.settimeout``)."""
        self._sock.settimeout(seconds)

    def recv(self, max_bytes: int) -> bytes:
        """Return the decrypted data that has arrived (waiting for some), at most
        ``max_bytes``; ``b""`` at the end of the stream.

        Raises:
            ssl.SSLError: the server sent something that is not valid TLS.
            OSError: the socket broke; ``TimeoutError`` when the timeout passed.
        """
        if self._outgoing.pending:
            # What the last read had to answer (a TLS 1.3 key update): sent before reading
            # on, never after a read, where a failure would lose the data just decrypted.
            self._flush()
        data = self._read(max_bytes)
        if data and len(data) < max_bytes and self._incoming.pending:
            # The socket read that completed the first record usually brought more.
            pieces, size = [data], len(data)
            while size < max_bytes:
                try:
                    more = self._ssl.read(max_bytes - size)
                except ssl.SSLError:
                    break  # a partial record (or a fault, which the next recv raises)
                if not more:
                    break
                pieces.append(more)
                size += len(more)
            data = b"".join(pieces)
        return data

    def send(self, data: bytes | memoryview) -> int:
        """Encrypt all of ``data`` and send it within the socket's timeout; return its length.

        Raises:
            ssl.SSLError: the TLS session failed.
            OSError: the socket broke; ``TimeoutError`` when the timeout passed.
        """
        while True:
            try:
                self._ssl.write(data)
            except ssl.SSLWantReadError:  # a renegotiation waits for the server
                self._flush()
                self._fill()
            else:
                break
        self._flush()
        return len(data)

    def close(self) -> None:
        """Close the socket, without a TLS close_notify (see the module docstring)."""
        self._sock.close()

    def _read(self, max_bytes: int) -> bytes:
        """The next decrypted data, receiving from the socket until there is some."""
        while True:
            try:
                return self._ssl.read(max_bytes)
            except ssl.SSLWantReadError:
                if self._outgoing.pending:
                    self._flush()
                self._fill()
            except ssl.SSLError as exc:
                if isinstance(exc, ssl.SSLEOFError) or "UNEXPECTED_EOF" in str(exc):
                    return b""  # closed without close_notify
                raise

    def _fill(self) -> None:
        data = self._sock.recv(_READ_SIZE)
        if data:
            self._incoming.write(data)
        else:
            self._incoming.write_eof()  # the next SSLObject call raises SSLEOFError

    def _flush(self) -> None:
        # socket.sendall bounds all of it by the timeout (not each chunk, as SSLSocket does).
        self._sock.sendall(self._outgoing.read())
