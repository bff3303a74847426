"""The portal adapter (unimail._portal): an async-only backend through the sync API."""

from __future__ import annotations

import itertools
from collections.abc import AsyncGenerator
from typing import Any, ClassVar

import pytest

from unimail import (
    AsyncFolder,
    AsyncMailbox,
    ConnectionLost,
    FetchField,
    FolderNotFound,
    Mailbox,
    MessageInfo,
    Q,
    Security,
    Transport,
    UnsupportedOperation,
    register_backend,
)
from unimail._async._local_transport import AsyncMemoryTransport
from unimail._portal import FIRST_BATCH, MAX_BATCH, PortalMailbox
from unimail._portal_transport import PortalTransport
from unimail.testing import AsyncMemoryMailbox, MemoryMailbox

_names = itertools.count(1)


class _Numbers(AsyncFolder):
    """A folder of N messages whose search() records how it was driven."""

    size = 0
    closed = False
    fail_after: int | None = None

    async def search(
        self, query: Q | None = None, *, fields: FetchField = FetchField.UID
    ) -> AsyncGenerator[MessageInfo, None]:
        try:
            for uid in range(1, self.size + 1):
                if uid == self.fail_after:
                    raise ConnectionLost("dropped")
                yield MessageInfo(uid=uid)
        finally:
            type(self).closed = True


class _NumbersMailbox(AsyncMailbox):
    schemes: ClassVar[dict[str, Security]] = {"numbers-test": Security.PLAINTEXT}

    async def _connect(self) -> None:
        pass

    def folder(self, name: str) -> AsyncFolder:
        return _Numbers(self, name) if name == "INBOX" else AsyncFolder(self, name)


@pytest.fixture
def numbers() -> type[_Numbers]:
    _Numbers.size, _Numbers.closed, _Numbers.fail_after = 10_000, False, None
    return _Numbers


def _counting(box: Mailbox) -> list[int]:
    calls: list[int] = []
    assert isinstance(box, PortalMailbox)
    original = box.call

    def call(func: Any, *args: Any) -> Any:
        calls.append(1)
        return original(func, *args)

    box.call = call  # type: ignore[method-assign]
    return calls


def test_registered_async_class_serves_the_sync_api(numbers: type[_Numbers]) -> None:
    register_backend("numbers-test", _NumbersMailbox)
    with Mailbox.open("numbers-test:x") as box:
        assert isinstance(box, PortalMailbox) and type(box).async_class is _NumbersMailbox
        assert type(box).__name__ == "Portal_NumbersMailbox"


def test_ten_thousand_results_take_few_round_trips(numbers: type[_Numbers]) -> None:
    with PortalMailbox.wrap(lambda: _NumbersMailbox.open("numbers-test:x")) as box:
        calls = _counting(box)
        uids = [info.uid for info in box.folder("INBOX").search()]
    assert uids == list(range(1, 10_001))
    # 16, 32, ... 1024, then 1024 at a time: 7 + 9 batches (+ the folder and the search).
    assert FIRST_BATCH == 16 and MAX_BATCH == 1024
    assert len(calls) <= 20


def test_unsupported_search_raises_when_called(numbers: type[_Numbers]) -> None:
    with PortalMailbox.wrap(lambda: _NumbersMailbox.open("numbers-test:x")) as box:
        with pytest.raises(UnsupportedOperation):
            box.folder("Other").search()


def test_leaving_the_loop_closes_the_async_generator(numbers: type[_Numbers]) -> None:
    with PortalMailbox.wrap(lambda: _NumbersMailbox.open("numbers-test:x")) as box:
        for info in box.folder("INBOX").search():
            if info.uid == 3:
                break
        # Closed in the loop thread before the caller goes on, as aclosing() would.
        assert numbers.closed


def test_an_error_comes_after_the_results_before_it(numbers: type[_Numbers]) -> None:
    numbers.fail_after = 40
    seen: list[int | str] = []
    with PortalMailbox.wrap(lambda: _NumbersMailbox.open("numbers-test:x")) as box:
        with pytest.raises(ConnectionLost, match="dropped"):
            seen.extend(info.uid for info in box.folder("INBOX").search())
        assert seen == list(range(1, 40))


def test_unsupported_and_closed() -> None:
    name = f"portal-{next(_names)}"
    box = PortalMailbox.wrap(lambda: AsyncMemoryMailbox.open(f"memory:{name}"))
    try:
        inbox = box.folder("INBOX")
        assert inbox.append(b"Subject: x\r\n\r\nx\r\n") is not None
        assert inbox.status().messages == 1
        with pytest.raises(FolderNotFound):  # raised in the loop thread, raised here
            box.folder("No such folder").status()
    finally:
        box.close()
        box.close()
        AsyncMemoryMailbox.discard(name)
    with pytest.raises(ConnectionLost):
        inbox.status()
    with pytest.raises(ConnectionLost):
        box.folder("INBOX")


class _Sender(AsyncMemoryTransport):
    """The memory transport under a scheme of its own, served only by this async class."""

    schemes: ClassVar[dict[str, Security]] = {"portal-send-test": Security.PLAINTEXT}


def test_async_only_transport_serves_the_sync_api() -> None:
    name = f"portal-send-{next(_names)}"
    register_backend("portal-send-test", _Sender)
    try:
        with Transport.open(f"portal-send-test:{name}") as transport:
            assert isinstance(transport, PortalTransport)
            result = transport.send(
                b"From: a@example.test\r\nSubject: via portal\r\n\r\nHi\r\n",
                sender="a@example.test",
                recipients=["b@example.test"],
            )
            assert result.accepted == ("b@example.test",)
        with pytest.raises(ConnectionLost):
            transport.send(b"x", sender="a@example.test", recipients=["b@example.test"])
        with MemoryMailbox.open(f"memory:{name}") as box:
            [info] = list(box.folder("INBOX").search())
            assert info.envelope is not None and info.envelope.subject == "via portal"
    finally:
        AsyncMemoryMailbox.discard(name)
