"""The IMAP backend: ``imaps://`` (implicit TLS) and ``imap://`` (STARTTLS required).

The mailbox keeps one connection and at most one selected folder; a folder operation selects
its folder when another one is selected. Fetching uses ``BODY.PEEK`` so that reading a message
never marks it ``\\Seen``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

import attrs

from .._errors import CommandError, ConnectionLost, FolderNotFound, InvalidArgument
from .._models import Capability, FolderInfo
from .._options import Security
from .._proto.imap._list import folder_info
from .._proto.imap._mutf7 import encode_mutf7
from .._proto.imap._parser import Response
from .._proto.imap._select import SelectInfo, select_info
from .._proto.imap._wire import Arg
from .._validate import check_wire_text
from ._imap_client import AsyncImapClient, Reply
from ._imap_folder import AsyncImapFolder
from ._mailbox import AsyncMailbox

__all__ = ["AsyncImapFolder", "AsyncImapMailbox"]


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
            found |= {Capability.UIDPLUS, Capability.DELETE}
        if "MOVE" in server or "UIDPLUS" in server:
            found.add(Capability.MOVE)
        found |= {Capability.APPEND, Capability.COPY}
        return frozenset(found)

    @property
    def client(self) -> AsyncImapClient:
        """The underlying IMAP connection (for commands the Mailbox API does not cover).

        Raises:
            ConnectionLost: the mailbox is closed.
        """
        if self._client is None:
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

    def _unsolicited(self, responses: Iterable[Response]) -> None:
        """Take note of responses the server sent besides a command's own answer."""
        for response in responses:
            if response.name == "EXISTS" and self._select_info is not None:
                self._select_info = attrs.evolve(self._select_info, exists=response.number or 0)

    async def aclose(self) -> None:
        """Log out and close the connection. Safe to call more than once."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
