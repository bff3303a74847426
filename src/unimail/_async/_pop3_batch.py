"""Commands on many messages (RETR, TOP, DELE), pipelined, that get past a message whose first
line looks like a POP3 status line.

POP3 replies carry no tag. With RETR 1 and RETR 2 in flight, a body of RETR 1 that starts with
``+OK ...`` (or ``-ERR ...``) is either message 1's own first line or RETR 2's reply, read as
message 1 because the server answered RETR 1 with one line: the bytes cannot tell. The core
refuses it with :class:`AmbiguousFirstLine` (a ProtocolError) and the connection is closed:
nothing more is sent on it. Alone in flight, the same command is unambiguous (nothing else can
answer it: the message comes byte for byte, or a one-line answer stalls into a Timeout).

So :meth:`MessageBatch.next` answers that error by logging in again
(``AsyncPop3Mailbox._reconnect``: same options and credentials), asking for that one message
alone, then sending the rest of the batch again, pipelined. Messages are named by UIDL across
the sessions: message numbers belong to one session and differ when the maildrop changed in
between. A message gone meanwhile is answered as a ``-ERR`` would be. The dead session never
sent QUIT, so it deleted nothing (RFC 1939 section 6): ``_reconnect`` marks again what it had
marked with DELE, and DELEs not answered yet are sent again with the rest. Every message is
answered once: none is lost, none comes twice.

Without UIDL (uids are one session's message numbers) nothing names a message across
sessions: the error is raised as it is. When the retry fails (logging in again is refused,
or the message alone is not answered properly, as a server that really answered with one
line stalls) the caller gets a plain :class:`ProtocolError` whose cause says why.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable
from typing import TYPE_CHECKING

import attrs

from .._errors import LimitExceeded, ProtocolError, UnimailError
from .._proto.pop3._commands import Command
from .._proto.pop3._listing import Listing
from .._proto.pop3._protocol import AmbiguousFirstLine

if TYPE_CHECKING:
    from .pop3 import AsyncPop3Mailbox

__all__ = ["Answer", "MessageBatch"]

# One command of a batch: its name, the message number in the batch's first listing, the
# arguments after the number, and the number in the current session (None: gone from it).
_Entry = tuple[str, int, tuple[int, ...], int | None]


@attrs.frozen(slots=True)
class Answer:
    """The answer to one command of a :class:`MessageBatch`.

    Attributes:
        name: ``"RETR"``, ``"TOP"`` or ``"DELE"``.
        number: the message number in the listing the batch was started with.
        ok: False for ``-ERR``, or when the message is gone from the maildrop.
        data: the message (RETR) or what TOP gave, when ``ok``; ``None`` for DELE.
    """

    name: str
    number: int
    ok: bool
    data: bytes | None = None


class MessageBatch:
    """Commands on messages, answered in order, across new logins when needed (see the
    module). Drain the client before starting one; read every answer with :meth:`next`."""

    def __init__(self, box: AsyncPop3Mailbox, listing: Listing) -> None:
        """Start a batch on ``box``, whose current listing is ``listing`` (no I/O)."""
        self._box = box
        self._first = listing  # the caller's message numbers refer to it
        self._listing = listing  # the current session's
        self._limit = box.options.limits.max_message_size
        self._expected: collections.deque[_Entry] = collections.deque()

    @property
    def pending(self) -> int:
        """How many answers are still to be read."""
        return len(self._expected)

    async def submit(self, name: str, numbers: Iterable[int], *args: int) -> None:
        """Queue ``name`` for each message of ``numbers`` (of the first listing), with
        ``args`` after the number (``TOP n 0``).

        Raises:
            ConnectionLost, Timeout: sending failed (the connection is closed).
        """
        entries = [self._entry(name, number, args) for number in numbers]
        self._expected.extend(entries)
        await self._send(entries)

    async def next(self) -> Answer:
        """Return the answer to the oldest command not answered yet.

        Raises:
            ProtocolError: a malformed reply, or a message that starts like a status line
                and could not be read alone (see the module).
            LimitExceeded: a message is larger than ``max_message_size``.
            ConnectionLost, Timeout: the connection broke or stalled.
        """
        name, number, args, current = self._expected.popleft()
        if current is None:
            return Answer(name, number, False)
        try:
            return await self._answer(name, number, current)
        except AmbiguousFirstLine as error:
            if not self._first.has_uidl:
                raise
            return await self._retry(name, number, args, error)

    def _entry(self, name: str, number: int, args: tuple[int, ...]) -> _Entry:
        if self._listing is self._first:
            return name, number, args, number
        return name, number, args, self._listing.number_of.get(self._first.uid_of[number])

    async def _send(self, entries: Iterable[_Entry]) -> None:
        await self._box.client.submit(
            Command.numbered(name, current, *args)
            for name, _, args, current in entries
            if current is not None
        )

    async def _answer(self, name: str, number: int, current: int) -> Answer:
        client = self._box.client
        reply = await client.next_reply(whole=self._limit)
        if name == "DELE":
            if reply.status.ok:
                self._listing.deleted.add(current)
            return Answer(name, number, reply.status.ok)
        if not reply.has_body:
            return Answer(name, number, False)  # -ERR: gone since the listing
        data = reply.body
        if data is None:
            uid = self._first.uid_of[number]
            data = await client.read_body(self._limit, f"message {uid}")
        return Answer(name, number, True, data)

    async def _retry(
        self, name: str, number: int, args: tuple[int, ...], error: AmbiguousFirstLine
    ) -> Answer:
        """Log in again, ask for message ``number`` alone, then send the rest again."""
        rest = list(self._expected)
        try:
            self._listing = await self._box._reconnect()
            _, _, _, current = self._entry(name, number, args)
            answer = Answer(name, number, False)
            if current is not None:
                await self._box.client.submit([Command.numbered(name, current, *args)])
                answer = await self._answer(name, number, current)
        except LimitExceeded:
            raise  # the message is too large, however it is asked for
        except UnimailError as exc:
            raise ProtocolError(
                f"{error}; asking for it alone on a new connection failed: {exc}"
            ) from exc
        self._expected = collections.deque(self._entry(n, m, a) for n, m, a, _ in rest)
        await self._send(self._expected)
        return answer
