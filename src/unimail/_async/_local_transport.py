"""Transports that store instead of sending: for testing code that sends mail.

``AsyncTransport.open("memory:NAME")`` delivers each message to the INBOX of the memory
mailbox ``memory:NAME``; ``AsyncTransport.open("maildir:PATH")`` to the INBOX of the
Maildir at ``PATH``. ``send()`` checks the message and its envelope exactly as the SMTP
transport does (the envelope from the headers unless given, Bcc removed), stores the message
with a ``Return-Path`` field holding the envelope sender (as a delivery agent adds it), and
returns a :class:`SendResult` that accepts every recipient.
"""

from __future__ import annotations

import abc
import email.message
from collections.abc import Iterable, Sequence
from typing import ClassVar

from .._errors import InvalidArgument
from .._local._maildir import MaildirStore
from .._local._memory import MemoryStore
from .._local._ops import append
from .._local._view import Store
from .._models import SendResult
from .._options import Security
from .._proto.smtp import OutgoingMessage
from .._smtp_content import Content
from ._local_mailbox import run_store
from ._transport import AsyncTransport

__all__ = ["AsyncMaildirTransport", "AsyncMemoryTransport"]


class AsyncStoringTransport(AsyncTransport, abc.ABC):
    """A transport that appends what it sends to the INBOX of a local store."""

    _store: Store | None = None

    @abc.abstractmethod
    def _make_store(self) -> Store:
        """Return the store whose INBOX receives what is sent (each transport says which)."""

    async def _connect(self) -> None:
        self._store = await run_store(True, self._make_store)

    async def send(
        self,
        message: email.message.Message | bytes,
        *,
        sender: str | None = None,
        recipients: Iterable[str] | None = None,
        mail_options: Sequence[str] = (),
        rcpt_options: Sequence[str] = (),
    ) -> SendResult:
        """Store ``message`` in the INBOX; return every recipient as accepted.

        The envelope comes from the headers (Sender/From; To/Cc/Bcc) unless ``sender`` and
        ``recipients`` are given; bytes need both. Bcc is removed, as SMTP sending does.

        Raises:
            InvalidArgument: a malformed address or message, or no recipient.
            CommandError: the store could not be written.
        """
        store = self._store
        if store is None:
            raise InvalidArgument("the transport is closed")
        outgoing = OutgoingMessage.of(message, sender, recipients, mail_options, rcpt_options)
        content = Content.of(outgoing.message)
        try:
            raw = content.read_all()
        finally:
            content.close()
        if b"\0" in raw:
            raise InvalidArgument("the message holds NUL bytes")
        path = f"Return-Path: <{outgoing.sender.wire}>\r\n".encode()
        uid, _, _ = await run_store(
            store.blocking, append, store, "INBOX", path + raw, frozenset(), None
        )
        accepted = tuple(r.original for r in outgoing.recipients)
        return SendResult(accepted=accepted, response=f"250 stored in INBOX as uid {uid}")

    async def aclose(self) -> None:
        """Close the transport (no I/O). Safe to call more than once."""
        self._store = None


class AsyncMemoryTransport(AsyncStoringTransport):
    """Stores what it sends in the memory mailbox ``memory:NAME``:
    ``AsyncTransport.open("memory:NAME")``."""

    schemes: ClassVar[dict[str, Security]] = {"memory": Security.PLAINTEXT}

    def _make_store(self) -> Store:
        return MemoryStore.named(self._options.url.path)


class AsyncMaildirTransport(AsyncStoringTransport):
    """Stores what it sends in the INBOX of the Maildir at ``PATH``:
    ``AsyncTransport.open("maildir:PATH")``."""

    schemes: ClassVar[dict[str, Security]] = {"maildir": Security.PLAINTEXT}

    def _make_store(self) -> Store:
        if not self._options.url.path:
            raise InvalidArgument("a maildir: URL needs a path")
        return MaildirStore(self._options.url.path, lock_timeout=self._options.timeout)
