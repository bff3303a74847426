"""Reading messages from an IMAP folder: search, fetch, get_bytes and download (RFC 9051).

Results stream: ``search()`` and ``fetch()`` yield each message as its FETCH response arrives.
What else arrives meanwhile (a flag update of another message, EXISTS, VANISHED, a second FETCH
for a message already yielded) goes to the mailbox's view of the folder, never into the results.
``download()`` writes the message's literal to its destination as it arrives, so memory stays
bounded by the receive chunk size.

    fetch-att = "ENVELOPE" / "FLAGS" / "INTERNALDATE" / "RFC822.SIZE" /
                "BODY" ["STRUCTURE"] / "UID" /
                "BODY" section [partial] / "BODY.PEEK" section [partial] /
                "BINARY" [".PEEK"] section-binary [partial] /
                "BINARY.SIZE" section-binary                   ; RFC 9051 section 9
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Iterable, Sequence
from contextlib import aclosing
from typing import IO, TYPE_CHECKING, cast

from .._errors import CommandError, ProtocolError, UnsupportedOperation
from .._files import Destination
from .._models import FetchField, MessageInfo
from .._proto.imap._arguments import check_uids, sort_keys
from .._proto.imap._condstore import changedsince_modifier, check_modseq
from .._proto.imap._fetch import FetchData, fetch_data
from .._proto.imap._fetch_stream import FetchAssembler
from .._proto.imap._parser import Response
from .._proto.imap._search import search_uids
from .._proto.imap._wire import Arg, Atom, SequenceSet
from .._search import Q
from ._folder import DEFAULT_FIELDS, Progress, Uid
from ._imap_parts import take

if TYPE_CHECKING:
    from ._imap_client import AsyncImapClient, Pending
    from ._imap_folder import AsyncImapFolder

__all__ = ["FetchMethods"]

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

# The answers to SEARCH / SORT: the results, not news about the folder.
_RESULTS = frozenset({"SEARCH", "ESEARCH", "SORT"})


class FetchMethods:
    """The search and fetch methods of :class:`AsyncImapFolder` (a mixin of it)."""

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
        folder = cast("AsyncImapFolder", self)
        keys = (query if query is not None else Q.all()).to_imap()
        client = folder._mailbox.client
        capabilities = client.capabilities
        utf8 = query is not None and query.needs_utf8() and not folder._mailbox._utf8
        order = sort_keys(sort) if sort is not None else None
        if order is not None and "SORT" not in capabilities:
            raise UnsupportedOperation("the server cannot sort (no SORT)", capability="SORT")
        await folder._select()
        if order is not None:
            # sort = ["UID" SP] "SORT" SP sort-criteria SP search-charset 1*(SP search-key)
            charset = Atom("UTF-8") if utf8 or folder._mailbox._utf8 else Atom("US-ASCII")
            pending = await client.start("UID", Atom("SORT"), order, charset, *keys)
        else:
            charset_args: list[Arg] = [Atom("CHARSET"), Atom("UTF-8")] if utf8 else []
            if "ESEARCH" in capabilities:  # RFC 4731: the uids come as compact ranges
                charset_args = [Atom("RETURN"), [Atom("ALL")], *charset_args]
            pending = await client.start("UID", Atom("SEARCH"), *charset_args, *keys)
        untagged = [r async for r in _responses(client, pending)]
        uids = search_uids(untagged, pending.tag)
        folder._mailbox._unsolicited(r for r in untagged if r.name not in _RESULTS)
        if order is None:
            uids = sorted(set(uids))
        if fields == FetchField.UID:
            for uid in uids:
                yield MessageInfo(uid=uid)
            return
        if order is None:
            async with aclosing(folder._stream(uids, fields)) as stream:
                async for data in stream:
                    yield data.message_info()
            return
        found = {d.uid: d async for d in folder._stream(uids, fields)}
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
        folder = cast("AsyncImapFolder", self)
        wanted = check_uids(uids)
        if changed_since is not None:
            check_modseq(changed_since, "changed_since")
        async with aclosing(folder._stream(wanted, fields, changed_since=changed_since)) as stream:
            async for data in stream:
                yield data.message_info()

    def _fetch_items(self, fields: FetchField) -> list[str]:
        folder = cast("AsyncImapFolder", self)
        if FetchField.MODSEQ in fields and not folder._mailbox.condstore:
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
        folder = cast("AsyncImapFolder", self)
        if uids is not None and not uids:
            return
        asked = folder._fetch_items(fields)
        modifiers: list[Arg] = []
        if changed_since is not None:
            if not folder._mailbox.condstore:
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
        await folder._select()
        client = folder._mailbox.client
        sets = SequenceSet.chunks(uids) if uids is not None else [SequenceSet("1:*")]
        for uid_set in sets:
            pending = await client.start("UID", Atom("FETCH"), uid_set, items, *modifiers)
            while (response := await client.next_response(pending)) is not None:
                for data in await take(folder._mailbox, assembler, response):
                    yield data
            for data in assembler.finish():
                yield data  # incomplete: the server had nothing more to say about it

    async def get_bytes(self, uid: Uid) -> bytes:
        """Return the raw message ``uid`` (UID FETCH BODY.PEEK[]); never marks it seen.

        Raises:
            CommandError: no message has this uid (any more).
        """
        folder = cast("AsyncImapFolder", self)
        body: bytes | None = None
        async for data in folder._stream(check_uids([uid]), FetchField.BODY):
            body = data.section("BODY[]") if body is None else body
        if body is None:
            raise CommandError(f"no message with uid {uid} in {folder.name!r}", code="NO")
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
        folder = cast("AsyncImapFolder", self)
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
            client = folder._mailbox.client
            await folder._select()
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
                        folder._mailbox._unsolicited([response])
                    before = written
            finally:
                client.set_literal_sink(None)
            if not found:
                raise CommandError(f"no message with uid {uid} in {folder.name!r}", code="NO")
        return written


async def _responses(client: AsyncImapClient, pending: Pending) -> AsyncGenerator[Response, None]:
    while (response := await client.next_response(pending)) is not None:
        yield response
