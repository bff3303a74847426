"""A folder on an IMAP server: search, fetch, read, append, flags, copy, move, delete.

Uids are valid only together with the folder's UIDVALIDITY (RFC 9051 section 2.3.1.1). A
folder object remembers the UIDVALIDITY it first saw; if the server later reports another one,
every operation that takes uids refuses to run (``InvalidArgument``): the caller's uids would
name other messages. Get the folder again with ``mailbox.folder(name)`` and search again.

Results stream: ``search()`` and ``fetch()`` yield each message as its FETCH response arrives.
What else arrives meanwhile (a flag update of another message, EXISTS, VANISHED, a second FETCH
for a message already yielded) goes to the mailbox's view of the folder, never into the results.

Where the server has CONDSTORE / QRESYNC (RFC 7162), ``fetch(changed_since=)``,
``store_flags(unchanged_since=)`` and ``changes_since()`` (in ``_imap_sync``) use modification
sequences; ``get_part()`` (``_imap_parts``) uses BINARY (RFC 3516) and ``append_many()``
MULTIAPPEND (RFC 3502) where offered, with plain IMAP4rev1 fallbacks.
"""

from __future__ import annotations

import datetime
import email.message
import email.policy
import os
from collections.abc import AsyncGenerator, Collection, Iterable, Sequence
from contextlib import aclosing
from typing import IO, TYPE_CHECKING

from .._errors import CommandError, InvalidArgument, ProtocolError, UnsupportedOperation
from .._files import Destination
from .._models import FetchField, Flag, FolderEvent, FolderStatus, MessageInfo
from .._proto.imap._arguments import check_uids, date_time, flag_list, sort_keys
from .._proto.imap._condstore import changedsince_modifier, check_modseq, modified_uids
from .._proto.imap._fetch import FetchData, fetch_data
from .._proto.imap._fetch_stream import FetchAssembler
from .._proto.imap._parser import Response
from .._proto.imap._search import search_uids
from .._proto.imap._select import SelectInfo, folder_status
from .._proto.imap._uidplus import appended_uid, copied_uids
from .._proto.imap._wire import Arg, Atom, SequenceSet
from .._search import Q
from ._folder import DEFAULT_FIELDS, AsyncFolder, Progress, Uid
from ._imap_parts import PartMethods, take
from ._imap_sync import ModseqMethods
from ._imap_updates import UpdateMethods

if TYPE_CHECKING:
    from ._imap_client import AsyncImapClient, Pending, Reply
    from .imap import AsyncImapMailbox

__all__ = ["AsyncImapFolder"]

# FetchField -> the FETCH data item that answers it (RFC 9051 6.4.5); UID is always asked.
# BODY.PEEK, never BODY: fetching must not set \Seen.
_FETCH_ITEMS: dict[FetchField, str] = {
    FetchField.FLAGS: "FLAGS",
    FetchField.SIZE: "RFC822.SIZE",
    FetchField.INTERNALDATE: "INTERNALDATE",
    FetchField.ENVELOPE: "ENVELOPE",
    FetchField.BODYSTRUCTURE: "BODYSTRUCTURE",
    FetchField.HEADERS: "BODY.PEEK[HEADER]",
    FetchField.BODY: "BODY.PEEK[]",
    FetchField.MODSEQ: "MODSEQ",  # RFC 7162 section 3.1.4.1
}


class AsyncImapFolder(ModseqMethods, PartMethods, UpdateMethods, AsyncFolder):
    """A folder on an IMAP server."""

    _mailbox: AsyncImapMailbox

    def __init__(self, mailbox: AsyncImapMailbox, name: str, *, readonly: bool = False) -> None:
        """Name a folder of ``mailbox``; does no I/O. See ``AsyncImapMailbox.folder``."""
        super().__init__(mailbox, name)
        self._uidvalidity: int | None = None
        self._readonly = readonly

    @property
    def readonly(self) -> bool:
        """True when the folder is opened read-only (EXAMINE)."""
        return self._readonly

    @property
    def uidvalidity(self) -> int | None:
        """The UIDVALIDITY this folder's uids belong to (None until the first operation)."""
        return self._uidvalidity

    def _writable(self) -> None:
        if self._readonly:
            raise UnsupportedOperation(
                f"folder {self.name!r} was opened read-only", capability="READ-WRITE"
            )

    async def _select(self) -> None:
        self._check_uidvalidity(await self._mailbox._select(self.name, readonly=self._readonly))

    async def _select_again(self, params: Sequence[Arg] = ()) -> Reply:
        """Select the folder even if it is selected (with select ``params``); return the reply.

        Raises:
            InvalidArgument: the folder's UIDVALIDITY changed.
        """
        box = self._mailbox
        reply = await box._select_again(self.name, readonly=self._readonly, params=params)
        assert box._select_info is not None  # set by a successful SELECT
        self._check_uidvalidity(box._select_info)
        return reply

    def _check_uidvalidity(self, info: SelectInfo) -> None:
        if self._uidvalidity is None:
            self._uidvalidity = info.uidvalidity
        elif info.uidvalidity != self._uidvalidity:
            raise InvalidArgument(
                f"the UIDVALIDITY of {self.name!r} changed ({self._uidvalidity} -> "
                f"{info.uidvalidity}): uids from before name other messages now. "
                f"Get the folder again with mailbox.folder({self.name!r}) and search again."
            )

    async def status(self) -> FolderStatus:
        """Return the folder's counters (IMAP STATUS).

        Raises:
            FolderNotFound: the folder does not exist.
        """
        box = self._mailbox
        items = [Atom("MESSAGES"), Atom("UNSEEN"), Atom("UIDNEXT"), Atom("UIDVALIDITY")]
        if box.condstore:
            items.append(Atom("HIGHESTMODSEQ"))  # RFC 7162 section 3.1.10
        reply = await box._on_folder(self.name, "STATUS", box._name(self.name), items)
        return folder_status(reply.untagged)

    async def search(
        self,
        query: Q | None = None,
        *,
        fields: FetchField = DEFAULT_FIELDS,
        sort: Sequence[str] | None = None,
    ) -> AsyncGenerator[MessageInfo, None]:
        """Yield each message matching ``query`` (all when None): one UID SEARCH (ESEARCH
        where offered), then one streamed UID FETCH. In ascending uid order, or sorted.

        Args:
            fields: what to fetch about each message (``FetchField.UID`` alone: no FETCH).
            sort: sort by the server (RFC 5256 SORT), e.g. ``["-date"]`` for newest first:
                keys ``arrival``, ``cc``, ``date``, ``from``, ``size``, ``subject``, ``to``,
                each reversed by a leading ``-``.

        Raises:
            InvalidArgument: the query or a sort key cannot be sent (nothing was sent).
            UnsupportedOperation: ``sort`` was given and the server lacks SORT.
            FolderNotFound: the folder does not exist.
        """
        keys = (query if query is not None else Q.all()).to_imap()
        client = self._mailbox.client
        capabilities = client.capabilities
        utf8 = query is not None and query.needs_utf8() and not self._mailbox._utf8
        order = sort_keys(sort) if sort is not None else None
        if order is not None and "SORT" not in capabilities:
            raise UnsupportedOperation("the server cannot sort (no SORT)", capability="SORT")
        await self._select()
        if order is not None:
            # sort = ["UID" SP] "SORT" SP sort-criteria SP search-charset 1*(SP search-key)
            charset = Atom("UTF-8") if utf8 or self._mailbox._utf8 else Atom("US-ASCII")
            pending = await client.start("UID", Atom("SORT"), order, charset, *keys)
        else:
            charset_args: list[Arg] = [Atom("CHARSET"), Atom("UTF-8")] if utf8 else []
            if "ESEARCH" in capabilities:  # RFC 4731: the uids come as compact ranges
                charset_args = [Atom("RETURN"), [Atom("ALL")], *charset_args]
            pending = await client.start("UID", Atom("SEARCH"), *charset_args, *keys)
        untagged = [r async for r in _responses(client, pending)]
        uids = search_uids(untagged, pending.tag)
        self._mailbox._unsolicited(r for r in untagged if r.name not in _RESULTS)
        if order is None:
            uids = sorted(set(uids))
        if fields == FetchField.UID:
            for uid in uids:
                yield MessageInfo(uid=uid)
            return
        if order is None:
            async with aclosing(self._stream(uids, fields)) as stream:
                async for data in stream:
                    yield data.message_info()
            return
        found = {d.uid: d async for d in self._stream(uids, fields)}
        for uid in uids:
            if uid in found:
                yield found[uid].message_info()

    async def fetch(
        self,
        uids: Iterable[Uid],
        fields: FetchField = DEFAULT_FIELDS,
        *,
        changed_since: int | None = None,
    ) -> AsyncGenerator[MessageInfo, None]:
        """Yield the ``fields`` of each of ``uids`` that still exists, as the server sends them
        (ascending uid order on the servers we know). Never marks a message seen.

        One command fetches them all (split only where the uid list would be too long for one
        command line), so fetching many messages costs a constant number of round trips.

        Args:
            uids: the messages.
            fields: what to fetch; ``FetchField.MODSEQ`` needs CONDSTORE.
            changed_since: only the messages whose modification sequence is higher: those
                whose flags changed (or that arrived) since the folder's ``highest_modseq``
                was this value (RFC 7162 CHANGEDSINCE). Their ``modseq`` is filled in. For the
                messages removed since as well, use :meth:`changes_since`.

        Raises:
            InvalidArgument: a bad uid or modseq (nothing was sent).
            UnsupportedOperation: ``FetchField.MODSEQ`` or ``changed_since`` on a server
                without CONDSTORE.
            ProtocolError: the server's answer contradicts itself (one message under two
                sequence numbers); the connection is closed.
        """
        wanted = check_uids(uids)
        if changed_since is not None:
            check_modseq(changed_since, "changed_since")
        async with aclosing(self._stream(wanted, fields, changed_since=changed_since)) as stream:
            async for data in stream:
                yield data.message_info()

    def _fetch_items(self, fields: FetchField) -> list[str]:
        if FetchField.MODSEQ in fields and not self._mailbox.condstore:
            raise UnsupportedOperation(
                "the server has no modification sequences (CONDSTORE)", capability="CONDSTORE"
            )
        return [item for field, item in _FETCH_ITEMS.items() if field in fields]

    async def _stream(
        self,
        uids: list[int] | None,
        fields: FetchField,
        *,
        changed_since: int | None = None,
    ) -> AsyncGenerator[FetchData, None]:
        """Yield the FETCH data of ``uids`` (None: every message, ``1:*``), with
        ``changed_since``: only those changed since this modseq (CHANGEDSINCE, RFC 7162)."""
        if uids is not None and not uids:
            return
        asked = self._fetch_items(fields)
        modifiers: list[Arg] = []
        if changed_since is not None:
            if not self._mailbox.condstore:
                raise UnsupportedOperation(
                    "the server cannot fetch by modification sequence (CONDSTORE)",
                    capability="CONDSTORE",
                )
            modifiers = [changedsince_modifier(changed_since)]
            asked += [] if "MODSEQ" in asked else ["MODSEQ"]
        # The names the answers carry: BODY.PEEK[...] is answered as BODY[...].
        expected = {item.replace(".PEEK", "") for item in asked}
        items: list[Arg] = [Atom("UID"), *(Atom(item) for item in asked)]
        # What is not ours (an unsolicited flag update of another message, EXISTS, EXPUNGE,
        # a FETCH without UID...) goes to the mailbox's view of the folder, never into the
        # results; a message expunged before it was complete is dropped (_fetch_stream).
        assembler = FetchAssembler(expected, uids)
        await self._select()
        client = self._mailbox.client
        sets = SequenceSet.chunks(uids) if uids is not None else [SequenceSet("1:*")]
        for uid_set in sets:
            pending = await client.start("UID", Atom("FETCH"), uid_set, items, *modifiers)
            while (response := await client.next_response(pending)) is not None:
                for data in await take(self._mailbox, assembler, response):
                    yield data
            for data in assembler.finish():
                yield data  # incomplete: the server had nothing more to say about it

    async def get_bytes(self, uid: Uid) -> bytes:
        """Return the raw message ``uid`` (UID FETCH BODY.PEEK[]); never marks it seen.

        Raises:
            CommandError: no message has this uid (any more).
        """
        body: bytes | None = None
        async for data in self._stream(check_uids([uid]), FetchField.BODY):
            body = data.section("BODY[]") if body is None else body
        if body is None:
            raise CommandError(f"no message with uid {uid} in {self.name!r}", code="NO")
        return body

    async def download(
        self,
        uid: Uid,
        destination: str | os.PathLike[str] | IO[bytes],
        *,
        progress: Progress | None = None,
    ) -> int:
        """Write message ``uid`` to a path or a binary file as it arrives; return its size.

        Memory stays bounded by the receive chunk size, whatever the message size. A path is
        written as ``<path>.part`` and renamed when the whole message is there, so a
        file at ``path`` is always complete. Never marks the message seen.

        Args:
            progress: called as ``progress(done_bytes, total_bytes)`` after each chunk.

        Raises:
            CommandError: no message has this uid (any more).
            ProtocolError: the server sent literal data of another message, or a second copy,
                in its answer (the connection is closed; a path gets no file).
        """
        wanted = check_uids([uid])
        written = 0
        with Destination(destination) as file:

            def sink(chunk: bytes, total: int) -> None:
                nonlocal written
                file.write(chunk)
                written += len(chunk)
                if progress is not None:
                    progress(written, total)

            found = False
            client = self._mailbox.client
            await self._select()
            items = [Atom("UID"), Atom("BODY.PEEK[]")]
            pending = await client.start("UID", Atom("FETCH"), SequenceSet.of(wanted), items)
            client.set_literal_sink(sink)
            try:
                before = written
                while (response := await client.next_response(pending)) is not None:
                    data = fetch_data(response) if response.name == "FETCH" else None
                    ours = data is not None and data.uid == wanted[0] and "BODY[]" in data.items
                    if written != before and (found or not ours):
                        # The sink cannot tell whose literal it is given until the response
                        # ends: literal data of another message (or a second copy) is in the
                        # file now. Never hand it over as this message.
                        await client.abort()
                        raise ProtocolError(
                            f"the server sent message data that was not asked for while "
                            f"sending uid {uid}: its answer cannot be trusted"
                        )
                    if ours:
                        found = True
                    else:
                        self._mailbox._unsolicited([response])
                    before = written
            finally:
                client.set_literal_sink(None)
            if not found:
                raise CommandError(f"no message with uid {uid} in {self.name!r}", code="NO")
        return written

    async def append(
        self,
        message: email.message.Message | bytes,
        *,
        flags: Collection[Flag | str] = (),
        internal_date: datetime.datetime | None = None,
    ) -> Uid | None:
        """Store ``message`` here (IMAP APPEND); return its uid when the server says it
        (UIDPLUS APPENDUID), else None.

        Raises:
            InvalidArgument: a bad flag, or a message holding NUL bytes.
            FolderNotFound: the folder does not exist.
        """
        self._writable()
        # policy.SMTP: CRLF line endings, as IMAP messages have (RFC 9051 section 6.3.12).
        raw = message if isinstance(message, bytes) else message.as_bytes(policy=email.policy.SMTP)
        options: list[Arg] = [flag_list(flags)]
        if internal_date is not None:
            options.append(date_time(internal_date))
        return await self._append_raw(options, raw)

    async def _append_raw(self, options: list[Arg], raw: bytes) -> Uid | None:
        """APPEND ``raw`` with its flag list and date ``options``; the new uid if told."""
        args: list[Arg] = [self._mailbox._name(self.name), *options, raw]
        reply = await self._mailbox._on_folder(self.name, "APPEND", *args)
        found = appended_uid([reply.tagged])
        if found is None:
            return None
        if self._uidvalidity is None:
            self._uidvalidity = found[0]
        return found[1] if found[0] == self._uidvalidity else None

    async def add_flags(self, uids: Iterable[Uid], flags: Collection[Flag | str]) -> None:
        """Add ``flags`` to each message of ``uids`` (UID STORE +FLAGS.SILENT)."""
        await self._store(uids, "+FLAGS.SILENT", flags)

    async def remove_flags(self, uids: Iterable[Uid], flags: Collection[Flag | str]) -> None:
        """Remove ``flags`` from each message of ``uids`` (UID STORE -FLAGS.SILENT)."""
        await self._store(uids, "-FLAGS.SILENT", flags)

    async def set_flags(self, uids: Iterable[Uid], flags: Collection[Flag | str]) -> None:
        """Replace the flags of each message of ``uids`` (UID STORE FLAGS.SILENT)."""
        await self._store(uids, "FLAGS.SILENT", flags, allow_empty=True)

    async def _store(
        self,
        uids: Iterable[Uid],
        action: str,
        flags: Collection[Flag | str],
        *,
        allow_empty: bool = False,
        unchanged_since: int | None = None,
    ) -> list[int]:
        self._writable()
        wanted = check_uids(uids)
        flags_arg = flag_list(flags)
        if not wanted or (not flags_arg and not allow_empty):
            return []
        # store-modifiers = SP "(" store-modifier *(SP store-modifier) ")"   (RFC 7162)
        modifiers: list[Arg] = []
        if unchanged_since is not None:
            modifiers = [[Atom("UNCHANGEDSINCE"), unchanged_since]]
        await self._select()
        action = self._store_action(action)  # updates(): not .SILENT while tracked
        refused: list[int] = []
        for uid_set in SequenceSet.chunks(wanted):
            reply = await self._mailbox.client.run(
                "UID", Atom("STORE"), uid_set, *modifiers, Atom(action), flags_arg
            )
            refused += modified_uids(reply.tagged)
            self._mailbox._unsolicited(reply.untagged)
        return sorted(set(refused))

    async def copy(self, uids: Iterable[Uid], destination: str) -> dict[Uid, Uid]:
        """Copy messages to folder ``destination`` (UID COPY); return ``{old uid: new uid}``
        where the server says (UIDPLUS COPYUID), else an empty dict."""
        return await self._transfer("COPY", check_uids(uids), destination)

    async def move(self, uids: Iterable[Uid], destination: str) -> dict[Uid, Uid]:
        """Move messages to folder ``destination``: UID MOVE (RFC 6851) where the server has
        it, else UID COPY, then ``\\Deleted`` and UID EXPUNGE of exactly those uids.

        Raises:
            UnsupportedOperation: the server has neither MOVE nor UIDPLUS, so the originals
                could not be removed without expunging other messages too.
        """
        self._writable()
        wanted = check_uids(uids)
        capabilities = self._mailbox.client.capabilities
        if "MOVE" in capabilities:
            return await self._transfer("MOVE", wanted, destination)
        if "UIDPLUS" not in capabilities:
            raise UnsupportedOperation(
                "the server has neither MOVE nor UIDPLUS: a move would expunge other messages",
                capability="MOVE",
            )
        mapping = await self._transfer("COPY", wanted, destination)
        await self.delete(wanted)
        return mapping

    async def _transfer(self, command: str, wanted: list[int], destination: str) -> dict[Uid, Uid]:
        if not wanted:
            return {}
        target = self._mailbox._name(destination)
        await self._select()
        mapping: dict[Uid, Uid] = {}
        for uid_set in SequenceSet.chunks(wanted):
            reply = await self._mailbox._on_folder(
                destination, "UID", Atom(command), uid_set, target
            )
            for source, new in copied_uids([*reply.untagged, reply.tagged]).items():
                mapping[source] = new
            self._mailbox._unsolicited(reply.untagged)
        return mapping

    async def delete(self, uids: Iterable[Uid], *, allow_folder_expunge: bool = False) -> None:
        """Remove exactly the messages ``uids``: ``\\Deleted``, then UID EXPUNGE (UIDPLUS).

        Args:
            allow_folder_expunge: on a server without UIDPLUS, also expunge every other
                message of the folder already marked ``\\Deleted`` (plain EXPUNGE).

        Raises:
            UnsupportedOperation: the server lacks UIDPLUS and ``allow_folder_expunge`` is
                False; the messages are marked ``\\Deleted`` but stay in the folder.
        """
        self._writable()
        wanted = check_uids(uids)
        if not wanted:
            return
        await self.add_flags(wanted, {Flag.DELETED})
        client = self._mailbox.client
        if "UIDPLUS" in client.capabilities:
            for uid_set in SequenceSet.chunks(wanted):
                reply = await client.run("UID", Atom("EXPUNGE"), uid_set)
                self._mailbox._unsolicited(reply.untagged)
        elif allow_folder_expunge:
            self._mailbox._unsolicited((await client.run("EXPUNGE")).untagged)
        else:
            raise UnsupportedOperation(
                "the server lacks UIDPLUS: the messages are marked \\Deleted, but expunging them "
                "would expunge every \\Deleted message (pass allow_folder_expunge=True to allow)",
                capability="UIDPLUS",
            )

    def watch(
        self, *, timeout: float | None = None, poll_interval: float = 30.0
    ) -> AsyncGenerator[FolderEvent, None]:
        """Yield the folder's events as they happen: IDLE (RFC 2177) where the server has it,
        a NOOP every ``poll_interval`` seconds otherwise.

        Usage: ``async with aclosing(folder.watch()) as events: async for event in events:``

        Events: :class:`NewMessages` (uids that arrived, with the new message count),
        :class:`MessagesRemoved` (expunged uids), :class:`FlagsChanged` (a uid's flags now;
        ``\\Recent`` is left out). They are the changes after the connection's last look at the
        folder (its SELECT or last command), so mail that came just before the watch started
        is its first event. While the caller holds an event the connection is not idling: the
        loop body may use the mailbox (fetch the new messages, move them...).

        A dropped connection is opened again and the differences are yielded, each once (with
        QRESYNC where enabled: only what changed is fetched). The IDLE is renewed every 10
        minutes; its tagged OK is the check that the connection lives.

        Args:
            timeout: seconds after which the loop ends gracefully (the connection stays
                usable); None: until the caller breaks out of the loop.
            poll_interval: seconds between two polls where the server lacks IDLE.

        Raises:
            InvalidArgument: a bad argument, or the folder's UIDVALIDITY changed (its uids
                name other messages now: get the folder again and watch again).
            FolderNotFound: the folder does not exist.
            ConnectionLost, Timeout, ConnectError, AuthenticationError: the connection broke
                and could not be opened again.
        """
        from ._imap_watch import watch_folder  # imported here: IDLE code only when watching

        return watch_folder(self, timeout=timeout, poll_interval=poll_interval)


_RESULTS = frozenset({"SEARCH", "ESEARCH", "SORT"})


async def _responses(client: AsyncImapClient, pending: Pending) -> AsyncGenerator[Response, None]:
    while (response := await client.next_response(pending)) is not None:
        yield response
