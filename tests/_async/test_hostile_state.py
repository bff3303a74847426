"""State confusion against the hostile kit, for IMAP: referrals, expunges in the middle of an
answer, data nobody asked for, drops in the middle of a streamed download. POP3 replies out of
step: test_hostile_state_pop3.py.

What each test holds the client to: it raises the ordinary error or gives the correct result,
never another message's bytes under the uid asked for, never a connection to a server the
caller did not name, and a connection found out of step is never used again (the next call
raises ConnectionLost, or ProtocolError naming the broken connection, and sends nothing).

Already covered elsewhere, so not repeated here: an IMAP tagged reply with an unknown tag and
a cut in the middle of ``get_bytes`` (test_hostile_limits), a split FETCH answer merged
(test_imap_security), news during UID FETCH told by ``updates()`` (test_imap_updates), POP3
response codes at login (test_pop3_faults).

This file is the source of tests/_sync/test_hostile_state.py (tools/unasync.py).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._async.hostile_client import open_client
from tests.hostile import PASSWORD, Answer, HostileServer
from tests.hostile_dialects import IMAP
from tests.scripted_server import Close, ReadLine, ReadUntilEOF, Send, StartTLS
from unimail import (
    AsyncImapMailbox,
    AuthenticationError,
    CommandError,
    ConnectionLost,
    FetchField,
    FolderNotFound,
    MessagesRemoved,
    ProtocolError,
    Q,
)

A = b"From: a@example.org\r\nSubject: message A\r\n\r\nthe body of A\r\n"
B = b"From: b@example.org\r\nSubject: message B, longer\r\n\r\nthe body of B\r\n"
C = b"From: c@example.org\r\nSubject: message C\r\n\r\nthe body of C, the last\r\n"


def files(directory: Path) -> list[str]:
    """The names in ``directory`` (a sync helper: the async tests do no blocking I/O)."""
    return sorted(path.name for path in directory.iterdir())


def literal(data: bytes) -> bytes:
    return b"{%d}\r\n" % len(data) + data


# -- referrals (RFC 2221): never followed -------------------------------------------------------


@pytest.fixture
def elsewhere() -> Iterator[socket.socket]:
    """The server a referral points to: a listener whose backlog shows any connection."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        listener.setblocking(False)
        yield listener


def connections(listener: socket.socket) -> int:
    count = 0
    while True:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


def referral(listener: socket.socket, path: str = "") -> bytes:
    port = listener.getsockname()[1]
    return f"[REFERRAL imap://alice;AUTH=*@127.0.0.1:{port}/{path}]".encode()


def _tag(line: bytes) -> bytes:
    return line.split(b" ", 1)[0]


IMAP_SELECT = [
    ReadLine(b'U2 SELECT "INBOX"\r\n'),
    Send(b"* 3 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\nU2 OK [READ-WRITE] done\r\n"),
]


@pytest.mark.anyio
async def test_imap_referral_refusing_the_login(elsewhere: socket.socket) -> None:
    no = b" NO " + referral(elsewhere) + b" log in over there\r\n"
    script = [
        StartTLS(),
        *IMAP.greet(starttls=False),
        Answer(lambda line: _tag(line) + no),
        *IMAP.goodbye(),
    ]
    with HostileServer(script) as server:
        with pytest.raises(AuthenticationError, match="over there"):
            await open_client(IMAP, server, tls=True)
    assert server.errors == [] and connections(elsewhere) == 0


@pytest.mark.anyio
async def test_imap_referral_in_a_bye_greeting(elsewhere: socket.socket) -> None:
    script = [StartTLS(), Send(b"* BYE " + referral(elsewhere) + b" moved\r\n"), ReadUntilEOF()]
    with HostileServer(script) as server:
        with pytest.raises(CommandError, match="moved"):
            await open_client(IMAP, server, tls=True)
    assert server.received_tls == b"" and connections(elsewhere) == 0


@pytest.mark.anyio
async def test_imap_referral_refusing_a_select(elsewhere: socket.socket) -> None:
    no = b"U2 NO " + referral(elsewhere, "INBOX") + b" not here\r\n"
    script = IMAP.implicit(
        ReadLine(b'U2 SELECT "INBOX"\r\n'),
        Send(no),
        # The connection is still in step: the next command is answered as usual.
        ReadLine(b'U3 LIST "" "*"\r\n'),
        Send(b'* LIST () "/" INBOX\r\nU3 OK done\r\n'),
        *IMAP.goodbye(),
    )
    with HostileServer(script) as server:
        box = await open_client(IMAP, server, tls=True)
        assert isinstance(box, AsyncImapMailbox)
        try:
            with pytest.raises(CommandError, match="not here") as info:
                [i async for i in box.folder("INBOX").search(fields=FetchField.UID)]
            assert [f.name for f in await box.folders()] == ["INBOX"]
        finally:
            await box.aclose()
    assert not isinstance(info.value, FolderNotFound) and info.value.enhanced_code == "REFERRAL"
    assert server.errors == [] and connections(elsewhere) == 0


@pytest.mark.anyio
async def test_imap_referral_with_a_successful_login(elsewhere: socket.socket) -> None:
    # RFC 2221 section 4.1: OK [REFERRAL] suggests another server; this one is used.
    ok = b" OK " + referral(elsewhere) + b" welcome, but try the other one\r\n"
    script = [
        StartTLS(),
        *IMAP.greet(starttls=False),
        Answer(lambda line: _tag(line) + ok),
        ReadLine(b"U2 CAPABILITY\r\n"),
        Send(b"* CAPABILITY IMAP4rev1\r\nU2 OK done\r\n"),
        ReadLine(b'U3 LIST "" "*"\r\n'),
        Send(b'* LIST () "/" INBOX\r\nU3 OK done\r\n'),
        *IMAP.goodbye(),
    ]
    with HostileServer(script) as server:
        box = await open_client(IMAP, server, tls=True)
        assert isinstance(box, AsyncImapMailbox)
        try:
            assert [f.name for f in await box.folders()] == ["INBOX"]
        finally:
            await box.aclose()
    assert server.errors == [] and connections(elsewhere) == 0
    assert PASSWORD.encode() not in server.received_plain


# -- IMAP: what arrives during a UID FETCH -----------------------------------------------------


async def _open_imap(server: HostileServer) -> AsyncImapMailbox:
    box = await open_client(IMAP, server, tls=True, timeout=1)
    assert isinstance(box, AsyncImapMailbox)
    return box


@pytest.mark.anyio
async def test_imap_expunge_in_the_middle_of_a_uid_fetch() -> None:
    # RFC 9051 7.4.1 allows EXPUNGE during a UID command. Uid 11 is expunged after its first
    # piece; uid 12 takes its sequence number 2, and its body comes once without UID (an
    # update by sequence number: not a result) before its real answer.
    answer = (
        b"* 1 FETCH (UID 10 BODY[] " + literal(A) + b")\r\n"
        b"* 2 FETCH (UID 11)\r\n"
        b"* 2 EXPUNGE\r\n"
        b"* 2 FETCH (BODY[] " + literal(B) + b")\r\n"
        b"* 1 FETCH (UID 99 BODY[] " + literal(B) + b")\r\n"
        b"* 2 FETCH (UID 12 BODY[] " + literal(C) + b")\r\n"
        b"U3 OK done\r\n"
    )
    script = IMAP.implicit(
        *IMAP_SELECT,
        ReadLine(b"U3 UID FETCH 10:12 (UID BODY.PEEK[])\r\n"),
        Send(answer),
        *IMAP.goodbye(),
    )
    with HostileServer(script) as server:
        async with await _open_imap(server) as box:
            infos = [i async for i in box.folder("INBOX").fetch([10, 11, 12], FetchField.BODY)]
    assert [(i.uid, i.body) for i in infos] == [(10, A), (12, C)]
    assert server.errors == []


@pytest.mark.anyio
async def test_imap_part_of_a_message_expunged_in_the_middle_of_its_answer() -> None:
    # get_part without BINARY: uid 11's structure comes, then it is expunged, then a part
    # arrives by sequence number only (an update, not the answer): no message, no wrong part.
    structure = b'("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 5 1)'
    answer = (
        b"* 2 FETCH (UID 11 BODYSTRUCTURE " + structure + b")\r\n"
        b"* 2 EXPUNGE\r\n"
        b"* 2 FETCH (BODY[1] {5}\r\nwrong)\r\n"
        b"U3 OK done\r\n"
    )
    script = IMAP.implicit(
        *IMAP_SELECT,
        ReadLine(b"U3 UID FETCH 11 (UID BODYSTRUCTURE BODY.PEEK[1])\r\n"),
        Send(answer),
        *IMAP.goodbye(),
    )
    with HostileServer(script) as server:
        async with await _open_imap(server) as box:
            with pytest.raises(CommandError, match="no message with uid 11"):
                await box.folder("INBOX").get_part(11, "1")
    assert server.errors == []


@pytest.mark.anyio
async def test_imap_vanished_in_the_middle_of_a_uid_fetch() -> None:
    # Under QRESYNC (RFC 7162 3.2.10) an expunge is told as VANISHED, by uid.
    caps = b"[CAPABILITY IMAP4rev1 ENABLE QRESYNC]"
    answer = (
        b"* 1 FETCH (UID 10 FLAGS () BODY[] " + literal(A) + b")\r\n"
        b"* 2 FETCH (UID 11 FLAGS ())\r\n"
        b"* VANISHED 11\r\n"
        b"* 2 FETCH (FLAGS (\\Seen) BODY[] " + literal(B) + b")\r\n"
        b"* 2 FETCH (UID 12 FLAGS () BODY[] " + literal(C) + b")\r\n"
        b"U4 OK done\r\n"
    )
    script = [
        StartTLS(),
        *IMAP.greet(starttls=False),
        Answer(lambda line: _tag(line) + b" OK " + caps + b" in\r\n"),
        ReadLine(b"U2 ENABLE QRESYNC\r\n"),
        Send(b"* ENABLED QRESYNC\r\nU2 OK enabled\r\n"),
        ReadLine(b'U3 SELECT "INBOX"\r\n'),
        Send(b"* 3 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\nU3 OK [READ-WRITE] done\r\n"),
        ReadLine(b"U4 UID FETCH 10:12 (UID FLAGS BODY.PEEK[])\r\n"),
        Send(answer),
        *IMAP.goodbye(),
    ]
    fields = FetchField.FLAGS | FetchField.BODY
    with HostileServer(script) as server:
        async with await _open_imap(server) as box:
            assert box.qresync
            infos = [i async for i in box.folder("INBOX").fetch([10, 11, 12], fields)]
    assert [(i.uid, i.body) for i in infos] == [(10, A), (12, C)]
    assert server.errors == []


@pytest.mark.anyio
async def test_imap_one_message_under_two_sequence_numbers() -> None:
    # Uid 11 is message 2, then message 3, with no EXPUNGE between: the pieces cannot both be
    # uid 11's, so the answer is out of step.
    answer = (
        b"* 2 FETCH (UID 11 FLAGS ())\r\n"
        b"* 3 FETCH (UID 11 BODY[] " + literal(C) + b")\r\nU3 OK done\r\n"
    )
    script = IMAP.implicit(
        *IMAP_SELECT,
        ReadLine(b"U3 UID FETCH 11 (UID FLAGS BODY.PEEK[])\r\n"),
        Send(answer),
        ReadUntilEOF(),
    )
    with HostileServer(script) as server:
        async with await _open_imap(server) as box:
            folder = box.folder("INBOX")
            with pytest.raises(ProtocolError, match="out of step"):
                [i async for i in folder.fetch([11], FetchField.FLAGS | FetchField.BODY)]
            with pytest.raises(ConnectionLost):
                await folder.get_bytes(11)
    assert server.errors == [] and IMAP.verbs(server.received_tls)[-1] == b"UID"


@pytest.mark.anyio
async def test_imap_news_during_a_search_are_events_not_results() -> None:
    script = IMAP.implicit(
        *IMAP_SELECT,
        ReadLine(b"U3 UID FETCH 1:* (UID FLAGS)\r\n"),
        Send(
            b"* 1 FETCH (UID 10 FLAGS ())\r\n* 2 FETCH (UID 11 FLAGS ())\r\n"
            b"* 3 FETCH (UID 12 FLAGS ())\r\nU3 OK done\r\n"
        ),
        ReadLine(b'U4 UID SEARCH SUBJECT "x"\r\n'),
        Send(b"* 2 EXPUNGE\r\n* SEARCH 12\r\n* 1 FETCH (FLAGS (\\Seen))\r\nU4 OK done\r\n"),
        *IMAP.goodbye(),
    )
    with HostileServer(script) as server:
        async with await _open_imap(server) as box:
            folder = box.folder("INBOX")
            assert await folder.updates() == []
            found = [i.uid async for i in folder.search(Q.subject("x"), fields=FetchField.UID)]
            events = await folder.updates()
    assert found == [12]
    assert [type(e).__name__ for e in events] == ["MessagesRemoved", "FlagsChanged"]
    assert events[0] == MessagesRemoved(uids=(11,))
    assert server.errors == []


# -- IMAP download(): streamed to the file, so checked once each response ends -----------------

_FOREIGN = {
    "another-message-first": b"* 2 FETCH (UID 11 BODY[] " + literal(B) + b")\r\n"
    b"* 1 FETCH (UID 10 BODY[] " + literal(A) + b")\r\n",
    "a-second-copy": b"* 1 FETCH (UID 10 BODY[] " + literal(A) + b")\r\n"
    b"* 1 FETCH (UID 10 BODY[] " + literal(B) + b")\r\n",
    "no-uid": b"* 2 FETCH (BODY[] " + literal(B) + b")\r\n"
    b"* 1 FETCH (UID 10 BODY[] " + literal(A) + b")\r\n",
}


@pytest.mark.anyio
@pytest.mark.parametrize("answer", list(_FOREIGN))
async def test_imap_download_refuses_data_not_asked_for(answer: str, tmp_path: Path) -> None:
    script = IMAP.implicit(
        *IMAP_SELECT,
        ReadLine(b"U3 UID FETCH 10 (UID BODY.PEEK[])\r\n"),
        Send(_FOREIGN[answer] + b"U3 OK done\r\n"),
        ReadUntilEOF(),
    )
    target = tmp_path / "message.eml"
    with HostileServer(script) as server:
        async with await _open_imap(server) as box:
            folder = box.folder("INBOX")
            with pytest.raises(ProtocolError, match="not asked for"):
                await folder.download(10, target)
            with pytest.raises(ConnectionLost):
                await folder.get_bytes(10)
    assert files(tmp_path) == []  # neither the file nor its .part
    assert server.errors == []


@pytest.mark.anyio
async def test_imap_download_cut_in_the_middle_of_the_literal(tmp_path: Path) -> None:
    script = IMAP.implicit(
        *IMAP_SELECT,
        ReadLine(b"U3 UID FETCH 10 (UID BODY.PEEK[])\r\n"),
        Send(b"* 1 FETCH (UID 10 BODY[] {%d}\r\n" % len(A) + A[:20]),
        Close(),
    )
    target = tmp_path / "message.eml"
    with HostileServer(script) as server:
        async with await _open_imap(server) as box:
            folder = box.folder("INBOX")
            with pytest.raises(ConnectionLost):
                await folder.download(10, target)
            with pytest.raises(ConnectionLost):
                await folder.download(10, target)
    assert files(tmp_path) == []
    assert server.errors == []
