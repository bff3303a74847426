"""The IMAP client connection as a sans-I/O state machine (RFC 9051 section 3).

Theory of operation
-------------------
A connection moves through four states (RFC 9051 figure 1)::

    greeting --OK--> NOT_AUTHENTICATED --LOGIN/AUTHENTICATE OK--> AUTHENTICATED
        |  \\--PREAUTH----------------------------------------------^   |  ^
        |                                       SELECT/EXAMINE OK      v  | CLOSE/UNSELECT OK,
        \\--BYE--> LOGOUT <--BYE or LOGOUT-- (any)               SELECTED   SELECT/EXAMINE NO

The caller (the async client) feeds received bytes with :meth:`ImapProtocol.receive_data` and
pulls :class:`Response` values with :meth:`ImapProtocol.next_response`; it asks
:meth:`ImapProtocol.command` for the bytes of a command. The protocol object checks that the
command is allowed in the current state (``_ALLOWED``) and applies the transition of
``_TRANSITIONS`` when the command's tagged reply arrives. It never touches a socket or a clock.

Once the server says BYE, or sends something malformed, the connection is dead: every further
call raises, as a broken connection must stay broken.
"""

from __future__ import annotations

import collections
import enum
from collections.abc import Callable, Sequence

import attrs

from ..._errors import InvalidArgument, ProtocolError, TLSError
from ..._options import Limits
from ._framing import ResponseFramer
from ._parser import FETCH_HEAD, Response, parse_fetch_run, parse_response
from ._wire import Arg, Atom, serialize

__all__ = ["Command", "ImapProtocol", "State"]


class State(enum.Enum):
    """Where the connection stands (RFC 9051 section 3)."""

    GREETING = "greeting"
    NOT_AUTHENTICATED = "not authenticated"
    AUTHENTICATED = "authenticated"
    SELECTED = "selected"
    LOGOUT = "logout"


_ANY_STATE = frozenset({"CAPABILITY", "NOOP", "LOGOUT", "ID"})
_NOT_AUTHENTICATED = _ANY_STATE | {"STARTTLS", "LOGIN", "AUTHENTICATE"}
_AUTHENTICATED = _ANY_STATE | {
    "ENABLE", "SELECT", "EXAMINE", "CREATE", "DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE",
    "LIST", "LSUB", "NAMESPACE", "STATUS", "APPEND", "IDLE", "GETQUOTAROOT", "COMPRESS",
}  # fmt: skip
_SELECTED = _AUTHENTICATED | {
    "CLOSE", "UNSELECT", "EXPUNGE", "SEARCH", "FETCH", "STORE", "COPY", "MOVE", "UID", "SORT",
    "CHECK",
}  # fmt: skip

_ALLOWED: dict[State, frozenset[str]] = {
    State.GREETING: frozenset(),
    State.NOT_AUTHENTICATED: _NOT_AUTHENTICATED,
    State.AUTHENTICATED: _AUTHENTICATED,
    State.SELECTED: _SELECTED,
    State.LOGOUT: frozenset(),
}

# (state before, command, tagged status) -> state after. Anything absent keeps the state.
_TRANSITIONS: dict[tuple[State, str, str], State] = {
    (State.NOT_AUTHENTICATED, "LOGIN", "OK"): State.AUTHENTICATED,
    (State.NOT_AUTHENTICATED, "AUTHENTICATE", "OK"): State.AUTHENTICATED,
    (State.AUTHENTICATED, "SELECT", "OK"): State.SELECTED,
    (State.AUTHENTICATED, "EXAMINE", "OK"): State.SELECTED,
    # RFC 9051 6.3.2: a failed SELECT leaves no mailbox selected.
    (State.SELECTED, "SELECT", "NO"): State.AUTHENTICATED,
    (State.SELECTED, "EXAMINE", "NO"): State.AUTHENTICATED,
    (State.SELECTED, "CLOSE", "OK"): State.AUTHENTICATED,
    (State.SELECTED, "UNSELECT", "OK"): State.AUTHENTICATED,
    (State.NOT_AUTHENTICATED, "LOGOUT", "OK"): State.LOGOUT,
    (State.AUTHENTICATED, "LOGOUT", "OK"): State.LOGOUT,
    (State.SELECTED, "LOGOUT", "OK"): State.LOGOUT,
}


# The most FETCH responses parsed together: enough to spread the cost of a pass, few enough
# for its buffers to stay in the CPU's caches.
_RUN = 32


@attrs.frozen
class Command:
    """A command ready to send: its tag, name, and wire segments (see ``_wire.serialize``)."""

    tag: str
    name: str
    segments: list[bytes]


class ImapProtocol:
    """Sans-I/O IMAP client connection."""

    def __init__(self, limits: Limits | None = None) -> None:
        self._limits = limits or Limits()
        self._framer = ResponseFramer(self._limits)
        self._state = State.GREETING
        self._counter = 0
        self._pending: dict[str, str] = {}  # tag -> command name
        self._dead: str | None = None
        # Responses framed and not yet handed out: parsed, or frames to parse in their turn.
        self._ready: collections.deque[Response | list[bytes]] = collections.deque()
        self._failed: ProtocolError | None = None  # raised once _ready is empty

    @property
    def state(self) -> State:
        """The current connection state."""
        return self._state

    @property
    def in_literal(self) -> bool:
        """True while the response being received is inside a literal (bulk data)."""
        return self._framer.literal_pending is not None

    def set_literal_sink(self, sink: Callable[[bytes, int], None] | None) -> None:
        """Send literal data to ``sink(chunk, literal_size)`` instead of into responses (see
        ``ResponseFramer.sink``); None restores normal framing."""
        self._framer.sink = sink

    def receive_data(self, data: bytes) -> None:
        """Feed bytes received from the server."""
        self._check_alive()
        self._framer.feed(data)

    def next_response(self) -> Response | None:
        """Return the next complete response, or None when more bytes are needed.

        Raises:
            ProtocolError: the server sent something malformed or out of state; the
                connection is dead afterwards.
        """
        self._check_alive()
        ready = self._ready
        try:
            if not ready:
                if self._failed is not None:
                    raise self._failed
                self._frame()
                if not ready:
                    return None
            item = ready.popleft()
            if isinstance(item, Response):
                response = item
            else:
                response = parse_response(item, max_depth=self._limits.max_depth)
            self._track(response)
        except ProtocolError as exc:
            self._dead = str(exc)
            raise
        return response

    def _frame(self) -> None:
        """Frame the next response; or, when it is a FETCH, the run of FETCH responses that
        have arrived with it (up to ``_RUN``), parsed together (``parse_fetch_run``).

        Framing stops at the first other response: what follows it may be meant for another
        layer (TLS, compression). A limit passed while framing ahead is raised once the run
        before it is handed out. Nothing is framed ahead while a literal sink is set: the sink
        must see each response's literal as that response is handed out.
        """
        framer = self._framer
        frame = framer.next_frame()
        if frame is None:
            return
        head = FETCH_HEAD.match(frame[0]) if framer.sink is None else None
        if head is None:
            self._ready.append(frame)
            return
        run, heads = [frame], [head]
        other: list[bytes] | None = None
        while len(run) < _RUN:
            try:
                frame = framer.next_frame()
            except ProtocolError as exc:
                self._failed = exc
                break
            if frame is None:
                break
            head = FETCH_HEAD.match(frame[0])
            if head is None:
                other = frame
                break
            run.append(frame)
            heads.append(head)
        self._ready.extend(parse_fetch_run(run, heads, self._limits.max_depth))
        if other is not None:
            self._ready.append(other)

    def command(
        self, name: str, *args: Arg, literal_plus: bool = False, literal_minus: bool = False
    ) -> Command:
        """Return the bytes of command ``name args...`` with a fresh tag.

        Raises:
            InvalidArgument: the command is not valid in the current state, or an argument
                cannot be sent (CR, LF or NUL in it).
        """
        self._check_alive()
        upper = name.upper()
        if upper not in _ALLOWED[self._state]:
            raise InvalidArgument(f"IMAP {upper} is not allowed in state {self._state.value}")
        self._counter += 1
        tag = f"U{self._counter}"
        segments = serialize(
            tag, [Atom(upper), *args], literal_plus=literal_plus, literal_minus=literal_minus
        )
        self._pending[tag] = upper
        return Command(tag=tag, name=upper, segments=segments)

    def start_tls(self) -> None:
        """Check that nothing is buffered before the TLS handshake starts.

        Raises:
            TLSError: bytes arrived after the STARTTLS reply and before the handshake: a
                man in the middle may be injecting responses (CVE-2011-0411 class).
        """
        self._check_alive()
        if self._framer.buffered or self._ready:
            self._dead = "bytes injected before the TLS handshake"
            raise TLSError("the server sent data after its STARTTLS reply: refusing to go on")

    def _check_alive(self) -> None:
        if self._dead is not None:
            raise ProtocolError(f"the IMAP connection is unusable: {self._dead}")

    def _track(self, response: Response) -> None:
        if self._state is State.GREETING:
            self._greeting(response)
            return
        if response.tag == "*" and response.name == "BYE":
            self._state = State.LOGOUT
            return
        if response.tag in ("*", "+"):
            return
        name = self._pending.pop(response.tag, None)
        if name is None:
            raise ProtocolError(f"tagged reply for unknown tag {response.tag!r}")
        after = _TRANSITIONS.get((self._state, name, response.name))
        if after is not None:
            self._state = after

    def _greeting(self, response: Response) -> None:
        # greeting = "*" SP (resp-cond-auth / resp-cond-bye) CRLF   (RFC 9051 section 9)
        states = {
            "OK": State.NOT_AUTHENTICATED,
            "PREAUTH": State.AUTHENTICATED,
            "BYE": State.LOGOUT,
        }
        if response.tag != "*" or response.name not in states:
            raise ProtocolError(f"invalid IMAP greeting: {response.name or response.tag}")
        self._state = states[response.name]

    def pending(self) -> Sequence[str]:
        """The tags of commands sent and not yet completed."""
        return tuple(self._pending)
