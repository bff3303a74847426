"""Shared pieces of the test mail servers: constants, the error, the work directory's layout.

Everything here is plain data; the other modules of the package build on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
DOMAIN = "example.test"
INSTALL_HINT = "run: sudo bash tools/install.sh"

#: Login name -> password. alice and bob are the everyday users; carol's password is non-ASCII
#: (UTF-8, for SASL tests) and dave's has characters that need quoting in IMAP. Passwords may
#: not contain ":" (the passwd-file separator).
DEFAULT_USERS: Mapping[str, str] = {
    "alice": "alice-Secret-1",
    "bob": "bob-Secret-2",
    "carol": "c\u00e4rol-p\u00e4ssw\u00f6rd",
    "dave": 'd "quoted" \\back slash',
}

#: Bounded wait for every port to answer after the daemons were launched.
START_TIMEOUT = 30.0
#: How long stop() waits for a master process to exit before it kills it.
STOP_TIMEOUT = 10.0
#: Dovecot's and Postfix's Unix sockets must fit in sun_path (108 bytes on Linux).
_MAX_SOCKET_PATH = 100

#: Environment variables set for the command run by ``mailservers.py run``.
ENV_NAMES = (
    "UNIMAIL_TEST_HOST",
    "UNIMAIL_TEST_IMAP_PORT",
    "UNIMAIL_TEST_IMAPS_PORT",
    "UNIMAIL_TEST_POP3_PORT",
    "UNIMAIL_TEST_POP3S_PORT",
    "UNIMAIL_TEST_SMTP_PORT",
    "UNIMAIL_TEST_SMTPS_PORT",
    "UNIMAIL_TEST_LMTP_PORT",
    "UNIMAIL_TEST_CA",
    "UNIMAIL_TEST_USER",
    "UNIMAIL_TEST_PASSWORD",
    "UNIMAIL_TEST_DIR",
)


class ServersUnavailable(Exception):
    """The mail servers cannot be started; the message says why and what to do."""


@dataclass(frozen=True)
class _Layout:
    """Where everything lives inside the work directory."""

    root: Path

    @property
    def tls(self) -> Path:
        return self.root / "tls"

    @property
    def ca_pem(self) -> Path:
        return self.tls / "ca.pem"

    @property
    def cert_pem(self) -> Path:
        return self.tls / "server-chain.pem"

    @property
    def key_pem(self) -> Path:
        return self.tls / "server-key.pem"

    @property
    def dovecot(self) -> Path:
        return self.root / "dovecot"

    @property
    def dovecot_conf(self) -> Path:
        return self.dovecot / "dovecot.conf"

    @property
    def dovecot_log(self) -> Path:
        return self.dovecot / "dovecot.log"

    @property
    def dovecot_run(self) -> Path:
        # base_dir holds Dovecot's Unix sockets; kept short for sun_path.
        return self.root / "run"

    @property
    def postfix(self) -> Path:
        return self.root / "postfix"

    @property
    def postfix_conf(self) -> Path:
        return self.postfix / "etc"

    @property
    def postfix_queue(self) -> Path:
        return self.postfix / "queue"

    @property
    def postfix_data(self) -> Path:
        return self.postfix / "data"

    @property
    def postfix_log(self) -> Path:
        return self.postfix / "postfix.log"

    @property
    def mail(self) -> Path:
        return self.root / "mail"

    @property
    def state(self) -> Path:
        return self.root / "servers.json"

    def home(self, user: str) -> Path:
        return self.mail / user


def _layout(workdir: Path) -> _Layout:
    return _Layout(Path(workdir))


@dataclass(frozen=True)
class _Binaries:
    dovecot: str
    postfix: str
    postconf: str
