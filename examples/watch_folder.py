"""Watch a folder and print each new message as it arrives (IMAP IDLE, polling elsewhere).

    UNIMAIL_PASSWORD=... python3 examples/watch_folder.py imaps://alice@mail.example.org \\
        --count 10 --timeout 3600

Stops after ``--count`` new messages or ``--timeout`` seconds (without either it runs until
Ctrl-C). A dropped connection is opened again by ``watch()`` and the messages of the meantime
are reported once. The password comes from ``UNIMAIL_PASSWORD`` (or a prompt); ``--cafile``
trusts a private CA.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import os
import ssl

import unimail
from unimail import FetchField


# --8<-- [start:watch]
def watch(
    url: str,
    password: str,
    tls: ssl.SSLContext | None,
    folder: str,
    count: int | None,
    timeout: float | None,
) -> int:
    """Print the new messages of ``folder``; return how many were seen."""
    seen = 0
    with unimail.Mailbox.open(url, password=password, ssl_context=tls) as box:
        inbox = box.folder(folder)
        # Look at the folder first: what arrives after this look is reported by watch().
        present = sum(1 for _ in inbox.search(fields=FetchField.UID))
        print(f"watching {folder} ({present} messages already there)", flush=True)
        # closing(): leaving the loop early ends the IDLE cleanly (contextlib.aclosing with
        # the async API).
        with contextlib.closing(inbox.watch(timeout=timeout)) as events:
            for event in events:
                if not isinstance(event, unimail.NewMessages):
                    continue  # MessagesRemoved, FlagsChanged
                # The connection is not idling while we hold an event: it can fetch.
                for info in inbox.fetch(event.uids, FetchField.UID | FetchField.ENVELOPE):
                    subject = info.envelope.subject if info.envelope else None
                    print(f"new: uid={info.uid} subject={subject!r}", flush=True)
                    seen += 1
                if count is not None and seen >= count:
                    break
    return seen


# --8<-- [end:watch]


def main() -> None:
    """Parse the command line and watch."""
    parser = argparse.ArgumentParser(description="Print new messages as they arrive.")
    parser.add_argument("url", help="imaps://user@host[:port] or imap://... (STARTTLS)")
    parser.add_argument("--folder", default="INBOX")
    parser.add_argument("--count", type=int, help="stop after this many new messages")
    parser.add_argument("--timeout", type=float, help="stop after this many seconds")
    parser.add_argument("--cafile", help="trust this CA (PEM file) instead of the system's")
    args = parser.parse_args()
    password = os.environ.get("UNIMAIL_PASSWORD") or getpass.getpass("password: ")
    tls = ssl.create_default_context(cafile=args.cafile) if args.cafile else None
    with contextlib.suppress(KeyboardInterrupt):
        seen = watch(args.url, password, tls, args.folder, args.count, args.timeout)
        print(f"done: {seen} new messages")


if __name__ == "__main__":
    main()
