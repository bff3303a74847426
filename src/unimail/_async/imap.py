"""The IMAP backend: ``imaps://`` (implicit TLS) and ``imap://`` (STARTTLS required).

The mailbox keeps one connection and at most one selected folder; a folder operation selects
its folder when another one is selected. Fetching uses ``BODY.PEEK`` so that reading a message
never marks it ``\\Seen``.

Where the server offers them, ENABLE turns on UTF8=ACCEPT (RFC 6855), CONDSTORE and QRESYNC
(RFC 7162) right after login: modification sequences then come with flag updates, and expunges
are told as VANISHED uids instead of EXPUNGE sequence numbers.

Responses the server sends besides a command's own answer (RFC 9051 section 7: EXISTS,
EXPUNGE, VANISHED, FETCH flag updates, at any time) keep the mailbox's view of the selected
folder in step and are never taken for a command's result; ``watch()`` and ``updates()``
report them as events (``_imap_updates``).
``[ALERT]`` texts, which a client must show its user (RFC 9051 section 7.1), are logged at
WARNING on the ``unimail`` logger and kept for :meth:`AsyncImapMailbox.take_alerts`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
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
from .._options import Options, Security
from .._proto.imap._condstore import enabled, vanished_uids
from .._proto.imap._list import folders_with_status
from .._proto.imap._mutf7 import encode_mutf7
from .._proto.imap._namespace import Namespaces, namespaces, server_id
from .._proto.imap._parser import Response
from .._proto.imap._select import SelectInfo, select_info
from .._proto.imap._wire import Arg, Atom
from .._validate import check_wire_text
from ._imap_client import AsyncImapClient, Reply
from ._imap_folder import AsyncImapFolder
from ._imap_updates import UpdateTracker
from ._mailbox import AsyncMailbox

__all__ = ["AsyncImapFolder", "AsyncImapMailbox"]

_LOG = logging.getLogger("unimail")

# Alerts kept for take_alerts() at most: a server repeating one forever costs no memory.
_MAX_ALERTS = 100

# What ENABLE asks for where the server offers it (RFC 5161).
_ENABLE = ("UTF8=ACCEPT", "CONDSTORE", "QRESYNC")

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
    _enabled: frozenset[str] = frozenset()
    _tracker: UpdateTracker | None = None  # set by the first updates() or watch()

    def __init__(self, options: Options) -> None:
        """Store ``options``; does no I/O. Use :meth:`open` to get a connected mailbox."""
        super().__init__(options)
        self._alerts: list[str] = []

    async def _connect(self) -> None:
        self._client = await AsyncImapClient.connect(self._options, observer=self._observe)
        await self._client.login()
        offered = self._client.capabilities
        wanted = [name for name in _ENABLE if name in offered]
        self._enabled = frozenset()
        # RFC 5161: ENABLE needs the ENABLE capability, which UTF8=ACCEPT (RFC 6855) and
        # QRESYNC (RFC 7162) imply; a CONDSTORE-only server without it is used without.
        if wanted and ("ENABLE" in offered or {"UTF8=ACCEPT", "QRESYNC"} & set(wanted)):
            reply = await self._client.run("ENABLE", *(Atom(name) for name in wanted))
            self._enabled = enabled(reply.untagged)
            # RFC 6855: folder names and search text then travel as UTF-8, not modified UTF-7.
            self._utf8 = "UTF8=ACCEPT" in wanted
        self._capabilities = self._capabilities_from(self._client.capabilities)
        if self.condstore:
            self._capabilities |= {Capability.CONDSTORE}

    @property
    def condstore(self) -> bool:
        """True when modification sequences are on (CONDSTORE or QRESYNC enabled, RFC 7162):
        ``FetchField.MODSEQ``, ``fetch(changed_since=)``, ``store_flags(unchanged_since=)``
        and ``changes_since()`` work."""
        return bool(self._enabled & {"CONDSTORE", "QRESYNC"})

    @property
    def qresync(self) -> bool:
        """True when QRESYNC is enabled (RFC 7162): the server names expunged messages by
        uid (VANISHED), and ``changes_since()`` needs no list of known uids."""
        return "QRESYNC" in self._enabled

    def take_alerts(self) -> list[str]:
        """Return the texts of the ``[ALERT]`` responses received since the last call, oldest
        first, and forget them (at most the last 100 are kept).

        RFC 9051 section 7.1 asks the client to show these to its user (quota, maintenance,
        password expiry...); each is also logged at WARNING on the ``unimail`` logger.
        """
        alerts, self._alerts = self._alerts, []
        return alerts

    def _observe(self, response: Response) -> None:
        """See every response as it is read (``AsyncImapClient.observer``)."""
        if self._tracker is not None:
            self._tracker.observe(response)  # folder updates, see _imap_updates
        if response.code == "ALERT" and response.is_status:
            text = response.text.strip()
            _LOG.warning("IMAP server alert: %s", text)
            self._alerts.append(text)
            del self._alerts[:-_MAX_ALERTS]

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

    async def compress(self) -> None:
        """Compress the rest of the connection with deflate (RFC 4978 COMPRESS=DEFLATE).

        Worth it on slow or metered links (headers and text shrink three to five times); on a
        fast link it costs CPU. A second call does nothing. Decompressed data is bounded by
        the mailbox's ``limits`` like any other data (a decompression bomb raises
        ``LimitExceeded``).

        Raises:
            UnsupportedOperation: the server does not offer COMPRESS=DEFLATE.
        """
        await self.client.compress()

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
            missing = exc.enhanced_code in ("NONEXISTENT", "TRYCREATE") or (
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
        await self._select_again(name, readonly=readonly)
        assert self._select_info is not None  # set by a successful SELECT
        return self._select_info

    async def _select_again(
        self, name: str, *, readonly: bool = False, params: Sequence[Arg] = ()
    ) -> Reply:
        """SELECT (or EXAMINE) ``name`` even if it is selected, with select ``params`` such
        as ``(QRESYNC (...))``; return the reply (its untagged responses after ``[CLOSED]``)."""
        self._selected = None
        self._select_info = None
        command = "EXAMINE" if readonly else "SELECT"
        extra: list[Arg] = [list(params)] if params else []
        reply = await self._on_folder(name, command, self._name(name), *extra)
        # RFC 7162 3.2.11: under QRESYNC, "* OK [CLOSED]" ends the previous folder's updates.
        closed = [i for i, r in enumerate(reply.untagged) if r.code == "CLOSED"]
        untagged = reply.untagged[closed[-1] + 1 :] if closed else reply.untagged
        self._selected = (name, readonly)
        self._select_info = select_info(untagged, reply.tagged)
        return Reply(reply.tagged, untagged)

    def _unsolicited(self, responses: Iterable[Response]) -> None:
        """Take note of responses the server sent besides a command's own answer: the
        message count of the selected folder follows EXISTS, EXPUNGE and VANISHED."""
        for response in responses:
            info = self._select_info
            if info is None or response.tag != "*":
                continue
            if response.name == "EXISTS":
                self._select_info = attrs.evolve(info, exists=response.number or 0)
            elif response.name == "EXPUNGE":
                self._select_info = attrs.evolve(info, exists=max(info.exists - 1, 0))
            elif response.name == "VANISHED":
                earlier, uids = vanished_uids(response)
                if not earlier:  # RFC 7162 3.2.10: only messages the session knew of
                    self._select_info = attrs.evolve(info, exists=max(info.exists - uids.size, 0))

    async def aclose(self) -> None:
        """Log out and close the connection. Safe to call more than once."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
