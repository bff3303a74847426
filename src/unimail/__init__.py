"""unimail: one API over IMAP, POP3 and SMTP.

``Mailbox.open(url)`` reads mail (``imaps://``, ``imap://``, ...), ``Transport.open(url)``
sends it. Every name exists twice: ``AsyncMailbox`` for asyncio and trio (through anyio),
``Mailbox`` for plain blocking code, with the same methods, types and docstrings.
"""

from ._async._folder import AsyncFolder
from ._async._imap_folder import AsyncImapFolder
from ._async._mailbox import AsyncMailbox
from ._async._transport import AsyncTransport
from ._async.imap import AsyncImapMailbox
from ._errors import (
    AuthenticationError,
    CommandError,
    ConnectError,
    ConnectionLost,
    FolderNotFound,
    InvalidArgument,
    LimitExceeded,
    ProtocolError,
    SendError,
    Timeout,
    TLSError,
    UnimailError,
    UnsupportedOperation,
)
from ._models import (
    Address,
    Capability,
    Envelope,
    FetchField,
    Flag,
    FlagsChanged,
    FolderEvent,
    FolderInfo,
    FolderStatus,
    MessageInfo,
    MessagesRemoved,
    NewMessages,
    SendResult,
    SpecialUse,
)
from ._options import Limits, Security
from ._plugins import register_backend
from ._search import Q
from ._sync._folder import Folder
from ._sync._imap_folder import ImapFolder
from ._sync._mailbox import Mailbox
from ._sync._transport import Transport
from ._sync.imap import ImapMailbox

__version__ = "0.1.0"

__all__ = [
    "Address",
    "AsyncFolder",
    "AsyncImapFolder",
    "AsyncImapMailbox",
    "AsyncMailbox",
    "AsyncTransport",
    "AuthenticationError",
    "Capability",
    "CommandError",
    "ConnectError",
    "ConnectionLost",
    "Envelope",
    "FetchField",
    "Flag",
    "FlagsChanged",
    "Folder",
    "FolderEvent",
    "FolderInfo",
    "FolderNotFound",
    "FolderStatus",
    "ImapFolder",
    "ImapMailbox",
    "InvalidArgument",
    "LimitExceeded",
    "Limits",
    "Mailbox",
    "MessageInfo",
    "MessagesRemoved",
    "NewMessages",
    "ProtocolError",
    "Q",
    "Security",
    "SendError",
    "SendResult",
    "SpecialUse",
    "TLSError",
    "Timeout",
    "Transport",
    "UnimailError",
    "UnsupportedOperation",
    "register_backend",
]
