"""The hostile server kit: bad certificates, a server with floods, recorded credentials.

Built on :mod:`tests.scripted_server` (which records what the client sent before and after
TLS, ``received_plain`` / ``received_tls``). This module adds:

- :class:`Certificates`: one trusted CA (``client_context()`` trusts it) and server contexts
  presenting a good certificate, one from an untrusted CA, an expired one and one issued for
  another host name (trustme).
- :class:`HostileServer`: a :class:`ScriptedServer` with more steps: :class:`Flood` (send a
  huge amount of data from one small chunk, stopping quietly when the client hangs up, and
  count what was sent), :class:`Answer` (read a line, reply with what a function makes of
  it: echo an IMAP tag, extend a SCRAM nonce) and :class:`ReadUntil` (read SMTP DATA to its
  end, however many lines it has).
- :data:`USER`, :data:`PASSWORD` and :func:`secret_forms` (how the password could leak),
  :func:`peak_memory` (tracemalloc), :func:`scram_server_first` (a SCRAM server's answer).

The script format shared by IMAP, POP3 and SMTP is in :mod:`tests.hostile_dialects`.

Everything here is synchronous: the server runs in a thread, and the async test sources in
``tests/_async`` (converted to ``tests/_sync``) use it unchanged.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import ssl
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import trustme

from tests.scripted_server import (
    ReadLine,
    ScriptedServer,
    Step,
    _StepFailed,
)

__all__ = [
    "CERTS",
    "PASSWORD",
    "USER",
    "Answer",
    "Certificates",
    "Flood",
    "HostileServer",
    "ReadUntil",
    "peak_memory",
    "scram_server_first",
    "secret_forms",
]

#: The credentials every hostile test logs in with; distinctive, so a leak is easy to find.
USER = "alice"
PASSWORD = "S3cret-hunter2-pw"


@dataclass
class Peak:
    """The largest amount of memory Python had allocated, in bytes (see :func:`peak_memory`)."""

    bytes: int = 0


@contextlib.contextmanager
def peak_memory() -> Iterator[Peak]:
    """Measure the peak of Python's allocations (tracemalloc, every thread) inside the block.

    ``with peak_memory() as peak: ...`` then ``peak.bytes``. Only what is allocated inside the
    block counts (tracing starts at its entry).
    """
    peak = Peak()
    tracemalloc.start()
    try:
        yield peak
    finally:
        peak.bytes = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


def secret_forms(user: str = USER, password: str = PASSWORD) -> list[bytes]:
    """Every form in which the password could travel or be logged: as is, and base64-encoded
    alone (AUTH LOGIN) and inside a SASL PLAIN message."""
    raw = password.encode()
    return [
        raw,
        base64.b64encode(raw),
        base64.b64encode(b"\0" + user.encode() + b"\0" + raw),
    ]


class Certificates:
    """A trusted test CA and server certificates that must each be refused but one.

    ``client_context()`` trusts only :attr:`ca`. ``server_context(kind)`` presents:
    ``"good"`` (issued by the CA for localhost and 127.0.0.1), ``"untrusted"`` (same names, a
    CA the client does not know), ``"expired"`` (the trusted CA, valid until yesterday) and
    ``"wrong_host"`` (the trusted CA, for mail.example.org only).
    """

    KINDS = ("untrusted", "expired", "wrong_host")

    def __init__(self) -> None:
        """Create the CAs and issue the certificates (a few milliseconds, ECDSA keys)."""
        names = ("localhost", "127.0.0.1")
        now = datetime.datetime.now(datetime.timezone.utc)
        self.ca = trustme.CA()
        rogue = trustme.CA()
        self._leaves = {
            "good": self.ca.issue_cert(*names),
            "untrusted": rogue.issue_cert(*names),
            "expired": self.ca.issue_cert(
                *names,
                not_before=now - datetime.timedelta(days=30),
                not_after=now - datetime.timedelta(days=1),
            ),
            "wrong_host": self.ca.issue_cert("mail.example.org"),
        }

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts the test CA and verifies host names."""
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context

    def server_context(self, kind: str = "good") -> ssl.SSLContext:
        """A server context presenting the certificate of ``kind`` (see the class)."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._leaves[kind].configure_cert(context)
        return context


CERTS = Certificates()


@dataclass(frozen=True)
class Flood(Step):
    """Send ``prefix``, then ``chunk`` again and again up to ``total`` bytes, then ``suffix``.

    The client is expected to hang up long before the end: that ends the step quietly (no
    error), and :attr:`HostileServer.flood_sent` tells how far it got. Only ``chunk`` is ever
    held in memory, so a 10 GB flood costs nothing on the server side.
    """

    prefix: bytes
    chunk: bytes
    total: int
    suffix: bytes = b""


@dataclass(frozen=True)
class Answer(Step):
    """Read one line and send ``make(line)`` (nothing when it returns ``b""``).

    ``make`` may raise ``AssertionError`` to say the line was wrong: the script stops and the
    reason is recorded in ``errors``.
    """

    make: Callable[[bytes], bytes]


@dataclass(frozen=True)
class ReadUntil(Step):
    """Read lines (into ``lines``) until one is exactly ``last`` (SMTP DATA up to its end)."""

    last: bytes = b".\r\n"


class HostileServer(ScriptedServer):
    """A :class:`ScriptedServer` that also plays :class:`Flood`, :class:`Answer` and
    :class:`ReadUntil` steps.

    Attributes:
        flood_sent: bytes sent by the :class:`Flood` steps so far.
        flood_cut: True when the client hung up during a :class:`Flood`.
    """

    def __init__(
        self,
        script: Sequence[Step],
        *,
        ssl_context: ssl.SSLContext | None = None,
        io_timeout: float = 10.0,
    ) -> None:
        """See :class:`ScriptedServer`; ``ssl_context`` defaults to the good certificate."""
        super().__init__(
            script,
            ssl_context=ssl_context if ssl_context is not None else CERTS.server_context(),
            io_timeout=io_timeout,
        )
        self.flood_sent = 0
        self.flood_cut = False

    def __enter__(self) -> HostileServer:
        """Start the server thread."""
        super().__enter__()
        return self

    def _play(self, step: Step) -> None:
        if isinstance(step, Flood):
            self._flood(step)
        elif isinstance(step, ReadUntil):
            self._read_line(ReadLine())
            while self.lines[-1] != step.last:
                self._read_line(ReadLine())
        elif isinstance(step, Answer):
            self._read_line(ReadLine())
            reply = step.make(self.lines[-1])
            if reply:
                self._sendall(reply)
        else:
            super()._play(step)

    def _flood(self, step: Flood) -> None:
        try:
            self._sendall(step.prefix)
            while self.flood_sent < step.total and not self._stop.is_set():
                self._sendall(step.chunk)  # the same object each time: no allocation
                self.flood_sent += len(step.chunk)
            self._sendall(step.suffix)
        except _StepFailed:
            self.flood_cut = True  # the client hung up: what the test wants


def scram_server_first(iterations: int) -> Callable[[bytes], bytes]:
    """An :class:`Answer` maker for a SCRAM client-first message that ends ``line`` in
    base64: returns the server-first message (nonce extended as RFC 5802 asks, a salt, and
    ``iterations``), base64-encoded, without the protocol's prefix or line end."""

    def make(line: bytes) -> bytes:
        client_first = base64.b64decode(line.split()[-1]).decode()
        nonce = next(f[2:] for f in client_first.split(",") if f.startswith("r="))
        server_first = f"r={nonce}srvNonce,s={base64.b64encode(b'salt').decode()},i={iterations}"
        return base64.b64encode(server_first.encode())

    return make
