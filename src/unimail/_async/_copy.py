"""``copy()``: the lossless copy of messages between any two open mailboxes.

IMAP -> IMAP (like imapsync), POP3 -> IMAP (a migration), IMAP -> Maildir (a backup): the
source is read through the Mailbox API and the destination written through it, so any two
backends combine. What makes it resumable and lossless is in ``_copy_folder`` (the order of
events per message) and ``_copy_state`` (the durable record); the folder names are mapped by
``_copy_names``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from .._copy_models import CopyResult, FolderCopyResult
from .._copy_names import plan_folders
from .._copy_state import CopyState
from .._errors import InvalidArgument, UnsupportedOperation
from .._models import Capability, FolderInfo
from .._search import Q
from ._copy_folder import CopyProgressCallback, FolderCopy
from ._mailbox import AsyncMailbox

__all__ = ["copy"]


async def copy(
    source: AsyncMailbox,
    destination: AsyncMailbox,
    *,
    state: str | os.PathLike[str],
    folders: Iterable[str] | None = None,
    mapping: Mapping[str, str] | None = None,
    query: Q | None = None,
    delete_after: bool = False,
    sync_flags: bool = False,
    progress: CopyProgressCallback | None = None,
) -> CopyResult:
    """Copy the messages of ``source`` into ``destination``, each exactly once.

    Flags and internal dates are kept where both sides have them. Folder names are mapped:
    the caller's ``mapping`` first, then INBOX to INBOX, special-use folders to the
    destination's folder with the same role (``\\Sent``, ``\\Trash``, ...), and otherwise the
    same name with the destination's hierarchy delimiter. Missing destination folders are
    created.

    What was copied is recorded in the SQLite database ``state`` (keyed by the source folder's
    UIDVALIDITY and uid, the POP3 UIDL, or the backend's stable key), so a second run copies
    only what is new. A run interrupted anywhere (crash, kill, dropped connection, an
    exception from ``progress``) loses nothing and duplicates nothing: the next run checks the
    destination for the messages whose append was in flight (by Message-ID, size and SHA-256)
    before appending them again. Where the destination folder has ``append_many`` (the local
    backends; IMAP MULTIAPPEND for messages sharing flags and date), each round of up to 100
    messages is stored with one call. After a UIDVALIDITY change the messages copied before
    are recognised by their content.

    Args:
        source: the open mailbox to read from.
        destination: the open mailbox to write to.
        state: the SQLite file that records the copy (created if missing). One file may hold
            many jobs (each source/destination pair is its own). ``":memory:"`` keeps nothing:
            every run copies everything again.
        folders: the source folders to copy (POP3: ``["INBOX"]``); None: every folder that can
            hold messages.
        mapping: source folder name -> destination folder name, for the folders that should
            not get the automatic name.
        query: copy only the messages matching it (evaluated by the source).
        delete_after: delete each message from the source once the destination confirmed its
            append and the record of it is on disk. POP3 deletes at the end of the session
            (the caller closing the source mailbox); a session that drops deletes nothing.
        sync_flags: also give the copies made by earlier runs the flags their originals have
            now (read, flagged, answered... since the last run), where the destination told
            the copy's uid and keeps its UIDVALIDITY.
        progress: called with a :class:`CopyProgress` as the copy goes (each folder listed,
            each message before and after its append, each message done, each deletion).
            An exception it raises stops the copy; the next run resumes it.

    Returns:
        What was copied, skipped (already there) and failed, per source folder.

    Raises:
        UnsupportedOperation: the destination cannot store messages (or has one folder and
            several were to be copied), the source cannot delete (``delete_after``), or the
            source's uids are not stable (POP3 without UIDL); raised before anything is copied.
        InvalidArgument: a bad argument, a folder that would be copied into itself, or
            ``state`` is not usable (another copy holds it).
        FolderNotFound: a folder of ``folders`` is not in the source.
        ConnectionLost, Timeout, ...: a connection broke; run the copy again to resume.
    """
    _check(source, destination, delete_after)
    if query is not None and not isinstance(query, Q):
        raise InvalidArgument(f"query must be a Q, not {type(query).__name__}")
    plan = plan_folders(await source.folders(), await _folders(destination), folders, mapping)
    if Capability.FOLDERS not in destination.capabilities:
        others = [target for _, target in plan if target.upper() != "INBOX"]
        if others:
            raise UnsupportedOperation(
                f"{type(destination).__name__} has one folder, INBOX, and cannot hold "
                f"{others[0]!r}: choose one source folder (folders=[...]) and map it to INBOX",
                capability=str(Capability.FOLDERS),
            )
    if _identity(source) == _identity(destination):
        for folder, target in plan:
            if folder.name == target:
                # Its own copies would be new messages to copy again at the next run.
                raise InvalidArgument(f"{folder.name!r} would be copied into itself")
    job = f"{_identity(source)} -> {_identity(destination)}"
    record = CopyState(state)  # first: a state another copy holds is refused before any change
    results: dict[str, FolderCopyResult] = {}
    try:
        await _create_missing(destination, [target for _, target in plan])
        for folder, target in plan:
            engine = FolderCopy(
                job=job, state=record, source=source.folder(folder.name),
                target=destination.folder(target), capabilities=destination.capabilities,
                query=query, delete_after=delete_after, progress=progress,
                update_flags=sync_flags,
            )  # fmt: skip
            results[folder.name] = await engine.run()
    finally:
        record.close()
    return CopyResult(folders=results)


def _check(source: AsyncMailbox, destination: AsyncMailbox, delete_after: bool) -> None:
    if not isinstance(source, AsyncMailbox) or not isinstance(destination, AsyncMailbox):
        raise InvalidArgument("copy() takes two open mailboxes")
    if Capability.APPEND not in destination.capabilities:
        raise UnsupportedOperation(
            f"{type(destination).__name__} cannot store messages: it lacks APPEND",
            capability=str(Capability.APPEND),
        )
    if delete_after and Capability.DELETE not in source.capabilities:
        raise UnsupportedOperation(
            f"{type(source).__name__} cannot delete exactly the copied messages: it lacks DELETE",
            capability=str(Capability.DELETE),
        )
    # POP3 without UIDL numbers messages per session: nothing stable to record them by.
    if getattr(source, "has_uidl", True) is False:
        raise UnsupportedOperation(
            "the POP3 server has no UIDL: messages have no stable id to resume by",
            capability="UIDL",
        )


def _identity(box: AsyncMailbox) -> str:
    # The account, not the way to it: imaps:// and imap:// (or another port, a proxy) reach
    # the same messages with the same uids. The protocol stays: POP3 UIDLs are not IMAP UIDs.
    url = box.options.url
    if not url.host:
        return str(url)
    kind = url.scheme[:-1] if url.scheme in ("imaps", "pop3s") else url.scheme
    return f"{kind}://{url.username or ''}@{url.host.lower()}"


async def _folders(destination: AsyncMailbox) -> list[FolderInfo]:
    if Capability.FOLDERS not in destination.capabilities:
        return [FolderInfo(name="INBOX")]
    return await destination.folders()


async def _create_missing(destination: AsyncMailbox, targets: list[str]) -> None:
    if all(t.upper() == "INBOX" for t in targets):
        return
    existing = {f.name for f in await destination.folders()}
    for target in targets:
        if target not in existing and target.upper() != "INBOX":
            # IMAP CREATE makes the missing parents too (RFC 9051 section 6.3.4).
            await destination.create_folder(target)
            existing.add(target)
