"""A TCP proxy that cuts the connection at a chosen moment, for the copy resume tests.

It forwards bytes between the client and a real server (plaintext, so it can see them) and,
when the chosen side sends the n-th chunk holding a marker, closes both connections without
forwarding that chunk. ``CuttingProxy(host, port, marker=b"APPENDUID", side="server",
occurrence=2)`` drops the connection just after the server stored the second appended message
and before the client heard it: the worst moment for a copy.
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
        marker: bytes,
        side: Literal["client", "server"],
        occurrence: int = 1,
    ) -> None:
        self._target = (host, target_port)
        self._marker, self._side, self._occurrence = marker, side, occurrence
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
            if data and side == self._side and self._marker in data:
                with self._lock:
                    self._seen += 1
                    cut = self._seen == self._occurrence
                if cut:
                    self.cut = True
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
