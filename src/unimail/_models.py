"""Frozen values shared by every backend and both facades.

They hold data only: no I/O and no parsing in ``__init__``. Alternative constructors (from an
IMAP ENVELOPE, from headers) live beside the code that reads those formats.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Iterable, Mapping

import attrs

__all__ = [
    "Address",
    "Capability",
    "Envelope",
    "FetchField",
    "Flag",
    "FlagsChanged",
    "FolderEvent",
    "FolderInfo",
    "FolderStatus",
    "MessageInfo",
    "MessagesRemoved",
    "NewMessages",
    "SendResult",
    "SpecialUse",
]


class Flag(str, enum.Enum):
    """The system flags of RFC 9051 section 2.3.2. Keywords are plain ``str`` values."""

    SEEN = "\\Seen"
    ANSWERED = "\\Answered"
    FLAGGED = "\\Flagged"
    DELETED = "\\Deleted"
    DRAFT = "\\Draft"
    RECENT = "\\Recent"

    def __str__(self) -> str:
        return self.value


class SpecialUse(str, enum.Enum):
    """Special-use folder attributes (RFC 6154)."""

    ALL = "\\All"
    ARCHIVE = "\\Archive"
    DRAFTS = "\\Drafts"
    FLAGGED = "\\Flagged"
    JUNK = "\\Junk"
    SENT = "\\Sent"
    TRASH = "\\Trash"
    IMPORTANT = "\\Important"

    def __str__(self) -> str:
        return self.value


class Capability(str, enum.Enum):
    """What a connected backend can do, so callers can check before they call.

    A method whose capability is missing raises ``UnsupportedOperation`` naming it.
    """

    FOLDERS = "FOLDERS"  # more than one folder; create, rename, delete
    FLAGS = "FLAGS"  # system flags can be read and changed
    KEYWORDS = "KEYWORDS"  # user-defined keywords can be stored
    SERVER_SEARCH = "SERVER_SEARCH"  # Q is evaluated by the server
    APPEND = "APPEND"
    COPY = "COPY"
    MOVE = "MOVE"  # atomic MOVE; without it move() is emulated (and says so)
    DELETE = "DELETE"  # delete(uids) removes exactly those messages
    UIDPLUS = "UIDPLUS"  # append/copy/move report the new uids
    INTERNAL_DATE = "INTERNAL_DATE"
    WATCH_PUSH = "WATCH_PUSH"  # watch() is pushed by the server (IMAP IDLE), not polled
    STARTTLS = "STARTTLS"

    def __str__(self) -> str:
        return self.value


class FetchField(enum.Flag):
    """What ``Folder.fetch()`` and ``Folder.search()`` ask the server for."""

    UID = enum.auto()
    FLAGS = enum.auto()
    SIZE = enum.auto()
    INTERNALDATE = enum.auto()
    ENVELOPE = enum.auto()
    BODYSTRUCTURE = enum.auto()
    HEADERS = enum.auto()
    BODY = enum.auto()


@attrs.frozen(kw_only=True)
class Address:
    """One mailbox address: ``Address(name="Alice", addr="alice@example.org")``.

    ``addr`` is ``local@domain`` as it appeared (no IDNA or case changes); ``name`` is the
    decoded display name (RFC 2047 words decoded), ``None`` when absent.
    """

    name: str | None = None
    addr: str

    def __str__(self) -> str:
        if self.name:
            from email.headerregistry import Address as _Std

            try:
                return str(_Std(display_name=self.name, addr_spec=self.addr))
            except (ValueError, IndexError):
                return f"{self.name} <{self.addr}>"
        return self.addr


def _address_tuple(value: Iterable[Address]) -> tuple[Address, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class Envelope:
    """The RFC 5322 header summary of a message (IMAP ENVELOPE, RFC 9051 section 7.5.2).

    Address fields are tuples of :class:`Address`; absent fields are ``None`` or ``()``.
    """

    date: datetime.datetime | None = None
    subject: str | None = None
    from_: tuple[Address, ...] = attrs.field(default=(), converter=_address_tuple)
    sender: tuple[Address, ...] = attrs.field(default=(), converter=_address_tuple)
    reply_to: tuple[Address, ...] = attrs.field(default=(), converter=_address_tuple)
    to: tuple[Address, ...] = attrs.field(default=(), converter=_address_tuple)
    cc: tuple[Address, ...] = attrs.field(default=(), converter=_address_tuple)
    bcc: tuple[Address, ...] = attrs.field(default=(), converter=_address_tuple)
    in_reply_to: str | None = None
    message_id: str | None = None


@attrs.frozen(kw_only=True)
class MessageInfo:
    """What was fetched about one message; fields not asked for are ``None``.

    Attributes:
        uid: the backend's stable id (IMAP UID, POP3 UIDL, Maildir key).
        flags: system flags as :class:`Flag`, keywords as ``str``.
        size: the RFC 822 size in bytes.
        internal_date: when the server received the message.
        envelope: the header summary.
        headers: the raw header block, when ``FetchField.HEADERS`` was asked.
        body: the whole raw message, when ``FetchField.BODY`` was asked.
    """

    uid: int | str
    flags: frozenset[Flag | str] | None = None
    size: int | None = None
    internal_date: datetime.datetime | None = None
    envelope: Envelope | None = None
    headers: bytes | None = attrs.field(default=None, repr=False)
    body: bytes | None = attrs.field(default=None, repr=False)


@attrs.frozen(kw_only=True)
class FolderInfo:
    """One folder as listed by ``Mailbox.folders()``.

    Attributes:
        name: the full name, decoded (IMAP modified UTF-7 is undone).
        delimiter: the hierarchy delimiter, or ``None`` for a flat namespace.
        attributes: the folder's attributes as the server spelt them (``"\\\\HasChildren"``).
        special_use: the RFC 6154 role, if any.
    """

    name: str
    delimiter: str | None = None
    attributes: frozenset[str] = frozenset()
    special_use: SpecialUse | None = None

    @property
    def selectable(self) -> bool:
        """False when the folder holds no messages of its own (``\\Noselect``)."""
        lowered = {a.lower() for a in self.attributes}
        return "\\noselect" not in lowered and "\\nonexistent" not in lowered


@attrs.frozen(kw_only=True)
class FolderStatus:
    """Counters of a folder; a backend that cannot tell one leaves it ``None``.

    Attributes:
        messages: how many messages the folder holds.
        unseen: how many of them lack ``\\Seen``.
        uidnext: the uid the next message will get (IMAP).
        uidvalidity: uids are valid only with this value (IMAP); a change invalidates them all.
    """

    messages: int
    unseen: int | None = None
    uidnext: int | None = None
    uidvalidity: int | None = None


@attrs.frozen(kw_only=True)
class SendResult:
    """The outcome of ``Transport.send()`` when at least one recipient accepted the message.

    Attributes:
        accepted: the recipients the server accepted.
        refused: maps each refused recipient to ``(code, text)``.
    """

    accepted: tuple[str, ...] = ()
    refused: Mapping[str, tuple[int, str]] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class FolderEvent:
    """Base of the events ``Folder.watch()`` yields."""


@attrs.frozen(kw_only=True)
class NewMessages(FolderEvent):
    """Messages arrived in the folder: ``uids`` lists them (empty when the backend cannot
    tell which; ``exists`` then gives the new message count)."""

    uids: tuple[int | str, ...] = ()
    exists: int | None = None


@attrs.frozen(kw_only=True)
class MessagesRemoved(FolderEvent):
    """Messages left the folder (expunged, vanished, deleted elsewhere)."""

    uids: tuple[int | str, ...] = ()


@attrs.frozen(kw_only=True)
class FlagsChanged(FolderEvent):
    """The flags of message ``uid`` are now ``flags``."""

    uid: int | str
    flags: frozenset[Flag | str]
