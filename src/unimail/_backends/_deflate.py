"""Deflate compression of a whole connection (IMAP COMPRESS=DEFLATE, RFC 4978), sans-I/O.

RFC 4978 section 3: after the tagged OK of ``COMPRESS DEFLATE`` both directions carry one raw
deflate stream each (RFC 1951, no zlib or gzip header: ``wbits=-15``), and each side flushes
its compressor whenever it has nothing more to send, so that the peer can read everything it
was sent ("Z_SYNC_FLUSH" or "Z_PARTIAL_FLUSH"; this side uses the first).

Both byte streams (``_anyio.AsyncStream`` and its twin ``_socket.SyncStream``) use this class
between the socket and their receive buffer. Inflating is bounded: one call never produces more
than :data:`CHUNK` bytes, whatever the ratio, and what is left of the input waits in
:attr:`Deflate.pending` for the next call. A decompression bomb therefore arrives as an
ordinary stream of chunks, and meets the same ``Limits`` (line length, literal size, response
size) as uncompressed data: ``LimitExceeded`` long before memory runs out.
"""

from __future__ import annotations

import zlib

from .._errors import ProtocolError

__all__ = ["CHUNK", "Deflate"]

#: The most bytes one :meth:`Deflate.decompress` call returns (the size of one receive).
CHUNK = 65536


class Deflate:
    """The compressor of what is sent and the decompressor of what is received."""

    def __init__(self) -> None:
        self._out = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
        self._in = zlib.decompressobj(-15)
        #: Bytes sent and received on the wire (compressed), for the protocol trace.
        self.wire_sent = 0
        self.wire_received = 0

    def compress(self, data: bytes) -> bytes:
        """Return the wire bytes for ``data``, flushed so that the peer can read all of it."""
        wire = self._out.compress(data) + self._out.flush(zlib.Z_SYNC_FLUSH)
        self.wire_sent += len(wire)
        return wire

    @property
    def pending(self) -> bool:
        """True when received input is still waiting to be inflated (call :meth:`more`)."""
        return bool(self._in.unconsumed_tail)

    def decompress(self, wire: bytes) -> bytes:
        """Inflate received ``wire`` bytes: at most :data:`CHUNK` bytes, maybe none yet.

        Raises:
            ProtocolError: the data is not a valid deflate stream, or goes on after its end.
        """
        self.wire_received += len(wire)
        return self._inflate(wire)

    def more(self) -> bytes:
        """Inflate more of the input kept back by the last call (see :attr:`pending`)."""
        return self._inflate(self._in.unconsumed_tail)

    def _inflate(self, wire: bytes) -> bytes:
        if self._in.eof and wire:
            raise ProtocolError("the server sent data after the end of its compressed stream")
        try:
            data = self._in.decompress(wire, CHUNK)
        except zlib.error as error:
            raise ProtocolError(f"the server's compressed data is corrupt: {error}") from None
        if self._in.unused_data:
            # A server may end its stream when it closes the connection (Dovecot does after
            # LOGOUT), but nothing may follow the end (RFC 4978 section 3).
            raise ProtocolError("the server sent data after the end of its compressed stream")
        return data
