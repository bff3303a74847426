"""Files of the test mail servers: the work directory, the TLS (test CA) material, Maildirs.

Also the low-level Maildir helpers that :meth:`MailServers.seed` and
:meth:`MailServers.clear` use.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import tempfile
from pathlib import Path

from ._common import _MAX_SOCKET_PATH, HOST, ServersUnavailable, _Layout
from ._processes import _stop_servers


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
