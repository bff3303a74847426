"""FETCH answers (RFC 9051 section 6.4.5, 7.5.2).

message-data = nz-number SP "FETCH" SP msg-att
msg-att      = "(" (msg-att-dynamic / msg-att-static) *(SP (msg-att-dynamic /
               msg-att-static)) ")"
envelope     = "(" env-date SP env-subject SP env-from SP env-sender SP env-reply-to SP
               env-to SP env-cc SP env-bcc SP env-in-reply-to SP env-message-id ")"
address      = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"
date-time    = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
"""

from __future__ import annotations

import datetime
import email.utils
import functools
import re

import attrs

from ..._errors import ProtocolError
from ..._models import Address, Envelope, Flag, MessageInfo
from .._rfc2047 import decode_words
from . import _bodystructure  # a module import: _bodystructure imports this module too
from ._parser import Response

__all__ = ["FetchData", "fetch_data", "parse_flags"]

_SYSTEM_FLAGS = {flag.value.lower(): flag for flag in Flag}

# date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
_DATE_TIME = re.compile(
    r"(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)", re.ASCII
)
_RFC5322_DATE = re.compile(
    r"(?:[A-Za-z]{3}, *)?(\d{1,2}) ([A-Za-z]{3}) (\d{4}) (\d\d):(\d\d)(?::(\d\d))? "
    r"([+-])(\d\d)(\d\d)(?: \(.*\))?",
    re.ASCII,
)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}


@attrs.frozen(kw_only=True)
class FetchData:
    """The attributes of one untagged FETCH response, keyed by upper-case name."""

    seq: int
    items: dict[str, object]

    @property
    def uid(self) -> int | None:
        """The UID, when the server sent it (it always does for UID FETCH)."""
        value = self.items.get("UID")
        return value if isinstance(value, int) else None

    def section(self, name: str) -> bytes | None:
        """Return a body section (``"BODY[]"``, ``"BODY[HEADER]"``), ``b""`` for NIL."""
        value = self.items.get(name)
        if value is None:
            return b"" if name in self.items else None
        if not isinstance(value, bytes):
            raise ProtocolError(f"{name} is not a string: {value!r}")
        return value

    def message_info(self) -> MessageInfo:
        """Convert to the public :class:`MessageInfo` (fields not fetched stay None)."""
        uid = self.uid
        if uid is None:
            raise ProtocolError("FETCH response without UID")
        size = self.items.get("RFC822.SIZE")
        internal = self.items.get("INTERNALDATE")
        envelope = self.items.get("ENVELOPE")
        structure = self.items.get("BODYSTRUCTURE")
        return MessageInfo(
            uid=uid,
            flags=parse_flags(self.items["FLAGS"]) if "FLAGS" in self.items else None,
            size=size if isinstance(size, int) else None,
            internal_date=parse_internal_date(internal) if internal is not None else None,
            envelope=parse_envelope(envelope) if envelope is not None else None,
            headers=self.section("BODY[HEADER]"),
            body=self.section("BODY[]"),
            body_structure=(
                _bodystructure.parse_bodystructure(structure) if structure is not None else None
            ),
        )


def fetch_data(response: Response) -> FetchData:
    """Return the attributes of an untagged FETCH response."""
    if response.number is None or len(response.data) != 1 or not isinstance(response.data[0], list):
        raise ProtocolError(f"malformed FETCH response: {response.data!r:.200}")
    pairs = response.data[0]
    if len(pairs) % 2:
        raise ProtocolError(f"FETCH attributes are not name/value pairs: {pairs!r:.200}")
    items: dict[str, object] = {}
    for key, value in zip(pairs[::2], pairs[1::2], strict=False):
        if not isinstance(key, str):
            raise ProtocolError(f"FETCH attribute name is not an atom: {key!r:.80}")
        # BODY[HEADER]<0> is reported as BODY[HEADER]<0>; the origin octet is not part of
        # the name the caller asked for, and BODY.PEEK is answered as BODY (RFC 9051 7.5.2).
        name = key.upper()
        if name.endswith(">") and "<" in name:
            name = name[: name.rindex("<")]
        items[name] = value
    return FetchData(seq=response.number, items=items)


def parse_flags(value: object) -> frozenset[Flag | str]:
    """Return a flag list as :class:`Flag` members (system flags) and ``str`` (keywords)."""
    if not isinstance(value, list):
        raise ProtocolError(f"FLAGS is not a list: {value!r:.80}")
    flags: set[Flag | str] = set()
    for item in value:
        text = str(item)
        flags.add(_SYSTEM_FLAGS.get(text.lower(), text))
    return frozenset(flags)


@functools.lru_cache(maxsize=256)
def _zone(sign: str, hours: str, minutes: str) -> datetime.timezone:
    offset = datetime.timedelta(hours=int(hours), minutes=int(minutes))
    return datetime.timezone(-offset if sign == "-" else offset)


def parse_internal_date(value: object) -> datetime.datetime:
    """Parse ``"17-Jul-1996 02:44:25 -0700"`` (day may be space-padded).

    Month names are matched here rather than with ``strptime("%b")``, which follows the
    process's locale.
    """
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
    match = _DATE_TIME.fullmatch(text.strip())
    month = _MONTHS.get(match.group(2).lower(), 0) if match else 0
    if match is None or not month:
        raise ProtocolError(f"malformed INTERNALDATE {text!r}")
    day, _, year, hour, minute, second, sign, zone_h, zone_m = match.groups()
    try:
        return datetime.datetime(
            int(year), month, int(day), int(hour), int(minute), int(second),
            tzinfo=_zone(sign, zone_h, zone_m),
        )  # fmt: skip
    except ValueError:
        raise ProtocolError(f"impossible INTERNALDATE {text!r}") from None


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return decode_words(value.decode("utf-8", "replace"))
    return decode_words(str(value))


def _plain(value: object) -> str:
    # addr-mailbox and addr-host carry no encoded words (RFC 2047 section 5).
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def _addresses(value: object) -> tuple[Address, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ProtocolError(f"malformed address list in ENVELOPE: {value!r:.80}")
    out: list[Address] = []
    for item in value:
        if not isinstance(item, list) or len(item) != 4:
            raise ProtocolError(f"malformed address in ENVELOPE: {item!r:.80}")
        name, _adl, mailbox, host = item
        if host is None:
            continue  # RFC 9051 7.5.2: group start/end markers (addr-host NIL)
        out.append(Address(name=_text(name), addr=f"{_plain(mailbox)}@{_plain(host)}"))
    return tuple(out)


def _date(text: str) -> datetime.datetime | None:
    # date-time = [ day-of-week "," ] date time   (RFC 5322 section 3.3); the usual spelling
    # is read here, anything else by the standard library.
    match = _RFC5322_DATE.fullmatch(text)
    if match is not None:
        day, month, year, hour, minute, second, sign, zone_h, zone_m = match.groups()
        number = _MONTHS.get(month.lower())
        if number is not None:
            try:
                return datetime.datetime(
                    int(year), number, int(day), int(hour), int(minute), int(second or 0),
                    tzinfo=_zone(sign, zone_h, zone_m),
                )  # fmt: skip
            except ValueError:
                return None
    try:
        return email.utils.parsedate_to_datetime(text)
    except (ValueError, TypeError, IndexError):
        return None  # an unparseable Date: header is the sender's problem, not ours


def parse_envelope(value: object) -> Envelope:
    """Convert an ENVELOPE structure to :class:`Envelope`."""
    if not isinstance(value, list) or len(value) != 10:
        raise ProtocolError(f"malformed ENVELOPE: {value!r:.120}")
    date_text = _text(value[0])
    date = _date(date_text.strip()) if date_text else None
    return Envelope(
        date=date,
        subject=_text(value[1]),
        from_=_addresses(value[2]),
        sender=_addresses(value[3]),
        reply_to=_addresses(value[4]),
        to=_addresses(value[5]),
        cc=_addresses(value[6]),
        bcc=_addresses(value[7]),
        in_reply_to=_text(value[8]),
        message_id=_text(value[9]),
    )
