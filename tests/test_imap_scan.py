"""The parser's fast path (``_scan.scan``) gives exactly the tokens of its loop.

``_scan`` either returns the same nested values as ``_tokenize`` (same types: ``bytes`` for
strings and literals, ``str`` atoms, ``int``, ``None``) or declines with ``None``, and then the
loop reads the response, errors included. Checked on the MailKit corpus (real servers), on the
benchmark's FETCH stream, and on random token soup that aims at the fast path's markers.
``_scan.scan_many`` reads several responses in one pass: for each, the same values, or it
declines for all of them.
"""

from __future__ import annotations

import pytest
from benchmarks._corpus import fetch_stream
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_imap_corpus import FILES, wire_bytes
from unimail._errors import ProtocolError
from unimail._options import Limits
from unimail._proto.imap import _scan, _tokens
from unimail._proto.imap._framing import Frame, ResponseFramer
from unimail._proto.imap._parser import parse_response


def _parts(frame: Frame) -> list[bytes] | None:
    """The data parts of an untagged response, as parse_response hands them on."""
    tag, _, rest = frame[0].partition(b" ")
    if tag != b"*":
        return None
    name, _, after = rest.partition(b" ")
    if name.isdigit():
        name, _, after = after.partition(b" ")
    if name.upper() in (b"OK", b"NO", b"BAD", b"BYE", b"PREAUTH", b"LIST", b"LSUB", b"STATUS"):
        return None
    return [after, *frame[1:]]


def _same(parts: list[bytes], max_depth: int = 64) -> bool:
    """Check the fast path against the loop; return whether the fast path answered."""
    fast = _scan.scan(parts, max_depth)
    refused: ProtocolError | None = None
    slow: object = None
    try:
        slow = _tokens.tokenize(parts, max_depth, _tokens.read_atom)
    except ProtocolError as error:
        refused = error
    if refused is not None:
        assert fast is None, f"fast path accepted what the loop refuses ({refused}): {parts!r}"
        return False
    if fast is not None:
        assert _typed(fast) == _typed(slow), parts
    return fast is not None


def _typed(value: object) -> object:
    """Values with their types spelled out: 1 == 1.0 and True == 1 must not pass."""
    if isinstance(value, list):
        return [_typed(item) for item in value]
    return (type(value).__name__, value)


def _frames(data: bytes) -> list[Frame]:
    framer = ResponseFramer(Limits())
    framer.feed(data)
    frames = []
    while (frame := framer.next_frame()) is not None:
        frames.append(frame)
    return frames


def test_benchmark_fetch_stream_takes_the_fast_path() -> None:
    # The common FETCH shape (escapes, NIL, literals, nested structures) must not fall back,
    # or the fast path silently stops paying for itself.
    frames = [parts for frame in _frames(fetch_stream(300)) if (parts := _parts(frame))]
    assert len(frames) == 300
    assert all(_same(parts) for parts in frames)
    assert any(len(parts) > 1 for parts in frames)  # literals were among them
    assert any(b'\\"' in parts[0] for parts in frames)  # and escaped quotes


@pytest.mark.parametrize("relative", FILES or ["missing"])
def test_corpus_responses_give_the_same_tokens(relative: str) -> None:
    if relative == "missing":
        pytest.skip("the MailKit corpus is missing")  # test_imap_corpus.py fails for it
    try:
        frames = _frames(wire_bytes(relative))
    except ProtocolError:
        return  # framing errors are test_imap_corpus.py's business
    for frame in frames:
        parts = _parts(frame)
        if parts is not None:
            _same(parts)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b'(UID 7 FLAGS (\\Seen $X) ENVELOPE (NIL "a\\"b\\\\c"))',
         [["UID", 7, "FLAGS", ["\\Seen", "$X"], "ENVELOPE", [None, b'a"b\\c']]]),
        (b'(X "" "\\q" nil 007 -1 1.5e3)', [["X", b"", b"q", None, 7, "-1", "1.5e3"]]),
        (b"()", [[]]),
        (b"", []),
    ],
)  # fmt: skip
def test_tokens(text: bytes, expected: list[object]) -> None:
    response = parse_response([b"* 1 FETCH " + text])
    assert _typed(response.data) == _typed(expected)


@pytest.mark.parametrize(
    "text",
    [
        b'(A "unterminated)', b"(A\tB)", b"(A  B)", b"( A)", b'(A"B")', b"(A (B)", b"(A))",
        b'(A "x\rb")', b"(BODY[HEADER.FIELDS (A B)] X)", b"(A {3} B)", b"(A [B] C)",
        b"(A\x00B)", b'(A "\x01" \\\\)', b"(A)(B)", b"(A NIL(B))",
        b"(NILS NIL)", b"(XNIL NIL)", b"(NIL\x05)", b"(A \x05)", b"(\x05NIL)", b"NIL NIL",
        b"(NIL \x05)", b"(\x05 NIL)",
        b"(A null)", b"(NIL-1 NIL)", b"(NIL.5)",
    ],
)  # fmt: skip
def test_odd_input_is_read_as_the_loop_reads_it(text: bytes) -> None:
    _same([text])


def test_nil_takes_the_fast_path() -> None:
    # NIL after a space or "(" becomes JSON null in the skeleton, without a hook.
    assert _same([b"(NIL (NIL NIL) A NIL)"])
    assert _same([b'(A "NIL" "\x05" NIL)'])  # in a string: text, whatever it holds
    assert _same([b"(A {3}", b"NIL", b" NIL)"])  # and in a literal
    assert _scan.scan([b"(NIL (NIL) nil)"], 64) == [[None, [None], None]]
    assert not _same([b"(NILS NIL)"])  # "null1" in the skeleton: left to the loop


def test_literal_inside_a_string_is_left_to_the_loop() -> None:
    assert not _same([b'(A "x {3}', b"abc", b' y")'])
    assert not _same([b"(A {3}", b"a\x00c", b' "\x00" B)'])  # "\x00" marks literals
    assert _same([b"(A {3}", b"a\x00c", b' "x" B)'])


def test_body_sections_take_the_fast_path() -> None:
    # What a body download is made of: one section atom, one literal.
    assert _same([b"(UID 5 BODY[] {3}", b"a\r\n", b")"])
    assert _same([b"(UID 5 BODY[1.2]<0> {3}", b"abc", b" FLAGS (\\Seen))"])
    assert _same([b"(UID 5 BODY[HEADER] {3}", b"abc", b")"])
    assert _same([b"(UID 5 BODY[1.MIME]<7> {3}", b"abc", b")"])
    assert not _same([b"(BODY[HEADER.FIELDS (A B)] {3}", b"abc", b")"])


def test_nesting_limit_holds_on_the_fast_path() -> None:
    deep = b"(" * 70 + b")" * 70
    assert _scan.scan([deep], 64) is None
    assert _same([b"(" * 64 + b")" * 64], 64)
    assert _same([b"()" * 100], 64)  # many lists, none deep


_PIECES = st.sampled_from(
    [
        b" ", b"  ", b"(", b")", b'"', b"\\", b'\\"', b"\\\\", b"NIL", b"nil", b"0", b"42",
        b"007", b"-1", b"1.5", b"atom", b"\\Seen", b"BODY[]", b"BODY[1 (X)]<0>", b"[", b"]",
        b"{", b"}", b"{3}", b"\t", b"\x00", b"\x01", b"\x02", b"\x03", b"\r", b"0.5",
        b"NaN", b"Infinity", b"\xc3\xa9", b"\xff", b',', b"][", b"\x05", b"null", b"n",
        b"NILS",
    ]
)  # fmt: skip


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(_PIECES, max_size=30).map(b"".join), min_size=1, max_size=4))
def test_random_token_soup(texts: list[bytes]) -> None:
    # Between text parts, a literal: the framer ends such a text with its announcement.
    parts: list[bytes] = []
    for index, text in enumerate(texts):
        if index < len(texts) - 1:
            parts += [text + b"{3}", b"l\x00t"]
        else:
            parts.append(text)
    _same(parts, 8)


@pytest.mark.parametrize(
    "text", [b"* 1 FETCH (UID " + b"7" * 5000 + b")", b"* " + b"7" * 5000 + b" EXISTS"]
)
def test_absurd_numbers_are_a_protocol_error(text: bytes) -> None:
    # int() refuses more than 4300 digits with a raw ValueError; number64 has at most 20.
    with pytest.raises(ProtocolError, match="digits"):
        parse_response([text])


# --- several responses in one pass (scan_many) -----------------------------------------------


def _same_many(datas: list[list[bytes]], max_depth: int = 64) -> bool:
    """Check scan_many against the loop on each response; return whether it answered."""
    many = _scan.scan_many(datas, max_depth)
    slow: list[object] = []
    for parts in datas:
        try:
            slow.append(_tokens.tokenize(parts, max_depth, _tokens.read_atom))
        except ProtocolError:
            assert many is None, f"scan_many accepted what the loop refuses: {parts!r}"
            return False
    if many is not None:
        assert _typed(many) == _typed(slow), datas
    return many is not None


def test_benchmark_fetch_stream_in_runs_takes_the_fast_path() -> None:
    datas = [parts for frame in _frames(fetch_stream(300)) if (parts := _parts(frame))]
    for start in range(0, len(datas), 32):
        assert _same_many(datas[start : start + 32])


@pytest.mark.parametrize(
    "datas",
    [
        # a string left open runs into the next response: never one string across both
        [[b'(UID 1 X "a'], [b'b" Y)']],
        [[b'(UID 1 X "a'], [b"(UID 2)"], [b'b")']],
        # atoms that would join, values that would move from one response to the next
        [[b"(UID 1) A"], [b"B (UID 2)"]],
        [[b"(A) (B)"], [b""]],
        [[b""], [b"(A)"]],
        [[b"(A"], [b"B)"]],
        [[b"(A))"], [b"((B)"]],
        # a CR of a response's own, outside and inside strings
        [[b"(A\rB)"], [b"(C)"]],
        [[b'(A "x\ry")'], [b"(C)"]],
        # literals in several responses, and one announced inside a string
        [[b"(A {3}", b"abc", b" B)"], [b"(C {2}", b"de", b")"], [b"(D)"]],
        [[b'(A "x {3}', b"abc", b' y")'], [b"(B)"]],
        # the separator's own bytes, sent by the server
        [[b"(A)\r(B)"], [b"(C)"]],
    ],
)  # fmt: skip
def test_odd_runs_are_read_as_each_alone(datas: list[list[bytes]]) -> None:
    _same_many(datas)


def test_runs_keep_each_responses_nesting_limit() -> None:
    ok, deep = [b"(" * 8 + b")" * 8], [b"(" * 9 + b")" * 9]
    assert _same_many([ok, ok], 8)
    assert _scan.scan_many([ok, deep], 8) is None


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.lists(st.lists(_PIECES, max_size=12).map(b"".join), min_size=1, max_size=3),
        min_size=2,
        max_size=5,
    )
)
def test_random_runs(runs: list[list[bytes]]) -> None:
    datas: list[list[bytes]] = []
    for texts in runs:
        parts: list[bytes] = []
        for index, text in enumerate(texts):
            parts += [text + b"{3}", b"l\x00t"] if index < len(texts) - 1 else [text]
        datas.append(parts)
    _same_many(datas, 8)
    # and the usual shape, with the soup inside: most of these must take the fast path
    _same_many([[b"(UID 1 X " + parts[0], *parts[1:-1], parts[-1] + b")"] for parts in datas], 8)
