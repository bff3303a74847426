"""A TCP proxy that cuts the connection at a chosen moment, for the copy resume tests.

It forwards bytes between the client and a real server (plaintext, so it can see them) and,
when the chosen side sends the n-th chunk holding a marker, closes both connections without
forwarding that chunk. ``CuttingProxy(host, port, marker=b"APPENDUID", side="server",
occurrence=2)`` drops the connection just after the server stored the second appended message
and before the client heard it: the worst moment for a copy.

``CuttingProxy(host, port, after=1234, side="client")`` instead forwards exactly the first
1234 bytes the client sends (over all its connections), then closes both connections: a cut
at an arbitrary byte, for the send fault tests. ``replace=(old, new)`` rewrites what the
server sends (``old`` and ``new`` of the same length, so that byte counts do not change),
e.g. to hide an extension the server announces.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType
from typing import Literal

__all__ = ["CuttingProxy"]


class CuttingProxy:
    """Forwards 127.0.0.1:``port`` (see :attr:`port`) to ``host``:``target_port``."""

    def __init__(
        self,
        host: str,
        target_port: int,
        *,
        marker: bytes | None = None,
        side: Literal["client", "server"],
        occurrence: int = 1,
        after: int | None = None,
        replace: tuple[bytes, bytes] | None = None,
    ) -> None:
        if (marker is None) == (after is None):
            raise ValueError("give either marker= or after=")
        if replace is not None and len(replace[0]) != len(replace[1]):
            raise ValueError("replace= must keep the length")
        self._target = (host, target_port)
        self._marker, self._side, self._occurrence = marker, side, occurrence
        self._after, self._replace = after, replace
        self._forwarded = 0  # bytes forwarded from ``side`` (with after=)
        self._seen = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self.cut = False
        accept = threading.Thread(target=self._accept, daemon=True)
        accept.start()
        self._threads.append(accept)

    @property
    def port(self) -> int:
        """The port the proxy listens on."""
        port: int = self._listener.getsockname()[1]
        return port

    def _accept(self) -> None:
        while not self._stopping:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self._target)
            with self._lock:
                self._sockets += [client, server]
            for source, sink, side in ((client, server, "client"), (server, client, "server")):
                pump = threading.Thread(target=self._pump, args=(source, sink, side), daemon=True)
                pump.start()
                self._threads.append(pump)

    def _pump(self, source: socket.socket, sink: socket.socket, side: str) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            if data and side == "server" and self._replace is not None:
                data = data.replace(*self._replace)
            if data and side == self._side and self._marker is not None and self._marker in data:
                with self._lock:
                    self._seen += 1
                    cut = self._seen == self._occurrence
                if cut:
                    self.cut = True
                    data = b""
            if data and side == self._side and self._after is not None:
                with self._lock:
                    room = self._after - self._forwarded
                    self._forwarded += len(data)
                if room < len(data):
                    self.cut = True
                    with contextlib.suppress(OSError):
                        if room > 0:
                            sink.sendall(data[:room])
                    data = b""
            if not data:
                for sock in (source, sink):
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                return
            try:
                sink.sendall(data)
            except OSError:
                return

    def close(self) -> None:
        """Stop listening and close every connection."""
        self._stopping = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=10)
        for sock in self._sockets:
            sock.close()

    def __enter__(self) -> CuttingProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
