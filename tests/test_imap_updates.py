"""The pure parts of Folder.updates(): which responses reach the tracked folder's state, and how
a flag change not yet told of a message removed since is folded into the removal."""

from __future__ import annotations

from typing import cast

import attrs

from unimail._async._imap_client import AsyncImapClient
from unimail._async._imap_updates import Tracked, UpdateTracker
from unimail._async.imap import AsyncImapMailbox
from unimail._models import Flag, FlagsChanged, MessagesRemoved, NewMessages
from unimail._options import Limits
from unimail._proto.imap._events import FolderState
from unimail._proto.imap._framing import ResponseFramer
from unimail._proto.imap._parser import Response, parse_response


def parse_all(data: bytes) -> list[Response]:
    framer = ResponseFramer(Limits())
    framer.feed(data)
    out = []
    while (frame := framer.next_frame()) is not None:
        out.append(parse_response(frame))
    return out


def baseline(*uids: int) -> FolderState:
    state = FolderState()
    for response in parse_all(
        b"".join(b"* %d FETCH (UID %d FLAGS ())\r\n" % (n, u) for n, u in enumerate(uids, 1))
    ):
        state.feed(response, baseline=True)
    return state


def feed(state: FolderState, data: bytes) -> None:
    for response in parse_all(data):
        state.feed(response)


def test_flag_change_then_expunge_tells_the_removal_only() -> None:
    state = baseline(1, 2, 3)
    feed(
        state,
        b"* 2 FETCH (FLAGS (\\Deleted))\r\n* 3 FETCH (FLAGS (\\Seen))\r\n* 2 EXPUNGE\r\n",
    )
    assert state.take_events() == [
        FlagsChanged(uid=3, flags=frozenset({Flag.SEEN})),
        MessagesRemoved(uids=(2,)),
    ]


def test_removals_around_a_dropped_flag_change_are_coalesced() -> None:
    state = baseline(4, 5, 6)
    feed(state, b"* 1 EXPUNGE\r\n* 1 FETCH (FLAGS (\\Flagged))\r\n* VANISHED 5\r\n")
    assert state.take_events() == [MessagesRemoved(uids=(4, 5))]
    assert state.uids() == [6]


def test_flag_change_taken_before_the_removal_stays_told() -> None:
    state = baseline(1, 2)
    feed(state, b"* 1 FETCH (FLAGS (\\Seen))\r\n")
    assert state.take_events() == [FlagsChanged(uid=1, flags=frozenset({Flag.SEEN}))]
    feed(state, b"* 1 FETCH (FLAGS ())\r\n* 1 EXPUNGE\r\n")
    assert state.take_events() == [MessagesRemoved(uids=(1,))]


@attrs.define
class FakeBox:
    """What the tracker reads of a mailbox: the selected folder and the connection."""

    _selected: tuple[str, bool] | None
    _client: object
    qresync: bool = False

    @property
    def client(self) -> AsyncImapClient:
        return cast(AsyncImapClient, self._client)


def live_tracker(*uids: int) -> tuple[FakeBox, UpdateTracker, Tracked]:
    box = FakeBox(("INBOX", False), object())
    tracker = UpdateTracker(cast(AsyncImapMailbox, box))
    tracked = Tracked(("INBOX", False))
    tracker.go_live(tracked, baseline(*uids))
    return box, tracker, tracked


def observe(tracker: UpdateTracker, data: bytes) -> None:
    for response in parse_all(data):
        tracker.observe(response)


def test_every_response_read_while_selected_reaches_the_state() -> None:
    _box, tracker, tracked = live_tracker(5, 9)
    # A caller's UID FETCH answer, with news interleaved: all of it keeps the map in step.
    observe(
        tracker,
        b"* 1 EXPUNGE\r\n* 2 EXISTS\r\n* 1 FETCH (UID 9 FLAGS (\\Seen))\r\n"
        b"* 2 FETCH (UID 12 BODY[] {2}\r\nhi)\r\nU7 OK done\r\n",
    )
    assert tracker.in_step(tracked)
    assert tracked.state.take_events() == [
        MessagesRemoved(uids=(5,)),
        FlagsChanged(uid=9, flags=frozenset({Flag.SEEN})),
        NewMessages(uids=(12,), exists=2),
    ]


def test_another_select_stops_the_state_until_a_new_baseline() -> None:
    box, tracker, tracked = live_tracker(5, 9)
    box._selected = None  # what the mailbox does while a SELECT runs
    observe(tracker, b"* 7 EXISTS\r\n")
    box._selected = ("INBOX", False)  # the same folder again: the numbers may differ now
    observe(tracker, b"* 1 EXPUNGE\r\n")
    assert not tracker.in_step(tracked)
    assert tracked.state.uids() == [5, 9] and tracked.state.take_events() == []


def test_a_new_connection_stops_the_state() -> None:
    box, tracker, tracked = live_tracker(5)
    box._client = object()
    observe(tracker, b"* 1 EXPUNGE\r\n")
    assert not tracker.in_step(tracked)
    assert tracked.state.uids() == [5]


def test_a_contradiction_asks_for_a_new_baseline() -> None:
    _box, tracker, tracked = live_tracker(5, 9)
    observe(tracker, b"* 1 EXISTS\r\n")  # EXISTS only shrinks through EXPUNGE
    assert not tracker.in_step(tracked)


def test_tracking_is_per_folder_and_read_only_flag() -> None:
    box, tracker, tracked = live_tracker(5)
    box._selected = ("INBOX", True)  # EXAMINE of the same name is another session view
    observe(tracker, b"* 1 EXPUNGE\r\n")
    assert not tracker.in_step(tracked) and tracked.state.uids() == [5]


def test_binary_literal8_answers_are_read_for_their_uid_and_flags() -> None:
    _box, tracker, tracked = live_tracker(5)
    # RFC 3516: BINARY[1] comes as a literal8 ("~{2}"), read like a literal.
    observe(tracker, b"* 1 FETCH (UID 5 BINARY[1] ~{2}\r\nhi FLAGS (\\Seen))\r\n")
    assert tracker.in_step(tracked)
    assert tracked.state.take_events() == [FlagsChanged(uid=5, flags=frozenset({Flag.SEEN}))]
