"""``unimail copy SRC DST``: the lossless, resumable copy (``unimail.copy``)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import unimail

from ._common import (
    EXIT_OK,
    EXIT_PARTIAL,
    UsageError,
    add_password_options,
    open_mailbox,
    print_json,
)
from ._progress import ProgressBar
from ._query import add_query_options, query_from

__all__ = ["add_parsers", "default_state"]


def add_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``copy`` command."""
    copy = commands.add_parser(
        "copy", parents=[common], allow_abbrev=False,
        help="copy messages between mailboxes, resumably",
        description="Copy every message (or those matching the search terms) from SRC to "
        "DST, keeping flags and dates, mapping folder names. What was copied is recorded in "
        "the --state database, so running the same command again copies only what is new, "
        "and an interrupted run is resumed without losing or duplicating a message. The "
        "destination's password: --dest-password-*, $UNIMAIL_DEST_PASSWORD, netrc, a prompt.",
    )  # fmt: skip
    copy.add_argument("source", metavar="SRC", help="the mailbox to copy from")
    copy.add_argument("destination", metavar="DST", help="the mailbox to copy into")
    copy.add_argument(
        "--state", metavar="PATH",
        help="the SQLite record of the copy (default: $XDG_STATE_HOME/unimail/copy.sqlite3)",
    )  # fmt: skip
    copy.add_argument(
        "--folder", action="append", dest="folders", metavar="NAME",
        help="copy this source folder (repeatable; default: every folder)",
    )  # fmt: skip
    copy.add_argument(
        "--map", action="append", default=[], metavar="SRC=DST",
        help="copy source folder SRC into destination folder DST (repeatable)",
    )  # fmt: skip
    copy.add_argument(
        "--delete-after", action="store_true",
        help="delete each message from SRC once DST confirmed it and it is recorded",
    )  # fmt: skip
    copy.add_argument(
        "--sync-flags", action="store_true",
        help="also give earlier copies the flags their originals have now",
    )  # fmt: skip
    copy.add_argument(
        "--no-progress", action="store_true", help="no progress bar, even on a terminal"
    )
    add_query_options(copy)
    add_password_options(copy)
    add_password_options(copy, "dest-")
    copy.set_defaults(run=run_copy)


def default_state() -> Path:
    """Return the default state file: ``$XDG_STATE_HOME/unimail/copy.sqlite3``."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(Path.home(), ".local", "state")
    return Path(base) / "unimail" / "copy.sqlite3"


def run_copy(args: argparse.Namespace) -> int:
    """Copy; exit 9 when some messages failed (they are tried again by the next run)."""
    mapping: dict[str, str] = {}
    for item in args.map:
        source, sep, target = item.partition("=")
        if not sep or not source or not target:
            raise UsageError(f"--map takes SRC=DST, not {item!r}")
        mapping[source] = target
    if args.state is None:
        state = default_state()
        state.parent.mkdir(parents=True, exist_ok=True)
    else:
        state = Path(args.state)
    bar = ProgressBar(enabled=False if args.json or args.no_progress else None)
    with (
        open_mailbox(args, args.source) as source,
        open_mailbox(args, args.destination, "dest-") as destination,
    ):
        try:
            result = unimail.copy(
                source, destination, state=state, folders=args.folders,
                mapping=mapping or None, query=query_from(args),
                delete_after=args.delete_after, sync_flags=args.sync_flags, progress=bar,
            )  # fmt: skip
        finally:
            bar.finish()
    _report(args, result)
    return EXIT_OK if result.ok else EXIT_PARTIAL


def _report(args: argparse.Namespace, result: unimail.CopyResult) -> None:
    if args.json:
        print_json(
            {
                "copied": result.copied, "skipped": result.skipped, "failed": result.failed,
                "deleted": result.deleted, "flags_updated": result.flags_updated,
                "folders": {
                    name: {
                        "destination": f.destination, "copied": f.copied, "skipped": f.skipped,
                        "failed": f.failed, "deleted": f.deleted,
                        "flags_updated": f.flags_updated, "bytes": f.bytes,
                        "errors": [[uid, reason] for uid, reason in f.errors],
                    }
                    for name, f in result.folders.items()
                },
            }
        )  # fmt: skip
        return
    for name, f in result.folders.items():
        line = f"{name} -> {f.destination}: {f.copied} copied, {f.skipped} already there"
        if f.failed:
            line += f", {f.failed} failed"
        if f.deleted:
            line += f", {f.deleted} deleted from the source"
        if f.flags_updated:
            line += f", flags of {f.flags_updated} updated"
        print(line)
        for uid, reason in f.errors:
            print(f"  {uid}: {reason}")
