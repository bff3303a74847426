"""The second look at a tracked folder after work in another one (``_imap_relook``): under
CONDSTORE / QRESYNC it asks for the changes since, not for every message, and tells exactly
the events the full ``UID FETCH 1:* (UID FLAGS)`` tells. Against the real Dovecot (another
connection changes the folder while the tracking one has another folder selected), in three
modes: QRESYNC enabled, CONDSTORE alone, neither (the full baseline); a scripted server for
the answers that must send it back to the full baseline.

This file is the source of tests/_sync/test_imap_relook.py (tools/unasync.py): every test runs
on asyncio, on trio, and through the generated sync facade.
"""

from __future__ import annotations

import logging
import re

import pytest

from mailservers import MailServers
from tests._async.test_imap_updates import message, open_box, sent_lines, uids
from tests.scripted_server import (
    LocalCA,
    ReadLine,
    ReadUntilEOF,
    ScriptedServer,
    Send,
    imap_login,
)
from unimail import (
    AsyncImapFolder,
    AsyncImapMailbox,
    Flag,
    FlagsChanged,
    FolderEvent,
    MessagesRemoved,
    NewMessages,
)

FLAGGED = frozenset({Flag.FLAGGED})
SEEN = frozenset({Flag.SEEN})

# What the mailbox ENABLEs (RFC 5161) in each mode: Dovecot offers all three.
MODES = {
    "qresync": ("UTF8=ACCEPT", "CONDSTORE", "QRESYNC"),
    "condstore": ("UTF8=ACCEPT", "CONDSTORE"),
    "full": ("UTF8=ACCEPT",),
}

# The commands of the second look, as sent: (pattern, how many times in each mode).
LOOK = {
    r"\S+ UID FETCH 1:\* \(UID FLAGS\)": {"qresync": 0, "condstore": 0, "full": 1},
    r"\S+ UID FETCH 1:\* \(UID FLAGS\) \(CHANGEDSINCE \d+\)": {
        "qresync": 0,
        "condstore": 1,
        "full": 0,
    },
    r'\S+ SELECT "INBOX" \(QRESYNC \(\d+ \d+\)\)': {"qresync": 1, "condstore": 0, "full": 0},
    r"\S+ UID SEARCH RETURN \(ALL\) ALL": {"qresync": 1, "condstore": 1, "full": 0},
}


@pytest.fixture(params=list(MODES))
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    name: str = request.param
    monkeypatch.setattr("unimail._async.imap._ENABLE", MODES[name])
    return name


def assert_looked(caplog: pytest.LogCaptureFixture, mode: str) -> None:
    """The second look sent the commands of ``mode``: no line per message unless "full"."""
    lines = [line.removesuffix("\\r\\n") for line in sent_lines(caplog)]
    counts = {pattern: len([ln for ln in lines if re.fullmatch(pattern, ln)]) for pattern in LOOK}
    assert counts == {pattern: times[mode] for pattern, times in LOOK.items()}


async def switch_away(box: AsyncImapMailbox) -> None:
    """Select another folder ("Other", empty): the tracked one is no longer live."""
    assert await uids(box.folder("Other")) == []


async def track_then_switch(
    box: AsyncImapMailbox, other: AsyncImapMailbox
) -> tuple[AsyncImapFolder, AsyncImapFolder]:
    """Create "Other", start tracking INBOX on ``box`` (nothing to tell yet), switch away;
    return the tracked INBOX and the same INBOX seen by ``other``."""
    await box.create_folder("Other")
    inbox = box.folder("INBOX")
    assert await inbox.updates() == []
    await switch_away(box)
    return inbox, other.folder("INBOX")


@pytest.mark.anyio
async def test_flag_changes_meanwhile(
    alice: MailServers, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    caplog.set_level(logging.DEBUG, logger="unimail.protocol")
    alice.seed("alice", [message(f"m{n}") for n in range(1, 6)])
    async with open_box(alice) as box, open_box(alice) as other:
        await box.create_folder("Other")
        inbox = box.folder("INBOX")
        assert box.condstore == (mode != "full")
        assert await inbox.updates() == []
        await switch_away(box)
        theirs = other.folder("INBOX")
        await theirs.add_flags([2, 4], {Flag.FLAGGED})
        await theirs.add_flags([5], {Flag.SEEN})
        await theirs.add_flags([5], {Flag.SEEN})  # no change: no event
        caplog.clear()
        assert await inbox.updates() == [
            FlagsChanged(uid=2, flags=FLAGGED),
            FlagsChanged(uid=4, flags=FLAGGED),
            FlagsChanged(uid=5, flags=SEEN),
        ]
        assert_looked(caplog, mode)
        assert await inbox.updates() == []
        # The sequence numbers of later updates name the right messages.
        # One at a time: servers differ in the order they tell two changes in.
        await theirs.delete([3])
        assert await inbox.updates(poll=True) == [MessagesRemoved(uids=(3,))]
        await theirs.add_flags([4], {Flag.SEEN})  # now message 3
        assert await inbox.updates(poll=True) == [FlagsChanged(uid=4, flags=FLAGGED | SEEN)]


@pytest.mark.anyio
async def test_expunges_meanwhile(
    alice: MailServers, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    caplog.set_level(logging.DEBUG, logger="unimail.protocol")
    alice.seed("alice", [message(f"m{n}") for n in range(1, 7)])
    async with open_box(alice) as box, open_box(alice) as other:
        inbox, theirs = await track_then_switch(box, other)
        await theirs.delete([2, 5])
        caplog.clear()
        assert await inbox.updates() == [MessagesRemoved(uids=(2, 5))]
        assert_looked(caplog, mode)
        assert await inbox.updates() == []
        # Left: 1, 3, 4, 6. An EXPUNGE of message 3 is uid 4; then uid 6 is message 3.
        # One at a time: servers differ in the order they tell two changes in.
        await theirs.delete([4])
        assert await inbox.updates(poll=True) == [MessagesRemoved(uids=(4,))]
        await theirs.add_flags([6], {Flag.FLAGGED})
        assert await inbox.updates(poll=True) == [FlagsChanged(uid=6, flags=FLAGGED)]
        assert await uids(inbox) == [1, 3, 6]


@pytest.mark.anyio
async def test_new_messages_meanwhile(
    alice: MailServers, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    caplog.set_level(logging.DEBUG, logger="unimail.protocol")
    alice.seed("alice", [message("one"), message("two")])
    async with open_box(alice) as box, open_box(alice) as other:
        inbox, theirs = await track_then_switch(box, other)
        alice.deliver_lmtp("alice", message("three"))
        assert await theirs.append(message("four"), flags={Flag.SEEN}) == 4
        alice.deliver_lmtp("alice", message("five"))
        caplog.clear()
        # A new message's flags are part of its arrival, not a change.
        assert await inbox.updates() == [NewMessages(uids=(3, 4, 5), exists=5)]
        assert_looked(caplog, mode)
        assert await inbox.updates() == []
        # One at a time: servers differ in the order they tell two changes in.
        await theirs.delete([4])
        assert await inbox.updates(poll=True) == [MessagesRemoved(uids=(4,))]
        await theirs.add_flags([5], {Flag.FLAGGED})  # now message 4
        assert await inbox.updates(poll=True) == [FlagsChanged(uid=5, flags=FLAGGED)]


@pytest.mark.anyio
async def test_a_mix_meanwhile(
    alice: MailServers, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    caplog.set_level(logging.DEBUG, logger="unimail.protocol")
    alice.seed("alice", [message(f"m{n}") for n in range(1, 7)])
    async with open_box(alice) as box, open_box(alice) as other:
        await box.create_folder("Other")
        inbox = box.folder("INBOX")
        assert await inbox.updates() == []
        await inbox.add_flags([1], {Flag.SEEN})  # told before the switch, not taken yet
        await switch_away(box)
        theirs = other.folder("INBOX")
        await theirs.add_flags([2], {Flag.FLAGGED})
        await theirs.delete([3])
        await theirs.add_flags([4], {Flag.FLAGGED})  # then removed: the removal says it all
        await theirs.delete([4])
        await theirs.add_flags([6], {Flag.SEEN})
        await theirs.remove_flags([6], {Flag.SEEN})  # back as it was: no change
        alice.deliver_lmtp("alice", message("m7"))
        alice.deliver_lmtp("alice", message("m8"))
        await uids(theirs)  # the answer's EXISTS tells their session of 7 and 8
        assert await uids(theirs) == [1, 2, 5, 6, 7, 8]
        await theirs.add_flags([7], {Flag.FLAGGED})  # flags of an arrival: no change
        await theirs.delete([8])  # came and went: never seen
        caplog.clear()
        assert await inbox.updates() == [
            FlagsChanged(uid=1, flags=SEEN),
            MessagesRemoved(uids=(3, 4)),
            FlagsChanged(uid=2, flags=FLAGGED),
            NewMessages(uids=(7,), exists=5),
        ]
        assert_looked(caplog, mode)
        assert await inbox.updates() == []
        # Left: 1, 2, 5, 6, 7. Message 3 is uid 5; after its expunge, message 4 is uid 7.
        # One at a time: servers differ in the order they tell two changes in.
        await theirs.delete([5])
        assert await inbox.updates(poll=True) == [MessagesRemoved(uids=(5,))]
        await theirs.add_flags([7], {Flag.SEEN})
        assert await inbox.updates(poll=True) == [FlagsChanged(uid=7, flags=FLAGGED | SEEN)]
        # A second switch: the next look starts from the modseq of this one.
        await switch_away(box)
        await theirs.add_flags([2], {Flag.SEEN})
        caplog.clear()
        assert await inbox.updates() == [FlagsChanged(uid=2, flags=FLAGGED | SEEN)]
        assert_looked(caplog, mode)


# --- scripted: answers that send the look back to the full baseline ----------------------------

CAPS = b"IMAP4rev1 CONDSTORE QRESYNC ENABLE ESEARCH"

# Tracking starts on INBOX (uids 5 and 6, HIGHESTMODSEQ 90), then "Other" is selected.
TRACKED = [
    *imap_login(CAPS),
    ReadLine(b"U2 ENABLE CONDSTORE QRESYNC\r\n"),
    Send(b"* ENABLED CONDSTORE QRESYNC\r\nU2 OK enabled\r\n"),
    ReadLine(b'U3 SELECT "INBOX"\r\n'),
    Send(
        b"* 2 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [HIGHESTMODSEQ 90] ok\r\n"
        b"U3 OK [READ-WRITE] done\r\n"
    ),
    ReadLine(b"U4 UID FETCH 1:* (UID FLAGS)\r\n"),
    Send(b"* 1 FETCH (UID 5 FLAGS ())\r\n* 2 FETCH (UID 6 FLAGS ())\r\nU4 OK done\r\n"),
    ReadLine(b'U5 SELECT "Other"\r\n'),
    Send(b"* 0 EXISTS\r\n* OK [UIDVALIDITY 8] ok\r\nU5 OK [READ-WRITE] done\r\n"),
    ReadLine(b"U6 UID SEARCH RETURN (ALL) ALL\r\n"),
    Send(b'* ESEARCH (TAG "U6") UID\r\nU6 OK done\r\n'),
    ReadLine(b'U7 SELECT "INBOX" (QRESYNC (7 90))\r\n'),
]

# What the server answers to the QRESYNC SELECT and after, up to the full baseline's UID FETCH;
# and the tag of that UID FETCH.
SURPRISES = {
    # The folder keeps no modification sequences (any more).
    "nomodseq": (
        [
            Send(b"* 3 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [NOMODSEQ] no\r\nU7 OK done\r\n"),
            ReadLine(b"U8 UID FETCH 1:* (UID FLAGS)\r\n"),
        ],
        8,
    ),
    # An expunge before the SEARCH answer: whether that answer counts the message is unsure.
    "update before the answer": (
        [
            Send(b"* 3 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [HIGHESTMODSEQ 95] ok\r\n"),
            Send(b"* 3 FETCH (UID 7 FLAGS () MODSEQ (94))\r\nU7 OK done\r\n"),
            ReadLine(b"U8 UID SEARCH RETURN (ALL) ALL\r\n"),
            Send(b'* 3 EXPUNGE\r\n* ESEARCH (TAG "U8") UID ALL 5:6\r\nU8 OK done\r\n'),
            ReadLine(b"U9 UID FETCH 1:* (UID FLAGS)\r\n"),
        ],
        9,
    ),
    # Fewer uids than EXISTS.
    "count": (
        [
            Send(b"* 3 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [HIGHESTMODSEQ 95] ok\r\n"),
            Send(b"U7 OK done\r\n"),
            ReadLine(b"U8 UID SEARCH RETURN (ALL) ALL\r\n"),
            Send(b'* ESEARCH (TAG "U8") UID ALL 5:6\r\nU8 OK done\r\n'),
            ReadLine(b"U9 UID FETCH 1:* (UID FLAGS)\r\n"),
        ],
        9,
    ),
}


@pytest.mark.anyio
@pytest.mark.parametrize("surprise", list(SURPRISES))
async def test_surprises_fall_back_to_the_full_baseline(surprise: str) -> None:
    ca = LocalCA()
    steps, tag = SURPRISES[surprise]
    expunged = surprise == "update before the answer"  # uid 7 came and went: never told
    answer = b"* 1 FETCH (UID 5 FLAGS (\\Seen))\r\n* 2 FETCH (UID 6 FLAGS ())\r\n"
    if not expunged:
        answer += b"* 3 FETCH (UID 7 FLAGS ())\r\n"
    script = [
        *TRACKED,
        *steps,
        Send(answer + b"U%d OK done\r\n" % tag),
        ReadLine(b"U%d LOGOUT\r\n" % (tag + 1)),
        Send(b"* BYE bye\r\nU%d OK done\r\n" % (tag + 1)),
        ReadUntilEOF(),
    ]
    with ScriptedServer(script, ssl_context=ca.server_context()) as server:
        async with AsyncImapMailbox.open(
            f"imaps://alice@{server.host}:{server.port}",
            password="pw",
            ssl_context=ca.client_context(),
        ) as box:
            inbox = box.folder("INBOX")
            assert await inbox.updates() == []
            assert await uids(box.folder("Other")) == []
            expected: list[FolderEvent] = [FlagsChanged(uid=5, flags=SEEN)]
            if not expunged:
                expected.append(NewMessages(uids=(7,), exists=3))
            assert await inbox.updates() == expected
    assert server.errors == []
