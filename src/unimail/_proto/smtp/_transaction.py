"""One mail transaction (RFC 5321 section 3.3) and the reading of its pipelined replies.

A transaction is ``MAIL FROM``, one ``RCPT TO`` per recipient, then the content (``DATA`` +
content + terminator, or ``BDAT`` chunks). With PIPELINING (RFC 2920 section 3.1) the client
writes MAIL, every RCPT and DATA at once and then reads the replies *in order*; so this class
is fed the replies in the order the commands were written and says what to do next::

    state        reply fed              next state
    MAIL         2xx                    RCPT (or DATA/CONTENT when there are no more RCPTs)
    MAIL         other                  FAILED (the RCPT and DATA replies still arrive: read
                                        and ignore them, then RSET)
    RCPT         any                    RCPT / DATA: 2xx accepts the recipient, else refuses
    DATA         354, someone accepted  CONTENT: send the content
    DATA         354, nobody accepted   ABORT: send a lone ".", read one reply, then RSET
                                        (RFC 2920 3.1: a server may accept DATA anyway)
    DATA         other                  FAILED, RSET
    CONTENT      final reply 2xx        DONE: delivered to the accepted recipients
    CONTENT      final reply other      DONE: delivered to nobody (SendError)

A result is only claimed from the final reply to the content: without that reply the
transaction never counts as a success (the message may or may not have been taken).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from ..._errors import ProtocolError, SendError
from ..._models import SendResult
from . import _commands
from ._address import EnvelopeAddress
from ._reply import Reply

__all__ = ["Step", "Transaction"]


class Step(enum.Enum):
    """What the transaction waits for or needs next."""

    MAIL = "mail"  # waiting for the MAIL reply
    RCPT = "rcpt"  # waiting for RCPT replies
    DATA = "data"  # waiting for the DATA reply (354)
    CONTENT = "content"  # send the content, then feed the final reply
    ABORT = "abort"  # 354 with no recipient: send ".", feed that reply
    FAILED = "failed"  # no content will be sent; feed the remaining replies, then RSET
    DONE = "done"


# Looked up for every reply of every message: module constants, not enum attribute lookups.
_MAIL, _RCPT, _DATA, _CONTENT = Step.MAIL, Step.RCPT, Step.DATA, Step.CONTENT
_ABORT, _FAILED, _DONE = Step.ABORT, Step.FAILED, Step.DONE


class Transaction:
    """The commands of one transaction and the meaning of their replies.

    Args:
        sender: the reverse-path.
        recipients: the forward-paths, in order.
        mail_params: ESMTP parameters of MAIL FROM (checked here).
        rcpt_params: for each recipient, the ESMTP parameters of its RCPT TO.
        chunking: the content goes in BDAT chunks (no DATA command, no 354).
    """

    def __init__(
        self,
        sender: EnvelopeAddress,
        recipients: Sequence[EnvelopeAddress],
        *,
        mail_params: Sequence[str] = (),
        rcpt_params: Sequence[Sequence[str]] | None = None,
        chunking: bool = False,
    ) -> None:
        """Build the commands (InvalidArgument for a bad parameter, before anything is sent)."""
        self._sender = sender
        self._mail_params = tuple(mail_params)
        self._rcpt_params = rcpt_params
        self.recipients = tuple(recipients)
        parts = [_commands.mail_from(sender, mail_params)]
        if rcpt_params is None:
            parts += map(_commands.rcpt_to, self.recipients)
        else:
            parts += map(
                _commands.rcpt_to, self.recipients, _same_length(rcpt_params, self.recipients)
            )
        if not chunking:
            parts.append(_commands.data())
        #: The command lines, in order (sent one by one to a server without PIPELINING).
        self.lines = tuple(parts)
        #: All of them at once, for a PIPELINING server (RFC 2920 3.1).
        self.commands = b"".join(parts)
        self.chunking = chunking
        self.step = _MAIL
        self._pending = len(self.recipients) + (0 if chunking else 1)  # replies after MAIL
        self._rcpt_index = 0
        self.accepted: list[str] = []
        self.refused: dict[str, tuple[int, str]] = {}
        self.enhanced: dict[str, str] = {}
        self.failure: Reply | None = None
        self.final: Reply | None = None

    @property
    def replies_outstanding(self) -> int:
        """Replies to the pipelined commands still to be read (MAIL, RCPTs, DATA)."""
        step = self.step
        if step is _MAIL:
            return 1 + self._pending
        # Identity tests: an enum's hash is computed in Python, a set lookup costs more.
        return self._pending if step is _RCPT or step is _DATA or step is _FAILED else 0

    def receive(self, reply: Reply) -> Step:
        """Feed the next reply, in the order the commands were written; return the next step.

        Raises:
            ProtocolError: a reply arrived when none was expected.
        """
        step = self.step
        if step is _MAIL:
            if not 200 <= reply.code < 300:
                self.failure = reply
                self.step = _FAILED if self._pending else _DONE
                return self._settle()
            self.step = _RCPT if self.recipients else _DATA
            return self._after_envelope()
        if step is _RCPT:
            address = self.recipients[self._rcpt_index].original
            self._rcpt_index += 1
            self._pending -= 1
            if 200 <= reply.code < 300:
                self.accepted.append(address)
            else:
                self._refuse(address, reply)
            if self._rcpt_index == len(self.recipients):
                self.step = _DATA
            return self._after_envelope()
        if step is _DATA:
            self._pending -= 1
            if reply.code == 354:
                self.step = _CONTENT if self.accepted else _ABORT
            else:
                if self.accepted:
                    # With nobody accepted, the refusal of DATA ("554 no valid recipients")
                    # says nothing new: each recipient's own refusal is the reason.
                    self.failure = reply
                self.step = _DONE  # nothing more to read: DATA was the last command
            return self.step
        if step is _FAILED:
            self._pending -= 1
            if self._rcpt_index < len(self.recipients):
                self._rcpt_index += 1
            return self._settle()
        if step is _ABORT:
            self.step = _DONE
            return self.step
        if step is _CONTENT:
            self.final = reply
            self.step = _DONE
            return self.step
        raise ProtocolError(f"unexpected SMTP reply {reply.code} after the transaction ended")

    def restart(self) -> Transaction:
        """Return a new, unsent transaction with the same commands (to try again elsewhere)."""
        return Transaction(
            self._sender,
            self.recipients,
            mail_params=self._mail_params,
            rcpt_params=self._rcpt_params,
            chunking=self.chunking,
        )

    @property
    def unsent(self) -> bool:
        """True while no reply has been read: the server cannot have taken the message."""
        return self.step is _MAIL

    def abandon(self) -> None:
        """Stop here without sending more commands (a server without PIPELINING refused MAIL,
        or no recipient was accepted, so DATA is not sent)."""
        self._pending = 0
        self.step = _DONE

    def _after_envelope(self) -> Step:
        if self.step is _DATA and self.chunking:
            self.step = _CONTENT if self.accepted else _DONE
        return self.step

    def _settle(self) -> Step:
        if self.step is _FAILED and self._pending <= 0:
            self.step = _DONE
        return self.step

    def _refuse(self, address: str, reply: Reply) -> None:
        self.refused[address] = (reply.code, reply.message)
        if reply.enhanced is not None:
            self.enhanced[address] = reply.enhanced

    @property
    def needs_reset(self) -> bool:
        """True when no final reply ended the transaction: send RSET before the next one."""
        return self.final is None

    def result(self) -> SendResult:
        """Return the outcome once the transaction is done.

        Raises:
            SendError: nobody got the message (every recipient refused, MAIL or DATA refused,
                or the content refused); it carries each recipient's code and text.
        """
        final = self.final
        if final is not None and 200 <= final.code < 300 and self.accepted:
            return SendResult(
                accepted=tuple(self.accepted),
                refused=dict(self.refused),
                enhanced_codes=dict(self.enhanced),
                response=str(final),
            )
        reply = final if final is not None else self.failure
        if reply is not None:
            for recipient in self.recipients:
                if recipient.original not in self.refused:
                    self._refuse(recipient.original, reply)
            stage = "the content" if final is not None else "the transaction"
            what = f"the server refused {stage}: {reply}"
        else:
            what = "every recipient was refused"
            reply = _first_refusal(self.recipients, self.refused)
        raise SendError(
            f"message not sent: {what}",
            refused=self.refused,
            code=str(reply.code) if reply else "",
            enhanced_code=reply.enhanced if reply else None,
            text=reply.message if reply else "",
            temporary=bool(reply and reply.temporary),
        )


def _same_length(
    params: Sequence[Sequence[str]], recipients: Sequence[object]
) -> Sequence[Sequence[str]]:
    if len(params) != len(recipients):
        raise ValueError(f"{len(params)} RCPT parameter lists for {len(recipients)} recipients")
    return params


def _first_refusal(
    recipients: Sequence[EnvelopeAddress], refused: dict[str, tuple[int, str]]
) -> Reply | None:
    for recipient in recipients:
        if recipient.original in refused:
            code, text = refused[recipient.original]
            return Reply(code, (text,))
    return None
