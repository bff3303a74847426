"""Turning raw message bytes into ``email.message.EmailMessage`` values for the caller."""

from __future__ import annotations

import email.message
import email.parser
import email.policy

__all__ = ["parse_email"]

_PARSER = email.parser.BytesParser(policy=email.policy.default)


def parse_email(raw: bytes) -> email.message.EmailMessage:
    """Parse the raw message ``raw`` with ``email.policy.default``.

    Mail travels with CRLF line endings, and the standard library's parser keeps them in the
    text it returns (``get_content()`` would end every line with ``"\\r\\n"``). The lines are
    ended with ``"\\n"`` first, as Python's own ``mailbox`` module stores messages, so that
    text parts read like any other Python text; ``as_bytes(policy=email.policy.SMTP)`` gives
    CRLF back for sending.
    """
    message = _PARSER.parsebytes(raw.replace(b"\r\n", b"\n"))
    assert isinstance(message, email.message.EmailMessage)  # policy.default makes them
    return message
