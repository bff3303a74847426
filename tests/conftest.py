"""Shared pytest fixtures: the anyio backends and the real mail servers (tools/mailservers.py).

Fixtures:

- ``anyio_backend``: every ``@pytest.mark.anyio`` test runs on asyncio and on trio.
- ``mail_servers`` (session): Dovecot + Postfix on 127.0.0.1, started once per run. When they
  cannot be started the tests that need them are skipped with the reason, or fail when the
  environment variable ``CI`` is ``"true"``. If ``UNIMAIL_TEST_DIR`` is set (as by
  ``python3 tools/mailservers.py run -- pytest``), the servers already running there are used.
- ``clean_mailbox`` / ``alice``: the same servers, with every test user's mailbox emptied first.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

# tools/ is not a package; mypy finds mailservers the same way when tools/ is checked with it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

import mailservers
from mailservers import MailServers, ServersUnavailable

#: Why the servers could not be started, so that later tests do not retry (and wait) again.
_start_failure: str | None = None


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run each ``@pytest.mark.anyio`` test on both event loops."""
    backend: str = request.param
    return backend


def _unavailable(reason: str) -> NoReturn:
    message = f"test mail servers unavailable: {reason}"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def mail_servers() -> Iterator[MailServers]:
    """Dovecot and Postfix on 127.0.0.1 for the whole test run (see tools/mailservers.py)."""
    global _start_failure
    if _start_failure is not None:
        _unavailable(_start_failure)

    external = os.environ.get("UNIMAIL_TEST_DIR")
    if external:
        # Servers started by "mailservers.py run" belong to it: use them, never stop them.
        try:
            servers = MailServers.load(Path(external))
        except ServersUnavailable as error:
            _start_failure = str(error)
            _unavailable(_start_failure)
        yield servers
        return

    # Not tmp_path_factory: pytest's base temp directory is mode 0700, which the mail and
    # postfix users could not enter, and its paths are long for Unix sockets.
    workdir = mailservers.make_workdir()
    try:
        servers = mailservers.start(workdir)
    except ServersUnavailable as error:
        _start_failure = str(error)
        if (workdir / "dovecot").exists():
            # A server was set up and failed: its logs explain more than the quoted tail.
            _start_failure += f"\n(work directory kept: {workdir})"
        else:
            shutil.rmtree(workdir, ignore_errors=True)
        _unavailable(_start_failure)
    try:
        yield servers
    finally:
        servers.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def clean_mailbox(mail_servers: MailServers) -> MailServers:
    """The mail servers, with every test user's mailbox (all folders) emptied first."""
    for user in mail_servers.users:
        mail_servers.clear(user)
    return mail_servers


@pytest.fixture
def alice(clean_mailbox: MailServers) -> MailServers:
    """The mail servers with empty mailboxes; log in as "alice" (``alice.users["alice"]``)."""
    return clean_mailbox
