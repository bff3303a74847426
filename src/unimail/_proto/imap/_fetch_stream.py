"""Putting together the answer of a UID FETCH from the responses that arrive meanwhile.

RFC 9051 section 7.5.2 lets a server split one message's data over several FETCH responses,
and section 7 lets it send news about any message at any time: a flag change of another
message, EXISTS, EXPUNGE (VANISHED under QRESYNC), a FETCH for a message nobody asked about.
A response belongs to the command's result only when it names, by UID, a message that was
asked for (RFC 9051 6.4.9: every FETCH response a UID command causes carries the UID); the
sequence number alone never makes it ours.

:class:`FetchAssembler` keeps the pieces of each message by uid until every data item asked
for is there, and keeps their sequence numbers in step with EXPUNGE, so that:

- a message expunged (or vanished) before it was complete is dropped, never completed with
  the data of the message that took its sequence number;
- a FETCH that gives an incomplete message a sequence number other than its own is out of step
  (``ProtocolError``), and so is one for a message already expunged in this answer;
- a response without UID, for a message not asked for, or for one already complete is not
  ours: the caller passes it on as an update of the folder.
"""

from __future__ import annotations

from collections.abc import Collection

import attrs

from ..._errors import ProtocolError
from ._condstore import vanished_uids
from ._fetch import FetchData, fetch_data
from ._parser import Response

__all__ = ["FetchAssembler"]


class FetchAssembler:
    """The messages of one UID FETCH (or several, for a long uid list), put together."""

    def __init__(self, expected: Collection[str], wanted: Collection[int] | None) -> None:
        """Assemble the data items ``expected`` (as answered: ``BODY[]``, not ``BODY.PEEK[]``)
        of the uids ``wanted`` (None: any uid, for ``1:*``)."""
        self._expected = frozenset(expected)
        self._wanted = frozenset(wanted) if wanted is not None else None
        self._done: set[int] = set()  # given out already: a later FETCH is an update
        self._gone: set[int] = set()  # expunged while incomplete
        self._partial: dict[int, FetchData] = {}

    def feed(self, response: Response) -> list[FetchData] | None:
        """Take one response read during the command.

        Returns:
            None when the response is not part of the result (the caller passes it on as a
            folder update); else the messages it completed (none or one).

        Raises:
            ProtocolError: a malformed FETCH, or one whose sequence number contradicts what
                the server said before (see the module docstring).
        """
        if response.tag != "*":
            return None
        name = response.name
        if name == "EXPUNGE" and response.number is not None:
            self._expunge(response.number)
            return None
        if name == "VANISHED":
            self._vanished(response)
            return None
        if name != "FETCH":
            return None
        data = fetch_data(response)
        uid = data.uid
        if uid is None or uid in self._done or uid in self._gone:
            return None
        if self._wanted is not None and uid not in self._wanted:
            return None
        seen = self._partial.pop(uid, None)
        if seen is not None:
            if seen.seq and seen.seq != data.seq:  # 0: unknown since a VANISHED
                raise ProtocolError(
                    f"the server gave uid {uid} sequence number {data.seq} after {seen.seq} "
                    "in one FETCH answer, with no EXPUNGE between: its answers are out of step"
                )
            items = {**seen.items, **data.items}
            # raw is read again from both responses' text, or (when one has none) is items
            sources = seen.sources + data.sources if seen.sources and data.sources else ()
            data = attrs.evolve(data, items=items, sources=sources)
        if self._expected <= data.items.keys():
            self._done.add(uid)
            return [data]
        self._partial[uid] = data
        return []

    def finish(self) -> list[FetchData]:
        """Return the messages left incomplete when the command ended (the server had
        nothing more to say about them), and start afresh for the next command."""
        left = list(self._partial.values())
        self._done.update(self._partial)
        self._partial.clear()
        return left

    def _expunge(self, seq: int) -> None:
        # message-data = nz-number SP "EXPUNGE": later messages move down one number.
        for uid, data in list(self._partial.items()):
            if data.seq == seq:
                del self._partial[uid]
                self._gone.add(uid)
            elif data.seq > seq:
                self._partial[uid] = attrs.evolve(data, seq=data.seq - 1)

    def _vanished(self, response: Response) -> None:
        _earlier, uids = vanished_uids(response)
        for uid in [uid for uid in self._partial if uid in uids]:
            del self._partial[uid]
            self._gone.add(uid)
        # Sequence numbers after a vanished message shift too, but VANISHED names no number:
        # the remaining pieces are matched by uid alone from here on.
        for uid, data in list(self._partial.items()):
            self._partial[uid] = attrs.evolve(data, seq=0)
