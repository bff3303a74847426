"""The memory backend: ``memory:NAME``, folders of messages in this process.

Made for tests: every mailbox opened on ``memory:NAME`` in this process (async or sync, any
thread) shares the same store, ``memory:`` with no name makes a private one, and
:meth:`AsyncMemoryMailbox.discard` forgets a store. It implements the whole Mailbox contract
(folders with ``/`` as delimiter, flags, keywords, search, append/copy/move/delete, watch) and
never blocks: its operations run on the event loop, without a thread.
"""

from __future__ import annotations

from typing import ClassVar

from .._local._memory import MemoryStore
from .._local._view import Store
from .._options import Security
from ._local_mailbox import AsyncLocalMailbox

__all__ = ["AsyncMemoryMailbox"]


class AsyncMemoryMailbox(AsyncLocalMailbox):
    """An in-process mailbox: ``AsyncMailbox.open("memory:NAME")``."""

    # No network: "plaintext" only names the absence of a connection to protect.
    schemes: ClassVar[dict[str, Security]] = {"memory": Security.PLAINTEXT}

    def _make_store(self) -> Store:
        return MemoryStore.named(self._options.url.path)

    @staticmethod
    def discard(name: str) -> None:
        """Forget the store ``memory:NAME``: mailboxes still open keep working on the old
        one; the next ``open("memory:NAME")`` starts with an empty INBOX.

        Args:
            name: the store's name, as in the URL.
        """
        MemoryStore.discard(name)
