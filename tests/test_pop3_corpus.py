"""Replay of real POP3 servers' replies (MailKit's recorded corpus, MIT licence) through the
sans-I/O core: Gmail, Exchange, Comcast (Zimbra) and a LANG-capable server.

Each file holds the server's bytes for one command (the corpus README: line endings stored as
LF, converted to CRLF here). The command is inferred from the file name; the ``*-error*`` files
are malformed on purpose and must raise ProtocolError, never a raw exception.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from unimail import Limits, ProtocolError
from unimail._proto.pop3._capa import Pop3Capabilities, parse_capa
from unimail._proto.pop3._commands import Command
from unimail._proto.pop3._listing import Listing
from unimail._proto.pop3._message import envelope_of, parse_headers, parse_message
from unimail._proto.pop3._protocol import Continuation, Data, End, Pop3Protocol, Reply, State
from unimail._proto.pop3._reply import (
    apop_timestamp,
    parse_scan_listing,
    parse_stat,
    parse_uidl_listing,
)

CORPUS = Path("/work/shared/corpus/mailkit/pop3")
if not CORPUS.is_dir():  # the repository's own copy, when the shared one is not mounted
    CORPUS = Path(__file__).parent / "corpus" / "mailkit" / "pop3"


def load(name: str) -> bytes:
    return (CORPUS / name).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def session(state: State = State.TRANSACTION, pipelining: bool = True) -> Pop3Protocol:
    proto = Pop3Protocol(Limits())
    proto.receive_data(b"+OK\r\n")
    proto.next_event()
    if state is State.TRANSACTION:
        proto.send(Command.make("APOP", "user", "digest"))
        proto.receive_data(b"+OK\r\n")
        proto.next_event()
    proto.pipelining = pipelining
    return proto


def replay(
    name: str, *commands: Command, state: State = State.TRANSACTION
) -> list[tuple[Reply, bytes]]:
    """Send ``commands``, feed the file byte by byte, return each reply with its body."""
    proto = session(state)
    for command in commands:
        proto.send(command)
    data = load(name)
    replies: list[tuple[Reply, bytearray]] = []
    for index in range(len(data)):
        proto.receive_data(data[index : index + 1])
        while (event := proto.next_event()) is not None:
            if isinstance(event, Reply):
                replies.append((event, bytearray()))
            elif isinstance(event, Data):
                replies[-1][1].extend(event.data)
            else:
                assert isinstance(event, End)
    assert proto.pending == 0, f"{name}: {proto.pending} replies missing"
    return [(reply, bytes(body)) for reply, body in replies]


def lines(body: bytes) -> list[bytes]:
    return body.split(b"\r\n")[:-1]


COVERED: set[str] = set()


def covers(*names: str) -> None:
    COVERED.update(names)


# -- greetings -------------------------------------------------------------------------------

covers("common/ok-greeting.txt", "common/err-greeting.txt", "gmail/greeting.txt",
       "exchange/greeting.txt", "comcast/greeting.txt", "lang/greeting.txt")  # fmt: skip


@pytest.mark.parametrize(
    ("name", "ok", "timestamp"),
    [
        ("common/ok-greeting.txt", True, None),
        ("common/err-greeting.txt", False, None),
        ("gmail/greeting.txt", True, None),
        ("exchange/greeting.txt", True, None),
        ("comcast/greeting.txt", True, None),
        ("lang/greeting.txt", True, b"<apop-token@example.com>"),
    ],
)
def test_greetings(name: str, ok: bool, timestamp: bytes | None) -> None:
    proto = Pop3Protocol(Limits())
    proto.receive_data(load(name))
    event = proto.next_event()
    assert isinstance(event, Reply) and event.status.ok is ok
    assert apop_timestamp(event.status) == timestamp
    assert proto.state is (State.AUTHORIZATION if ok else State.CLOSED)


# -- CAPA ------------------------------------------------------------------------------------

covers("gmail/capa1.txt", "gmail/capa2.txt", "comcast/capa1.txt", "comcast/capa2.txt",
       "exchange/capa.txt", "lang/capa1.txt", "lang/capa2.txt")  # fmt: skip


def capa(name: str) -> Pop3Capabilities:
    ((reply, body),) = replay(name, Command.make("CAPA"), state=State.AUTHORIZATION)
    assert reply.status.ok and reply.has_body
    return parse_capa(lines(body))


def test_capa_gmail() -> None:
    first, second = capa("gmail/capa1.txt"), capa("gmail/capa2.txt")
    assert first.sasl == ("PLAIN", "XOAUTH2") and not first.pipelining
    assert (first.expire, first.login_delay) == (0, 300)
    assert {"USER", "RESP-CODES", "TOP", "UIDL", "X-GOOGLE-RICO"} <= first.names
    assert second.pipelining and second.sasl == ()


def test_capa_comcast_zimbra() -> None:
    first, second = capa("comcast/capa1.txt"), capa("comcast/capa2.txt")
    assert first.stls and first.expire == 31 and not first.expire_never
    assert second.expire_never and second.sasl == ("PLAIN", "X-ZIMBRA")
    assert second.implementation == "ZimbraInc"


def test_capa_exchange_and_lang() -> None:
    assert capa("exchange/capa.txt").sasl == ("NTLM", "GSSAPI", "PLAIN", "LOGIN")
    assert {"UTF8", "LANG"} <= capa("lang/capa1.txt").names
    assert capa("lang/capa2.txt").pipelining


# -- STAT, LIST, UIDL ------------------------------------------------------------------------

covers("gmail/stat.txt", "exchange/stat.txt", "comcast/stat.txt", "lang/stat.txt",
       "comcast/stat-error1.txt", "comcast/stat-error2.txt", "comcast/stat-error3.txt")  # fmt: skip


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("gmail/stat.txt", (3, 221409)),
        ("lang/stat.txt", (3, 221409)),
        ("exchange/stat.txt", (7, 1800662)),
        ("comcast/stat.txt", (7, 1800662)),
        ("comcast/stat-error1.txt", None),
        ("comcast/stat-error2.txt", None),
        ("comcast/stat-error3.txt", None),
    ],
)
def test_stat(name: str, expected: tuple[int, int] | None) -> None:
    ((reply, _),) = replay(name, Command.make("STAT"))
    if expected is None:
        with pytest.raises(ProtocolError):
            parse_stat(reply.status)
    else:
        assert parse_stat(reply.status) == expected


covers("gmail/list.txt", "comcast/list.txt", "comcast/list-error1.txt",
       "comcast/list-error2.txt", "comcast/list-error3.txt", "gmail/uidl.txt",
       "exchange/uidl.txt", "gmail/uidl-error1.txt", "gmail/uidl-error2.txt")  # fmt: skip


def listing_lines(name: str, command: str) -> list[bytes]:
    ((reply, body),) = replay(name, Command.make(command))
    assert reply.status.ok and reply.has_body
    return lines(body)


def test_list_and_uidl_gmail() -> None:
    listing = Listing.parse(listing_lines("gmail/list.txt", "LIST"),
                            listing_lines("gmail/uidl.txt", "UIDL"))  # fmt: skip
    assert listing.sizes == {1: 1024, 2: 1025, 3: 1026}
    assert [listing.uid_of[n] for n in listing.numbers] == ["101", "102", "103"]
    with pytest.raises(ProtocolError):
        Listing.parse(listing_lines("gmail/list.txt", "LIST"),
                      listing_lines("gmail/uidl-error1.txt", "UIDL"))  # fmt: skip
    with pytest.raises(ProtocolError, match="message 4"):
        Listing.parse(listing_lines("gmail/list.txt", "LIST"),
                      listing_lines("gmail/uidl-error2.txt", "UIDL"))  # fmt: skip


def test_list_and_uidl_comcast_exchange() -> None:
    sizes = Listing.parse(listing_lines("comcast/list.txt", "LIST"), None).sizes
    assert sizes == {n: n * 1024 for n in range(1, 8)}
    uids = Listing.parse(listing_lines("comcast/list.txt", "LIST"),
                         listing_lines("exchange/uidl.txt", "UIDL"))  # fmt: skip
    assert uids.uid_of[7] == "6505"
    # A gap in the numbers is legal (messages deleted in the session are not listed).
    assert (
        sorted(Listing.parse(listing_lines("comcast/list-error2.txt", "LIST"), None).sizes)[-1] == 8
    )
    for bad in ("comcast/list-error1.txt", "comcast/list-error3.txt"):
        with pytest.raises(ProtocolError):
            Listing.parse(listing_lines(bad, "LIST"), None)


covers("gmail/list1.txt", "gmail/list2.txt", "gmail/list3.txt", "comcast/list1.txt",
       "comcast/list1-error1.txt", "comcast/list1-error2.txt", "comcast/list1-error3.txt",
       "gmail/uidl1.txt", "gmail/uidl2.txt", "gmail/uidl3.txt", "gmail/uidl1-error1.txt",
       "gmail/uidl1-error2.txt")  # fmt: skip


@pytest.mark.parametrize(
    ("name", "command", "expected"),
    [
        ("gmail/list1.txt", "LIST", (1, 1024)),
        ("gmail/list2.txt", "LIST", (2, 1025)),
        ("gmail/list3.txt", "LIST", (3, 1026)),
        ("comcast/list1.txt", "LIST", (1, 1024)),
        ("comcast/list1-error1.txt", "LIST", None),
        ("comcast/list1-error2.txt", "LIST", (99, 1024)),  # well formed, wrong number
        ("comcast/list1-error3.txt", "LIST", None),
        ("gmail/uidl1.txt", "UIDL", (1, "101")),
        ("gmail/uidl2.txt", "UIDL", (2, "102")),
        ("gmail/uidl3.txt", "UIDL", (3, "103")),
        ("gmail/uidl1-error1.txt", "UIDL", None),
        ("gmail/uidl1-error2.txt", "UIDL", (99, "101")),
    ],
)
def test_single_line_list_and_uidl(
    name: str, command: str, expected: tuple[int, object] | None
) -> None:
    ((reply, body),) = replay(name, Command.make(command, 1))
    assert not reply.has_body and body == b""
    parse = parse_scan_listing if command == "LIST" else parse_uidl_listing
    if expected is None:
        with pytest.raises(ProtocolError):
            parse(reply.status.raw)
    else:
        assert parse(reply.status.raw) == expected


# -- RETR and TOP ----------------------------------------------------------------------------

covers("gmail/retr1.txt", "gmail/retr123.txt", "gmail/retr1-parse-error.txt",
       "comcast/retr1.txt", "exchange/retr1.txt", "gmail/top.txt", "gmail/top123.txt")  # fmt: skip


@pytest.mark.parametrize("name", ["gmail/retr1.txt", "comcast/retr1.txt", "exchange/retr1.txt"])
def test_retr(name: str) -> None:
    ((reply, body),) = replay(name, Command.make("RETR", 1))
    assert reply.status.ok and body.endswith(b"\r\n") and not body.endswith(b"\r\n.\r\n")
    # The body is the message itself: the corpus file minus status line, terminator and the
    # stuffing dot of each line that starts with a dot.
    wire = load(name)
    stuffed = wire.count(b"\r\n..")
    assert stuffed == 1
    assert len(body) == len(wire) - len(b"+OK message follows\r\n") - len(b".\r\n") - stuffed
    message = parse_message(body)
    assert message["Subject"]


def test_retr_unstuffs_a_line_of_dots() -> None:
    ((_, body),) = replay("comcast/retr1.txt", Command.make("RETR", 1))
    assert b"\r\n... by Curt Galloway\r\n" in body and b"\r\n.... by" not in body


def test_retr_three_pipelined_and_a_body_that_is_not_mime() -> None:
    replies = replay("gmail/retr123.txt", *(Command.make("RETR", n) for n in (1, 2, 3)))
    assert [len(body) for _, body in replies] == [len(replies[0][1])] * 3
    ((reply, body),) = replay("gmail/retr1-parse-error.txt", Command.make("RETR", 1))
    assert reply.status.ok and body.startswith(b"7P7D8l") and body.endswith(b"\r\n")


def test_top() -> None:
    ((_, body),) = replay("gmail/top.txt", Command.make("TOP", 1, 0))
    envelope = envelope_of(parse_headers(body))
    assert envelope.from_ and envelope.subject is not None
    replies = replay("gmail/top123.txt", *(Command.make("TOP", n, 0) for n in (1, 2, 3)))
    assert len(replies) == 3 and all(r.status.ok for r, _ in replies)


# -- single-line replies ---------------------------------------------------------------------

covers("gmail/dele.txt", "gmail/dele123.txt", "gmail/noop.txt", "gmail/rset.txt",
       "gmail/quit.txt", "exchange/quit.txt", "comcast/quit.txt", "lang/quit.txt",
       "comcast/ok.txt", "comcast/err.txt")  # fmt: skip


def test_single_line_replies() -> None:
    assert [r.status.ok for r, _ in replay("gmail/dele.txt", Command.make("DELE", 1))] == [True]
    dele = replay("gmail/dele123.txt", *(Command.make("DELE", n) for n in (1, 2, 3)))
    assert [r.status.ok for r, _ in dele] == [True] * 3
    for name, command in [("gmail/noop.txt", "NOOP"), ("gmail/rset.txt", "RSET"),
                          ("comcast/ok.txt", "NOOP")]:  # fmt: skip
        assert replay(name, Command.make(command))[0][0].status.ok
    for name in ("gmail/quit.txt", "exchange/quit.txt", "comcast/quit.txt", "lang/quit.txt"):
        ((reply, _),) = replay(name, Command.make("QUIT"))
        assert reply.status.ok
    ((err, _),) = replay("comcast/err.txt", Command.make("RETR", 1))
    assert not err.status.ok and not err.has_body


# -- authentication --------------------------------------------------------------------------

covers("gmail/auth.txt", "exchange/auth.txt", "lang/auth.txt", "gmail/plus.txt",
       "exchange/plus.txt")  # fmt: skip


@pytest.mark.parametrize("name", ["gmail/auth.txt", "exchange/auth.txt", "lang/auth.txt"])
def test_auth_success(name: str) -> None:
    proto = session(State.AUTHORIZATION)
    proto.send(Command.make("AUTH", "PLAIN", "AGFsaWNlAHB3"))
    proto.receive_data(load(name))
    event = proto.next_event()
    assert isinstance(event, Reply) and event.status.ok
    assert proto.state is State.TRANSACTION


@pytest.mark.parametrize("name", ["gmail/plus.txt", "exchange/plus.txt"])
def test_auth_continuation(name: str) -> None:
    proto = session(State.AUTHORIZATION)
    proto.send(Command.make("AUTH", "LOGIN"))
    proto.receive_data(load(name))
    assert proto.next_event() == Continuation(b"")


# -- LANG and UTF8 (RFC 6856): not implemented, their replies frame like any other -----------

covers("lang/getlang.txt", "lang/setlang.txt", "lang/utf8.txt")


def test_lang_replies_frame() -> None:
    ((reply, body),) = replay("lang/getlang.txt", Command.make("CAPA"))
    assert reply.status.ok and len(lines(body)) == 6 and lines(body)[0] == b"en English"
    for name in ("lang/setlang.txt", "lang/utf8.txt"):
        assert replay(name, Command.make("NOOP"))[0][0].status.ok


def test_every_corpus_file_is_replayed() -> None:
    files = {str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*.txt")}
    assert files, f"no corpus in {CORPUS}"
    assert files == COVERED
