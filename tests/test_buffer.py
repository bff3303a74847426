"""Unit tests of ReceiveBuffer: whole input, byte by byte, trailing data, every limit."""

from __future__ import annotations

import itertools
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from unimail._backends._buffer import ReceiveBuffer
from unimail._errors import InvalidArgument, LimitExceeded
from unimail._options import Limits

TRANSCRIPT = b"* OK ready\r\n* CAPABILITY IMAP4rev1\r\na1 OK done\r\n"
LINES = [b"* OK ready\r\n", b"* CAPABILITY IMAP4rev1\r\n", b"a1 OK done\r\n"]


def drain_lines(buffer: ReceiveBuffer) -> list[bytes]:
    """Take every complete line from ``buffer``."""
    lines = []
    while (line := buffer.take_line()) is not None:
        lines.append(line)
    return lines


def test_whole_input() -> None:
    buffer = ReceiveBuffer(Limits())
    buffer.feed(TRANSCRIPT)
    assert drain_lines(buffer) == LINES
    assert len(buffer) == 0


def test_byte_by_byte() -> None:
    buffer = ReceiveBuffer(Limits())
    lines = []
    for i in range(len(TRANSCRIPT)):
        buffer.feed(TRANSCRIPT[i : i + 1])
        lines += drain_lines(buffer)
    assert lines == LINES


def test_trailing_data_stays_buffered() -> None:
    buffer = ReceiveBuffer(Limits())
    buffer.feed(b"a1 OK done\r\n* partial")
    assert buffer.take_line() == b"a1 OK done\r\n"
    assert buffer.take_line() is None
    assert len(buffer) == len(b"* partial")
    buffer.feed(b" line\r\n")
    assert buffer.take_line() == b"* partial line\r\n"


def test_bare_lf_ends_a_line() -> None:
    buffer = ReceiveBuffer(Limits())
    buffer.feed(b"+OK hi\n.\r\n")
    assert drain_lines(buffer) == [b"+OK hi\n", b".\r\n"]


def test_empty_line() -> None:
    buffer = ReceiveBuffer(Limits())
    buffer.feed(b"\r\n")
    assert buffer.take_line() == b"\r\n"


def test_take_exact_then_line() -> None:
    # An IMAP literal: "{5}\r\n" then 5 bytes, then the rest of the response line.
    buffer = ReceiveBuffer(Limits())
    buffer.feed(b"* 1 FETCH (BODY[] {5}\r\nhe")
    assert buffer.take_line() == b"* 1 FETCH (BODY[] {5}\r\n"
    assert buffer.take_exact(5) is None
    buffer.feed(b"l\nlo)\r\n")
    assert buffer.take_exact(5) == b"hel\nl"
    assert buffer.take_line() == b"o)\r\n"
    assert buffer.take_exact(0) == b""


def test_take_exact_after_a_failed_line_search() -> None:
    # The search position must move back when bytes are taken from the front.
    buffer = ReceiveBuffer(Limits())
    buffer.feed(b"abcdef")
    assert buffer.take_line() is None
    assert buffer.take_exact(4) == b"abcd"
    buffer.feed(b"\nrest")
    assert buffer.take_line() == b"ef\n"
    assert buffer.take_all() == b"rest"
    assert len(buffer) == 0


def test_take_all_when_empty() -> None:
    assert ReceiveBuffer(Limits()).take_all() == b""


def test_line_at_the_limit_is_accepted() -> None:
    buffer = ReceiveBuffer(Limits(max_line_length=4))
    buffer.feed(b"abcd\r\nwxyz\n")
    assert drain_lines(buffer) == [b"abcd\r\n", b"wxyz\n"]


def test_pending_cr_does_not_count() -> None:
    buffer = ReceiveBuffer(Limits(max_line_length=4))
    buffer.feed(b"abcd\r")
    assert buffer.take_line() is None
    buffer.feed(b"\n")
    assert buffer.take_line() == b"abcd\r\n"


def test_complete_line_over_the_limit() -> None:
    buffer = ReceiveBuffer(Limits(max_line_length=4))
    buffer.feed(b"abcde\r\n")
    with pytest.raises(LimitExceeded, match="max_line_length"):
        buffer.take_line()


def test_pending_line_over_the_limit_before_its_end() -> None:
    buffer = ReceiveBuffer(Limits(max_line_length=4))
    buffer.feed(b"abcd")
    assert buffer.take_line() is None
    buffer.feed(b"e")
    with pytest.raises(LimitExceeded, match="still no end"):
        buffer.take_line()


def test_take_exact_over_the_literal_limit() -> None:
    buffer = ReceiveBuffer(Limits(max_literal_size=10))
    buffer.feed(b"x" * 20)
    assert buffer.take_exact(10) == b"x" * 10
    with pytest.raises(LimitExceeded, match="max_literal_size"):
        buffer.take_exact(11)


def test_take_exact_negative() -> None:
    with pytest.raises(InvalidArgument):
        ReceiveBuffer(Limits()).take_exact(-1)


def test_long_line_byte_by_byte_is_linear() -> None:
    # A quadratic rescan would take minutes here; the incremental search takes milliseconds.
    size = 200_000
    buffer = ReceiveBuffer(Limits())
    started = time.perf_counter()
    for _ in range(size):
        buffer.feed(b"x")
        assert buffer.take_line() is None
    buffer.feed(b"\r\n")
    assert buffer.take_line() == b"x" * size + b"\r\n"
    assert time.perf_counter() - started < 5


def test_many_lines_in_one_feed() -> None:
    buffer = ReceiveBuffer(Limits())
    buffer.feed(b"* 1 EXISTS\r\n" * 100_000)
    assert len(drain_lines(buffer)) == 100_000


line_bodies = st.lists(
    st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"").replace(b"\r", b"")),
    max_size=20,
)


@given(bodies=line_bodies, cuts=st.lists(st.integers(min_value=0, max_value=2000)))
def test_any_chunking_gives_the_same_lines(bodies: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(body + b"\r\n" for body in bodies)
    points = sorted({min(cut, len(stream)) for cut in cuts} | {0, len(stream)})
    buffer = ReceiveBuffer(Limits(max_line_length=40))
    lines: list[bytes] = []
    for start, end in itertools.pairwise(points):
        buffer.feed(stream[start:end])
        lines += drain_lines(buffer)
    assert lines == [body + b"\r\n" for body in bodies]
    assert len(buffer) == 0
