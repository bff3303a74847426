"""The bytes of a message to send: serialisation, chunking, files."""

from __future__ import annotations

import email.message
import io
import os
from pathlib import Path

import pytest

from unimail import InvalidArgument
from unimail._smtp_content import CHUNK_SIZE, SPOOL_SIZE, Content


def big_message(size: int) -> email.message.EmailMessage:
    msg = email.message.EmailMessage()
    msg["From"] = "a@example.org"
    msg["To"] = "b@example.org"
    msg.set_content("see the attachment\n")
    msg.add_attachment(os.urandom(size), maintype="application", subtype="octet-stream")
    return msg


@pytest.mark.parametrize("size", [1000, 3 * CHUNK_SIZE, SPOOL_SIZE])
def test_serialisation_is_the_standard_one_with_crlf(size: int) -> None:
    msg = big_message(size)
    content = Content.of(msg)
    try:
        expected = msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))
        assert content.read_all() == expected
        assert b"".join(content.chunks(1000)) == expected
        assert (content.data is None) == (len(expected) > SPOOL_SIZE)  # large ones spool
    finally:
        content.close()


def nested_message() -> email.message.EmailMessage:
    msg = email.message.EmailMessage()
    msg["From"] = "a@example.org"
    msg["To"] = "b@example.org"
    msg["Subject"] = "Gr\u00fc\u00dfe"
    msg.set_content("plain \u00e9t\u00e9\n.\nFrom the start\n")
    msg.add_alternative("<p>html</p>\n", subtype="html")
    msg.add_attachment(b"\0\1\2" * 500_000, maintype="application", subtype="octet-stream")
    msg.add_attachment("text attachment\n" * 100, filename="a.txt")
    inner = email.message.EmailMessage()
    inner["Subject"] = "inner"
    inner.set_content("inner body\n")
    msg.add_attachment(inner)
    msg.preamble = "This is a MIME message.\n"
    msg.epilogue = "the end\n"
    return msg


@pytest.mark.parametrize("seven_bit", [False, True])
def test_nested_multipart_streams_the_standard_bytes(seven_bit: bool) -> None:
    msg = nested_message()
    content = Content.of(msg, seven_bit=seven_bit)  # sets the boundaries it needs
    try:
        policy = msg.policy.clone(linesep="\r\n", cte_type="7bit" if seven_bit else "8bit")
        assert content.read_all() == msg.as_bytes(policy=policy)
    finally:
        content.close()


def test_bytes_file_and_path(tmp_path: Path) -> None:
    data = b"Subject: x\r\n\r\n" + b"y" * 5000
    path = tmp_path / "m.eml"
    path.write_bytes(data)
    for source in (data, io.BytesIO(data), path):
        content = Content.of(source)
        assert b"".join(content.chunks(777)) == data and content.size() == len(data)
        content.close()


def test_unsupported_sources() -> None:
    with pytest.raises(InvalidArgument, match="binary mode"):
        Content.of(io.StringIO("x"))  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        Content.of(12)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="cannot read"):
        Content.of(Path("/nonexistent/message.eml"))


def test_header_section_ascii_check() -> None:
    assert Content.of(b"Subject: x\r\n\r\n\xe9").header_is_ascii()
    assert not Content.of("Subject: \u00e9\r\n\r\nx".encode()).header_is_ascii()
    assert Content.of(b"Subject: x\n\n\xe9").header_is_ascii()
