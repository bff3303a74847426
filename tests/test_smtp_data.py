"""DATA canonicalisation: CRLF only, NUL refused, dot-stuffed after normalisation, exactly one
terminator -- for any bytes, fed in any chunks (SMTP smuggling cannot end DATA early)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unimail import InvalidArgument
from unimail._proto.smtp import ContentEncoder, canonical, canonical_size_estimate, dot_stuff

# Bytes that matter for line endings and stuffing, plus some ordinary ones.
INTERESTING = st.binary(max_size=300) | st.lists(
    st.sampled_from([b"\r", b"\n", b".", b"\r\n", b"a", b"\xff", b" ", b"\r\n.\r\n", b"\n.\n"]),
    max_size=80,
).map(b"".join)


def encode(data: bytes, cuts: list[int], *, dot_stuffing: bool = True) -> bytes:
    encoder = ContentEncoder(dot_stuffing=dot_stuffing)
    out = []
    start = 0
    for cut in sorted(c % (len(data) + 1) for c in cuts):
        out.append(encoder.feed(data[start:cut]))
        start = max(start, cut)
    out.append(encoder.feed(data[start:]))
    out.append(encoder.finish())
    return b"".join(out)


def normalise(data: bytes) -> bytes:
    """The reference: every CRLF, bare CR, bare LF becomes CRLF."""
    return re.sub(rb"\r\n|\r|\n", b"\r\n", data)


def unstuff(content: bytes) -> bytes:
    lines = content.split(b"\r\n")
    return b"\r\n".join(line[1:] if line.startswith(b".") else line for line in lines)


@settings(max_examples=400)
@given(INTERESTING.filter(lambda d: b"\0" not in d), st.lists(st.integers(0, 400), max_size=6))
def test_any_bytes_any_chunks(data: bytes, cuts: list[int]) -> None:
    out = encode(data, cuts)
    assert out == dot_stuff(data)  # chunking never changes the result
    assert out.endswith(b".\r\n")
    # CRLF only: no CR without LF after it, no LF without CR before it.
    assert re.search(rb"\r(?!\n)|(?<!\r)\n", out) is None
    # Exactly one terminator, at the very end (the content is empty or ends with CRLF).
    body = out[:-3]
    assert body == b"" or body.endswith(b"\r\n")
    assert b"\r\n.\r\n" not in body and not body.startswith(b".\r\n")
    # Every line starting with "." was stuffed: undoing it gives the normalised input.
    expected = normalise(data)
    if expected and not expected.endswith(b"\r\n"):
        expected += b"\r\n"
    assert unstuff(body) == expected


@given(INTERESTING.filter(lambda d: b"\0" not in d))
def test_byte_by_byte(data: bytes) -> None:
    assert encode(data, list(range(len(data) + 1))) == dot_stuff(data)


@given(INTERESTING.filter(lambda d: b"\0" not in d), st.lists(st.integers(0, 400), max_size=4))
def test_bdat_content_is_canonical_without_stuffing(data: bytes, cuts: list[int]) -> None:
    out = encode(data, cuts, dot_stuffing=False)
    expected = normalise(data)
    if expected and not expected.endswith(b"\r\n"):
        expected += b"\r\n"
    assert out == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", b".\r\n"),
        (b"a", b"a\r\n.\r\n"),
        (b".", b"..\r\n.\r\n"),
        (b"a\n.\nb", b"a\r\n..\r\nb\r\n.\r\n"),
        # SMTP smuggling: every bare-LF/CR variant of the end-of-data marker stays data.
        (b"x\n.\nMAIL FROM:<e@x>\n", b"x\r\n..\r\nMAIL FROM:<e@x>\r\n.\r\n"),
        (b"x\r.\ry", b"x\r\n..\r\ny\r\n.\r\n"),
        (b"x\n.\r\ny", b"x\r\n..\r\ny\r\n.\r\n"),
        (b"x\r\n.\ny", b"x\r\n..\r\ny\r\n.\r\n"),
        (b"x\r\n.\r\n", b"x\r\n..\r\n.\r\n"),
        (b"a\r\r\nb", b"a\r\n\r\nb\r\n.\r\n"),
        (b"..x\r\n", b"...x\r\n.\r\n"),
    ],
)
def test_examples(data: bytes, expected: bytes) -> None:
    assert dot_stuff(data) == expected


def test_held_cr_across_chunks() -> None:
    encoder = ContentEncoder()
    assert encoder.feed(b"a\r") == b"a"
    assert encoder.feed(b"\n.b") == b"\r\n..b"
    assert encoder.finish() == b"\r\n.\r\n"


@given(st.binary(max_size=50), st.binary(max_size=50))
def test_nul_is_refused(before: bytes, after: bytes) -> None:
    with pytest.raises(InvalidArgument, match="NUL"):
        dot_stuff(before + b"\0" + after)


def test_size_estimate_counts_crlf() -> None:
    assert canonical_size_estimate(b"a\nb\r\nc") == len(b"a\r\nb\r\nc")


# Messages that are canonical already (the fast path), some lines starting with ".".
CANONICAL = st.lists(
    st.sampled_from([b"", b".", b"..", b".x", b"a.b", b"text", b"\xff\xfe", b" . "]), max_size=20
).map(lambda lines: b"".join(line + b"\r\n" for line in lines))


@given(INTERESTING.filter(lambda d: b"\0" not in d) | CANONICAL)
def test_whole_message_is_what_the_encoder_makes(data: bytes) -> None:
    for stuffing in (True, False):
        assert canonical(data, dot_stuffing=stuffing) == encode(data, [], dot_stuffing=stuffing)


def test_whole_message_refuses_nul() -> None:
    for stuffing in (True, False):
        with pytest.raises(InvalidArgument):
            canonical(b"a\r\n\0\r\n", dot_stuffing=stuffing)
