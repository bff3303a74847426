"""ImapProtocol reads a run of FETCH responses together, and nothing else changes.

The responses come out one by one, in order, equal to what ``parse_response`` gives each
alone; an error is raised when the response that causes it is due, never earlier; framing
stops at the first other response; and nothing is framed ahead while a literal sink is set.
"""

from __future__ import annotations

import pytest
from benchmarks._corpus import fetch_stream

from tests.test_imap_protocol import connected, responses
from unimail._errors import LimitExceeded, ProtocolError
from unimail._options import Limits
from unimail._proto.imap._framing import ResponseFramer
from unimail._proto.imap._parser import Response, parse_response
from unimail._proto.imap._protocol import ImapProtocol, State


def _fetch(uid: int, subject: bytes = b"hi") -> bytes:
    return b'* %d FETCH (UID %d FLAGS (\\Seen) ENVELOPE (NIL "%s" NIL))\r\n' % (uid, uid, subject)


def _one_by_one(data: bytes) -> list[Response]:
    framer = ResponseFramer()
    framer.feed(data)
    out = []
    while (frame := framer.next_frame()) is not None:
        out.append(parse_response(frame))
    return out


def test_a_long_answer_comes_out_as_each_response_alone() -> None:
    data = fetch_stream(300)
    data = data[: data.rindex(b"A1 OK")]  # the untagged responses only
    protocol = connected(State.SELECTED)
    got = []
    for start in range(0, len(data), 4096):  # runs cut at every place a read may end
        got += responses(protocol, data[start : start + 4096])
    assert got == _one_by_one(data)
    assert len(got) == 300


def test_other_responses_keep_their_place() -> None:
    data = _fetch(1) + _fetch(2) + b"* 3 EXPUNGE\r\n" + _fetch(3) + b"* 4 EXISTS\r\n" + _fetch(4)
    got = responses(connected(State.SELECTED), data)
    assert [(response.name, response.number) for response in got] == [
        ("FETCH", 1), ("FETCH", 2), ("EXPUNGE", 3), ("FETCH", 3), ("EXISTS", 4), ("FETCH", 4),
    ]  # fmt: skip
    assert got == _one_by_one(data)


def test_a_malformed_response_is_raised_in_its_turn() -> None:
    protocol = connected(State.SELECTED)
    protocol.receive_data(_fetch(1) + _fetch(2) + b"* 3 FETCH (UID 3 X (\r\n" + _fetch(4))
    assert protocol.next_response().number == 1  # type: ignore[union-attr]
    assert protocol.next_response().number == 2  # type: ignore[union-attr]
    with pytest.raises(ProtocolError, match="unbalanced"):
        protocol.next_response()
    with pytest.raises(ProtocolError, match="unusable"):
        protocol.next_response()


def test_an_absurd_number_is_raised_in_its_turn() -> None:
    protocol = connected(State.SELECTED)
    absurd = b"* 3 FETCH (UID 3 RFC822.SIZE " + b"7" * 150 + b")\r\n"
    protocol.receive_data(_fetch(1) + _fetch(2) + absurd + _fetch(4))
    assert protocol.next_response().number == 1  # type: ignore[union-attr]
    assert protocol.next_response().number == 2  # type: ignore[union-attr]
    with pytest.raises(ProtocolError, match="digits"):
        protocol.next_response()


def test_a_limit_passed_while_framing_ahead_is_raised_in_its_turn() -> None:
    protocol = ImapProtocol(Limits(max_line_length=200))
    responses(protocol, b"* PREAUTH ready\r\n")
    protocol.receive_data(_fetch(1) + _fetch(2) + b"* 3 FETCH (UID 3 X " + b"y" * 300)
    assert protocol.next_response().number == 1  # type: ignore[union-attr]
    assert protocol.next_response().number == 2  # type: ignore[union-attr]
    with pytest.raises(LimitExceeded):
        protocol.next_response()
    with pytest.raises(ProtocolError, match="unusable"):
        protocol.next_response()


def test_framing_stops_at_the_first_other_response() -> None:
    # After a tagged OK the bytes may belong to another layer (COMPRESS, STARTTLS): they
    # stay unread until the caller asks for the next response.
    protocol = connected(State.SELECTED)
    tag = protocol.command("NOOP").tag.encode()
    after = b"\x78\x9c\x01garbage\r\n"  # the start of a deflate stream, say
    protocol.receive_data(_fetch(1) + _fetch(2) + tag + b" OK done\r\n" + after)
    names = [protocol.next_response().name for _ in range(3)]  # type: ignore[union-attr]
    assert names == ["FETCH", "FETCH", "OK"]
    assert protocol._framer.buffered == len(after)


def test_nothing_is_framed_ahead_while_a_literal_sink_is_set() -> None:
    # download() tells whose literal the sink got by the response handed out after it.
    protocol = connected(State.SELECTED)
    received: list[bytes] = []
    protocol.set_literal_sink(lambda chunk, total: received.append(chunk))
    body = b"* %d FETCH (UID %d BODY[] {5}\r\nabcde FLAGS (\\Seen))\r\n"
    protocol.receive_data(body % (1, 1) + body % (2, 2) + body % (3, 3))
    for number in (1, 2, 3):
        assert protocol.next_response().number == number  # type: ignore[union-attr]
        assert received == [b"abcde"] * number
