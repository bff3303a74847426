"""BODYSTRUCTURE that is malformed, nested too deep or random: ``ProtocolError`` or
``LimitExceeded``, never another exception (hand-written cases and hypothesis).
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_imap_bodystructure import structure
from unimail._errors import LimitExceeded, ProtocolError
from unimail._proto.imap._bodystructure import MAX_DEPTH, parse_bodystructure

# --- malformed input ----------------------------------------------------------------------------


_MESSAGE_HEAD = [b"MESSAGE", b"RFC822", None, None, None, b"7BIT", 1]


@pytest.mark.parametrize(
    "value",
    [
        None,
        b"TEXT",
        7,
        [],
        [b"TEXT", b"PLAIN", None, None, None, b"7BIT"],  # no size
        [b"TEXT", b"PLAIN", None, None, None, b"7BIT", b"many"],
        [b"TEXT", b"PLAIN", None, None, None, b"7BIT", None],
        [b"TEXT", b"PLAIN", b"charset", None, None, b"7BIT", 1, 1],
        [b"TEXT", b"PLAIN", [[b"a"]], None, None, b"7BIT", 1, 1],
        [b"TEXT", b"PLAIN", None, [b"id"], None, b"7BIT", 1, 1],
        [[b"TEXT", b"PLAIN", None, None, None, b"7BIT", 1, 1], [b"sub"]],
        [[b"TEXT", b"PLAIN", None, None, None, b"7BIT", 1, 1], [], b"MIXED"],
        [b"TEXT", b"PLAIN", None, None, None, b"7BIT", 1, 1, None, []],
        [b"TEXT", b"PLAIN", None, None, None, b"7BIT", 1, 1, None, None, [[b"en"]]],
        [*_MESSAGE_HEAD, [None] * 10, [b"x"], 1],
        [*_MESSAGE_HEAD, [b"d", b"s", b"bad address list"] + [None] * 7, None, 1],
    ],
)
def test_malformed_structures_raise_protocol_error(value: object) -> None:
    with pytest.raises(ProtocolError):
        parse_bodystructure(value)


def _nested_multipart(depth: int) -> object:
    value: object = [b"TEXT", b"PLAIN", None, None, None, b"7BIT", 1, 1]
    for _ in range(depth):
        value = [value, b"MIXED"]
    return value


def _nested_messages(depth: int) -> object:
    value: object = [b"TEXT", b"PLAIN", None, None, None, b"7BIT", 1, 1]
    for _ in range(depth):
        value = [b"MESSAGE", b"RFC822", None, None, None, b"7BIT", 1, None, value, 1]
    return value


@pytest.mark.parametrize("nest", [_nested_multipart, _nested_messages])
def test_nesting_is_bounded(nest: Callable[[int], object]) -> None:
    deepest = list(parse_bodystructure(nest(MAX_DEPTH - 1)).walk())[-1]
    assert deepest.content_type == "text/plain"
    assert deepest.section.count(".") >= MAX_DEPTH - 2
    for depth in (MAX_DEPTH + 1, 5000):
        with pytest.raises(LimitExceeded):
            parse_bodystructure(nest(depth))


def test_body_part_is_frozen_and_hashable() -> None:
    part = structure(b'(("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "7BIT" 1 1) "MIXED")')
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        part.size = 2  # type: ignore[misc]
    again = structure(b'(("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "7BIT" 1 1) "MIXED")')
    assert len({part, again}) == 1
    other = structure(b'(("TEXT" "PLAIN" ("CHARSET" "latin1") NIL NIL "7BIT" 1 1) "MIXED")')
    assert other != part


# --- fuzzing ------------------------------------------------------------------------------------

_WORDS: list[object] = [
    *b"TEXT PLAIN MESSAGE RFC822 GLOBAL MULTIPART MIXED attachment 7BIT -1 1e999 12".split(),
    *[b"filename*0*", b"filename*1", b"utf-8''%C3%A9", b"x-bad'en'%FF", b"=?utf-8?q?a?="],
    *[b"=?bogus?b?!!?=", b"rot13''%41", b"idna''%FF", b"uu'x'", b"a\x00''%41", "NAME", "atom"],
    *["name*", "name*0*", "\udc80", "\ud800"],
]
_TOKENS = st.one_of(
    st.none(),
    st.integers(min_value=0, max_value=2**63),
    st.binary(max_size=10),
    st.text(max_size=10),
    st.sampled_from(_WORDS),
)
_RANDOM = st.recursive(_TOKENS, lambda inner: st.lists(inner, max_size=12), max_leaves=30)


def _check(value: object) -> None:
    try:
        root = parse_bodystructure(value)
    except ProtocolError:  # LimitExceeded is a ProtocolError
        return
    for part in root.walk():
        assert "/" in part.content_type
        assert part.size is None or part.size >= 0
        _ = (part.filename, part.is_attachment)


@settings(max_examples=200, deadline=None)
@given(_RANDOM)
def test_random_tokens_raise_only_protocol_errors(value: object) -> None:
    _check(value)


_SMALL = st.recursive(_TOKENS, lambda inner: st.lists(inner, max_size=4), max_leaves=8)
_ENVELOPE = st.builds(lambda: [None] * 10)


@st.composite
def _shaped(draw: st.DrawFn, depth: int = 0, noise: bool = True) -> object:
    """A body structure whose fields are mostly right and, with ``noise``, sometimes random."""

    def field(good: st.SearchStrategy[object]) -> object:
        return draw(st.one_of(good, good, good, _SMALL) if noise else good)

    extension = st.lists(_SMALL, max_size=5) if noise else st.just([])

    kinds = ["text", "basic", "multipart", "message"]
    kind = draw(st.sampled_from(kinds[:2] if depth >= 3 else kinds))
    if kind == "multipart":
        children = draw(st.lists(_shaped(depth + 1, noise), min_size=1, max_size=3))
        return [*children, field(st.just(b"MIXED")), *draw(extension)]
    params = st.lists(st.sampled_from(_WORDS), max_size=6).map(lambda words: words or None)
    head = [
        field(st.just(b"TEXT" if kind == "text" else b"MESSAGE" if kind == "message" else b"X")),
        field(st.just(b"RFC822" if kind == "message" else b"Y")),
        field(params),
        field(st.none()),
        field(st.none()),
        field(st.just(b"BASE64")),
        field(st.integers(0, 10**6)),
    ]
    if kind == "message":
        head += [field(_ENVELOPE), field(_shaped(depth + 1, noise)), field(st.just(3))]
    elif kind == "text":
        head.append(field(st.integers(0, 100)))
    return head + draw(extension)


@settings(max_examples=200, deadline=None)
@given(_shaped())
def test_mostly_valid_structures_raise_only_protocol_errors(value: object) -> None:
    _check(value)


def _leaves(value: object) -> int:
    """Count the text and basic parts of a structure made by ``_shaped(noise=False)``."""
    assert isinstance(value, list)
    if value[0] == b"MESSAGE":
        return _leaves(value[8])
    if isinstance(value[0], list):  # a multipart: its parts, then the subtype
        return sum(_leaves(item) for item in value if isinstance(item, list))
    return 1


@settings(max_examples=100, deadline=None)
@given(_shaped(noise=False))
def test_valid_structures_parse_completely(value: object) -> None:
    root = parse_bodystructure(value)
    leaves = [p for p in root.walk() if p.content_type in ("text/y", "x/y")]
    assert len(leaves) == _leaves(value)
    assert len({p.section for p in leaves}) == len(leaves)  # every leaf has its own number
