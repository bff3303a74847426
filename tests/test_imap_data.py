"""Reading command answers: modified UTF-7, CAPABILITY, LIST, SELECT, STATUS, SEARCH. FETCH
and ENVELOPE: test_imap_fetch_data.py."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from unimail._errors import InvalidArgument, ProtocolError
from unimail._models import FolderInfo, FolderStatus, SpecialUse
from unimail._options import Limits
from unimail._proto.imap._capability import capabilities_from
from unimail._proto.imap._framing import ResponseFramer
from unimail._proto.imap._list import folder_info
from unimail._proto.imap._mutf7 import decode_mutf7, encode_mutf7
from unimail._proto.imap._parser import Response, parse_response
from unimail._proto.imap._search import search_uids
from unimail._proto.imap._select import SelectInfo, folder_status, select_info


def parse_all(data: bytes) -> list[Response]:
    """Frame and parse every response in ``data`` (which must end with a complete one)."""
    framer = ResponseFramer(Limits())
    framer.feed(data)
    out = []
    while (frame := framer.next_frame()) is not None:
        out.append(parse_response(frame))
    assert framer.buffered == 0
    return out


def parse_one(data: bytes) -> Response:
    (response,) = parse_all(data)
    return response


# --- modified UTF-7 (RFC 3501 section 5.1.3) -------------------------------------------------

MUTF7_VECTORS = [
    ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),  # RFC 3501 5.1.3
    ("&", "&-"),
    ("Tom & Jerry", "Tom &- Jerry"),
    ("INBOX", "INBOX"),
    ("", ""),
    ("Entwürfe", "Entw&APw-rfe"),
    ("Brouillons-é", "Brouillons-&AOk-"),
    ("é-", "&AOk--"),
    ("Отправленные", "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-"),
    ("😀", "&2D3eAA-"),  # outside the BMP: a UTF-16 surrogate pair
    ("a\tb", "a&AAk-b"),  # controls are encoded, not sent raw
    ("\x7f", "&AH8-"),
]


@pytest.mark.parametrize(("text", "wire"), MUTF7_VECTORS)
def test_encode_mutf7(text: str, wire: str) -> None:
    assert encode_mutf7(text) == wire


@pytest.mark.parametrize(("text", "wire"), MUTF7_VECTORS)
def test_decode_mutf7(text: str, wire: str) -> None:
    assert decode_mutf7(wire) == text


@given(st.text(st.characters(exclude_categories=["Cs"])))
def test_mutf7_round_trip(text: str) -> None:
    wire = encode_mutf7(text)
    assert all(0x20 <= ord(c) <= 0x7E for c in wire)
    assert decode_mutf7(wire) == text


@pytest.mark.parametrize(
    "wire",
    [
        pytest.param("&", id="lone-ampersand"),
        pytest.param("&U,BTFw", id="unterminated"),
        pytest.param("&A-", id="one-char"),
        pytest.param("&AO-", id="odd-byte-count"),
        pytest.param("&AOk!-", id="invalid-base64"),
        pytest.param("&2D0-", id="lone-high-surrogate"),
        pytest.param("&3gA-", id="lone-low-surrogate"),
    ],
)
def test_invalid_mutf7_raises_protocol_error(wire: str) -> None:
    with pytest.raises(ProtocolError):
        decode_mutf7(wire)


def test_encode_mutf7_refuses_lone_surrogate() -> None:
    # A folder name from os.fsdecode() may hold one: it has no UTF-16 form, so it is caller
    # input that cannot be sent (InvalidArgument), not a raw UnicodeEncodeError.
    with pytest.raises(InvalidArgument):
        encode_mutf7("caf\udce9")


# --- CAPABILITY ------------------------------------------------------------------------------


def test_capabilities_from_untagged_response() -> None:
    got = capabilities_from(parse_all(b"* CAPABILITY IMAP4rev1 STARTTLS auth=plain Idle\r\n"))
    assert got == frozenset({"IMAP4REV1", "STARTTLS", "AUTH=PLAIN", "IDLE"})


def test_capabilities_from_greeting_code() -> None:
    got = capabilities_from(parse_all(b"* OK [CAPABILITY IMAP4rev1 LITERAL+ SASL-IR] hi\r\n"))
    assert got == frozenset({"IMAP4REV1", "LITERAL+", "SASL-IR"})


def test_capabilities_from_tagged_ok_code_replace_earlier_ones() -> None:
    got = capabilities_from(
        parse_all(
            b"* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n"
            b"* OK still here\r\n"
            b"A1 OK [CAPABILITY IMAP4rev1 MOVE UIDPLUS] Logged in\r\n"
        )
    )
    assert got == frozenset({"IMAP4REV1", "MOVE", "UIDPLUS"})


def test_no_capabilities_announced() -> None:
    assert capabilities_from(parse_all(b"* OK ready\r\nA1 OK [READ-WRITE] done\r\n")) is None
    assert capabilities_from([]) is None


# --- LIST ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "info"),
    [
        (
            b'* LIST (\\HasNoChildren) "/" INBOX',
            FolderInfo(name="INBOX", delimiter="/", attributes=frozenset({"\\HasNoChildren"})),
        ),
        (b'* LIST () "." inbox', FolderInfo(name="INBOX", delimiter=".")),
        (b'* LIST () "." "Inbox"', FolderInfo(name="INBOX", delimiter=".")),
        (
            b'* LIST (\\Noselect) NIL ""',
            FolderInfo(name="", delimiter=None, attributes=frozenset({"\\Noselect"})),
        ),
        (b'* LIST () "/" "Sent Items"', FolderInfo(name="Sent Items", delimiter="/")),
        (b'* LIST () "\\\\" "a\\\\b"', FolderInfo(name="a\\b", delimiter="\\")),
        (b'* LIST () "/" "say \\"hi\\""', FolderInfo(name='say "hi"', delimiter="/")),
        (b'* LIST () "/" {11}\r\nhello world', FolderInfo(name="hello world", delimiter="/")),
        (b'* LIST () "/" {5+}\r\nx/y z', FolderInfo(name="x/y z", delimiter="/")),
        (
            b'* LIST () "/" "~peter/mail/&U,BTFw-/&ZeVnLIqe-"',
            FolderInfo(name="~peter/mail/台北/日本語", delimiter="/"),
        ),
        (b'* LSUB () "." Archive.2024', FolderInfo(name="Archive.2024", delimiter=".")),
        (b'* LIST () "/" 2024', FolderInfo(name="2024", delimiter="/")),
    ],
)
def test_list(line: bytes, info: FolderInfo) -> None:
    assert folder_info(parse_one(line + b"\r\n")) == info


@pytest.mark.parametrize(
    ("attribute", "use"),
    [
        ("\\Sent", SpecialUse.SENT),
        ("\\Trash", SpecialUse.TRASH),
        ("\\Junk", SpecialUse.JUNK),
        ("\\Drafts", SpecialUse.DRAFTS),
        ("\\All", SpecialUse.ALL),
        ("\\Archive", SpecialUse.ARCHIVE),
        ("\\Flagged", SpecialUse.FLAGGED),
        ("\\Important", SpecialUse.IMPORTANT),
        ("\\sent", SpecialUse.SENT),
        ("\\HasNoChildren", None),
        ("\\Marked", None),
    ],
)
def test_list_special_use(attribute: str, use: SpecialUse | None) -> None:
    line = f'* LIST (\\HasNoChildren {attribute}) "/" "[Gmail]/Folder"\r\n'.encode()
    info = folder_info(parse_one(line))
    assert info.special_use is use
    assert info.attributes == frozenset({"\\HasNoChildren", attribute})


def test_list_utf8_names_are_not_mutf7_decoded() -> None:
    response = parse_one('* LIST () "/" "Entwürfe &-"\r\n'.encode())
    assert folder_info(response, utf8=True).name == "Entwürfe &-"


def test_list_utf8_name_as_atom() -> None:
    assert folder_info(parse_one('* LIST () "/" Entwürfe\r\n'.encode()), utf8=True).name == (
        "Entwürfe"
    )


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("007", id="leading-zero"),
        pytest.param("NIL", id="nil-atom"),  # Dovecot sends it as an atom: dovecot/list-personal
    ],
)
def test_list_atom_names_keep_their_spelling(name: str) -> None:
    # mailbox = "INBOX" / astring: in that position an atom is the folder's name, whatever
    # it looks like. Reading it as a number or as NIL loses or refuses the folder.
    response = parse_one(f'* LIST (\\HasNoChildren) "." {name}\r\n'.encode())
    assert folder_info(response).name == name


@pytest.mark.parametrize(
    "line",
    [
        pytest.param(b'* LIST "/" INBOX', id="no-attributes"),
        pytest.param(b"* LIST ()", id="too-short"),
        pytest.param(b"* LIST () / INBOX", id="atom-delimiter"),
        pytest.param(b'* LIST () "/" (INBOX)', id="list-name"),
        pytest.param(b'* LIST () "/" "&Jjo"', id="bad-mutf7"),
    ],
)
def test_malformed_list_raises_protocol_error(line: bytes) -> None:
    with pytest.raises(ProtocolError):
        folder_info(parse_one(line + b"\r\n"))


# --- SELECT / EXAMINE ------------------------------------------------------------------------

# RFC 3501 section 6.3.1 example, with UIDNEXT.
SELECT_REPLY = (
    b"* 172 EXISTS\r\n"
    b"* 1 RECENT\r\n"
    b"* OK [UNSEEN 12] Message 12 is first unseen\r\n"
    b"* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"
    b"* OK [UIDNEXT 4392] Predicted next UID\r\n"
    b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
    b"* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n"
)


@pytest.mark.parametrize(
    ("tagged", "read_only"),
    [
        (b"A142 OK [READ-WRITE] SELECT completed\r\n", False),
        (b"A142 OK [READ-ONLY] EXAMINE completed\r\n", True),
        (b"A142 OK SELECT completed\r\n", False),
    ],
)
def test_select_info(tagged: bytes, read_only: bool) -> None:
    *untagged, last = parse_all(SELECT_REPLY + tagged)
    assert select_info(untagged, last) == SelectInfo(
        exists=172, uidvalidity=3857529045, uidnext=4392, read_only=read_only
    )


def test_select_info_of_an_empty_folder_without_codes() -> None:
    *untagged, last = parse_all(b"* 0 EXISTS\r\nA1 OK done\r\n")
    assert select_info(untagged, last) == SelectInfo(exists=0)


def test_select_info_takes_the_last_exists() -> None:
    *untagged, last = parse_all(b"* 1 EXISTS\r\n* 5 EXISTS\r\nA1 OK done\r\n")
    assert select_info(untagged, last).exists == 5


@pytest.mark.parametrize("code", [b"[UIDVALIDITY abc]", b"[UIDVALIDITY]", b"[UIDNEXT -]"])
def test_select_info_with_malformed_code_raises_protocol_error(code: bytes) -> None:
    *untagged, last = parse_all(b"* OK " + code + b" x\r\nA1 OK done\r\n")
    with pytest.raises(ProtocolError):
        select_info(untagged, last)


# --- STATUS ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "status"),
    [
        (
            b"* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)",
            FolderStatus(messages=231, uidnext=44292),
        ),
        (
            b'* STATUS "Sent Items" (MESSAGES 3 UNSEEN 1 UIDNEXT 9 UIDVALIDITY 77)',
            FolderStatus(messages=3, unseen=1, uidnext=9, uidvalidity=77),
        ),
        (
            b"* STATUS {5}\r\nA B C (messages 0 unseen 0)",
            FolderStatus(messages=0, unseen=0),
        ),
        (
            b"* STATUS INBOX (MESSAGES 4 RECENT 0 HIGHESTMODSEQ 15)",
            FolderStatus(messages=4, highest_modseq=15),
        ),
    ],
)
def test_status(line: bytes, status: FolderStatus) -> None:
    assert folder_status(parse_all(b"* 3 EXISTS\r\n" + line + b"\r\n")) == status


@pytest.mark.parametrize(
    "line",
    [
        # gmail/status-inbox.txt: RFC 8474 OBJECTID, "MAILBOXID" SP "(" objectid ")"
        pytest.param(
            b'* STATUS "INBOX" (HIGHESTMODSEQ 41234 MESSAGES 60 RECENT 0 UIDNEXT 410 '
            b"UIDVALIDITY 1 UNSEEN 0 SIZE 1024 MAILBOXID (d0f3b017-d3ec-40aa-9bb9-66c1aeccbb24))",
            id="mailboxid",
        ),
        # RFC 7889: "APPENDLIMIT" SP (number / nil)
        pytest.param(
            b'* STATUS "INBOX" (MESSAGES 60 UIDNEXT 410 UIDVALIDITY 1 UNSEEN 0 APPENDLIMIT NIL)',
            id="appendlimit-nil",
        ),
    ],
)
def test_status_with_extension_attributes(line: bytes) -> None:
    # Attributes that are not counters must not make the counters unreadable.
    status = folder_status(parse_all(line + b"\r\n"))
    assert attrs.evolve(status, highest_modseq=None) == FolderStatus(
        messages=60, unseen=0, uidnext=410, uidvalidity=1
    )
    assert status.highest_modseq == (41234 if b"HIGHESTMODSEQ" in line else None)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"* 3 EXISTS\r\n", id="no-status"),
        pytest.param(b"* STATUS INBOX (UIDNEXT 4)\r\n", id="no-messages"),
        pytest.param(b"* STATUS INBOX (MESSAGES x)\r\n", id="non-numeric"),
        pytest.param(b"* STATUS INBOX MESSAGES 4\r\n", id="no-list"),
        pytest.param(b"* STATUS INBOX\r\n", id="too-short"),
    ],
)
def test_malformed_status_raises_protocol_error(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        folder_status(parse_all(data))


# --- SEARCH ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "uids"),
    [
        (b"* SEARCH 2 84 882\r\n", [2, 84, 882]),
        (b"* SEARCH\r\n", []),
        (b"* SEARCH 2 5 6 (MODSEQ 917162500)\r\n", [2, 5, 6]),
        (b"* SEARCH 4 3\r\n* 7 EXISTS\r\n* SEARCH 9\r\n", [4, 3, 9]),
        (b"* 7 EXISTS\r\n", []),
        (b"* search 1\r\n", [1]),
    ],
)
def test_search_uids(data: bytes, uids: list[int]) -> None:
    assert search_uids(parse_all(data)) == uids


@pytest.mark.parametrize(
    "data", [b"* SEARCH 1 two 3\r\n", b"* SEARCH NIL\r\n", b'* SEARCH "1"\r\n']
)
def test_malformed_search_raises_protocol_error(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        search_uids(parse_all(data))
