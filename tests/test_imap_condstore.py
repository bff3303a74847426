"""Sans-I/O units of CONDSTORE / QRESYNC (RFC 7162), BINARY literal8 (RFC 3516) and MULTIAPPEND
APPENDUID (RFC 3502): server bytes in, values out; commands in, bytes out."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from unimail import Flag, FolderStatus, InvalidArgument, ProtocolError
from unimail._proto.imap._condstore import (
    changedsince_modifier,
    check_modseq,
    enabled,
    highest_modseq,
    modified_uids,
    qresync_parameter,
    vanished_uids,
)
from unimail._proto.imap._events import FolderState, UidRanges, diff
from unimail._proto.imap._fetch import fetch_data
from unimail._proto.imap._framing import ResponseFramer
from unimail._proto.imap._parser import Response, parse_response
from unimail._proto.imap._select import folder_status, select_info
from unimail._proto.imap._tokens import read_atom, tokenize
from unimail._proto.imap._uidplus import appended_uid, appended_uids
from unimail._proto.imap._wire import Atom, SequenceSet, serialize


def responses(data: bytes) -> list[Response]:
    """Every response in ``data``, fed one byte at a time (framing must not care)."""
    framer = ResponseFramer()
    found: list[Response] = []
    for index in range(len(data)):
        framer.feed(data[index : index + 1])
        while (frame := framer.next_frame()) is not None:
            found.append(parse_response(frame))
    return found


def one(data: bytes) -> Response:
    [response] = responses(data)
    return response


def test_enabled_names_what_the_server_turned_on() -> None:
    assert enabled(responses(b"* ENABLED CONDSTORE QRESYNC\r\nU2 OK done\r\n")) == {
        "CONDSTORE",
        "QRESYNC",
    }
    assert enabled(responses(b"U2 OK nothing enabled\r\n")) == frozenset()


def test_select_answer_with_highestmodseq_and_closed() -> None:
    untagged = responses(
        b"* 9 EXISTS\r\n* OK [CLOSED] previous folder closed\r\n* 3 EXISTS\r\n"
        b"* OK [UIDVALIDITY 67890007] ok\r\n* OK [UIDNEXT 4] ok\r\n"
        b"* OK [HIGHESTMODSEQ 90060115194045000] ok\r\n"
    )
    tagged = one(b"U3 OK [READ-WRITE] done\r\n")
    info = select_info(untagged, tagged)
    assert (info.exists, info.uidvalidity, info.uidnext) == (3, 67890007, 4)
    assert info.highest_modseq == 90060115194045000 and not info.nomodseq
    nomodseq = select_info(responses(b"* OK [NOMODSEQ] none here\r\n"), tagged)
    assert nomodseq.nomodseq and nomodseq.highest_modseq is None


def test_status_highestmodseq() -> None:
    reply = responses(b'* STATUS "INBOX" (MESSAGES 2 UIDVALIDITY 7 HIGHESTMODSEQ 123)\r\n')
    assert folder_status(reply) == FolderStatus(messages=2, uidvalidity=7, highest_modseq=123)
    # 0 is what a folder without mod-sequences says (RFC 7162 3.1.10): no value.
    reply = responses(b'* STATUS "INBOX" (MESSAGES 2 HIGHESTMODSEQ 0)\r\n')
    assert folder_status(reply).highest_modseq is None


def test_fetch_modseq_and_a_malformed_one() -> None:
    data = fetch_data(one(b"* 4 FETCH (UID 8 FLAGS (\\Seen) MODSEQ (12121231000))\r\n"))
    assert data.modseq == 12121231000
    assert data.message_info().modseq == 12121231000
    assert fetch_data(one(b"* 4 FETCH (UID 8)\r\n")).modseq is None
    with pytest.raises(ProtocolError):
        _ = fetch_data(one(b"* 4 FETCH (UID 8 MODSEQ 5)\r\n")).modseq


def test_codes_highestmodseq_modified() -> None:
    assert highest_modseq(one(b"* OK [HIGHESTMODSEQ 715194045007] ok\r\n")) == 715194045007
    assert highest_modseq(one(b"* OK [UIDNEXT 5] ok\r\n")) is None
    with pytest.raises(ProtocolError):
        highest_modseq(one(b"* OK [HIGHESTMODSEQ many] ok\r\n"))
    assert modified_uids(one(b"U5 OK [MODIFIED 7,9:11] conditional store\r\n")) == [7, 9, 10, 11]
    assert modified_uids(one(b"U5 OK done\r\n")) == []


def test_vanished_now_and_earlier() -> None:
    earlier, uids = vanished_uids(one(b"* VANISHED (EARLIER) 300:310,405,411\r\n"))
    assert earlier and uids.size == 13 and 405 in uids and 404 not in uids
    earlier, uids = vanished_uids(one(b"* VANISHED 7\r\n"))
    assert not earlier and 7 in uids
    with pytest.raises(ProtocolError):
        vanished_uids(one(b"* VANISHED\r\n"))
    with pytest.raises(ProtocolError):
        vanished_uids(one(b"* VANISHED (EARLIER) 1:x\r\n"))


def test_uid_ranges_values_are_bounded() -> None:
    ranges = UidRanges("1:3,10,4000000000:4294967295")
    assert ranges.values(below=11, limit=100) == [1, 2, 3, 10]
    with pytest.raises(ProtocolError):
        ranges.values(below=2**32, limit=1000)


def test_commands_bytes() -> None:
    fetch = serialize(
        "U7",
        [
            Atom("UID"),
            Atom("FETCH"),
            SequenceSet("1:*"),
            [Atom("FLAGS")],
            changedsince_modifier(12345, vanished=True),
        ],
    )
    assert fetch == [b"U7 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n"]
    select = serialize(
        "U8", ["INBOX", qresync_parameter(67890007, 90060115194045000, [1, 2, 3, 9])]
    )
    assert select == [b'U8 "INBOX" (QRESYNC (67890007 90060115194045000 1:3,9))\r\n']
    # Known uids that would make the line too long are left out (they only narrow the answer).
    many = qresync_parameter(7, 5, range(1, 40000, 2))
    assert serialize("U9", ["INBOX", many]) == [b'U9 "INBOX" (QRESYNC (7 5))\r\n']


@pytest.mark.parametrize("bad", [0, -1, 2**63, True, "5", None])
def test_bad_modseqs_are_refused_before_sending(bad: object) -> None:
    with pytest.raises(InvalidArgument):
        check_modseq(bad, "changed_since")
    with pytest.raises(InvalidArgument):
        changedsince_modifier(bad)  # type: ignore[arg-type]


def test_unchangedsince_zero_is_allowed() -> None:
    assert check_modseq(0, "unchanged_since", zero=True) == 0


def test_bad_uidvalidity_in_qresync() -> None:
    for bad in (0, 2**32, True):
        with pytest.raises(InvalidArgument):
            qresync_parameter(bad, 5)


def test_binary_literal8_reads_as_bytes() -> None:
    body = b"\x00\x01\xff binary\r\n"
    raw = b"* 1 FETCH (UID 5 BINARY[2] ~{%d}\r\n%s BINARY.SIZE[2] %d)\r\n" % (
        len(body),
        body,
        len(body),
    )
    data = fetch_data(one(raw))
    assert data.section("BINARY[2]") == body
    assert data.items["BINARY.SIZE[2]"] == len(body)
    # The tokenizer reads literal8 like a literal, on its fast path and in its loop.
    assert one(raw).data == [["UID", 5, "BINARY[2]", body, "BINARY.SIZE[2]", len(body)]]
    assert tokenize([b"(UID 5 BINARY[2] ~{3}", b"a\x00b", b" X ~abc)"], 8, read_atom) == [
        ["UID", 5, "BINARY[2]", b"a\x00b", "X", "~abc"]
    ]
    with pytest.raises(ProtocolError, match="~"):
        tokenize([b"(UID 5 BINARY[2] ~{3}"], 8, read_atom)


def test_appenduid_of_multiappend() -> None:
    tagged = one(b"U4 OK [APPENDUID 38505 3955:3957,3960] done\r\n")
    assert appended_uids([tagged]) == (38505, [3955, 3956, 3957, 3960])
    assert appended_uids([one(b"U4 OK done\r\n")]) is None
    assert appended_uid([one(b"U4 OK [APPENDUID 38505 3955] done\r\n")]) == (38505, 3955)
    with pytest.raises(ProtocolError):
        appended_uids([one(b"U4 OK [APPENDUID x 1] done\r\n")])


def test_folder_state_of_a_qresync_resynchronisation() -> None:
    before: dict[int, frozenset[Flag | str]] = {1: frozenset(), 2: frozenset(), 3: frozenset()}
    state = FolderState.of([2, 3, 4], {2: frozenset({"$Label"}), 3: frozenset()})
    assert state.exists == 3 and state.uids() == [2, 3, 4]
    assert [str(event) for event in diff(before, state)] == [
        "MessagesRemoved(uids=(1,))",
        "FlagsChanged(uid=2, flags=frozenset({'$Label'}))",
        "NewMessages(uids=(4,), exists=3)",
    ]


@given(st.sets(st.integers(min_value=1, max_value=5000), min_size=1, max_size=300))
def test_uid_ranges_round_trip(uids: set[int]) -> None:
    ranges = UidRanges(SequenceSet.of(uids).text)
    assert ranges.values(below=2**32, limit=10_000) == sorted(uids)
    assert ranges.size == len(uids)
    assert all(uid in ranges for uid in uids)
    assert (max(uids) + 1) not in ranges
