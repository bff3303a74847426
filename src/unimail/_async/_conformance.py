"""The conformance suite's foundation: the backend under test, sample messages, assertions.

The checks (``_conformance_read``, ``_conformance_write``, ``_conformance_watch``) are plain
async functions of an :class:`AsyncConformanceTarget`; their sync twins (``unimail._sync``)
drive the sync API. ``unimail.testing`` turns both into pytest tests. Nothing here imports
pytest, and nothing here is imported by ``unimail`` itself.

Assertions raise ``AssertionError`` with a message that names the contract (never a bare
``assert``: ``python -O`` would drop it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence  # unasync: remove

# unasync: from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

import attrs

from .._errors import UnsupportedOperation
from .._models import Capability, Flag, MessageInfo
from ._folder import Uid
from ._mailbox import AsyncMailbox

__all__ = [
    "AsyncConformanceTarget",
    "expect",
    "expect_raises",
    "fail",
    "message",
    "missing_uid",
    "seed",
    "system_flags",
]


@attrs.frozen(kw_only=True)
class AsyncConformanceTarget:
    """A backend under test.

    Attributes:
        open: returns a connected mailbox (each call a new session) on the same store. The
            store starts empty: INBOX exists and holds no message, no other folder exists.
        seed: puts raw messages into INBOX from outside the mailbox API (as mail delivery
            would); None: the suite appends them through a second session, which needs
            ``Capability.APPEND``.
        watch_options: keyword arguments for ``watch()`` (a short polling interval).
    """

    open: Callable[[], Awaitable[AsyncMailbox]]  # unasync: open: Callable[[], Mailbox]
    seed: Callable[[Sequence[bytes]], None] | None = None
    watch_options: Mapping[str, Any] = attrs.field(factory=dict)


def fail(text: str) -> NoReturn:
    """Fail the check: the backend broke the contract ``text`` describes."""
    raise AssertionError(text)


def expect(condition: bool, text: str) -> None:
    """Fail with ``text`` unless ``condition`` holds."""
    if not condition:
        fail(text)


@contextmanager
def expect_raises(
    error: type[BaseException] | tuple[type[BaseException], ...], what: str
) -> Iterator[None]:
    """Fail unless the block raises ``error`` (an ``UnsupportedOperation`` must also name the
    missing capability)."""
    try:
        yield
    except error as exc:
        if isinstance(exc, UnsupportedOperation):
            expect(bool(exc.capability), f"{what}: UnsupportedOperation names no capability")
        return
    names = [e.__name__ for e in (error if isinstance(error, tuple) else (error,))]
    fail(f"{what}: expected {' or '.join(names)}, nothing was raised")


def system_flags(info: MessageInfo) -> frozenset[Flag | str]:
    """The flags of ``info`` without ``\\Recent`` (a session property, not the message's)."""
    expect(info.flags is not None, f"uid {info.uid!r}: FLAGS asked, flags is None")
    return frozenset(f for f in info.flags or () if f != Flag.RECENT)


def supports(box: AsyncMailbox, capability: Capability) -> bool:
    """Whether ``box`` declares ``capability``."""
    return capability in box.capabilities


def message(
    index: int,
    *,
    subject: str | None = None,
    sender: str = "Bob Example <bob@example.test>",
    body: str = "Hello from the conformance suite.\r\n",
    headers: str = "",
) -> bytes:
    """A small CRLF RFC 5322 message whose Message-ID is ``<conformance-<index>@example.test>``."""
    return (
        f"From: {sender}\r\nTo: Alice <alice@example.test>\r\n"
        f"Subject: {subject if subject is not None else f'conformance {index}'}\r\n"
        f"Message-ID: <conformance-{index}@example.test>\r\n"
        f"Date: Fri, 27 Nov 2026 10:{index % 60:02d}:00 +0000\r\n{headers}"
        f"\r\n{body}"
    ).encode()


def tricky_message() -> bytes:
    """A message that a lossy store would change: 8-bit bytes (UTF-8 and Latin-1), lines
    that POP3 dot-stuffs and mbox quotes, trailing blanks, a tab, an encoded subject."""
    return (
        b"From: =?utf-8?q?J=C3=BCrgen?= <juergen@example.test>\r\n"
        b"To: alice@example.test\r\n"
        b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=\r\n"
        b"Message-ID: <conformance-tricky@example.test>\r\n"
        b"Date: Fri, 27 Nov 2026 11:00:00 +0100\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n"
        b"\r\n"
        b"Gr\xc3\xbc\xc3\x9fe, caf\xe9 (Latin-1 byte).\r\n"
        b".a line starting with a dot\r\n"
        b"..two dots\r\n"
        b"From the start of a line\r\n"
        b">From a quoted line\r\n"
        b"trailing blanks   \r\n"
        b"\ttab first\r\n"
        b"\r\n"
        b"\r\n"
        b"the end\r\n"
    )


def large_message(size: int = 300_000) -> bytes:
    """A message of about ``size`` bytes (76-character lines), for streaming downloads."""
    line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcd\r\n"
    return message(900, subject="conformance large", body="") + line * (size // len(line))


def missing_uid(uids: Sequence[Uid]) -> Uid:
    """A uid of the same type as ``uids`` that names no message."""
    if uids and isinstance(uids[0], str):
        candidate = "0" + str(uids[0])
        while candidate in uids:
            candidate = "0" + candidate
        return candidate
    return max((u for u in uids if isinstance(u, int)), default=0) + 1000


def wrong_type_uid(uids: Sequence[Uid]) -> object:
    """A uid of the other type (a str for int uids, an int for str uids)."""
    return 1 if uids and isinstance(uids[0], str) else "not-a-uid"


async def seed(target: AsyncConformanceTarget, messages: Sequence[bytes]) -> None:
    """Put ``messages`` into INBOX: with ``target.seed``, else by APPEND in a second session."""
    if target.seed is not None:
        target.seed(messages)
        return
    async with await target.open() as box:
        if not supports(box, Capability.APPEND):
            fail("the backend has no APPEND: give the suite a seed function")
        inbox = box.folder("INBOX")
        for raw in messages:
            await inbox.append(raw)
