"""``unimail watch URL``: print each new message, or run a command for it."""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from contextlib import closing
from typing import Any

import unimail
from unimail import FetchField

from ._common import EXIT_OK, UsageError, add_password_options, open_mailbox, print_json
from ._read import info_dict, info_line

__all__ = ["add_parsers"]


def add_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``watch`` command."""
    watch = commands.add_parser(
        "watch", parents=[common], allow_abbrev=False,
        help="print (or handle) each new message as it arrives",
        description="Wait for new messages (IMAP IDLE where the server has it, polling "
        "otherwise) and print one line per message (--json: one JSON object per line). With "
        "--exec, run COMMAND for each new message instead, the raw message on its standard "
        "input and UNIMAIL_UID, UNIMAIL_FOLDER, UNIMAIL_URL in its environment; COMMAND is "
        "split like a shell would, but no shell runs it.",
    )  # fmt: skip
    watch.add_argument("url", help="the mailbox")
    watch.add_argument("--folder", default="INBOX", help="the folder (default INBOX)")
    watch.add_argument("--exec", dest="command", metavar="COMMAND", help="run this per message")
    watch.add_argument(
        "--for", dest="duration", type=float, metavar="SECONDS",
        help="stop after this many seconds (default: until interrupted)",
    )  # fmt: skip
    watch.add_argument(
        "--count", type=int, metavar="N", help="stop after N new messages (default: no limit)"
    )
    add_password_options(watch)
    watch.set_defaults(run=run_watch)


def run_watch(args: argparse.Namespace) -> int:
    """Watch until interrupted (exit 130) or until ``--for`` seconds passed (exit 0)."""
    command = shlex.split(args.command) if args.command else None
    if args.command is not None and not command:
        raise UsageError("--exec needs a command")
    fields = FetchField.UID | FetchField.FLAGS | FetchField.SIZE | FetchField.ENVELOPE
    if args.count is not None and args.count < 1:
        raise UsageError("--count must be at least 1")
    handled = 0
    with open_mailbox(args, args.url) as box:
        folder = box.folder(args.folder)
        with closing(folder.watch(timeout=args.duration)) as events:
            for event in events:
                if not isinstance(event, unimail.NewMessages):
                    continue
                if not event.uids:
                    _say(args, {"new": event.exists}, f"new messages (now {event.exists})")
                    continue
                with closing(folder.fetch(event.uids, fields)) as infos:
                    found = list(infos)
                for info in found:
                    if command is not None:
                        _run(command, folder, info.uid, args.url)
                    else:
                        _say(args, info_dict(info), info_line(info))
                    handled += 1
                    if args.count is not None and handled >= args.count:
                        return EXIT_OK
    return EXIT_OK


def _say(args: argparse.Namespace, value: Any, text: str) -> None:
    if args.json:
        print_json(value)
    else:
        print(text, flush=True)


def _run(command: list[str], folder: unimail.Folder, uid: int | str, url: str) -> None:
    data = folder.get_bytes(uid)
    env = {**os.environ, "UNIMAIL_UID": str(uid), "UNIMAIL_FOLDER": folder.name}
    env["UNIMAIL_URL"] = url
    try:
        done = subprocess.run(command, input=data, env=env, check=False)
    except OSError as exc:
        raise UsageError(f"cannot run {command[0]!r}: {exc.strerror}") from None
    if done.returncode != 0:
        # One failing message must not stop the watch: say it and go on.
        sys.stderr.write(f"unimail: {command[0]} exited {done.returncode} for message {uid}\n")
