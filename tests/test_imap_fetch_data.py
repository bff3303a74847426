"""Reading FETCH answers: simple attributes, body sections and their names, malformed items,
and ENVELOPE (RFC 9051 7.5.2: groups, literals, NIL fields, dates)."""

from __future__ import annotations

import datetime

import pytest

from tests.test_imap_data import parse_one
from unimail._errors import ProtocolError
from unimail._models import Address, Envelope, Flag
from unimail._proto.imap._envelope import parse_envelope
from unimail._proto.imap._fetch import FetchData, fetch_data, parse_flags

# --- FETCH -----------------------------------------------------------------------------------


def fetch(data: bytes) -> FetchData:
    return fetch_data(parse_one(data))


def test_fetch_simple_attributes() -> None:
    got = fetch(
        b"* 12 FETCH (UID 4827 FLAGS (\\Seen \\answered $Forwarded Junk) RFC822.SIZE 44827"
        b' INTERNALDATE "17-Jul-1996 02:44:25 -0700")\r\n'
    )
    assert (got.seq, got.uid) == (12, 4827)
    info = got.message_info()
    assert info.uid == 4827
    assert info.flags == frozenset({Flag.SEEN, Flag.ANSWERED, "$Forwarded", "Junk"})
    assert info.size == 44827
    tz = datetime.timezone(-datetime.timedelta(hours=7))
    assert info.internal_date == datetime.datetime(1996, 7, 17, 2, 44, 25, tzinfo=tz)
    assert (info.envelope, info.headers, info.body) == (None, None, None)


def test_fetch_internaldate_with_space_padded_day() -> None:
    info = fetch(b'* 1 FETCH (UID 1 INTERNALDATE " 7-Feb-2024 23:59:59 +0100")\r\n').message_info()
    tz = datetime.timezone(datetime.timedelta(hours=1))
    assert info.internal_date == datetime.datetime(2024, 2, 7, 23, 59, 59, tzinfo=tz)


def test_fetch_body_literal() -> None:
    message = b"Subject: hi\r\n\r\nbody with ) and {3}\r\n"
    got = fetch(
        b"* 3 FETCH (UID 9 BODY[] {%d}\r\n" % len(message)
        + message
        + b" BODY[HEADER] {13}\r\nSubject: hi\r\n)\r\n"
    )
    info = got.message_info()
    assert info.body == message
    assert info.headers == b"Subject: hi\r\n"


def test_fetch_partial_body_is_reported_under_the_name_asked_for() -> None:
    got = fetch(b"* 3 FETCH (UID 9 BODY[]<0> {5}\r\nhello)\r\n")
    assert got.section("BODY[]") == b"hello"


def test_fetch_item_names_are_keyed_in_upper_case_every_time() -> None:
    # The first answer teaches the name cache; the second takes its faster paths.
    for _ in range(2):
        got = fetch(b"* 3 FETCH (uid 9 Flags (\\Seen) UID 9 body[]<0> {2}\r\nhi)\r\n")
        assert got.items == {"UID": 9, "FLAGS": ["\\Seen"], "BODY[]": b"hi"}
        assert fetch(b"* 4 FETCH (UID 10 FLAGS ())\r\n").items == {"UID": 10, "FLAGS": []}


@pytest.mark.parametrize(
    "data", [b"* 3 FETCH ((UID) 9)\r\n", b"* 3 FETCH (7 9)\r\n", b"* 3 FETCH (UID 9 NIL 1)\r\n"]
)
def test_fetch_item_name_that_is_not_an_atom(data: bytes) -> None:
    for _ in range(2):  # before and after UID is a known name
        with pytest.raises(ProtocolError, match="not an atom"):
            fetch(data)


def test_fetch_nil_body_is_empty_and_missing_body_is_none() -> None:
    got = fetch(b"* 3 FETCH (UID 9 BODY[] NIL)\r\n")
    assert got.section("BODY[]") == b""
    assert got.section("BODY[TEXT]") is None


def test_fetch_header_fields_section_name() -> None:
    got = fetch(b"* 3 FETCH (BODY[HEADER.FIELDS (SUBJECT FROM)] {14}\r\nSubject: x\r\n\r\n)\r\n")
    assert got.section("BODY[HEADER.FIELDS (SUBJECT FROM)]") == b"Subject: x\r\n\r\n"


def test_fetch_without_uid() -> None:
    got = fetch(b"* 3 FETCH (FLAGS ())\r\n")
    assert got.uid is None
    with pytest.raises(ProtocolError):
        got.message_info()


def test_fetch_body_that_is_not_a_string_raises_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        fetch(b"* 3 FETCH (UID 1 BODY[] (a b))\r\n").section("BODY[]")


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"* 3 FETCH UID 1\r\n", id="no-list"),
        pytest.param(b"* 3 FETCH (UID 1) (FLAGS ())\r\n", id="two-lists"),
        pytest.param(b"* 3 FETCH (UID)\r\n", id="odd-pairs"),
        pytest.param(b"* 3 FETCH (1 2)\r\n", id="numeric-name"),
        pytest.param(b'* 3 FETCH ("UID" 1)\r\n', id="quoted-name"),
        pytest.param(b"* FETCH (UID 1)\r\n", id="no-number"),
    ],
)
def test_malformed_fetch_raises_protocol_error(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        fetch(data)


@pytest.mark.parametrize(
    "items",
    [
        pytest.param(b"FLAGS \\Seen", id="flags-not-list"),
        pytest.param(b'INTERNALDATE "yesterday"', id="bad-internaldate"),
        pytest.param(b'INTERNALDATE "32-Jul-1996 02:44:25 -0700"', id="bad-day"),
        pytest.param(b"ENVELOPE (NIL NIL)", id="short-envelope"),
        pytest.param(b'ENVELOPE "x"', id="string-envelope"),
    ],
)
def test_malformed_fetch_item_raises_protocol_error(items: bytes) -> None:
    with pytest.raises(ProtocolError):
        fetch(b"* 1 FETCH (UID 1 " + items + b")\r\n").message_info()


def test_parse_flags_refuses_non_list() -> None:
    with pytest.raises(ProtocolError):
        parse_flags(b"\\Seen")


# --- ENVELOPE --------------------------------------------------------------------------------

# RFC 3501 section 7.4.2 example.
RFC_ENVELOPE = (
    b'("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes"'
    b' (("Terry Gray" NIL "gray" "cac.washington.edu"))'
    b' (("Terry Gray" NIL "gray" "cac.washington.edu"))'
    b' (("Terry Gray" NIL "gray" "cac.washington.edu"))'
    b' ((NIL NIL "imap" "cac.washington.edu"))'
    b' ((NIL NIL "minutes" "CNRI.Reston.VA.US") ("John Klensin" NIL "KLENSIN" "MIT.EDU"))'
    b' NIL NIL "<B27397-0100000@cac.washington.edu>")'
)


def envelope(raw: bytes) -> Envelope:
    info = fetch(b"* 1 FETCH (UID 1 ENVELOPE " + raw + b")\r\n").message_info()
    assert info.envelope is not None
    return info.envelope


def test_envelope_rfc_example() -> None:
    gray = Address(name="Terry Gray", addr="gray@cac.washington.edu")
    assert envelope(RFC_ENVELOPE) == Envelope(
        date=datetime.datetime(
            1996, 7, 17, 2, 23, 25, tzinfo=datetime.timezone(-datetime.timedelta(hours=7))
        ),
        subject="IMAP4rev1 WG mtg summary and minutes",
        from_=(gray,),
        sender=(gray,),
        reply_to=(gray,),
        to=(Address(name=None, addr="imap@cac.washington.edu"),),
        cc=(
            Address(name=None, addr="minutes@CNRI.Reston.VA.US"),
            Address(name="John Klensin", addr="KLENSIN@MIT.EDU"),
        ),
        bcc=(),
        in_reply_to=None,
        message_id="<B27397-0100000@cac.washington.edu>",
    )


def test_envelope_all_nil() -> None:
    assert envelope(b"(" + b" ".join([b"NIL"] * 10) + b")") == Envelope()


def test_envelope_group_syntax() -> None:
    got = envelope(
        b'(NIL "s" NIL NIL NIL'
        b' ((NIL NIL "undisclosed-recipients" NIL) (NIL NIL NIL NIL))'
        b' ((NIL NIL "friends" NIL) ("Al" NIL "al" "x.org") (NIL NIL "bo" "y.org")'
        b" (NIL NIL NIL NIL))"
        b" NIL NIL NIL)"
    )
    assert got.to == ()
    assert got.cc == (Address(name="Al", addr="al@x.org"), Address(addr="bo@y.org"))


def test_envelope_rfc2047_subject_and_name() -> None:
    got = envelope(
        b'(NIL "Re: =?UTF-8?B?Y2Fmw6k=?= =?ISO-8859-1?Q?na=EFve?="'
        b' (("=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?=" NIL "keld" "dkuug.dk"))'
        b" NIL NIL NIL NIL NIL NIL NIL)"
    )
    assert got.subject == "Re: cafénaïve"
    assert got.from_ == (Address(name="Keld Jørn Simonsen", addr="keld@dkuug.dk"),)


def test_envelope_8bit_utf8_subject() -> None:
    got = envelope('(NIL "Grüße aus 東京" NIL NIL NIL NIL NIL NIL NIL NIL)'.encode())
    assert got.subject == "Grüße aus 東京"


def test_envelope_broken_rfc2047_is_kept_as_text() -> None:
    got = envelope(b'(NIL "=?x-unknown?Q?abc?=" NIL NIL NIL NIL NIL NIL NIL NIL)')
    assert got.subject == "=?x-unknown?Q?abc?="


def test_envelope_literal_subject_and_unparseable_date() -> None:
    got = envelope(b'("not a date" {5}\r\nhello NIL NIL NIL NIL NIL NIL NIL NIL)')
    assert (got.date, got.subject) == (None, "hello")


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL)", id="nine-fields"),
        pytest.param(b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)", id="eleven-fields"),
        pytest.param(b'(NIL NIL "from" NIL NIL NIL NIL NIL NIL NIL)', id="address-list-string"),
        pytest.param(b'(NIL NIL ((NIL "a" "b")) NIL NIL NIL NIL NIL NIL NIL)', id="short-address"),
        pytest.param(b'(NIL NIL ("a") NIL NIL NIL NIL NIL NIL NIL)', id="address-not-list"),
        pytest.param(b"envelope", id="atom"),
    ],
)
def test_malformed_envelope_raises_protocol_error(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        envelope(raw)


def test_parse_envelope_refuses_non_list() -> None:
    with pytest.raises(ProtocolError):
        parse_envelope(None)
