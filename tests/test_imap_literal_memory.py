"""A large literal is held once: ResponseFramer writes it in place, as it arrives."""

from __future__ import annotations

import random
import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st

from unimail._proto.imap._framing import ResponseFramer


def _frames(chunks: list[bytes]) -> list[list[bytes]]:
    framer = ResponseFramer()
    frames = []
    for chunk in chunks:
        framer.feed(chunk)
        while (frame := framer.next_frame()) is not None:
            frames.append(frame)
    assert framer.buffered == 0
    return frames


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=60_000, max_value=300_000), st.integers(min_value=1, max_value=2**31))
def test_large_literals_in_any_chunks(size: int, seed: int) -> None:
    rng = random.Random(seed)
    literal = rng.randbytes(size)
    stream = (
        b"* 1 FETCH (UID 7 BODY[] {%d}\r\n%s)\r\n* 2 FETCH (UID 8 BODY[] {3}\r\nabc)\r\n"
        b"A1 OK done\r\n" % (size, literal)
    )
    chunks, start = [], 0
    while start < len(stream):
        step = rng.choice([1, 7, 4096, 16384, 65536, 200_000])
        chunks.append(stream[start : start + step])
        start += step
    frames = _frames(chunks)
    assert frames == [
        [b"* 1 FETCH (UID 7 BODY[] {%d}" % size, literal, b")"],
        [b"* 2 FETCH (UID 8 BODY[] {3}", b"abc", b")"],
        [b"A1 OK done"],
    ]
    assert type(frames[0][1]) is bytes


def test_a_large_literal_is_held_once() -> None:
    size = 16 * 1024 * 1024
    chunk = b"x" * 16384
    framer = ResponseFramer()
    tracemalloc.start()
    try:
        framer.feed(b"* 1 FETCH (UID 1 BODY[] {%d}\r\n" % size)
        assert framer.next_frame() is None
        for _ in range(size // len(chunk)):
            framer.feed(chunk)
            assert framer.next_frame() is None
        framer.feed(b")\r\n")
        frame = framer.next_frame()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert frame is not None
    assert len(frame[1]) == size
    # Held once (plus a chunk or two), where a receive buffer and its copy would be twice.
    assert peak < size * 1.2
