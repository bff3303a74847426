"""From a message and the server's EHLO to the transaction: which extension is used when."""

from __future__ import annotations

import email.message

import pytest

from unimail import Dsn, LimitExceeded, Limits, OutgoingMessage, SendError, UnsupportedOperation
from unimail._proto.smtp import EhloInfo
from unimail._smtp_prepare import Prepared, prepare


def ehlo(*keywords: str) -> EhloInfo:
    extensions: dict[str, tuple[str, ...]] = {}
    for keyword in keywords:
        name, *params = keyword.split()
        extensions[name] = tuple(params)
    return EhloInfo("server", extensions)


def prepared(outgoing: OutgoingMessage, *keywords: str, limits: Limits | None = None) -> Prepared:
    return prepare(outgoing, ehlo(*keywords), limits or Limits(), {})


def commands(p: Prepared) -> bytes:
    assert p.transaction is not None
    return p.transaction.commands


def utf8_message() -> email.message.EmailMessage:
    msg = email.message.EmailMessage()
    msg["From"] = "a@example.org"
    msg["To"] = "b@example.org"
    msg.set_content("Gr\u00fc\u00dfe\n")
    return msg


def test_8bit_message_declares_8bitmime() -> None:
    p = prepared(OutgoingMessage.of(utf8_message()), "8BITMIME", "SIZE 1000")
    assert p.content.data is not None and not p.content.data.isascii()
    assert commands(p).startswith(b"MAIL FROM:<a@example.org> BODY=8BITMIME SIZE=")


def test_8bit_email_message_is_reencoded_for_an_old_server() -> None:
    p = prepared(OutgoingMessage.of(utf8_message()))
    assert p.content.data is not None and p.content.data.isascii()
    assert b"Content-Transfer-Encoding: base64" in p.content.data
    assert b"BODY=" not in commands(p)


def test_8bit_bytes_need_8bitmime() -> None:
    outgoing = OutgoingMessage.of(b"Subject: x\r\n\r\n\xe9\r\n", "a@example.org", ["b@example.org"])
    with pytest.raises(UnsupportedOperation) as info:
        prepared(outgoing)
    assert info.value.capability == "8BITMIME"


def test_size_is_checked_and_declared() -> None:
    outgoing = OutgoingMessage.of(b"x" * 500, "a@example.org", ["b@example.org"])
    assert b" SIZE=500\r\n" in commands(prepared(outgoing, "SIZE 1000"))
    with pytest.raises(SendError) as info:
        prepared(outgoing, "SIZE 100")
    assert info.value.code == "552" and info.value.refused == {
        "b@example.org": (552, "message too large")
    }
    with pytest.raises(LimitExceeded):
        prepared(outgoing, limits=Limits(max_message_size=100))


def test_smtputf8_for_non_ascii_local_parts() -> None:
    outgoing = OutgoingMessage.of(b"x", "\u00e9l\u00e8ve@example.org", ["b@example.org"])
    with pytest.raises(UnsupportedOperation) as info:
        prepared(outgoing, "8BITMIME")
    assert info.value.capability == "SMTPUTF8"
    assert commands(prepared(outgoing, "SMTPUTF8")).startswith(
        "MAIL FROM:<\u00e9l\u00e8ve@example.org> SMTPUTF8\r\n".encode()
    )


def test_idna_domains_need_nothing() -> None:
    outgoing = OutgoingMessage.of(b"x", "a@b\u00fccher.example", ["b@example.org"])
    assert commands(prepared(outgoing)).startswith(b"MAIL FROM:<a@xn--bcher-kva.example>\r\n")


def test_dsn_parameters() -> None:
    dsn = Dsn(notify=("FAILURE",), ret="FULL", envid="e1")
    outgoing = OutgoingMessage.of(b"x", "a@example.org", ["b@example.org"], dsn=dsn)
    with pytest.raises(UnsupportedOperation) as info:
        prepared(outgoing)
    assert info.value.capability == "DSN"
    assert commands(prepared(outgoing, "DSN")) == (
        b"MAIL FROM:<a@example.org> RET=FULL ENVID=e1\r\n"
        b"RCPT TO:<b@example.org> NOTIFY=FAILURE ORCPT=rfc822;b@example.org\r\nDATA\r\n"
    )


def test_binarymime_needs_chunking() -> None:
    outgoing = OutgoingMessage.of(
        b"\0x", "a@example.org", ["b@example.org"], mail_options=["BODY=BINARYMIME"]
    )
    with pytest.raises(UnsupportedOperation):
        prepared(outgoing, "BINARYMIME")
    p = prepared(outgoing, "BINARYMIME", "CHUNKING")
    assert p.binary and not commands(p).endswith(b"DATA\r\n")


def test_bdat_whenever_chunking_can_be_pipelined() -> None:
    outgoing = OutgoingMessage.of(b"Subject: x\r\n\r\nhi\r\n", "a@example.org", ["b@example.org"])
    assert commands(prepared(outgoing, "CHUNKING")).endswith(b"DATA\r\n")
    assert commands(prepared(outgoing, "PIPELINING")).endswith(b"DATA\r\n")
    both = prepared(outgoing, "PIPELINING", "CHUNKING")
    assert both.transaction is not None and both.transaction.chunking
    assert commands(both) == b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\n"


def test_a_job_is_resendable_only_until_its_content_is_written() -> None:
    p = prepared(OutgoingMessage.of(b"x\r\n", "a@example.org", ["b@example.org"]))
    first, second = p.job(), p.job()
    assert first.transaction is p.transaction  # the first attempt takes it as built
    assert second.transaction is not first.transaction
    assert first.resendable
    first.content_sent = True
    assert not first.resendable
    first.restart()
    assert first.resendable and first.transaction.unsent
