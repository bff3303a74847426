"""Property tests over every sans-I/O parser: whatever a server sends, in whatever pieces, the
parsers return values or raise a library error (``UnimailError``), never another exception,
never unbounded buffering.

Inputs are built from each protocol's own tokens mixed with arbitrary bytes, so that the
generated replies get deep into the grammar instead of failing at the first byte. The default
budget keeps the suite fast; ``python3 tools/fuzz.py`` runs the same properties with a large
one (``UNIMAIL_FUZZ_EXAMPLES``).
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from unimail import Limits, UnimailError
from unimail._proto.imap._bodystructure import parse_bodystructure
from unimail._proto.imap._capability import capabilities_from
from unimail._proto.imap._envelope import parse_envelope
from unimail._proto.imap._events import FolderState
from unimail._proto.imap._fetch import fetch_data
from unimail._proto.imap._framing import ResponseFramer
from unimail._proto.imap._list import folders_with_status
from unimail._proto.imap._namespace import namespaces, server_id
from unimail._proto.imap._parser import Response, parse_response
from unimail._proto.imap._search import search_uids
from unimail._proto.imap._select import folder_status, select_info
from unimail._proto.imap._uidplus import appended_uid, copied_uids
from unimail._proto.pop3._capa import parse_capa
from unimail._proto.pop3._commands import Command
from unimail._proto.pop3._protocol import Pop3Protocol
from unimail._proto.pop3._reply import parse_scan_listing, parse_uidl_listing
from unimail._proto.sasl import create_mechanism
from unimail._proto.smtp._ehlo import EhloInfo
from unimail._proto.smtp._reply import ReplyParser

EXAMPLES = int(os.environ.get("UNIMAIL_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: Small limits, so that the generated inputs can reach them.
LIMITS = Limits(max_line_length=2_000, max_literal_size=3_000, max_response_size=10_000)


def pieces(tokens: list[bytes]) -> st.SearchStrategy[bytes]:
    """Byte strings made of protocol tokens and arbitrary bytes."""
    return st.lists(st.one_of(st.sampled_from(tokens), st.binary(max_size=12)), max_size=60).map(
        b"".join
    )


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` cut at the given offsets (taken modulo its length)."""
    points = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


CUTS = st.lists(st.integers(min_value=0, max_value=10_000), max_size=12)

IMAP_TOKENS = [
    b"* ", b"A1 ", b"+ ", b"1 ", b"42 ", b"FETCH ", b"OK ", b"NO ", b"BAD ", b"BYE ",
    b"PREAUTH ", b"LIST ", b"STATUS ", b"SEARCH ", b"ESEARCH ", b"EXISTS", b"EXPUNGE",
    b"VANISHED ", b"(EARLIER) ", b"CAPABILITY ", b"NAMESPACE ", b"ID ", b"FLAGS ",
    b"UID ", b"RFC822.SIZE ", b"INTERNALDATE ", b"ENVELOPE ", b"BODYSTRUCTURE ",
    b"BODY[] ", b"BODY[HEADER] ", b"BODY[1.2]<0> ", b"MODSEQ ", b"(", b")", b"[", b"]",
    b"NIL ", b'"', b"\\", b"\\Seen ", b"\\Noselect ", b"{3}\r\nabc", b"{0}\r\n",
    b"{5+}\r\n", b"{999999999999}\r\n", b'"17-Jul-1996 02:44:25 -0700" ',
    b'"Fri, 27 Nov 2026 10:00:00 +0000" ', b'"=?utf-8?q?caf=C3=A9?=" ',
    b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 3 1) ', b'"mixed" ',
    b"(NIL NIL \"a\" \"b.example\") ", b"[APPENDUID 7 3] ", b"[COPYUID 7 1:3 4:6] ",
    b"[UIDVALIDITY 5] ", b"[READ-ONLY] ", b"[ALERT] ", b"MESSAGES 3 ", b"UIDNEXT 9 ",
    b"1:5,7 ", b"\r\n", b"\n",
]  # fmt: skip


def consume_imap(response: Response) -> None:
    """Read a response the way the IMAP backend would, by its name."""
    name = response.name
    if name == "FETCH":
        data = fetch_data(response)
        data.message_info()
        for key in ("ENVELOPE", "BODYSTRUCTURE"):
            if key in data.items:
                (parse_envelope if key == "ENVELOPE" else parse_bodystructure)(data.items[key])
    elif name in ("LIST", "LSUB", "STATUS"):
        folders_with_status([response])
        if name == "STATUS":
            folder_status([response])
    elif name in ("SEARCH", "ESEARCH", "SORT"):
        search_uids([response])
    elif name == "CAPABILITY" or response.code == "CAPABILITY":
        capabilities_from([response])
    elif name == "NAMESPACE":
        namespaces([response])
    elif name == "ID":
        server_id([response])
    elif response.tag is not None:
        select_info([], response)
        appended_uid([response])
        copied_uids([response])


@FUZZ
@given(pieces(IMAP_TOKENS), CUTS)
def test_imap_responses_in_any_pieces(data: bytes, cuts: list[int]) -> None:
    framer = ResponseFramer(LIMITS)
    state = FolderState()
    try:
        for chunk in split(data, cuts):
            framer.feed(chunk)
            while (frame := framer.next_frame()) is not None:
                response = parse_response(frame, max_depth=20)
                if response.tag is None:
                    state.feed(response)
                consume_imap(response)
            # Nothing grows without bound: what is held is bounded by the limits.
            assert framer.buffered <= LIMITS.max_response_size + len(chunk) + 2
    except UnimailError:
        pass


@FUZZ
@given(st.integers(min_value=1, max_value=200_000))
def test_imap_deep_nesting_is_a_limit_not_a_recursion_error(depth: int) -> None:
    framer = ResponseFramer(Limits())
    framer.feed(b"* 1 FETCH (BODYSTRUCTURE " + b"(" * depth + b")" * depth + b")\r\n")
    try:
        frame = framer.next_frame()
        if frame is not None:
            consume_imap(parse_response(frame))
    except UnimailError:
        pass


SMTP_TOKENS = [
    b"220 ", b"220-", b"250 ", b"250-", b"354 ", b"421 ", b"450 ", b"550-", b"550 ",
    b"5.1.1 ", b"2.0.0 ", b"PIPELINING", b"SIZE 1000", b"SIZE x", b"AUTH PLAIN LOGIN",
    b"STARTTLS", b"8BITMIME", b"SMTPUTF8", b"CHUNKING", b"DSN", b"ENHANCEDSTATUSCODES",
    b"\r\n", b"\n", b"\r", b"\xff\xfe", b"999 ", b"2500 ",
]  # fmt: skip


@FUZZ
@given(pieces(SMTP_TOKENS), CUTS)
def test_smtp_replies_in_any_pieces(data: bytes, cuts: list[int]) -> None:
    parser = ReplyParser(LIMITS)
    try:
        for chunk in split(data, cuts):
            parser.receive_data(chunk)
            while (reply := parser.next_reply()) is not None:
                assert 200 <= reply.code <= 599
                _ = (reply.text, reply.enhanced, reply.message, reply.temporary, str(reply))
                if reply.code == 250:
                    EhloInfo.parse(reply)
            assert parser.buffered <= LIMITS.max_line_length + len(chunk) + 2
    except UnimailError:
        pass


POP3_TOKENS = [
    b"+OK ", b"-ERR ", b"+ ", b".\r\n", b"..", b"\r\n", b"\n", b"1 200", b"2 abc",
    b"3 ", b"[IN-USE] ", b"[SYS/TEMP] ", b"<1896.697170952@dbc.mtview.ca.us>",
    b"SASL PLAIN", b"UIDL", b"PIPELINING", b"TOP", b"STLS", b"\xff",
]  # fmt: skip


@FUZZ
@given(
    pieces(POP3_TOKENS),
    CUTS,
    st.lists(st.sampled_from(["STAT", "LIST", "UIDL", "RETR", "CAPA", "NOOP"]), max_size=6),
)
def test_pop3_replies_in_any_pieces(data: bytes, cuts: list[int], commands: list[str]) -> None:
    protocol = Pop3Protocol(LIMITS)
    events = []
    try:
        protocol.receive_data(b"+OK ready\r\n")
        events.append(protocol.next_event())
        protocol.send(Command.make("USER", "alice"))
        protocol.send(Command.make("PASS", "secret", secret=True))
        for name in commands:
            protocol.send(Command.make(name, 1) if name == "RETR" else Command.make(name))
        for chunk in split(data, cuts):
            protocol.receive_data(chunk)
            while (event := protocol.next_event()) is not None:
                events.append(event)
    except UnimailError:
        pass


@FUZZ
@given(st.lists(pieces(POP3_TOKENS), max_size=8))
def test_pop3_listings(lines: list[bytes]) -> None:
    for parse in (parse_scan_listing, parse_uidl_listing):
        for line in lines:
            with contextlib.suppress(UnimailError):
                parse(line)
    with contextlib.suppress(UnimailError):
        parse_capa(lines)


@FUZZ
@given(
    st.sampled_from(["SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "LOGIN", "PLAIN", "XOAUTH2"]),
    st.lists(
        st.one_of(
            st.binary(max_size=80),
            st.sampled_from(
                [
                    b"r=abc,s=" + base64.b64encode(b"salt") + b",i=4096",
                    b"r=abc,s=c2FsdA==,i=0",
                    b"r=abc,s=c2FsdA==,i=99999999999",
                    b"r=,s=,i=",
                    b"v=" + base64.b64encode(b"x" * 32),
                    b"e=invalid-proof",
                    b"m=ext,r=abc,s=c2FsdA==,i=4096",
                    b'{"status":"401"}',
                    b"Username:",
                ]
            ),
        ),
        max_size=4,
    ),
)
def test_sasl_mechanisms_answer_any_challenge(name: str, challenges: list[bytes]) -> None:
    token = "ya29.token" if name == "XOAUTH2" else None
    password = None if token else "pencil"
    mechanism = create_mechanism(name, username="user", password=password, token=token)
    try:
        mechanism.initial_response()
        for challenge in challenges:
            answer = mechanism.respond(challenge)
            assert isinstance(answer, bytes)
        mechanism.finish(challenges[-1] if challenges else None)
    except UnimailError:
        pass
