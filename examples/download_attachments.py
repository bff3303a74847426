"""Save the attachments of the messages in a folder to a directory.

    UNIMAIL_PASSWORD=... python3 examples/download_attachments.py \\
        imaps://alice@mail.example.org ./attachments --subject invoice

One search fetches each message's MIME structure (BODYSTRUCTURE) without its content, so only
the messages that do carry an attachment are downloaded. File names come from the sender:
they are reduced to a plain name (no directories, no ``..``) and never overwrite a file.
The password comes from ``UNIMAIL_PASSWORD`` (or a prompt); ``--cafile`` trusts a private CA.
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import ssl
from pathlib import Path

import unimail
from unimail import FetchField, Q


# --8<-- [start:names]
def safe_name(filename: str | None, directory: Path) -> Path:
    """Return a path in ``directory`` for an attachment named ``filename`` by the sender.

    Only the last path component is kept, characters other than letters, digits, ``.-_ ``
    become ``_``, a name made only of dots becomes ``attachment``, and ``name (2).ext`` is
    used when the file exists already.
    """
    base = re.split(r"[\\/]", filename or "")[-1]
    base = re.sub(r"[^\w.\- ]", "_", base).strip(" .") or "attachment"
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    candidate, number = directory / base, 1
    while candidate.exists():
        number += 1
        candidate = directory / (f"{stem} ({number}).{suffix}" if dot else f"{stem} ({number})")
    return candidate


# --8<-- [end:names]


# --8<-- [start:download]
def download_attachments(
    url: str, password: str, tls: ssl.SSLContext | None, directory: Path, query: Q
) -> int:
    """Save every attachment of the messages matching ``query``; return how many were saved."""
    directory.mkdir(parents=True, exist_ok=True)
    saved = 0
    fields = FetchField.UID | FetchField.ENVELOPE | FetchField.BODYSTRUCTURE
    with unimail.Mailbox.open(url, password=password, ssl_context=tls) as box:
        inbox = box.folder("INBOX")
        # The structure says which messages have attachments: only those are downloaded.
        wanted = [
            info.uid
            for info in inbox.search(query, fields=fields)
            if info.body_structure is not None
            and any(part.is_attachment for part in info.body_structure.walk())
        ]
        for uid in wanted:
            message = inbox.get(uid)  # never sets \Seen
            for part in message.iter_attachments():
                data = part.get_payload(decode=True)
                if not isinstance(data, bytes):  # a message/rfc822 part: save it as .eml
                    data = part.as_bytes()
                target = safe_name(part.get_filename(), directory)
                target.write_bytes(data)
                saved += 1
                print(f"saved: uid={uid} {target.name} ({len(data)} bytes)")
    return saved


# --8<-- [end:download]


def main() -> None:
    """Parse the command line and save the attachments."""
    parser = argparse.ArgumentParser(description="Save the attachments of messages.")
    parser.add_argument("url", help="imaps://user@host[:port] or imap://... (STARTTLS)")
    parser.add_argument("directory", type=Path, help="where the files go (created if needed)")
    parser.add_argument("--subject", help="only messages whose subject contains this text")
    parser.add_argument("--cafile", help="trust this CA (PEM file) instead of the system's")
    args = parser.parse_args()
    password = os.environ.get("UNIMAIL_PASSWORD") or getpass.getpass("password: ")
    tls = ssl.create_default_context(cafile=args.cafile) if args.cafile else None
    query = Q.subject(args.subject) if args.subject else Q.all()
    count = download_attachments(args.url, password, tls, args.directory, query)
    print(f"{count} attachments saved to {args.directory}")


if __name__ == "__main__":
    main()
