"""Messages as the local stores hold them: raw bytes in, library values out.

A local store keeps each message exactly as it was given (an ``EmailMessage`` is serialised with
CRLF line endings, as IMAP APPEND sends it), so ``get_bytes()`` returns what ``append()`` took.
The envelope is built from the header fields with the same code POP3 uses (RFC 2047 words
decoded by the ``email`` package), and the body structure is computed with the ``email``
package in the shape IMAP BODYSTRUCTURE has (:class:`~unimail.BodyPart`).
"""

from __future__ import annotations

import datetime
import email.message
import email.parser
import email.policy
import email.utils
from email.message import Message
from typing import Protocol

from .._errors import InvalidArgument
from .._models import Address, BodyPart, Envelope, FetchField, MessageInfo
from .._proto._rfc2047 import decode_words
from .._proto.pop3._message import envelope_of, header_block, parse_message
from ._flags import FlagSet

__all__ = [
    "Readable",
    "body_structure",
    "fast_envelope",
    "make_info",
    "parse_fast",
    "read_header_block",
    "serialise",
]

_CHUNK = 64 * 1024
# compat32 keeps header values as text, unparsed: several times faster than policy.default's
# header objects. Envelopes and client-side search decode only what they use (RFC 2047 words
# with the fast decoder IMAP envelopes use), so a search over thousands of messages is cheap.
_FAST_HEADERS = email.parser.BytesHeaderParser(policy=email.policy.compat32)
_FAST_MESSAGE = email.parser.BytesParser(policy=email.policy.compat32)


def parse_fast(data: bytes, *, whole: bool) -> email.message.Message:
    """Parse ``data`` (the whole message, or its header block) with the fast compat32 policy."""
    if whole:
        return _FAST_MESSAGE.parsebytes(data)
    return _FAST_HEADERS.parsebytes(header_block(data))


def _unfolded(raw: object) -> str:
    # Unfold (RFC 5322 section 2.2.3); 8-bit bytes came in as surrogate escapes: most are UTF-8
    # (RFC 6532), and what is not becomes U+FFFD rather than failing.
    text = str(raw).replace("\r\n", "").replace("\n", "")
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _addresses(values: list[str]) -> tuple[Address, ...]:
    found: list[Address] = []
    for display, addr in email.utils.getaddresses(values):
        if addr and addr != "<>":
            found.append(Address(name=decode_words(display) or None, addr=addr))
    return tuple(found)


def fast_envelope(message: email.message.Message) -> Envelope:
    """Return the :class:`Envelope` of a message parsed by :func:`parse_fast`: the same
    values ``envelope_of`` gives (RFC 2047 words decoded), at a fraction of its cost."""
    fields: dict[str, list[str]] = {}
    for name, raw in message.raw_items():
        fields.setdefault(name.lower(), []).append(_unfolded(raw))

    def first(name: str) -> str | None:
        values = fields.get(name)
        return values[0].strip() if values else None

    date = None
    raw_date = first("date")
    if raw_date:
        try:
            date = email.utils.parsedate_to_datetime(raw_date)
        except (ValueError, TypeError, IndexError, OverflowError):
            date = None
    subject = first("subject")
    return Envelope(
        date=date,
        subject=None if subject is None else decode_words(subject),
        from_=_addresses(fields.get("from", [])),
        sender=_addresses(fields.get("sender", [])),
        reply_to=_addresses(fields.get("reply-to", [])),
        to=_addresses(fields.get("to", [])),
        cc=_addresses(fields.get("cc", [])),
        bcc=_addresses(fields.get("bcc", [])),
        in_reply_to=first("in-reply-to"),
        message_id=first("message-id"),
    )


def serialise(message: email.message.Message | bytes) -> bytes:
    """Return the bytes a store keeps for ``message``.

    Raises:
        InvalidArgument: not a message or bytes, or bytes holding NUL (refused by IMAP too).
    """
    if isinstance(message, (bytes, bytearray, memoryview)):
        raw = bytes(message)
    elif isinstance(message, email.message.Message):
        # policy.SMTP: CRLF line endings, as IMAP messages have (RFC 9051 section 6.3.12).
        raw = message.as_bytes(policy=email.policy.SMTP)
    else:
        raise InvalidArgument(f"a message is an EmailMessage or bytes, not {type(message)}")
    if b"\0" in raw:
        raise InvalidArgument("the message holds NUL bytes")
    return raw


class Readable(Protocol):
    """A binary file, as far as :func:`read_header_block` uses it."""

    def read(self, size: int = -1, /) -> bytes:
        """Read up to ``size`` bytes."""


def read_header_block(file: Readable, limit: int) -> bytes:
    """Read from ``file`` up to the end of the header block (at most ``limit`` bytes)."""
    data = b""
    while len(data) < limit:
        chunk = file.read(min(_CHUNK, limit - len(data)))
        if not chunk:
            break
        start = max(0, len(data) - 3)
        data += chunk
        if b"\n\n" in data[start:] or b"\n\r\n" in data[start:]:
            break
    return header_block(data)


def make_info(
    uid: int,
    fields: FetchField,
    *,
    flags: FlagSet,
    size: int | None,
    internal_date: datetime.datetime | None,
    data: bytes | None,
    message: email.message.Message | None = None,
) -> MessageInfo:
    """Return the :class:`MessageInfo` of one message with the ``fields`` asked for.

    Args:
        data: the header block, or the whole message when ``BODY`` or ``BODYSTRUCTURE`` was
            asked; ``None`` when the fields need no content.
        message: ``data`` already parsed by :func:`parse_fast`, to parse it once only.
    """
    envelope = headers = structure = None
    if data is not None:
        if FetchField.ENVELOPE in fields:
            parsed = message if message is not None else parse_fast(data, whole=False)
            envelope = fast_envelope(parsed)
        if FetchField.HEADERS in fields:
            headers = header_block(data)
        if FetchField.BODYSTRUCTURE in fields:
            structure = body_structure(parse_message(data))
    return MessageInfo(
        uid=uid,
        flags=flags if FetchField.FLAGS in fields else None,
        size=size if FetchField.SIZE in fields else None,
        internal_date=internal_date if FetchField.INTERNALDATE in fields else None,
        envelope=envelope,
        headers=headers,
        body=data if FetchField.BODY in fields else None,
        body_structure=structure,
    )


def body_structure(message: email.message.Message) -> BodyPart:
    """Return the MIME structure of ``message`` as IMAP BODYSTRUCTURE numbers it (RFC 9051
    section 6.4.5: parts ``1``, ``2.1``...; a multipart body carries its message's specifier)."""
    if message.is_multipart():
        return _part(message, "")
    return _part(message, "1")


def _part(part: email.message.Message, section: str) -> BodyPart:
    content_type = part.get_content_type()
    params = {k.lower(): str(v) for k, v in part.get_params(failobj=[], header="content-type")[1:]}
    disposition_params: dict[str, str] = {}
    disposition = part.get_content_disposition()
    if disposition is not None:
        pairs = part.get_params(failobj=[], header="content-disposition")[1:]
        disposition_params = {k.lower(): str(v) for k, v in pairs}
        if isinstance(part, email.message.EmailMessage) and part.get_filename():
            disposition_params["filename"] = str(part.get_filename())
    children: list[BodyPart] = []
    envelope = None
    size = lines = None
    if part.is_multipart() and content_type.startswith("multipart/"):
        prefix = f"{section}." if section else ""
        payload = part.get_payload()
        assert isinstance(payload, list)  # is_multipart() says so
        children = [_part(child, f"{prefix}{i}") for i, child in enumerate(payload, 1)]
    elif content_type == "message/rfc822" and isinstance(inner := _embedded(part), Message):
        envelope = envelope_of(inner)
        inner_section = section if inner.is_multipart() else f"{section}.1"
        children = [_part(inner, inner_section)]
        encoded = inner.as_bytes(policy=inner.policy.clone(linesep="\r\n"))
        size, lines = len(encoded), encoded.count(b"\n")
    else:
        raw = part.get_payload(decode=False)
        text = raw if isinstance(raw, str) else ""
        encoded = text.encode("utf-8", "surrogateescape")
        size = len(encoded)
        if content_type.startswith("text/"):
            lines = encoded.count(b"\n")
    return BodyPart(
        section=section,
        content_type=content_type,
        params=params if not content_type.startswith("multipart/") or params else {},
        id=_text(part, "Content-ID"),
        description=_text(part, "Content-Description"),
        encoding=(_text(part, "Content-Transfer-Encoding") or "7bit").lower(),
        size=size,
        lines=lines,
        md5=_text(part, "Content-MD5"),
        disposition=disposition,
        disposition_params=disposition_params,
        language=tuple((_text(part, "Content-Language") or "").replace(",", " ").split()),
        location=_text(part, "Content-Location"),
        children=children,
        envelope=envelope,
    )


def _embedded(part: Message) -> Message | None:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    return None


def _text(part: email.message.Message, name: str) -> str | None:
    try:
        value = part.get(name)
    except Exception:  # a malformed field is left out, never fatal
        return None
    return None if value is None else str(value).strip()
