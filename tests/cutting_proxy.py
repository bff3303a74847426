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

import abc
import contextlib
import socket
import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Literal

__all__ = ["CuttingProxy", "RelayProxy"]


class RelayProxy(abc.ABC):
    """Forwards 127.0.0.1:``port`` (see :attr:`port`) to ``host``:``target_port``, with one
    thread per direction of each connection; :meth:`_pump` decides what passes. Shared by this
    module's proxy and ``tests/fault_jobs.ByteCutProxy``."""

    def __init__(self, host: str, target_port: int) -> None:
        """Start listening (a subclass sets its own state first: connections may come at once)."""
        self._target = (host, target_port)
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._stopping = False
        #: True once the proxy cut (or stalled) its connections.
        self.cut = False
        self._start(self._accept)

    @property
    def port(self) -> int:
        """The port the proxy listens on."""
        port: int = self._listener.getsockname()[1]
        return port

    def _start(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        with self._lock:
            self._threads.append(thread)

    def _accept(self) -> None:
        while not self._stopping:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self._target, timeout=10)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, server]
                refused = self._refuses()
            if refused:
                self._shutdown([client, server])
                continue
            self._start(self._pump, client, server, False)
            self._start(self._pump, server, client, True)

    def _refuses(self) -> bool:
        """Whether a new connection is closed at once (called holding the lock)."""
        return False

    @abc.abstractmethod
    def _pump(self, source: socket.socket, sink: socket.socket, from_server: bool) -> None:
        """Forward what ``source`` sends to ``sink`` until either side closes."""

    @staticmethod
    def _shutdown(sockets: Iterable[socket.socket]) -> None:
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Stop listening and close every connection."""
        self._stopping = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._lock:
            everything = list(self._sockets)
        self._shutdown(everything)
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=10)
        for sock in self._sockets:
            sock.close()

    def __enter__(self) -> RelayProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class CuttingProxy(RelayProxy):
    """Forwards 127.0.0.1:``port`` to ``host``:``target_port``, cut as the module says."""

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
        self._marker, self._side, self._occurrence = marker, side, occurrence
        self._after, self._replace = after, replace
        self._forwarded = 0  # bytes forwarded from ``side`` (with after=)
        self._seen = 0
        super().__init__(host, target_port)

    def __enter__(self) -> CuttingProxy:
        return self

    def _pump(self, source: socket.socket, sink: socket.socket, from_server: bool) -> None:
        side = "server" if from_server else "client"
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
