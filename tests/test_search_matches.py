"""The query tree Q evaluated on the client (``Q.matches``, ``Q.needs``): real messages,
headers only, malformed ones, flags, dates, sizes and uids."""

from __future__ import annotations

import datetime
from email import policy
from email.parser import BytesParser

import pytest

from tests.test_search import Cand, D, parse
from unimail._errors import UnsupportedOperation
from unimail._models import FetchField, Flag
from unimail._search import Q

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
