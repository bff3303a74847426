"""SMTP replies and EHLO: framing, multi-line consistency, enhanced codes, limits."""

from __future__ import annotations

import pytest

from unimail import LimitExceeded, Limits, ProtocolError
from unimail._proto.smtp import EhloInfo, Reply, ReplyParser, enhanced_code


def parse_all(data: bytes, *, step: int | None = None, limits: Limits | None = None) -> list[Reply]:
    parser = ReplyParser(limits)
    replies: list[Reply] = []
    pieces = [data] if step is None else [data[i : i + step] for i in range(0, len(data), step)]
    for piece in pieces:
        parser.receive_data(piece)
        while (reply := parser.next_reply()) is not None:
            replies.append(reply)
    return replies


EHLO = (
    b"250-mail.example.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
    b"250-AUTH PLAIN LOGIN\r\n250-AUTH=CRAM-MD5\r\n250-ENHANCEDSTATUSCODES\r\n"
    b"250-8BITMIME\r\n250 SMTPUTF8\r\n"
)


@pytest.mark.parametrize("step", [None, 1, 2, 7])
def test_multiline_reply_in_any_chunks(step: int | None) -> None:
    replies = parse_all(EHLO + b"220 2.0.0 go ahead\r\n", step=step)
    assert [r.code for r in replies] == [250, 220]
    assert replies[0].lines[0] == "mail.example.test"
    assert len(replies[0].lines) == 8
    assert replies[1].enhanced == "2.0.0"
    assert replies[1].message == "go ahead"


def test_trailing_partial_reply_waits() -> None:
    parser = ReplyParser()
    parser.receive_data(b"250 ok\r\n354 go")
    assert parser.next_reply() == Reply(250, ("ok",))
    assert parser.next_reply() is None
    parser.receive_data(b" on\r\n")
    assert parser.next_reply() == Reply(354, ("go on",))


def test_code_changed_mid_reply_is_a_protocol_error() -> None:
    # A server (or an attacker) that switches codes could make a refusal look accepted.
    with pytest.raises(ProtocolError, match="changed from 550 to 250"):
        parse_all(b"550-no such user\r\n250 ok\r\n")


@pytest.mark.parametrize(
    "line", [b"25 ok\r\n", b"2500 ok\r\n", b"abc ok\r\n", b"250x ok\r\n", b"\r\n", b"099 x\r\n"]
)
def test_malformed_lines(line: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_all(line)


def test_bare_lf_and_code_only_lines() -> None:
    assert parse_all(b"250\n") == [Reply(250, ("",))]
    assert parse_all(b"250-a\n250\r\n") == [Reply(250, ("a", ""))]


def test_line_limit_before_the_end_arrives() -> None:
    parser = ReplyParser(Limits(max_line_length=100))
    parser.receive_data(b"250 " + b"x" * 200)
    with pytest.raises(LimitExceeded):
        parser.next_reply()


def test_reply_size_limit_on_endless_continuation() -> None:
    with pytest.raises(LimitExceeded):
        parse_all(b"250-xxxxxxxx\r\n" * 200, limits=Limits(max_response_size=1000))


@pytest.mark.parametrize(
    ("code", "text", "expected"),
    [
        (250, "2.1.5 ok", "2.1.5"),
        (550, "5.7.1 relaying denied", "5.7.1"),
        (451, "4.3.0 try later", "4.3.0"),
        (250, "5.0.0 looks like one", None),  # class must match the reply code
        (250, "2.1 short", None),
        (250, "2.1.5000 long", None),
        (250, "ok", None),
    ],
)
def test_enhanced_codes(code: int, text: str, expected: str | None) -> None:
    assert enhanced_code(code, text) == expected


def test_reply_properties() -> None:
    reply = Reply(452, ("4.2.2 mailbox full", "try again"))
    assert reply.temporary and not reply.positive
    assert reply.enhanced == "4.2.2"
    assert reply.message == "mailbox full try again"
    assert str(reply) == "452 mailbox full try again"
    assert Reply(354, ("go",)).positive


def test_non_utf8_text_is_replaced_not_raised() -> None:
    (reply,) = parse_all(b"250 caf\xe9\r\n")
    assert reply.lines == ("caf\ufffd",)


def test_ehlo_keywords() -> None:
    (reply,) = parse_all(EHLO)
    ehlo = EhloInfo.parse(reply)
    assert ehlo.name == "mail.example.test"
    assert "pipelining" in ehlo and "SMTPUTF8" in ehlo and "DSN" not in ehlo
    assert ehlo.max_size == 10240000
    assert ehlo.auth_mechanisms == ("PLAIN", "LOGIN", "CRAM-MD5")
    assert ehlo.params("8BITMIME") == ()


def test_ehlo_size_zero_means_no_limit_and_garbage_lines_are_skipped() -> None:
    (reply,) = parse_all(b"250-host\r\n250-SIZE 0\r\n250-!!bad\r\n250 X-FOO a b\r\n")
    ehlo = EhloInfo.parse(reply)
    assert ehlo.max_size is None
    assert ehlo.params("x-foo") == ("a", "b")
    assert "!!BAD" not in ehlo


def test_helo_has_no_extensions() -> None:
    ehlo = EhloInfo.parse(Reply(250, ("host hello",)), esmtp=False)
    assert not ehlo.esmtp and not ehlo.extensions and ehlo.name == "host"


def test_ehlo_must_be_250() -> None:
    with pytest.raises(ProtocolError):
        EhloInfo.parse(Reply(502, ("no",)))


def test_repeated_replies_are_read_alike_and_codes_still_checked() -> None:
    parser = ReplyParser()
    parser.receive_data(b"250 2.1.0 Ok\r\n" * 3)
    first = parser.next_reply()
    assert first == Reply(250, ("2.1.0 Ok",))
    assert parser.next_reply() == first and parser.next_reply() == first
    # A line seen before as a whole reply is still checked inside a multi-line one.
    parser.receive_data(b"550-no\r\n250 2.1.0 Ok\r\n")
    with pytest.raises(ProtocolError, match="changed from 550 to 250"):
        parser.next_reply()
