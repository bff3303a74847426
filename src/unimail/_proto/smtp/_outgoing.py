"""A message with its checked envelope: what ``send()`` and ``send_many()`` work from.

Every check that needs no server runs here, before anything is sent: the envelope from the
arguments or the headers (Bcc removed from the copy that is transmitted), each address checked
(syntax, IDNA), the ESMTP parameters checked, at least one recipient.
"""

from __future__ import annotations

import email.message
import os
from collections.abc import Iterable, Sequence
from typing import IO

import attrs

from ..._errors import InvalidArgument
from ._address import EnvelopeAddress, check_address
from ._commands import check_param
from ._dsn import Dsn
from ._envelope import check_recipients, envelope_of, unique, without_bcc

__all__ = ["MessageSource", "OutgoingMessage"]

#: What ``send()`` takes as a message.
MessageSource = (
    email.message.Message | bytes | bytearray | memoryview | IO[bytes] | os.PathLike[str]
)


@attrs.frozen(kw_only=True)
class OutgoingMessage:
    """A message with its envelope, checked and ready for ``send_many()``.

    Build it with :meth:`of`; the fields are the checked values.
    """

    message: MessageSource
    sender: EnvelopeAddress
    recipients: tuple[EnvelopeAddress, ...]
    mail_options: tuple[str, ...] = ()
    rcpt_options: tuple[str, ...] = ()
    dsn: Dsn | None = None

    @classmethod
    def of(
        cls,
        message: MessageSource,
        sender: str | None = None,
        recipients: Iterable[str] | None = None,
        mail_options: Sequence[str] = (),
        rcpt_options: Sequence[str] = (),
        dsn: Dsn | None = None,
    ) -> OutgoingMessage:
        """Check a message and its envelope (see ``AsyncSmtpTransport.send``).

        Raises:
            InvalidArgument: a malformed address or parameter, no recipient, no sender, or a
                raw message without an explicit envelope.
        """
        if isinstance(message, email.message.Message):
            header_sender, header_recipients = envelope_of(message)
            message = without_bcc(message)
            if sender is None:
                sender = header_sender
            if recipients is None:
                recipients = header_recipients
        elif sender is None or recipients is None:
            raise InvalidArgument("a raw message (bytes, file, path) needs sender= and recipients=")
        if sender is None:
            raise InvalidArgument("the message has no sender (Sender, From or sender=)")
        if isinstance(recipients, str):
            recipients = [recipients]
        recipient_list = unique(recipients)
        check_recipients(recipient_list)
        if dsn is not None and not isinstance(dsn, Dsn):
            raise InvalidArgument("dsn must be a unimail.Dsn")
        return cls(
            message=message,
            sender=check_address(sender, what="sender", null_ok=True),
            recipients=tuple([check_address(r, what="recipient") for r in recipient_list]),
            mail_options=tuple(map(check_param, mail_options)),
            rcpt_options=tuple(map(check_param, rcpt_options)),
            dsn=dsn,
        )
