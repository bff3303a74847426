"""A scripted fake server for tests: one connection on 127.0.0.1, driven by a list of steps.

The server runs in a background thread, so async tests (asyncio or trio) and the generated
sync tests drive it the same way::

    script = [Send(b"* OK ready\\r\\n"), ReadLine(b"a NOOP\\r\\n"), Send(b"a OK\\r\\n"), Close()]
    with ScriptedServer(script) as server:
        stream = await AsyncStream.connect(server.host, server.port)
        ...
    assert server.errors == []
    assert server.received == b"a NOOP\\r\\n"

Steps: :class:`Send`, :class:`Trickle`, :class:`ReadLine`, :class:`ReadUntilEOF`,
:class:`Sleep`, :class:`StartTLS`, :class:`Close`. Implicit TLS is a script that begins with
:class:`StartTLS`. Everything the client sent is recorded, before and after TLS separately
(``received_plain``, ``received_tls``). A step that fails (the client went away, a line did not
match, a handshake failed) is recorded in ``errors`` and ends the script: a test that expects a
failure asserts on it, and a happy-path test asserts ``errors == []``. Nothing is ever raised
in the server thread.

On exit the server stops whatever it is doing (a blocked read is shut down, a sleep is cut
short), closes every socket and joins its thread: no ResourceWarning, no leaked thread.
:class:`LocalCA` makes the TLS contexts (trustme).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType

import trustme

__all__ = [
    "Close",
    "LocalCA",
    "ReadLine",
    "ReadUntilEOF",
    "ScriptedServer",
    "Send",
    "Sleep",
    "StalledListener",
    "StartTLS",
    "Step",
    "Trickle",
    "imap_login",
    "unused_port",
]


class Step:
    """Base class of the steps of a script (a new kind of step also needs a branch in
    ``ScriptedServer._play``)."""


@dataclass(frozen=True)
class Send(Step):
    """Send ``data`` as it is (several lines, partial lines, garbage: anything)."""

    data: bytes


@dataclass(frozen=True)
class Trickle(Step):
    """Send ``data`` one byte at a time, ``interval`` seconds apart (a slow-loris server)."""

    data: bytes
    interval: float


@dataclass(frozen=True)
class ReadLine(Step):
    """Read one line from the client and record it in ``lines``.

    With ``expect``, the line must be exactly that (terminator included), else the script
    stops with an error.
    """

    expect: bytes | None = None


@dataclass(frozen=True)
class ReadUntilEOF(Step):
    """Record everything the client sends until it closes the connection (or ``timeout``)."""

    timeout: float = 5.0


@dataclass(frozen=True)
class Sleep(Step):
    """Do nothing for ``seconds`` (a silent, stalled server); cut short when the server stops."""

    seconds: float


@dataclass(frozen=True)
class StartTLS(Step):
    """Run the server side of a TLS handshake now (first step: implicit TLS)."""


@dataclass(frozen=True)
class Close(Step):
    """Close the connection; with ``abort``, reset it (RST) instead of a clean FIN."""

    abort: bool = False


def imap_login(caps: bytes) -> list[Step]:
    """The opening of the scripted IMAP tests: implicit TLS, a greeting announcing ``caps``,
    and alice's LOGIN (password "pw") accepted with the same capabilities."""
    return [
        StartTLS(),
        Send(b"* OK [CAPABILITY " + caps + b"] ready\r\n"),
        ReadLine(b'U1 LOGIN "alice" "pw"\r\n'),
        Send(b"U1 OK [CAPABILITY " + caps + b"] logged in\r\n"),
    ]


class _StepFailed(Exception):
    """A step could not be done as scripted; the message is recorded in ``errors``."""


class LocalCA:
    """A private certificate authority (trustme) issuing a certificate for the test server."""

    def __init__(self, *hostnames: str) -> None:
        """Create a CA and a server certificate for ``hostnames`` (default: localhost and
        127.0.0.1)."""
        self._ca = trustme.CA()
        self._cert = self._ca.issue_cert(*(hostnames or ("localhost", "127.0.0.1")))

    def server_context(self) -> ssl.SSLContext:
        """Return a server-side context presenting the issued certificate."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._cert.configure_cert(context)
        return context

    def client_context(self) -> ssl.SSLContext:
        """Return a client-side context that trusts this CA and verifies host names."""
        context = ssl.create_default_context()
        self._ca.configure_trust(context)
        return context


def unused_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on (for connection-refused tests)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class StalledListener:
    """A port on 127.0.0.1 whose TCP connects hang (for connect-deadline tests).

    The listener never accepts and its backlog is filled by a few connections of its own, so
    the kernel drops new SYNs and a client's connect waits until its deadline (Linux).
    """

    host = "127.0.0.1"

    def __init__(self, fillers: int = 4) -> None:
        """Listen with the smallest backlog and fill it with ``fillers`` connections."""
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind((self.host, 0))
        self._listener.listen(0)
        self.port: int = self._listener.getsockname()[1]
        self._fillers: list[socket.socket] = []
        for _ in range(fillers):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            self._fillers.append(filler)
            filler.connect_ex((self.host, self.port))  # EINPROGRESS: completes or stalls
        time.sleep(0.1)  # let the handshakes that can complete fill the backlog

    def __enter__(self) -> StalledListener:
        """Return the listener."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the filler connections and the listener."""
        for filler in self._fillers:
            filler.close()
        self._listener.close()


class ScriptedServer:
    """A one-connection fake server on 127.0.0.1 that plays ``script`` in a thread.

    Attributes (read them after leaving the ``with`` block, or after :meth:`wait`):
        received_plain: every byte the client sent before TLS started.
        received_tls: every byte the client sent after TLS started.
        lines: the lines read by :class:`ReadLine` steps, in order.
        errors: why a step failed (empty when every step that ran succeeded).
        tls_established: True once a :class:`StartTLS` handshake succeeded.
        stopped_early: True when leaving the ``with`` block cut the script short (not an
            error: a test may end while the server still has steps to play).
    """

    host = "127.0.0.1"

    def __init__(
        self,
        script: Sequence[Step],
        *,
        ssl_context: ssl.SSLContext | None = None,
        io_timeout: float = 10.0,
    ) -> None:
        """Listen on an ephemeral port; the thread starts on ``__enter__``.

        Args:
            script: the steps to play once a client connects.
            ssl_context: the server-side context used by :class:`StartTLS` steps.
            io_timeout: bound on any single wait of the server, so a test never hangs.
        """
        self._script = tuple(script)
        self._ssl_context = ssl_context
        self._io_timeout = io_timeout
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind((self.host, 0))
        self._listener.listen(1)
        self.port: int = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._conn: socket.socket | None = None
        self._pending = bytearray()  # received, not yet consumed by a ReadLine step
        self._thread = threading.Thread(target=self._run, name=f"scripted-server-{self.port}")
        self.received_plain = b""
        self.received_tls = b""
        self.lines: list[bytes] = []
        self.errors: list[str] = []
        self.tls_established = False
        self.stopped_early = False

    @property
    def received(self) -> bytes:
        """Every byte the client sent, before and after TLS together."""
        return self.received_plain + self.received_tls

    def __enter__(self) -> ScriptedServer:
        """Start the server thread."""
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the script, close every socket and join the thread."""
        self._stop.set()
        with self._lock:
            if self._conn is not None:
                # Wake a blocked recv/send/handshake in the thread, which then closes the
                # socket. The plain socket's method: SSLSocket.shutdown drops its TLS state.
                # OSError: already shut down, nothing to wake.
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(self._conn, socket.SHUT_RDWR)
        self._thread.join(timeout=self._io_timeout + 5)
        self._listener.close()
        if self._thread.is_alive():
            raise RuntimeError("scripted server thread did not stop")

    def wait(self, timeout: float = 10.0) -> None:
        """Block until the script has ended (then the attributes are final)."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"scripted server still running after {timeout} s")

    # -- the server thread ------------------------------------------------------------------

    def _run(self) -> None:
        try:
            conn = self._accept()
        except _StepFailed as exc:
            self._failed(str(exc))
            return
        with self._lock:
            self._conn = conn
        try:
            for step in self._script:
                if self._stop.is_set():
                    self.stopped_early = True
                    break
                self._play(step)
        except _StepFailed as exc:
            self._failed(str(exc))
        except Exception as exc:  # the thread must never raise: pytest turns it into an error
            self._failed(f"{type(exc).__name__}: {exc}")
        finally:
            with self._lock:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None

    def _failed(self, reason: str) -> None:
        # A step broken by __exit__ (a read woken by shutdown) is a stop, not a failure.
        if self._stop.is_set():
            self.stopped_early = True
        else:
            self.errors.append(reason)

    def _accept(self) -> socket.socket:
        self._listener.settimeout(0.05)  # poll, so that __exit__ can stop a server never used
        deadline = time.monotonic() + self._io_timeout
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(self._io_timeout)
            return conn
        raise _StepFailed("no client connected")

    def _connection(self) -> socket.socket:
        conn = self._conn
        if conn is None:
            raise _StepFailed("connection already closed")
        return conn

    def _record(self, data: bytes) -> None:
        if self.tls_established:
            self.received_tls += data
        else:
            self.received_plain += data

    def _recv(self) -> bytes:
        try:
            data = self._connection().recv(65536)
        except OSError as exc:
            raise _StepFailed(f"receive failed: {exc}") from exc
        self._record(data)
        return data

    def _sendall(self, data: bytes) -> None:
        try:
            self._connection().sendall(data)
        except OSError as exc:
            raise _StepFailed(f"send failed: {exc}") from exc

    def _play(self, step: Step) -> None:
        if isinstance(step, Send):
            self._sendall(step.data)
        elif isinstance(step, Trickle):
            for i in range(len(step.data)):
                self._sendall(step.data[i : i + 1])
                if self._stop.wait(step.interval):
                    raise _StepFailed("stopped while trickling")
        elif isinstance(step, ReadLine):
            self._read_line(step)
        elif isinstance(step, ReadUntilEOF):
            self._connection().settimeout(step.timeout)
            while self._recv():
                pass
        elif isinstance(step, Sleep):
            self._stop.wait(step.seconds)
        elif isinstance(step, StartTLS):
            self._start_tls()
        elif isinstance(step, Close):
            self._close(abort=step.abort)
        else:
            raise _StepFailed(f"unknown step {step!r}")

    def _read_line(self, step: ReadLine) -> None:
        while (end := self._pending.find(b"\n")) < 0:
            data = self._recv()
            if not data:
                raise _StepFailed(f"client closed the connection; expected {step.expect!r}")
            self._pending += data
        line = bytes(self._pending[: end + 1])
        del self._pending[: end + 1]
        self.lines.append(line)
        if step.expect is not None and line != step.expect:
            raise _StepFailed(f"expected {step.expect!r}, got {line!r}")

    def _start_tls(self) -> None:
        if self._ssl_context is None:
            raise _StepFailed("StartTLS step without an ssl_context")
        plain = self._connection()
        with self._lock:
            # The handshake runs after _conn names the TLS socket, so __exit__ can wake it.
            wrapped = self._ssl_context.wrap_socket(
                plain, server_side=True, do_handshake_on_connect=False
            )
            self._conn = wrapped
        try:
            wrapped.do_handshake()
        except OSError as exc:  # ssl.SSLError included; _run closes the socket
            raise _StepFailed(f"TLS handshake failed: {exc}") from exc
        self.tls_established = True

    def _close(self, *, abort: bool) -> None:
        conn = self._connection()
        if abort:
            # SO_LINGER with a zero timeout turns close() into a reset (RST).
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with self._lock:
            self._conn = None
        conn.close()
