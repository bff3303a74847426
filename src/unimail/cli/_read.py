"""``unimail folders URL`` and ``unimail search URL [terms]``."""

from __future__ import annotations

import argparse
from contextlib import closing
from typing import Any

from unimail import FetchField, MessageInfo

from ._common import EXIT_OK, add_password_options, open_mailbox, print_json
from ._query import add_query_options, query_from

__all__ = ["add_parsers", "info_dict", "info_line"]


def add_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``folders`` and ``search`` commands."""
    folders = commands.add_parser(
        "folders", parents=[common], allow_abbrev=False,
        help="list the folders of a mailbox",
        description="List the folders of a mailbox: name, then its special use (\\Sent...).",
    )  # fmt: skip
    folders.add_argument("url", help="the mailbox: imaps://user@host, pop3s://..., maildir:...")
    add_password_options(folders)
    folders.set_defaults(run=run_folders)

    search = commands.add_parser(
        "search", parents=[common], allow_abbrev=False,
        help="list the messages matching search terms",
        description="List the messages of a folder that match every search term given "
        "(all messages without terms): uid, date, sender, subject.",
    )  # fmt: skip
    search.add_argument("url", help="the mailbox")
    search.add_argument("--folder", default="INBOX", help="the folder (default INBOX)")
    search.add_argument("--limit", type=int, metavar="N", help="at most N messages")
    add_query_options(search)
    add_password_options(search)
    search.set_defaults(run=run_search)


def run_folders(args: argparse.Namespace) -> int:
    """List the folders."""
    with open_mailbox(args, args.url) as box:
        found = box.folders()
    if args.json:
        print_json(
            [
                {
                    "name": f.name, "delimiter": f.delimiter,
                    "special_use": None if f.special_use is None else str(f.special_use),
                    "attributes": sorted(f.attributes), "selectable": f.selectable,
                }
                for f in found
            ]
        )  # fmt: skip
        return EXIT_OK
    for f in found:
        print(f.name if f.special_use is None else f"{f.name}\t{f.special_use}")
    return EXIT_OK


def run_search(args: argparse.Namespace) -> int:
    """Print one line (or one JSON object) per matching message, as they arrive."""
    fields = FetchField.UID | FetchField.FLAGS | FetchField.SIZE | FetchField.ENVELOPE
    with open_mailbox(args, args.url) as box:
        folder = box.folder(args.folder)
        with closing(folder.search(query_from(args), fields=fields)) as found:
            for count, info in enumerate(found):
                if args.limit is not None and count >= args.limit:
                    break
                if args.json:
                    print_json(info_dict(info))
                else:
                    print(info_line(info), flush=True)
    return EXIT_OK


def info_dict(info: MessageInfo) -> dict[str, Any]:
    """Return what a script wants to know about a message, as JSON-ready values."""
    envelope = info.envelope
    return {
        "uid": info.uid,
        "flags": None if info.flags is None else sorted(str(f) for f in info.flags),
        "size": info.size,
        "internal_date": None if info.internal_date is None else info.internal_date.isoformat(),
        "date": None if envelope is None or envelope.date is None else envelope.date.isoformat(),
        "from": [] if envelope is None else [str(a) for a in envelope.from_],
        "to": [] if envelope is None else [str(a) for a in envelope.to],
        "subject": None if envelope is None else envelope.subject,
        "message_id": None if envelope is None else envelope.message_id,
    }


def info_line(info: MessageInfo) -> str:
    """Return ``uid, date, sender, subject`` separated by tabs."""
    envelope = info.envelope
    date = "" if envelope is None or envelope.date is None else f"{envelope.date:%Y-%m-%d %H:%M}"
    sender = "" if envelope is None or not envelope.from_ else str(envelope.from_[0])
    subject = "" if envelope is None or envelope.subject is None else envelope.subject
    return "\t".join(_clean(part) for part in (str(info.uid), date, sender, subject))


def _clean(text: str) -> str:
    # A subject may hold tabs or line breaks (decoded RFC 2047 words): one line per message.
    return " ".join(text.split())
