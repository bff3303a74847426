"""The sans-I/O POP3 core: status lines, RESP-CODES, the state table, pipelining, AUTH
continuations, CAPA, listings and command validation (RFC 1939, 2449, 2595, 3206, 5034)."""

from __future__ import annotations

import pytest

from unimail import InvalidArgument, Limits, ProtocolError, TLSError, UnsupportedOperation
from unimail._proto.pop3._capa import parse_capa
from unimail._proto.pop3._commands import Command, apop_digest
from unimail._proto.pop3._listing import Listing
from unimail._proto.pop3._message import envelope_of, header_block, parse_headers
from unimail._proto.pop3._protocol import (
    Continuation,
    Data,
    End,
    Event,
    Pop3Protocol,
    Reply,
    State,
)
from unimail._proto.pop3._reply import (
    apop_timestamp,
    parse_scan_listing,
    parse_stat,
    parse_status,
    parse_uidl_listing,
)


def greeted(pipelining: bool = False) -> Pop3Protocol:
    proto = Pop3Protocol(Limits())
    proto.receive_data(b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n")
    event = proto.next_event()
    assert isinstance(event, Reply) and event.command == "" and event.status.ok
    assert proto.state is State.AUTHORIZATION
    proto.pipelining = pipelining
    return proto


def logged_in(pipelining: bool = False) -> Pop3Protocol:
    proto = greeted(pipelining)
    proto.send(Command.make("APOP", "mrose", "c4c9334bac560ecc979e58001b3e22fb"))
    proto.receive_data(b"+OK maildrop has 2 messages\r\n")
    assert isinstance(proto.next_event(), Reply)
    assert proto.state is State.TRANSACTION
    return proto


def events(proto: Pop3Protocol) -> list[Event]:
    found: list[Event] = []
    while (event := proto.next_event()) is not None:
        found.append(event)
    return found


# -- status lines and RESP-CODES -----------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "ok", "code", "temporary", "text"),
    [
        (b"+OK\r\n", True, None, False, ""),
        (b"+OK 2 messages\r\n", True, None, False, "2 messages"),
        (b"-ERR\r\n", False, None, False, ""),
        (b"-ERR [IN-USE] Do you have another POP session running?\r\n", False, "IN-USE", True,
         "Do you have another POP session running?"),
        (b"-ERR [LOGIN-DELAY] wait 5 minutes\r\n", False, "LOGIN-DELAY", True, "wait 5 minutes"),
        (b"-ERR [SYS/TEMP] disk I/O error\r\n", False, "SYS/TEMP", True, "disk I/O error"),
        (b"-ERR [SYS/PERM] account disabled\r\n", False, "SYS/PERM", False, "account disabled"),
        (b"-ERR [AUTH] Authentication failed.\r\n", False, "AUTH", False, "Authentication failed."),
        (b"-ERR [auth] lower case\r\n", False, "AUTH", False, "lower case"),
        (b"-ERR [not a code] text\r\n", False, None, False, "[not a code] text"),
        (b"-ERR \x1b[31mred\r\n", False, None, False, "?[31mred"),
    ],
)  # fmt: skip
def test_status_lines(line: bytes, ok: bool, code: str | None, temporary: bool, text: str) -> None:
    status = parse_status(line)
    assert (status.ok, status.code, status.temporary, status.text) == (ok, code, temporary, text)


@pytest.mark.parametrize("line", [b"+OKAY\r\n", b"OK\r\n", b"* OK\r\n", b"\r\n", b"-ER\r\n"])
def test_malformed_status_lines(line: bytes) -> None:
    with pytest.raises(ProtocolError, match="malformed"):
        parse_status(line)


def test_apop_timestamp_and_digest() -> None:
    # RFC 1939 section 7's example.
    greeting = parse_status(b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n")
    stamp = apop_timestamp(greeting)
    assert stamp == b"<1896.697170952@dbc.mtview.ca.us>"
    assert apop_digest(stamp, "tanstaaf") == "c4c9334bac560ecc979e58001b3e22fb"
    assert apop_timestamp(parse_status(b"+OK Dovecot ready.\r\n")) is None


# -- the state table -------------------------------------------------------------------------


def test_greeting_err_closes() -> None:
    proto = Pop3Protocol(Limits())
    proto.receive_data(b"-ERR [SYS/TEMP] too busy\r\n")
    event = proto.next_event()
    assert isinstance(event, Reply) and not event.status.ok and event.status.temporary
    assert proto.state is State.CLOSED
    with pytest.raises(ProtocolError, match="not allowed"):
        proto.send(Command.make("CAPA"))


@pytest.mark.parametrize("name", ["RETR", "DELE", "STAT", "LIST", "TOP", "UIDL", "RSET"])
def test_transaction_commands_refused_before_login(name: str) -> None:
    with pytest.raises(ProtocolError, match="not allowed in the authorization state"):
        greeted().send(Command.make(name))


@pytest.mark.parametrize("name", ["STLS", "USER", "PASS", "AUTH"])
def test_authorization_commands_refused_after_login(name: str) -> None:
    with pytest.raises(ProtocolError, match="not allowed in the transaction state"):
        logged_in().send(Command.make(name, "x"))


def test_quit_in_transaction_enters_update_and_nothing_follows() -> None:
    proto = logged_in()
    assert proto.send(Command.make("QUIT")) == b"QUIT\r\n"
    proto.receive_data(b"+OK dewey POP3 server signing off (maildrop empty)\r\n")
    assert isinstance(proto.next_event(), Reply)
    assert proto.state is State.UPDATE
    with pytest.raises(ProtocolError):
        proto.send(Command.make("NOOP"))


def test_quit_in_authorization_closes() -> None:
    proto = greeted()
    proto.send(Command.make("QUIT"))
    proto.receive_data(b"+OK bye\r\n")
    proto.next_event()
    assert proto.state is State.CLOSED


def test_failed_pass_stays_in_authorization() -> None:
    proto = greeted()
    proto.send(Command.make("USER", "alice"))
    proto.receive_data(b"+OK\r\n")
    proto.next_event()
    proto.send(Command.make("PASS", "wrong password with spaces", secret=True))
    proto.receive_data(b"-ERR [AUTH] Authentication failed.\r\n")
    event = proto.next_event()
    assert isinstance(event, Reply) and event.status.code == "AUTH"
    assert proto.state is State.AUTHORIZATION


def test_reply_to_no_command_is_a_protocol_error() -> None:
    proto = logged_in()
    proto.receive_data(b"+OK surprise\r\n")
    with pytest.raises(ProtocolError, match="no command"):
        proto.next_event()
    with pytest.raises(ProtocolError, match="broken"):
        proto.send(Command.make("NOOP"))


# -- pipelining ------------------------------------------------------------------------------


def test_no_second_command_in_flight_without_pipelining() -> None:
    proto = logged_in()
    proto.send(Command.make("RETR", 1))
    with pytest.raises(UnsupportedOperation) as info:
        proto.send(Command.make("RETR", 2))
    assert info.value.capability == "PIPELINING"


def test_pipelined_replies_are_matched_in_order() -> None:
    proto = logged_in(pipelining=True)
    commands = [
        Command.make("RETR", 1), Command.make("RETR", 9), Command.make("LIST", 2),
        Command.make("LIST"), Command.make("DELE", 1), Command.make("QUIT"),
    ]  # fmt: skip
    sent = b"".join(proto.send(c) for c in commands)
    assert sent == b"RETR 1\r\nRETR 9\r\nLIST 2\r\nLIST\r\nDELE 1\r\nQUIT\r\n"
    assert proto.pending == 6
    proto.receive_data(
        b"+OK\r\nhello\r\n.\r\n-ERR no such message\r\n+OK 2 200\r\n+OK\r\n1 120\r\n2 200\r\n"
        b".\r\n+OK message 1 deleted\r\n+OK bye\r\n"
    )
    found = events(proto)
    shape = [(type(e).__name__, getattr(e, "command", None)) for e in found]
    assert shape == [
        ("Reply", "RETR"), ("Data", None), ("End", "RETR"), ("Reply", "RETR"), ("Reply", "LIST"),
        ("Reply", "LIST"), ("Data", None), ("End", "LIST"), ("Reply", "DELE"), ("Reply", "QUIT"),
    ]  # fmt: skip
    assert isinstance(found[3], Reply) and not found[3].has_body  # -ERR has no body
    assert proto.state is State.UPDATE and proto.pending == 0


def test_state_changing_commands_are_never_pipelined() -> None:
    proto = greeted(pipelining=True)
    proto.send(Command.make("CAPA"))
    with pytest.raises(UnsupportedOperation):
        proto.send(Command.make("STLS"))


# -- AUTH (RFC 5034) and STLS ----------------------------------------------------------------


def test_auth_continuations() -> None:
    proto = greeted()
    proto.send(Command.make("AUTH", "CRAM-MD5"))
    proto.receive_data(b"+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n")
    event = proto.next_event()
    assert isinstance(event, Continuation) and event.text.startswith(b"PDE4")
    assert proto.send_continuation(b"dGltIGI5MTNhNjAy") == b"dGltIGI5MTNhNjAy\r\n"
    proto.receive_data(b"+\r\n")  # Exchange's bare "+"
    assert proto.next_event() == Continuation(b"")
    proto.receive_data(b"+OK Logged in.\r\n")
    event = proto.next_event()
    assert isinstance(event, Reply) and event.status.ok
    assert proto.state is State.TRANSACTION
    with pytest.raises(ProtocolError, match="no AUTH"):
        proto.send_continuation(b"*")


def test_plus_outside_auth_is_malformed() -> None:
    proto = logged_in()
    proto.send(Command.make("NOOP"))
    proto.receive_data(b"+ \r\n")
    with pytest.raises(ProtocolError, match="malformed"):
        proto.next_event()


def test_stls_refuses_bytes_before_the_handshake() -> None:
    proto = greeted()
    proto.send(Command.make("STLS"))
    proto.receive_data(b"+OK Begin TLS\r\n+OK injected\r\n")
    assert isinstance(proto.next_event(), Reply)
    with pytest.raises(TLSError, match="before the TLS handshake"):
        proto.start_tls()


# -- CAPA ------------------------------------------------------------------------------------


def test_capa() -> None:
    caps = parse_capa(
        [b"TOP", b"USER", b"SASL PLAIN scram-sha-256", b"RESP-CODES", b"LOGIN-DELAY 900",
         b"PIPELINING", b"EXPIRE 60", b"UIDL", b"IMPLEMENTATION Shlemazle-Plotz-v302"]
    )  # fmt: skip
    assert {"TOP", "USER", "UIDL", "RESP-CODES"} <= caps.names and caps.pipelining
    assert caps.sasl == ("PLAIN", "SCRAM-SHA-256")
    assert (caps.expire, caps.expire_never, caps.login_delay) == (60, False, 900)
    assert caps.implementation == "Shlemazle-Plotz-v302" and not caps.stls
    never = parse_capa([b"EXPIRE NEVER", b"STLS", b"LOGIN-DELAY soon"])
    assert never.expire_never and never.expire is None and never.stls
    assert never.login_delay is None


# -- listings --------------------------------------------------------------------------------


def test_listings() -> None:
    assert parse_stat(parse_status(b"+OK 2 320\r\n")) == (2, 320)
    assert parse_scan_listing(b"1 120\r\n") == (1, 120)
    assert parse_uidl_listing(b"2 QhdPYR:00WBw1Ph7x7") == (2, "QhdPYR:00WBw1Ph7x7")
    for bad in (b"1", b"x 10", b"1 ten"):
        with pytest.raises(ProtocolError):
            parse_scan_listing(bad)
    with pytest.raises(ProtocolError):
        parse_uidl_listing(b"1 " + b"x" * 71)
    with pytest.raises(ProtocolError):
        parse_stat(parse_status(b"+OK seven 1800662\r\n"))


def test_listing_of_a_session() -> None:
    listing = Listing.parse([b"1 100", b"2 200", b"3 300"], [b"1 a", b"2 b", b"3 c"])
    assert listing.number("b") == 2 and listing.number(2) is None
    listing.deleted.add(2)
    assert listing.live() == [1, 3] and listing.number("b") is None
    plain = Listing.parse([b"1 100", b"2 200"], None)
    assert not plain.has_uidl and plain.number(2) == 2 and plain.number(True) is None
    with pytest.raises(ProtocolError, match="same unique-id"):
        Listing.parse([b"1 100", b"2 200"], [b"1 a", b"2 a"])
    with pytest.raises(ProtocolError, match="twice"):
        Listing.parse([b"1 100", b"1 200"], None)
    with pytest.raises(ProtocolError, match="disagree"):
        Listing.parse([b"1 100", b"2 200"], [b"1 a"])


# -- commands --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("USER", "alice\r\nDELE 1"),
        ("PASS", "pw\nQUIT"),
        ("PASS", "pw\0"),
        ("RETR", "1 2"),
        ("TOP", "1", ""),
        ("APOP", "m\u00fcller", "digest"),
        ("RETR", True),
        ("AUTH", "PLAIN", "x" * 300),
        ("RE TR",),
        ("UIDL", "x" * 41),
    ],
)
def test_invalid_commands_are_refused_before_sending(args: tuple[object, ...]) -> None:
    with pytest.raises(InvalidArgument):
        Command.make(*args)  # type: ignore[arg-type]


def test_command_lines() -> None:
    assert Command.make("top", 10, 0).encode() == b"TOP 10 0\r\n"
    password = Command.make("PASS", 'd "quoted" \\back slash', secret=True)
    assert password.encode() == b'PASS d "quoted" \\back slash\r\n'
    assert password.redacted() == b"PASS ***\r\n"
    assert Command.make("PASS", "c\u00e4rol").encode() == "PASS c\u00e4rol\r\n".encode()
    auth = Command.make("AUTH", "PLAIN", "AGFsaWNlAHNlY3JldA==", secret=True)
    assert auth.redacted() == b"AUTH PLAIN ***\r\n"
    assert Command.make("RETR", 1).redacted() is None


# -- envelopes from headers ------------------------------------------------------------------


def test_envelope_from_headers() -> None:
    raw = (
        b"From: =?utf-8?q?J=C3=BCrgen?= <j@example.org>\r\nTo: a@example.org, B <b@example.org>"
        b"\r\nSubject: =?utf-8?b?SGVsbG8gV8O2cmxk?=\r\nDate: Fri, 27 Nov 2026 10:00:00 +0100\r\n"
        b"Message-ID: <m1@example.org>\r\n\r\nbody\r\n"
    )
    assert header_block(raw).endswith(b"\r\n\r\n") and b"body" not in header_block(raw)
    envelope = envelope_of(parse_headers(raw))
    assert envelope.subject == "Hello W\u00f6rld"
    assert envelope.from_[0].name == "J\u00fcrgen" and envelope.from_[0].addr == "j@example.org"
    assert [a.addr for a in envelope.to] == ["a@example.org", "b@example.org"]
    assert envelope.date is not None and envelope.date.utcoffset() is not None
    assert envelope.message_id == "<m1@example.org>"


def test_envelope_from_broken_headers_never_raises() -> None:
    raw = b"From: <<<@@>\r\nDate: yesterday-ish\r\nTo: ;;;\r\nSubject: \xff\xfe\r\n\r\n"
    envelope = envelope_of(parse_headers(raw))
    assert envelope.date is None
    assert envelope.subject is not None


def test_data_and_end_events_are_values() -> None:
    assert Data(b"x") == Data(b"x") and End("RETR") == End("RETR")
