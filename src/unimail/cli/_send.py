"""``unimail send URL [FILE]``: a message from a file or standard input, or a quick one."""

from __future__ import annotations

import argparse
import email.policy
import email.utils
import sys
from email.message import EmailMessage
from typing import Any

import unimail

from ._common import (
    EXIT_OK,
    EXIT_PARTIAL,
    UsageError,
    add_password_options,
    open_transport,
    print_json,
)

__all__ = ["add_parsers"]


def add_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``send`` command."""
    send = commands.add_parser(
        "send", parents=[common], allow_abbrev=False,
        help="send a message (from a file, stdin, or quick)",
        description="Send a message. With --subject, a quick plain-text message is built: "
        "its body is FILE or standard input, From is --from, To is --to. Without --subject, "
        "FILE (or standard input) is a whole RFC 5322 message; --from/--to then override the "
        "envelope that is otherwise taken from its headers (Bcc is not transmitted).",
    )  # fmt: skip
    send.add_argument("url", help="the SMTP server: smtps://user@host, smtp://user@host:587")
    send.add_argument("file", nargs="?", default="-", help="the message file (default: stdin)")
    send.add_argument("--from", dest="sender", metavar="ADDRESS", help="the sender")
    send.add_argument(
        "--to", action="append", default=[], metavar="ADDRESS", help="a recipient (repeatable)"
    )
    send.add_argument(
        "--cc", action="append", default=[], metavar="ADDRESS", help="a Cc recipient (repeatable)"
    )
    send.add_argument("--subject", help="build a quick text message with this subject")
    add_password_options(send)
    send.set_defaults(run=run_send)


def run_send(args: argparse.Namespace) -> int:
    """Send the message; exit 9 when some recipients refused it."""
    data = _read(args.file)
    if args.subject is not None:
        message: EmailMessage | bytes = _quick(args, data)
        sender, recipients = None, None
    elif args.sender is not None and (args.to or args.cc):
        message, sender, recipients = data, args.sender, [*args.to, *args.cc]
    else:
        parsed = email.message_from_bytes(data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)  # policy.default makes EmailMessage objects
        message, sender = parsed, args.sender
        recipients = [*args.to, *args.cc] or None
    with open_transport(args, args.url) as transport:
        result = transport.send(message, sender=sender, recipients=recipients)
    if args.json:
        print_json(
            {
                "accepted": list(result.accepted),
                "refused": {a: list(r) for a, r in result.refused.items()},
                "response": result.response,
            }
        )
    else:
        for address, (code, text) in result.refused.items():
            sys.stderr.write(f"unimail: refused {address}: {code} {text}\n")
        print(f"sent to {len(result.accepted)} recipient(s)")
    return EXIT_PARTIAL if result.refused else EXIT_OK


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    with open(path, "rb") as file:
        return file.read()


def _quick(args: argparse.Namespace, body: bytes) -> EmailMessage:
    if args.sender is None or not (args.to or args.cc):
        raise UsageError("a quick message (--subject) needs --from and --to")
    message = EmailMessage()
    try:
        message["From"] = args.sender
        message["To"] = ", ".join(args.to) if args.to else None
        if args.cc:
            message["Cc"] = ", ".join(args.cc)
        message["Subject"] = args.subject
    except (ValueError, IndexError) as exc:
        raise unimail.InvalidArgument(f"bad header: {exc}") from None
    if not args.to:
        del message["To"]
    message["Date"] = email.utils.formatdate(localtime=True)
    domain = args.sender.rpartition("@")[2] or None
    message["Message-ID"] = email.utils.make_msgid(domain=domain)
    message.set_content(body.decode("utf-8", errors="replace"))
    return message
