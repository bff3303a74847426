"""The POP3 session's tables: in which states each command is allowed, the shape of its reply,
and the state a ``+OK`` leads to (RFC 1939 sections 3-7, RFC 2449, RFC 2595, RFC 5034).

:class:`~unimail._proto.pop3._protocol.Pop3Protocol` checks every command against these tables
before it sends a byte; its module docstring gives the theory of operation.
"""

from __future__ import annotations

import enum

__all__ = [
    "EXCLUSIVE",
    "MAY_BE_FOLLOWED",
    "MESSAGES",
    "RULES",
    "TRANSITIONS",
    "Body",
    "State",
]


class State(enum.Enum):
    """Where the session stands (RFC 1939 section 3)."""

    GREETING = "greeting"
    AUTHORIZATION = "authorization"
    TRANSACTION = "transaction"
    UPDATE = "update"
    CLOSED = "closed"


class Body(enum.Enum):
    """The shape of the reply to a command."""

    NONE = "none"  # single-line reply
    ALWAYS = "always"  # a +OK reply carries a multi-line body
    WITHOUT_ARGS = "without args"  # LIST and UIDL: multi-line only without a message number
    AUTH = "auth"  # "+ " continuations until the status line (RFC 5034)


_A, _T = State.AUTHORIZATION, State.TRANSACTION

# command -> (states in which it is allowed, shape of its reply). RFC 1939 sections 4-7,
# RFC 2449 section 5 (CAPA), RFC 2595 section 4 (STLS), RFC 5034 section 4 (AUTH).
RULES: dict[str, tuple[frozenset[State], Body]] = {
    "CAPA": (frozenset({_A, _T}), Body.ALWAYS),
    "QUIT": (frozenset({_A, _T}), Body.NONE),
    "STLS": (frozenset({_A}), Body.NONE),
    "USER": (frozenset({_A}), Body.NONE),
    "PASS": (frozenset({_A}), Body.NONE),
    "APOP": (frozenset({_A}), Body.NONE),
    "AUTH": (frozenset({_A}), Body.AUTH),
    "STAT": (frozenset({_T}), Body.NONE),
    "LIST": (frozenset({_T}), Body.WITHOUT_ARGS),
    "UIDL": (frozenset({_T}), Body.WITHOUT_ARGS),
    "RETR": (frozenset({_T}), Body.ALWAYS),
    "TOP": (frozenset({_T}), Body.ALWAYS),
    "DELE": (frozenset({_T}), Body.NONE),
    "NOOP": (frozenset({_T}), Body.NONE),
    "RSET": (frozenset({_T}), Body.NONE),
}

# (state before, command) -> state after a +OK. Anything absent keeps the state.
TRANSITIONS: dict[tuple[State, str], State] = {
    (State.GREETING, ""): State.AUTHORIZATION,
    (_A, "PASS"): _T,
    (_A, "APOP"): _T,
    (_A, "AUTH"): _T,
    (_A, "QUIT"): State.CLOSED,
    (_T, "QUIT"): State.UPDATE,  # RFC 1939 section 6: deletions are committed now
}

# Never pipelined, and nothing is pipelined behind them: they change the state.
EXCLUSIVE = frozenset({"STLS", "USER", "PASS", "APOP", "AUTH"})

# Replies after which bytes may follow at once: STLS's (the TLS handshake; bytes before it are
# refused by start_tls as an injection) and QUIT's (nothing is read after it).
MAY_BE_FOLLOWED = frozenset({"STLS", "QUIT"})

# Bodies that are messages: their first line may look like a status line (see the module
# docstring of _protocol).
MESSAGES = frozenset({"RETR", "TOP"})
