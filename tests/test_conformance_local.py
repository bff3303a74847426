"""The conformance suite (unimail.testing) against the local backends: maildir:, mbox:,
memory:. Each has a generated sync twin, which the sync runs open with ``Mailbox.open``."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from unimail import AsyncMailbox, Mailbox
from unimail.testing import AsyncMemoryMailbox, Backend, MailboxConformance

_names = itertools.count(1)
# Local backends poll: a short interval keeps the watch checks quick.
_WATCH = {"poll_interval": 0.05}


def _backend(url: str) -> Backend:
    return Backend(
        open=lambda: AsyncMailbox.open(url),
        open_sync=lambda: Mailbox.open(url),
        watch_options=_WATCH,
    )


class TestMaildirConformance(MailboxConformance):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> Backend:
        return _backend(f"maildir:{tmp_path / 'Maildir'}")


class TestMboxConformance(MailboxConformance):
    """One mbox file: INBOX only (no FOLDERS)."""

    @pytest.fixture
    def backend(self, tmp_path: Path) -> Backend:
        return _backend(f"mbox:{tmp_path / 'mail'}")


class TestMboxDirectoryConformance(MailboxConformance):
    """A directory of mbox files: one folder each."""

    @pytest.fixture
    def backend(self, tmp_path: Path) -> Backend:
        return _backend(f"mbox:{tmp_path}")


class TestMemoryConformance(MailboxConformance):
    @pytest.fixture
    def backend(self) -> Iterator[Backend]:
        name = f"conformance-{next(_names)}"
        yield _backend(f"memory:{name}")
        AsyncMemoryMailbox.discard(name)
