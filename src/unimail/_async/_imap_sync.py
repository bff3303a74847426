"""Modification sequences on an IMAP folder (CONDSTORE / QRESYNC, RFC 7162).

A sync client keeps, per folder, its UIDVALIDITY and HIGHESTMODSEQ (``folder.status()``) and
the messages it has. Later, :meth:`ModseqMethods.changes_since` tells it what changed since:

- with QRESYNC, one ``SELECT folder (QRESYNC (uidvalidity modseq [known-uids]))``: the server
  answers with ``VANISHED (EARLIER)`` for the uids expunged since, and a ``FETCH (UID FLAGS
  MODSEQ)`` for each message changed or added since (RFC 7162 section 3.2.5);
- with CONDSTORE alone, a fresh SELECT (for the current HIGHESTMODSEQ), ``UID FETCH 1:*
  (UID FLAGS MODSEQ) (CHANGEDSINCE modseq)``, and a ``UID SEARCH ALL`` whose uids are compared
  with the caller's: what the caller knows and the server no longer has was expunged.

Either way the HIGHESTMODSEQ returned was read *before* the changes were, so a change made in
between is reported now and maybe once more next time (the flags a message has now), but never
lost. A changed UIDVALIDITY voids every cached uid: that is refused, never papered over.

:meth:`ModseqMethods.store_flags` stores flags with UNCHANGEDSINCE (RFC 7162 section 3.1.3):
messages changed by someone else since the caller looked are left alone and named in the
tagged OK's ``[MODIFIED uid-set]`` code.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from contextlib import aclosing
from typing import TYPE_CHECKING, Literal, cast

from .._errors import InvalidArgument, UnsupportedOperation
from .._models import FetchField, Flag, FolderChanges
from .._proto.imap._arguments import check_uids
from .._proto.imap._condstore import check_modseq, qresync_parameter, vanished_uids
from .._proto.imap._events import UidRanges
from .._proto.imap._fetch import FetchData, fetch_data
from ._folder import Uid

if TYPE_CHECKING:
    from ._imap_folder import AsyncImapFolder

__all__ = ["ModseqMethods"]

# What a changed message always comes with.
_ALWAYS = FetchField.UID | FetchField.FLAGS | FetchField.MODSEQ


class ModseqMethods:
    """The CONDSTORE / QRESYNC methods of :class:`AsyncImapFolder` (a mixin of it)."""

    async def store_flags(
        self,
        uids: Iterable[Uid],
        flags: Collection[Flag | str],
        *,
        action: Literal["add", "remove", "set"] = "add",
        unchanged_since: int | None = None,
    ) -> list[Uid]:
        """Add, remove or replace ``flags`` on each of ``uids``, only where the message did
        not change since modification sequence ``unchanged_since`` (RFC 7162 UNCHANGEDSINCE):
        the others are left alone and returned, so that the caller can look again (fetch
        their flags and ``modseq``) and decide.

        Args:
            uids: the messages.
            flags: the flags (system flags as :class:`Flag`, keywords as ``str``).
            action: ``"add"``, ``"remove"`` or ``"set"`` (replace).
            unchanged_since: a ``modseq`` from an earlier fetch (0: only messages that have
                none); None: store unconditionally, like :meth:`add_flags` and friends.

        Returns:
            The uids refused because they changed meanwhile (``[MODIFIED]``), ascending;
            empty when every message was updated.

        Raises:
            InvalidArgument: a bad uid, flag, action or modseq (nothing was sent).
            UnsupportedOperation: ``unchanged_since`` on a server without CONDSTORE, or the
                folder is read-only.
        """
        folder = cast("AsyncImapFolder", self)
        names = {"add": "+FLAGS.SILENT", "remove": "-FLAGS.SILENT", "set": "FLAGS.SILENT"}
        if action not in names:
            raise InvalidArgument(f"action must be 'add', 'remove' or 'set', got {action!r}")
        if unchanged_since is not None:
            check_modseq(unchanged_since, "unchanged_since", zero=True)
            if not folder._mailbox.condstore:
                raise UnsupportedOperation(
                    "the server cannot store conditionally (CONDSTORE)", capability="CONDSTORE"
                )
        refused = await folder._store(
            uids, names[action], flags, allow_empty=action == "set", unchanged_since=unchanged_since
        )
        return list(refused)

    async def changes_since(
        self,
        uidvalidity: int,
        highest_modseq: int,
        *,
        known_uids: Iterable[Uid] | None = None,
        fields: FetchField = FetchField.FLAGS,
    ) -> FolderChanges:
        """Return what changed in the folder since it had ``(uidvalidity, highest_modseq)``
        (from :meth:`status` or the last ``changes_since()``): the messages that arrived or
        whose flags changed, the uids expunged, and the new ``highest_modseq`` to keep.

        With QRESYNC this is one ``SELECT ... (QRESYNC (...))``; with CONDSTORE alone, a
        ``UID FETCH ... (CHANGEDSINCE n)`` and a ``UID SEARCH`` whose uids are compared with
        ``known_uids`` (see the module docstring).

        Args:
            uidvalidity: the UIDVALIDITY the caller's uids belong to.
            highest_modseq: the folder's ``highest_modseq`` when the caller last looked.
            known_uids: the uids the caller holds. Narrows ``vanished`` to them; required
                where the server lacks QRESYNC (it then cannot say what was expunged).
            fields: what to fetch about changed messages besides uid, flags and modseq.

        Returns:
            A :class:`FolderChanges`.

        Raises:
            InvalidArgument: a bad argument, or the folder's UIDVALIDITY is no longer
                ``uidvalidity``: every cached uid is void, start again from scratch
                (:meth:`status` gives the new one).
            UnsupportedOperation: the server has no CONDSTORE (or the folder keeps no
                modification sequences), or it lacks QRESYNC and ``known_uids`` is None.
            FolderNotFound: the folder does not exist.
        """
        folder = cast("AsyncImapFolder", self)
        if isinstance(uidvalidity, bool) or not isinstance(uidvalidity, int):
            raise InvalidArgument(f"uidvalidity must be an int, got {uidvalidity!r}")
        check_modseq(highest_modseq, "highest_modseq")
        known = check_uids(known_uids) if known_uids is not None else None
        box = folder._mailbox
        if not box.condstore:
            raise UnsupportedOperation(
                "the server has no modification sequences (CONDSTORE)", capability="CONDSTORE"
            )
        if not box.qresync and known is None:
            raise UnsupportedOperation(
                "the server lacks QRESYNC: pass known_uids so that expunged messages can be "
                "found", capability="QRESYNC",
            )  # fmt: skip
        # Without known-uids: with them the server reports changes only of those (RFC 7162
        # 3.2.5.2), so arrivals would be missed; the vanished uids are narrowed here instead.
        params = qresync_parameter(uidvalidity, highest_modseq) if box.qresync else []
        reply = await folder._select_again(params)
        info = box._select_info
        assert info is not None  # set by the successful SELECT
        if info.uidvalidity != uidvalidity:
            raise InvalidArgument(
                f"the UIDVALIDITY of {folder.name!r} is {info.uidvalidity}, not {uidvalidity}: "
                "the cached uids name other messages now; fetch the folder again from scratch"
            )
        if info.nomodseq or info.highest_modseq is None:
            raise UnsupportedOperation(
                f"folder {folder.name!r} keeps no modification sequences (NOMODSEQ)",
                capability="CONDSTORE",
            )
        changed: dict[int, FetchData] = {}
        vanished: list[int]
        if box.qresync:
            gone: list[UidRanges] = []
            for response in reply.untagged:
                if response.name == "VANISHED":
                    gone.append(vanished_uids(response)[1])
                elif response.name == "FETCH" and (data := fetch_data(response)).uid is not None:
                    changed[data.uid] = data
            vanished = _vanished(gone, known, info.uidnext)
            extra = fields & ~_ALWAYS
            if extra and changed:
                uids = sorted(set(changed) - set(vanished))
                async with aclosing(folder._stream(uids, fields | _ALWAYS)) as stream:
                    async for data in stream:
                        if data.uid is not None:
                            changed[data.uid] = data
        else:
            everything = folder._stream(None, fields | _ALWAYS, changed_since=highest_modseq)
            async with aclosing(everything) as stream:
                async for data in stream:
                    if data.uid is not None:
                        changed[data.uid] = data
            current = {found.uid async for found in folder.search(fields=FetchField.UID)}
            vanished = sorted(set(known or ()) - current)
        dropped = set(vanished)
        infos = [changed[uid].message_info() for uid in sorted(changed) if uid not in dropped]
        return FolderChanges(
            uidvalidity=uidvalidity,
            highest_modseq=info.highest_modseq,
            changed=tuple(infos),
            vanished=tuple(vanished),
        )


# More uids than this in one VANISHED answer is no folder we can hold a list for.
_MAX_VANISHED = 10_000_000


def _vanished(gone: list[UidRanges], known: list[int] | None, uidnext: int | None) -> list[int]:
    """The uids of ``gone`` the caller knows of (all, up to UIDNEXT, without ``known``)."""
    if known is not None:
        return sorted(uid for uid in set(known) if any(uid in ranges for ranges in gone))
    found: set[int] = set()
    for ranges in gone:
        found.update(ranges.values(below=uidnext or 2**32, limit=_MAX_VANISHED))
    return sorted(found)
