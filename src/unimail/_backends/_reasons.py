"""How both streams name a peer and a failure in their error messages."""

from __future__ import annotations

import os
import socket
import ssl

__all__ = ["errno_reason", "peer_name", "tls_reason"]


def peer_name(host: str, port: int) -> str:
    """The server as ``"host:port"`` (``"[v6addr]:port"`` for IPv6 literals)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def errno_reason(exc: OSError) -> str:
    """The operating system's reason for a failed connect, as it words it, with the errno."""
    if exc.errno and not isinstance(exc, socket.gaierror):
        return f"{os.strerror(exc.errno)} (errno {exc.errno})"
    return str(exc) or type(exc).__name__


def tls_reason(exc: ssl.SSLError) -> str:
    """Why a TLS handshake failed, naming the verification failure when there is one."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {exc.verify_message}"
    return str(exc.reason or exc)
