"""Processes and ports of the test mail servers: launching, probing, stopping.

Finds the daemons' programs, runs their launchers, reads the masters' pid files, waits
(bounded) until every port greets, stops the masters again, and picks free ports.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ._common import HOST, START_TIMEOUT, STOP_TIMEOUT, ServersUnavailable, _Layout

if TYPE_CHECKING:
    from ._servers import MailServers


def _which(name: str) -> str | None:
    # root's PATH normally has /usr/sbin, but sudo/env setups sometimes drop it.
    found = shutil.which(name)
    if found is None:
        found = shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    return found


def _free_ports(count: int) -> list[int]:
    """Ask the kernel for ``count`` distinct free ports on HOST (all bound at once, released)."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((HOST, 0))
            ports.append(int(sock.getsockname()[1]))
    return ports


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


def _dovecot_pid(layout: _Layout) -> int | None:
    return _read_pid(layout.dovecot_run / "master.pid")


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
