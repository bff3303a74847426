"""The INBOX of a POP3 maildrop: listing, search, fetch, download and delete.

Search is evaluated here, on the client (DESIGN.md: "search evaluated client-side on POP3"):
headers come from ``TOP n 0`` and, only when the query looks at bodies, whole messages from
RETR. Flags and internal dates do not exist in POP3: a query that needs them raises
``UnsupportedOperation`` before anything is downloaded, and ``MessageInfo.flags`` /
``internal_date`` are ``None``.

Reading many messages queues one TOP or RETR per message (``_pop3_batch``); the client keeps
a window of them in flight when the server pipelines, so the messages stream back without a
round trip each. A message whose first line looks like a POP3 status line cannot be told from
a reply out of step in such a batch: the batch logs in again and asks for it alone.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncGenerator, Iterable, Sequence
from contextlib import aclosing
from typing import IO, TYPE_CHECKING

import anyio  # unasync: remove
import attrs

from .._errors import CommandError, InvalidArgument, UnsupportedOperation
from .._files import Destination
from .._models import (
    Capability,
    FetchField,
    Flag,
    FolderEvent,
    FolderStatus,
    MessageInfo,
    MessagesRemoved,
    NewMessages,
)
from .._proto.pop3._commands import Command
from .._proto.pop3._listing import Listing
from .._proto.pop3._message import InfoFields, header_block, parse_headers, parse_message
from .._proto.pop3._reply import parse_stat
from .._search import Q
from ._folder import DEFAULT_FIELDS, AsyncFolder, Progress, Uid
from ._pop3_batch import MessageBatch
from ._pop3_client import AsyncPop3Client, command_error

if TYPE_CHECKING:
    import datetime
    import email.message

    from .pop3 import AsyncPop3Mailbox

__all__ = ["AsyncPop3Folder", "read_listing"]


async def read_listing(client: AsyncPop3Client) -> Listing:
    """Ask LIST and UIDL (pipelined when possible) and return the session's listing.

    Raises:
        CommandError: LIST was refused.
        ProtocolError: a malformed listing.
    """
    await client.drain()
    caps = client.capabilities
    commands = [Command.make("LIST")]
    if not caps.known or "UIDL" in caps:
        commands.append(Command.make("UIDL"))
    await client.submit(commands)
    status, list_lines = await client.next_listing("LIST")
    uidl_lines: list[bytes] | None = None
    if len(commands) == 2:
        uidl_status, lines = await client.next_listing("UIDL")
        uidl_lines = lines if uidl_status.ok else None
    if not status.ok:
        raise command_error("LIST", status)
    return Listing.parse(list_lines, uidl_lines)


@attrs.frozen
class _Candidate:
    """One message as ``Q.matches`` sees it (see ``_search_eval.Candidate``)."""

    uid: int | str
    size: int | None
    message: email.message.Message | None
    flags: frozenset[Flag | str] | None = None
    internal_date: datetime.datetime | None = None


class AsyncPop3Folder(AsyncFolder):
    """The INBOX of a POP3 maildrop: the only folder POP3 has."""

    _mailbox: AsyncPop3Mailbox

    async def _listing(self) -> Listing:
        return await self._mailbox._get_listing()

    def _checked(self, uids: Iterable[Uid]) -> list[Uid]:
        """Return ``uids`` as a list, each of the type this mailbox's uids have (checked
        before anything is sent)."""
        if isinstance(uids, (str, bytes)):
            raise InvalidArgument("uids must be an iterable of uids, not one string")
        has_uidl = self._mailbox.has_uidl
        expected = str if has_uidl else int
        checked = list(uids)
        for uid in checked:
            if isinstance(uid, bool) or not isinstance(uid, expected):
                kind = "UIDL strings" if has_uidl else "message numbers (ints)"
                raise InvalidArgument(f"uids of this POP3 mailbox are {kind}, not {uid!r}")
        return checked

    def _numbers(self, listing: Listing, uids: list[Uid]) -> list[int]:
        found = {listing.number(uid) for uid in uids}
        return sorted(n for n in found if n is not None)

    async def status(self) -> FolderStatus:
        """Return the number of messages (STAT; those marked for deletion not counted)."""
        await self._listing()
        status = await self._mailbox.client.simple(Command.make("STAT"))
        messages, _octets = parse_stat(status)
        return FolderStatus(messages=messages)

    async def search(
        self, query: Q | None = None, *, fields: FetchField = DEFAULT_FIELDS
    ) -> AsyncGenerator[MessageInfo, None]:
        """Yield each message matching ``query``, in the order of the maildrop (oldest
        first), evaluated on the client from the headers (TOP) and, only when the query looks
        at bodies, from whole messages (RETR).

        Raises:
            UnsupportedOperation: the query needs flags or internal dates, which POP3 does
                not have (raised before anything is downloaded).
        """
        query = query if query is not None else Q.all()
        needs = query.needs()
        if FetchField.FLAGS in needs:
            raise self._unsupported("search by flags", Capability.FLAGS)
        if FetchField.INTERNALDATE in needs:
            raise self._unsupported("search by internal date", Capability.INTERNAL_DATE)
        listing = await self._listing()
        numbers = listing.live()
        if needs & (FetchField.HEADERS | FetchField.BODY):
            info = InfoFields.of(fields)
            body = FetchField.BODY in needs or info.body
            async with aclosing(self._read(listing, numbers, body=body)) as messages:
                async for number, data in messages:
                    message = parse_message(data) if body else parse_headers(data)
                    size = listing.sizes.get(number)
                    if query.matches(_Candidate(listing.uid_of[number], size, message)):
                        yield info.make(listing, number, data, body)
            return
        if not needs:
            # Q.all() and the like read nothing about a message: one answer for all.
            matching = numbers if query.matches(_Candidate("", None, None)) else []
        else:
            matching = [
                n
                for n in numbers
                if query.matches(_Candidate(listing.uid_of[n], listing.sizes.get(n), None))
            ]
        async with aclosing(self._fetch_numbers(listing, matching, fields)) as infos:
            async for found in infos:
                yield found

    async def fetch(
        self, uids: Iterable[Uid], fields: FetchField = DEFAULT_FIELDS
    ) -> AsyncGenerator[MessageInfo, None]:
        """Yield the ``fields`` of each of ``uids`` that still exists, in maildrop order.

        ``SIZE`` comes from LIST, ``ENVELOPE`` and ``HEADERS`` from TOP (one pipelined batch),
        ``BODY`` from RETR. ``FLAGS`` and ``INTERNALDATE`` do not exist in POP3 and stay
        ``None``. Reading never changes a message (POP3 has no seen flag), but a server with
        ``EXPIRE 0`` deletes retrieved messages at the end of the session.

        Raises:
            InvalidArgument: a uid of the wrong type (see the module).
            UnsupportedOperation: ``BODYSTRUCTURE`` was asked.
            ProtocolError: the server answered out of step, or a message whose first line
                looks like a status line could not be read alone on a new connection (the
                mailbox has then logged in again, or is closed when that failed).
        """
        checked = self._checked(uids)
        listing = await self._listing()
        numbers = self._numbers(listing, checked)
        async with aclosing(self._fetch_numbers(listing, numbers, fields)) as infos:
            async for info in infos:
                yield info

    async def _fetch_numbers(
        self, listing: Listing, numbers: Sequence[int], fields: FetchField
    ) -> AsyncGenerator[MessageInfo, None]:
        if FetchField.BODYSTRUCTURE in fields:
            raise self._unsupported("fetch BODYSTRUCTURE", "BODYSTRUCTURE")
        info = InfoFields.of(fields)
        if not (info.envelope or info.headers or info.body):
            for number in numbers:
                yield info.make(listing, number, None, False)
            return
        async with aclosing(self._read(listing, numbers, body=info.body)) as messages:
            async for number, data in messages:
                yield info.make(listing, number, data, info.body)

    async def _read(
        self, listing: Listing, numbers: Sequence[int], *, body: bool
    ) -> AsyncGenerator[tuple[int, bytes], None]:
        """Yield ``(number, data)`` for each message still there: TOP n 0 (headers) or RETR
        (whole message; also used for headers when the server has no TOP). A message whose
        first line looks like a status line is asked for again alone, on a new connection
        (``_pop3_batch``): ``numbers`` are those of ``listing`` whatever the session."""
        client = self._mailbox.client
        caps = client.capabilities
        name = "RETR" if body or (caps.known and "TOP" not in caps) else "TOP"
        args: tuple[int, ...] = () if name == "RETR" else (0,)
        await client.drain()
        batch = MessageBatch(self._mailbox, listing)
        await batch.submit(name, numbers, *args)
        while batch.pending:
            answer = await batch.next()
            if answer.data is None:
                continue  # -ERR: gone since the listing (deleted by this session)
            data = answer.data
            yield answer.number, data if body or name == "TOP" else header_block(data)

    async def get_bytes(self, uid: Uid) -> bytes:
        """Return the raw message ``uid`` (RETR), at most ``limits.max_message_size`` bytes.

        Raises:
            CommandError: no message has this uid (any more).
            LimitExceeded: the message is larger than ``max_message_size`` (use
                :meth:`download` to stream it instead).
        """
        client = await self._retrieve(uid)
        return await client.read_body(client.options.limits.max_message_size, f"message {uid}")

    async def _retrieve(self, uid: Uid) -> AsyncPop3Client:
        (checked,) = self._checked([uid])
        listing = await self._listing()
        number = listing.number(checked)
        if number is None:
            raise CommandError(f"no message with uid {uid!r} in INBOX", code="-ERR")
        client = self._mailbox.client
        await client.drain()
        await client.submit([Command.numbered("RETR", number)])
        reply = await client.next_reply()
        if not reply.status.ok:
            raise command_error("RETR", reply.status)
        return client

    async def download(
        self,
        uid: Uid,
        destination: str | os.PathLike[str] | IO[bytes],
        *,
        progress: Progress | None = None,
    ) -> int:
        """Write message ``uid`` (RETR) to a path or a binary file as it arrives, one received
        chunk at a time (memory use does not grow with the message); return its size.

        Args:
            uid: the message.
            destination: a file-system path, written as ``<path>.part`` and renamed when the
                whole message is there (so a file at ``path`` is always complete), or a
                binary file open for writing.
            progress: called as ``progress(done_bytes, total_bytes)`` after each chunk;
                total is the size LIST announced.

        Raises:
            CommandError: no message has this uid (any more).
            OSError: the file could not be written (the download is abandoned).
        """
        client = await self._retrieve(uid)
        listing = await self._listing()
        number = listing.number(uid)
        total = listing.sizes.get(number) if number is not None else None
        with Destination(destination) as file:
            return await self._write(client, file, total, progress)

    async def _write(
        self, client: AsyncPop3Client, file: IO[bytes], total: int | None, progress: Progress | None
    ) -> int:
        done = 0
        while (chunk := await client.next_chunk()) is not None:
            file.write(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
        return done

    async def delete(self, uids: Iterable[Uid]) -> None:
        """Mark the messages ``uids`` for deletion (DELE, pipelined). The server deletes them
        when the session ends with QUIT (``aclose()``); if the connection drops first, nothing
        is deleted. Uids that do not exist (any more) are ignored.

        Raises:
            UnsupportedOperation: the server has no UIDL, so uids are not stable enough to
                delete by (capability ``DELETE``).
            CommandError: the server refused a DELE (the others are still marked).
        """
        if Capability.DELETE not in self._mailbox.capabilities:
            raise self._unsupported("delete without UIDL", Capability.DELETE)
        checked = self._checked(uids)
        listing = await self._listing()
        if not listing.has_uidl:
            raise self._unsupported("delete without UIDL", Capability.DELETE)
        numbers = self._numbers(listing, checked)
        client = self._mailbox.client
        await client.drain()
        await client.submit(Command.numbered("DELE", n) for n in numbers)
        refused: CommandError | None = None
        for number in numbers:
            reply = await client.next_reply()
            if reply.status.ok:
                listing.deleted.add(number)
            elif refused is None:
                refused = command_error("DELE", reply.status)
        if refused is not None:
            raise refused

    async def watch(
        self, *, timeout: float | None = None, interval: float = 60.0
    ) -> AsyncGenerator[FolderEvent, None]:
        """Poll the maildrop every ``interval`` seconds and yield what changed, by comparing
        UIDL sets: :class:`NewMessages` and :class:`MessagesRemoved`, each with the uids.

        Each poll ends the session with QUIT and logs in again (a POP3 session never sees
        new mail, RFC 1939 section 8), so deletions made before are committed then. Mind the
        server's ``login_delay``.

        Raises:
            UnsupportedOperation: the server has no UIDL (capability ``UIDL``).
            InvalidArgument: ``interval`` is not a positive number.
        """
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval <= 0:
            raise InvalidArgument("interval must be a positive number of seconds")
        if not self._mailbox.has_uidl:
            raise UnsupportedOperation("watching needs UIDL", capability="UIDL")
        deadline = None if timeout is None else time.monotonic() + timeout
        known = await self._uids()
        while True:
            wait = float(interval)
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
                if wait <= 0:
                    return
            await anyio.sleep(wait)  # unasync: time.sleep(wait)
            await self._mailbox.refresh()
            current = await self._uids()
            gone = tuple(uid for uid in known if uid not in current)
            new = tuple(uid for uid in current if uid not in known)
            if gone:
                yield MessagesRemoved(uids=gone)
            if new:
                yield NewMessages(uids=new, exists=len(current))
            known = current

    async def _uids(self) -> dict[Uid, None]:
        listing = await self._listing()
        return {listing.uid_of[n]: None for n in listing.live()}
