"""parse_response: status responses, codes, continuations, data tokens, malformed input, depth."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from unimail._errors import LimitExceeded, ProtocolError
from unimail._options import Limits
from unimail._proto.imap._framing import ResponseFramer
from unimail._proto.imap._parser import Response, parse_response


def parse(data: bytes, *, max_depth: int = 64) -> Response:
    """Frame ``data`` (exactly one response, CRLF included) and parse it."""
    framer = ResponseFramer(Limits())
    framer.feed(data)
    frame = framer.next_frame()
    assert frame is not None, "incomplete response"
    assert framer.buffered == 0, "more than one response"
    return parse_response(frame, max_depth=max_depth)


# --- status responses ------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["OK", "NO", "BAD"])
def test_tagged_status_without_code(status: str) -> None:
    response = parse(b"A17 " + status.encode() + b" LOGIN completed\r\n")
    assert response == Response(tag="A17", name=status, text="LOGIN completed")
    assert response.is_status


def test_status_name_is_upper_cased() -> None:
    response = parse(b"a1 ok done\r\n")
    assert (response.tag, response.name, response.text) == ("a1", "OK", "done")


@pytest.mark.parametrize(
    ("line", "code", "code_data", "text"),
    [
        (b"* OK [UIDVALIDITY 3857529045] UIDs valid", "UIDVALIDITY", "3857529045", "UIDs valid"),
        (b"A2 OK [READ-ONLY] EXAMINE completed", "READ-ONLY", "", "EXAMINE completed"),
        (b"A2 OK [read-write] done", "READ-WRITE", "", "done"),
        (
            b"* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] Dovecot ready.",
            "CAPABILITY",
            "IMAP4rev1 STARTTLS AUTH=PLAIN",
            "Dovecot ready.",
        ),
        (
            b"* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited",
            "PERMANENTFLAGS",
            "(\\Deleted \\Seen \\*)",
            "Limited",
        ),
        (b"A3 NO [TRYCREATE] No such mailbox", "TRYCREATE", "", "No such mailbox"),
        (
            b"A4 OK [COPYUID 38505 304,319:320 3956:3958] Done",
            "COPYUID",
            "38505 304,319:320 3956:3958",
            "Done",
        ),
        (b"* NO [ALERT]", "ALERT", "", ""),
    ],
)
def test_status_with_response_code(line: bytes, code: str, code_data: str, text: str) -> None:
    response = parse(line + b"\r\n")
    assert (response.code, response.code_data, response.text) == (code, code_data, text)
    assert response.number is None


@pytest.mark.parametrize("name", ["OK", "NO", "BAD", "BYE", "PREAUTH"])
def test_untagged_status(name: str) -> None:
    response = parse(b"* " + name.encode() + b" server says hi\r\n")
    assert response == Response(tag="*", name=name, text="server says hi")
    assert response.is_status


def test_status_text_is_utf8() -> None:
    assert parse("A1 NO Mot de passe erroné\r\n".encode()).text == "Mot de passe erroné"


def test_status_text_with_invalid_utf8_does_not_raise() -> None:
    assert parse(b"A1 NO bad \xff byte\r\n").text.startswith("bad ")


# --- continuations ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "text"),
    [
        (b"+ Ready for literal data", "Ready for literal data"),
        (
            b"+ YGgGCSqGSIb3EgECAgIBAAD/////6jcyG4GE3KkTzBeBiVHeceP2CWY0SR0fAQAgAAQEBAQ=",
            "YGgGCSqGSIb3EgECAgIBAAD/////6jcyG4GE3KkTzBeBiVHeceP2CWY0SR0fAQAgAAQEBAQ=",
        ),
        (b"+ ", ""),
        (b"+", ""),
        (b"+idling", "idling"),
    ],
)
def test_continuation(line: bytes, text: str) -> None:
    response = parse(line + b"\r\n")
    assert (response.tag, response.name, response.code, response.text) == ("+", "", None, text)
    assert not response.is_status


def test_continuation_with_response_code() -> None:
    response = parse(b"+ [ALERT] go ahead\r\n")
    assert (response.code, response.text) == ("ALERT", "go ahead")


# --- data responses --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["EXISTS", "EXPUNGE", "RECENT"])
def test_numbered_responses(name: str) -> None:
    response = parse(b"* 23 " + name.encode() + b"\r\n")
    assert (response.tag, response.name, response.number, response.data) == ("*", name, 23, [])
    assert not response.is_status


def test_zero_exists() -> None:
    assert parse(b"* 0 EXISTS\r\n").number == 0


def test_numbered_name_is_upper_cased() -> None:
    assert parse(b"* 3 exists\r\n").name == "EXISTS"


def test_fetch_with_nested_lists() -> None:
    response = parse(
        b"* 12 FETCH (FLAGS (\\Seen $Forwarded) UID 4827 BODYSTRUCTURE "
        b'(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23)'
        b' "MIXED"))\r\n'
    )
    assert (response.name, response.number) == ("FETCH", 12)
    assert response.data == [
        [
            "FLAGS",
            ["\\Seen", "$Forwarded"],
            "UID",
            4827,
            "BODYSTRUCTURE",
            [
                [b"TEXT", b"PLAIN", [b"CHARSET", b"US-ASCII"], None, None, b"7BIT", 1152, 23],
                b"MIXED",
            ],
        ]
    ]


@pytest.mark.parametrize(
    ("token", "value"),
    [
        (b'"plain"', b"plain"),
        (b'""', b""),
        (b'"say \\"hi\\""', b'say "hi"'),
        (b'"back\\\\slash"', b"back\\slash"),
        (b'"ends with \\\\"', b"ends with \\"),
        (b'"(not a list)"', b"(not a list)"),
        ('"Grüße 日本"'.encode(), "Grüße 日本".encode()),
        (b"NIL", None),
        (b"nil", None),
        (b"0", 0),
        (b"4294967295", 4294967295),
        (b"18446744073709551615", 18446744073709551615),
        (b"\\Seen", "\\Seen"),
        (b"$Junk", "$Junk"),
        (b"BODY[]", "BODY[]"),
        (b"BODY[HEADER.FIELDS (SUBJECT FROM)]<0>", "BODY[HEADER.FIELDS (SUBJECT FROM)]<0>"),
        (b"BODY[1.2.MIME]<100.50>", "BODY[1.2.MIME]<100.50>"),
        (b"RFC822.SIZE", "RFC822.SIZE"),
        (b"()", []),
    ],
)
def test_data_tokens(token: bytes, value: object) -> None:
    response = parse(b"* 1 FETCH (X " + token + b" Y)\r\n")
    assert response.data == [["X", value, "Y"]]


def test_literal_in_data_response() -> None:
    response = parse(b'* 1 FETCH (BODY[] {8}\r\na\r\n"b)(c UID 5)\r\n')
    assert response.data == [["BODY[]", b'a\r\n"b)(c', "UID", 5]]


def test_several_literals_in_one_response() -> None:
    response = parse(b"* 1 FETCH (BODY[1] {2}\r\nab BODY[2] {0}\r\n BODY[3] {1}\r\nc)\r\n")
    assert response.data == [["BODY[1]", b"ab", "BODY[2]", b"", "BODY[3]", b"c"]]


def test_non_synchronising_literal_in_data_response() -> None:
    assert parse(b'* LIST () "/" {3+}\r\nabc\r\n').data == [[], b"/", b"abc"]


def test_8bit_utf8_atom_is_decoded() -> None:
    assert parse('* LIST () "/" Entwürfe\r\n'.encode()).data == [[], b"/", "Entwürfe"]


def test_untagged_data_without_arguments() -> None:
    assert parse(b"* SEARCH\r\n") == Response(tag="*", name="SEARCH")


def test_capability_data() -> None:
    response = parse(b"* CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN\r\n")
    assert response.data == ["IMAP4rev1", "LITERAL+", "AUTH=PLAIN"]


# --- malformed input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"*", id="star-only"),
        pytest.param(b"* ", id="star-space"),
        pytest.param(b"A1", id="tag-only"),
        pytest.param(b" OK done", id="empty-tag"),
        pytest.param(b"A1 FETCH (UID 1)", id="tagged-non-status"),
        pytest.param(b"A1 1 EXISTS", id="tagged-number"),
        pytest.param(b"* 1 FETCH (UID 1", id="unbalanced-open"),
        pytest.param(b"* 1 FETCH (UID 1))", id="unbalanced-close"),
        pytest.param(b"* 1 FETCH ((UID 1)", id="unbalanced-nested"),
        pytest.param(b"* 1 FETCH )(", id="close-first"),
        pytest.param(b'* 1 FETCH (BODY[] "unterminated)', id="unterminated-quote"),
        pytest.param(b"* 1 FETCH (X {5} Y)", id="literal-mid-line"),
        pytest.param(b"* 1 FETCH (X \x00)", id="nul"),
        pytest.param(b"* 1 FETCH (X \x7f)", id="del"),
        pytest.param(b"* 1 FETCH (X \x01\x02)", id="control"),
        pytest.param(b"\xff\xfe\xfd", id="garbage"),
    ],
)
def test_malformed_line_raises_protocol_error(line: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_response([line])


def test_literal_in_status_response_raises_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        parse(b"A1 OK {3}\r\nabc\r\n")


def test_announced_literal_without_its_bytes_raises_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        parse_response([b"* 1 FETCH (BODY[] {3}"])


@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_protocol_error(line: bytes) -> None:
    try:
        response = parse_response([line.replace(b"\n", b"")])
    except ProtocolError:
        return
    assert isinstance(response, Response)


@given(
    st.lists(
        st.sampled_from(
            [
                b"* ",
                b"1 ",
                b"FETCH ",
                b"OK ",
                b"(",
                b")",
                b'"',
                b"\\",
                b" ",
                b"NIL",
                b"[",
                b"]",
                b"<0>",
                b"BODY",
                b"\xc3\xa9",
                b"\xff",
                b"{",
                b"}",
                b"{2}",
                b"+",
            ]
        ),
        max_size=30,
    ),
    st.lists(st.binary(max_size=5), max_size=3),
)
def test_token_soup_raises_only_protocol_error(pieces: list[bytes], literals: list[bytes]) -> None:
    frame = [b"".join(pieces)]
    for literal in literals:  # a frame with literals: text, literal, text, ...
        frame[-1] += b" {%d}" % len(literal)
        frame += [literal, b""]
    with contextlib.suppress(ProtocolError):
        parse_response(frame)


# --- nesting depth ---------------------------------------------------------------------------


def _depth(data: list[object]) -> int:
    """How many lists nest at the start of ``data``, counted without recursion."""
    depth = 0
    value = data[0] if data else None
    while isinstance(value, list):
        depth += 1
        value = value[0] if value else None
    return depth


def test_nesting_up_to_max_depth_is_accepted() -> None:
    response = parse(b"* 1 FETCH " + b"(" * 3 + b")" * 3 + b"\r\n", max_depth=3)
    assert response.data == [[[[]]]]


def test_nesting_deeper_than_max_depth_raises_limit_exceeded() -> None:
    with pytest.raises(LimitExceeded):
        parse(b"* 1 FETCH " + b"(" * 4 + b")" * 4 + b"\r\n", max_depth=3)


@pytest.mark.parametrize("closed", [True, False], ids=["balanced", "unbalanced"])
def test_ten_thousand_levels_raise_limit_exceeded_not_recursion_error(closed: bool) -> None:
    line = b"* 1 FETCH " + b"(" * 10_000 + (b")" * 10_000 if closed else b"")
    with pytest.raises(LimitExceeded):
        parse_response([line])


def test_ten_thousand_levels_within_max_depth_parse_without_recursion() -> None:
    line = b"* 1 FETCH " + b"(" * 10_000 + b")" * 10_000
    response = parse_response([line], max_depth=10_000)
    assert _depth(response.data) == 10_000
