"""unimail: one API over IMAP, POP3 and SMTP.

``Mailbox.open(url)`` reads mail (``imaps://``, ``imap://``, ...), ``Transport.open(url)``
sends it. Every name exists twice: ``AsyncMailbox`` for asyncio and trio (through anyio),
``Mailbox`` for plain blocking code, with the same methods, types and docstrings.
"""

from ._async._copy import copy as async_copy
from ._async._folder import AsyncFolder
from ._async._imap_folder import AsyncImapFolder
from ._async._local_folder import AsyncLocalFolder
from ._async._local_mailbox import AsyncLocalMailbox
from ._async._local_transport import AsyncMaildirTransport, AsyncMemoryTransport
from ._async._mailbox import AsyncMailbox
from ._async._pop3_download import AsyncPop3Downloader
from ._async._smtp_dns import Discovery, Endpoint
from ._async._smtp_dns import discover as async_discover
from ._async._smtp_mx import AsyncMxTransport
from ._async._transport import AsyncTransport
from ._async.imap import AsyncImapMailbox
from ._async.maildir import AsyncMaildirMailbox
from ._async.mbox import AsyncMboxMailbox
from ._async.memory import AsyncMemoryMailbox
from ._async.pop3 import AsyncPop3Folder, AsyncPop3Mailbox
from ._async.smtp import AsyncSmtpTransport
from ._copy_models import CopyProgress, CopyResult, CopyStage, FolderCopyResult
from ._errors import (
    AuthenticationError,
    CommandError,
    ConnectError,
    ConnectionLost,
    DeliveryUncertain,
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
    BodyPart,
    Capability,
    Envelope,
    FetchField,
    Flag,
    FlagsChanged,
    FolderChanges,
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
from ._pop3_state import DownloadedMessage, DownloadReport
from ._proto.smtp import Dsn, OutgoingMessage
from ._search import Q
from ._sync._copy import copy
from ._sync._folder import Folder
from ._sync._imap_folder import ImapFolder
from ._sync._local_folder import LocalFolder
from ._sync._local_mailbox import LocalMailbox
from ._sync._local_transport import MaildirTransport, MemoryTransport
from ._sync._mailbox import Mailbox
from ._sync._pop3_download import Pop3Downloader
from ._sync._smtp_dns import discover
from ._sync._smtp_mx import MxTransport
from ._sync._transport import Transport
from ._sync.imap import ImapMailbox
from ._sync.maildir import MaildirMailbox
from ._sync.mbox import MboxMailbox
from ._sync.memory import MemoryMailbox
from ._sync.pop3 import Pop3Folder, Pop3Mailbox
from ._sync.smtp import SmtpTransport

__version__ = "0.1.0"

__all__ = [
    "Address",
    "AsyncFolder",
    "AsyncImapFolder",
    "AsyncImapMailbox",
    "AsyncLocalFolder",
    "AsyncLocalMailbox",
    "AsyncMailbox",
    "AsyncMaildirMailbox",
    "AsyncMaildirTransport",
    "AsyncMboxMailbox",
    "AsyncMemoryMailbox",
    "AsyncMemoryTransport",
    "AsyncMxTransport",
    "AsyncPop3Downloader",
    "AsyncPop3Folder",
    "AsyncPop3Mailbox",
    "AsyncSmtpTransport",
    "AsyncTransport",
    "AuthenticationError",
    "BodyPart",
    "Capability",
    "CommandError",
    "ConnectError",
    "ConnectionLost",
    "CopyProgress",
    "CopyResult",
    "CopyStage",
    "DeliveryUncertain",
    "Discovery",
    "DownloadReport",
    "DownloadedMessage",
    "Dsn",
    "Endpoint",
    "Envelope",
    "FetchField",
    "Flag",
    "FlagsChanged",
    "Folder",
    "FolderChanges",
    "FolderCopyResult",
    "FolderEvent",
    "FolderInfo",
    "FolderNotFound",
    "FolderStatus",
    "ImapFolder",
    "ImapMailbox",
    "InvalidArgument",
    "LimitExceeded",
    "Limits",
    "LocalFolder",
    "LocalMailbox",
    "Mailbox",
    "MaildirMailbox",
    "MaildirTransport",
    "MboxMailbox",
    "MemoryMailbox",
    "MemoryTransport",
    "MessageInfo",
    "MessagesRemoved",
    "MxTransport",
    "NewMessages",
    "OutgoingMessage",
    "Pop3Downloader",
    "Pop3Folder",
    "Pop3Mailbox",
    "ProtocolError",
    "Q",
    "Security",
    "SendError",
    "SendResult",
    "SmtpTransport",
    "SpecialUse",
    "TLSError",
    "Timeout",
    "Transport",
    "UnimailError",
    "UnsupportedOperation",
    "async_copy",
    "async_discover",
    "copy",
    "discover",
    "register_backend",
]
