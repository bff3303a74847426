"""The POP3 client connection as a sans-I/O state machine (RFC 1939 section 3, RFC 2449).

Theory of operation
-------------------
A POP3 session moves through these states (RFC 1939 sections 3-6)::

    GREETING --+OK--> AUTHORIZATION --PASS/APOP/AUTH +OK--> TRANSACTION --QUIT +OK--> UPDATE
        \\--ERR--> CLOSED        |  (STLS +OK: TLS, stays)         |
                                 \\--QUIT +OK----> CLOSED           \\ (deletions commit here)

Only a QUIT answered in TRANSACTION enters UPDATE, where the server removes the messages
marked with DELE (RFC 1939 section 6): a connection that ends any other way deletes nothing.

The caller (the async client) asks :meth:`Pop3Protocol.send` for the bytes of a command; the
protocol checks it against the table ``RULES`` (module ``_rules``: in which states it is
allowed, and whether a ``+OK`` reply carries a multi-line body), and queues what reply to
expect. Received bytes go in with :meth:`Pop3Protocol.receive_data`;
:meth:`Pop3Protocol.next_event` returns, in order, for each command: a :class:`Reply` (its
status line), then, when the reply has a body, any number of :class:`Data` chunks (unstuffed)
and one :class:`End`. During AUTH the server may answer with :class:`Continuation` lines ("+ "
and base64, RFC 5034) before its status line.

Several commands may be in flight when the server announced PIPELINING (RFC 2449 section
6.6): replies come back in order, so the queue says which command each one answers. Commands
that change the state (STLS, USER, PASS, APOP, AUTH) are never pipelined, and nothing is sent
after QUIT.

POP3 replies carry no tag, so a reply the server sends unasked would be taken as the answer to
the next command and shift every later one: message A's bytes read as message B. So bytes that
arrive after the reply to the last command sent, and before the next command, are a protocol
error (an extra line after a single-line reply, a body where none was due, a reply sent before
its command); and so is a multi-line body whose first line is a status line when it may be the
next reply read as a body (a multi-line command answered with one line). Always for a listing
(CAPA, LIST, UIDL: never so in earnest); for a message (RETR, TOP: "+OK hi" may be its text)
only when another command was sent before that line arrived. With RETR alone in flight nothing
else can answer: the body is returned byte for byte (a one-line answer stalls into a Timeout,
never another message's bytes). What arrives in a later segment, while more commands are in
flight, cannot be told apart: that one case raises :class:`AmbiguousFirstLine`, a
ProtocolError the caller may answer by asking for the message alone on a new connection
(``_async/_pop3_batch``); every other out-of-step reply is a plain ProtocolError.

After a protocol error the connection is dead: every further call raises again.
"""

from __future__ import annotations

import collections

import attrs

from ..._errors import ProtocolError, TLSError, UnsupportedOperation
from ..._options import Limits
from ._commands import Command
from ._framing import take_status_line, unstuff
from ._reply import StatusLine, parse_status
from ._rules import EXCLUSIVE, MAY_BE_FOLLOWED, MESSAGES, RULES, TRANSITIONS, Body, State

__all__ = [
    "AmbiguousFirstLine",
    "Continuation",
    "Data",
    "End",
    "Event",
    "Pop3Protocol",
    "Reply",
    "State",
]


class AmbiguousFirstLine(ProtocolError):
    """The body of a RETR or TOP starts with a status line while more commands were in flight.

    It may be the message's own first line ("+OK hi" is valid text), or the server may have
    answered the command with one line and this be the next command's reply: the bytes cannot
    tell. The connection is broken like after any ProtocolError; the same command alone in
    flight on a new connection is unambiguous (see the module docstring).
    """


@attrs.frozen(slots=True)
class Reply:
    """The status line answering ``command`` (``""`` for the greeting).

    ``has_body`` is True when the reply has a multi-line body. Then either ``body`` holds all
    of it (when the caller asked for whole bodies and it had fully arrived), or
    :class:`Data` chunks and an :class:`End` follow.
    """

    command: str
    status: StatusLine
    has_body: bool
    body: bytes | None = None

    @property
    def streams(self) -> bool:
        """True when Data chunks and an End follow this reply."""
        return self.has_body and self.body is None


@attrs.frozen(slots=True)
class Continuation:
    """A SASL challenge during AUTH: ``text`` is the base64 after ``"+ "`` (RFC 5034)."""

    text: bytes


@attrs.frozen(slots=True)
class Data:
    """A piece of a multi-line body, dot-unstuffed, line endings as received."""

    data: bytes


@attrs.frozen(slots=True)
class End:
    """The multi-line body of the reply to ``command`` ended."""

    command: str


Event = Reply | Continuation | Data | End


class Pop3Protocol:
    """The client side of one POP3 connection, without I/O."""

    def __init__(self, limits: Limits) -> None:
        """Start in the GREETING state, waiting for the server's first line."""
        self._limits = limits
        self._state = State.GREETING
        self._buffer = bytearray()
        # Commands sent and not answered yet, oldest first: (name, body shape).
        self._pending: collections.deque[tuple[str, Body]] = collections.deque([("", Body.NONE)])
        self._in_body: str | None = None  # the command whose body is being read
        self._at_line_start = True
        self._ended_after_data = False
        self._stash = b""  # body bytes decoded already, not delivered yet
        # A body being gathered whole (next_event(whole=...)): its pieces and size, its
        # status line, and the size past which it streams instead.
        self._gathering = False
        self._gathered: list[bytes] = []
        self._gathered_size = 0
        self._gathered_status = StatusLine(ok=True)
        self._whole = 0
        self._broken: str | None = None
        self._check_first_line = False  # a body starts: is its first line a status line?
        self.pipelining = False

    @property
    def state(self) -> State:
        """The current state (after every reply received so far)."""
        return self._state

    @property
    def in_body(self) -> bool:
        """True while the reply being received is in its multi-line body (bulk data)."""
        return self._in_body is not None

    @property
    def pending(self) -> int:
        """How many commands (the greeting included) still wait for their reply."""
        return len(self._pending)

    def send(self, command: Command) -> bytes:
        """Return the bytes of ``command`` and expect its reply.

        Raises:
            ProtocolError: the connection is broken, closed, or the command is not allowed in
                the current state (a bug of the caller, reported before anything is sent).
            UnsupportedOperation: a command is already in flight and the server does not
                pipeline (or the command may not be pipelined).
        """
        self._check()
        rule = RULES.get(command.name)
        if rule is None:
            raise ProtocolError(f"unknown POP3 command {command.name}")
        states, body = rule
        if self._state not in states:
            raise ProtocolError(f"{command.name} is not allowed in the {self._state.value} state")
        if not self._pending and self._buffer:
            self._broken = "the server sent a reply to no command"
            raise ProtocolError(
                f"the server sent data before {command.name} was sent, after the reply to the "
                "last command: its replies are out of step"
            )
        if self._pending:
            last = self._pending[-1][0]
            if not self.pipelining or command.name in EXCLUSIVE or last in EXCLUSIVE:
                raise UnsupportedOperation(
                    f"cannot send {command.name} before the previous reply arrived",
                    capability="PIPELINING",
                )
            if last == "QUIT":
                raise ProtocolError("nothing can be sent after QUIT")
        if self._check_first_line and self._in_body in MESSAGES and self._first_line_here():
            # That line arrived before this command was sent: it is the message's own.
            self._check_first_line = False
        if body is Body.WITHOUT_ARGS:
            body = Body.NONE if command.args else Body.ALWAYS
        self._pending.append((command.name, body))
        return command.encode()

    def send_continuation(self, data: bytes) -> bytes:
        """Return the line answering a :class:`Continuation` (base64 text, or ``b"*"`` to
        cancel the exchange, RFC 5034 section 4)."""
        self._check()
        if not self._pending or self._pending[0][1] is not Body.AUTH:
            raise ProtocolError("no AUTH exchange is in progress")
        return data + b"\r\n"

    def receive_data(self, data: bytes) -> None:
        """Add bytes received from the server."""
        self._buffer += data

    def start_tls(self) -> None:
        """Note that TLS starts now (after STLS was answered ``+OK``).

        Raises:
            TLSError: bytes arrived after the ``+OK`` and before the handshake: they would be
                read as if protected by TLS (response injection, CVE-2011-0411 class).
        """
        self._check()
        if self._buffer or self._pending:
            self._broken = "bytes arrived before the TLS handshake"
            raise TLSError("the server sent data after STLS before the TLS handshake: refusing")

    def next_event(self, whole: int = 0) -> Event | None:
        """Return the next event, or ``None`` when more bytes are needed.

        Args:
            whole: when positive, a body of at most this many bytes comes whole in
                ``Reply.body`` (no Data/End follow; the Reply is returned once the body has
                fully arrived): the fast path for many small messages. A longer body is
                streamed as Data chunks as soon as it passes ``whole`` bytes, so memory stays
                bounded by ``whole``.

        Raises:
            ProtocolError: the server sent something malformed or a reply nobody asked for.
            LimitExceeded: a status line is longer than ``max_line_length``.
        """
        if self._broken is not None:
            self._check()
        try:
            if self._gathering:
                return self._gather()
            if self._in_body is not None:
                return self._body()
            return self._status(whole)
        except ProtocolError as exc:
            self._broken = str(exc)
            raise

    def _body(self) -> Data | End | None:
        if self._check_first_line and not self._first_line_checked():
            return None
        if self._stash:
            data, self._stash = self._stash, b""
            return Data(data)
        if self._ended_after_data:
            return self._end()
        data, consumed, self._at_line_start, ended = unstuff(self._buffer, self._at_line_start)
        if consumed:
            del self._buffer[:consumed]
        if data:
            # The terminator may be consumed already: deliver the data now, the end next.
            self._ended_after_data = ended
            return Data(data)
        return self._end() if ended else None

    def _end(self) -> End:
        self._ended_after_data = False
        name, self._in_body = self._in_body or "", None
        self._pending.popleft()
        self._check_nothing_after(name)
        return End(name)

    def _check_nothing_after(self, name: str) -> None:
        """Refuse bytes that follow the reply to the last command sent (module docstring)."""
        if not self._pending and self._buffer and name not in MAY_BE_FOLLOWED:
            raise ProtocolError(
                f"the server sent more than its reply to {name or 'the greeting'}: "
                f"{bytes(self._buffer[:40])!r}... (its replies would be out of step)"
            )

    def _first_line_here(self) -> bool:
        """True when enough of a body arrived to see if its first line is a status line."""
        return len(self._buffer) >= 5 or b"\n" in self._buffer

    def _first_line_checked(self) -> bool:
        """False while too little of a body arrived to see whether its first line is a
        status line; raise if it is one and may be the next reply (module docstring)."""
        if not self._first_line_here():
            return False
        self._check_first_line = False
        if self._in_body in MESSAGES and len(self._pending) == 1:
            return True  # nothing else in flight: the line is the message's own
        head = bytes(self._buffer[:5])
        if head.startswith(b"+OK") and head[3:4] in (b" ", b"\r", b"\n"):
            what = "a POP3 status line"
        elif head.startswith(b"-ERR") and head[4:5] in (b" ", b"\r", b"\n"):
            what = "a POP3 -ERR line"
        else:
            return True
        if self._in_body in MESSAGES:
            raise AmbiguousFirstLine(
                f"the body of {self._in_body} starts with {what} while more commands were in "
                "flight: the message's own first line, or the next reply read as its body"
            )
        raise ProtocolError(
            f"the body of {self._in_body} starts with {what}: the server answered it with a "
            "single line, and the next reply was read as its body"
        )

    def _status(self, whole: int) -> Reply | Continuation | None:
        if not self._buffer:
            return None
        if not self._pending:
            raise ProtocolError("the server sent a reply to no command")
        line = take_status_line(self._buffer, self._limits.max_line_length)
        if line is None:
            return None
        name, body = self._pending[0]
        if body is Body.AUTH and (line.startswith(b"+ ") or line.rstrip(b"\r\n") == b"+"):
            return Continuation(line[2:].rstrip(b"\r\n"))
        status = parse_status(line)
        has_body = status.ok and body is Body.ALWAYS
        if status.ok:
            self._state = TRANSITIONS.get((self._state, name), self._state)
        elif name == "":
            self._state = State.CLOSED  # the server refused the connection
        if not has_body:
            self._pending.popleft()
            self._check_nothing_after(name)
            return Reply(name, status, has_body)
        self._in_body, self._at_line_start = name, True
        self._check_first_line = True
        if whole <= 0:
            return Reply(name, status, has_body)
        self._gathering, self._gathered, self._gathered_size = True, [], 0
        self._gathered_status, self._whole = status, whole
        return self._gather()

    def _gather(self) -> Reply | None:
        """Decode more of a body gathered whole; return its Reply when it is complete, or
        once it grew past ``whole`` (then the rest streams as Data and End)."""
        if self._check_first_line and not self._first_line_checked():
            return None
        pieces = self._gathered
        data, consumed, self._at_line_start, ended = unstuff(self._buffer, self._at_line_start)
        if consumed:
            del self._buffer[:consumed]
        if data:
            pieces.append(data)
            self._gathered_size += len(data)
        name, status = self._in_body or "", self._gathered_status
        if self._gathered_size > self._whole:
            self._gathering = False
            self._stash, self._ended_after_data = b"".join(pieces), ended
            return Reply(name, status, True)
        if not ended:
            return None
        self._gathering, self._in_body = False, None
        self._pending.popleft()
        self._check_nothing_after(name)
        return Reply(name, status, True, pieces[0] if len(pieces) == 1 else b"".join(pieces))

    def _check(self) -> None:
        if self._broken is not None:
            raise ProtocolError(f"the connection is broken: {self._broken}")
