"""The Maildir backend: ``maildir:PATH`` (Maildir++ folders, as Dovecot and Courier use).

``AsyncMailbox.open("maildir:/home/alice/Maildir")`` opens (and creates, if missing) the
Maildir at that path; ``~`` is expanded. See ``unimail._local._maildir`` for the layout: flags
are the info letters of the file names, keywords Dovecot's ``dovecot-keywords`` letters, uids
kept in ``unimail-uidlist`` per folder, delivery atomic through ``tmp/``.
"""

from __future__ import annotations

from typing import ClassVar

from .._errors import InvalidArgument
from .._local._maildir import MaildirStore
from .._local._view import Store
from .._options import Security
from ._local_folder import AsyncLocalFolder
from ._local_mailbox import AsyncLocalMailbox

__all__ = ["AsyncLocalFolder", "AsyncMaildirMailbox"]


class AsyncMaildirMailbox(AsyncLocalMailbox):
    """A Maildir++ directory tree: ``AsyncMailbox.open("maildir:PATH")``.

    Folders are ``.Name`` sub-directories (delimiter ``.``); INBOX is ``PATH`` itself.
    """

    # No network: "plaintext" only names the absence of a connection to protect.
    schemes: ClassVar[dict[str, Security]] = {"maildir": Security.PLAINTEXT}

    def _make_store(self) -> Store:
        path = self._options.url.path
        if not path:
            raise InvalidArgument("a maildir: URL needs a path (maildir:/home/alice/Maildir)")
        return MaildirStore(path, lock_timeout=self._options.timeout)

    @property
    def path(self) -> str:
        """The absolute path of the Maildir (its INBOX).

        Raises:
            ConnectionLost: the mailbox is closed.
        """
        store = self.store
        assert isinstance(store, MaildirStore)  # made by _make_store
        return store.root
