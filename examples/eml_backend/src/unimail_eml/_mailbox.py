"""The mailbox: ``eml:/path/to/directory``, one folder (INBOX), nothing writable."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import anyio

from unimail import AsyncMailbox, ConnectError, ConnectionLost, FolderInfo, Security

from ._folder import AsyncEmlFolder, check_name

__all__ = ["AsyncEmlMailbox"]


class AsyncEmlMailbox(AsyncMailbox):
    """A directory of ``.eml`` files as a read-only mailbox.

    Open it with ``await AsyncMailbox.open("eml:/path/to/dir")`` (or ``Mailbox.open`` from
    sync code). Its capabilities are empty: it has one folder, no flags, and cannot append,
    copy, move or delete; those operations raise ``UnsupportedOperation`` (the base class
    does that for every method a backend does not override).
    """

    # The URL schemes this class serves, and the security each implies by default: nothing
    # travels over a network, so there is nothing to encrypt.
    schemes: ClassVar[dict[str, Security]] = {"eml": Security.PLAINTEXT}

    _directory: Path | None = None

    async def _connect(self) -> None:
        # unimail's open() calls this; the options hold the parsed URL (eml:<path>).
        directory = Path(self.options.url.path)
        if not await anyio.Path(directory).is_dir():
            raise ConnectError(f"{str(directory)!r} is not a directory")
        self._directory = directory

    @property
    def directory(self) -> Path:
        """The directory of the messages.

        Raises:
            ConnectionLost: the mailbox is closed.
        """
        if self._directory is None:
            raise ConnectionLost("the mailbox is closed")
        return self._directory

    async def folders(self) -> list[FolderInfo]:
        """Return the one folder, INBOX.

        Raises:
            ConnectionLost: the mailbox is closed.
        """
        self.directory  # noqa: B018 (raises when closed, like every other operation)
        return [FolderInfo(name="INBOX")]

    def folder(self, name: str = "INBOX") -> AsyncEmlFolder:
        """Return the INBOX folder (no I/O).

        Raises:
            InvalidArgument: ``name`` holds CR, LF or NUL.
            UnsupportedOperation: ``name`` is not INBOX (the directory has one folder).
        """
        check_name(name)
        if name.upper() != "INBOX":
            raise self._unsupported(f"open folder {name!r} (it has only INBOX)", "FOLDERS")
        return AsyncEmlFolder(self, "INBOX")

    async def aclose(self) -> None:
        """Close the mailbox: every further operation raises ``ConnectionLost``."""
        self._directory = None
