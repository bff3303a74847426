"""The main job: send a message through the local Postfix, read it back over IMAP with unimail.

Run it with the local test servers up (the README's first command does all of this)::

    python3 tools/mailservers.py run -- python3 examples/send_and_read.py

Without servers, ``python3 examples/send_and_read.py --local`` does the same on unimail's local
backends: it "sends" into a Maildir in a temporary directory (``maildir:``) and reads it
back with the same Mailbox API (``maildir:``), sync and async, and once more in memory
(``memory:`` / ``memory:``). ``tools/run-example.sh`` falls back to this, and says so,
when the servers cannot be started.

It reads the servers' address, ports, CA and alice's password from the ``UNIMAIL_TEST_*``
environment variables that ``tools/mailservers.py run`` sets. It sends with unimail's SMTP
transport and reads back with unimail's IMAP mailbox, once with the sync API over STARTTLS and
once with the async API (asyncio and trio) over implicit TLS.
"""

from __future__ import annotations

import os
import ssl
import sys
import tempfile
import time
import uuid
from email.message import EmailMessage

import anyio

import unimail
from unimail import Q


def settings() -> dict[str, str]:
    """The UNIMAIL_TEST_* variables, or a clear message of how to get them."""
    names = ["HOST", "IMAP_PORT", "IMAPS_PORT", "POP3S_PORT", "SMTP_PORT", "CA", "USER", "PASSWORD"]
    missing = [n for n in names if f"UNIMAIL_TEST_{n}" not in os.environ]
    if missing:
        sys.exit(
            "the local mail servers are not running; start this example with\n"
            "    python3 tools/mailservers.py run -- python3 examples/send_and_read.py\n"
            "or run it without servers, on a Maildir in a temporary directory:\n"
            "    python3 examples/send_and_read.py --local"
        )
    return {n: os.environ[f"UNIMAIL_TEST_{n}"] for n in names}


def send(env: dict[str, str], tls: ssl.SSLContext, subject: str) -> None:
    """Submit a message to alice through Postfix with unimail (smtp:// = STARTTLS required,
    then AUTH with the strongest mechanism both sides have)."""
    message = EmailMessage()
    message["From"] = f"{env['USER']}@example.test"
    message["To"] = f"{env['USER']}@example.test"
    message["Subject"] = subject
    message.set_content("Sent through Postfix, delivered by LMTP, read back over IMAP.\n")
    url = f"smtp://{env['USER']}@{env['HOST']}:{env['SMTP_PORT']}"
    with unimail.Transport.open(url, password=env["PASSWORD"], ssl_context=tls) as smtp:
        result = smtp.send(message)
    print(f"sent  : {subject!r} to {', '.join(result.accepted)} ({result.response})")


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


def read_pop3(env: dict[str, str], tls: ssl.SSLContext, subject: str) -> None:
    """The same Mailbox API over POP3 (pop3s:// = implicit TLS): one folder, UIDL uids."""
    url = f"pop3s://{env['USER']}@{env['HOST']}:{env['POP3S_PORT']}"
    with unimail.Mailbox.open(url, password=env["PASSWORD"], ssl_context=tls) as box:
        for info in box.folder("INBOX").search(Q.subject(subject)):
            print(f"pop3  : uidl {info.uid}, {info.size} bytes")


def local_message(subject: str) -> EmailMessage:
    """The message of the local fallback."""
    message = EmailMessage()
    message["From"] = "alice@example.test"
    message["To"] = "bob@example.test"
    message["Subject"] = subject
    message.set_content("Stored by a local transport, read back with the same Mailbox API.\n")
    return message


async def read_local_async(url: str, subject: str) -> None:
    """Read the stored message with the async API."""
    async with unimail.AsyncMailbox.open(url) as box:
        async for info in box.folder("INBOX").search(Q.subject(subject)):
            assert info.envelope is not None
            print(f"async : uid {info.uid}, from {info.envelope.from_[0].addr}")


def main_local() -> None:
    """The fallback without servers: send into a Maildir, then into memory, and read back."""
    subject = f"unimail main job {uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="unimail-example-") as directory:
        maildir = os.path.join(directory, "Maildir")
        print(f"local : no mail server; using a Maildir in {maildir}")
        for send_url, read_url in (
            (f"maildir:{maildir}", f"maildir:{maildir}"),
            ("memory:example", "memory:example"),
        ):
            with unimail.Transport.open(send_url) as transport:
                result = transport.send(local_message(subject))
            print(f"sent  : {subject!r} to {', '.join(result.accepted)} ({result.response})")
            with unimail.Mailbox.open(read_url) as box:
                inbox = box.folder("INBOX")
                (info,) = inbox.search(Q.subject(subject))
                message = inbox.get(info.uid)
                print(f"{type(box).__name__}: status {inbox.status()}")
                print(f"sync  : uid {info.uid}, {info.size} bytes, subject {message['Subject']!r}")
                print("        body:", message.get_content().strip())
            for backend in ("asyncio", "trio"):
                anyio.run(read_local_async, read_url, subject, backend=backend)
    print("main job: OK (local fallback: Maildir and memory, no mail server was used)")


def main() -> None:
    """Send one message and read it back three ways."""
    if sys.argv[1:] == ["--local"]:
        main_local()
        return
    env = settings()
    tls = ssl.create_default_context(cafile=env["CA"])  # trust the test CA, verify host names
    subject = f"unimail main job {uuid.uuid4().hex[:8]}"
    send(env, tls, subject)
    read_sync(env, tls, subject)
    read_pop3(env, tls, subject)
    for backend in ("asyncio", "trio"):
        anyio.run(read_async, env, tls, subject, backend=backend)
    print("main job: OK")


if __name__ == "__main__":
    main()
