"""The handle on running test mail servers, :class:`MailServers`, with its client helpers,
mailbox seeding and delivery, and its load from the state file that :func:`start` writes.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import smtplib
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ._common import DOMAIN, ServersUnavailable, _layout
from ._files import _mail_ids, _make_maildir, _subscribe, _write_all
from ._processes import _port_open, _stop_servers


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
