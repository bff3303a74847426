"""Start real mail servers (Dovecot and Postfix) on 127.0.0.1 for unimail's tests and demos.

The servers run from a private directory, without systemd and without touching the system's own
configuration: Dovecot from one generated ``dovecot.conf``, Postfix from a generated config
directory with its own queue. Ports are picked dynamically, so several runs can coexist.

What runs, once :func:`start` returns:

- Dovecot: IMAP (STARTTLS), IMAPS, POP3 (STLS), POP3S and LMTP; users log in with their bare
  name ("alice") and any of PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1 and SCRAM-SHA-256.
- Postfix: a submission port (STARTTLS, AUTH only after TLS) and an implicit-TLS port (like
  465). Mail for ``@example.test`` is delivered to Dovecot over LMTP; mail that authenticated
  users relay elsewhere is accepted and then discarded, so nothing ever leaves the machine.
- A test CA (trustme) that signed the servers' certificate for 127.0.0.1 and localhost.

Needs root (Dovecot switches to the ``mail`` user, Postfix to ``postfix``) and the Debian
packages that ``tools/install.sh`` installs.

Command line::

    python3 tools/mailservers.py run [--dir DIR] -- CMD ARGS...   # servers up while CMD runs
    python3 tools/mailservers.py serve [--dir DIR]                # until Ctrl-C, prints the env
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
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


# --------------------------------------------------------------------------------------------
# The running servers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MailServers:
    """Handle on a running Dovecot + Postfix pair; every address is ``HOST`` (127.0.0.1)."""

    host: str
    imap_port: int
    imaps_port: int
    pop3_port: int
    pop3s_port: int
    lmtp_port: int
    #: Postfix submission: STARTTLS offered, AUTH only after TLS.
    smtp_port: int
    #: Postfix with implicit TLS (like port 465), AUTH allowed.
    smtps_port: int
    #: PEM certificate of the test CA that signed the servers' certificate.
    ca_pem: Path
    #: Login name -> password; the address of user "alice" is alice@example.test.
    users: dict[str, str] = field(repr=False)
    workdir: Path

    # -- client helpers ----------------------------------------------------------------------

    def ssl_context(self) -> ssl.SSLContext:
        """Return a client context that trusts only the test CA, with hostname checking on."""
        return ssl.create_default_context(cafile=str(self.ca_pem))

    def address(self, user: str) -> str:
        """Return the mail address of ``user`` (``alice`` -> ``alice@example.test``)."""
        self._check_user(user)
        return f"{user}@{DOMAIN}"

    def environment(self, user: str = "alice") -> dict[str, str]:
        """Return the ``UNIMAIL_TEST_*`` variables describing these servers, logged in as user."""
        self._check_user(user)
        return {
            "UNIMAIL_TEST_HOST": self.host,
            "UNIMAIL_TEST_IMAP_PORT": str(self.imap_port),
            "UNIMAIL_TEST_IMAPS_PORT": str(self.imaps_port),
            "UNIMAIL_TEST_POP3_PORT": str(self.pop3_port),
            "UNIMAIL_TEST_POP3S_PORT": str(self.pop3s_port),
            "UNIMAIL_TEST_SMTP_PORT": str(self.smtp_port),
            "UNIMAIL_TEST_SMTPS_PORT": str(self.smtps_port),
            "UNIMAIL_TEST_LMTP_PORT": str(self.lmtp_port),
            "UNIMAIL_TEST_CA": str(self.ca_pem),
            "UNIMAIL_TEST_USER": user,
            "UNIMAIL_TEST_PASSWORD": self.users[user],
            "UNIMAIL_TEST_DIR": str(self.workdir),
        }

    # -- mailbox content ---------------------------------------------------------------------

    def maildir(self, user: str, folder: str = "INBOX") -> Path:
        """Return the Maildir directory of ``folder`` (IMAP name, "/" separated) for ``user``.

        INBOX is ``~/Maildir``; any other folder is a Maildir++ subfolder such as
        ``~/Maildir/.Archive`` or ``~/Maildir/.Lists.python`` for "Lists/python".
        """
        self._check_user(user)
        root = _layout(self.workdir).home(user) / "Maildir"
        if folder.upper() == "INBOX":
            return root
        if not folder or folder.startswith("/") or folder.endswith("/") or "." in folder:
            # Maildir++ uses "." as its own hierarchy separator on disk.
            raise ValueError(f"unsupported folder name for seeding: {folder!r}")
        return root / ("." + folder.replace("/", "."))

    def seed(
        self,
        user: str,
        messages: Iterable[bytes],
        folder: str = "INBOX",
        *,
        flags: str | None = None,
    ) -> None:
        """Put ``messages`` into a folder of ``user`` by writing Maildir files directly.

        Much faster than any protocol (20,000 messages take about a second). Each file is
        written to ``tmp/`` and renamed into ``new/``, owned by the mail user, mode 0600, bytes
        verbatim, so Dovecot sees new, unseen (\\Recent) messages in the given order. With
        ``flags`` (Maildir letters from ``DFPRST``, e.g. ``"S"`` for \\Seen, ``"FS"``) the files
        go to ``cur/`` with those flags instead. A folder other than INBOX is created if needed.
        """
        if flags is not None and not set(flags) <= set("DFPRST"):
            raise ValueError(f"Maildir flags are letters from DFPRST, not {flags!r}")
        target = self.maildir(user, folder)
        uid, gid = _mail_ids()
        _make_maildir(target, uid, gid, subfolder=folder.upper() != "INBOX")
        if folder.upper() != "INBOX":
            _subscribe(self.maildir(user), folder, uid, gid)
        tmp_dir = target / "tmp"
        dest_dir = target / ("new" if flags is None else "cur")
        suffix = "" if flags is None else ":2," + "".join(sorted(set(flags)))
        # The unique part follows the Maildir convention time.MusecPpidQn.host. Dovecot gives
        # new files their UIDs in name order, so fixed-width fields keep the seed order, also
        # across calls.
        stamp = time.time()
        base = f"{int(stamp)}.M{int(stamp % 1 * 1_000_000):06d}P{os.getpid()}"
        nonce = secrets.token_hex(3)
        create = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        for number, message in enumerate(messages):
            name = f"{base}Q{number:07d}_{nonce}.unimail,S={len(message)}"
            tmp_path = tmp_dir / name
            fd = os.open(tmp_path, create, 0o600)
            try:
                _write_all(fd, message)
                os.fchown(fd, uid, gid)
            finally:
                os.close(fd)
            os.rename(tmp_path, dest_dir / (name + suffix))

    def deliver_lmtp(self, user: str, message: bytes) -> None:
        """Deliver ``message`` to ``user``'s INBOX through Dovecot's LMTP service."""
        recipient = self.address(user)
        with smtplib.LMTP(self.host, self.lmtp_port, timeout=30) as lmtp:
            refused = lmtp.sendmail(f"postmaster@{DOMAIN}", [recipient], message)
        if refused:
            raise RuntimeError(f"LMTP refused {recipient}: {refused[recipient]!r}")

    def clear(self, user: str) -> None:
        """Empty every folder of ``user`` (and remove the folders), so a test starts clean.

        Safe while Dovecot runs: the Maildir (messages, folders, Dovecot's indexes and POP3
        UIDLs) is renamed away in one step and a fresh, empty one put in its place, so Dovecot
        sees either the old mailbox or the new one, never a half-deleted one. Log out sessions
        first: one still open on the old mailbox would then fail.
        """
        root = self.maildir(user)
        uid, gid = _mail_ids()
        if root.exists():
            trash = root.with_name(f".Maildir.deleted-{secrets.token_hex(4)}")
            root.rename(trash)
            shutil.rmtree(trash, ignore_errors=True)
        _make_maildir(root, uid, gid, subfolder=False)

    # -- life cycle --------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop Dovecot and Postfix; safe to call more than once and after a partial start."""
        _stop_servers(_layout(self.workdir))

    def _check_user(self, user: str) -> None:
        if user not in self.users:
            raise KeyError(f"unknown test user {user!r}; known: {', '.join(self.users)}")

    @classmethod
    def load(cls, workdir: Path) -> MailServers:
        """Return the handle of servers that :func:`start` started in ``workdir`` (still running).

        Lets a test run attach to servers that ``mailservers.py run`` started
        (``UNIMAIL_TEST_DIR``) instead of starting its own.
        """
        state = _layout(workdir).state
        try:
            data = json.loads(state.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ServersUnavailable(
                f"no running test servers described in {state}: {error}"
            ) from error
        data["ca_pem"] = Path(data["ca_pem"])
        data["workdir"] = Path(data["workdir"])
        servers = cls(**data)
        for server, port in (("Dovecot", servers.imap_port), ("Postfix", servers.smtp_port)):
            if not _port_open(servers.host, port):
                raise ServersUnavailable(
                    f"{server} described in {state} does not answer on {servers.host}:{port}"
                )
        return servers


# --------------------------------------------------------------------------------------------
# Starting
# --------------------------------------------------------------------------------------------


def start(workdir: Path, users: Mapping[str, str] | None = None) -> MailServers:
    """Start Dovecot and Postfix from ``workdir`` and wait until every port answers.

    ``workdir`` (see :func:`make_workdir`) is created if needed and must be reachable by the
    ``mail`` and ``postfix`` users (every parent directory searchable by others; pytest's
    ``tmp_path`` directories are not). Raises :class:`ServersUnavailable` with the reason and
    the tail of the failing server's log when something is missing or a server does not come
    up; whatever was started is stopped again before the exception propagates.
    """
    users = dict(DEFAULT_USERS if users is None else users)
    binaries = _check_prerequisites(users)
    workdir = Path(workdir).resolve()
    for attempt in range(3):
        try:
            return _start_once(workdir, users, binaries)
        except ServersUnavailable as error:
            # The free ports were released before the daemons bound them, so a concurrent run
            # can take one in between: try again with fresh ports.
            if "Address already in use" not in str(error) or attempt == 2:
                raise
    raise AssertionError("unreachable")


def _start_once(workdir: Path, users: dict[str, str], binaries: _Binaries) -> MailServers:
    layout = _layout(workdir)
    _prepare_workdir(layout)

    ports = _free_ports(7)
    servers = MailServers(
        host=HOST,
        imap_port=ports[0],
        imaps_port=ports[1],
        pop3_port=ports[2],
        pop3s_port=ports[3],
        lmtp_port=ports[4],
        smtp_port=ports[5],
        smtps_port=ports[6],
        ca_pem=layout.ca_pem,
        users=users,
        workdir=workdir,
    )
    _write_certificates(layout)
    uid, gid = _mail_ids()
    for user in users:
        home = layout.home(user)
        home.mkdir(mode=0o700, exist_ok=True)
        os.chown(home, uid, gid)
        _make_maildir(home / "Maildir", uid, gid, subfolder=False)

    try:
        _start_dovecot(servers, layout, binaries)
        _start_postfix(servers, layout, binaries)
        _wait_until_ready(servers, layout)
    except BaseException:
        servers.stop()
        raise
    state = asdict(servers)
    state["ca_pem"] = str(servers.ca_pem)
    state["workdir"] = str(servers.workdir)
    layout.state.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    return servers


def make_workdir(prefix: str = "unimail-servers-") -> Path:
    """Create and return a fresh work directory suitable for :func:`start`.

    Prefers ``/dev/shm`` (tmpfs): on this project's VMs creating a file on the ext4 root takes
    close to a millisecond, which makes seeding 20,000 messages take 8 s instead of 1 s. Falls
    back to the temporary directory. The directory is mode 0755 so that the daemons' users can
    enter it; remove it (``shutil.rmtree``) after :meth:`MailServers.stop`.
    """
    parent = Path(tempfile.gettempdir())
    shm = Path("/dev/shm")  # noqa: S108 - mkdtemp below makes a private, unpredictable name
    with contextlib.suppress(OSError):
        fs = os.statvfs(shm)
        if os.access(shm, os.W_OK | os.X_OK) and fs.f_bavail * fs.f_frsize > 1 << 30:
            parent = shm
    workdir = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    os.chmod(workdir, 0o755)  # noqa: S103 - the mail, postfix and dovecot users must enter it
    return workdir


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


def _which(name: str) -> str | None:
    # root's PATH normally has /usr/sbin, but sudo/env setups sometimes drop it.
    found = shutil.which(name)
    if found is None:
        found = shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    return found


def _check_prerequisites(users: Mapping[str, str]) -> _Binaries:
    found = {name: _which(name) for name in ("dovecot", "postfix", "postconf")}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        raise ServersUnavailable(
            f"mail server programs not installed ({', '.join(missing)} not found); {INSTALL_HINT}"
        )
    if not Path("/usr/lib/dovecot/lmtp").exists():
        raise ServersUnavailable(f"Dovecot's LMTP server is not installed; {INSTALL_HINT}")
    for account in ("mail", "dovecot", "dovenull", "postfix"):
        try:
            pwd.getpwnam(account)
        except KeyError:
            raise ServersUnavailable(
                f"system user {account!r} is missing; {INSTALL_HINT}"
            ) from None
    if os.geteuid() != 0:
        raise ServersUnavailable(
            "the test mail servers must be started as root (Dovecot switches to the mail user "
            "and Postfix to postfix); run the tests as root, e.g. in the CI container or with "
            "sudo"
        )
    for user, password in users.items():
        if not user or any(c in user for c in ":/.@ \t\n") or ":" in password or "\n" in password:
            raise ValueError(f"unusable test account {user!r}")
    return _Binaries(
        dovecot=str(found["dovecot"]),
        postfix=str(found["postfix"]),
        postconf=str(found["postconf"]),
    )


def _prepare_workdir(layout: _Layout) -> None:
    root = layout.root
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()):
        if layout.state.exists() or (layout.dovecot_run / "master.pid").exists():
            # Never reuse a directory whose servers may still run: stop them first.
            _stop_servers(layout)
        for child in (layout.tls, layout.dovecot, layout.dovecot_run, layout.postfix, layout.mail):
            shutil.rmtree(child, ignore_errors=True)
        layout.state.unlink(missing_ok=True)
    # The daemons (users mail, postfix, dovecot) must be able to enter the directory.
    os.chmod(root, 0o755)  # noqa: S103
    # The daemons drop to the mail/postfix/dovecot users, which must be able to walk the path.
    for parent in [root, *root.parents]:
        if not parent.stat().st_mode & 0o001:
            raise ServersUnavailable(
                f"{parent} is not searchable by other users, so Dovecot and Postfix cannot use "
                f"{root}; choose a work directory under a world-searchable path such as /tmp "
                f"(e.g. tempfile.mkdtemp() and chmod 0755)"
            )
    longest = layout.dovecot_run / "token-login" / "tokenlogin-imap-urlauth"
    if len(str(longest)) > _MAX_SOCKET_PATH:
        raise ServersUnavailable(
            f"work directory path {root} is too long for Unix socket names; use a shorter one"
        )
    for directory in (layout.tls, layout.dovecot, layout.postfix, layout.mail):
        directory.mkdir(mode=0o755, exist_ok=True)


def _free_ports(count: int) -> list[int]:
    """Ask the kernel for ``count`` distinct free ports on HOST (all bound at once, released)."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((HOST, 0))
            ports.append(int(sock.getsockname()[1]))
    return ports


def _write_certificates(layout: _Layout) -> None:
    import trustme  # imported here so that the module loads (and reports) without it

    ca = trustme.CA(organization_name="unimail test CA")
    # trustme adds subjectAltName and an authority key identifier, which Python 3.13's
    # VERIFY_X509_STRICT default requires.
    cert = ca.issue_cert(HOST, "localhost", common_name="localhost")
    ca.cert_pem.write_to_path(str(layout.ca_pem))
    with layout.cert_pem.open("wb") as out:
        for blob in cert.cert_chain_pems:
            out.write(blob.bytes())
    fd = os.open(layout.key_pem, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(cert.private_key_pem.bytes())
    os.chmod(layout.ca_pem, 0o644)
    os.chmod(layout.cert_pem, 0o644)


def _mail_ids() -> tuple[int, int]:
    entry = pwd.getpwnam("mail")
    return entry.pw_uid, entry.pw_gid


def _make_maildir(path: Path, uid: int, gid: int, *, subfolder: bool) -> None:
    for directory in (path, path / "cur", path / "new", path / "tmp"):
        if not directory.is_dir():
            directory.mkdir(mode=0o700, exist_ok=True)
            os.chown(directory, uid, gid)
    if subfolder and not (path / "maildirfolder").exists():
        # Maildir++ marks subfolders with this empty file (Dovecot creates it too).
        (path / "maildirfolder").touch(mode=0o600)
        os.chown(path / "maildirfolder", uid, gid)


def _subscribe(root: Path, folder: str, uid: int, gid: int) -> None:
    """Add ``folder`` to Dovecot's subscriptions file so that LSUB lists it too."""
    path = root / "subscriptions"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        lines = []
    header = "V\t2"
    if not lines or lines[0] != header:
        lines = [header, ""]
    # Version 2 format: a header line, an empty line, then one name per line with the
    # hierarchy separator written as a TAB.
    entry = folder.replace("/", "\t")
    if entry not in lines[2:]:
        lines.append(entry)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        os.chown(path, uid, gid)
        os.chmod(path, 0o600)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


# -- Dovecot ---------------------------------------------------------------------------------


def _dovecot_config(servers: MailServers, layout: _Layout) -> str:
    dh = Path("/usr/share/dovecot/dh.pem")
    return f"""\
# Generated by tools/mailservers.py: a private Dovecot for unimail's tests.
base_dir = {layout.dovecot_run}
state_dir = {layout.dovecot / "state"}
instance_name = unimail-{servers.imap_port}
log_path = {layout.dovecot_log}
protocols = imap pop3 lmtp
listen = {servers.host}

# Tests speak LOGIN and AUTH PLAIN on the plain ports before STARTTLS on purpose.
disable_plaintext_auth = no
auth_mechanisms = plain login cram-md5 scram-sha-1 scram-sha-256
# Logins with and without the domain both work; LMTP recipients are user@{DOMAIN}.
auth_username_format = %Ln
# Failed-login tests should not sleep for 2 s each (the default); Dovecot still answers
# failures only from a 0.5 s timer, so a failed login takes up to half a second.
auth_failure_delay = 0
auth_verbose = yes
passdb {{
  driver = passwd-file
  # {{PLAIN}} passwords, so that CRAM-MD5 and SCRAM can be verified.
  args = scheme=PLAIN username_format=%n {layout.dovecot / "passwd"}
}}
userdb {{
  driver = static
  args = uid=mail gid=mail home={layout.mail}/%n
}}
first_valid_uid = 8
mail_location = maildir:~/Maildir
mail_plugins =
mail_max_userip_connections = 500
# COMPRESS=DEFLATE (RFC 4978), offered after login.
protocol imap {{
  mail_plugins = $mail_plugins imap_zlib
}}
pop3_uidl_format = %08Xu%08Xv
postmaster_address = postmaster@{DOMAIN}
hostname = mail.{DOMAIN}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Drafts {{
    special_use = \\Drafts
  }}
  mailbox Sent {{
    special_use = \\Sent
  }}
  mailbox Trash {{
    special_use = \\Trash
  }}
  mailbox Junk {{
    special_use = \\Junk
  }}
}}

ssl = yes
ssl_cert = <{layout.cert_pem}
ssl_key = <{layout.key_pem}
ssl_min_protocol = TLSv1.2
{f"ssl_dh = <{dh}" if dh.exists() else ""}

service imap-login {{
  inet_listener imap {{
    address = {servers.host}
    port = {servers.imap_port}
  }}
  inet_listener imaps {{
    address = {servers.host}
    port = {servers.imaps_port}
    ssl = yes
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = {servers.host}
    port = {servers.pop3_port}
  }}
  inet_listener pop3s {{
    address = {servers.host}
    port = {servers.pop3s_port}
    ssl = yes
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = {servers.host}
    port = {servers.lmtp_port}
  }}
}}
service anvil {{
  # Disables the auth penalty (up to 15 s of delay for every login, good or bad, from an IP
  # after failed ones), which would make tests of wrong passwords slow everything after them.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service auth {{
  # Postfix's smtpd (user postfix) authenticates SMTP clients through this socket.
  unix_listener auth-postfix {{
    mode = 0666
  }}
}}
"""


def _start_dovecot(servers: MailServers, layout: _Layout, binaries: _Binaries) -> None:
    (layout.dovecot / "state").mkdir(mode=0o755, exist_ok=True)
    passwd = layout.dovecot / "passwd"
    passwd.write_text(
        "".join(f"{user}:{{PLAIN}}{password}\n" for user, password in servers.users.items()),
        encoding="utf-8",
    )
    # Read by the auth process, which runs as the dovecot user.
    os.chown(passwd, 0, pwd.getpwnam("dovecot").pw_gid)
    os.chmod(passwd, 0o640)
    layout.dovecot_conf.write_text(_dovecot_config(servers, layout), encoding="utf-8")
    # dovecot forks into the background; the launcher's own output (config errors) goes to a
    # file because the daemon keeps the inherited descriptors open.
    _launch("Dovecot", [binaries.dovecot, "-c", str(layout.dovecot_conf)], layout.dovecot_log)


def _dovecot_pid(layout: _Layout) -> int | None:
    return _read_pid(layout.dovecot_run / "master.pid")


# -- Postfix ---------------------------------------------------------------------------------

# Every service runs unchrooted ("n" in the chroot column): a chroot would need copies of
# /etc files inside the private queue directory.
_MASTER_CF = """\
# Generated by tools/mailservers.py: a private Postfix for unimail's tests.
# service type  private unpriv  chroot  wakeup  maxproc command + args
{host}:{smtp_port} inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=may
  -o smtpd_tls_auth_only=yes
{host}:{smtps_port} inet n - n - - smtpd
  -o syslog_name=postfix/smtps
  -o smtpd_tls_wrappermode=yes
  -o smtpd_tls_security_level=encrypt
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def _postfix_settings(servers: MailServers, layout: _Layout) -> dict[str, str]:
    known = ", ".join(f"{servers.address(user)}=ok" for user in servers.users)
    return {
        "compatibility_level": "3.6",
        # Private queue and data directories: this is what lets several instances (and the
        # system's own Postfix, if any) coexist; master locks data_directory/master.lock.
        "queue_directory": str(layout.postfix_queue),
        "data_directory": str(layout.postfix_data),
        # No syslog here: log to a file through postlogd. Postfix refuses a maillog_file
        # outside maillog_file_prefixes (default /var and /dev/stdout).
        "maillog_file": str(layout.postfix_log),
        "maillog_file_prefixes": str(layout.root),
        "myhostname": f"mail.{DOMAIN}",
        "mydomain": DOMAIN,
        "myorigin": DOMAIN,
        "mydestination": "",
        "mynetworks": "127.0.0.0/8",
        "inet_interfaces": servers.host,
        "inet_protocols": "ipv4",
        "alias_maps": "",
        "alias_database": "",
        "local_recipient_maps": "",
        "biff": "no",
        "append_dot_mydomain": "no",
        "smtputf8_enable": "yes",
        "message_size_limit": str(64 * 1024 * 1024),
        # Local users: delivered to Dovecot over LMTP; unknown ones are rejected at RCPT.
        "virtual_mailbox_domains": DOMAIN,
        "virtual_mailbox_maps": f"inline:{{ {known} }}",
        "virtual_transport": f"lmtp:inet:{servers.host}:{servers.lmtp_port}",
        # Relayed mail is accepted and dropped: the test machine has no outside network.
        "default_transport": "discard:relayed mail is discarded by the unimail test server",
        "relay_transport": "discard:relayed mail is discarded by the unimail test server",
        "smtpd_relay_restrictions": "permit_sasl_authenticated, reject_unauth_destination",
        "smtpd_recipient_restrictions": "permit_sasl_authenticated, reject_unauth_destination",
        "smtpd_sasl_auth_enable": "yes",
        "smtpd_sasl_type": "dovecot",
        "smtpd_sasl_path": str(layout.dovecot_run / "auth-postfix"),
        "smtpd_sasl_authenticated_header": "yes",
        "smtpd_tls_cert_file": str(layout.cert_pem),
        "smtpd_tls_key_file": str(layout.key_pem),
        "smtpd_tls_security_level": "may",
        "smtpd_tls_auth_only": "yes",
        "smtpd_tls_received_header": "yes",
        "smtpd_tls_mandatory_protocols": ">=TLSv1.2",
        "smtpd_banner": "$myhostname ESMTP unimail test server",
        # Keep tests and benchmarks fast: no tarpit after errors, no flow-control pauses,
        # quick retries if Dovecot's LMTP was briefly unreachable.
        "smtpd_error_sleep_time": "0",
        "smtpd_soft_error_limit": "100",
        "smtpd_hard_error_limit": "200",
        "in_flow_delay": "0",
        "queue_run_delay": "5s",
        "minimal_backoff_time": "5s",
        "maximal_backoff_time": "10s",
        # No reports to postmaster (it has no mailbox here).
        "notify_classes": "",
    }


def _start_postfix(servers: MailServers, layout: _Layout, binaries: _Binaries) -> None:
    conf = layout.postfix_conf
    conf.mkdir(mode=0o755, exist_ok=True)
    # Owned by root and not group/other-writable, or postfix-script complains.
    layout.postfix_queue.mkdir(mode=0o755, exist_ok=True)
    layout.postfix_data.mkdir(mode=0o700, exist_ok=True)
    postfix_user = pwd.getpwnam("postfix")
    os.chown(layout.postfix_data, postfix_user.pw_uid, postfix_user.pw_gid)
    (conf / "master.cf").write_text(
        _MASTER_CF.format(
            host=servers.host, smtp_port=servers.smtp_port, smtps_port=servers.smtps_port
        ),
        encoding="utf-8",
    )
    (conf / "main.cf").write_text(
        "# Generated by tools/mailservers.py: a private Postfix for unimail's tests.\n",
        encoding="utf-8",
    )
    settings = [f"{name}={value}" for name, value in _postfix_settings(servers, layout).items()]
    _run_checked("Postfix", [binaries.postconf, "-c", str(conf), "-e", *settings])
    # "postfix start" prints its complaints only to a terminal; with maillog_file set they land
    # in the mail log, whose tail goes into the error. The first start of a fresh queue takes
    # about 2 s (post-install creates and checks the queue directories).
    _launch("Postfix", [binaries.postfix, "-c", str(conf), "start"], layout.postfix_log)


def _postfix_pid(layout: _Layout) -> int | None:
    return _read_pid(layout.postfix_queue / "pid" / "master.pid")


def _stop_servers(layout: _Layout) -> None:
    """Stop both masters concurrently and wait (bounded) until they are gone."""
    postfix_pid = _postfix_pid(layout)
    dovecot_pid = _dovecot_pid(layout)
    postfix = _which("postfix")
    if postfix_pid is not None and _alive(postfix_pid, "master") and postfix is not None:
        # Signals the master and returns; the master needs about a second to finish.
        subprocess.run(
            [postfix, "-c", str(layout.postfix_conf), "stop"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=STOP_TIMEOUT,
            check=False,
        )
    if dovecot_pid is not None and _alive(dovecot_pid, "dovecot"):
        # What "doveadm stop" does, minus its waiting: SIGTERM to the master, which then takes
        # 1-3 s to shut its children down (in parallel with Postfix's shutdown).
        with contextlib.suppress(ProcessLookupError):
            os.kill(dovecot_pid, signal.SIGTERM)
    for pid, command in ((postfix_pid, "master"), (dovecot_pid, "dovecot")):
        if pid is not None:
            _terminate(pid, command)


# -- processes and readiness -----------------------------------------------------------------


def _run_checked(server: str, argv: list[str], log: Path | None = None) -> None:
    result = subprocess.run(
        argv,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).decode(errors="replace").strip()
        raise ServersUnavailable(
            f"{server} failed: `{' '.join(argv[:4])} ...` exited with {result.returncode}:\n"
            f"{output}{_log_tail(log)}"
        )


def _launch(server: str, argv: list[str], log: Path) -> None:
    """Run a command that daemonizes; its own output is appended to ``log``."""
    launch_log = log.with_name(log.name + ".launch")
    with launch_log.open("ab") as out:
        result = subprocess.run(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, timeout=60, check=False
        )
    if result.returncode != 0:
        output = launch_log.read_text(encoding="utf-8", errors="replace").strip()
        raise ServersUnavailable(
            f"{server} did not start: `{' '.join(argv)}` exited with {result.returncode}:\n"
            f"{output}{_log_tail(log)}"
        )


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text(encoding="ascii").split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int, command: str) -> bool:
    """Whether ``pid`` is a live (not zombie) process running ``command``.

    The name check guards against a stale pid file whose number was reused; the zombie check
    matters because some container init processes never reap orphaned daemons.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    # Format: "pid (comm) state ..."; comm may itself contain spaces or parentheses.
    name = stat[stat.find("(") + 1 : stat.rfind(")")]
    state = stat[stat.rfind(")") + 2 :][:1]
    return name == command and state not in ("Z", "X")


def _terminate(pid: int, command: str) -> None:
    """Wait for ``pid`` to exit after a polite stop; SIGTERM, then SIGKILL if it lingers."""
    deadline = time.monotonic() + STOP_TIMEOUT
    signalled = False
    while _alive(pid, command):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            return
        if not signalled and time.monotonic() > deadline - STOP_TIMEOUT / 2:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            signalled = True
        time.sleep(0.05)


def _log_tail(log: Path | None, lines: int = 25) -> str:
    if log is None:
        return ""
    chunks = []
    for path in (log.with_name(log.name + ".launch"), log):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        tail = text.strip().splitlines()[-lines:]
        if tail:
            chunks.append(f"\n--- last lines of {path} ---\n" + "\n".join(tail))
    return "".join(chunks)


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _probe(servers: MailServers, port: int, greeting: bytes, tls: bool) -> str | None:
    """Return None when ``port`` greets as expected, else a short description of what failed."""
    try:
        with socket.create_connection((servers.host, port), timeout=5) as raw:
            if tls:
                with servers.ssl_context().wrap_socket(raw, server_hostname=servers.host) as s:
                    line = s.recv(512)
            else:
                line = raw.recv(512)
    except OSError as error:
        return f"{type(error).__name__}: {error}"
    if not line.startswith(greeting):
        return f"unexpected greeting {line[:80]!r}"
    return None


def _wait_until_ready(servers: MailServers, layout: _Layout) -> None:
    checks: list[tuple[str, str, int, bytes, bool, Path]] = [
        ("Dovecot", "IMAP", servers.imap_port, b"* OK", False, layout.dovecot_log),
        ("Dovecot", "IMAPS", servers.imaps_port, b"* OK", True, layout.dovecot_log),
        ("Dovecot", "POP3", servers.pop3_port, b"+OK", False, layout.dovecot_log),
        ("Dovecot", "POP3S", servers.pop3s_port, b"+OK", True, layout.dovecot_log),
        ("Dovecot", "LMTP", servers.lmtp_port, b"220", False, layout.dovecot_log),
        ("Postfix", "submission", servers.smtp_port, b"220", False, layout.postfix_log),
        ("Postfix", "smtps", servers.smtps_port, b"220", True, layout.postfix_log),
    ]
    deadline = time.monotonic() + START_TIMEOUT
    for server, service, port, greeting, tls, log in checks:
        while True:
            problem = _probe(servers, port, greeting, tls)
            if problem is None:
                break
            if server == "Dovecot":
                pid, command = _dovecot_pid(layout), "dovecot"
            else:
                pid, command = _postfix_pid(layout), "master"
            dead = pid is None or not _alive(pid, command)
            if dead or time.monotonic() > deadline:
                why = "is not running" if dead else f"did not answer within {START_TIMEOUT:.0f} s"
                where = f"{service} on {servers.host}:{port}"
                raise ServersUnavailable(f"{server} {why}: {where}: {problem}{_log_tail(log)}")
            time.sleep(0.05)


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _servers_for_cli(directory: str | None) -> Iterator[MailServers]:
    if directory is None:
        workdir = make_workdir()
        keep = False
    else:
        workdir = Path(directory)
        keep = True
    try:
        servers = start(workdir)
    except ServersUnavailable as error:
        if keep or _layout(workdir).dovecot.exists():
            # A server was configured and failed: its logs help beyond the quoted tail.
            raise ServersUnavailable(f"{error}\n(work directory kept: {workdir})") from error
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    # Also covers interpreter exit paths that skip the finally below.
    atexit.register(servers.stop)
    try:
        yield servers
    finally:
        servers.stop()
        atexit.unregister(servers.stop)
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)


def _unavailable(error: ServersUnavailable) -> int:
    print(f"mailservers: cannot start the test mail servers: {error}", file=sys.stderr)
    return 2


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(
        prog="mailservers.py", description="Run private Dovecot + Postfix servers on 127.0.0.1."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="start the servers, run a command, stop the servers")
    run.add_argument("--dir", help="work directory (kept afterwards; default: a temporary one)")
    run.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD ARGS...")
    serve = commands.add_parser("serve", help="start the servers and keep them until Ctrl-C")
    serve.add_argument("--dir", help="work directory (kept afterwards; default: a temporary one)")
    args = parser.parse_args(argv)

    # Turn SIGTERM into the same clean shutdown as Ctrl-C.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    if args.command == "run":
        cmd = list(args.cmd)
        if cmd and cmd[0] == "--":
            cmd = cmd[1:]
        if not cmd:
            parser.error("run needs a command after --")
        try:
            with _servers_for_cli(args.dir) as servers:
                env = {**os.environ, **servers.environment("alice")}
                try:
                    return subprocess.run(cmd, env=env, check=False).returncode
                except FileNotFoundError:
                    print(f"mailservers: command not found: {cmd[0]}", file=sys.stderr)
                    return 127
                except KeyboardInterrupt:
                    return 130
        except ServersUnavailable as error:
            return _unavailable(error)

    try:
        with _servers_for_cli(args.dir) as servers:
            for name, value in servers.environment("alice").items():
                print(f"export {name}={_shell_quote(value)}")
            print(f"# users: {json.dumps(servers.users, ensure_ascii=False)}")
            print("# servers running; Ctrl-C stops them", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(3600)
    except ServersUnavailable as error:
        return _unavailable(error)
    return 0


def _shell_quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"


if __name__ == "__main__":
    sys.exit(main())
