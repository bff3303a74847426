"""ImapProtocol: greeting, states and transitions, commands, broken connections, STARTTLS."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from unimail._errors import InvalidArgument, LimitExceeded, ProtocolError, TLSError
from unimail._options import Limits
from unimail._proto.imap._parser import Response
from unimail._proto.imap._protocol import ImapProtocol, State


def responses(protocol: ImapProtocol, data: bytes) -> list[Response]:
    """Feed ``data`` and return every complete response."""
    protocol.receive_data(data)
    out = []
    while (response := protocol.next_response()) is not None:
        out.append(response)
    return out


def connected(state: State) -> ImapProtocol:
    """A protocol driven by real server bytes into ``state``."""
    protocol = ImapProtocol()
    if state is State.GREETING:
        return protocol
    if state is State.AUTHENTICATED:
        responses(protocol, b"* PREAUTH ready\r\n")
        return protocol
    responses(protocol, b"* OK ready\r\n")
    if state is State.SELECTED:
        tag = protocol.command("LOGIN", "u", "p").tag
        responses(protocol, tag.encode() + b" OK logged in\r\n")
        tag = protocol.command("SELECT", "INBOX").tag
        responses(protocol, b"* 0 EXISTS\r\n" + tag.encode() + b" OK [READ-WRITE] done\r\n")
    elif state is State.LOGOUT:
        tag = protocol.command("LOGOUT").tag
        responses(protocol, b"* BYE bye\r\n" + tag.encode() + b" OK done\r\n")
    assert protocol.state is state
    return protocol


def reply(protocol: ImapProtocol, name: str, status: str, *args: str) -> State:
    """Send command ``name``, answer it with ``status``, and return the state afterwards."""
    tag = protocol.command(name, *args).tag
    (response,) = responses(protocol, f"{tag} {status} whatever\r\n".encode())
    assert (response.tag, response.name) == (tag, status)
    return protocol.state


# --- greeting --------------------------------------------------------------------------------


def test_initial_state_is_greeting() -> None:
    assert ImapProtocol().state is State.GREETING


@pytest.mark.parametrize(
    ("greeting", "state"),
    [
        (b"* OK IMAP4rev1 ready\r\n", State.NOT_AUTHENTICATED),
        (b"* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n", State.NOT_AUTHENTICATED),
        (b"* PREAUTH IMAP4rev1 logged in as alice\r\n", State.AUTHENTICATED),
        (b"* BYE too many connections\r\n", State.LOGOUT),
    ],
)
def test_greeting(greeting: bytes, state: State) -> None:
    protocol = ImapProtocol()
    (response,) = responses(protocol, greeting)
    assert response.tag == "*"
    assert protocol.state is state


def test_greeting_byte_by_byte() -> None:
    protocol = ImapProtocol()
    greeting = b"* OK [CAPABILITY IMAP4rev1] ready\r\n"
    got: list[Response] = []
    for index in range(len(greeting)):
        got += responses(protocol, greeting[index : index + 1])
        assert protocol.state is (State.NOT_AUTHENTICATED if got else State.GREETING)
    assert [r.code for r in got] == ["CAPABILITY"]


@pytest.mark.parametrize(
    "greeting",
    [
        pytest.param(b"A1 OK ready\r\n", id="tagged"),
        pytest.param(b"+ ready\r\n", id="continuation"),
        pytest.param(b"* NO go away\r\n", id="untagged-no"),
        pytest.param(b"* BAD what\r\n", id="untagged-bad"),
        pytest.param(b"* CAPABILITY IMAP4rev1\r\n", id="data"),
        pytest.param(b"* 3 EXISTS\r\n", id="numbered"),
        pytest.param(b"220 smtp.example.org ESMTP\r\n", id="smtp"),
        pytest.param(b"+OK POP3 ready\r\n", id="pop3"),
    ],
)
def test_invalid_greeting_raises_protocol_error_and_kills(greeting: bytes) -> None:
    protocol = ImapProtocol()
    protocol.receive_data(greeting)
    with pytest.raises(ProtocolError):
        protocol.next_response()
    with pytest.raises(ProtocolError):
        protocol.next_response()


def test_no_command_before_the_greeting() -> None:
    with pytest.raises(InvalidArgument):
        ImapProtocol().command("CAPABILITY")


# --- commands --------------------------------------------------------------------------------


def test_command_bytes_and_fresh_tags() -> None:
    protocol = connected(State.NOT_AUTHENTICATED)
    first = protocol.command("login", "alice", 'pa"ss')
    second = protocol.command("NOOP")
    assert first.name == "LOGIN"
    assert first.segments == [first.tag.encode() + b' LOGIN "alice" "pa\\"ss"\r\n']
    assert second.segments == [second.tag.encode() + b" NOOP\r\n"]
    assert first.tag != second.tag
    assert list(protocol.pending()) == [first.tag, second.tag]


def test_command_with_literal_segments() -> None:
    protocol = connected(State.AUTHENTICATED)
    command = protocol.command("SELECT", "Entwürfe")
    raw = "Entwürfe".encode()
    assert command.segments == [
        command.tag.encode() + b" SELECT {%d}\r\n" % len(raw),
        raw + b"\r\n",
    ]
    plus = protocol.command("SELECT", "Entwürfe", literal_plus=True)
    assert plus.segments == [plus.tag.encode() + b" SELECT {%d+}\r\n" % len(raw) + raw + b"\r\n"]


def test_command_with_bad_argument_raises_invalid_argument_and_keeps_the_connection() -> None:
    protocol = connected(State.AUTHENTICATED)
    with pytest.raises(InvalidArgument):
        protocol.command("SELECT", "INBOX\r\nA9 DELETE INBOX")
    assert reply(protocol, "NOOP", "OK") is State.AUTHENTICATED


@pytest.mark.parametrize(
    ("state", "name"),
    [
        (State.NOT_AUTHENTICATED, "SELECT"),
        (State.NOT_AUTHENTICATED, "LIST"),
        (State.NOT_AUTHENTICATED, "FETCH"),
        (State.AUTHENTICATED, "LOGIN"),
        (State.AUTHENTICATED, "STARTTLS"),
        (State.AUTHENTICATED, "FETCH"),
        (State.AUTHENTICATED, "UID"),
        (State.AUTHENTICATED, "CLOSE"),
        (State.SELECTED, "LOGIN"),
        (State.SELECTED, "AUTHENTICATE"),
        (State.LOGOUT, "NOOP"),
        (State.LOGOUT, "LOGOUT"),
        (State.NOT_AUTHENTICATED, "XYZZY"),
    ],
)
def test_command_not_allowed_in_state(state: State, name: str) -> None:
    protocol = connected(state)
    with pytest.raises(InvalidArgument):
        protocol.command(name)
    assert protocol.pending() == ()
    assert protocol.state is state


@pytest.mark.parametrize(
    ("state", "name"),
    [
        (State.NOT_AUTHENTICATED, "CAPABILITY"),
        (State.NOT_AUTHENTICATED, "STARTTLS"),
        (State.AUTHENTICATED, "LIST"),
        (State.AUTHENTICATED, "NOOP"),
        (State.SELECTED, "UID"),
        (State.SELECTED, "LIST"),
        (State.SELECTED, "IDLE"),
    ],
)
def test_command_allowed_in_state(state: State, name: str) -> None:
    protocol = connected(state)
    assert protocol.command(name).name == name


# --- transitions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "name", "status", "after"),
    [
        (State.NOT_AUTHENTICATED, "LOGIN", "OK", State.AUTHENTICATED),
        (State.NOT_AUTHENTICATED, "LOGIN", "NO", State.NOT_AUTHENTICATED),
        (State.NOT_AUTHENTICATED, "LOGIN", "BAD", State.NOT_AUTHENTICATED),
        (State.NOT_AUTHENTICATED, "AUTHENTICATE", "OK", State.AUTHENTICATED),
        (State.NOT_AUTHENTICATED, "CAPABILITY", "OK", State.NOT_AUTHENTICATED),
        (State.AUTHENTICATED, "SELECT", "OK", State.SELECTED),
        (State.AUTHENTICATED, "EXAMINE", "OK", State.SELECTED),
        (State.AUTHENTICATED, "SELECT", "NO", State.AUTHENTICATED),
        (State.AUTHENTICATED, "LIST", "OK", State.AUTHENTICATED),
        (State.SELECTED, "SELECT", "OK", State.SELECTED),
        (State.SELECTED, "SELECT", "NO", State.AUTHENTICATED),
        (State.SELECTED, "EXAMINE", "NO", State.AUTHENTICATED),
        (State.SELECTED, "CLOSE", "OK", State.AUTHENTICATED),
        (State.SELECTED, "UNSELECT", "OK", State.AUTHENTICATED),
        (State.SELECTED, "CLOSE", "NO", State.SELECTED),
        (State.SELECTED, "FETCH", "OK", State.SELECTED),
        (State.NOT_AUTHENTICATED, "LOGOUT", "OK", State.LOGOUT),
        (State.AUTHENTICATED, "LOGOUT", "OK", State.LOGOUT),
        (State.SELECTED, "LOGOUT", "OK", State.LOGOUT),
    ],
)
def test_transition(before: State, name: str, status: str, after: State) -> None:
    assert reply(connected(before), name, status) is after


def test_transition_follows_the_command_of_the_tag_not_the_last_command() -> None:
    protocol = connected(State.AUTHENTICATED)
    select = protocol.command("SELECT", "INBOX").tag
    noop = protocol.command("NOOP").tag
    states = []
    for tag in (noop, select):
        responses(protocol, f"{tag} OK done\r\n".encode())
        states.append(protocol.state)
    assert states == [State.AUTHENTICATED, State.SELECTED]
    assert protocol.pending() == ()


def test_untagged_data_and_continuations_do_not_complete_a_command() -> None:
    protocol = connected(State.SELECTED)
    tag = protocol.command("IDLE").tag
    got = responses(protocol, b"+ idling\r\n* 3 EXISTS\r\n* 1 EXPUNGE\r\n")
    assert [(r.tag, r.name) for r in got] == [("+", ""), ("*", "EXISTS"), ("*", "EXPUNGE")]
    assert list(protocol.pending()) == [tag]


@pytest.mark.parametrize("state", [State.NOT_AUTHENTICATED, State.AUTHENTICATED, State.SELECTED])
def test_untagged_bye_moves_to_logout(state: State) -> None:
    protocol = connected(state)
    (response,) = responses(protocol, b"* BYE server shutting down\r\n")
    assert response.name == "BYE"
    assert protocol.state is State.LOGOUT
    with pytest.raises(InvalidArgument):
        protocol.command("NOOP")


def test_logout_sequence() -> None:
    protocol = connected(State.SELECTED)
    tag = protocol.command("LOGOUT").tag
    got = responses(protocol, b"* BYE logging out\r\n" + tag.encode() + b" OK LOGOUT done\r\n")
    assert [r.name for r in got] == ["BYE", "OK"]
    assert protocol.state is State.LOGOUT
    assert protocol.pending() == ()


def test_incomplete_response_returns_none() -> None:
    protocol = connected(State.AUTHENTICATED)
    tag = protocol.command("NOOP").tag
    protocol.receive_data(tag.encode() + b" OK no")
    assert protocol.next_response() is None
    protocol.receive_data(b"op done\r\n")
    response = protocol.next_response()
    assert response is not None
    assert response.text == "noop done"


# --- a broken connection stays broken --------------------------------------------------------


def _unknown_tag(protocol: ImapProtocol) -> None:
    protocol.receive_data(b"ZZ9 OK who asked?\r\n")
    protocol.next_response()


def _duplicate_reply(protocol: ImapProtocol) -> None:
    tag = protocol.command("NOOP").tag.encode()
    protocol.receive_data(tag + b" OK done\r\n" + tag + b" OK done again\r\n")
    protocol.next_response()
    protocol.next_response()


def _malformed(protocol: ImapProtocol) -> None:
    protocol.receive_data(b"* 1 FETCH (UID 1\r\n")
    protocol.next_response()


def _tagged_data(protocol: ImapProtocol) -> None:
    tag = protocol.command("NOOP").tag.encode()
    protocol.receive_data(tag + b" FETCH (UID 1)\r\n")
    protocol.next_response()


BREAKERS: dict[str, Callable[[ImapProtocol], None]] = {
    "unknown-tag": _unknown_tag,
    "duplicate-reply": _duplicate_reply,
    "malformed": _malformed,
    "tagged-data": _tagged_data,
}

FURTHER_CALLS: dict[str, Callable[[ImapProtocol], object]] = {
    "receive_data": lambda p: p.receive_data(b"A1 OK\r\n"),
    "next_response": lambda p: p.next_response(),
    "command": lambda p: p.command("NOOP"),
    "start_tls": lambda p: p.start_tls(),
}


@pytest.mark.parametrize("breaker", BREAKERS)
def test_protocol_error_is_raised(breaker: str) -> None:
    protocol = connected(State.AUTHENTICATED)
    with pytest.raises(ProtocolError):
        BREAKERS[breaker](protocol)


@pytest.mark.parametrize("call", FURTHER_CALLS)
@pytest.mark.parametrize("breaker", BREAKERS)
def test_protocol_is_dead_after_a_protocol_error(breaker: str, call: str) -> None:
    protocol = connected(State.AUTHENTICATED)
    with pytest.raises(ProtocolError):
        BREAKERS[breaker](protocol)
    # STYLE.md item 8, module docstring: "every further call raises".
    with pytest.raises((ProtocolError, TLSError)):
        FURTHER_CALLS[call](protocol)


def test_protocol_is_dead_after_limit_exceeded() -> None:
    protocol = ImapProtocol(Limits(max_line_length=20))
    protocol.receive_data(b"* OK " + b"x" * 40)
    with pytest.raises(LimitExceeded):
        protocol.next_response()
    with pytest.raises(ProtocolError):
        protocol.receive_data(b"\r\n")
    with pytest.raises(ProtocolError):
        protocol.next_response()


def test_parser_depth_limit_comes_from_limits() -> None:
    protocol = ImapProtocol(Limits(max_depth=2))
    responses(protocol, b"* PREAUTH hi\r\n")
    assert responses(protocol, b"* 1 FETCH ((X))\r\n")[0].data == [[["X"]]]
    protocol.receive_data(b"* 1 FETCH (((X)))\r\n")
    with pytest.raises(LimitExceeded):
        protocol.next_response()


# --- STARTTLS --------------------------------------------------------------------------------


def test_start_tls_with_nothing_buffered() -> None:
    protocol = connected(State.NOT_AUTHENTICATED)
    tag = protocol.command("STARTTLS").tag
    responses(protocol, tag.encode() + b" OK Begin TLS negotiation now\r\n")
    protocol.start_tls()  # does not raise
    assert reply(protocol, "CAPABILITY", "OK") is State.NOT_AUTHENTICATED


@pytest.mark.parametrize(
    "injected",
    [
        pytest.param(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\r\n", id="full-line"),
        pytest.param(b"* OK inj", id="partial-line"),
        pytest.param(b"\r", id="one-byte"),
    ],
)
def test_start_tls_with_bytes_buffered_raises_tls_error_and_kills(injected: bytes) -> None:
    protocol = connected(State.NOT_AUTHENTICATED)
    tag = protocol.command("STARTTLS").tag
    protocol.receive_data(tag.encode() + b" OK Begin TLS\r\n" + injected)
    response = protocol.next_response()
    assert response is not None
    assert response.tag == tag
    with pytest.raises(TLSError):
        protocol.start_tls()
    with pytest.raises(ProtocolError):
        protocol.next_response()
    with pytest.raises(ProtocolError):
        protocol.command("CAPABILITY")
