"""A TCP proxy that adds a fixed delay each way and counts round trips.

Every chunk read from one side is forwarded to the other ``delay`` seconds after it arrived
(bandwidth is not limited, so a pipelining client pays the delay once per burst, as on a real
long link). A *round trip* is counted each time the client sends after having received
something since it last sent: a client that waits for every reply counts one per command, a
pipelining client one per burst. TLS passes through untouched (the proxy sees only records).
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
from collections.abc import Iterator

__all__ = ["DelayProxy", "delay_proxy"]


class DelayProxy:
    """Listening on 127.0.0.1:``port``, forwarding to ``(host, upstream)``."""

    def __init__(self, host: str, upstream: int, delay: float) -> None:
        """Bind the listening socket (call :meth:`serve` in a thread to accept)."""
        self.host, self.upstream, self.delay = host, upstream, delay
        self._listener = socket.create_server((host, 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self.round_trips = 0
        self._closed = False
        self._threads: list[threading.Thread] = []

    def serve(self) -> None:
        """Accept connections until :meth:`close`."""
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection((self.host, self.upstream))
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            state = {"replied": True}  # the server's greeting comes first: that is one trip
            for source, sink, upward in ((client, server, True), (server, client, False)):
                thread = threading.Thread(
                    target=self._pump, args=(source, sink, upward, state), daemon=True
                )
                thread.start()
                self._threads.append(thread)

    def _pump(
        self, source: socket.socket, sink: socket.socket, upward: bool, state: dict[str, bool]
    ) -> None:
        pending: queue.SimpleQueue[tuple[float, bytes]] = queue.SimpleQueue()
        sender = threading.Thread(target=self._deliver, args=(pending, sink), daemon=True)
        sender.start()
        try:
            while True:
                data = source.recv(1 << 18)
                with self._lock:
                    if upward and state["replied"]:
                        self.round_trips += 1
                    state["replied"] = not upward
                pending.put((time.monotonic() + self.delay, data))
                if not data:
                    return
        except OSError:
            pending.put((0.0, b""))
        finally:
            sender.join()
            source.close()

    def _deliver(
        self, pending: queue.SimpleQueue[tuple[float, bytes]], sink: socket.socket
    ) -> None:
        try:
            while True:
                due, data = pending.get()
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                if not data:
                    sink.shutdown(socket.SHUT_WR)
                    return
                sink.sendall(data)
        except OSError:
            return

    def close(self) -> None:
        """Stop accepting; connections still open end when their peers close them."""
        self._closed = True
        self._listener.close()


@contextlib.contextmanager
def delay_proxy(host: str, upstream: int, delay: float = 0.020) -> Iterator[DelayProxy]:
    """A running :class:`DelayProxy` for the duration of the block."""
    proxy = DelayProxy(host, upstream, delay)
    thread = threading.Thread(target=proxy.serve, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.close()
        thread.join(timeout=5)
