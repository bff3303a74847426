"""The sizes of each mode, and the test mail servers the network jobs talk to.

The servers are the project's private Dovecot and Postfix (``tools/mailservers.py``), on
127.0.0.1, with TLS from a test CA. Every client in every job uses TLS (implicit TLS: IMAPS,
POP3S and SMTPS), so no client is measured without the encryption cost the others pay.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import ssl
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

import mailservers
from mailservers import MailServers

__all__ = ["FULL", "QUICK", "SMOKE", "Mode", "Target", "servers_for_benchmarks"]


@dataclass(frozen=True)
class Mode:
    """How much each job does; see the module docstring of each job."""

    name: str
    parse_messages: int
    imap_messages: int
    pop3_messages: int
    smtp_small: int  # 2 KB messages per SMTP run
    smtp_large: int  # 1 MB messages per SMTP run
    roundtrip_messages: int  # messages per run through the delay proxy
    memory_bytes: int  # size of the one message downloaded and sent in the memory job
    repeats: int
    imap_large_messages: int  # messages of 33 KB in the IMAP job of large bodies


QUICK = Mode("quick", 2_500, 5_000, 5_000, 200, 10, 10, 50 * 1024 * 1024, 3, 2_000)
FULL = Mode("full", 20_000, 20_000, 20_000, 2_000, 200, 50, 50 * 1024 * 1024, 5, 20_000)
#: The quick mode's smallest size: what the CI smoke test runs once.
SMOKE = Mode("smoke", 200, 30, 30, 10, 2, 3, 1024 * 1024, 1, 10)


@dataclass(frozen=True)
class Target:
    """Where and as whom the clients connect."""

    servers: MailServers
    user: str = "alice"

    @property
    def host(self) -> str:
        """The servers' address (127.0.0.1)."""
        return self.servers.host

    @property
    def password(self) -> str:
        """The user's password."""
        return self.servers.users[self.user]

    @property
    def address(self) -> str:
        """The user's mail address (sender and recipient of the SMTP jobs)."""
        return self.servers.address(self.user)

    def context(self) -> ssl.SSLContext:
        """A client TLS context trusting the test CA (hostname checked)."""
        return self.servers.ssl_context()

    def seed(self, messages: list[bytes]) -> None:
        """Replace the user's mailbox with ``messages`` (uids 1..n, unseen)."""
        self.servers.clear(self.user)
        self.servers.seed(self.user, messages)

    def clear(self) -> None:
        """Empty the user's mailbox."""
        self.servers.clear(self.user)

    def delivered(self) -> int:
        """How many messages Postfix has delivered into the INBOX so far."""
        root = self.servers.maildir(self.user)
        return sum(len(os.listdir(root / sub)) for sub in ("new", "cur") if (root / sub).exists())

    def wait_delivered(self, count: int, timeout: float = 120.0) -> None:
        """Wait until ``count`` messages arrived, so the next run starts on an idle server."""
        deadline = time.monotonic() + timeout
        while self.delivered() < count and time.monotonic() < deadline:
            time.sleep(0.05)


@contextlib.contextmanager
def servers_for_benchmarks() -> Iterator[Target]:
    """Servers already running (``UNIMAIL_TEST_DIR``), or private ones started and stopped."""
    external = os.environ.get("UNIMAIL_TEST_DIR")
    if external:
        yield Target(MailServers.load(Path(external)))
        return
    workdir = mailservers.make_workdir("unimail-bench-")
    servers = mailservers.start(workdir)
    try:
        yield Target(servers)
    finally:
        servers.stop()
        shutil.rmtree(workdir, ignore_errors=True)
