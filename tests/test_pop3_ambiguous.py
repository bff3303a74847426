"""The sans-I/O POP3 core: which out-of-step replies are "ambiguous" (AmbiguousFirstLine, the one
case the async layer answers by asking for the message alone on a new connection) and which are
plain ProtocolErrors that nothing retries."""

from __future__ import annotations

import pytest

from unimail import Limits, ProtocolError
from unimail._proto.pop3._commands import Command
from unimail._proto.pop3._protocol import (
    AmbiguousFirstLine,
    Data,
    Event,
    Pop3Protocol,
    Reply,
    State,
)


def logged_in() -> Pop3Protocol:
    proto = Pop3Protocol(Limits())
    proto.receive_data(b"+OK ready\r\n")
    assert isinstance(proto.next_event(), Reply)
    proto.pipelining = True
    proto.send(Command.make("USER", "alice"))
    proto.receive_data(b"+OK\r\n")
    assert isinstance(proto.next_event(), Reply)
    proto.send(Command.make("PASS", "pw"))
    proto.receive_data(b"+OK in\r\n")
    assert isinstance(proto.next_event(), Reply)
    assert proto.state is State.TRANSACTION
    return proto


def feed(proto: Pop3Protocol, wire: bytes, whole: int, bytewise: bool) -> list[Event]:
    """Feed ``wire`` whole or one byte at a time; return the events until an error."""
    seen: list[Event] = []
    pieces = [wire[i : i + 1] for i in range(len(wire))] if bytewise else [wire]
    for piece in pieces:
        proto.receive_data(piece)
        while (event := proto.next_event(whole)) is not None:
            seen.append(event)
    return seen


FIRST_LINES = [b"+OK not a reply", b"+OK", b"-ERR nor this", b"-ERR"]


@pytest.mark.parametrize("first", FIRST_LINES)
@pytest.mark.parametrize("command", [Command.make("RETR", 1), Command.make("TOP", 1, 0)])
@pytest.mark.parametrize("whole", [0, 4096])
@pytest.mark.parametrize("bytewise", [False, True])
def test_a_pipelined_message_starting_like_a_status_line_is_ambiguous(
    first: bytes, command: Command, whole: int, bytewise: bool
) -> None:
    message = first + b"\r\nSubject: s\r\n\r\nbody\r\n"
    proto = logged_in()
    proto.send(command)
    proto.send(Command.make("RETR", 2))
    wire = b"+OK\r\n" + message + b".\r\n+OK\r\nsecond\r\n.\r\n"
    with pytest.raises(AmbiguousFirstLine, match=r"status line|-ERR line") as caught:
        feed(proto, wire, whole, bytewise)
    assert isinstance(caught.value, ProtocolError)  # what a caller that does not retry sees
    # The connection is broken like after any protocol error: nothing more is sent on it.
    with pytest.raises(ProtocolError, match="broken") as again:
        proto.send(Command.make("NOOP"))
    assert not isinstance(again.value, AmbiguousFirstLine)


@pytest.mark.parametrize("first", FIRST_LINES)
def test_the_same_message_alone_is_its_own(first: bytes) -> None:
    message = first + b"\r\nSubject: s\r\n\r\nbody\r\n"
    proto = logged_in()
    proto.send(Command.make("RETR", 1))
    seen = feed(proto, b"+OK\r\n" + message + b".\r\n", 4096, False)
    assert len(seen) == 1 and isinstance(seen[0], Reply) and seen[0].body == message
    assert proto.pending == 0


@pytest.mark.parametrize("command", [Command.make("LIST"), Command.make("UIDL")])
def test_a_listing_starting_like_a_status_line_is_not_ambiguous(command: Command) -> None:
    # No listing line looks like a status line: it is a reply read as the listing, for sure.
    proto = logged_in()
    proto.send(command)
    proto.send(Command.make("STAT"))
    with pytest.raises(ProtocolError, match="status line") as caught:
        feed(proto, b"+OK\r\n+OK 2 320\r\n.\r\n", 0, False)
    assert not isinstance(caught.value, AmbiguousFirstLine)


@pytest.mark.parametrize(
    "wire",
    [
        b"+OK\r\n+OK\r\n",  # DELE answered, then a line nobody asked for
        b"+OK\r\nhello\r\n.\r\n",  # DELE answered with a body
    ],
)
def test_other_replies_out_of_step_are_not_ambiguous(wire: bytes) -> None:
    proto = logged_in()
    proto.send(Command.make("DELE", 1))
    with pytest.raises(ProtocolError) as caught:
        feed(proto, wire, 0, False)
    assert not isinstance(caught.value, AmbiguousFirstLine)


def test_a_first_line_that_arrived_before_the_next_command_is_not_ambiguous() -> None:
    # Sent after the message's first line arrived, RETR 2 cannot have produced that line.
    message = b"+OK hello\r\nbody\r\n"
    proto = logged_in()
    proto.send(Command.make("RETR", 1))
    proto.receive_data(b"+OK\r\n" + message[:12])
    event = proto.next_event()
    assert isinstance(event, Reply) and event.streams
    proto.send(Command.make("RETR", 2))
    seen = feed(proto, message[12:] + b".\r\n+OK\r\nb\r\n.\r\n", 0, False)
    assert b"".join(e.data for e in seen if isinstance(e, Data)) == message + b"b\r\n"
