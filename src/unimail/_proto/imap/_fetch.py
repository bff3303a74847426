"""FETCH answers (RFC 9051 section 6.4.5, 7.5.2).

message-data = nz-number SP "FETCH" SP msg-att
msg-att      = "(" (msg-att-dynamic / msg-att-static) *(SP (msg-att-dynamic /
               msg-att-static)) ")"
date-time    = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
fetch-mod-resp = "MODSEQ" SP "(" permsg-modsequence ")"       ; RFC 7162 section 7
msg-att-static =/ "BINARY" section-binary SP (nstring / literal8) /
                  "BINARY.SIZE" section-binary SP number       ; RFC 3516 section 9
literal8     = "~{" number64 "}" CRLF *OCTET
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

import attrs

from ..._errors import ProtocolError
from ..._models import Flag, MessageInfo
from .._assemble import assemble
from . import _bodystructure
from ._envelope import MONTH_DIGITS, MONTHS, make_datetime, parse_envelope
from ._parser import Response, parse_response

__all__ = ["FetchData", "RawItems", "fetch_data", "parse_flags"]

_SYSTEM_FLAGS = {flag.value.lower(): flag for flag in Flag}
_ABSENT = object()
# Flag lists as sent (atoms) -> their frozenset; bounded: cleared when full.
_FLAG_SETS: dict[tuple[object, ...], frozenset[Flag | str]] = {}

# date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
_DATE_TIME = re.compile(
    r"(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)", re.ASCII
)


# Not slotted: one is made per response, and attrs fills an instance dict with plain
# stores, faster than slot setters (see BodyPart).
@attrs.frozen(kw_only=True, slots=False)
class FetchData:
    """The attributes of one untagged FETCH response, keyed by upper-case name."""

    seq: int
    items: dict[str, object]
    #: The data of the responses the items came from, as received (see ``RawItems``).
    sources: tuple[tuple[bytes, ...], ...] = attrs.field(default=(), eq=False, repr=False)

    @property
    def uid(self) -> int | None:
        """The UID, when the server sent it (it always does for UID FETCH)."""
        value = self.items.get("UID")
        return value if isinstance(value, int) else None

    @property
    def modseq(self) -> int | None:
        """The MODSEQ (CONDSTORE), when the server sent it.

        Raises:
            ProtocolError: it is not ``(number)``.
        """
        value = self.items.get("MODSEQ")
        if value is None:
            return None
        if not isinstance(value, list) or len(value) != 1 or not isinstance(value[0], int):
            raise ProtocolError(f"malformed MODSEQ: {value!r:.80}")
        return value[0]

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
        items = self.items
        get = items.get
        uid = get("UID")
        if not isinstance(uid, int):
            raise ProtocolError("FETCH response without UID")
        size = get("RFC822.SIZE")
        flags = get("FLAGS", _ABSENT)
        internal = get("INTERNALDATE")
        envelope = get("ENVELOPE")
        structure = get("BODYSTRUCTURE")
        return assemble(  # every field, as MessageInfo(...) would hold it
            MessageInfo,
            {
                "uid": uid,
                "flags": parse_flags(flags) if flags is not _ABSENT else None,
                "size": size if isinstance(size, int) else None,
                "internal_date": parse_internal_date(internal) if internal is not None else None,
                "envelope": parse_envelope(envelope) if envelope is not None else None,
                "headers": self.section("BODY[HEADER]") if "BODY[HEADER]" in items else None,
                "body": self.section("BODY[]") if "BODY[]" in items else None,
                "body_structure": (
                    _bodystructure.parse_bodystructure(structure) if structure is not None else None
                ),
                "modseq": self.modseq if "MODSEQ" in items else None,
                "raw": (
                    RawItems(self.seq, self.sources) if self.sources else MappingProxyType(items)
                ),
            },
        )


# Attribute names as sent -> as keyed in FetchData.items; filled as names are seen (bounded),
# and those of them sent as they are keyed.
_NAMES: dict[object, str] = {}
_AS_KEYED: set[object] = set()


def fetch_data(response: Response) -> FetchData:
    """Return the attributes of an untagged FETCH response."""
    if response.number is None or len(response.data) != 1 or not isinstance(response.data[0], list):
        raise ProtocolError(f"malformed FETCH response: {response.data!r:.200}")
    pairs = response.data[0]
    if len(pairs) % 2:
        raise ProtocolError(f"FETCH attributes are not name/value pairs: {pairs!r:.200}")
    items = _items(pairs)
    sources = (response.source,) if response.source else ()
    return assemble(FetchData, {"seq": response.number, "items": items, "sources": sources})


def _items(pairs: list[object]) -> dict[str, object]:
    """FETCH data items by name, from ``name value name value ...``."""
    pairwise = iter(pairs)  # an even number of them: the caller checked
    try:
        keyed: dict[Any, object] = dict(zip(pairwise, pairwise, strict=False))
    except TypeError:  # a list where a name is due: refused below
        pass
    else:
        if keyed.keys() <= _AS_KEYED:
            return keyed  # the usual case: every name seen before, spelt as it is keyed
    try:
        # Every name seen before, some spelt otherwise (uid, BODY[]<0>): looked up at once.
        return dict(zip(map(_NAMES.__getitem__, pairs[::2]), pairs[1::2], strict=True))
    except (KeyError, TypeError):
        pass
    items = {}
    for key, value in zip(pairs[::2], pairs[1::2], strict=False):
        if not isinstance(key, str):
            raise ProtocolError(f"FETCH attribute name is not an atom: {key!r:.80}") from None
        # BODY[HEADER]<0> is reported as BODY[HEADER]<0>; the origin octet is not part of
        # the name the caller asked for, and BODY.PEEK is answered as BODY (RFC 9051 7.5.2).
        name = key.upper()
        if name.endswith(">") and "<" in name:
            name = name[: name.rindex("<")]
        items[name] = value
        if len(_NAMES) < 256:
            _NAMES[key] = name
            if name == key:
                _AS_KEYED.add(key)
    return items


class RawItems(Mapping[str, object]):
    """``MessageInfo.raw`` of an IMAP message: its FETCH items as sent, tokenised on first use.

    The values of thousands of messages kept in a list would hold a dozen lists each, which
    cost memory and the garbage collector's time; the text they came from is held instead
    (a literal in it is the very bytes object the message's ``body`` or ``headers`` is).
    """

    __slots__ = ("_items", "_seq", "_sources")

    def __init__(self, seq: int, sources: tuple[tuple[bytes, ...], ...]) -> None:
        self._seq = seq
        self._sources = sources
        self._items: dict[str, object] | None = None

    def _load(self) -> dict[str, object]:
        if self._items is None:
            items: dict[str, object] = {}
            for parts in self._sources:  # in order: a later response's item wins, as it did
                frame = [b"* %d FETCH %s" % (self._seq, parts[0]), *parts[1:]]
                # Read before with the connection's depth limit; the loop needs none.
                items.update(fetch_data(parse_response(frame, max_depth=1 << 30)).items)
            self._items = items
        return self._items

    def __getitem__(self, name: str) -> object:
        return self._load()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())

    def __repr__(self) -> str:
        return f"RawItems({self._load()!r})"


def parse_flags(value: object) -> frozenset[Flag | str]:
    """Return a flag list as :class:`Flag` members (system flags) and ``str`` (keywords)."""
    if not isinstance(value, list):
        raise ProtocolError(f"FLAGS is not a list: {value!r:.80}")
    key = tuple(value)
    try:
        return _FLAG_SETS[key]  # a mailbox has few combinations of flags
    except (KeyError, TypeError):  # TypeError: a list in the list
        pass
    flags: set[Flag | str] = set()
    for item in value:
        text = str(item)
        flags.add(_SYSTEM_FLAGS.get(text.lower(), text))
    found = frozenset(flags)
    if len(value) <= 8 and all(type(item) is str for item in value):
        if len(_FLAG_SETS) >= 256:
            _FLAG_SETS.clear()
        _FLAG_SETS[key] = found
    return found


def parse_internal_date(value: object) -> datetime.datetime:
    """Parse ``"17-Jul-1996 02:44:25 -0700"`` (day may be space-padded).

    Month names are matched here rather than with ``strptime("%b")``, which follows the
    process's locale.
    """
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
    if len(text) == 26 and text[2] == text[6] == "-" and text[14] == text[17] == ":":
        # The form servers send (" 7-Jul-1996 02:44:25 -0700"), read by position in one call
        # in C; anything it refuses (and hour 24, which newer Pythons would read as the next
        # midnight) goes on to the regex below, which says what is wrong.
        month_digits = MONTH_DIGITS.get(text[3:6])
        if month_digits is not None and text[11] == text[20] == " " and text[12:14] < "24":
            day = text[:2].replace(" ", "0")
            try:
                return datetime.datetime.fromisoformat(
                    f"{text[7:11]}-{month_digits}-{day}T{text[12:20]}{text[21:24]}:{text[24:]}"
                )
            except ValueError:
                pass
    match = _DATE_TIME.fullmatch(text.strip())
    month = MONTHS.get(match.group(2).lower(), 0) if match else 0
    if match is None or not month:
        raise ProtocolError(f"malformed INTERNALDATE {text!r}")
    day, _, year, hour, minute, second, sign, zone_h, zone_m = match.groups()
    try:
        return make_datetime(year, month, day, hour, minute, second, sign, zone_h, zone_m)
    except ValueError:
        raise ProtocolError(f"impossible INTERNALDATE {text!r}") from None
