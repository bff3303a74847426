"""``unimail fetch URL [UID ...]``: messages to ``.eml`` files, an mbox file or stdout."""

from __future__ import annotations

import argparse
import datetime
import os
import re
from contextlib import closing
from typing import IO, Any

import unimail
from unimail import FetchField

from ._common import (
    EXIT_OK,
    UsageError,
    add_password_options,
    binary_stdout,
    open_mailbox,
    print_json,
)
from ._query import add_query_options, query_from

__all__ = ["add_parsers", "mbox_entry"]

# mboxrd (the variant that can be undone): a line that looks like a From_ line, with any
# number of ">" before it, gets one more ">".
_FROM_LINE = re.compile(rb"^(>*From )", re.MULTILINE)
_UNSAFE = re.compile(r"[^A-Za-z0-9._+=-]")


def add_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``fetch`` command."""
    fetch = commands.add_parser(
        "fetch", parents=[common], allow_abbrev=False,
        help="save messages as .eml files or mbox",
        description="Fetch messages by uid, by search terms, or all (--all). Without "
        "--output they go to standard output: one message as it is, several as mbox. With "
        "--output DIR each goes to DIR/<uid>.eml; with --output FILE.mbox they are appended "
        "to that mbox file. Fetching never marks a message as read.",
    )  # fmt: skip
    fetch.add_argument("url", help="the mailbox")
    fetch.add_argument("uids", nargs="*", metavar="UID", help="the messages (see 'search')")
    fetch.add_argument("--folder", default="INBOX", help="the folder (default INBOX)")
    fetch.add_argument("--all", action="store_true", help="every message of the folder")
    fetch.add_argument("-o", "--output", metavar="PATH", help="a directory or an mbox file")
    fetch.add_argument(
        "--format", choices=("eml", "mbox"),
        help="eml (one file per message) or mbox; by default from --output",
    )  # fmt: skip
    add_query_options(fetch)
    add_password_options(fetch)
    fetch.set_defaults(run=run_fetch)


def run_fetch(args: argparse.Namespace) -> int:
    """Fetch the messages the arguments name."""
    query = query_from(args)
    if args.uids and (query is not None or args.all):
        raise UsageError("name messages either by uid or by search terms / --all, not both")
    if not args.uids and query is None and not args.all:
        raise UsageError("name the messages: uids, search terms, or --all")
    if args.json and args.output is None:
        raise UsageError("--json prints to standard output, where the messages go: use --output")
    fmt = args.format or _default_format(args.output)
    written: list[dict[str, Any]] = []
    with open_mailbox(args, args.url) as box:
        folder = box.folder(args.folder)
        uids = _uids(box, args.uids) if args.uids else _search(folder, query)
        if fmt == "eml" and args.output is None and len(uids) > 1:
            raise UsageError("several messages to standard output: use --format mbox or --output")
        if fmt == "eml":
            for uid in uids:
                written.append(_to_eml(folder, uid, args.output))
        elif args.output is None:
            with binary_stdout() as out:
                written = [_to_mbox(folder, uid, out) for uid in uids]
        else:
            with open(args.output, "ab") as out:
                written = [_to_mbox(folder, uid, out, args.output) for uid in uids]
    if args.json:
        print_json(written)
    return EXIT_OK


def _default_format(output: str | None) -> str:
    if output is None or os.path.isdir(output) or output.endswith(os.sep):
        return "eml"
    return "eml" if output.endswith(".eml") else "mbox"


def _uids(box: unimail.Mailbox, given: list[str]) -> list[int | str]:
    if not isinstance(box, unimail.ImapMailbox):
        return list(given)  # POP3 UIDL, Maildir keys: text
    uids: list[int | str] = []
    for text in given:
        if not text.isdigit():
            raise UsageError(f"IMAP uids are numbers, not {text!r}")
        uids.append(int(text))
    return uids


def _search(folder: unimail.Folder, query: unimail.Q | None) -> list[int | str]:
    with closing(folder.search(query, fields=FetchField.UID)) as found:
        return [info.uid for info in found]


def _to_eml(folder: unimail.Folder, uid: int | str, output: str | None) -> dict[str, Any]:
    if output is None:
        with binary_stdout() as out:
            size = folder.download(uid, out)
        return {"uid": uid, "size": size, "path": None}
    if os.path.isdir(output) or output.endswith(os.sep):
        os.makedirs(output, exist_ok=True)
        path = os.path.join(output, _UNSAFE.sub("_", str(uid)) + ".eml")
    else:
        path = output
    size = folder.download(uid, path)
    return {"uid": uid, "size": size, "path": path}


def _to_mbox(
    folder: unimail.Folder, uid: int | str, out: IO[bytes], path: str | None = None
) -> dict[str, Any]:
    data = folder.get_bytes(uid)
    out.write(mbox_entry(data))
    return {"uid": uid, "size": len(data), "path": path}


def mbox_entry(data: bytes, when: datetime.datetime | None = None) -> bytes:
    """Return ``data`` as one mboxrd entry: a From_ line, the message with LF line endings
    and its From_-like lines quoted, and a blank line."""
    stamp = (when or datetime.datetime(1970, 1, 1)).strftime("%a %b %d %H:%M:%S %Y")
    body = data.replace(b"\r\n", b"\n")
    body = _FROM_LINE.sub(rb">\1", body)
    if not body.endswith(b"\n"):
        body += b"\n"
    return b"From MAILER-DAEMON " + stamp.encode() + b"\n" + body + b"\n"
