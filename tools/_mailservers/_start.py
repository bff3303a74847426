"""Starting the test mail servers: prerequisites, ports, configuration, readiness, state."""

from __future__ import annotations

import json
import os
import pwd
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path

from ._common import DEFAULT_USERS, HOST, INSTALL_HINT, ServersUnavailable, _Binaries, _layout
from ._dovecot import _start_dovecot
from ._files import _mail_ids, _make_maildir, _prepare_workdir, _write_certificates
from ._postfix import _start_postfix
from ._processes import _free_ports, _wait_until_ready, _which
from ._servers import MailServers


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
