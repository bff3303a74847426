"""The INBOX of an eml directory: listing, client-side search, fetch, read, download, watch.

Uids are file names (``"0001.eml"``), in file-name order. A uid is checked to be a plain
``*.eml`` file name before it touches the file system, so ``"../x.eml"`` cannot escape the
directory. File I/O runs in worker threads (``anyio.Path``), so the event loop never blocks.
"""

from __future__ import annotations

import datetime
import email.message
import email.parser
import email.policy
import email.utils
import os
from collections.abc import AsyncGenerator, Callable, Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING

import anyio
import attrs

from unimail import (
    Address,
    AsyncFolder,
    Capability,
    CommandError,
    Envelope,
    FetchField,
    Flag,
    FolderEvent,
    FolderStatus,
    InvalidArgument,
    MessageInfo,
    MessagesRemoved,
    NewMessages,
    Q,
)

if TYPE_CHECKING:
    from ._mailbox import AsyncEmlMailbox

__all__ = ["AsyncEmlFolder", "check_name"]

Uid = int | str
#: ``progress(done_bytes, total_bytes)``, as every unimail backend calls it.
Progress = Callable[[int, int | None], None]
_CHUNK = 64 * 1024
_DEFAULT_FIELDS = FetchField.UID | FetchField.FLAGS | FetchField.SIZE | FetchField.ENVELOPE
_HEADERS = email.parser.BytesHeaderParser(policy=email.policy.default)


def check_name(name: str) -> None:
    """Refuse a folder name with CR, LF or NUL, as every unimail backend does.

    Raises:
        InvalidArgument: the name is not a str, or holds CR, LF or NUL.
    """
    if not isinstance(name, str) or any(c in name for c in "\r\n\0"):
        raise InvalidArgument(f"invalid folder name {name!r}")


@attrs.frozen
class _Candidate:
    """One message as ``Q.matches`` reads it: what this backend does not know is None."""

    uid: int | str
    size: int | None
    message: email.message.Message | None
    flags: frozenset[Flag | str] | None = None
    internal_date: datetime.datetime | None = None


class AsyncEmlFolder(AsyncFolder):
    """The one folder of an eml directory."""

    _mailbox: AsyncEmlMailbox

    def __init__(self, mailbox: AsyncEmlMailbox, name: str) -> None:
        """Name the folder; does no I/O. Use ``mailbox.folder("INBOX")``."""
        super().__init__(mailbox, name)
        # The uids this folder saw last: watch() reports what changed since then.
        self._seen: list[str] | None = None

    async def _list(self) -> list[str]:
        directory = self._mailbox.directory
        names = await anyio.to_thread.run_sync(_eml_names, directory)
        self._seen = names
        return names

    def _path(self, uid: Uid) -> anyio.Path:
        if (
            not isinstance(uid, str)
            or not uid.endswith(".eml")
            or uid.startswith(".")
            or any(c in uid for c in "/\\\r\n\0")
        ):
            raise InvalidArgument(f"uids of an eml mailbox are .eml file names, not {uid!r}")
        return anyio.Path(self._mailbox.directory / uid)

    async def status(self) -> FolderStatus:
        """Return the number of messages (no flags: ``unseen`` is None)."""
        return FolderStatus(messages=len(await self._list()))

    async def search(
        self, query: Q | None = None, *, fields: FetchField = _DEFAULT_FIELDS
    ) -> AsyncGenerator[MessageInfo, None]:
        """Yield each message matching ``query``, in uid order, evaluated here (``Q.matches``).

        Raises:
            UnsupportedOperation: the query needs flags or internal dates, which this backend
                does not have (raised before any file is read).
        """
        query = query if query is not None else Q.all()
        needs = query.needs()
        if FetchField.FLAGS in needs:
            raise self._unsupported("search by flags", Capability.FLAGS)
        if FetchField.INTERNALDATE in needs:
            raise self._unsupported("search by internal date", Capability.INTERNAL_DATE)
        for uid in await self._list():
            candidate = await self._candidate(uid, needs)
            if candidate is not None and query.matches(candidate):
                async for info in self.fetch([uid], fields):
                    yield info

    async def _candidate(self, uid: str, needs: FetchField) -> _Candidate | None:
        if not needs:
            return _Candidate(uid, None, None)
        try:
            data = await self._path(uid).read_bytes()
        except FileNotFoundError:
            return None  # removed since the listing
        if needs & FetchField.BODY:
            message = email.message_from_bytes(data, policy=email.policy.default)
        else:
            message = _HEADERS.parsebytes(data)
        return _Candidate(uid, len(data), message)

    async def fetch(
        self, uids: Iterable[Uid], fields: FetchField = _DEFAULT_FIELDS
    ) -> AsyncGenerator[MessageInfo, None]:
        """Yield the ``fields`` of each of ``uids`` that exists, in uid order. ``FLAGS`` and
        ``INTERNALDATE`` stay None (this backend has neither).

        Raises:
            InvalidArgument: a uid that is not an ``.eml`` file name.
            UnsupportedOperation: ``BODYSTRUCTURE`` was asked.
        """
        if isinstance(uids, (str, bytes)):
            raise InvalidArgument("uids must be an iterable of uids, not one string")
        paths = {uid: self._path(uid) for uid in uids}
        if FetchField.BODYSTRUCTURE in fields:
            raise self._unsupported("fetch BODYSTRUCTURE", "BODYSTRUCTURE")
        for uid in sorted(paths, key=str):
            try:
                data = await paths[uid].read_bytes()
            except FileNotFoundError:
                continue
            yield _info(str(uid), data, fields)

    async def get_bytes(self, uid: Uid) -> bytes:
        """Return the file's bytes, exactly.

        Raises:
            InvalidArgument: ``uid`` is not an ``.eml`` file name.
            CommandError: there is no such message.
        """
        path = self._path(uid)
        try:
            return await path.read_bytes()
        except FileNotFoundError:
            raise CommandError(f"no message {uid!r}", code="NONEXISTENT") from None

    async def download(
        self,
        uid: Uid,
        destination: str | os.PathLike[str] | IO[bytes],
        *,
        progress: Progress | None = None,
    ) -> int:
        """Copy the message to a path or a binary file, 64 KiB at a time; return its size.

        A path is written as ``<path>.part`` and renamed when complete.

        Raises:
            CommandError: there is no such message (nothing is written).
        """
        source = self._path(uid)
        try:
            handle = await source.open("rb")
        except FileNotFoundError:
            raise CommandError(f"no message {uid!r}", code="NONEXISTENT") from None
        async with handle:
            total = (await source.stat()).st_size
            if isinstance(destination, (str, os.PathLike)):
                target = Path(os.fspath(destination))
                part = target.with_name(target.name + ".part")
                try:
                    with part.open("wb") as file:
                        done = await _copy(handle, file, total, progress)
                    part.replace(target)
                except BaseException:
                    part.unlink(missing_ok=True)
                    raise
                return done
            return await _copy(handle, destination, total, progress)

    async def watch(
        self, *, timeout: float | None = None, interval: float = 1.0
    ) -> AsyncGenerator[FolderEvent, None]:
        """Poll the directory every ``interval`` seconds; yield what changed since this
        folder's last look (its last status, search or poll): :class:`NewMessages` and
        :class:`MessagesRemoved`. Ends after ``timeout`` seconds (None: never).

        Raises:
            InvalidArgument: ``interval`` is not a positive number.
        """
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval <= 0:
            raise InvalidArgument("interval must be a positive number of seconds")
        known = self._seen if self._seen is not None else await self._list()
        with anyio.move_on_after(timeout):
            while True:
                current = await self._list()
                gone = tuple(uid for uid in known if uid not in set(current))
                new = tuple(uid for uid in current if uid not in set(known))
                known = current
                if gone:
                    yield MessagesRemoved(uids=gone)
                if new:
                    yield NewMessages(uids=new, exists=len(current))
                await anyio.sleep(interval)


async def _copy(
    handle: anyio.AsyncFile[bytes],
    file: IO[bytes],
    total: int,
    progress: Progress | None,
) -> int:
    done = 0
    while chunk := await handle.read(_CHUNK):
        file.write(chunk)
        done += len(chunk)
        if progress is not None:
            progress(done, total)
    return done


def _eml_names(directory: Path) -> list[str]:
    names = (p.name for p in directory.iterdir())
    return sorted(n for n in names if n.endswith(".eml") and not n.startswith("."))


def _info(uid: str, data: bytes, fields: FetchField) -> MessageInfo:
    headers = data[: _header_end(data)]
    return MessageInfo(
        uid=uid,
        size=len(data) if FetchField.SIZE in fields else None,
        envelope=_envelope(_HEADERS.parsebytes(headers)) if FetchField.ENVELOPE in fields else None,
        headers=headers if FetchField.HEADERS in fields else None,
        body=data if FetchField.BODY in fields else None,
    )


def _header_end(data: bytes) -> int:
    """Return where the header block ends (after its blank line), as IMAP's BODY[HEADER]."""
    ends = [i + len(sep) for sep in (b"\r\n\r\n", b"\n\n") if (i := data.find(sep)) >= 0]
    return min(ends) if ends else len(data)


def _envelope(message: email.message.Message) -> Envelope:
    def addresses(name: str) -> tuple[Address, ...]:
        header = message.get(name)
        found = getattr(header, "addresses", ())
        return tuple(Address(name=a.display_name or None, addr=a.addr_spec) for a in found)

    date = getattr(message.get("Date"), "datetime", None)
    subject = message.get("Subject")
    return Envelope(
        date=date if isinstance(date, datetime.datetime) else None,
        subject=None if subject is None else str(subject),
        from_=addresses("From"),
        sender=addresses("Sender"),
        reply_to=addresses("Reply-To"),
        to=addresses("To"),
        cc=addresses("Cc"),
        bcc=addresses("Bcc"),
        in_reply_to=_text(message.get("In-Reply-To")),
        message_id=_text(message.get("Message-ID")),
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value).strip()
