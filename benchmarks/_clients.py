"""Small helpers shared by the network jobs: optional imports, unimail backends, raw TLS."""

from __future__ import annotations

import contextlib
import importlib
import select
import socket
import ssl
from collections.abc import Callable
from types import ModuleType

__all__ = ["exchange", "optional", "raw_tls", "read_until", "unimail_serves"]


def optional(module: str) -> ModuleType | None:
    """Import a peer library, or None when it is not installed."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def unimail_serves(scheme: str, *, transport: bool = False) -> bool:
    """True when unimail has a backend for ``scheme`` (POP3 and SMTP arrive later)."""
    from unimail import UnimailError
    from unimail._async import _registry

    try:
        if transport:
            _registry.transport_class(scheme)
        else:
            _registry.mailbox_class(scheme)
    except (UnimailError, ImportError):
        return False
    return True


def raw_tls(host: str, port: int, context: ssl.SSLContext) -> ssl.SSLSocket:
    """A blocking TLS socket: what every wire limit is built on."""
    sock = socket.create_connection((host, port), timeout=60)
    try:
        return context.wrap_socket(sock, server_hostname=host)
    except BaseException:
        sock.close()
        raise


def read_until(
    sock: ssl.SSLSocket, buffer: bytearray, marker: bytes, since: int | None = None
) -> int:
    """Receive into ``buffer`` until ``marker`` appears at or after ``since``; return where.

    By default only bytes received from now on are searched (the end of what is buffered).
    """
    # recv_into one reused buffer: recv(n) would allocate n bytes for every TLS record.
    scratch = bytearray(1 << 18)
    view = memoryview(scratch)
    start = len(buffer) if since is None else since + len(marker)
    while True:
        found = buffer.find(marker, max(0, start - len(marker)))
        if found >= 0:
            return found
        start = len(buffer)
        received = sock.recv_into(view)
        if not received:
            raise ConnectionError("the server closed the connection")
        buffer += view[:received]


def exchange(sock: ssl.SSLSocket, outgoing: bytes, on_data: Callable[[memoryview], bool]) -> None:
    """Write all of ``outgoing`` while reading, until ``on_data(chunk)`` returns True.

    One thread, non-blocking, driven by ``select``: an SSL socket must not be read and written
    from two threads at once, and writing everything before reading could fill both socket
    buffers and stall both sides.
    """
    view = memoryview(outgoing)
    scratch = memoryview(bytearray(1 << 18))
    sent = 0
    sock.setblocking(False)
    try:
        while True:
            writing = [sock] if sent < len(view) else []
            readable, writable, _ = select.select([sock], writing, [], 60)
            if not readable and not writable and not sock.pending():
                raise TimeoutError("no progress for 60 s")
            if writable:
                with contextlib.suppress(ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    sent += sock.send(view[sent : sent + (1 << 16)])
            if readable or sock.pending():
                try:
                    while True:
                        received = sock.recv_into(scratch)
                        if not received:
                            raise ConnectionError("the server closed the connection")
                        if on_data(scratch[:received]):
                            return
                        if not sock.pending():
                            break
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    pass
    finally:
        sock.setblocking(True)
