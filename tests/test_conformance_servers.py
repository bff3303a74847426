"""The conformance suite (unimail.testing) against the real Dovecot: IMAP and POP3.

Both have generated sync twins, so the sync runs open them with ``Mailbox.open``. POP3 runs
within its capabilities: what it lacks (folders, flags, append, copy, move) is checked to raise
``UnsupportedOperation``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from mailservers import MailServers
from unimail import AsyncMailbox, Mailbox
from unimail.testing import Backend, MailboxConformance


def _backend(servers: MailServers, url: str, **watch_options: float) -> Backend:
    password = servers.users["alice"]
    context = servers.ssl_context()

    def seed(messages: Sequence[bytes]) -> None:
        servers.seed("alice", messages)

    return Backend(
        open=lambda: AsyncMailbox.open(url, password=password, ssl_context=context),
        open_sync=lambda: Mailbox.open(url, password=password, ssl_context=context),
        seed=seed,
        watch_options=watch_options,
    )


@pytest.mark.servers
class TestImapConformance(MailboxConformance):
    @pytest.fixture
    def backend(self, alice: MailServers) -> Backend:
        return _backend(alice, f"imaps://alice@{alice.host}:{alice.imaps_port}")


@pytest.mark.servers
class TestPop3Conformance(MailboxConformance):
    @pytest.fixture
    def backend(self, alice: MailServers) -> Backend:
        # POP3 sees new mail only in a new session: watch() logs in again at each poll.
        url = f"pop3s://alice@{alice.host}:{alice.pop3s_port}"
        return _backend(alice, url, interval=0.2)
