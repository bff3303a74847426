"""The mbox backend: ``mbox:PATH``, on the standard library's ``mailbox`` module.

``PATH`` is one mbox file (the only folder, INBOX) or a directory of mbox files (one folder
each, ``INBOX`` among them). Every operation holds the module's lock on the file (``lockf``
and a dot-lock) and waits for other holders up to the mailbox's ``timeout``. See
``unimail._local._mbox`` for how uids and flags are kept in the messages' headers.
"""

from __future__ import annotations

from typing import ClassVar

from .._errors import InvalidArgument
from .._local._mbox import MboxStore
from .._local._view import Store
from .._options import Security
from ._local_mailbox import AsyncLocalMailbox

__all__ = ["AsyncMboxMailbox"]


class AsyncMboxMailbox(AsyncLocalMailbox):
    """An mbox file, or a directory of them: ``AsyncMailbox.open("mbox:PATH")``.

    A single file has only INBOX (no ``Capability.FOLDERS``); a directory's folders are flat
    (no hierarchy delimiter). Each change rewrites the file, as mbox requires.
    """

    # No network: "plaintext" only names the absence of a connection to protect.
    schemes: ClassVar[dict[str, Security]] = {"mbox": Security.PLAINTEXT}

    def _make_store(self) -> Store:
        path = self._options.url.path
        if not path:
            raise InvalidArgument("an mbox: URL needs a path (mbox:/var/mail/alice)")
        return MboxStore(path, lock_timeout=self._options.timeout)
