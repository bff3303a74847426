"""The sans-I/O POP3 core: a message or listing whose first line looks like a status line
(+OK, -ERR), alone in flight or pipelined, read as data or refused as out of step."""

from __future__ import annotations

import pytest

from tests.test_pop3_protocol import events, logged_in
from unimail import ProtocolError
from unimail._proto.pop3._commands import Command
from unimail._proto.pop3._protocol import (
    Data,
    End,
    Event,
    Pop3Protocol,
    Reply,
)


def body_of(proto: Pop3Protocol, pieces: list[bytes], whole: int = 0) -> bytes:
    """Feed ``pieces`` and return the body of the first reply (gathered whole or streamed)."""
    body, ended = bytearray(), False
    for piece in pieces:
        proto.receive_data(piece)
        while not ended and (event := proto.next_event(whole)) is not None:
            if isinstance(event, Reply):
                assert event.has_body
                if event.body is not None:
                    body += event.body
                    ended = True
            elif isinstance(event, Data):
                body += event.data
            else:
                assert isinstance(event, End)
                ended = True
    assert ended
    return bytes(body)


def feed(proto: Pop3Protocol, pieces: list[bytes], whole: int, seen: list[Event]) -> None:
    """Feed ``pieces`` one by one, appending every event to ``seen``."""
    for piece in pieces:
        proto.receive_data(piece)
        while (event := proto.next_event(whole)) is not None:
            seen.append(event)


STATUS_LIKE = [b"+OK hello", b"-ERR x", b"+OK", b"-ERR", b"+OK not a reply"]


@pytest.mark.parametrize("first", STATUS_LIKE)
@pytest.mark.parametrize("whole", [0, 4096])
@pytest.mark.parametrize("bytewise", [False, True])
@pytest.mark.parametrize("command", [Command.make("RETR", 1), Command.make("TOP", 1, 0)])
def test_a_message_alone_in_flight_may_start_like_a_status_line(
    first: bytes, whole: int, bytewise: bool, command: Command
) -> None:
    # Without a second command in flight nothing else can answer: the line is the message's.
    message = first + b"\r\nSubject: s\r\n\r\nbody\r\n"
    wire = b"+OK %d octets\r\n" % len(message) + message + b".\r\n"
    proto = logged_in(pipelining=True)  # offered by the server, but one command in flight
    proto.send(command)
    pieces = [wire[i : i + 1] for i in range(len(wire))] if bytewise else [wire]
    assert body_of(proto, pieces, whole) == message
    assert proto.pending == 0
    # The connection is in step: the next command gets its own reply.
    proto.send(Command.make("NOOP"))
    proto.receive_data(b"+OK\r\n")
    event = proto.next_event()
    assert isinstance(event, Reply) and event.command == "NOOP" and not event.has_body


@pytest.mark.parametrize("second", [b"+OK 6 octets\r\nhello\r\n.\r\n", b"-ERR no such message\r\n"])
@pytest.mark.parametrize("whole", [0, 4096])
@pytest.mark.parametrize("bytewise", [False, True])
def test_one_line_for_a_pipelined_retr_is_out_of_step(
    second: bytes, whole: int, bytewise: bool
) -> None:
    # RETR 1 answered with one line: RETR 2's reply would be read as message 1.
    proto = logged_in(pipelining=True)
    proto.send(Command.make("RETR", 1))
    proto.send(Command.make("RETR", 2))
    wire = b"+OK\r\n" + second
    pieces = [wire[i : i + 1] for i in range(len(wire))] if bytewise else [wire]
    seen: list[Event] = []
    with pytest.raises(ProtocolError, match=r"status line|-ERR line"):
        feed(proto, pieces, whole, seen)
    # Only RETR 1's status line came out: no byte of the next reply was read as message 1.
    assert [(type(e), getattr(e, "body", None)) for e in seen] in ([], [(Reply, None)])
    with pytest.raises(ProtocolError, match="broken"):
        proto.next_event()


def test_a_command_sent_after_the_first_line_arrived_cannot_be_its_reply() -> None:
    message = b"+OK hello\r\nbody\r\n"
    proto = logged_in(pipelining=True)
    proto.send(Command.make("RETR", 1))
    proto.receive_data(b"+OK\r\n" + message[:12])
    event = proto.next_event()
    assert isinstance(event, Reply) and event.streams
    # The first line is here before RETR 2 is sent: it is message 1's, not RETR 2's reply.
    proto.send(Command.make("RETR", 2))
    assert body_of(proto, [message[12:] + b".\r\n+OK\r\nb\r\n.\r\n"]) == message
    assert body_of(proto, [b""]) == b"b\r\n"  # RETR 2's reply, already received


def test_a_command_sent_before_the_first_line_arrived_may_be_its_reply() -> None:
    proto = logged_in(pipelining=True)
    proto.send(Command.make("RETR", 1))
    proto.receive_data(b"+OK\r\n")
    event = proto.next_event()
    assert isinstance(event, Reply) and event.streams
    proto.send(Command.make("RETR", 2))
    proto.receive_data(b"+OK 3 octets\r\nb\r\n.\r\n")
    with pytest.raises(ProtocolError, match="status line"):
        proto.next_event()


@pytest.mark.parametrize("command", [Command.make("CAPA"), Command.make("LIST")])
def test_a_listing_starting_with_a_status_line_is_refused_even_alone(command: Command) -> None:
    # No listing line looks like a status line: this is a reply read as the listing.
    proto = logged_in()
    proto.send(command)
    proto.receive_data(b"+OK\r\n+OK 2 messages\r\n.\r\n")
    with pytest.raises(ProtocolError, match="status line"):
        events(proto)
