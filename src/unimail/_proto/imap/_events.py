"""Folder events from untagged responses: EXISTS, EXPUNGE, FETCH (FLAGS), VANISHED.

Grammar (RFC 9051 section 7.4 and 9; RFC 7162 section 3.2.10)::

    mailbox-data  =/ number SP "EXISTS"
    message-data  = nz-number SP ("EXPUNGE" / ("FETCH" SP msg-att))
    expunged-resp = "VANISHED" [SP "(EARLIER)"] SP known-uids
    known-uids    = sequence-set   ; uids, "*" not allowed

Theory of operation
-------------------
A server names messages in EXPUNGE and in unsolicited FETCH by *sequence number*, but events
must name *uids* (sequence numbers never leave a backend). :class:`FolderState` therefore keeps
the folder as the server's session sees it: a list of slots in sequence order, slot ``n - 1``
holding the uid of message ``n``. Each response moves the list in step with the server:

==========================  ===============================================================
``* n EXISTS``              slots grow to ``n``; the new slots are unknown (``None``) until
                            a ``FETCH (UID FLAGS)`` of :meth:`FolderState.unknown` fills them
``* n FETCH (UID u ...)``   fills slot ``n``: a message that was unknown is *new*
``* n FETCH (FLAGS ...)``   a known message whose flags differ: ``FlagsChanged``
``* n EXPUNGE``             slot ``n`` is removed, later messages move down one: removed
``* VANISHED [(EARLIER)]``  the listed uids are removed (QRESYNC replaces EXPUNGE by this)
==========================  ===============================================================

Slot values: a uid (``int > 0``); ``None``, unknown and new since the baseline (it becomes a
``NewMessages`` uid once fetched); ``0``, unknown but part of the baseline (a gap the baseline
FETCH did not cover: it is filled without an event). :meth:`FolderState.take_events` returns the
events in arrival order, removals coalesced, with one ``NewMessages`` for the uids learned;
a flag change not yet taken of a message removed since is dropped (the removal says it all).

A response that contradicts the list (EXISTS shrinking, an EXPUNGE past the end, a FETCH whose
UID differs from the slot's) sets :attr:`FolderState.desynced`: the caller then rebuilds the
state from a fresh ``UID FETCH 1:* (UID FLAGS)`` and compares with :func:`diff` instead of
trusting a list that is no longer in step. ``\\Recent`` is ignored when comparing flags and left
out of events: it belongs to one session (RFC 9051 dropped it), so a reconnect would flip it.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping

from ..._errors import ProtocolError
from ..._models import Flag, FlagsChanged, FolderEvent, MessagesRemoved, NewMessages
from ._fetch import parse_flags
from ._parser import Response

__all__ = ["FolderState", "UidRanges", "diff"]

Flags = frozenset[Flag | str]


class UidRanges:
    """A VANISHED ``known-uids`` set, kept as ranges: ``1:4294967295`` costs two numbers, not
    four billion."""

    def __init__(self, text: str) -> None:
        """Parse ``text`` (``"1:3,7,9:12"``; a range may be written high to low).

        Raises:
            ProtocolError: it is not a sequence set of uids.
        """
        ranges: list[tuple[int, int]] = []
        for part in text.split(","):
            low, _, high = part.partition(":")
            if not low.isdigit() or (high and not high.isdigit()):
                raise ProtocolError(f"malformed uid set in VANISHED: {text[:80]!r}")
            first, last = int(low), int(high or low)
            ranges.append((min(first, last), max(first, last)))
        # Merge overlapping and adjacent ranges, so that one bisection finds the only candidate.
        merged: list[tuple[int, int]] = []
        for start, end in sorted(ranges):
            if merged and start <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        self._ranges = merged
        self._starts = [start for start, _ in merged]

    @property
    def size(self) -> int:
        """How many uids the set holds."""
        return sum(end - start + 1 for start, end in self._ranges)

    def values(self, *, below: int, limit: int) -> list[int]:
        """Return the uids of the set that are lower than ``below``, ascending.

        Raises:
            ProtocolError: they are more than ``limit``: no list of them is worth holding.
        """
        found: list[int] = []
        for start, end in self._ranges:
            stop = min(end + 1, below)
            if stop - start > limit - len(found):
                raise ProtocolError(f"a VANISHED answer names more than {limit} uids")
            found.extend(range(start, stop))
        return found

    def __contains__(self, uid: object) -> bool:
        if not isinstance(uid, int):
            return False
        index = bisect.bisect_right(self._starts, uid) - 1
        return index >= 0 and uid <= self._ranges[index][1]


class FolderState:
    """The uids of the selected folder in sequence order, with their flags (module docstring)."""

    def __init__(self) -> None:
        """Start empty: feed the answer of ``UID FETCH 1:* (UID FLAGS)`` with ``baseline``."""
        self._slots: list[int | None] = []
        self._flags: dict[int, Flags] = {}
        self._fresh: list[int] = []
        # Events in arrival order; removals are collected as lists and coalesced.
        self._events: list[FlagsChanged | list[int]] = []
        self._changed: set[int] = set()  # the uids of the FlagsChanged in _events
        self.desynced = False

    @classmethod
    def of(cls, uids: Iterable[int], flags: Mapping[int, Flags]) -> FolderState:
        """Return the state of a folder holding ``uids`` (ascending: the sequence order),
        with the ``flags`` known of them (a QRESYNC resynchronisation builds it so)."""
        state = cls()
        state._slots = list(uids)
        state._flags = {uid: flags[uid] for uid in state._slots if uid and uid in flags}
        return state

    @property
    def exists(self) -> int:
        """How many messages the server's session holds (EXISTS minus expunges)."""
        return len(self._slots)

    def uids(self) -> list[int]:
        """The known uids, in sequence order."""
        return [uid for uid in self._slots if uid]

    def snapshot(self) -> dict[int, Flags]:
        """Every known uid with its flags (``\\Recent`` left out), for :func:`diff`."""
        return {uid: self._flags.get(uid, frozenset()) for uid in self._slots if uid}

    def unknown(self) -> list[int]:
        """The sequence numbers whose uid is not known yet: ask ``FETCH n (UID FLAGS)``."""
        if not self._has_unknown():
            return []  # the usual case, answered at C speed (updates() asks every time)
        return [index + 1 for index, uid in enumerate(self._slots) if not uid]

    def unflagged(self) -> list[int]:
        """The known uids whose flags are not known (a state built by :meth:`of`)."""
        return [uid for uid in self._slots if uid and uid not in self._flags]

    def _has_unknown(self) -> bool:
        return None in self._slots or 0 in self._slots

    def has_news(self) -> bool:
        """True when events are waiting, a uid must be fetched, or the state is desynced."""
        return bool(self._events or self._fresh or self.desynced) or self._has_unknown()

    def feed(self, response: Response, *, baseline: bool = False) -> None:
        """Apply one untagged response; anything that is not about messages is ignored.

        Args:
            response: a response received while the folder is selected.
            baseline: the response answers the baseline ``UID FETCH 1:*``: messages it
                reveals are part of the starting state, not new.

        Raises:
            ProtocolError: a FETCH or VANISHED response is malformed.
        """
        if response.tag != "*":
            return
        if response.name == "EXISTS" and response.number is not None:
            self._exists(response.number)
        elif response.name == "EXPUNGE" and response.number is not None:
            self._expunge(response.number)
        elif response.name == "FETCH":
            self._fetch(response, baseline)
        elif response.name == "VANISHED":
            self._vanished(response)

    def take_events(self) -> list[FolderEvent]:
        """Return the events since the last call (removals and flag changes in arrival order,
        then one ``NewMessages`` for the messages learned) and forget them."""
        events: list[FolderEvent] = []
        for item in self._events:
            if isinstance(item, FlagsChanged):
                events.append(item)
            elif events and isinstance(events[-1], MessagesRemoved):
                events[-1] = MessagesRemoved(uids=(*events[-1].uids, *item))
            else:
                events.append(MessagesRemoved(uids=tuple(item)))
        if self._fresh:
            events.append(NewMessages(uids=tuple(sorted(self._fresh)), exists=self.exists))
        self._events.clear()
        self._changed.clear()
        self._fresh.clear()
        return events

    # -- one response each ------------------------------------------------------------------

    def _exists(self, count: int) -> None:
        if count < len(self._slots):
            # RFC 9051 7.4.1: the count only shrinks through EXPUNGE / VANISHED.
            self.desynced = True
        self._slots.extend([None] * (count - len(self._slots)))

    def _expunge(self, seq: int) -> None:
        if not 0 < seq <= len(self._slots):
            self.desynced = True
            return
        uid = self._slots.pop(seq - 1)
        if uid:
            self._removed([uid])

    def _fetch(self, response: Response, baseline: bool) -> None:
        seq, uid, raw_flags = _uid_and_flags(response)
        if seq > len(self._slots):
            # The baseline UID FETCH names messages the session knew from SELECT; otherwise a
            # FETCH past the end announces messages without EXISTS, which servers may do
            # (RFC 9051 7.4.1 asks for EXISTS first, but a lenient reader takes it).
            self._slots.extend([0 if baseline else None] * (seq - len(self._slots)))
        slot = self._slots[seq - 1]
        if uid is not None and slot and slot != uid:
            self.desynced = True
            return
        flags = _visible(parse_flags(raw_flags)) if raw_flags is not None else None
        if not slot:
            if uid is None:
                return  # flags of a message whose uid we have not fetched yet: fetched soon
            self._slots[seq - 1] = uid
            if slot is None and not baseline:
                self._fresh.append(uid)
            if flags is not None:
                self._flags[uid] = flags
            return
        if flags is not None and flags != self._flags.get(slot):
            self._flags[slot] = flags
            if slot not in self._fresh:  # a new message's flags come with its fetch
                self._events.append(FlagsChanged(uid=slot, flags=flags))
                self._changed.add(slot)

    def _vanished(self, response: Response) -> None:
        # VANISHED (EARLIER) 1:3,5  ->  data = [["EARLIER"], "1:3,5"]; VANISHED 7 -> [7]
        items = response.data
        earlier = bool(items) and isinstance(items[0], list)
        if earlier:
            items = items[1:]
        if len(items) != 1 or not isinstance(items[0], (int, str)):
            raise ProtocolError(f"malformed VANISHED response: {response.data!r:.120}")
        gone = UidRanges(str(items[0]))
        removed = [uid for uid in self._slots if uid and uid in gone]
        if not earlier and len(removed) < gone.size and any(not s for s in self._slots):
            # A message vanished before we learned its uid: which slot it held is unknown.
            self.desynced = True
        if removed:
            dropped = set(removed)
            self._slots = [uid for uid in self._slots if uid not in dropped]
            self._removed(removed)

    def _removed(self, uids: list[int]) -> None:
        announced = []
        for uid in uids:
            self._flags.pop(uid, None)
            if uid in self._fresh:
                self._fresh.remove(uid)  # came and went before anyone was told: no event
            else:
                announced.append(uid)
        gone = self._changed.intersection(announced)
        if gone:
            # Flag changes not told yet of messages that are gone now are news of nothing (the
            # \Deleted before an expunge): the removal alone is told.
            self._changed -= gone
            self._events = [
                e for e in self._events if not (isinstance(e, FlagsChanged) and e.uid in gone)
            ]
        if announced:
            if self._events and isinstance(self._events[-1], list):
                self._events[-1].extend(announced)
            else:
                self._events.append(announced)


def diff(before: Mapping[int, Flags], after: FolderState) -> list[FolderEvent]:
    """Return the events that turn ``before`` (a :meth:`FolderState.snapshot`) into ``after``:
    removed uids, changed flags, new uids. Used after a reconnect or a lost step."""
    now = after.snapshot()
    events: list[FolderEvent] = []
    removed = sorted(set(before) - set(now))
    if removed:
        events.append(MessagesRemoved(uids=tuple(removed)))
    for uid, flags in now.items():
        if uid in before and before[uid] != flags:
            events.append(FlagsChanged(uid=uid, flags=flags))
    new = sorted(set(now) - set(before))
    if new:
        events.append(NewMessages(uids=tuple(new), exists=after.exists))
    return events


def _uid_and_flags(response: Response) -> tuple[int, int | None, object]:
    """Return the sequence number, UID and raw FLAGS of a FETCH response (None: not sent).

    Only these two of its attributes are looked at: this runs on every FETCH response of a
    tracked folder (the answers to the caller's big fetches included), so it builds no dict.

    Raises:
        ProtocolError: the response is malformed.
    """
    data = response.data
    if response.number is None or len(data) != 1 or not isinstance(data[0], list):
        raise ProtocolError(f"malformed FETCH response: {data!r:.200}")
    pairs: list[object] = data[0]
    if len(pairs) % 2:
        raise ProtocolError(f"FETCH attributes are not name/value pairs: {pairs!r:.200}")
    uid: int | None = None
    flags: object = None
    for index in range(0, len(pairs), 2):
        name = pairs[index]
        if not isinstance(name, str):
            raise ProtocolError(f"FETCH attribute name is not an atom: {name!r:.80}")
        if len(name) == 3 and name.upper() == "UID":
            value = pairs[index + 1]
            uid = value if isinstance(value, int) else None
        elif len(name) == 5 and name.upper() == "FLAGS":
            flags = pairs[index + 1]
    return response.number, uid, flags


def _visible(flags: Iterable[Flag | str]) -> Flags:
    return frozenset(flag for flag in flags if flag is not Flag.RECENT)
