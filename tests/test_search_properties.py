"""The query tree Q over random trees (hypothesis): boolean algebra, serialisation, and the
IMAP form meaning what ``matches`` says."""

from __future__ import annotations

import datetime
import email.message
import operator
import re
from collections.abc import Sequence

from hypothesis import given
from hypothesis import strategies as st

from tests.test_search import Cand, wire
from unimail._models import Flag
from unimail._proto.imap._wire import Arg, Atom, SequenceSet, serialize
from unimail._search import Candidate, Q

# -- properties over random trees --------------------------------------------------------------

DATES = [datetime.date(2024, 1, d) for d in (1, 2, 3)]
TEXTS = ["a", "b", "ab", "(", ')"', "\\", "é"]

leaves: st.SearchStrategy[Q] = st.one_of(
    st.sampled_from(
        [Q.all(), Q.seen(), Q.unseen(), Q.flagged(), Q.deleted(), Q.draft(), Q.answered()]
    ),
    st.sampled_from(["$Junk", "$JUNK", "work"]).map(Q.keyword),
    st.integers(0, 4).map(Q.larger),
    st.integers(0, 4).map(Q.smaller),
    st.sampled_from(DATES).map(Q.since),
    st.sampled_from(DATES).map(Q.before),
    st.sampled_from(DATES).map(Q.on),
    st.sets(st.integers(1, 4), min_size=1).map(Q.uid),
    st.sampled_from(TEXTS).map(Q.subject),
    st.sampled_from(TEXTS).map(Q.body),
)


def _extend(children: st.SearchStrategy[Q]) -> st.SearchStrategy[Q]:
    return st.one_of(
        st.tuples(children, children).map(lambda ab: ab[0] & ab[1]),
        st.tuples(children, children).map(lambda ab: ab[0] | ab[1]),
        children.map(operator.invert),
    )


trees = st.recursive(leaves, _extend, max_leaves=12)


@st.composite
def candidates(draw: st.DrawFn) -> Cand:
    msg = email.message.EmailMessage()
    msg["Subject"] = draw(st.sampled_from(["", "A", "xab", "é(", ')"x', "\\b"]))
    msg.set_content(draw(st.sampled_from(["", "ab", "B", "É", "(x)"])))
    flags = draw(st.sets(st.sampled_from([Flag.SEEN, Flag.FLAGGED, "\\Deleted", "$junk"])))
    return Cand(
        uid=draw(st.integers(1, 4)),
        flags=frozenset(flags),
        size=draw(st.integers(0, 4)),
        internal_date=datetime.datetime.combine(draw(st.sampled_from(DATES)), datetime.time(12)),
        message=msg,
    )


@given(trees, trees, candidates())
def test_boolean_algebra(a: Q, b: Q, c: Cand) -> None:
    ma, mb = a.matches(c), b.matches(c)
    assert (~a).matches(c) == (not ma)
    assert (a & b).matches(c) == (ma and mb)
    assert (a | b).matches(c) == (ma or mb)
    assert (~(a & b)).matches(c) == ((~a) | (~b)).matches(c)
    assert (~~a) == a


def balanced(data: bytes) -> bool:
    """Whether the parentheses outside quoted strings and literals balance."""
    depth, i = 0, 0
    while i < len(data):
        ch = data[i : i + 1]
        if ch == b'"':
            i += 1
            while data[i : i + 1] != b'"':
                i += 2 if data[i : i + 1] == b"\\" else 1
        elif ch == b"{":
            m = re.compile(rb"\{(\d+)\+?\}\r\n").match(data, i)
            assert m is not None
            i = m.end() + int(m.group(1)) - 1
        elif ch in b"()":
            depth += 1 if ch == b"(" else -1
            if depth < 0:
                return False
        i += 1
    return depth == 0


@given(trees)
def test_random_trees_serialise(q: Q) -> None:
    for literal_plus in (False, True):
        args: list[Arg] = [Atom("UID"), Atom("SEARCH"), *q.to_imap()]
        data = b"".join(serialize("a1", args, literal_plus=literal_plus))
        assert data.endswith(b"\r\n")
        assert balanced(data)
    assert q.needs_utf8() == (b"{" in wire(q))
    assert eval(repr(q), {"Q": Q, "datetime": datetime}) == q  # noqa: S307 - our own repr


def reference(args: Sequence[Arg], c: Cand) -> bool:
    """Evaluate IMAP SEARCH keys as a server reads them, to check what to_imap() says."""
    pos = 0

    def key() -> bool:
        nonlocal pos
        arg = args[pos]
        pos += 1
        if isinstance(arg, list):
            return reference(arg, c)
        assert isinstance(arg, Atom)
        name = arg.value
        if name == "NOT":
            return not key()
        if name == "OR":
            first, second = key(), key()  # both are read, whatever the first says
            return first or second
        if name == "ALL":
            return True
        flag = name.removeprefix("UN")
        if flag in ("SEEN", "FLAGGED", "DELETED", "DRAFT", "ANSWERED", "KEYWORD"):
            assert c.flags is not None
            flags = {f.casefold() for f in c.flags}
            if flag == "KEYWORD":
                word = args[pos]
                pos += 1
                assert isinstance(word, Atom)
                return (word.value.casefold() in flags) != name.startswith("UN")
            return ("\\" + flag.casefold() in flags) != name.startswith("UN")
        value = args[pos]
        pos += 1
        if name == "UID":
            assert isinstance(value, SequenceSet)
            members: set[int] = set()
            for part in value.text.split(","):
                low, _, high = part.partition(":")
                members.update(range(int(low), int(high or low) + 1))
            return c.uid in members
        if name in ("SUBJECT", "BODY"):
            assert isinstance(value, str)
            return (Q.subject(value) if name == "SUBJECT" else Q.body(value)).matches(c)
        if name in ("LARGER", "SMALLER"):
            assert isinstance(value, int)
            assert c.size is not None
            return c.size > value if name == "LARGER" else c.size < value
        assert isinstance(value, datetime.date)
        assert c.internal_date is not None
        day = c.internal_date.date()
        return {"SINCE": day >= value, "BEFORE": day < value, "ON": day == value}[name]

    result = True
    while pos < len(args):
        result = key() and result
    return result


@given(trees, candidates())
def test_imap_form_means_what_matches_says(q: Q, c: Cand) -> None:
    assert reference(q.to_imap(), c) == q.matches(c)


def test_candidate_protocol_accepts_frozen_attrs() -> None:
    cand: Candidate = Cand()
    assert Q.all().matches(cand)
