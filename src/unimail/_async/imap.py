"""The IMAP backend: ``imaps://`` (implicit TLS) and ``imap://`` (STARTTLS required).

The mailbox keeps one connection and at most one selected folder; a folder operation selects
its folder when another one is selected. Fetching uses ``BODY.PEEK`` so that reading a message
never marks it ``\\Seen``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

import attrs

from .._errors import (
    CommandError,
    ConnectionLost,
    FolderNotFound,
    InvalidArgument,
    UnsupportedOperation,
)
from .._models import Capability, FolderInfo, SpecialUse
from .._options import Security
from .._proto.imap._list import folders_with_status
from .._proto.imap._mutf7 import encode_mutf7
from .._proto.imap._namespace import Namespaces, namespaces, server_id
from .._proto.imap._parser import Response
from .._proto.imap._select import SelectInfo, select_info
from .._proto.imap._wire import Arg, Atom
from .._validate import check_wire_text
from ._imap_client import AsyncImapClient, Reply
from ._imap_folder import AsyncImapFolder
from ._mailbox import AsyncMailbox

__all__ = ["AsyncImapFolder", "AsyncImapMailbox"]

_STATUS_ITEMS = (Atom("MESSAGES"), Atom("UNSEEN"), Atom("UIDNEXT"), Atom("UIDVALIDITY"))


class AsyncImapMailbox(AsyncMailbox):
    """A mailbox on an IMAP server (RFC 9051 / RFC 3501).

    Open it with ``AsyncMailbox.open("imaps://user@host", password=...)``.
    """

    schemes: ClassVar[dict[str, Security]] = {"imap": Security.STARTTLS, "imaps": Security.TLS}

    _client: AsyncImapClient | None = None
    _selected: tuple[str, bool] | None = None  # (name, read-only)
    _select_info: SelectInfo | None = None
    _utf8 = False

    async def _connect(self) -> None:
        self._client = await AsyncImapClient.connect(self._options)
        await self._client.login()
        if "UTF8=ACCEPT" in self._client.capabilities:
            # RFC 6855: folder names and search text then travel as UTF-8, not modified UTF-7.
            await self._client.run("ENABLE", Atom("UTF8=ACCEPT"))
            self._utf8 = True
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
        return name if self._utf8 else encode_mutf7(name)

    async def folders(
        self, pattern: str = "*", *, subscribed: bool = False, status: bool = False
    ) -> list[FolderInfo]:
        """Return the folders whose names match ``pattern`` (IMAP LIST).

        Args:
            pattern: a LIST pattern: ``*`` matches anything, ``%`` anything but the hierarchy
                delimiter (``"Archive/%"``: the direct children of Archive).
            subscribed: only the subscribed folders (LIST (SUBSCRIBED), or LSUB).
            status: also read each folder's counters into ``FolderInfo.status``: in the same
                command where the server has LIST-STATUS (RFC 5819), else one STATUS per
                selectable folder.

        Special-use roles (``\\Sent``, ``\\Trash``, ...) are reported in ``special_use``.
        """
        capabilities = self.client.capabilities
        check_wire_text(pattern, "folder pattern")
        name = pattern if self._utf8 else encode_mutf7(pattern)
        extended = "LIST-EXTENDED" in capabilities
        inline_status = status and "LIST-STATUS" in capabilities
        if subscribed and not extended:
            reply = await self.client.run("LSUB", "", name)
        else:
            args: list[Arg] = [[Atom("SUBSCRIBED")]] if subscribed else []
            args += ["", name]
            returns: list[Arg] = []
            if extended and "SPECIAL-USE" in capabilities:  # RFC 6154 section 2
                returns.append(Atom("SPECIAL-USE"))
            if inline_status:
                returns += [Atom("STATUS"), list(_STATUS_ITEMS)]
            if returns:
                args += [Atom("RETURN"), returns]
            reply = await self.client.run("LIST", *args)
        listed = folders_with_status(reply.untagged, utf8=self._utf8)
        if not status or inline_status:
            return listed
        # Without LIST-STATUS: one STATUS per folder that can hold messages.
        return [
            attrs.evolve(info, status=await self.folder(info.name).status())
            if info.selectable
            else info
            for info in listed
        ]

    def folder(self, name: str, *, readonly: bool = False) -> AsyncImapFolder:
        """Return the folder ``name`` (no I/O). With ``readonly``, it is opened with EXAMINE:
        nothing in it can change through this object, not even the ``\\Recent`` flags."""
        check_wire_text(name, "folder name")
        return AsyncImapFolder(self, name, readonly=readonly)

    async def create_folder(self, name: str, *, special_use: SpecialUse | None = None) -> None:
        """Create the folder ``name`` (IMAP CREATE), with a special-use role where the server
        supports it (RFC 6154 CREATE-SPECIAL-USE).

        Raises:
            UnsupportedOperation: ``special_use`` was given and the server cannot set it.
        """
        args: list[Arg] = [self._name(name)]
        if special_use is not None:
            if "CREATE-SPECIAL-USE" not in self.client.capabilities:
                raise UnsupportedOperation(
                    "the server cannot create special-use folders", capability="CREATE-SPECIAL-USE"
                )
            args.append([Atom("USE"), [Atom(SpecialUse(special_use).value)]])
        await self.client.run("CREATE", *args)

    async def subscribe(self, name: str) -> None:
        """Subscribe to the folder ``name`` (IMAP SUBSCRIBE)."""
        await self.client.run("SUBSCRIBE", self._name(name))

    async def unsubscribe(self, name: str) -> None:
        """Unsubscribe from the folder ``name`` (IMAP UNSUBSCRIBE)."""
        await self.client.run("UNSUBSCRIBE", self._name(name))

    async def server_id(self, client_id: dict[str, str] | None = None) -> dict[str, str]:
        """Exchange identification with the server (RFC 2971 ID); return what it says.

        Raises:
            UnsupportedOperation: the server lacks ID.
        """
        if "ID" not in self.client.capabilities:
            raise UnsupportedOperation("the server lacks the ID command", capability="ID")
        fields: list[Arg] = []
        for key, value in (client_id or {}).items():
            fields += [check_wire_text(key, "ID field"), check_wire_text(value, "ID value")]
        reply = await self.client.run("ID", fields if fields else Atom("NIL"))
        return server_id(reply.untagged)

    async def namespaces(self) -> Namespaces:
        """Return the server's namespaces (RFC 2342 NAMESPACE): where personal, other
        users' and shared folders live, each as ``(prefix, delimiter)`` pairs.

        Raises:
            UnsupportedOperation: the server lacks NAMESPACE.
        """
        if "NAMESPACE" not in self.client.capabilities:
            raise UnsupportedOperation("the server lacks NAMESPACE", capability="NAMESPACE")
        reply = await self.client.run("NAMESPACE")
        return namespaces(reply.untagged, utf8=self._utf8)

    async def rename_folder(self, old: str, new: str) -> None:
        """Rename folder ``old`` to ``new`` (IMAP RENAME)."""
        await self._on_folder(old, "RENAME", self._name(old), self._name(new))

    async def delete_folder(self, name: str) -> None:
        """Delete the folder ``name`` (IMAP DELETE)."""
        if self._selected is not None and self._selected[0] == name:
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

    async def _select(self, name: str, *, readonly: bool = False) -> SelectInfo:
        if self._selected == (name, readonly) and self._select_info is not None:
            return self._select_info
        self._selected = None
        command = "EXAMINE" if readonly else "SELECT"
        reply = await self._on_folder(name, command, self._name(name))
        self._selected = (name, readonly)
        self._select_info = select_info(reply.untagged, reply.tagged)
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
