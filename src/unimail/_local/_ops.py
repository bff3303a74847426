"""The Folder operations, written once over :class:`~._view.Store` for every local store.

Each function is one blocking unit of work: the async folder runs it in a worker thread, the
sync folder calls it. It opens the folder's view (taking its lock), does its work and returns
plain values. Functions that take ``expected`` refuse to work on a folder whose UIDVALIDITY is
no longer the one the caller's uids belong to (as IMAP folders do).

Search is evaluated here, on the client (``Q.matches``): the header block is read only when the
query looks at headers, the whole message only when it looks at bodies.
"""

from __future__ import annotations

import datetime
import email.message
import mailbox
from collections.abc import Callable
from typing import IO, Any, Literal, TypeVar

import attrs

from .._errors import CommandError, InvalidArgument, UnimailError
from .._models import FetchField, Flag, FolderStatus, MessageInfo
from .._search import Q
from ._flags import FlagSet
from ._message import make_info, parse_fast, read_header_block
from ._view import Entry, FolderView, NewMessage, Store

__all__ = [
    "Snapshot",
    "append",
    "append_many",
    "call",
    "change_flags",
    "delete",
    "infos",
    "open_message",
    "snapshot",
    "status",
    "transfer",
    "uids",
]

T = TypeVar("T")

#: How many messages one call reads at most, and how many bytes of content.
BATCH = 500
BATCH_BYTES = 8 * 1024 * 1024
#: Header blocks larger than this are cut there (for envelopes and header searches).
HEADER_LIMIT = 1024 * 1024


def call(function: Callable[..., T], *args: Any) -> T:
    """Run ``function(*args)``, translating file-system errors into library errors.

    Raises:
        CommandError: the file system refused (``OSError``) or a file is malformed.
    """
    try:
        return function(*args)
    except UnimailError:
        raise
    except (OSError, mailbox.Error) as exc:
        text = getattr(exc, "strerror", None) or str(exc)
        raise CommandError(f"the local store failed: {text}", code="NO", text=text) from exc


@attrs.frozen
class Snapshot:
    """A folder's uids and their flags at one moment, for ``watch()``."""

    uidvalidity: int
    flags: dict[int, FlagSet] = attrs.field(eq=False)


def _checked(view: FolderView, folder: str, expected: int | None) -> FolderView:
    if expected is not None and view.uidvalidity != expected:
        raise InvalidArgument(
            f"the UIDVALIDITY of {folder!r} changed ({expected} -> {view.uidvalidity}): uids "
            f"from before name other messages now. Get the folder again with "
            f"mailbox.folder({folder!r}) and search again."
        )
    return view


def snapshot(store: Store, folder: str) -> Snapshot:
    """Return the folder's uids and flags now."""
    with store.view(folder) as view:
        return Snapshot(view.uidvalidity, {uid: e.flags for uid, e in view.entries().items()})


def status(store: Store, folder: str) -> FolderStatus:
    """Return the folder's counters."""
    with store.view(folder) as view:
        entries = view.entries()
        unseen = sum(1 for e in entries.values() if Flag.SEEN not in e.flags)
        return FolderStatus(
            messages=len(entries), unseen=unseen, uidnext=view.uidnext,
            uidvalidity=view.uidvalidity,
        )  # fmt: skip


def uids(store: Store, folder: str, expected: int | None) -> list[int]:
    """Return every uid of the folder, ascending."""
    with store.view(folder) as view:
        return list(_checked(view, folder, expected).entries())


@attrs.frozen
class _Candidate:
    """One message as ``Q.matches`` reads it (see ``_search_eval.Candidate``)."""

    uid: int
    flags: FlagSet | None
    size: int | None
    internal_date: datetime.datetime | None
    message: email.message.Message | None


def infos(
    store: Store,
    folder: str,
    wanted: list[int],
    fields: FetchField,
    query: Q | None,
    expected: int | None,
) -> tuple[list[MessageInfo], int]:
    """Return the ``fields`` of the messages of ``wanted`` that exist (and match ``query``),
    and how many uids of ``wanted`` were looked at: the first :data:`BATCH` at most, fewer
    when their contents passed :data:`BATCH_BYTES` (call again for the rest)."""
    needs = query.needs() if query is not None else FetchField(0)
    whole = bool((needs | fields) & (FetchField.BODY | FetchField.BODYSTRUCTURE))
    header = bool((needs | fields) & (FetchField.HEADERS | FetchField.ENVELOPE))
    found: list[MessageInfo] = []
    read = done = 0
    with store.view(folder) as view:
        entries = _checked(view, folder, expected).entries()
        for uid in wanted[:BATCH]:
            done += 1
            entry = entries.get(uid)
            if entry is None:
                continue
            data = message = None
            if whole:
                data = view.read(entry)
            elif header:
                file, _ = view.open(entry)
                with file:
                    data = read_header_block(file, HEADER_LIMIT)
            if data is not None and (query is not None or FetchField.ENVELOPE in fields):
                message = parse_fast(data, whole=whole)
            read += len(data or b"")
            size = view.size(entry) if (needs | fields) & FetchField.SIZE else None
            when = view.internal_date(entry) if (needs | fields) & FetchField.INTERNALDATE else None
            candidate = _Candidate(uid, entry.flags, size, when, message)
            if query is not None and not query.matches(candidate):
                continue
            info = make_info(
                uid, fields, flags=entry.flags, size=size, internal_date=when, data=data,
                message=message,
            )  # fmt: skip
            found.append(info)
            if read >= BATCH_BYTES:
                break
    return found, done


def open_message(
    store: Store, folder: str, uid: int, expected: int | None
) -> tuple[IO[bytes], int]:
    """Return an open binary file positioned at message ``uid``, and its size.

    Raises:
        CommandError: no message has this uid (any more).
    """
    with store.view(folder) as view:
        entry = _checked(view, folder, expected).entries().get(uid)
        if entry is None:
            raise CommandError(f"no message with uid {uid} in {folder!r}", code="NO")
        return view.open(entry)


def append(
    store: Store, folder: str, raw: bytes, flags: FlagSet, when: datetime.datetime | None
) -> tuple[int, int, FlagSet]:
    """Store a message; return its uid, the folder's UIDVALIDITY and the message's flags."""
    with store.view(folder) as view:
        entry = view.add(raw, flags, when)
        return entry.uid, view.uidvalidity, entry.flags


Mode = Literal["add", "remove", "set"]


def change_flags(
    store: Store, folder: str, wanted: list[int], mode: Mode, flags: FlagSet, expected: int | None
) -> dict[int, FlagSet]:
    """Add, remove or set ``flags`` on the existing messages of ``wanted``; return their flags
    now."""
    changed: dict[int, FlagSet] = {}
    with store.view(folder) as view:
        entries = _checked(view, folder, expected).entries()
        for uid in wanted:
            entry = entries.get(uid)
            if entry is None:
                continue
            if mode == "add":
                new = entry.flags | flags
            elif mode == "remove":
                new = entry.flags - flags
            else:
                new = flags
            changed[uid] = view.set_flags(entry, new).flags if new != entry.flags else new
    return changed


def transfer(
    store: Store,
    folder: str,
    wanted: list[int],
    destination: str,
    expected: int | None,
    move: bool,
) -> tuple[dict[int, int], dict[int, FlagSet], list[int]]:
    """Copy (or move) messages to ``destination``; return ``{old uid: new uid}``, the flags of
    the new messages, and the uids removed from ``folder``.

    The copies are complete in the destination (its view closed, so written and unlocked)
    before any original is removed: a crash between the two leaves a message twice, never
    zero times.
    """
    mapping: dict[int, int] = {}
    added: dict[int, FlagSet] = {}
    with store.view(folder) as source:
        entries = _checked(source, folder, expected).entries()
        picked = [entries[uid] for uid in dict.fromkeys(wanted) if uid in entries]
        if not picked:
            return {}, {}, []
        if store.canonical(destination) == store.canonical(folder):
            for entry in picked:
                _copy_one(source, source, entry, mapping, added)
        else:
            with store.view(destination) as target:
                for entry in picked:
                    _copy_one(source, target, entry, mapping, added)
        if move:
            source.remove(picked)
    return mapping, added, [e.uid for e in picked] if move else []


def _copy_one(
    source: FolderView,
    target: FolderView,
    entry: Entry,
    mapping: dict[int, int],
    added: dict[int, FlagSet],
) -> None:
    new = target.add(source.read(entry), entry.flags, source.internal_date(entry))
    mapping[entry.uid] = new.uid
    added[new.uid] = new.flags


def delete(store: Store, folder: str, wanted: list[int], expected: int | None) -> list[int]:
    """Remove exactly the messages ``wanted``; return the uids that were there."""
    with store.view(folder) as view:
        entries = _checked(view, folder, expected).entries()
        picked = [entries[uid] for uid in dict.fromkeys(wanted) if uid in entries]
        if picked:
            view.remove(picked)
        return [e.uid for e in picked]


def append_many(
    store: Store, folder: str, items: list[NewMessage]
) -> tuple[list[int], int, list[FlagSet]]:
    """Store messages in one batch (see ``FolderView.add_many``); return their uids, the
    folder's UIDVALIDITY and their flags."""
    with store.view(folder) as view:
        entries = view.add_many(items)
        return [e.uid for e in entries], view.uidvalidity, [e.flags for e in entries]
