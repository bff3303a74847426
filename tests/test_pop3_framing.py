"""Multi-line framing and dot-unstuffing of POP3 replies (RFC 1939 section 3), fed in pieces.

The property tests stuff arbitrary message bytes the way a server must, then check that the
protocol gives back exactly those bytes however the stream is cut: whole, one byte at a time,
in random pieces, and with the next reply right behind the terminator.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unimail import LimitExceeded, Limits, ProtocolError
from unimail._proto.pop3._commands import Command
from unimail._proto.pop3._framing import unstuff
from unimail._proto.pop3._protocol import Data, End, Pop3Protocol, Reply, State


def stuff(content: bytes) -> bytes:
    """Byte-stuff ``content`` as a server does: a "." at a line start (after CRLF) doubled."""
    out = bytearray()
    at_line_start = True
    for index in range(len(content)):
        byte = content[index : index + 1]
        if at_line_start and byte == b".":
            out += b"."
        out += byte
        at_line_start = content[max(0, index - 1) : index + 1] == b"\r\n"
    return bytes(out) + b".\r\n"


def transaction() -> Pop3Protocol:
    """A protocol object in the TRANSACTION state (greeting and login already answered)."""
    proto = Pop3Protocol(Limits())
    proto.receive_data(b"+OK ready\r\n")
    assert isinstance(proto.next_event(), Reply)
    proto.send(Command.make("USER", "alice"))
    proto.receive_data(b"+OK\r\n")
    proto.next_event()
    proto.send(Command.make("PASS", "pw"))
    proto.receive_data(b"+OK logged in\r\n")
    proto.next_event()
    assert proto.state is State.TRANSACTION
    return proto


def retrieve(
    pieces: list[bytes], whole: int = 0, *, then: Command | None = None
) -> tuple[bytes, Pop3Protocol]:
    """Feed ``pieces`` as the reply to RETR 1; return the body and the protocol. With
    ``whole``, a body that arrives complete with its status line comes in the Reply. With
    ``then``, that command is pipelined behind RETR (sent before the replies arrive)."""
    proto = transaction()
    proto.send(Command.make("RETR", 1))
    if then is not None:
        proto.pipelining = True
        proto.send(then)
    body = bytearray()
    ended = False
    first: Reply | None = None
    for piece in pieces:
        proto.receive_data(piece)
        while not ended and (event := proto.next_event(whole)) is not None:
            if isinstance(event, Reply):
                first = event
                if event.body is not None:
                    assert whole and len(event.body) <= whole
                    body += event.body
                    ended = True
            elif isinstance(event, Data):
                body += event.data
            else:
                assert isinstance(event, End) and event.command == "RETR"
                ended = True
    assert first is not None and first.status.ok and first.has_body
    assert ended, "the terminator was not recognised"
    return bytes(body), proto


def cut(data: bytes, sizes: list[int]) -> list[bytes]:
    pieces, start = [], 0
    for size in sizes:
        pieces.append(data[start : start + size])
        start += size
    pieces.append(data[start:])
    return [p for p in pieces if p]


contents = st.lists(
    st.sampled_from([b".", b"..", b"\r", b"\n", b"\r\n", b"a", b" .", b".\r", b"\x00", b"\xff"]),
    max_size=40,
).map(lambda parts: b"".join(parts) + b"\r\n")


@given(content=contents)
@settings(max_examples=300)
def test_round_trip_whole_and_byte_by_byte(content: bytes) -> None:
    wire = b"+OK message follows\r\n" + stuff(content)
    assert retrieve([wire])[0] == content
    assert retrieve([wire[i : i + 1] for i in range(len(wire))])[0] == content


@given(
    content=contents,
    sizes=st.lists(st.integers(min_value=1, max_value=7), max_size=30),
    whole=st.sampled_from([0, 8, 10**9]),
)
@settings(max_examples=300)
def test_round_trip_any_cut_with_the_next_reply_behind(
    content: bytes, sizes: list[int], whole: int
) -> None:
    wire = b"+OK\r\n" + stuff(content) + b"+OK 1 120\r\n"
    body, proto = retrieve(cut(wire, sizes), whole, then=Command.make("LIST", 1))
    assert body == content
    # What follows the terminator belongs to the next command and is left for it.
    event = proto.next_event()
    assert isinstance(event, Reply) and event.status.raw == b"1 120"


@pytest.mark.parametrize(
    ("wire", "body"),
    [
        (b"+OK\r\n.\r\n", b""),  # empty body: the status line's CRLF precedes the dot
        (b"+OK\r\n..\r\n.\r\n", b".\r\n"),  # a stuffed "." line
        (b"+OK\r\n.\n\r\n.\r\n", b"\n\r\n"),  # "." + bare LF is data: the dot is stripped
        (b"+OK\r\nx\n.\r\n.\r\n", b"x\n.\r\n"),  # a "." after a bare LF is not a line start
        (b"+OK\r\nab\r\n.x\r\n.\r\n", b"ab\r\nx\r\n"),  # unstuffed dot line: dot stripped
        (b"+OK\r\n\r\n.\r\n", b"\r\n"),
        (b"+OK\r\nline\r.\r\n.\r\n", b"line\r.\r\n"),  # a bare CR does not end a line
    ],
)
def test_edge_cases(wire: bytes, body: bytes) -> None:
    assert retrieve([wire])[0] == body
    assert retrieve([wire], whole=100)[0] == body
    assert retrieve([wire[i : i + 1] for i in range(len(wire))])[0] == body


def test_dot_then_bare_lf_does_not_end_the_body() -> None:
    proto = transaction()
    proto.send(Command.make("RETR", 1))
    proto.receive_data(b"+OK\r\nfirst\r\n.\n")
    assert isinstance(proto.next_event(), Reply)
    data = proto.next_event()
    assert isinstance(data, Data)
    assert proto.next_event() is None  # still waiting: ".\n" was data
    proto.receive_data(b"more\r\n.\r\n")
    rest = b""
    while not isinstance(event := proto.next_event(), End):
        assert isinstance(event, Data)
        rest += event.data
    assert data.data + rest == b"first\r\n\nmore\r\n"


def test_unstuff_keeps_undecided_bytes() -> None:
    buffer = bytearray(b"abc\r\n.")
    data, consumed, at_start, ended = unstuff(buffer, False)
    assert (data, consumed, at_start, ended) == (b"abc\r\n", 5, True, False)
    buffer = bytearray(b"abc\r")
    assert unstuff(buffer, False) == (b"abc", 3, False, False)


def test_status_line_limit() -> None:
    proto = Pop3Protocol(Limits(max_line_length=20))
    proto.receive_data(b"+OK " + b"x" * 30)
    with pytest.raises(LimitExceeded):
        proto.next_event()
    with pytest.raises(ProtocolError, match="broken"):
        proto.next_event()


def test_a_large_body_streams_in_pieces_without_growing() -> None:
    proto = transaction()
    proto.send(Command.make("RETR", 1))
    proto.receive_data(b"+OK\r\n")
    assert isinstance(proto.next_event(), Reply)
    chunk = b"0123456789" * 6000 + b"\r\n"
    total = 0
    for _ in range(50):
        proto.receive_data(chunk)
        event = proto.next_event()
        assert isinstance(event, Data)
        total += len(event.data)
        assert proto.next_event() is None  # nothing held back but a possible line start
    proto.receive_data(b".\r\n")
    assert isinstance(proto.next_event(), End)
    assert total == 50 * len(chunk)
