"""ResponseFramer: whole input, byte by byte, random chunks, trailing data, literals, limits."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from unimail._errors import LimitExceeded, ProtocolError
from unimail._options import Limits
from unimail._proto.imap._framing import Frame, ResponseFramer

# A transcript exercising every framing rule: plain lines, a synchronising literal holding CRLF
# and text that looks like a literal announcement, a zero-length literal, two literals in one
# response, a LITERAL+ style announcement, and a line ended by a bare LF.
TRANSCRIPT = (
    b"* OK [CAPABILITY IMAP4rev1] ready\r\n"
    b"* 1 FETCH (BODY[] {13}\r\nab\r\n{5}\r\ncd\r\n UID 7)\r\n"
    b"* 2 FETCH (BODY[] {0}\r\n UID 8)\r\n"
    b"* 3 FETCH (BODY[HEADER] {3}\r\nabc BODY[TEXT] {4}\r\ndefg)\r\n"
    b'* LIST () "/" {5+}\r\nhello\r\n'
    b"* 4 EXISTS\n"
    b"A1 OK done\r\n"
)
FRAMES: list[Frame] = [
    [b"* OK [CAPABILITY IMAP4rev1] ready"],
    [b"* 1 FETCH (BODY[] {13}", b"ab\r\n{5}\r\ncd\r\n", b" UID 7)"],
    [b"* 2 FETCH (BODY[] {0}", b"", b" UID 8)"],
    [b"* 3 FETCH (BODY[HEADER] {3}", b"abc", b" BODY[TEXT] {4}", b"defg", b")"],
    [b'* LIST () "/" {5+}', b"hello", b""],
    [b"* 4 EXISTS"],
    [b"A1 OK done"],
]


def drain(framer: ResponseFramer) -> list[Frame]:
    """Take every complete frame from ``framer``."""
    frames = []
    while (frame := framer.next_frame()) is not None:
        frames.append(frame)
    return frames


def frames_of_chunks(chunks: list[bytes], limits: Limits | None = None) -> list[Frame]:
    """Feed ``chunks`` one after another, draining after each, and return all frames."""
    framer = ResponseFramer(limits)
    frames = []
    for chunk in chunks:
        framer.feed(chunk)
        frames += drain(framer)
    assert framer.buffered == 0
    return frames


def test_whole_input() -> None:
    framer = ResponseFramer()
    framer.feed(TRANSCRIPT)
    assert drain(framer) == FRAMES
    assert framer.buffered == 0
    assert framer.next_frame() is None


def test_byte_by_byte() -> None:
    chunks = [TRANSCRIPT[i : i + 1] for i in range(len(TRANSCRIPT))]
    assert frames_of_chunks(chunks) == FRAMES


@given(st.lists(st.integers(min_value=0, max_value=len(TRANSCRIPT)), max_size=40))
def test_random_chunking_gives_the_same_frames(cuts: list[int]) -> None:
    points = [0, *sorted(cuts), len(TRANSCRIPT)]
    chunks = [TRANSCRIPT[a:b] for a, b in itertools.pairwise(points)]
    assert frames_of_chunks(chunks) == FRAMES


@given(st.lists(st.integers(min_value=0, max_value=len(TRANSCRIPT)), max_size=10))
def test_feeding_without_draining_in_between_gives_the_same_frames(cuts: list[int]) -> None:
    points = [0, *sorted(cuts), len(TRANSCRIPT)]
    framer = ResponseFramer()
    frames: list[Frame] = []
    for index, (a, b) in enumerate(itertools.pairwise(points)):
        framer.feed(TRANSCRIPT[a:b])
        if index % 2:  # drain only every other chunk: compaction must not lose data
            frames += drain(framer)
    frames += drain(framer)
    assert frames == FRAMES


def test_trailing_data_stays_buffered_until_completed() -> None:
    framer = ResponseFramer()
    framer.feed(b"* 1 EXISTS\r\n* 2 EXI")
    assert framer.next_frame() == [b"* 1 EXISTS"]
    assert framer.next_frame() is None
    assert framer.buffered == len(b"* 2 EXI")
    framer.feed(b"STS\r\n* 3")
    assert framer.next_frame() == [b"* 2 EXISTS"]
    assert framer.buffered == 3
    framer.feed(b" EXISTS\r\n")
    assert framer.next_frame() == [b"* 3 EXISTS"]
    assert framer.buffered == 0


def test_buffered_counts_a_response_waiting_for_its_literal() -> None:
    framer = ResponseFramer()
    head = b"* 1 FETCH (BODY[] {10}\r\nhello"
    framer.feed(head)
    assert framer.next_frame() is None
    # The announcement line has been cut, but it is not part of a returned frame yet.
    assert framer.buffered >= len(b"* 1 FETCH (BODY[] {10}hello")
    framer.feed(b"world)\r\n")
    assert framer.next_frame() == [b"* 1 FETCH (BODY[] {10}", b"helloworld", b")"]
    assert framer.buffered == 0


def test_literal_bytes_are_never_read_as_lines() -> None:
    # The literal holds a line that announces another literal, and a bare LF.
    data = b"* 1 FETCH (BODY[] {10}\r\n{999}\r\na\nb)\r\n"
    assert frames_of_chunks([data]) == [[b"* 1 FETCH (BODY[] {10}", b"{999}\r\na\nb", b")"]]


def test_literal_announcement_must_end_the_line() -> None:
    assert frames_of_chunks([b"* OK {5} is not a literal\r\n"]) == [[b"* OK {5} is not a literal"]]


@pytest.mark.parametrize("announcement", [b"{5}", b"{5+}"])
def test_synchronising_and_non_synchronising_literals(announcement: bytes) -> None:
    data = b'* LIST () "/" ' + announcement + b"\r\nab cd\r\n"
    assert frames_of_chunks([data]) == [[b'* LIST () "/" ' + announcement, b"ab cd", b""]]


def test_zero_length_literal_at_end_of_response() -> None:
    assert frames_of_chunks([b"* 1 FETCH (BODY[] {0}\r\n)\r\n"]) == [
        [b"* 1 FETCH (BODY[] {0}", b"", b")"]
    ]


def test_bare_lf_line_endings_are_tolerated() -> None:
    assert frames_of_chunks([b"* OK hi\n* 1 FETCH (BODY[] {2}\nab)\nA1 OK\n"]) == [
        [b"* OK hi"],
        [b"* 1 FETCH (BODY[] {2}", b"ab", b")"],
        [b"A1 OK"],
    ]


def test_cr_inside_a_line_is_kept() -> None:
    assert frames_of_chunks([b"* OK a\rb\r\n"]) == [[b"* OK a\rb"]]


# --- limits ----------------------------------------------------------------------------------


def test_limit_exceeded_is_a_protocol_error() -> None:
    assert issubclass(LimitExceeded, ProtocolError)


def test_line_of_exactly_max_line_length_is_accepted() -> None:
    # max_line_length counts the line "without its CRLF" (framer docstring; ReceiveBuffer
    # applies the same rule): a 10-byte line is within a 10-byte limit.
    framer = ResponseFramer(Limits(max_line_length=10))
    framer.feed(b"* OK 12345\r\n")
    assert framer.next_frame() == [b"* OK 12345"]


def test_line_of_max_line_length_waiting_for_its_lf_is_accepted() -> None:
    # The CR that has arrived may be the first half of the terminator, not part of the line.
    framer = ResponseFramer(Limits(max_line_length=10))
    framer.feed(b"* OK 12345\r")
    assert framer.next_frame() is None
    framer.feed(b"\n")
    assert framer.next_frame() == [b"* OK 12345"]


def test_long_line_raises_when_complete() -> None:
    framer = ResponseFramer(Limits(max_line_length=10))
    framer.feed(b"* OK 123456\r\n")
    with pytest.raises(LimitExceeded):
        framer.next_frame()


def test_long_line_raises_before_its_lf_arrives() -> None:
    framer = ResponseFramer(Limits(max_line_length=10))
    line = b"* OK 1234567890"
    for index in range(len(line)):
        framer.feed(line[index : index + 1])
        if index < 10:  # at most 10 bytes buffered: still within the limit
            assert framer.next_frame() is None
        else:
            with pytest.raises(LimitExceeded):
                framer.next_frame()
            return
    pytest.fail("no LimitExceeded")  # pragma: no cover


def test_line_after_a_literal_is_limited_too() -> None:
    framer = ResponseFramer(Limits(max_line_length=30))
    framer.feed(b"* 1 FETCH (BODY[] {2}\r\nab" + b"x" * 40)
    with pytest.raises(LimitExceeded):
        framer.next_frame()


def test_literal_of_exactly_max_literal_size_is_accepted() -> None:
    framer = ResponseFramer(Limits(max_literal_size=5))
    framer.feed(b"* 1 FETCH (BODY[] {5}\r\nhello)\r\n")
    assert framer.next_frame() == [b"* 1 FETCH (BODY[] {5}", b"hello", b")"]


@pytest.mark.parametrize("announcement", [b"{6}", b"{6+}", b"{99999999999999999999}"])
def test_large_literal_raises_before_its_bytes_arrive(announcement: bytes) -> None:
    framer = ResponseFramer(Limits(max_literal_size=5))
    framer.feed(b"* 1 FETCH (BODY[] " + announcement + b"\r\n")  # no literal byte sent
    with pytest.raises(LimitExceeded):
        framer.next_frame()


def test_literals_adding_up_over_max_response_size_raise_before_they_arrive() -> None:
    framer = ResponseFramer(Limits(max_response_size=100))
    framer.feed(b"* 1 FETCH (BODY[1] {40}\r\n" + b"a" * 40 + b" BODY[2] {40}\r\n")
    with pytest.raises(LimitExceeded):
        framer.next_frame()


def test_response_within_max_response_size_is_accepted() -> None:
    data = b"* 1 FETCH (BODY[] {10}\r\n0123456789)\r\n"
    assert len(data) <= 40
    framer = ResponseFramer(Limits(max_response_size=40))
    framer.feed(data)
    assert framer.next_frame() == [b"* 1 FETCH (BODY[] {10}", b"0123456789", b")"]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"* OK " + b"x" * 100 + b"\r\n", id="single-line"),
        pytest.param(
            b"* 1 FETCH (BODY[] {5}\r\nhello" + b" X" * 50 + b")\r\n", id="line-after-literal"
        ),
    ],
)
def test_response_over_max_response_size_raises(data: bytes) -> None:
    # Framer docstring: "a response larger than max_response_size raises LimitExceeded".
    framer = ResponseFramer(Limits(max_response_size=50))
    framer.feed(data)
    with pytest.raises(LimitExceeded):
        framer.next_frame()
