"""Messages in and out of folders: raw bytes parsed for the caller, ``append_many()`` items."""

from __future__ import annotations

import datetime
import email.message
import email.parser
import email.policy
from collections.abc import Collection

from ._errors import InvalidArgument
from ._models import Flag

__all__ = ["Appendable", "parse_email", "split_appendable"]

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


#: One message of ``Folder.append_many()`` with its own flags and internal date.
Appendable = tuple[email.message.Message | bytes, Collection[Flag | str], datetime.datetime | None]


def split_appendable(
    item: email.message.Message | bytes | Appendable,
    flags: Collection[Flag | str],
    internal_date: datetime.datetime | None,
) -> tuple[email.message.Message | bytes, Collection[Flag | str], datetime.datetime | None]:
    """Return ``(message, flags, internal_date)`` of one ``append_many()`` item: a tuple's
    own values, or the shared ``flags`` and ``internal_date`` for a bare message.

    Raises:
        InvalidArgument: a tuple that is not ``(message, flags, internal_date)``.
    """
    if isinstance(item, tuple):
        if len(item) != 3:
            raise InvalidArgument("an append_many() tuple is (message, flags, internal_date)")
        return item
    return item, flags, internal_date
