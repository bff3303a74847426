"""What POP3 gives about a message, turned into the library's values: the header block of
``TOP n 0`` (or of a whole ``RETR``) parsed with the standard library into an
:class:`~unimail.Envelope`.

Servers deliver what senders wrote, and senders write anything: every header is read
defensively, and a field that cannot be understood is left empty rather than failing the
whole listing.
"""

from __future__ import annotations

import datetime
import email.message
import email.parser
import email.policy
import email.utils

import attrs

from ..._models import Address, Envelope, FetchField, MessageInfo
from ._listing import Listing

__all__ = ["InfoFields", "envelope_of", "header_block", "parse_headers", "parse_message"]

_HEADER_PARSER = email.parser.BytesHeaderParser(policy=email.policy.default)
_PARSER = email.parser.BytesParser(policy=email.policy.default)


def header_block(data: bytes) -> bytes:
    """Return the header block of the raw message ``data``: up to and including the empty
    line that ends it (RFC 5322 section 2.1), or all of ``data`` when there is none."""
    end = data.find(b"\r\n\r\n")
    if end >= 0:
        return data[: end + 4]
    end = data.find(b"\n\n")  # a server that stored bare LFs
    return data[: end + 2] if end >= 0 else data


def parse_headers(data: bytes) -> email.message.EmailMessage:
    """Parse the header block ``data`` (a body after it is ignored)."""
    message = _HEADER_PARSER.parsebytes(header_block(data))
    assert isinstance(message, email.message.EmailMessage)  # policy.default makes them
    return message


def parse_message(data: bytes) -> email.message.EmailMessage:
    """Parse a whole raw message."""
    message = _PARSER.parsebytes(data)
    assert isinstance(message, email.message.EmailMessage)  # policy.default makes them
    return message


def _text(message: email.message.Message, name: str) -> str | None:
    try:
        value = message.get(name)
        return None if value is None else str(value)
    except (ValueError, TypeError, IndexError, AttributeError, LookupError):
        raw = message.get_all(name, failobj=[None])[0]
        return None if raw is None else str(raw)


def _addresses(message: email.message.Message, name: str) -> tuple[Address, ...]:
    try:
        header = message.get(name)
        if header is None:
            return ()
        found = getattr(header, "addresses", None)
        if found is not None:
            return tuple(
                Address(name=a.display_name or None, addr=a.addr_spec)
                for a in found
                if a.addr_spec and a.addr_spec != "<>"
            )
        pairs = email.utils.getaddresses([str(header)])
    except (ValueError, TypeError, IndexError, AttributeError, LookupError):
        raw = message.get_all(name, failobj=[])
        pairs = email.utils.getaddresses([str(v) for v in raw])
    return tuple(Address(name=n or None, addr=a) for n, a in pairs if a)


def _date(message: email.message.Message) -> datetime.datetime | None:
    try:
        header = message.get("Date")
        if header is None:
            return None
        stamp = getattr(header, "datetime", None)
        if isinstance(stamp, datetime.datetime):
            return stamp
        return email.utils.parsedate_to_datetime(str(header))
    except (ValueError, TypeError, IndexError, AttributeError, LookupError, OverflowError):
        return None


def envelope_of(message: email.message.Message) -> Envelope:
    """Return the :class:`Envelope` of a parsed message (headers at least)."""
    return Envelope(
        date=_date(message),
        subject=_text(message, "Subject"),
        from_=_addresses(message, "From"),
        sender=_addresses(message, "Sender"),
        reply_to=_addresses(message, "Reply-To"),
        to=_addresses(message, "To"),
        cc=_addresses(message, "Cc"),
        bcc=_addresses(message, "Bcc"),
        in_reply_to=_text(message, "In-Reply-To"),
        message_id=_text(message, "Message-ID"),
    )


@attrs.frozen
class InfoFields:
    """Which fields a :class:`MessageInfo` gets: decided once per call, not once per message
    (enum flag tests are slow, and a mailbox can have thousands of messages)."""

    size: bool
    envelope: bool
    headers: bool
    body: bool

    @classmethod
    def of(cls, fields: FetchField) -> InfoFields:
        """Return the (cached) decision for ``fields``."""
        return _INFOS.get(fields) or _INFOS.setdefault(
            fields,
            cls(
                FetchField.SIZE in fields, FetchField.ENVELOPE in fields,
                FetchField.HEADERS in fields, FetchField.BODY in fields,
            ),
        )  # fmt: skip

    def make(self, listing: Listing, number: int, data: bytes | None, body: bool) -> MessageInfo:
        """Return the MessageInfo of message ``number``; ``data`` is what was read of it (its
        headers from TOP, or the whole message from RETR when ``body``), ``None`` when the
        fields asked for need nothing but the listing."""
        envelope = headers = None
        if data is not None and (self.envelope or self.headers):
            headers = header_block(data)
            if self.envelope:
                envelope = envelope_of(parse_headers(headers))
        return MessageInfo(
            uid=listing.uid_of[number],
            size=listing.sizes.get(number) if self.size else None,
            envelope=envelope,
            headers=headers if self.headers else None,
            body=data if body and self.body else None,
        )


_INFOS: dict[FetchField, InfoFields] = {}
