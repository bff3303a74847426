"""Evaluating a query on the client, for backends whose server cannot search (POP3, Maildir).

The semantics follow the SEARCH keys of RFC 9051 section 6.4.4, as IMAP servers apply them:

- text is compared as a case-insensitive substring (compatibility caseless match, close to the
  ``i;unicode-casemap`` comparator of RFC 5051 that IMAP servers use);
- header keys look at the *decoded* field value: RFC 2047 encoded words decoded, folding
  undone, address fields as their text (display names and addresses);
- BODY looks at the decoded text of every ``text/*`` part (transfer encoding and charset
  undone); TEXT looks at the header fields (``name: value``) and at the body;
- dates are those of the internal date, "disregarding time and timezone".

A field the query needs but the candidate lacks (``None``) raises
:class:`~unimail.UnsupportedOperation` naming it: the query is never answered by a guess.
"""

from __future__ import annotations

import bisect
import datetime
import email.message
import unicodedata
from collections.abc import Sequence
from email.header import decode_header, make_header
from email.headerregistry import BaseHeader
from typing import Protocol

from ._errors import UnsupportedOperation
from ._models import Flag

__all__ = ["Candidate", "View", "fold"]


class Candidate(Protocol):
    """What :meth:`Q.matches` reads about one message.

    A frozen attrs class with these attributes satisfies it. A backend leaves ``None`` what it
    does not know (flags on POP3); a query that needs it then raises ``UnsupportedOperation``.

    Attributes:
        uid: the backend's uid of the message.
        flags: system flags as :class:`Flag` (or their ``"\\\\Seen"`` spelling), keywords as
            ``str``.
        size: the RFC 822 size in bytes.
        internal_date: when the server received the message.
        message: the message parsed with ``email.policy.default``: its headers at least, the
            whole message when :meth:`Q.needs_body` is true.
    """

    @property
    def uid(self) -> int | str:
        """The backend's uid of the message."""

    @property
    def flags(self) -> frozenset[Flag | str] | None:
        """System flags and keywords, or ``None`` when unknown."""

    @property
    def size(self) -> int | None:
        """The size in bytes, or ``None`` when unknown."""

    @property
    def internal_date(self) -> datetime.datetime | None:
        """The internal date, or ``None`` when unknown."""

    @property
    def message(self) -> email.message.Message | None:
        """The parsed message (headers at least), or ``None`` when not fetched."""


def fold(text: str) -> str:
    """Return ``text`` in the form compared by text keys (NFKD, case folded)."""
    return unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())


class View:
    """One candidate under evaluation: each field is checked, decoded and folded once."""

    __slots__ = ("_body", "_candidate", "_flags", "_headers")

    def __init__(self, candidate: Candidate) -> None:
        self._candidate = candidate
        self._flags: frozenset[str] | None = None
        self._headers: list[tuple[str, str]] | None = None
        self._body: str | None = None

    def has_flag(self, flag: str, capability: str) -> bool:
        """Return whether ``flag`` (case-insensitive) is set on the candidate."""
        if self._flags is None:
            flags = self._candidate.flags
            if flags is None:
                raise UnsupportedOperation(
                    "this backend does not know the flags of its messages", capability=capability
                )
            self._flags = frozenset(str.casefold(f) for f in flags)
        return flag.casefold() in self._flags

    def size(self) -> int:
        """Return the candidate's size."""
        size = self._candidate.size
        if size is None:
            raise UnsupportedOperation("message sizes are unknown here", capability="SIZE")
        return size

    def date(self) -> datetime.date:
        """Return the date of the candidate's internal date (its time and zone disregarded)."""
        stamp = self._candidate.internal_date
        if stamp is None:
            raise UnsupportedOperation(
                "internal dates are unknown here", capability="INTERNAL_DATE"
            )
        return stamp.date()

    def uid_in(self, uids: Sequence[int]) -> bool:
        """Return whether the candidate's uid is one of the sorted ``uids``."""
        uid = self._candidate.uid
        if isinstance(uid, bool) or not isinstance(uid, int):
            raise UnsupportedOperation(
                "Q.uid() takes numeric uids; this backend's uids are strings", capability="UID"
            )
        i = bisect.bisect_left(uids, uid)
        return i < len(uids) and uids[i] == uid

    def headers(self) -> list[tuple[str, str]]:
        """Return the top-level header fields as ``(folded name, folded decoded value)``."""
        if self._headers is None:
            message = self._message("HEADERS")
            self._headers = [
                (fold(name), fold(_decode(message, name, raw))) for name, raw in message.raw_items()
            ]
        return self._headers

    def body(self) -> str:
        """Return the folded, decoded text of the ``text/*`` parts, one line between parts."""
        if self._body is None:
            self._body = fold("\n".join(_texts(self._message("BODY"))))
        return self._body

    def _message(self, capability: str) -> email.message.Message:
        message = self._candidate.message
        if message is None:
            raise UnsupportedOperation(
                "the message was not fetched for this query", capability=capability
            )
        return message


def _decode(message: email.message.Message, name: str, raw: object) -> str:
    """Return the decoded, unfolded value of one header field, whatever the policy."""
    if not isinstance(raw, str):
        return str(raw)  # compat32 may store an email.header.Header: str() decodes it
    try:
        value = message.policy.header_fetch_parse(name, raw)
        if isinstance(value, BaseHeader):
            return _unescape(str(value))
        # compat32 hands back the raw text: decode its RFC 2047 words here.
        return _unescape(str(make_header(decode_header(_unfold(str(value))))))
    except Exception:  # malformed fields have raised IndexError, ValueError, ...
        return _unescape(_unfold(raw))


def _unfold(text: str) -> str:
    # RFC 5322 section 2.2.3: unfolding removes each CRLF that precedes white space.
    return text.replace("\r\n", "").replace("\n", "").replace("\r", "")


def _unescape(text: str) -> str:
    # Undecodable 8-bit header bytes come back as surrogate escapes; most are UTF-8 (RFC 6532).
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeError:
        return text


def _texts(message: email.message.Message) -> list[str]:
    """Return the decoded text of every ``text/*`` leaf part of ``message``."""
    texts: list[str] = []
    for part in message.walk():
        if part.is_multipart() or part.get_content_maintype() != "text":
            continue
        try:
            payload = part.get_payload(decode=True)
        except Exception:  # a malformed part is skipped, never fatal
            payload = None
        if not isinstance(payload, bytes):
            continue
        charset = part.get_content_charset() or "utf-8"
        if charset in ("us-ascii", "ascii"):
            charset = "utf-8"  # a superset, and the usual truth behind a missing label
        try:
            texts.append(payload.decode(charset, "replace"))
        except LookupError:  # an unknown charset name
            texts.append(payload.decode("utf-8", "replace"))
    return texts
