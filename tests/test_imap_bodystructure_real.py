"""BODYSTRUCTURE as real servers send it: the MailKit corpus of recorded replies, and
Dovecot's answers for messages stored by the test.
"""

from __future__ import annotations

import base64
import email.policy
import imaplib
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailservers import MailServers
from tests.test_imap_bodystructure import fetched, sections
from unimail._errors import ProtocolError
from unimail._proto.imap._bodystructure import parse_bodystructure

# --- the MailKit corpus -------------------------------------------------------------------------

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "mailkit" / "imap"

# Measured when this test was written: 8 reply files hold a BODYSTRUCTURE or BODY item (Gmail
# and Dovecot), 60 structures in all, and every one parses. Raise these numbers when the corpus
# grows; never lower them without a reason.
MIN_FILES = 8
MIN_STRUCTURES = 60


def _structure_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(
        path
        for path in CORPUS.rglob("*.txt")
        if b"BODYSTRUCTURE" in (upper := path.read_bytes().upper()) or b" BODY (" in upper
    )


STRUCTURE_FILES = _structure_files()


def _corpus_structures(path: Path) -> list[object]:
    raw = path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    values: list[object] = []
    for data in fetched(raw.replace(b"A########", b"A00000042")):
        values.extend(data.items[key] for key in ("BODYSTRUCTURE", "BODY") if key in data.items)
    return values


def test_corpus_structures_parse() -> None:
    if not STRUCTURE_FILES:
        pytest.fail(f"the MailKit corpus is missing or changed: {CORPUS}", pytrace=False)
    parsed, failures = 0, []
    for path in STRUCTURE_FILES:
        for value in _corpus_structures(path):
            try:
                root = parse_bodystructure(value)
            except ProtocolError as error:  # only ProtocolError may escape
                failures.append(f"{path.relative_to(CORPUS)}: {error}")
                continue
            parsed += 1
            assert all("/" in part.content_type for part in root.walk())
    assert len(STRUCTURE_FILES) >= MIN_FILES
    assert parsed >= MIN_STRUCTURES, failures
    assert not failures


def test_corpus_gmail_search_summary_tree() -> None:
    path = CORPUS / "gmail" / "search-summary.txt"
    if not path.is_file():
        pytest.fail(f"the MailKit corpus is missing: {path}", pytrace=False)
    raw = path.read_bytes().replace(b"\n", b"\r\n").replace(b"A########", b"A00000042")
    by_seq = {data.seq: data.items for data in fetched(raw)}
    # Message 5: a text part, a forwarded message holding a multipart, a text part.
    root = parse_bodystructure(by_seq[5]["BODY"])
    assert sections(root) == [
        ("", "multipart/mixed"),
        ("1", "text/richtext"),
        ("2", "message/rfc822"),
        ("2", "multipart/mixed"),
        ("2.1", "text/plain"),
        ("2.2", "audio/basic"),
        ("2.3", "text/plain"),
        ("3", "text/richtext"),
    ]
    message = root.children[1]
    assert message.envelope is not None and message.envelope.subject == "mail from Wacky"
    assert message.children[0].children[0].params == {"name": "index.rtf", "type": "microsoft-rtf"}


# --- against the real Dovecot -------------------------------------------------------------------

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"


def _test_message() -> bytes:
    inner = EmailMessage()
    inner["From"] = "carol@example.test"
    inner["Subject"] = "Inner message"
    inner.set_content("The forwarded text.\n")
    message = EmailMessage()
    message["From"] = "bob@example.test"
    message["To"] = "alice@example.test"
    message["Subject"] = "Structure"
    message.set_content("Hello Alice,\nthe report is attached.\nBob\n")
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="résumé 2026.pdf")
    message.add_attachment(inner)
    return message.as_bytes(policy=email.policy.SMTP)


def _raw_fetch(imap: imaplib.IMAP4, command: bytes) -> bytes:
    """Send one command with our own tag and return the server's bytes, literals included."""
    imap.send(b"U1 " + command + b"\r\n")
    raw = b""
    while True:
        line = imap.readline()
        raw += line
        if line.startswith(b"U1 "):
            assert line.startswith(b"U1 OK"), line
            return raw
        if line.endswith(b"}\r\n"):
            raw += imap.read(int(line[line.rindex(b"{") + 1 : -3]))


@pytest.mark.servers
def test_dovecot_bodystructure(alice: MailServers) -> None:
    alice.seed("alice", [_test_message()])
    context = alice.ssl_context()
    with imaplib.IMAP4_SSL(alice.host, alice.imaps_port, ssl_context=context) as imap:
        imap.login("alice", alice.users["alice"])
        imap.select("INBOX", readonly=True)
        raw = _raw_fetch(imap, b"UID FETCH 1:* (BODYSTRUCTURE BODY.PEEK[1] BODY.PEEK[2])")
    (data,) = fetched(raw)
    root = parse_bodystructure(data.items["BODYSTRUCTURE"])
    assert sections(root) == [
        ("", "multipart/mixed"),
        ("1", "text/plain"),
        ("2", "application/pdf"),
        ("3", "message/rfc822"),
        ("3.1", "text/plain"),
    ]
    text, pdf, message = root.children
    assert root.params["boundary"]
    # The sizes and sections agree with what the server returns for BODY[1] and BODY[2].
    body_1, body_2 = data.section("BODY[1]"), data.section("BODY[2]")
    assert body_1 is not None and body_2 is not None
    assert (text.size, text.lines) == (len(body_1), body_1.count(b"\n"))
    assert text.charset == "utf-8" and not text.is_attachment
    assert (pdf.size, pdf.encoding) == (len(body_2), "base64")
    assert base64.b64decode(body_2) == PDF
    assert pdf.filename == "résumé 2026.pdf" and pdf.is_attachment
    assert pdf.disposition == "attachment"
    assert message.envelope is not None and message.envelope.subject == "Inner message"
    assert message.children[0].lines == 1
    # add_attachment() gives the forwarded message "Content-Disposition: attachment" too.
    assert message.disposition == "attachment" and message.filename is None
    assert [p.section for p in root.walk() if p.is_attachment] == ["2", "3"]


@pytest.mark.servers
def test_dovecot_sections_and_sizes_of_the_corpus_messages(alice: MailServers) -> None:
    # The 50 varied messages of the corpus (1991-era MIME samples, nested messages, odd
    # headers) as Dovecot describes them: every non-multipart part's section must fetch
    # exactly ``size`` octets, which checks the part numbering against the server itself.
    paths = sorted((CORPUS / "common").glob("message.*.msg"))
    if len(paths) < 50:
        pytest.fail(f"the MailKit corpus is missing or changed: {CORPUS}", pytrace=False)
    messages = [path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") for path in paths]
    alice.seed("alice", messages)
    context = alice.ssl_context()
    checked = 0
    with imaplib.IMAP4_SSL(alice.host, alice.imaps_port, ssl_context=context) as imap:
        imap.login("alice", alice.users["alice"])
        imap.select("INBOX", readonly=True)
        listing = fetched(_raw_fetch(imap, b"UID FETCH 1:* (BODYSTRUCTURE BODY)"))
        assert len(listing) == len(messages)
        for data in listing:
            root = parse_bodystructure(data.items["BODYSTRUCTURE"])
            # BODY is the same tree without extension data.
            plain = parse_bodystructure(data.items["BODY"])
            assert sections(plain) == sections(root)
            # A multipart inside a message shares the message part's section: skip those.
            leaves = [p for p in root.walk() if not p.is_multipart]
            items = b" ".join(b"BODY.PEEK[%s]" % p.section.encode() for p in leaves)
            command = b"UID FETCH %d (%s)" % (data.uid or 0, items)
            (contents,) = fetched(_raw_fetch(imap, command))
            for leaf in leaves:
                content = contents.section(f"BODY[{leaf.section}]")
                assert content is not None and len(content) == leaf.size, leaf
                checked += 1
    # Measured when this test was written: 205 parts in the 50 messages.
    assert checked >= 205
