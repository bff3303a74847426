"""A folder on an IMAP server: search, fetch, read, append, flags, copy, move, delete.

Uids are valid only together with the folder's UIDVALIDITY (RFC 9051 section 2.3.1.1). A
folder object remembers the UIDVALIDITY it first saw; if the server later reports another one,
every operation that takes uids refuses to run (``InvalidArgument``): the caller's uids would
name other messages. Get the folder again with ``mailbox.folder(name)`` and search again.

Reading (``search()``, ``fetch()``, ``get_bytes()``, ``download()``: results stream) is in
``_imap_fetch``; this module holds the folder's state and the commands that change messages.

Where the server has CONDSTORE / QRESYNC (RFC 7162), ``fetch(changed_since=)``,
``store_flags(unchanged_since=)`` and ``changes_since()`` (in ``_imap_sync``) use modification
sequences; ``get_part()`` (``_imap_parts``) uses BINARY (RFC 3516) and ``append_many()``
MULTIAPPEND (RFC 3502) where offered, with plain IMAP4rev1 fallbacks.
"""

from __future__ import annotations

import datetime
import email.message
import email.policy
from collections.abc import AsyncGenerator, Collection, Iterable, Sequence
from typing import TYPE_CHECKING

from .._errors import InvalidArgument, UnsupportedOperation
from .._models import Flag, FolderEvent, FolderStatus
from .._proto.imap._arguments import check_uids, date_time, flag_list
from .._proto.imap._condstore import modified_uids
from .._proto.imap._select import SelectInfo, folder_status
from .._proto.imap._uidplus import appended_uid, copied_uids
from .._proto.imap._wire import Arg, Atom, SequenceSet
from ._folder import AsyncFolder, Uid
from ._imap_fetch import FetchMethods
from ._imap_parts import PartMethods
from ._imap_sync import ModseqMethods
from ._imap_updates import UpdateMethods

if TYPE_CHECKING:
    from ._imap_client import Reply
    from .imap import AsyncImapMailbox

__all__ = ["AsyncImapFolder"]


class AsyncImapFolder(FetchMethods, ModseqMethods, PartMethods, UpdateMethods, AsyncFolder):
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
