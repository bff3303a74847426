"""The local stores' pure parts (flags, managed mbox headers, body structure), their safety
under concurrent writers in threads, and the sync twins of the local classes."""

from __future__ import annotations

import email.message
import email.policy
import inspect
import threading
from pathlib import Path

import pytest

import unimail
from unimail import Flag, InvalidArgument
from unimail._local._flags import check_flags, from_letters, to_letters
from unimail._local._mbox import split_managed
from unimail._local._message import body_structure


def test_flags_are_checked_as_imap_checks_them() -> None:
    assert check_flags(["\\SEEN", Flag.DRAFT, "$Label"]) == {Flag.SEEN, Flag.DRAFT, "$Label"}
    for bad in ("\\Seen", [Flag.RECENT], ["\\Recent"], ["\\Nope"], ["a b"], ["ü"], [""], [1]):
        with pytest.raises(InvalidArgument):
            check_flags(bad)  # type: ignore[arg-type]


def test_maildir_letters_round_trip_and_keep_unknown_letters() -> None:
    keywords = {"a": "$Work", "c": "Later"}
    flags, kept = from_letters("DFPRSTacz", keywords)
    assert flags == {Flag.DRAFT, Flag.FLAGGED, Flag.ANSWERED, Flag.SEEN, Flag.DELETED, "$Work",
                     "Later"}  # fmt: skip
    assert kept == "Pz"
    letters = {v: k for k, v in keywords.items()}
    assert to_letters(flags, kept, letters) == "DFPRSTacz"
    assert to_letters(frozenset({Flag.SEEN}), "", {}) == "S"


def test_split_managed_removes_fields_with_their_continuations() -> None:
    header = (
        b"X-UID: 7\r\nSubject: hi\r\nX-Keywords: a,\r\n b\r\nStatus: RO\r\n"
        b"X-Status: AF\r\nTo: x@y.test\r\n\r\n"
    )
    kept, values = split_managed(header)
    assert kept == b"Subject: hi\r\nTo: x@y.test\r\n\r\n"
    assert values[b"x-uid"] == b"7" and values[b"status"] == b"RO"
    assert values[b"x-status"] == b"AF"


def test_body_structure_numbers_parts_as_imap_does() -> None:
    inner = email.message.EmailMessage()
    inner["Subject"] = "inner"
    inner["From"] = "carol@example.test"
    inner.set_content("plain\n")
    inner.add_alternative("<p>html</p>\n", subtype="html")
    outer = email.message.EmailMessage()
    outer["Subject"] = "outer"
    outer.set_content("see attached\n")
    outer.add_attachment(inner)
    parsed = email.message_from_bytes(outer.as_bytes(), policy=email.policy.default)
    top = body_structure(parsed)
    assert top.content_type == "multipart/mixed" and top.section == ""
    sections = [(p.section, p.content_type) for p in top.walk()]
    assert sections == [
        ("", "multipart/mixed"), ("1", "text/plain"), ("2", "message/rfc822"),
        ("2", "multipart/alternative"), ("2.1", "text/plain"), ("2.2", "text/html"),
    ]  # fmt: skip
    embedded = top.children[1]
    assert embedded.envelope is not None and embedded.envelope.subject == "inner"
    assert top.children[0].charset == "utf-8" and top.children[0].lines == 1
    single = body_structure(email.message_from_bytes(b"Subject: x\n\nbody\n"))
    assert single.section == "1" and single.size == 5


@pytest.mark.parametrize("kind", ["maildir", "mbox"])
def test_concurrent_writers_in_threads_lose_nothing(tmp_path: Path, kind: str) -> None:
    url = f"{kind}:{tmp_path / 'store'}"
    errors: list[BaseException] = []
    uids: list[int | str | None] = []

    def writer(number: int) -> None:
        try:
            with unimail.Mailbox.open(url) as box:
                inbox = box.folder("INBOX")
                for n in range(8):
                    raw = f"Subject: w{number}-{n}\n\nbody\n".encode()
                    uids.append(inbox.append(raw, flags={Flag.SEEN} if n % 2 else ()))
                    inbox.add_flags([1], {Flag.FLAGGED})
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(u for u in uids if isinstance(u, int)) == list(range(1, 33))
    with unimail.Mailbox.open(url) as box:
        infos = list(box.folder("INBOX").search())
    subjects = sorted(i.envelope.subject or "" for i in infos if i.envelope)
    assert subjects == sorted(f"w{t}-{n}" for t in range(4) for n in range(8))
    assert [i.uid for i in infos] == list(range(1, 33))


PAIRS = [
    (unimail.AsyncLocalMailbox, unimail.LocalMailbox),
    (unimail.AsyncLocalFolder, unimail.LocalFolder),
    (unimail.AsyncMaildirMailbox, unimail.MaildirMailbox),
    (unimail.AsyncMboxMailbox, unimail.MboxMailbox),
    (unimail.AsyncMemoryMailbox, unimail.MemoryMailbox),
    (unimail.AsyncMaildirTransport, unimail.MaildirTransport),
    (unimail.AsyncMemoryTransport, unimail.MemoryTransport),
]


@pytest.mark.parametrize(("async_cls", "sync_cls"), PAIRS)
def test_sync_twins_have_the_same_methods_and_docs(async_cls: type, sync_cls: type) -> None:
    def members(cls: type) -> dict[str, str | None]:
        return {
            ("close" if name == "aclose" else name): inspect.getdoc(getattr(cls, name))
            for name in dir(cls)
            if not name.startswith("_")
        }

    async_members, sync_members = members(async_cls), members(sync_cls)
    assert set(async_members) == set(sync_members)
    for name, doc in sync_members.items():
        assert doc, f"{sync_cls.__name__}.{name} has no docstring"
