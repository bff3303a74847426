"""The query tree Q: its IMAP SEARCH form, its validation and its client-side evaluation."""

from __future__ import annotations

import datetime
import email.message
import operator
import re
from collections.abc import Callable, Sequence
from email import policy
from email.parser import BytesParser

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from unimail._errors import InvalidArgument, UnsupportedOperation
from unimail._models import FetchField, Flag
from unimail._proto.imap._wire import Arg, Atom, SequenceSet, serialize
from unimail._search import MAX_DEPTH, Candidate, Q


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


# -- client-side evaluation on real messages ---------------------------------------------------

RAW = b"""\
From: =?utf-8?q?J=C3=B6rg_M=C3=BCller?= <joerg@example.org>
To: alice@example.org, Bob Stone <bob@example.net>
Cc: carol@example.com
Bcc: dave@example.com
Subject: =?utf-8?b?R3LDvMOfZQ==?= aus
 =?iso-8859-1?q?K=F6ln?=
X-Spam-Flag: YES
X-Spam-Flag: checked
Date: Sun, 10 Mar 2024 23:30:00 +0000
Message-ID: <m1@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

See you at the Caf=C3=A9 tomorrow, at the
corner.
--inner
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64

PHA+aHRtbG9ubHl3b3JkPC9wPg==
--inner--
--outer
Content-Type: text/plain; charset=iso-8859-1
Content-Disposition: attachment; filename="notes.txt"
Content-Transfer-Encoding: quoted-printable

Gr=FC=DFe aus M=FCnchen
--outer
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

c2VjcmV0d29yZA==
--outer--
""".replace(b"\n", b"\r\n")

MSG = parse(RAW)
FULL = Cand(message=MSG)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (Q.subject("grüße aus köln"), True),  # two encoded words, two charsets, folded
        (Q.subject("GRÜSSE"), True),  # case folding: ß ~ ss
        (Q.subject(""), True),
        (Q.subject("=?utf-8"), False),
        (Q.subject("München"), False),
        (Q.sender("jörg müller"), True),
        (Q.sender("JOERG@example.ORG"), True),
        (Q.sender("alice"), False),
        (Q.to("bob stone <bob@"), True),
        (Q.to("alice@example.org"), True),
        (Q.to("carol"), False),
        (Q.cc("carol@"), True),
        (Q.bcc("dave"), True),
        (Q.bcc("carol"), False),
        (Q.header("x-spam-flag", "yes"), True),
        (Q.header("X-SPAM-FLAG", "CHECKED"), True),  # any occurrence of the field
        (Q.header("X-Spam-Flag", ""), True),
        (Q.header("X-Missing", ""), False),
        (Q.header("Message-ID", "m1@example"), True),
        (Q.body("café tomorrow"), True),  # quoted-printable, UTF-8
        (Q.body("CAF=C3=A9"), False),
        (Q.body("htmlonlyword"), True),  # base64 text/html part
        (Q.body("grüße aus münchen"), True),  # an ISO-8859-1 text/plain attachment
        (Q.body("secretword"), False),  # not a text part
        (Q.body("jörg"), False),  # headers are not the body
        (Q.body("the corner"), False),  # a match does not cross a line break
        (Q.text("jörg"), True),
        (Q.text("café"), True),
        (Q.text("x-spam-flag: yes"), True),
        (Q.text("secretword"), False),
        (Q.all(), True),
        (~Q.all(), False),
    ],
    ids=repr,
)
def test_matches_text_keys(q: Q, expected: bool) -> None:
    assert q.matches(FULL) is expected


def test_matches_headers_only_message() -> None:
    headers = parse(RAW.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n")
    cand = Cand(message=headers)
    assert Q.subject("köln").matches(cand)
    assert not Q.needs_body(Q.subject("köln"))
    assert not Q.body("café").matches(cand)


def test_matches_raw_utf8_and_compat32() -> None:
    raw = "Subject: Grüße\r\nFrom: Jörg <j@x.org>\r\n\r\nRésumé\r\n".encode()
    assert Q.subject("GRÜSSE").matches(Cand(message=parse(raw)))
    legacy = BytesParser(policy=policy.compat32).parsebytes(RAW)
    cand = Cand(message=legacy)
    assert Q.subject("grüße aus köln").matches(cand)
    assert Q.sender("jörg").matches(cand)
    assert Q.body("café").matches(cand)


def test_matches_malformed_message_never_raises() -> None:
    raw = (
        b'From: <<@@>>, "unterminated\r\n'
        b"To: =?bogus-charset?q?abc?=\r\n"
        b"Subject: =?utf-8?b?!!!notbase64?=\r\n"
        b"Content-Type: text/plain; charset=no-such-charset\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        b"@@@ not base64 \xff\r\n"
    )
    cand = Cand(message=parse(raw))
    for q in (Q.sender("x"), Q.to("abc"), Q.subject("x"), Q.body("x"), Q.text("x")):
        assert q.matches(cand) in (True, False)
    assert Q.to("abc").matches(cand)


def test_matches_flags_and_keywords() -> None:
    cand = Cand(flags=frozenset({Flag.SEEN, "\\answered", "$Junk"}))
    assert Q.seen().matches(cand)
    assert not Q.unseen().matches(cand)
    assert Q.answered().matches(cand)  # flags compare case-insensitively
    assert not Q.unanswered().matches(cand)
    assert not Q.flagged().matches(cand)
    assert Q.unflagged().matches(cand)
    assert not Q.deleted().matches(cand)
    assert (~Q.deleted()).matches(cand)
    assert not Q.draft().matches(cand)
    assert Q.keyword("$junk").matches(cand)
    assert not Q.keyword("$NotJunk").matches(cand)
    assert Q.draft().matches(Cand(flags=frozenset({"\\Draft"})))


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (Q.since(datetime.date(2024, 3, 10)), True),
        (Q.since(datetime.date(2024, 3, 11)), False),
        (Q.before(datetime.date(2024, 3, 10)), False),
        (Q.before(datetime.date(2024, 3, 11)), True),
        (Q.on(datetime.date(2024, 3, 10)), True),
        (Q.on(datetime.datetime(2024, 3, 10, 1, 0)), True),
        (Q.on(datetime.date(2024, 3, 11)), False),
        (Q.larger(99), True),
        (Q.larger(100), False),
        (Q.smaller(101), True),
        (Q.smaller(100), False),
        (Q.uid(1), True),
        (Q.uid([2, 3]), False),
        (Q.uid(range(1, 100)), True),
    ],
    ids=repr,
)
def test_matches_dates_sizes_uids(q: Q, expected: bool) -> None:
    # The internal date is 2024-03-10 23:30 UTC: its own date counts, time and zone do not.
    assert q.matches(Cand()) is expected


@pytest.mark.parametrize(
    ("q", "cand", "capability"),
    [
        (Q.seen(), Cand(flags=None), "FLAGS"),
        (~Q.deleted(), Cand(flags=None), "FLAGS"),
        (Q.keyword("k"), Cand(flags=None), "KEYWORDS"),
        (Q.larger(1), Cand(size=None), "SIZE"),
        (Q.on(D), Cand(internal_date=None), "INTERNAL_DATE"),
        (Q.subject("x"), Cand(message=None), "HEADERS"),
        (Q.body("x"), Cand(message=None), "BODY"),
        (Q.uid(1), Cand(uid="UIDL-abc"), "UID"),
        (Q.all() & (Q.larger(0) | Q.seen()), Cand(size=0, flags=None), "FLAGS"),
    ],
    ids=repr,
)
def test_missing_field_is_unsupported(q: Q, cand: Cand, capability: str) -> None:
    with pytest.raises(UnsupportedOperation) as info:
        q.matches(cand)
    assert info.value.capability == capability


def test_needs() -> None:
    assert Q.all().needs() == FetchField(0)
    assert Q.subject("x").needs() == FetchField.HEADERS
    assert Q.body("x").needs() == FetchField.BODY
    assert Q.text("x").needs() == FetchField.HEADERS | FetchField.BODY
    assert (Q.seen() | ~Q.keyword("k")).needs() == FetchField.FLAGS
    assert (Q.since(D) & Q.larger(1) & Q.uid(1)).needs() == (
        FetchField.INTERNALDATE | FetchField.SIZE | FetchField.UID
    )
    assert not (Q.seen() & Q.header("X-A", "")).needs_body()
    assert (Q.seen() | ~Q.body("x")).needs_body()
    assert Q.text("x").needs_body()


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
