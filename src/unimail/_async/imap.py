"""The IMAP backend: ``imaps://`` (implicit TLS) and ``imap://`` (STARTTLS required).

The mailbox keeps one connection and at most one selected folder; a folder operation selects
its folder when another one is selected. Fetching uses ``BODY.PEEK`` so that reading a message
never marks it ``\\Seen``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import ClassVar

from .._errors import CommandError, FolderNotFound, InvalidArgument, UnsupportedOperation
from .._models import Capability, FetchField, FolderInfo, FolderStatus, MessageInfo
from .._options import Security
from .._proto.imap._fetch import FetchData, fetch_data
from .._proto.imap._list import folder_info
from .._proto.imap._mutf7 import encode_mutf7
from .._proto.imap._search import search_uids
from .._proto.imap._select import SelectInfo, folder_status, select_info
from .._proto.imap._wire import Arg, Atom, SequenceSet
from .._search import Q
from .._validate import check_wire_text
from ._folder import DEFAULT_FIELDS, AsyncFolder, Uid
from ._imap_client import AsyncImapClient, Reply
from ._mailbox import AsyncMailbox

__all__ = ["AsyncImapFolder", "AsyncImapMailbox"]

# FetchField -> the FETCH data item that answers it (RFC 9051 6.4.5); UID is always asked.
# BODY.PEEK, never BODY: fetching must not set \Seen.
_FETCH_ITEMS: dict[FetchField, str] = {
    FetchField.FLAGS: "FLAGS",
    FetchField.SIZE: "RFC822.SIZE",
    FetchField.INTERNALDATE: "INTERNALDATE",
    FetchField.ENVELOPE: "ENVELOPE",
    FetchField.HEADERS: "BODY.PEEK[HEADER]",
    FetchField.BODY: "BODY.PEEK[]",
}

# How many uids one UID FETCH asks for while search() streams its results.
_FETCH_BATCH = 1000


class AsyncImapMailbox(AsyncMailbox):
    """A mailbox on an IMAP server (RFC 9051 / RFC 3501).

    Open it with ``AsyncMailbox.open("imaps://user@host", password=...)``.
    """

    schemes: ClassVar[dict[str, Security]] = {"imap": Security.STARTTLS, "imaps": Security.TLS}

    _client: AsyncImapClient | None = None
    _selected: str | None = None
    _select_info: SelectInfo | None = None

    async def _connect(self) -> None:
        self._client = await AsyncImapClient.connect(self._options)
        await self._client.login()
        self._capabilities = self._capabilities_from(self._client.capabilities)

    @staticmethod
    def _capabilities_from(server: frozenset[str]) -> frozenset[Capability]:
        found = {
            Capability.FOLDERS, Capability.FLAGS, Capability.KEYWORDS,
            Capability.SERVER_SEARCH, Capability.INTERNAL_DATE,
        }  # fmt: skip
        if "IDLE" in server:
            found.add(Capability.WATCH_PUSH)
        if "UIDPLUS" in server:
            found.add(Capability.UIDPLUS)
        return frozenset(found)

    @property
    def client(self) -> AsyncImapClient:
        """The underlying IMAP connection (for commands the Mailbox API does not cover).

        Raises:
            ConnectionLost: the mailbox is closed.
        """
        if self._client is None:
            from .._errors import ConnectionLost

            raise ConnectionLost("the mailbox is closed")
        return self._client

    def _name(self, name: str) -> Arg:
        check_wire_text(name, "folder name")
        if not name:
            raise InvalidArgument("a folder name cannot be empty")
        return name if "UTF8=ACCEPT" in self.client.capabilities else encode_mutf7(name)

    async def folders(self) -> list[FolderInfo]:
        """Return every folder (IMAP ``LIST "" "*"``)."""
        reply = await self.client.run("LIST", "", "*")
        return [folder_info(r) for r in reply.untagged if r.name == "LIST"]

    def folder(self, name: str) -> AsyncImapFolder:
        """Return the folder ``name`` (no I/O)."""
        check_wire_text(name, "folder name")
        return AsyncImapFolder(self, name)

    async def create_folder(self, name: str) -> None:
        """Create the folder ``name`` (IMAP CREATE)."""
        await self.client.run("CREATE", self._name(name))

    async def rename_folder(self, old: str, new: str) -> None:
        """Rename folder ``old`` to ``new`` (IMAP RENAME)."""
        await self._on_folder(old, "RENAME", self._name(old), self._name(new))

    async def delete_folder(self, name: str) -> None:
        """Delete the folder ``name`` (IMAP DELETE)."""
        if self._selected == name:
            await self.client.run("UNSELECT" if "UNSELECT" in self.client.capabilities else "CLOSE")
            self._selected = None
        await self._on_folder(name, "DELETE", self._name(name))

    async def _on_folder(self, folder: str, command: str, *args: Arg) -> Reply:
        try:
            return await self.client.run(command, *args)
        except CommandError as exc:
            # RFC 5530 [NONEXISTENT]; servers without that code (Dovecot 2.3 on STATUS) just
            # say NO, so a LIST of the name tells whether the folder is there.
            missing = exc.enhanced_code == "NONEXISTENT" or (
                exc.code == "NO" and exc.enhanced_code is None and not await self._exists(folder)
            )
            if missing:
                raise FolderNotFound(
                    f"no folder named {folder!r}", code=exc.code, enhanced_code=exc.enhanced_code,
                    text=exc.text,
                ) from None  # fmt: skip
            raise

    async def _exists(self, folder: str) -> bool:
        reply = await self.client.run("LIST", "", self._name(folder))
        return any(r.name == "LIST" for r in reply.untagged)

    async def _select(self, name: str) -> SelectInfo:
        if self._selected == name and self._select_info is not None:
            return self._select_info
        self._selected = None
        reply = await self._on_folder(name, "SELECT", self._name(name))
        self._selected, self._select_info = name, select_info(reply.untagged, reply.tagged)
        return self._select_info

    async def aclose(self) -> None:
        """Log out and close the connection. Safe to call more than once."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


class AsyncImapFolder(AsyncFolder):
    """A folder on an IMAP server."""

    _mailbox: AsyncImapMailbox

    async def status(self) -> FolderStatus:
        """Return the folder's counters (IMAP STATUS)."""
        box = self._mailbox
        items = [Atom("MESSAGES"), Atom("UNSEEN"), Atom("UIDNEXT"), Atom("UIDVALIDITY")]
        reply = await box._on_folder(self.name, "STATUS", box._name(self.name), items)
        return folder_status(reply.untagged)

    async def search(
        self, query: Q | None = None, *, fields: FetchField = DEFAULT_FIELDS
    ) -> AsyncIterator[MessageInfo]:
        """Yield each message matching ``query`` (UID SEARCH, then UID FETCH in batches)."""
        keys = (query if query is not None else Q.all()).to_imap()
        charset: list[Arg] = []
        client = self._mailbox.client
        if (query is not None and query.needs_utf8()) and "UTF8=ACCEPT" not in client.capabilities:
            charset = [Atom("CHARSET"), Atom("UTF-8")]
        await self._mailbox._select(self.name)
        reply = await client.run("UID", Atom("SEARCH"), *charset, *keys)
        uids = sorted(set(search_uids(reply.untagged)))
        for start in range(0, len(uids), _FETCH_BATCH):
            async for info in self.fetch(uids[start : start + _FETCH_BATCH], fields):
                yield info

    async def fetch(
        self, uids: Iterable[Uid], fields: FetchField = DEFAULT_FIELDS
    ) -> AsyncIterator[MessageInfo]:
        """Yield the ``fields`` of each of ``uids`` that still exists, by ascending uid."""
        for data in await self._fetch(uids, fields):
            yield data.message_info()

    async def _fetch(self, uids: Iterable[Uid], fields: FetchField) -> list[FetchData]:
        if FetchField.BODYSTRUCTURE in fields:
            raise UnsupportedOperation(
                "BODYSTRUCTURE is not decoded yet", capability="BODYSTRUCTURE"
            )
        wanted = _uid_set(uids)
        if wanted is None:
            return []
        items: list[Arg] = [Atom("UID")]
        items += [Atom(item) for field, item in _FETCH_ITEMS.items() if field in fields]
        await self._mailbox._select(self.name)
        reply = await self._mailbox.client.run("UID", Atom("FETCH"), wanted, items)
        found = [fetch_data(r) for r in reply.untagged if r.name == "FETCH"]
        # Unsolicited FETCH responses (flag changes by others) carry no UID: not ours.
        return sorted((d for d in found if d.uid is not None), key=lambda d: d.uid or 0)

    async def get_bytes(self, uid: Uid) -> bytes:
        """Return the raw message ``uid`` (UID FETCH BODY.PEEK[]); never marks it seen.

        Raises:
            CommandError: no message has this uid (any more).
        """
        for data in await self._fetch([uid], FetchField.BODY):
            body = data.section("BODY[]")
            if data.uid == uid and body is not None:
                return body
        raise CommandError(f"no message with uid {uid} in {self.name!r}", code="NO")


def _uid_set(uids: Iterable[Uid]) -> SequenceSet | None:
    values: list[int] = []
    for uid in uids:
        if isinstance(uid, bool) or not isinstance(uid, int):
            raise InvalidArgument(f"IMAP uids are positive ints, got {uid!r}")
        values.append(uid)
    return SequenceSet.of(values) if values else None
