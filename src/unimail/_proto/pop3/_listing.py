"""The maildrop as one session sees it: message numbers, sizes (LIST) and uids (UIDL).

RFC 1939 section 5: message numbers are fixed for the whole session ("messages marked as
deleted are not counted in either total" of STAT, but keep their numbers), and the maildrop
does not change under the session. So LIST and UIDL are asked once per session, and the
messages marked with DELE are remembered here rather than asked again.

Uids are the UIDL unique-ids (``str``); without UIDL they are the message numbers (``int``),
valid for this session only.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from ..._errors import ProtocolError
from ._reply import parse_scan_listing, parse_uidl_listing

__all__ = ["Listing"]


@attrs.define
class Listing:
    """Message numbers, sizes and uids of one session.

    Attributes:
        numbers: the message numbers, ascending.
        sizes: message number -> size in octets.
        uid_of: message number -> uid.
        number_of: uid -> message number.
        has_uidl: True when the uids are UIDL values.
        deleted: the message numbers marked with DELE in this session.
    """

    numbers: list[int]
    sizes: dict[int, int]
    uid_of: dict[int, str | int]
    number_of: dict[str | int, int]
    has_uidl: bool
    deleted: set[int] = attrs.field(factory=set)

    @classmethod
    def parse(cls, list_lines: Sequence[bytes], uidl_lines: Sequence[bytes] | None) -> Listing:
        """Build the listing from the lines of LIST and of UIDL (``None``: no UIDL).

        Raises:
            ProtocolError: a malformed line, a number listed twice, a uid given to two
                messages, or UIDL naming a message that LIST did not.
        """
        sizes: dict[int, int] = {}
        for line in list_lines:
            number, size = parse_scan_listing(line)
            if number in sizes:
                raise ProtocolError(f"LIST names message {number} twice")
            sizes[number] = size
        numbers = sorted(sizes)
        uid_of: dict[int, str | int] = {}
        if uidl_lines is None:
            uid_of = {n: n for n in numbers}
        else:
            for line in uidl_lines:
                number, uid = parse_uidl_listing(line)
                if number not in sizes or number in uid_of:
                    raise ProtocolError(f"UIDL names message {number} unexpectedly")
                uid_of[number] = uid
            if len(uid_of) != len(sizes):
                raise ProtocolError("UIDL and LIST disagree on the messages")
        number_of = {uid: n for n, uid in uid_of.items()}
        if len(number_of) != len(uid_of):
            raise ProtocolError("UIDL gives the same unique-id to two messages")
        return cls(numbers, sizes, uid_of, number_of, uidl_lines is not None)

    def live(self) -> list[int]:
        """The message numbers not marked for deletion, ascending."""
        return [n for n in self.numbers if n not in self.deleted]

    def number(self, uid: object) -> int | None:
        """The message number of ``uid`` when it exists and is not marked for deletion."""
        if isinstance(uid, bool) or not isinstance(uid, (str, int)):
            return None
        number = self.number_of.get(uid)
        if number is None or number in self.deleted:
            return None
        return number
