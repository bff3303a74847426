"""The query tree Q: its IMAP SEARCH form and its validation. Client-side evaluation:
test_search_matches.py; random trees: test_search_properties.py."""

from __future__ import annotations

import datetime
import email.message
import re
from collections.abc import Callable
from email import policy
from email.parser import BytesParser

import attrs
import pytest

from unimail._errors import InvalidArgument
from unimail._models import Flag
from unimail._proto.imap._wire import Arg, Atom, SequenceSet, serialize
from unimail._search import MAX_DEPTH, Q


def wire(q: Q) -> bytes:
    """The whole ``UID SEARCH`` command as one segment (LITERAL+ keeps literals inline)."""
    (segment,) = serialize("a1", [Atom("UID"), Atom("SEARCH"), *q.to_imap()], literal_plus=True)
    return segment


@attrs.frozen(kw_only=True)
class Cand:
    uid: int | str = 1
    flags: frozenset[Flag | str] | None = frozenset()
    size: int | None = 100
    internal_date: datetime.datetime | None = datetime.datetime(
        2024, 3, 10, 23, 30, tzinfo=datetime.timezone.utc
    )
    message: email.message.Message | None = None


def parse(raw: bytes) -> email.message.Message:
    return BytesParser(policy=policy.default).parsebytes(raw)


# -- the IMAP form of each constructor ---------------------------------------------------------

D = datetime.date(2024, 2, 1)
CONSTRUCTORS: list[tuple[Q, list[Arg], bytes]] = [
    (Q.all(), [Atom("ALL")], b"ALL"),
    (Q.subject("hi there"), [Atom("SUBJECT"), "hi there"], b'SUBJECT "hi there"'),
    (Q.sender("bob"), [Atom("FROM"), "bob"], b'FROM "bob"'),
    (Q.to("al"), [Atom("TO"), "al"], b'TO "al"'),
    (Q.cc("c"), [Atom("CC"), "c"], b'CC "c"'),
    (Q.bcc("d"), [Atom("BCC"), "d"], b'BCC "d"'),
    (Q.body('say "x"'), [Atom("BODY"), 'say "x"'], b'BODY "say \\"x\\""'),
    (Q.text("a\\b"), [Atom("TEXT"), "a\\b"], b'TEXT "a\\\\b"'),
    (Q.header("X-Spam", ""), [Atom("HEADER"), "X-Spam", ""], b'HEADER "X-Spam" ""'),
    (Q.seen(), [Atom("SEEN")], b"SEEN"),
    (Q.unseen(), [Atom("UNSEEN")], b"UNSEEN"),
    (Q.flagged(), [Atom("FLAGGED")], b"FLAGGED"),
    (Q.unflagged(), [Atom("UNFLAGGED")], b"UNFLAGGED"),
    (Q.answered(), [Atom("ANSWERED")], b"ANSWERED"),
    (Q.unanswered(), [Atom("UNANSWERED")], b"UNANSWERED"),
    (Q.deleted(), [Atom("DELETED")], b"DELETED"),
    (~Q.deleted(), [Atom("UNDELETED")], b"UNDELETED"),
    (Q.draft(), [Atom("DRAFT")], b"DRAFT"),
    (~Q.draft(), [Atom("UNDRAFT")], b"UNDRAFT"),
    (Q.keyword("$Junk"), [Atom("KEYWORD"), Atom("$Junk")], b"KEYWORD $Junk"),
    (~Q.keyword("$Junk"), [Atom("UNKEYWORD"), Atom("$Junk")], b"UNKEYWORD $Junk"),
    (Q.since(D), [Atom("SINCE"), D], b"SINCE 1-Feb-2024"),
    (Q.before(D), [Atom("BEFORE"), D], b"BEFORE 1-Feb-2024"),
    (Q.on(datetime.datetime(2024, 2, 1, 23, 59)), [Atom("ON"), D], b"ON 1-Feb-2024"),
    (Q.larger(0), [Atom("LARGER"), 0], b"LARGER 0"),
    (Q.smaller(2**40), [Atom("SMALLER"), 2**40], b"SMALLER 1099511627776"),
    (Q.uid(7), [Atom("UID"), SequenceSet("7")], b"UID 7"),
    (Q.uid([5, 1, 2, 3, 2]), [Atom("UID"), SequenceSet("1:3,5")], b"UID 1:3,5"),
    (Q.uid(range(1, 4)), [Atom("UID"), SequenceSet("1:3")], b"UID 1:3"),
]


@pytest.mark.parametrize(("q", "args", "data"), CONSTRUCTORS, ids=repr)
def test_constructor_imap_form(q: Q, args: list[Arg], data: bytes) -> None:
    assert q.to_imap() == args
    assert wire(q) == b"a1 UID SEARCH " + data + b"\r\n"


def test_brief_examples() -> None:
    assert (Q.unseen() & Q.sender("bob")).to_imap() == [Atom("UNSEEN"), Atom("FROM"), "bob"]
    assert wire(Q.seen() | ~Q.flagged()) == b"a1 UID SEARCH OR SEEN UNFLAGGED\r\n"


# -- nesting -----------------------------------------------------------------------------------

A, B, C, E = Q.subject("a"), Q.seen(), Q.larger(5), Q.keyword("k")


@pytest.mark.parametrize(
    ("q", "data"),
    [
        (A & B & C, b'SUBJECT "a" SEEN LARGER 5'),
        (A & (B & C), b'SUBJECT "a" SEEN LARGER 5'),
        (A | B, b'OR SUBJECT "a" SEEN'),
        (A | B | C, b'OR SUBJECT "a" OR SEEN LARGER 5'),
        ((A | B) | (C | E), b'OR SUBJECT "a" OR SEEN OR LARGER 5 KEYWORD k'),
        (~A, b'NOT SUBJECT "a"'),
        (~~A, b'SUBJECT "a"'),
        (~(A & B), b'NOT (SUBJECT "a" SEEN)'),
        (~(A | B), b'NOT OR SUBJECT "a" SEEN'),
        ((A & B) | C, b'OR (SUBJECT "a" SEEN) LARGER 5'),
        (C | (A & B), b'OR LARGER 5 (SUBJECT "a" SEEN)'),
        ((A | B) & C, b'OR SUBJECT "a" SEEN LARGER 5'),
        (~A & ~C, b'NOT SUBJECT "a" NOT LARGER 5'),
        (~A | B, b'OR NOT SUBJECT "a" SEEN'),
        (~(A & ~(B | (C & E))), b'NOT (SUBJECT "a" NOT OR SEEN (LARGER 5 KEYWORD k))'),
    ],
    ids=repr,
)
def test_nesting(q: Q, data: bytes) -> None:
    assert wire(q) == b"a1 UID SEARCH " + data + b"\r\n"


def test_and_or_flatten_and_compare_by_structure() -> None:
    assert (A & B) & C == A & (B & C)
    assert (A | B) | C == A | (B | C)
    assert A & B != B & A  # the order is kept: it is the order sent
    assert hash((A & B) & C) == hash(A & (B & C))
    assert ~~A == A
    assert ~Q.seen() == Q.unseen()
    assert ~Q.unflagged() == Q.flagged()


def test_repr_is_the_expression() -> None:
    assert repr(Q.unseen() & Q.sender("bob")) == "Q.unseen() & Q.sender('bob')"
    assert (
        repr((A & B) | ~(C | E)) == "(Q.subject('a') & Q.seen()) | ~(Q.larger(5) | Q.keyword('k'))"
    )
    assert repr((A | B) & ~Q.deleted()) == "(Q.subject('a') | Q.seen()) & ~Q.deleted()"
    assert repr(Q.header("X-A", "b")) == "Q.header('X-A', 'b')"
    assert repr(Q.uid(3)) == "Q.uid([3])"
    assert repr(Q.since(D)) == "Q.since(datetime.date(2024, 2, 1))"


def test_no_truth_value_and_no_foreign_operands() -> None:
    with pytest.raises(TypeError, match="&, \\| and ~"):
        bool(Q.seen())
    with pytest.raises(TypeError):
        Q.seen() & 1  # type: ignore[operator]
    with pytest.raises(TypeError):
        "x" | Q.seen()  # type: ignore[operator]


def deep(levels: int) -> Q:
    """The worst case for parentheses: AND below OR below AND ..., ``levels`` deep."""
    q = Q.seen() & Q.flagged()
    for i in range(levels - 1):
        q = (q | Q.draft()) if i % 2 == 0 else (q & Q.answered())
    return q


def test_depth_is_bounded() -> None:
    data = wire(deep(MAX_DEPTH))  # the deepest query still serialises
    assert data.count(b"(") == data.count(b")") >= MAX_DEPTH // 2 - 1
    with pytest.raises(InvalidArgument, match="nests"):
        deep(MAX_DEPTH + 1)
    with pytest.raises(InvalidArgument, match="nests"):
        ~deep(MAX_DEPTH)
    wide = Q.uid(1)
    for uid in range(2, 2000):  # wide trees are flat: no limit
        wide = wide | Q.uid(uid)
    assert wire(wide).count(b"OR") == 1998


# -- UTF-8 -------------------------------------------------------------------------------------


def test_needs_utf8() -> None:
    assert not (Q.subject("hello") & Q.seen() & Q.header("X-A", "b")).needs_utf8()
    for q in (Q.subject("Grüße"), Q.sender("jörg"), Q.to("ä"), Q.cc("ä"), Q.bcc("ä")):
        assert q.needs_utf8()
        assert (~(Q.seen() | (Q.flagged() & q))).needs_utf8()
    assert Q.body("日本").needs_utf8()
    assert Q.text("ä").needs_utf8()
    assert Q.header("X-A", "ä").needs_utf8()
    # Non-ASCII text goes as a literal of its UTF-8 bytes.
    assert wire(Q.subject("Grüße")) == b"a1 UID SEARCH SUBJECT {7+}\r\nGr\xc3\xbc\xc3\x9fe\r\n"


# -- validation --------------------------------------------------------------------------------

TEXT_CONSTRUCTORS: list[tuple[str, Callable[[str], Q]]] = [
    ("Q.subject()", Q.subject),
    ("Q.sender()", Q.sender),
    ("Q.to()", Q.to),
    ("Q.cc()", Q.cc),
    ("Q.bcc()", Q.bcc),
    ("Q.body()", Q.body),
    ("Q.text()", Q.text),
    ("Q.header()", lambda s: Q.header("X-A", s)),
]


@pytest.mark.parametrize(("name", "make"), TEXT_CONSTRUCTORS, ids=[n for n, _ in TEXT_CONSTRUCTORS])
@pytest.mark.parametrize("bad", ["a\rb", "a\nb", "a\0b", "\r\n", "x\r\nA1 LOGOUT"])
def test_text_rejects_cr_lf_nul(name: str, make: Callable[[str], Q], bad: str) -> None:
    with pytest.raises(InvalidArgument, match=re.escape(name)):
        make(bad)


@pytest.mark.parametrize(("name", "make"), TEXT_CONSTRUCTORS, ids=[n for n, _ in TEXT_CONSTRUCTORS])
@pytest.mark.parametrize("bad", [b"bytes", 3, None])
def test_text_rejects_non_str(name: str, make: Callable[[object], Q], bad: object) -> None:
    with pytest.raises(InvalidArgument, match=re.escape(name)):
        make(bad)


@pytest.mark.parametrize(
    "name", ["", "X Spam", "X-Spam:", "Subject:x", "X\r\nA", "Grüße", "X\tA", "X\x7f", b"X", 1]
)
def test_bad_header_name(name: object) -> None:
    with pytest.raises(InvalidArgument, match="header field name"):
        Q.header(name, "x")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "keyword",
    ["", "a b", "a(", "a)", "a{", "a%", "a*", 'a"', "a]", "ä", "a\r\n", "a\x00", 3, None],
)
def test_bad_keyword(keyword: object) -> None:
    with pytest.raises(InvalidArgument, match="not an IMAP atom"):
        Q.keyword(keyword)  # type: ignore[arg-type]


@pytest.mark.parametrize("flag", ["\\Seen", Flag.SEEN, "\\Junk", "\\"])
def test_keyword_is_not_a_system_flag(flag: str) -> None:
    with pytest.raises(InvalidArgument, match="system flags"):
        Q.keyword(flag)


@pytest.mark.parametrize("size", [-1, 2**63, 1.5, "10", True, None])
@pytest.mark.parametrize("make", [Q.larger, Q.smaller])
def test_bad_size(make: Callable[[object], Q], size: object) -> None:
    with pytest.raises(InvalidArgument, match="size"):
        make(size)


@pytest.mark.parametrize("date", ["2024-01-01", 20240101, None, datetime.time(1, 2)])
@pytest.mark.parametrize("make", [Q.since, Q.before, Q.on])
def test_bad_date(make: Callable[[object], Q], date: object) -> None:
    with pytest.raises(InvalidArgument, match=r"datetime\.date"):
        make(date)


@pytest.mark.parametrize(
    "uids", [[], set(), 0, -1, 2**32, [1, 0], [1, 2**32], "12", b"12", [1, "2"], True, [True], 1.0]
)
def test_bad_uids(uids: object) -> None:
    with pytest.raises(InvalidArgument, match="uid"):
        Q.uid(uids)  # type: ignore[arg-type]


def test_valid_edges() -> None:
    assert Q.uid([1, 2**32 - 1]).to_imap() == [Atom("UID"), SequenceSet("1,4294967295")]
    assert Q.larger(2**63 - 1).to_imap() == [Atom("LARGER"), 2**63 - 1]
    assert Q.keyword("$MDNSent").to_imap()[1] == Atom("$MDNSent")
    assert Q.header("!#$%&'*+-.^_`|~", "").to_imap()[1] == "!#$%&'*+-.^_`|~"
