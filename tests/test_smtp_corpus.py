"""Replay of real servers' SMTP replies recorded by MailKit (../shared/corpus/mailkit/smtp/).

The files store LF line endings: each LF is turned into CRLF before parsing (corpus README).
Every file is parsed whole and one byte at a time; the EHLO, AUTH and pipelined replies are
then read the way the transport reads them.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from unimail import SendError
from unimail._proto.smtp import EhloInfo, Reply, ReplyParser, Step, Transaction, check_address

CORPUS = Path("/work/shared/corpus/mailkit/smtp")
FILES = sorted(CORPUS.glob("*.txt"))


def load(name: str) -> bytes:
    return (CORPUS / name).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def replies(data: bytes, *, bytewise: bool = False) -> list[Reply]:
    parser = ReplyParser()
    out: list[Reply] = []
    for piece in [data[i : i + 1] for i in range(len(data))] if bytewise else [data]:
        parser.receive_data(piece)
        while (reply := parser.next_reply()) is not None:
            out.append(reply)
    assert parser.buffered == 0
    return out


def test_the_corpus_is_there() -> None:
    assert len(FILES) >= 30


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_file_parses_whole_and_bytewise(path: Path) -> None:
    data = load(path.name)
    whole = replies(data)
    assert whole and whole == replies(data, bytewise=True)
    assert all(100 <= r.code < 600 for r in whole)


@pytest.mark.parametrize(
    ("name", "code", "enhanced"),
    [
        ("auth-failed.txt", 535, None),
        ("auth-required.txt", 530, "5.7.0"),
        ("auth-successful.txt", 235, None),
        ("comcast-auth-plain.txt", 235, "2.7.0"),
        ("comcast-data.txt", 354, None),
        ("comcast-data-done.txt", 250, "2.0.0"),
        ("comcast-greeting.txt", 220, None),
        ("comcast-quit.txt", 221, "2.0.0"),
        ("ehlo-failed.txt", 504, None),
        ("greeting-not-ready.txt", 221, None),
        ("mailbox-unavailable.txt", 550, "5.1.0"),
    ],
)
def test_codes(name: str, code: int, enhanced: str | None) -> None:
    (reply,) = replies(load(name))
    assert (reply.code, reply.enhanced) == (code, enhanced)


@pytest.mark.parametrize("path", sorted(CORPUS.glob("comcast-ehlo*.txt")), ids=lambda p: p.name)
def test_ehlo_replies(path: Path) -> None:
    (reply,) = replies(load(path.name))
    ehlo = EhloInfo.parse(reply)
    assert ehlo.name == "omta06.westchester.pa.mail.comcast.net"
    assert ehlo.max_size == 36700160
    assert "STARTTLS" in ehlo and "8BITMIME" in ehlo and "ENHANCEDSTATUSCODES" in ehlo
    extension = path.stem.partition("+")[2].upper()
    if extension and extension not in ("X-EXPS", "DIGEST-MD5"):
        assert extension in ehlo
    if extension == "X-EXPS":
        assert ehlo.params("X-EXPS") == ("LOGIN", "PLAIN") and "AUTH" not in ehlo
    elif extension == "DIGEST-MD5":
        assert ehlo.auth_mechanisms == ("LOGIN", "PLAIN", "DIGEST-MD5")
    else:
        assert ehlo.auth_mechanisms == ("LOGIN", "PLAIN")


def test_helo_reply() -> None:
    (reply,) = replies(load("helo.txt"))
    assert EhloInfo.parse(reply, esmtp=False).name == "omta06.westchester.pa.mail.comcast.net"


@pytest.mark.parametrize(
    ("name", "challenge"),
    [
        ("comcast-auth-login-password.txt", b"Username:"),
        ("comcast-auth-login-username.txt", b"Password:"),
    ],
)
def test_auth_challenges_are_base64(name: str, challenge: bytes) -> None:
    (reply,) = replies(load(name))
    assert reply.code == 334 and base64.b64decode(reply.lines[0]) == challenge


def test_digest_md5_challenge() -> None:
    (reply,) = replies(load("comcast-auth-digest-md5.txt"))
    assert base64.b64decode(reply.lines[0]).startswith(b'realm="elwood.innosoft.com"')


def _transaction() -> Transaction:
    return Transaction(check_address("a@example.org"), [check_address("b@example.org")])


def test_pipelined_mail_and_rcpt_accepted() -> None:
    t = _transaction()
    for reply in replies(load("pipelined-mail-from-rcpt-to.txt")):
        t.receive(reply)
    assert t.step is Step.DATA and t.accepted == ["b@example.org"]


def test_pipelined_recipient_refused() -> None:
    t = _transaction()
    for reply in replies(load("pipelined-mailbox-unavailable.txt")):
        t.receive(reply)
    t.receive(replies(load("bad-command-sequence.txt"))[0])  # DATA without recipients
    assert t.step is Step.DONE
    with pytest.raises(SendError) as info:
        t.result()
    assert info.value.refused == {"b@example.org": (550, "mailbox unavailable")}
