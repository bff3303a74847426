"""``MessageInfo.raw`` of IMAP messages: the FETCH items as sent, read again from the text.

A kept ``MessageInfo`` holds the text its items came from, not their values: a list of
thousands of them must not cost a dozen lists each (memory, and the garbage collector's time).
"""

from __future__ import annotations

import gc

from benchmarks._corpus import fetch_stream

from tests.test_imap_protocol import connected, responses
from unimail._proto.imap._fetch import fetch_data
from unimail._proto.imap._fetch_stream import FetchAssembler
from unimail._proto.imap._protocol import State


def _answer(data: bytes) -> list[object]:
    """Every response of ``data`` (untagged), read as a selected connection reads them."""
    return list(responses(connected(State.SELECTED), data))


def test_raw_is_the_items_as_tokenised() -> None:
    data = fetch_stream(200)
    data = data[: data.rindex(b"A1 OK")]
    for response in _answer(data):
        fetched = fetch_data(response)  # type: ignore[arg-type]
        raw = fetched.message_info().raw
        assert raw is not None
        assert dict(raw) == fetched.items
        assert list(raw) == list(fetched.items) and len(raw) == len(fetched.items)
        assert raw["UID"] == fetched.uid


def test_raw_of_an_answer_split_over_two_responses() -> None:
    # RFC 9051 7.5.2: one message's items in two FETCH responses; the later one wins.
    data = (
        b'* 1 FETCH (UID 7 FLAGS (\\Seen) ENVELOPE (NIL "a" NIL NIL NIL NIL NIL NIL NIL NIL))\r\n'
        b"* 1 FETCH (UID 7 FLAGS (\\Seen \\Answered) RFC822.SIZE {2}\r\n42)\r\n"
    )
    assembler = FetchAssembler({"UID", "FLAGS", "ENVELOPE", "RFC822.SIZE"}, [7])
    complete = [item for response in _answer(data) for item in assembler.feed(response) or ()]  # type: ignore[arg-type]
    (info,) = [item.message_info() for item in complete]
    assert info.raw is not None
    assert info.raw["FLAGS"] == ["\\Seen", "\\Answered"]
    assert info.raw["RFC822.SIZE"] == b"42"  # a literal, as sent
    assert info.raw["ENVELOPE"][1] == b"a"  # type: ignore[index]


def test_kept_messages_hold_no_token_lists() -> None:
    data = fetch_stream(300)
    protocol = connected(State.SELECTED)
    protocol.receive_data(data[: data.rindex(b"A1 OK")])
    gc.collect()
    before = len(gc.get_objects())
    kept = []
    while (response := protocol.next_response()) is not None:
        kept.append(fetch_data(response).message_info())
    gc.collect()
    per_message = (len(gc.get_objects()) - before) / len(kept)
    # MessageInfo, its envelope, addresses and body parts: about 15 objects here; holding
    # the values of the items would add about 20 more (lists, dicts).
    assert per_message < 22, per_message
