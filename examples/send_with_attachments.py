"""Send a message with files attached through an SMTP submission server.

    UNIMAIL_PASSWORD=... python3 examples/send_with_attachments.py \\
        smtp://alice@mail.example.org --sender alice@example.org --to bob@example.org \\
        --subject "The report" --text "Here it is." report.pdf data.csv

The message is a standard ``email.message.EmailMessage``: the text first, then each file with
its MIME type guessed from its name (``application/octet-stream`` when unknown), base64
encoded. ``smtp://`` requires STARTTLS (port 587), ``smtps://`` is implicit TLS (port 465).
The password comes from ``UNIMAIL_PASSWORD`` (or a prompt); ``--cafile`` trusts a private CA.
"""

from __future__ import annotations

import argparse
import getpass
import mimetypes
import os
import ssl
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import unimail


# --8<-- [start:build]
def build_message(
    sender: str, recipients: list[str], subject: str, text: str, files: list[Path]
) -> EmailMessage:
    """Return a multipart/mixed message: ``text``, then each file as an attachment."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(text)
    for path in files:
        kind, encoding = mimetypes.guess_type(path.name)
        if kind is None or encoding is not None:  # unknown, or compressed (.gz): opaque bytes
            kind = "application/octet-stream"
        maintype, subtype = kind.split("/", 1)
        message.add_attachment(
            path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name
        )
    return message


# --8<-- [end:build]


# --8<-- [start:send]
def send(url: str, password: str, tls: ssl.SSLContext | None, message: EmailMessage) -> None:
    """Send ``message`` and report each recipient's fate."""
    with unimail.Transport.open(url, password=password, ssl_context=tls) as smtp:
        try:
            result = smtp.send(message)  # envelope from From / To / Cc / Bcc
        except unimail.SendError as error:  # every recipient refused: nothing was sent
            for address, (code, text) in error.refused.items():
                print(f"refused: {address} {code} {text}")
            raise SystemExit(1) from None
    for address in result.accepted:
        print(f"accepted: {address}")
    for address, (code, text) in result.refused.items():  # some refused, the others got it
        print(f"refused: {address} {code} {text}")
    print(f"server: {result.response}")


# --8<-- [end:send]


def main() -> None:
    """Parse the command line, build the message and send it."""
    parser = argparse.ArgumentParser(description="Send a message with attachments.")
    parser.add_argument("url", help="smtp://user@host[:587] (STARTTLS) or smtps://...:465")
    parser.add_argument("files", nargs="*", type=Path, help="files to attach")
    parser.add_argument("--sender", required=True, help="the From address")
    parser.add_argument("--to", required=True, action="append", help="a recipient (repeatable)")
    parser.add_argument("--subject", default="Files")
    parser.add_argument("--text", default="The files are attached.\n")
    parser.add_argument("--cafile", help="trust this CA (PEM file) instead of the system's")
    args = parser.parse_args()
    password = os.environ.get("UNIMAIL_PASSWORD") or getpass.getpass("password: ")
    tls = ssl.create_default_context(cafile=args.cafile) if args.cafile else None
    message = build_message(args.sender, args.to, args.subject, args.text, args.files)
    send(args.url, password, tls, message)


if __name__ == "__main__":
    main()
