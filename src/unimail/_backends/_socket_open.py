"""Opening :class:`._socket.SyncStream`'s connection, and its deadlines.

TCP, then implicit TLS, within one ``connect_timeout``; the monotonic deadlines every later
operation runs under. Used by :mod:`._socket` only; the blocking twin of :mod:`._anyio_open`.
"""

from __future__ import annotations

import socket
import ssl
import time

from .._errors import ConnectError, ConnectionLost, Timeout, TLSError
from ._reasons import errno_reason, tls_reason
from ._tls_sync import TLSClientSocket

# What SyncStream reads and writes: the TCP socket, or the TLS session over it.
Connection = socket.socket | TLSClientSocket

__all__ = [
    "Connection",
    "EndOfStream",
    "deadline_after",
    "open_socket",
    "remaining",
    "translate",
    "wrap_tls",
]


class EndOfStream(Exception):
    """The peer closed the connection (``recv`` returned ``b""``): anyio's EndOfStream."""


def open_socket(
    host: str,
    port: int,
    tls: ssl.SSLContext | None,
    hostname: str,
    *,
    connect_timeout: float | None,
    peer: str,
) -> Connection:
    """Connect to ``host:port`` and, with ``tls``, run the handshake for ``hostname``, all
    within ``connect_timeout`` seconds (``None``: no deadline).

    Raises:
        ConnectError: DNS failure, connection refused, network unreachable.
        Timeout: ``connect_timeout`` passed.
        TLSError: the TLS handshake failed.
    """
    sock: Connection | None = None
    try:
        deadline = deadline_after(connect_timeout)
        sock = _connect_tcp(host, port, deadline, peer)
        if tls is not None:
            sock = wrap_tls(sock, tls, hostname, deadline, peer)
    except BaseException as exc:
        if sock is not None:
            sock.close()
        if isinstance(exc, TimeoutError):
            message = f"connecting to {peer}: no connection within {connect_timeout} s"
            raise Timeout(message) from None
        raise
    return sock


def deadline_after(timeout: float | None) -> float | None:
    """The monotonic time ``timeout`` seconds from now (None: no deadline)."""
    return None if timeout is None else time.monotonic() + timeout


def remaining(deadline: float | None) -> float | None:
    """Seconds left before ``deadline``; raise TimeoutError (like fail_after) when none are."""
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return left


def _connect_tcp(host: str, port: int, deadline: float | None, peer: str) -> socket.socket:
    """Connect to the first address of ``host`` that answers, all within ``deadline``."""
    try:
        # getaddrinfo cannot be given a deadline without a thread: DNS is bounded by the
        # resolver's own timeouts (resolv.conf), the TCP connects by ``deadline``.
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ConnectError(f"cannot connect to {peer}: {errno_reason(exc)}") from exc
    errors: list[OSError] = []
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(remaining(deadline))
            sock.connect(address)
        except BaseException as exc:
            sock.close()
            if isinstance(exc, TimeoutError) or not isinstance(exc, OSError):
                raise
            errors.append(exc)  # ConnectionRefusedError, unreachable, ...: try the next one
            continue
        # Commands are small and answered one by one: do not let Nagle delay them.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    reason = "; ".join(errno_reason(error) for error in errors) or "no address found"
    raise ConnectError(f"cannot connect to {peer}: {reason}") from (errors[-1] if errors else None)


def wrap_tls(
    sock: socket.socket, context: ssl.SSLContext, hostname: str, deadline: float | None, peer: str
) -> TLSClientSocket:
    """Run the client side of a TLS handshake on ``sock`` within ``deadline``; raise TLSError
    if it fails (the socket is closed then)."""
    try:
        return TLSClientSocket.wrap(sock, context, hostname, lambda: remaining(deadline))
    except BaseException as exc:
        sock.close()
        if isinstance(exc, ssl.SSLEOFError) or (
            isinstance(exc, OSError) and not isinstance(exc, (TimeoutError, ssl.SSLError))
        ):
            message = f"TLS handshake with {peer} failed: the server closed the connection"
            raise TLSError(message) from exc
        if isinstance(exc, ssl.SSLError):  # includes ssl.CertificateError
            raise TLSError(f"TLS handshake with {peer} failed: {tls_reason(exc)}") from exc
        raise


def translate(
    exc: BaseException, doing: str, *, peer: str, timeout: float | None, unread: int
) -> BaseException:
    """Map a raw exception (met while ``doing``; ``unread`` bytes were buffered)
    to the library's tree; others (KeyboardInterrupt, ours) pass."""
    if isinstance(exc, TimeoutError):  # from remaining() or the socket timeout
        return Timeout(f"timed out after {timeout} s while {doing} ({peer})")
    if isinstance(exc, EndOfStream):
        discarded = f" ({unread} unread bytes discarded)" if unread else ""
        return ConnectionLost(f"{peer} closed the connection while {doing}{discarded}")
    if isinstance(exc, ssl.SSLError):
        return ConnectionLost(f"TLS error while {doing} ({peer}): {tls_reason(exc)}")
    if isinstance(exc, OSError):
        detail = str(exc) or type(exc).__name__
        return ConnectionLost(f"connection to {peer} broken while {doing}: {detail}")
    return exc
