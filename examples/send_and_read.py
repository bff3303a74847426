"""The main job: send a message through the local Postfix, read it back over IMAP with unimail.

Run it with the local test servers up (the README's first command does all of this)::

    python3 tools/mailservers.py run -- python3 examples/send_and_read.py

It reads the servers' address, ports, CA and alice's password from the ``UNIMAIL_TEST_*``
environment variables that ``tools/mailservers.py run`` sets. Sending goes through the standard
library's smtplib until unimail's SMTP Transport lands; reading goes through unimail, once with
the sync API over STARTTLS and once with the async API (asyncio and trio) over implicit TLS.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import sys
import time
import uuid
from email.message import EmailMessage

import anyio

import unimail
from unimail import Q


def settings() -> dict[str, str]:
    """The UNIMAIL_TEST_* variables, or a clear message of how to get them."""
    names = ["HOST", "IMAP_PORT", "IMAPS_PORT", "SMTP_PORT", "CA", "USER", "PASSWORD"]
    missing = [n for n in names if f"UNIMAIL_TEST_{n}" not in os.environ]
    if missing:
        sys.exit(
            "the local mail servers are not running; start this example with\n"
            "    python3 tools/mailservers.py run -- python3 examples/send_and_read.py"
        )
    return {n: os.environ[f"UNIMAIL_TEST_{n}"] for n in names}


def send(env: dict[str, str], tls: ssl.SSLContext, subject: str) -> None:
    """Submit a message to alice through Postfix (STARTTLS + AUTH), with smtplib."""
    message = EmailMessage()
    message["From"] = f"{env['USER']}@example.test"
    message["To"] = f"{env['USER']}@example.test"
    message["Subject"] = subject
    message.set_content("Sent through Postfix, delivered by LMTP, read back over IMAP.\n")
    with smtplib.SMTP(env["HOST"], int(env["SMTP_PORT"]), timeout=30) as smtp:
        smtp.starttls(context=tls)
        smtp.login(env["USER"], env["PASSWORD"])
        smtp.send_message(message)


def read_sync(env: dict[str, str], tls: ssl.SSLContext, subject: str) -> None:
    """Wait for the message with the sync API (imap:// = STARTTLS required), then show it."""
    url = f"imap://{env['USER']}@{env['HOST']}:{env['IMAP_PORT']}"
    with unimail.Mailbox.open(url, password=env["PASSWORD"], ssl_context=tls) as box:
        print("folders:", [folder.name for folder in box.folders()])
        inbox = box.folder("INBOX")
        deadline = time.monotonic() + 30
        while not (found := list(inbox.search(Q.subject(subject)))):
            if time.monotonic() > deadline:
                sys.exit(f"the message {subject!r} did not arrive within 30 s")
            time.sleep(0.2)
        info = found[0]
        message = inbox.get(info.uid)
        print("status:", inbox.status())
        print(f"sync  : uid {info.uid}, {info.size} bytes, subject {message['Subject']!r}")
        print("        body:", message.get_content().strip())


async def read_async(env: dict[str, str], tls: ssl.SSLContext, subject: str) -> None:
    """Read it again with the async API (imaps:// = implicit TLS)."""
    url = f"imaps://{env['USER']}@{env['HOST']}:{env['IMAPS_PORT']}"
    async with unimail.AsyncMailbox.open(url, password=env["PASSWORD"], ssl_context=tls) as box:
        inbox = box.folder("INBOX")
        async for info in inbox.search(Q.subject(subject)):
            assert info.envelope is not None
            print(f"async : uid {info.uid}, from {info.envelope.from_[0].addr}")


def main() -> None:
    """Send one message and read it back three ways."""
    env = settings()
    tls = ssl.create_default_context(cafile=env["CA"])  # trust the test CA, verify host names
    subject = f"unimail main job {uuid.uuid4().hex[:8]}"
    send(env, tls, subject)
    print(f"sent  : {subject!r} through Postfix on port {env['SMTP_PORT']}")
    read_sync(env, tls, subject)
    for backend in ("asyncio", "trio"):
        anyio.run(read_async, env, tls, subject, backend=backend)
    print("main job: OK")


if __name__ == "__main__":
    main()
