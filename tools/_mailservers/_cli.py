"""Command line of ``tools/mailservers.py``: ``run [--dir DIR] -- CMD`` and ``serve``."""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from ._common import ServersUnavailable, _layout
from ._files import make_workdir
from ._servers import MailServers
from ._start import start


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
