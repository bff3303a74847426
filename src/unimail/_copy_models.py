"""The values of the lossless copy (``unimail.copy``): its progress, its result, and the
fingerprint that recognises a message whatever its uid.

A fingerprint is what a message is, independently of where it is stored: its Message-ID (to
find candidates with a server-side header search), its size and the SHA-256 of its bytes in a
canonical form that undoes what storing a message may do to it without changing it:

- line endings are CRLF (a Maildir or mbox may store LF where IMAP sends CRLF, RFC 9051
  section 6.3.12);
- a line starting ``From `` after any number of ``>`` counts as starting ``From `` (an mbox
  quotes such lines, RFC 4155);
- the message ends with a line ending (an mbox adds one where it is missing).
"""

from __future__ import annotations

import datetime
import email.parser
import email.policy
import email.utils
import enum
import hashlib
import re
from collections.abc import Mapping

import attrs

__all__ = [
    "CopyProgress", "CopyResult", "CopyStage", "Fingerprint", "FolderCopyResult", "arrival_date",
    "message_id",
]  # fmt: skip

_HEADERS = email.parser.BytesHeaderParser(policy=email.policy.compat32)
_QUOTED_FROM = re.compile(rb"^>+From ", re.MULTILINE)


@attrs.frozen(kw_only=True)
class Fingerprint:
    """What identifies one message's content: see the module docstring.

    Attributes:
        message_id: the Message-ID header (stripped), or None when the message has none.
        size: the length of the message's bytes in the canonical form (see the module).
        sha256: the hex SHA-256 of those bytes.
    """

    message_id: str | None
    size: int
    sha256: str

    @classmethod
    def of(cls, data: bytes) -> Fingerprint:
        """Return the fingerprint of the raw message ``data``."""
        # CRLF, lone LF and lone CR all become CRLF: the form IMAP uses on the wire.
        canonical = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
        canonical = _QUOTED_FROM.sub(b"From ", canonical)
        if not canonical.endswith(b"\r\n"):
            canonical += b"\r\n"
        return cls(
            message_id=message_id(data),
            size=len(canonical),
            sha256=hashlib.sha256(canonical).hexdigest(),
        )


def arrival_date(data: bytes) -> datetime.datetime | None:
    """Return when the raw message ``data`` arrived, from its headers: the date of the first
    (most recent) Received field (RFC 5321 section 4.4: ``; date-time`` at its end), else its
    Date; None when neither can be read."""
    headers = _HEADERS.parsebytes(_header_block(data), headersonly=True)
    candidates = [str(r).rpartition(";")[2] for r in headers.get_all("Received", [])[:1]]
    candidates.append(str(headers.get("Date", "")))
    for text in candidates:
        try:
            when = email.utils.parsedate_to_datetime(text.strip())
        except (TypeError, ValueError, IndexError):
            continue
        if when.tzinfo is not None:
            return when
    return None


def _header_block(data: bytes) -> bytes:
    end = data.find(b"\r\n\r\n")
    end = data.find(b"\n\n") if end < 0 else end
    return data if end < 0 else data[: end + 2]


def message_id(data: bytes) -> str | None:
    """Return the Message-ID of the raw message ``data`` (stripped), None when absent."""
    value = _HEADERS.parsebytes(_header_block(data), headersonly=True).get("Message-ID")
    text = str(value).strip() if value is not None else ""
    # A Message-ID that cannot be sent in a search (control characters) is no help.
    if not text or any(c in text for c in "\r\n\0"):
        return None
    return text


class CopyStage(str, enum.Enum):
    """Where a copy is, in a :class:`CopyProgress` report."""

    #: a folder's messages were listed; ``total`` is known now.
    FOLDER = "folder"
    #: the message was read and recorded as about to be stored; the append is next.
    APPENDING = "appending"
    #: the destination confirmed the append; recording it durably is next.
    APPENDED = "appended"
    #: the message is done: copied and recorded, already there, or failed.
    MESSAGE = "message"
    #: a batch of copied messages was deleted from the source (``delete_after``).
    DELETED = "deleted"

    def __str__(self) -> str:
        return self.value


@attrs.frozen(kw_only=True)
class CopyProgress:
    """One report of a running copy, given to its ``progress`` callback.

    Attributes:
        stage: what just happened (see :class:`CopyStage`).
        folder: the source folder being copied.
        destination: the destination folder it goes to.
        uid: the source uid of the message concerned (None for FOLDER and DELETED).
        done: messages of this folder handled so far (copied, skipped or failed).
        total: messages of this folder to handle in this run.
        copied: messages of this folder copied so far in this run.
        bytes: bytes of this folder's messages copied so far in this run.
    """

    stage: CopyStage
    folder: str
    destination: str
    uid: int | str | None = None
    done: int = 0
    total: int = 0
    copied: int = 0
    bytes: int = 0


@attrs.frozen(kw_only=True)
class FolderCopyResult:
    """What one run of ``copy()`` did for one source folder.

    Attributes:
        source: the source folder's name.
        destination: the destination folder's name.
        copied: messages appended to the destination in this run.
        skipped: messages already in the destination (copied by an earlier run, or found
            there by their fingerprint after an interrupted run).
        failed: messages that could not be copied (the destination or source refused them);
            ``errors`` says why. They are tried again by the next run.
        deleted: source messages deleted after their copy was confirmed (``delete_after``).
        flags_updated: copies whose flags were changed to the source's (``sync_flags``).
        bytes: the size of the messages copied.
        errors: ``(source uid, reason)`` for each failed message.
    """

    source: str
    destination: str
    copied: int = 0
    skipped: int = 0
    failed: int = 0
    deleted: int = 0
    flags_updated: int = 0
    bytes: int = 0
    errors: tuple[tuple[int | str, str], ...] = ()


@attrs.frozen(kw_only=True)
class CopyResult:
    """What one run of ``copy()`` did: one :class:`FolderCopyResult` per source folder.

    Attributes:
        folders: source folder name -> its result, in the order the folders were copied.
    """

    folders: Mapping[str, FolderCopyResult] = attrs.field(factory=dict)

    @property
    def copied(self) -> int:
        """Messages appended to the destination, all folders together."""
        return sum(f.copied for f in self.folders.values())

    @property
    def skipped(self) -> int:
        """Messages already in the destination, all folders together."""
        return sum(f.skipped for f in self.folders.values())

    @property
    def failed(self) -> int:
        """Messages that could not be copied, all folders together."""
        return sum(f.failed for f in self.folders.values())

    @property
    def deleted(self) -> int:
        """Source messages deleted after their copy was confirmed, all folders together."""
        return sum(f.deleted for f in self.folders.values())

    @property
    def flags_updated(self) -> int:
        """Copies whose flags were changed to the source's, all folders together."""
        return sum(f.flags_updated for f in self.folders.values())

    @property
    def ok(self) -> bool:
        """True when no message failed."""
        return self.failed == 0
