"""Frozen values shared by every backend and both facades.

They hold data only: no I/O and no parsing in ``__init__``. Alternative constructors (from an
IMAP ENVELOPE, from headers) live beside the code that reads those formats.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Iterable, Iterator, Mapping

import attrs

__all__ = [
    "Address",
    "BodyPart",
    "Capability",
    "Envelope",
    "FetchField",
    "Flag",
    "FlagsChanged",
    "FolderChanges",
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
    CONDSTORE = "CONDSTORE"  # modification sequences: changes_since(), FetchField.MODSEQ

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
    #: The message's modification sequence (IMAP CONDSTORE, RFC 7162): it grows with every
    #: change of the message's flags, so a cache can tell what changed since it last looked.
    MODSEQ = enum.auto()


@attrs.frozen(kw_only=True, slots=False)  # not slotted: see BodyPart
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


@attrs.frozen(kw_only=True, slots=False)  # not slotted: see BodyPart
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


def _part_tuple(value: Iterable[BodyPart]) -> tuple[BodyPart, ...]:
    return tuple(value)


# Not slotted: a FETCH of thousands of messages builds several of these per message, and
# attrs fills an instance dict with plain stores, about twice as fast as slot setters.
@attrs.frozen(kw_only=True, slots=False)
class BodyPart:
    """One node of a message's MIME structure (IMAP BODYSTRUCTURE, RFC 9051 section 7.5.2).

    A multipart node has ``children`` (its parts); a ``message/rfc822`` node has its embedded
    message's ``envelope`` and that message's body as its only child. Text fields are decoded
    (RFC 2231 parameters, RFC 2047 words in file names and descriptions); absent ones are
    ``None``, ``{}`` or ``()``.

    Attributes:
        section: the IMAP part specifier to fetch this part's content with
            (``BODY[<section>]``): ``"1"``, ``"2.1"``. A multipart that is a message's whole
            body carries that message's specifier: ``""`` at the top, ``"2"`` for the body of
            the message/rfc822 part 2. The body of a single-part message is ``"1"``.
        content_type: ``"type/subtype"`` in lower case (``"text/plain"``).
        params: the Content-Type parameters, names in lower case (``{"charset": "utf-8"}``).
        id: the Content-ID.
        description: the Content-Description.
        encoding: the Content-Transfer-Encoding in lower case (``"base64"``); ``"7bit"``
            when the server sent none.
        size: the size of the encoded content in octets; ``None`` for a multipart (IMAP
            does not give it).
        lines: the size in lines, for text/* and message/rfc822 parts.
        md5: the Content-MD5, when the server sent extension data.
        disposition: the Content-Disposition type in lower case (``"attachment"``,
            ``"inline"``), ``None`` when absent.
        disposition_params: its parameters, names in lower case (``{"filename": ...}``).
        language: the Content-Language tags.
        location: the Content-Location URI.
        children: the parts of a multipart; the embedded body of a message/rfc822 part.
        envelope: the embedded message's header summary, for message/rfc822 parts.
    """

    section: str
    content_type: str
    # Left out of the hash (a dict has none); equal parts still hash equal.
    params: Mapping[str, str] = attrs.field(factory=dict, hash=False)
    id: str | None = None
    description: str | None = None
    encoding: str = "7bit"
    size: int | None = None
    lines: int | None = None
    md5: str | None = None
    disposition: str | None = None
    disposition_params: Mapping[str, str] = attrs.field(factory=dict, hash=False)
    language: tuple[str, ...] = ()
    location: str | None = None
    children: tuple[BodyPart, ...] = attrs.field(default=(), converter=_part_tuple)
    envelope: Envelope | None = None

    @property
    def is_multipart(self) -> bool:
        """True for a ``multipart/*`` node."""
        return self.content_type.startswith("multipart/")

    @property
    def filename(self) -> str | None:
        """The disposition's ``filename``, else the Content-Type ``name``, else ``None``."""
        return self.disposition_params.get("filename") or self.params.get("name") or None

    @property
    def charset(self) -> str | None:
        """The ``charset`` parameter, when given (as sent: ``"UTF-8"``, ``"iso-8859-1"``)."""
        return self.params.get("charset")

    @property
    def is_attachment(self) -> bool:
        """True for a part meant to be saved rather than shown.

        That is a part with disposition ``attachment``, or a non-multipart part without any
        disposition that has a file name (older mailers name attachments only by the
        Content-Type ``name`` parameter). Inline parts with a file name (images shown in an
        HTML body) are not attachments.
        """
        if self.disposition == "attachment":
            return True
        return self.disposition is None and not self.is_multipart and self.filename is not None

    def walk(self) -> Iterator[BodyPart]:
        """Yield this part and every part below it, depth first, in the order of the message.

        Returns:
            An iterator of :class:`BodyPart`, starting with ``self``.
        """
        stack: list[BodyPart] = [self]
        while stack:
            part = stack.pop()
            yield part
            stack.extend(reversed(part.children))


@attrs.frozen(kw_only=True, slots=False)  # not slotted: see BodyPart
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
        body_structure: the MIME structure, when ``FetchField.BODYSTRUCTURE`` was asked.
        modseq: the modification sequence, when ``FetchField.MODSEQ`` was asked (IMAP
            CONDSTORE, RFC 7162; also filled in when the server volunteers it).
        raw: IMAP only: the FETCH data items as the server sent them, tokenised but not
            decoded, by name (``raw["ENVELOPE"][1]`` is the subject as bytes, encoded words
            intact; ``raw["FLAGS"]`` the flags as spelt). ``None`` for the other backends.
            Not part of equality.
    """

    uid: int | str
    flags: frozenset[Flag | str] | None = None
    size: int | None = None
    internal_date: datetime.datetime | None = None
    envelope: Envelope | None = None
    headers: bytes | None = attrs.field(default=None, repr=False)
    body: bytes | None = attrs.field(default=None, repr=False)
    body_structure: BodyPart | None = attrs.field(default=None, repr=False)
    modseq: int | None = None
    raw: Mapping[str, object] | None = attrs.field(default=None, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class FolderInfo:
    """One folder as listed by ``Mailbox.folders()``.

    Attributes:
        name: the full name, decoded (IMAP modified UTF-7 is undone).
        delimiter: the hierarchy delimiter, or ``None`` for a flat namespace.
        attributes: the folder's attributes as the server spelt them (``"\\\\HasChildren"``).
        special_use: the RFC 6154 role, if any.
        status: the folder's counters, when they were asked for (``folders(status=True)``).
    """

    name: str
    delimiter: str | None = None
    attributes: frozenset[str] = frozenset()
    special_use: SpecialUse | None = None
    status: FolderStatus | None = None

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
        highest_modseq: the highest modification sequence of the folder (IMAP CONDSTORE,
            RFC 7162): keep it with ``uidvalidity`` and pass both to ``changes_since()``
            later to learn only what changed. None where the server has no CONDSTORE.
    """

    messages: int
    unseen: int | None = None
    uidnext: int | None = None
    uidvalidity: int | None = None
    highest_modseq: int | None = None


@attrs.frozen(kw_only=True)
class FolderChanges:
    """What changed in a folder since a known ``(uidvalidity, highest_modseq)``: the answer
    of ``ImapFolder.changes_since()`` (IMAP CONDSTORE / QRESYNC, RFC 7162).

    Attributes:
        uidvalidity: the folder's UIDVALIDITY (the same as the one asked about).
        highest_modseq: the folder's highest modification sequence now: keep it for the next
            call.
        changed: each message added or whose flags changed since, with the fields asked for
            (always ``uid``, ``flags`` and ``modseq``), in ascending uid order.
        vanished: the uids expunged since, ascending. Where the server tells it (QRESYNC) it
            may name uids the caller never saw: ignore those.
    """

    uidvalidity: int
    highest_modseq: int
    changed: tuple[MessageInfo, ...] = ()
    vanished: tuple[int, ...] = ()


@attrs.frozen(kw_only=True)
class SendResult:
    """The outcome of ``Transport.send()`` when at least one recipient accepted the message.

    Attributes:
        accepted: the recipients the server accepted.
        refused: maps each refused recipient to ``(code, text)``.
        enhanced_codes: maps refused recipients to the RFC 3463 enhanced status code of their
            refusal (``"5.1.1"``), where the server gave one.
        response: the server's final reply to the message (``"250 2.0.0 Ok: queued as
            4Bx..."``: it usually names the queue id), empty when unknown.
    """

    accepted: tuple[str, ...] = ()
    refused: Mapping[str, tuple[int, str]] = attrs.field(factory=dict)
    enhanced_codes: Mapping[str, str] = attrs.field(factory=dict)
    response: str = ""


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
