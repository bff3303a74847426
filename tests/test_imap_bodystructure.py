"""parse_bodystructure: RFC 9051 7.5.2 bodies and real servers' quirks, by hand. Malformed and
random input: test_imap_bodystructure_bad.py; the MailKit corpus and a real Dovecot:
test_imap_bodystructure_real.py."""

from __future__ import annotations

import pytest

from unimail._errors import ProtocolError
from unimail._models import BodyPart
from unimail._options import Limits
from unimail._proto.imap._bodystructure import parse_bodystructure
from unimail._proto.imap._fetch import FetchData, fetch_data
from unimail._proto.imap._framing import ResponseFramer
from unimail._proto.imap._parser import Response, parse_response


def responses(data: bytes) -> list[Response]:
    """Frame and parse every complete response in ``data``."""
    framer = ResponseFramer(Limits())
    framer.feed(data)
    out = []
    while (frame := framer.next_frame()) is not None:
        out.append(parse_response(frame))
    assert framer.buffered == 0, "incomplete response"
    return out


def fetched(data: bytes) -> list[FetchData]:
    return [fetch_data(r) for r in responses(data) if r.name == "FETCH"]


def structure(wire: bytes, item: str = "BODYSTRUCTURE") -> BodyPart:
    """Parse the body structure ``wire`` as a server would send it in a FETCH response."""
    (data,) = fetched(b"* 1 FETCH (UID 7 " + item.encode() + b" " + wire + b")\r\n")
    return parse_bodystructure(data.items[item])


def sections(part: BodyPart) -> list[tuple[str, str]]:
    return [(p.section, p.content_type) for p in part.walk()]


# --- hand-written cases -------------------------------------------------------------------------


def test_single_text_part_is_section_1() -> None:
    part = structure(
        b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92 NIL NIL NIL NIL)'
    )
    assert part == BodyPart(
        section="1",
        content_type="text/plain",
        params={"charset": "US-ASCII"},
        encoding="7bit",
        size=3028,
        lines=92,
    )
    assert part.charset == "US-ASCII"
    assert list(part.walk()) == [part]
    assert part.filename is None
    assert not part.is_attachment
    assert not part.is_multipart


def test_multipart_alternative_with_extension_data() -> None:
    part = structure(
        b'(("text" "plain" ("charset" "utf-8" "format" "flowed") NIL NIL "quoted-printable" 314 8'
        b' "Q2hlY2sgSW50ZWdyaXR5IQ==" NIL ("en" "de") NIL)'
        b'("text" "html" ("charset" "utf-8") NIL NIL "8bit" 763 18 NIL NIL "en"'
        b' "http://example.org/x.html")'
        b' "alternative" ("boundary" "b1_f0dc") NIL NIL NIL)'
    )
    assert sections(part) == [
        ("", "multipart/alternative"),
        ("1", "text/plain"),
        ("2", "text/html"),
    ]
    plain, html = part.children
    assert part.params == {"boundary": "b1_f0dc"}
    assert part.size is None and part.lines is None
    assert plain.params == {"charset": "utf-8", "format": "flowed"}
    assert (plain.encoding, plain.size, plain.lines) == ("quoted-printable", 314, 8)
    assert plain.md5 == "Q2hlY2sgSW50ZWdyaXR5IQ=="
    assert plain.language == ("en", "de")
    assert html.language == ("en",)
    assert html.location == "http://example.org/x.html"
    assert not any(p.is_attachment for p in part.walk())


def test_rfc9051_example_attachment_named_by_content_type_only() -> None:
    # The example of RFC 9051 section 7.5.2: no disposition, the file named by "NAME".
    part = structure(
        b'(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23)'
        b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff")'
        b' "<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 4554 73) "MIXED")'
    )
    body, diff = part.children
    assert part.content_type == "multipart/mixed" and part.params == {}
    assert (diff.section, diff.filename, diff.is_attachment) == ("2", "cc.diff", True)
    assert diff.id == "<960723163407.20117h@cac.washington.edu>"
    assert diff.description == "Compiler diff"
    assert (diff.encoding, diff.size, diff.lines) == ("base64", 4554, 73)
    assert diff.md5 is None and diff.disposition is None
    assert not body.is_attachment


def test_multipart_mixed_with_rfc2231_attachment() -> None:
    part = structure(
        b'(("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 20 2 NIL NIL NIL NIL)'
        b'("application" "pdf" ("name" "=?UTF-8?B?csOpc3Vtw6kucGRm?=") NIL NIL "base64" 1234'
        b' NIL ("attachment" ("filename*0*" "utf-8\'\'r%C3%A9sum" "filename*1*" "%C3%A9"'
        b' "filename*2" ".pdf" "size" "900")) NIL NIL)'
        b' "mixed" ("boundary" "XyZ") NIL NIL NIL)'
    )
    attachment = part.children[1]
    assert attachment.section == "2"
    assert attachment.disposition == "attachment"
    assert attachment.disposition_params == {"filename": "résumé.pdf", "size": "900"}
    assert attachment.params == {"name": "résumé.pdf"}  # RFC 2047 in a parameter, common
    assert attachment.filename == "résumé.pdf"
    assert attachment.is_attachment
    assert [p.section for p in part.walk() if p.is_attachment] == ["2"]


def test_rfc2231_charset_language_and_precedence_over_plain_value() -> None:
    part = structure(
        b'("application" "octet-stream" ("name" "plain.txt" "name*" "iso-8859-1\'fr\'%E9t%E9.txt"'
        b' "title*0*" "us-ascii\'en\'This%20is%20" "title*1" "long") NIL NIL "base64" 4'
        b' NIL ("inline" ("FILENAME" "a.txt")) NIL NIL)'
    )
    assert part.params == {"name": "été.txt", "title": "This is long"}
    assert part.filename == "a.txt"  # the disposition's filename comes first
    assert part.disposition == "inline"
    assert not part.is_attachment  # inline, even with a file name


@pytest.mark.parametrize(
    "charset", [b"x-unknown", b"rot13", b"base64", b"idna", b"punycode", b"uu", b"a\x00b"]
)
def test_rfc2231_charsets_python_cannot_decode_text_with_fall_back_to_utf8(
    charset: bytes,
) -> None:
    part = parse_bodystructure(
        [b"A", b"B", [b"name*", charset + b"''%C3%A9t%C3%A9"], None, None, None, 1]
    )
    assert part.params == {"name": "été"}


def test_nested_message_rfc822_with_multipart_body() -> None:
    envelope = (
        b'("Wed, 26 Aug 1992 22:13:24 -0400" "=?utf-8?q?Fwd=3A_caf=C3=A9?="'
        b' (("Derek" NIL "beatty" "example.org")) NIL NIL ((NIL NIL "nsb" "example.net"))'
        b' NIL NIL NIL "<1@example.org>")'
    )
    part = structure(
        b'(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 1 NIL NIL NIL NIL)'
        b'("message" "rfc822" ("name" "fwd.eml") NIL NIL "7bit" 500 ' + envelope + b" "
        b'(("text" "plain" NIL NIL NIL "7bit" 10 1 NIL NIL NIL NIL)'
        b'("image" "png" ("name" "x.png") "<img@x>" NIL "base64" 300 NIL'
        b' ("inline" ("filename" "x.png")) NIL NIL)'
        b' "related" ("boundary" "in") NIL NIL NIL)'
        b' 20 NIL ("attachment" ("filename" "fwd.eml")) NIL NIL)'
        b' "mixed" ("boundary" "out") NIL NIL NIL)'
    )
    assert sections(part) == [
        ("", "multipart/mixed"),
        ("1", "text/plain"),
        ("2", "message/rfc822"),
        ("2", "multipart/related"),  # the embedded message's body: BODY[2] holds it whole
        ("2.1", "text/plain"),
        ("2.2", "image/png"),
    ]
    message = part.children[1]
    assert message.envelope is not None
    assert message.envelope.subject == "Fwd: café"
    assert message.envelope.from_[0].addr == "beatty@example.org"
    assert (message.size, message.lines, message.filename) == (500, 20, "fwd.eml")
    assert message.is_attachment
    assert message.children[0].params == {"boundary": "in"}


def test_nested_message_rfc822_with_single_part_body_is_part_dot_1() -> None:
    part = structure(
        b'(("text" "plain" NIL NIL NIL "7bit" 5 1)'
        b'("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 200'
        b' (NIL "inner" NIL NIL NIL NIL NIL NIL NIL NIL)'
        b' ("TEXT" "HTML" ("CHARSET" "utf-8") NIL NIL "BASE64" 100 2) 9) "MIXED")',
        item="BODY",
    )
    assert sections(part) == [
        ("", "multipart/mixed"),
        ("1", "text/plain"),
        ("2", "message/rfc822"),
        ("2.1", "text/html"),
    ]
    message = part.children[1]
    assert message.envelope is not None and message.envelope.subject == "inner"
    assert message.lines == 9


def test_message_global_is_read_like_rfc822() -> None:
    part = structure(
        b'("message" "global" NIL NIL NIL "8bit" 50 NIL ("text" "plain" NIL NIL NIL "8bit" 9 1)'
        b" 3 NIL NIL NIL NIL)"
    )
    assert sections(part) == [("1", "message/global"), ("1.1", "text/plain")]
    assert part.envelope is None and part.lines == 3


def test_missing_extension_data_leaves_fields_empty() -> None:
    # The non-extensible BODY item (and many BODYSTRUCTURE answers) stop after the lines.
    part = structure(
        b'(("TEXT" "PLAIN" NIL NIL NIL "7BIT" 10 1)("IMAGE" "GIF" NIL NIL NIL "BASE64" 26000)'
        b' "MIXED")',
        item="BODY",
    )
    for node in part.walk():
        assert (node.md5, node.disposition, node.language, node.location) == (None, None, (), None)
        assert node.disposition_params == {}
    assert part.params == {}
    # Extension data cut short anywhere is read as far as it goes.
    short = structure(b'("TEXT" "PLAIN" NIL NIL NIL "7BIT" 10 1 "md5sum" ("ATTACHMENT" NIL))')
    assert (short.md5, short.disposition, short.language) == ("md5sum", "attachment", ())


def test_nil_fields() -> None:
    part = structure(b'("APPLICATION" "ZIP" NIL NIL NIL NIL 0 NIL NIL NIL NIL)')
    assert part == BodyPart(section="1", content_type="application/zip", size=0)
    assert part.encoding == "7bit"  # RFC 2045 6.1 default
    text = structure(b'("TEXT" "PLAIN" NIL NIL NIL "7BIT" 0 NIL NIL NIL NIL NIL)')
    assert text.lines is None
    nameless = structure(b'("TEXT" "PLAIN" ("CHARSET" NIL) NIL NIL "7BIT" 0 0)')
    assert nameless.params == {}


# --- real servers' quirks -----------------------------------------------------------------------


def test_exchange_bare_disposition_string() -> None:
    # Exchange: ... 850 31 NIL "inline" NIL NIL (the disposition is not a list).
    part = structure(
        b'(("text" "plain" ("charset" "ISO-8859-1") NIL NIL "QUOTED-PRINTABLE" 850 31 NIL "inline"'
        b' NIL NIL)("text" "html" ("charset" "ISO-8859-1") NIL NIL "QUOTED-PRINTABLE" 14692 502'
        b' NIL "inline" NIL NIL) "alternative" ("boundary" "----=_Part_45") NIL NIL)'
    )
    assert [p.disposition for p in part.children] == ["inline", "inline"]


def test_exchange_disposition_one_place_late_on_a_multipart() -> None:
    part = structure(
        b'(("text" "plain" NIL NIL NIL "7bit" 1 1) "related" ("type" "multipart/alternative"'
        b' "boundary" "b1") NIL ("inline" NIL) NIL NIL)'
    )
    assert (part.disposition, part.language) == ("inline", ())


def test_empty_multipart_inside_a_message() -> None:
    # Apple Mail's empty multipart/alternative as some servers report it: NIL media type and
    # no size (MailKit issue 1393).
    part = structure(
        b'(("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 727 16 NIL NIL NIL NIL)'
        b'("message" "rfc822" ("name" "Message headers") NIL NIL "7bit" 903'
        b' ("Mon, 17 Nov 2014 13:29:21 +0100" "Re: Adresy" NIL NIL NIL NIL NIL NIL NIL NIL)'
        b' (NIL "alternative" ("boundary" "Apple-Mail=_352F") NIL NIL NIL) 17 NIL NIL NIL NIL)'
        b' "report" ("report-type" "delivery-status" "boundary" "_e0d7") NIL NIL NIL)'
    )
    empty = part.children[1].children[0]
    assert (empty.section, empty.content_type, empty.children) == ("2", "multipart/alternative", ())
    assert empty.params == {"boundary": "Apple-Mail=_352F"}
    assert part.params["report-type"] == "delivery-status"


def test_message_rfc822_with_nil_envelope_and_body() -> None:
    part = structure(b'("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 1024 NIL NIL 0)')
    assert (part.envelope, part.children, part.lines) == (None, (), 0)


def test_message_rfc822_sent_as_a_basic_part() -> None:
    part = structure(
        b'("message" "rfc822" NIL NIL NIL "7bit" 1024 NIL ("attachment" ("filename" "a.eml"))'
        b" NIL NIL)"
    )
    assert (part.envelope, part.children, part.filename) == (None, (), "a.eml")


def test_twisted_quoted_numbers_and_paired_parameters() -> None:
    part = structure(
        b'("text" "plain" (("name" "thing") ("key" "value")) "this-is-the-content-id"'
        b' "describing-the-content" "8BIT" "20" "4" NIL NIL NIL)'
    )
    assert part.params == {"name": "thing", "key": "value"}
    assert (part.size, part.lines, part.encoding) == (20, 4, "8bit")


@pytest.mark.parametrize(("wire", "size"), [(b"-1", 0), (b"1.86931e+06", 1869310)])
def test_odd_sizes_seen_in_the_wild(wire: bytes, size: int) -> None:
    # Dovecot's -1 for a broken appledouble part; mail.ru's floating point size.
    part = structure(
        b'(("multipart" "appledouble" ("boundary" "B_81") NIL NIL "7BIT" ' + wire + b" NIL NIL"
        b' NIL NIL)("text" "plain" NIL NIL NIL "7bit" 6 3) "mixed")'
    )
    assert part.children[0].content_type == "multipart/appledouble"
    assert part.children[0].size == size


def test_text_part_without_line_count() -> None:
    part = structure(b'("TEXT" "PLAIN" NIL NIL NIL "7BIT" 10 NIL ("attachment" NIL) NIL NIL)')
    assert (part.lines, part.disposition) == (None, "attachment")
    part = structure(b'("TEXT" "PLAIN" NIL NIL NIL "7BIT" 10 ("attachment" NIL) NIL NIL)')
    assert (part.lines, part.md5, part.disposition) == (None, None, "attachment")


def test_atoms_and_eight_bit_literals_where_strings_are_due() -> None:
    name = "Zürich.txt".encode("latin-1")
    part = structure(
        b"(text plain (name {%d}\r\n" % len(name) + name + b") NIL NIL 7bit 3 1 NIL"
        b" (attachment (filename {%d}\r\n" % len(name) + name + b")) NIL NIL)"
    )
    assert (part.content_type, part.encoding) == ("text/plain", "7bit")
    assert part.filename == "Zürich.txt" == part.params["name"]


def test_rfc2231_value_as_an_atom_with_raw_octets() -> None:
    # Found by the fuzzer: an unquoted extended value whose octets are not UTF-8.
    part = structure(b'("APPLICATION" "X" (name* iso-8859-1\'\'caf\xe9%E9) NIL NIL NIL 1)')
    assert part.params == {"name": "caf\xe9\xe9"}


@pytest.mark.parametrize("charset", ["idna", "punycode", "rot13", "x-unknown"])
def test_encoded_words_in_odd_charsets_raise_nothing_raw(charset: str) -> None:
    word = f"=?{charset}?q?=FF?=".encode()
    envelope = b'(NIL "' + word + b'" NIL NIL NIL NIL NIL NIL NIL NIL)'
    wire = (
        b'(("text" "plain" NIL NIL "' + word + b'" "7bit" 1 1 NIL ("attachment" ("filename" "'
        + word + b'")) NIL NIL)("message" "rfc822" NIL NIL NIL "7bit" 9 ' + envelope
        + b' ("text" "plain" NIL NIL NIL "7bit" 1 1) 1) "mixed")'
    )  # fmt: skip
    try:
        part = structure(wire)
    except ProtocolError:
        return  # acceptable; anything else (UnicodeError, LookupError) fails the test
    assert part.children[0].filename == word.decode() == part.children[0].description


def test_missing_multipart_subtype_defaults_to_mixed() -> None:
    part = parse_bodystructure([[b"TEXT", b"PLAIN", None, None, None, b"7BIT", 1, 1]])
    assert sections(part) == [("", "multipart/mixed"), ("1", "text/plain")]
