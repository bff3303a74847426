"""The sans-I/O folder state behind Folder.watch(): untagged responses in, uid events out."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unimail._errors import ProtocolError
from unimail._models import Flag, FlagsChanged, FolderEvent, MessagesRemoved, NewMessages
from unimail._options import Limits
from unimail._proto.imap._events import FolderState, UidRanges, diff
from unimail._proto.imap._framing import ResponseFramer
from unimail._proto.imap._parser import Response, parse_response


def parse_all(data: bytes) -> list[Response]:
    framer = ResponseFramer(Limits())
    framer.feed(data)
    out = []
    while (frame := framer.next_frame()) is not None:
        out.append(parse_response(frame))
    assert framer.buffered == 0
    return out


def feed(state: FolderState, data: bytes, *, baseline: bool = False) -> None:
    for response in parse_all(data):
        state.feed(response, baseline=baseline)


def baseline(*uids: int) -> FolderState:
    """The state after ``UID FETCH 1:* (UID FLAGS)`` answered with ``uids`` (no flags)."""
    state = FolderState()
    lines = b"".join(b"* %d FETCH (UID %d FLAGS ())\r\n" % (n, u) for n, u in enumerate(uids, 1))
    feed(state, lines + b"U1 OK done\r\n", baseline=True)
    assert state.take_events() == []
    return state


def test_baseline_is_no_event_and_maps_sequence_numbers() -> None:
    state = FolderState()
    feed(
        state, b"* 1 FETCH (UID 4 FLAGS (\\Seen))\r\n* 2 FETCH (UID 9 FLAGS ())\r\n", baseline=True
    )
    assert state.uids() == [4, 9] and state.exists == 2 and not state.has_news()
    assert state.snapshot() == {4: frozenset({Flag.SEEN}), 9: frozenset()}
    assert state.take_events() == []


def test_exists_growth_then_fetch_gives_new_uids() -> None:
    state = baseline(1, 2)
    feed(state, b"* 4 EXISTS\r\n* 4 RECENT\r\n")
    assert state.unknown() == [3, 4] and state.has_news()
    assert state.take_events() == []  # no event before the uids are known
    feed(state, b"* 3 FETCH (UID 7 FLAGS (\\Recent))\r\n* 4 FETCH (FLAGS () UID 8)\r\n")
    assert state.unknown() == []
    assert state.take_events() == [NewMessages(uids=(7, 8), exists=4)]
    assert state.take_events() == [] and not state.has_news()
    assert state.uids() == [1, 2, 7, 8]


def test_exists_during_the_baseline_is_new() -> None:
    # Dovecot answers UID FETCH 1:* from the session's view, then reports mail that arrived.
    state = FolderState()
    feed(state, b"* 1 FETCH (UID 3 FLAGS ())\r\n* 2 EXISTS\r\n", baseline=True)
    assert state.unknown() == [2]
    feed(state, b"* 2 FETCH (UID 5 FLAGS ())\r\n")
    assert state.take_events() == [NewMessages(uids=(5,), exists=2)]


def test_expunge_storm_names_uids_in_order() -> None:
    state = baseline(10, 11, 12, 13, 14, 15)
    # Removing 12, 13, 14 one by one: the server says "3 EXPUNGE" three times.
    feed(state, b"* 3 EXPUNGE\r\n* 3 EXPUNGE\r\n* 3 EXPUNGE\r\n* 1 EXPUNGE\r\n")
    assert state.take_events() == [MessagesRemoved(uids=(12, 13, 14, 10))]
    assert state.uids() == [11, 15] and state.exists == 2
    # Sequence numbers moved down: message 2 is uid 15 now.
    feed(state, b"* 2 FETCH (FLAGS (\\Flagged))\r\n")
    assert state.take_events() == [FlagsChanged(uid=15, flags=frozenset({Flag.FLAGGED}))]


def test_expunge_from_the_end_backwards() -> None:
    state = baseline(*range(1, 101))
    feed(state, b"".join(b"* %d EXPUNGE\r\n" % n for n in range(100, 50, -1)))
    assert state.take_events() == [MessagesRemoved(uids=tuple(range(100, 50, -1)))]
    assert state.uids() == list(range(1, 51))


def test_flag_changes_and_their_order_with_removals() -> None:
    state = baseline(1, 2, 3)
    feed(
        state,
        b"* 1 FETCH (FLAGS (\\Seen \\Recent))\r\n"
        b"* 2 EXPUNGE\r\n"
        b"* 2 FETCH (UID 3 FLAGS ($Label1 \\Answered))\r\n",
    )
    assert state.take_events() == [
        FlagsChanged(uid=1, flags=frozenset({Flag.SEEN})),
        MessagesRemoved(uids=(2,)),
        FlagsChanged(uid=3, flags=frozenset({"$Label1", Flag.ANSWERED})),
    ]


def test_unchanged_flags_and_recent_alone_are_no_event() -> None:
    state = FolderState()
    feed(state, b"* 1 FETCH (UID 1 FLAGS (\\Seen))\r\n", baseline=True)
    feed(state, b"* 1 FETCH (FLAGS (\\Seen))\r\n* 1 FETCH (FLAGS (\\Seen \\Recent))\r\n")
    feed(state, b"* 1 FETCH (MODSEQ (12))\r\n")
    assert state.take_events() == []


def test_message_that_comes_and_goes_before_it_is_told_is_no_event() -> None:
    state = baseline(1)
    feed(state, b"* 2 EXISTS\r\n* 2 FETCH (UID 2 FLAGS ())\r\n* 2 EXPUNGE\r\n")
    assert state.take_events() == []
    # ... and one that goes before its uid was even fetched.
    feed(state, b"* 2 EXISTS\r\n* 2 EXPUNGE\r\n")
    assert state.unknown() == [] and state.take_events() == [] and state.uids() == [1]


def test_flags_of_a_message_not_fetched_yet_wait_for_its_fetch() -> None:
    state = baseline(1)
    feed(state, b"* 2 EXISTS\r\n* 2 FETCH (FLAGS (\\Seen))\r\n")
    assert state.unknown() == [2] and state.take_events() == []
    feed(state, b"* 2 FETCH (UID 6 FLAGS (\\Seen))\r\n* 2 FETCH (FLAGS (\\Flagged))\r\n")
    # The flags of a message not yet announced come with it, not as a change.
    assert state.take_events() == [NewMessages(uids=(6,), exists=2)]
    assert state.snapshot()[6] == frozenset({Flag.FLAGGED})


def test_vanished_earlier_ranges() -> None:
    state = baseline(*range(1, 11))
    feed(state, b"* VANISHED (EARLIER) 1:3,5,8:9\r\n")
    assert state.take_events() == [MessagesRemoved(uids=(1, 2, 3, 5, 8, 9))]
    assert state.uids() == [4, 6, 7, 10]
    # Uids the state never knew are nobody's event.
    feed(state, b"* VANISHED (EARLIER) 100:200\r\n")
    assert state.take_events() == [] and not state.desynced


def test_vanished_replaces_expunge_under_qresync() -> None:
    state = baseline(3, 5, 8)
    feed(state, b"* VANISHED 5\r\n* 2 FETCH (FLAGS (\\Deleted))\r\n")
    assert state.take_events() == [
        MessagesRemoved(uids=(5,)),
        FlagsChanged(uid=8, flags=frozenset({Flag.DELETED})),
    ]
    assert state.exists == 2


def test_vanished_huge_range_is_cheap() -> None:
    state = baseline(7, 4000000000)
    feed(state, b"* VANISHED (EARLIER) 1:4294967295\r\n")
    assert state.take_events() == [MessagesRemoved(uids=(7, 4000000000))]


def test_vanished_of_a_message_whose_uid_is_unknown_desyncs() -> None:
    state = baseline(1)
    feed(state, b"* 2 EXISTS\r\n* VANISHED 2\r\n")
    assert state.desynced and state.has_news()


@pytest.mark.parametrize(
    "data",
    [
        b"* 1 EXISTS\r\n",  # EXISTS shrinking without EXPUNGE
        b"* 5 EXPUNGE\r\n",  # past the end
        b"* 1 FETCH (UID 99 FLAGS ())\r\n",  # slot 1 holds another uid
    ],
)
def test_contradictions_desync_instead_of_guessing(data: bytes) -> None:
    state = baseline(1, 2)
    feed(state, data)
    assert state.desynced and state.has_news()


@pytest.mark.parametrize(
    "data",
    [b"* VANISHED\r\n", b"* VANISHED (EARLIER) 1:x\r\n", b"* VANISHED 1,,2\r\n"],
)
def test_malformed_vanished(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        feed(baseline(1), data)


def test_untagged_status_and_tagged_replies_are_ignored() -> None:
    state = baseline(1)
    feed(state, b"* OK Still here\r\n* FLAGS (\\Seen)\r\n* 3 RECENT\r\nU5 OK done\r\n")
    assert state.take_events() == [] and not state.has_news()


def test_uid_ranges() -> None:
    ranges = UidRanges("9:7,1,3:4,4:5,20")
    assert [n for n in range(25) if n in ranges] == [1, 3, 4, 5, 7, 8, 9, 20]
    assert ranges.size == 8
    assert "3" not in ranges


def test_diff_after_reconnect() -> None:
    before = {1: frozenset(), 2: frozenset({Flag.SEEN}), 3: frozenset()}
    after = FolderState()
    feed(
        after,
        b"* 1 FETCH (UID 2 FLAGS (\\Seen \\Recent))\r\n"
        b"* 2 FETCH (UID 3 FLAGS (\\Flagged))\r\n"
        b"* 3 FETCH (UID 4 FLAGS ())\r\n",
        baseline=True,
    )
    assert diff(before, after) == [
        MessagesRemoved(uids=(1,)),
        FlagsChanged(uid=3, flags=frozenset({Flag.FLAGGED})),
        NewMessages(uids=(4,), exists=3),
    ]
    assert diff(after.snapshot(), after) == []


# --- a server model: whatever it does, the events replay it exactly --------------------------

_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.integers(1, 3)),
        st.tuples(st.just("expunge"), st.integers(0, 50)),
        st.tuples(st.just("flag"), st.integers(0, 50)),
        st.tuples(st.just("fetch"), st.just(0)),
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(initial=st.integers(0, 8), ops=_OPS)
def test_events_replay_the_server(initial: int, ops: list[tuple[str, int]]) -> None:
    server: list[int] = list(range(1, initial + 1))  # uids in sequence order
    flags: dict[int, frozenset[Flag | str]] = {uid: frozenset() for uid in server}
    next_uid = initial + 1
    state = baseline(*server)
    # What the events told so far: uid -> flags.
    seen: dict[int | str, frozenset[Flag | str]] = dict.fromkeys(server, frozenset())

    def tell(events: list[FolderEvent]) -> None:
        # What a caller learns; for a new message, the flags a fetch of it would read now.
        for event in events:
            if isinstance(event, NewMessages):
                assert not set(event.uids) & set(seen)  # never told twice
                for uid in event.uids:
                    assert isinstance(uid, int)
                    seen[uid] = flags[uid]
            elif isinstance(event, MessagesRemoved):
                assert set(event.uids) <= set(seen)
                for gone in event.uids:
                    del seen[gone]
            elif isinstance(event, FlagsChanged):
                assert seen[event.uid] != event.flags  # a change, not a repeat
                seen[event.uid] = event.flags

    def client_fetch() -> None:
        # The watch's FETCH n (UID FLAGS) for the unknown sequence numbers.
        for seq in state.unknown():
            uid = server[seq - 1]
            text = b" ".join(str(f).encode() for f in sorted(flags[uid], key=str))
            feed(state, b"* %d FETCH (UID %d FLAGS (%s))\r\n" % (seq, uid, text))

    for op, arg in ops:
        if op == "append":
            server.extend(range(next_uid, next_uid + arg))
            for uid in range(next_uid, next_uid + arg):
                flags[uid] = frozenset()
            next_uid += arg
            feed(state, b"* %d EXISTS\r\n" % len(server))
        elif op == "expunge" and server:
            seq = arg % len(server) + 1
            flags.pop(server.pop(seq - 1))
            feed(state, b"* %d EXPUNGE\r\n" % seq)
        elif op == "flag" and server:
            seq = arg % len(server) + 1
            uid = server[seq - 1]
            flags[uid] = flags[uid] ^ {Flag.SEEN}
            text = b"\\Seen" if Flag.SEEN in flags[uid] else b""
            feed(state, b"* %d FETCH (FLAGS (%s))\r\n" % (seq, text))
        elif op == "fetch":
            client_fetch()
            tell(state.take_events())
    client_fetch()
    tell(state.take_events())
    assert not state.desynced
    assert state.uids() == server
    assert set(seen) == set(server)
    assert all(seen[uid] == flags[uid] for uid in server)
