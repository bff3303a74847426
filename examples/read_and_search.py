"""Read and search a mailbox: list the folders, show a folder's counters, print the messages a
query matches, and show the first one's text.

    UNIMAIL_PASSWORD=... python3 examples/read_and_search.py imaps://alice@mail.example.org \\
        --subject invoice --sender bob@example.org --unseen

The same script works over POP3 (``pop3s://...``: one folder, searched by unimail on the
headers). ``--async`` does the same work with the async API (asyncio, or trio with
``--trio``). The password comes from ``UNIMAIL_PASSWORD`` (or a prompt), never from the command
line; ``--cafile`` trusts a private CA.
"""

from __future__ import annotations

import argparse
import datetime
import getpass
import os
import ssl

import anyio

import unimail
from unimail import Q


def build_query(args: argparse.Namespace) -> Q:
    """Combine the command line's criteria with ``&``; no criterion matches everything."""
    query = Q.all()
    if args.subject:
        query &= Q.subject(args.subject)
    if args.sender:
        query &= Q.sender(args.sender)
    if args.unseen:
        query &= Q.unseen()
    if args.since:
        query &= Q.since(datetime.date.fromisoformat(args.since))
    return query


# --8<-- [start:sync]
def read_sync(url: str, password: str, tls: ssl.SSLContext | None, folder: str, query: Q) -> None:
    """Search with the blocking API."""
    with unimail.Mailbox.open(url, password=password, ssl_context=tls) as box:
        print("folders:", ", ".join(info.name for info in box.folders()))
        inbox = box.folder(folder)
        status = inbox.status()
        print(f"{folder}: {status.messages} messages, {status.unseen} unseen")
        first = None
        for info in inbox.search(query):  # streamed: one MessageInfo per match
            envelope = info.envelope
            assert envelope is not None  # search() fetches envelopes by default
            sender = envelope.from_[0].addr if envelope.from_ else "?"
            print(f"match: uid={info.uid} from={sender} subject={envelope.subject!r}")
            if first is None:
                first = info.uid
        if first is not None:
            message = inbox.get(first)  # an email.message.EmailMessage; never sets \Seen
            body = message.get_body(preferencelist=("plain", "html"))
            text = body.get_content() if body is not None else ""
            print("first message's text:", text.strip().splitlines()[0] if text.strip() else "")


# --8<-- [end:sync]


# --8<-- [start:async]
async def read_async(
    url: str, password: str, tls: ssl.SSLContext | None, folder: str, query: Q
) -> None:
    """The same with the async API: await, async for, async with."""
    async with unimail.AsyncMailbox.open(url, password=password, ssl_context=tls) as box:
        print("folders:", ", ".join(info.name for info in await box.folders()))
        inbox = box.folder(folder)
        status = await inbox.status()
        print(f"{folder}: {status.messages} messages, {status.unseen} unseen")
        first = None
        async for info in inbox.search(query):
            envelope = info.envelope
            assert envelope is not None
            sender = envelope.from_[0].addr if envelope.from_ else "?"
            print(f"match: uid={info.uid} from={sender} subject={envelope.subject!r}")
            if first is None:
                first = info.uid
        if first is not None:
            message = await inbox.get(first)
            body = message.get_body(preferencelist=("plain", "html"))
            text = body.get_content() if body is not None else ""
            print("first message's text:", text.strip().splitlines()[0] if text.strip() else "")


# --8<-- [end:async]


def main() -> None:
    """Parse the command line and search once, with the sync or the async API."""
    parser = argparse.ArgumentParser(description="Search a mailbox and print the matches.")
    parser.add_argument("url", help="imaps://user@host[:port], imap://... (STARTTLS), pop3s://...")
    parser.add_argument("--folder", default="INBOX")
    parser.add_argument("--subject", help="the subject contains this text")
    parser.add_argument("--sender", help="the From field contains this text")
    parser.add_argument("--unseen", action="store_true", help="only messages not yet read")
    parser.add_argument("--since", help="internal date on or after YYYY-MM-DD")
    parser.add_argument("--cafile", help="trust this CA (PEM file) instead of the system's")
    parser.add_argument("--async", dest="use_async", action="store_true", help="use AsyncMailbox")
    parser.add_argument("--trio", action="store_true", help="with --async: run on trio")
    args = parser.parse_args()
    password = os.environ.get("UNIMAIL_PASSWORD") or getpass.getpass("password: ")
    tls = ssl.create_default_context(cafile=args.cafile) if args.cafile else None
    query = build_query(args)
    if args.use_async:
        backend = "trio" if args.trio else "asyncio"
        anyio.run(read_async, args.url, password, tls, args.folder, query, backend=backend)
    else:
        read_sync(args.url, password, tls, args.folder, query)


if __name__ == "__main__":
    main()
