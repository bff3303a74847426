"""Flag the messages a query matches, mark them read, and move them to an archive folder.

    UNIMAIL_PASSWORD=... python3 examples/move_and_flag.py imaps://alice@mail.example.org \\
        --subject invoice --archive Archive/Invoices --keyword '$Invoice'

The archive folder is created when it does not exist. ``move()`` is one IMAP MOVE where the
server has it, else COPY + ``\\Deleted`` + UID EXPUNGE of exactly those messages (never of other
messages marked ``\\Deleted``); it returns the messages' new uids where the server tells them.
The password comes from ``UNIMAIL_PASSWORD`` (or a prompt); ``--cafile`` trusts a private CA.
"""

from __future__ import annotations

import argparse
import getpass
import os
import ssl

import unimail
from unimail import FetchField, Flag, Q


# --8<-- [start:move]
def flag_and_archive(
    url: str,
    password: str,
    tls: ssl.SSLContext | None,
    query: Q,
    archive: str,
    keyword: str | None,
) -> dict[int | str, int | str]:
    """Flag and archive the INBOX messages matching ``query``; return ``{old uid: new uid}``."""
    with unimail.Mailbox.open(url, password=password, ssl_context=tls) as box:
        if archive not in {folder.name for folder in box.folders()}:
            box.create_folder(archive)
            print(f"created folder {archive!r}")
        inbox = box.folder("INBOX")
        uids = [info.uid for info in inbox.search(query, fields=FetchField.UID)]
        if not uids:
            print("nothing matches")
            return {}
        flags: set[Flag | str] = {Flag.FLAGGED, Flag.SEEN}
        if keyword:
            flags.add(keyword)  # a keyword is a plain str such as "$Invoice"
        inbox.add_flags(uids, flags)  # one UID STORE for all of them
        moved = inbox.move(uids, archive)  # the flags travel with the messages
        for old in uids:
            print(f"moved: uid {old} -> {archive} uid {moved.get(old, '?')}")
        print(f"{len(uids)} messages moved to {archive}")
    return moved


# --8<-- [end:move]


def main() -> None:
    """Parse the command line, then flag and move."""
    parser = argparse.ArgumentParser(description="Flag messages and move them to a folder.")
    parser.add_argument("url", help="imaps://user@host[:port] or imap://... (STARTTLS)")
    parser.add_argument("--subject", required=True, help="the subject contains this text")
    parser.add_argument("--archive", default="Archive", help="destination folder")
    parser.add_argument("--keyword", help="also set this keyword (e.g. $Invoice)")
    parser.add_argument("--cafile", help="trust this CA (PEM file) instead of the system's")
    args = parser.parse_args()
    password = os.environ.get("UNIMAIL_PASSWORD") or getpass.getpass("password: ")
    tls = ssl.create_default_context(cafile=args.cafile) if args.cafile else None
    query = Q.subject(args.subject) & ~Q.deleted()
    flag_and_archive(args.url, password, tls, query, args.archive, args.keyword)


if __name__ == "__main__":
    main()
