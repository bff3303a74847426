"""ENVELOPE structures (RFC 9051 section 7.5.2) as :class:`Envelope` values.

envelope     = "(" env-date SP env-subject SP env-from SP env-sender SP env-reply-to SP
               env-to SP env-cc SP env-bcc SP env-in-reply-to SP env-message-id ")"
address      = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"
"""

from __future__ import annotations

import datetime
import email.utils
import functools
import re

from ..._errors import ProtocolError
from ..._models import Address, Envelope
from .._assemble import assemble
from .._rfc2047 import decode_words

__all__ = ["MONTHS", "MONTH_DIGITS", "date_loosely", "make_datetime", "parse_envelope", "zone"]

_RFC5322_DATE = re.compile(
    r"(?:[A-Za-z]{3}, *)?(\d{1,2}) ([A-Za-z]{3}) (\d{4}) (\d\d):(\d\d)(?::(\d\d))? "
    r"([+-])(\d\d)(\d\d)(?: \(.*\))?",
    re.ASCII,
)
MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}


_DAY_NAMES = frozenset({"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"})
# "Oct" -> "10": month names as written in dates, to the digits of an ISO date.
MONTH_DIGITS = {name.title(): f"{number:02d}" for name, number in MONTHS.items()}


@functools.lru_cache(maxsize=256)
def zone(sign: str, hours: str, minutes: str) -> datetime.timezone:
    """Return the fixed-offset zone ``+hhmm`` / ``-hhmm``."""
    offset = datetime.timedelta(hours=int(hours), minutes=int(minutes))
    return datetime.timezone(-offset if sign == "-" else offset)


def make_datetime(
    year: str, month: int, day: str, hour: str, minute: str, second: str,
    sign: str, zone_h: str, zone_m: str,
) -> datetime.datetime:  # fmt: skip
    """Return the moment that date and time fields (ASCII digits, as matched) name.

    Args:
        year: four digits.
        month: 1 to 12.
        day: one or two digits.
        hour: two digits.
        minute: two digits.
        second: two digits.
        sign: ``"+"`` or ``"-"``.
        zone_h: the zone's hours, two digits.
        zone_m: the zone's minutes, two digits.

    Returns:
        An aware datetime.

    Raises:
        ValueError: an impossible date, time or zone.
    """
    if hour < "24":  # newer Pythons read T24:00 as the next midnight; we refuse it
        try:
            # One call in C: half the cost of six int() and the constructor.
            return datetime.datetime.fromisoformat(
                f"{year}-{month:02d}-{day:0>2}T{hour}:{minute}:{second}{sign}{zone_h}:{zone_m}"
            )
        except ValueError:
            pass  # the constructor below says what is wrong, or reads what this refused
    return datetime.datetime(
        int(year), month, int(day), int(hour), int(minute), int(second),
        tzinfo=zone(sign, zone_h, zone_m),
    )  # fmt: skip


# Bounded caches: the same correspondents and encoded names come back message after message.
# What they hold is immutable (str, frozen Address); each is cleared when full.
_WORDS: dict[bytes, str] = {}
_ADDRESSES: dict[tuple[object, ...], Address] = {}
_CACHE_SIZE = 2048


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        if b"=?" not in value:
            return value.decode("utf-8", "replace")
        found = _WORDS.get(value)
        if found is None:
            found = decode_words(value.decode("utf-8", "replace"))
            if len(_WORDS) >= _CACHE_SIZE:
                _WORDS.clear()
            _WORDS[value] = found
        return found
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
        key = (name, mailbox, host)
        try:
            address = _ADDRESSES.get(key)
            cached = True
        except TypeError:  # a list where a string is due: not cached
            address, cached = None, False
        if address is None:
            if type(mailbox) is bytes and type(host) is bytes:
                addr = (mailbox + b"@" + host).decode("utf-8", "replace")
            else:
                addr = f"{_plain(mailbox)}@{_plain(host)}"
            address = assemble(
                Address, {"name": None if name is None else _text(name), "addr": addr}
            )
            if cached:
                if len(_ADDRESSES) >= _CACHE_SIZE:
                    _ADDRESSES.clear()
                _ADDRESSES[key] = address
        out.append(address)
    return tuple(out)


def _date(text: str) -> datetime.datetime | None:
    # date-time = [ day-of-week "," ] date time   (RFC 5322 section 3.3); the usual spelling
    # is read here, anything else by the standard library.
    if len(text) == 31 and text[3:5] == ", " and text[7] == text[11] == text[16] == " ":
        # "Tue, 01 Oct 2024 00:00:07 +0200", as most mail programs write it: read by position
        # in one call in C. Whatever it refuses (and hour 24, which newer Pythons would read
        # as the next midnight) goes on to the regex.
        month = MONTH_DIGITS.get(text[8:11])
        usual = (
            text[:3] in _DAY_NAMES
            and text[19] == text[22] == ":"
            and text[25] == " "
            and text[26] in "+-"
            and text[17:19] < "24"
        )
        if month is not None and usual:
            try:
                return datetime.datetime.fromisoformat(
                    f"{text[12:16]}-{month}-{text[5:7]}T{text[17:25]}{text[26:29]}:{text[29:]}"
                )
            except ValueError:
                pass
    return date_loosely(text)


def date_loosely(text: str) -> datetime.datetime | None:
    """Read a Date header's text as ``_date`` does, without its fast path by position: every
    date that path does not take, and the reference it is tested against."""
    match = _RFC5322_DATE.fullmatch(text)
    if match is not None:
        day, month, year, hour, minute, second, sign, zone_h, zone_m = match.groups()
        number = MONTHS.get(month.lower())
        if number is not None:
            try:
                return make_datetime(
                    year, number, day, hour, minute, second or "00", sign, zone_h, zone_m
                )
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
    from_ = _addresses(value[2])
    # Servers fill in Sender and Reply-To from From when the message has none (RFC 9051
    # 7.5.2), so the three lists are usually equal: read once.
    sender = from_ if value[3] == value[2] else _addresses(value[3])
    reply_to = from_ if value[4] == value[2] else _addresses(value[4])
    return assemble(  # every field, as Envelope(...) would hold it
        Envelope,
        {
            "date": date,
            "subject": _text(value[1]),
            "from_": from_,
            "sender": sender,
            "reply_to": reply_to,
            "to": _addresses(value[5]),
            "cc": _addresses(value[6]) if value[6] is not None else (),
            "bcc": _addresses(value[7]) if value[7] is not None else (),
            "in_reply_to": _text(value[8]),
            "message_id": _text(value[9]),
        },
    )
