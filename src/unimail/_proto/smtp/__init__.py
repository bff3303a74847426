"""The sans-I/O SMTP core (RFC 5321 and its extensions): bytes in, replies out; commands in,
bytes out. No sockets, no event loop, no clock."""

from ._address import EnvelopeAddress, check_address, domain_of
from ._data import TERMINATOR, ContentEncoder, canonical, canonical_size_estimate, dot_stuff
from ._dsn import Dsn
from ._ehlo import EhloInfo
from ._envelope import check_recipients, envelope_of, unique, without_bcc
from ._outgoing import MessageSource, OutgoingMessage
from ._reply import Reply, ReplyParser, enhanced_code
from ._transaction import Step, Transaction

__all__ = [
    "TERMINATOR",
    "ContentEncoder",
    "Dsn",
    "EhloInfo",
    "EnvelopeAddress",
    "MessageSource",
    "OutgoingMessage",
    "Reply",
    "ReplyParser",
    "Step",
    "Transaction",
    "canonical",
    "canonical_size_estimate",
    "check_address",
    "check_recipients",
    "domain_of",
    "dot_stuff",
    "enhanced_code",
    "envelope_of",
    "unique",
    "without_bcc",
]
