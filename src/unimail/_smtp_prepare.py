"""From what the caller passed to ``send()`` to a job ready to go on the wire (no I/O).

Two stages, so that every check that does not need the server runs before anything is sent:

1. ``OutgoingMessage.of`` (``_proto/smtp/_outgoing.py``): the envelope from the arguments or
   the headers, each address checked (syntax, IDNA), the ESMTP parameters checked, at least
   one recipient.
2. :func:`prepare` (knows the server's EHLO): serialise the message, check it against the
   extensions (SIZE, 8BITMIME, SMTPUTF8, DSN, BINARYMIME) and build the transaction; a
   :class:`Job` then carries it through ``_async/_smtp_send.py`` and holds its outcome.

The content goes in BDAT chunks (RFC 3030) when the server offers both CHUNKING and
PIPELINING: length-framed chunks need no dot-stuffing and no 354 turn, so whole messages can
be pipelined back to back. Otherwise it goes with DATA.

Only the recipient domain checks (``verify_domains=True``) need I/O; they live in
``_async/_smtp_dns.py``.
"""

from __future__ import annotations

import email.message
from collections.abc import Iterable, Mapping

import attrs

from ._errors import (
    DeliveryUncertain,
    LimitExceeded,
    SendError,
    UnimailError,
    UnsupportedOperation,
)
from ._models import SendResult
from ._options import Limits
from ._proto.smtp import EhloInfo, OutgoingMessage, Transaction
from ._smtp_content import Content

__all__ = ["Job", "Prepared", "prepare"]


class Job:
    """One message to send: its transaction, its content, and (afterwards) its outcome.

    Attributes:
        outcome: the SendResult, or the SendError / connection error that ended it; None
            while it has not been sent (or its fate is unknown because the connection broke).
    """

    def __init__(
        self,
        transaction: Transaction,
        content: Content,
        *,
        binary: bool = False,
        refused: Mapping[str, tuple[int, str]] | None = None,
    ) -> None:
        """Send ``content`` in ``transaction``.

        Args:
            transaction: the envelope.
            content: the message.
            binary: BDAT without canonicalisation (BODY=BINARYMIME).
            refused: recipients refused before sending (domain checks), merged into the
                outcome.
        """
        self.transaction = transaction
        self.content = content
        self.binary = binary
        self.refused = dict(refused or {})
        self.outcome: SendResult | UnimailError | None = None
        #: Set once any of the content was handed to the connection: from then on the
        #: server may have the message even if no reply was read, so it is never resent.
        self.content_sent = False
        #: Set just before the last piece of the content (the DATA terminator, BDAT LAST) is
        #: handed to the connection: from then on the server may have accepted the message
        #: even if its final reply is never read (see :meth:`interrupt`).
        self.content_complete = False

    @property
    def resendable(self) -> bool:
        """True while the server certainly does not have the message (nothing of its
        content was written and no reply read): safe to send again on another connection."""
        return self.outcome is None and self.transaction.unsent and not self.content_sent

    def restart(self) -> None:
        """Prepare to send it again from the start (only when :attr:`resendable`)."""
        self.transaction = self.transaction.restart()
        self.content_sent = False
        self.content_complete = False

    def interrupt(self, error: UnimailError) -> UnimailError:
        """Record (and return) the outcome of a job the broken connection left unsettled.

        A job whose content was not all written cannot have been delivered: its outcome is
        ``error`` itself (safe to send again). One whose content was all written but whose
        final reply was not read may have been: its outcome is a :class:`DeliveryUncertain`
        caused by ``error``. A job already settled keeps its outcome.
        """
        if self.outcome is None:
            if self.content_complete:
                refused = {**self.refused, **self.transaction.refused}
                uncertain = DeliveryUncertain(
                    "the message may have been delivered: it was all sent, but the server's "
                    f"final reply to it was not read ({error})",
                    uncertain=tuple(
                        address
                        for address in (r.original for r in self.transaction.recipients)
                        if address not in refused
                    ),
                    refused=refused,
                )
                uncertain.__cause__ = error
                self.outcome = uncertain
            else:
                self.outcome = error
        return self.outcome if isinstance(self.outcome, UnimailError) else error

    def settle(self) -> None:
        """Record the transaction's result as the outcome."""
        try:
            result = self.transaction.result()
        except SendError as exc:
            exc.refused = {**self.refused, **exc.refused}
            self.outcome = exc
        else:
            if self.refused:
                result = attrs.evolve(result, refused={**self.refused, **result.refused})
            self.outcome = result


def _has_param(params: Iterable[str], keyword: str) -> str | None:
    for param in params:
        name, _, value = param.partition("=")
        if name.upper() == keyword:
            return value.upper()
    return None


@attrs.define
class Prepared:
    """A message ready to send: its content and transaction (or its early refusal)."""

    content: Content
    transaction: Transaction | None
    refused: Mapping[str, tuple[int, str]]
    binary: bool = False
    _handed_out: bool = attrs.field(default=False, init=False)

    @property
    def job_needed(self) -> bool:
        """False when every recipient was refused before sending (verify_domains)."""
        return self.transaction is not None

    def job(self) -> Job:
        """A new job that sends it (each attempt gets a fresh transaction)."""
        assert self.transaction is not None
        # The first job takes the unsent transaction as it is; later ones get a copy.
        transaction = self.transaction.restart() if self._handed_out else self.transaction
        self._handed_out = True
        return Job(transaction, self.content, binary=self.binary, refused=self.refused)

    def early_outcome(self) -> SendError:
        """The SendError for a message none of whose recipients could be sent to."""
        return SendError(
            "message not sent: no recipient domain can receive mail",
            refused=self.refused,
            code="550",
            enhanced_code="5.1.2",
            text="no recipient domain can receive mail",
        )

    def close(self) -> None:
        """Release the content's temporary file, if any."""
        self.content.close()


def prepare(
    outgoing: OutgoingMessage,
    ehlo: EhloInfo,
    limits: Limits,
    refused: Mapping[str, tuple[int, str]],
) -> Prepared:
    """Serialise the message and build its transaction for a server that said ``ehlo``.

    Raises:
        UnsupportedOperation: the message needs SMTPUTF8, 8BITMIME, BINARYMIME or DSN and the
            server lacks it.
        SendError: the message is larger than the server's SIZE (code 552; nothing sent).
        LimitExceeded: the message is larger than ``limits.max_message_size``.
        InvalidArgument: the message cannot be serialised.
    """
    addresses = (outgoing.sender, *outgoing.recipients)
    utf8_envelope = any(a.needs_smtputf8 for a in addresses)
    if utf8_envelope and "SMTPUTF8" not in ehlo:
        bad = next(a.original for a in addresses if a.needs_smtputf8)
        raise UnsupportedOperation(
            f"{bad!r} has a non-ASCII local part and the server does not offer SMTPUTF8",
            capability="SMTPUTF8",
        )
    content = Content.of(outgoing.message, utf8=utf8_envelope)
    ascii_data = content.data is not None and content.data.isascii()
    if (
        content.data is not None
        and not ascii_data
        and "8BITMIME" not in ehlo
        and isinstance(outgoing.message, email.message.Message)
    ):
        # RFC 6152: no 8-bit data to a server without 8BITMIME; an EmailMessage can be
        # re-encoded with quoted-printable / base64 instead.
        content.close()
        content = Content.of(outgoing.message, utf8=utf8_envelope, seven_bit=True)
        ascii_data = content.data is not None and content.data.isascii()
    try:
        return _build(outgoing, ehlo, limits, refused, content, utf8_envelope, ascii_data)
    except BaseException:
        content.close()
        raise


def _build(
    outgoing: OutgoingMessage,
    ehlo: EhloInfo,
    limits: Limits,
    refused: Mapping[str, tuple[int, str]],
    content: Content,
    utf8_envelope: bool,
    ascii_data: bool,
) -> Prepared:
    # Called for every message of a batch: the EHLO keywords are looked up in their
    # (upper-case) mapping directly, and the message is scanned for 8-bit data only once.
    extensions = ehlo.extensions
    size = content.size()
    if size > limits.max_message_size:
        raise LimitExceeded(
            f"the message ({size} bytes) is larger than max_message_size "
            f"({limits.max_message_size})"
        )
    maximum = ehlo.max_size if "SIZE" in extensions else None
    if maximum is not None and size > maximum:
        raise SendError(
            f"message not sent: {size} bytes is more than the server's limit of {maximum}",
            refused={r.original: (552, "message too large") for r in outgoing.recipients},
            code="552",
            enhanced_code="5.3.4",
            text=f"message size exceeds the server's fixed maximum ({maximum} bytes)",
        )
    params = list(outgoing.mail_options)
    body = _has_param(params, "BODY") if params else None
    binary = body == "BINARYMIME"
    if binary and not ("BINARYMIME" in extensions and "CHUNKING" in extensions):
        raise UnsupportedOperation(
            "BODY=BINARYMIME needs the server's BINARYMIME and CHUNKING",
            capability="BINARYMIME",
        )
    if body is None and not ascii_data:
        # A file is not scanned: it may hold 8-bit data.
        if "8BITMIME" in extensions:
            params.append("BODY=8BITMIME")
        elif content.data is not None:
            raise UnsupportedOperation(
                "the message has 8-bit data and the server does not offer 8BITMIME "
                "(encode it as quoted-printable or base64)",
                capability="8BITMIME",
            )
    if "SIZE" in extensions and (not params or _has_param(params, "SIZE") is None):
        params.append(f"SIZE={size}")
    # An all-ASCII message has an all-ASCII header section.
    wants_utf8 = utf8_envelope or (not ascii_data and not content.header_is_ascii())
    if wants_utf8 and "SMTPUTF8" in extensions and _has_param(params, "SMTPUTF8") is None:
        params.append("SMTPUTF8")
    dsn = outgoing.dsn
    if dsn is not None:
        if "DSN" not in extensions:
            raise UnsupportedOperation(
                "delivery status notifications need the server's DSN", capability="DSN"
            )
        params += dsn.mail_params()
    recipients = (
        [r for r in outgoing.recipients if r.original not in refused]
        if refused
        else outgoing.recipients
    )
    if not recipients:
        return Prepared(content, None, refused)
    rcpt_params = (
        [
            [*outgoing.rcpt_options, *(dsn.rcpt_params(r.original) if dsn else [])]
            for r in recipients
        ]
        if outgoing.rcpt_options or dsn is not None
        else None
    )
    # BDAT whenever the server can take it pipelined (see the module docstring).
    chunking = binary or ("CHUNKING" in extensions and "PIPELINING" in extensions)
    transaction = Transaction(
        outgoing.sender, recipients, mail_params=params, rcpt_params=rcpt_params, chunking=chunking
    )
    return Prepared(content, transaction, refused, binary=binary)
