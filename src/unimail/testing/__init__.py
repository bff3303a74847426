"""unimail.testing: the conformance suite every unimail backend passes, and test doubles.

For backend authors (see ``docs/backends.md``)::

    from unimail.testing import Backend, MailboxConformance

    class TestMyBackend(MailboxConformance):
        @pytest.fixture
        def backend(self, tmp_path):
            return Backend(open=lambda: AsyncMailbox.open(f"mine:{tmp_path}"))

For applications' own tests: :class:`AsyncMemoryMailbox` / :class:`MemoryMailbox`
(``memory:NAME``), a complete mailbox in this process.

This package needs pytest (``pip install unimail[testing]``); ``import unimail`` does not.
"""

from .._async.memory import AsyncMemoryMailbox
from .._portal import PortalFolder, PortalMailbox
from .._sync.memory import MemoryMailbox
from ._suite import CHECKS, Backend, MailboxConformance

__all__ = [
    "CHECKS",
    "AsyncMemoryMailbox",
    "Backend",
    "MailboxConformance",
    "MemoryMailbox",
    "PortalFolder",
    "PortalMailbox",
]
