"""unimail-eml: an example unimail backend, a read-only mailbox over a directory of ``.eml``.

``eml:/srv/mail/export`` opens the directory as a mailbox with one folder, INBOX: each
``*.eml`` file is one message and its file name is its uid. The backend is written once,
async, on unimail's public interface (``AsyncMailbox`` / ``AsyncFolder``); the sync API reaches
it through unimail's portal adapter. It is registered by its ``pyproject.toml`` in the
``unimail.backends`` entry point group, and passes ``unimail.testing``'s conformance suite
(``tests/test_conformance_eml.py``). See ``docs/backends.md``.
"""

from ._folder import AsyncEmlFolder
from ._mailbox import AsyncEmlMailbox

__all__ = ["AsyncEmlFolder", "AsyncEmlMailbox"]
