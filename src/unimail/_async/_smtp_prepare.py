"""From what the caller passed to ``send()`` to a transaction ready to go on the wire.

Two stages, so that every check that does not need the server runs before anything is sent:

1. ``OutgoingMessage.of`` (``_proto/smtp/_outgoing.py``, no I/O): the envelope from the
   arguments or the headers, each address checked (syntax, IDNA), the ESMTP parameters
   checked, at least one recipient.
2. :func:`prepare` (knows the server's EHLO): serialise the message, check it against the
   extensions (SIZE, 8BITMIME, SMTPUTF8, DSN, BINARYMIME) and build the transaction.
"""

from __future__ import annotations

import email.message
from collections.abc import Iterable, Mapping

import attrs
import dns.asyncresolver

from .._errors import LimitExceeded, SendError, UnsupportedOperation
from .._options import Limits
from .._proto.smtp import EhloInfo, OutgoingMessage, Transaction
from .._smtp_content import Content
from ._smtp_dns import domain_has_mail
from ._smtp_send import Job

__all__ = ["Prepared", "prepare", "verify_domains"]


async def verify_domains(
    outgoing: OutgoingMessage, resolver: dns.asyncresolver.Resolver | None
) -> dict[str, tuple[int, str]]:
    """Return the recipients whose domain cannot receive mail, with a code and reason."""
    refused: dict[str, tuple[int, str]] = {}
    verdicts: dict[str, bool | None] = {}
    for recipient in outgoing.recipients:
        domain = recipient.domain
        if domain not in verdicts:
            verdicts[domain] = await domain_has_mail(domain, resolver)
        verdict = verdicts[domain]
        if verdict is None:
            refused[recipient.original] = (556, f"{domain} accepts no mail (null MX, RFC 7505)")
        elif not verdict:
            refused[recipient.original] = (550, f"{domain} has no MX, A or AAAA record")
    return refused


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

    @property
    def job_needed(self) -> bool:
        """False when every recipient was refused before sending (verify_domains)."""
        return self.transaction is not None

    def job(self) -> Job:
        """A new job that sends it (each attempt gets a fresh transaction)."""
        assert self.transaction is not None
        transaction = self.transaction.restart()
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
    eight_bit = content.data is not None and not content.data.isascii()
    if eight_bit and "8BITMIME" not in ehlo and isinstance(outgoing.message, email.message.Message):
        # RFC 6152: no 8-bit data to a server without 8BITMIME; an EmailMessage can be
        # re-encoded with quoted-printable / base64 instead.
        content.close()
        content = Content.of(outgoing.message, utf8=utf8_envelope, seven_bit=True)
    try:
        return _build(outgoing, ehlo, limits, refused, content, utf8_envelope)
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
) -> Prepared:
    size = content.size()
    if size > limits.max_message_size:
        raise LimitExceeded(
            f"the message ({size} bytes) is larger than max_message_size "
            f"({limits.max_message_size})"
        )
    maximum = ehlo.max_size
    if maximum is not None and size > maximum:
        raise SendError(
            f"message not sent: {size} bytes is more than the server's limit of {maximum}",
            refused={r.original: (552, "message too large") for r in outgoing.recipients},
            code="552",
            enhanced_code="5.3.4",
            text=f"message size exceeds the server's fixed maximum ({maximum} bytes)",
        )
    params = list(outgoing.mail_options)
    body = _has_param(params, "BODY")
    binary = body == "BINARYMIME"
    if binary and not ("BINARYMIME" in ehlo and "CHUNKING" in ehlo):
        raise UnsupportedOperation(
            "BODY=BINARYMIME needs the server's BINARYMIME and CHUNKING",
            capability="BINARYMIME",
        )
    if body is None and "8BITMIME" in ehlo and (content.data is None or not content.data.isascii()):
        params.append("BODY=8BITMIME")
    elif body is None and content.data is not None and not content.data.isascii():
        raise UnsupportedOperation(
            "the message has 8-bit data and the server does not offer 8BITMIME "
            "(encode it as quoted-printable or base64)",
            capability="8BITMIME",
        )
    if "SIZE" in ehlo and _has_param(params, "SIZE") is None:
        params.append(f"SIZE={size}")
    wants_utf8 = utf8_envelope or not content.header_is_ascii()
    if wants_utf8 and "SMTPUTF8" in ehlo and _has_param(params, "SMTPUTF8") is None:
        params.append("SMTPUTF8")
    dsn = outgoing.dsn
    if dsn is not None:
        if "DSN" not in ehlo:
            raise UnsupportedOperation(
                "delivery status notifications need the server's DSN", capability="DSN"
            )
        params += dsn.mail_params()
    recipients = [r for r in outgoing.recipients if r.original not in refused]
    if not recipients:
        return Prepared(content, None, refused)
    rcpt_params = [
        [*outgoing.rcpt_options, *(dsn.rcpt_params(r.original) if dsn else [])] for r in recipients
    ]
    transaction = Transaction(
        outgoing.sender, recipients, mail_params=params, rcpt_params=rcpt_params, chunking=binary
    )
    return Prepared(content, transaction, refused, binary=binary)
