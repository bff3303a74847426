"""Mail transactions over one connection: pipelined envelopes, streamed content, results.

With PIPELINING (RFC 2920 section 3.1) each message costs about one round trip: MAIL, every
RCPT and DATA go in one write; their replies are read together; the content follows; and the
end of that content is written *together with the next message's MAIL/RCPT/DATA group*, so the
final reply of one message and the envelope replies of the next arrive in one read. Without
PIPELINING every command waits for its reply (RFC 5321).

The content is streamed: at most one chunk (``CHUNK_SIZE``) is canonicalised and held at a
time. A NUL found in the middle of a streamed file cannot be taken back once part of the
content is on the wire, so the connection is closed without the terminator: the server drops
the partial message, and nothing is ever claimed as sent without the server's final reply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from .._errors import InvalidArgument, SendError, UnimailError
from .._models import SendResult
from .._proto.smtp import TERMINATOR, ContentEncoder, Reply, Step, Transaction
from .._proto.smtp import _commands as cmd
from .._smtp_content import CHUNK_SIZE, Content
from ._smtp_client import AsyncSmtpClient

__all__ = ["Job", "send_jobs"]

# Messages up to this size are canonicalised in one piece (one send, fewest system calls).
_WHOLE = 4 * CHUNK_SIZE
# A content tail up to this size goes in the same write as the next envelope.
_SMALL = 64 * 1024


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


async def send_jobs(client: AsyncSmtpClient, jobs: Sequence[Job]) -> None:
    """Send every job over ``client`` in order, setting each job's ``outcome``.

    A job the server refused gets a SendError outcome and the next job goes on (after RSET).

    Raises:
        ConnectionLost, Timeout, ProtocolError: the connection broke. A job whose outcome is
            still None and whose transaction is past ``Step.MAIL`` may or may not have been
            delivered; one still at ``Step.MAIL`` was certainly not (no content was sent).
        InvalidArgument: a streamed message held NUL (the connection is closed, that message
            not sent).
    """
    pipelining = "PIPELINING" in client.ehlo
    tail = b""  # the end of the previous message's content, written with the next envelope
    previous: Job | None = None  # its content is written (or in tail), final reply unread
    for index, job in enumerate(jobs):
        tx = job.transaction
        if pipelining:
            await client.send(tail + tx.commands)
            tail = b""
            if previous is not None:
                await _final(client, previous)
                previous = None
            while tx.replies_outstanding:
                tx.receive(await client.read_reply())
        else:
            await _one_by_one(client, tx)
        if tx.step is Step.CONTENT:
            if tx.chunking:
                await _send_bdat(client, job, pipelining)
            else:
                tail = await _stream_data(client, job)
                # Only a small message's end goes out with the next envelope. After a large
                # one the server answers in two writes (its final reply, then the envelope
                # replies), and the second waits on TCP delayed ACKs (Postfix: 40 ms each);
                # a round trip saved is nothing next to the transfer of a large message.
                if pipelining and index + 1 < len(jobs) and len(tail) <= _SMALL:
                    previous = job
                    continue
                await client.send(tail)
                tail = b""
                await _final(client, job)
                continue
        elif tx.step is Step.ABORT:
            # RFC 2920 3.1: DATA was accepted though no recipient was; end it empty.
            await client.send(TERMINATOR)
            tx.receive(await client.read_reply())
        if tx.needs_reset:
            await client.reset()
        job.settle()
    if previous is not None:
        await client.send(tail)
        await _final(client, previous)


async def _one_by_one(client: AsyncSmtpClient, tx: Transaction) -> None:
    for line in tx.lines:
        if line == cmd.DATA and not tx.accepted:
            tx.abandon()  # nobody to send to: do not start DATA at all
            return
        await client.send(line)
        step = tx.receive(await client.read_reply())
        if step is Step.FAILED or step is Step.DONE:
            tx.abandon()
            return


async def _final(client: AsyncSmtpClient, job: Job) -> None:
    job.transaction.receive(await client.read_reply())
    job.settle()


async def _stream_data(client: AsyncSmtpClient, job: Job) -> bytes:
    """Write the DATA content except its last piece; return that piece with the terminator."""
    encoder = ContentEncoder()
    data = job.content.data
    if data is not None and len(data) <= _WHOLE:
        return encoder.feed(data) + encoder.finish()  # NUL is refused before anything is sent
    pending = b""
    try:
        for chunk in job.content.chunks():
            out = encoder.feed(chunk)
            if pending:
                await client.send(pending)
            pending = out
    except InvalidArgument:
        await client.abort()
        raise
    return pending + encoder.finish()


async def _send_bdat(client: AsyncSmtpClient, job: Job, pipelining: bool) -> None:
    """Send the content in BDAT chunks (RFC 3030), the last one marked LAST."""
    encoder = None if job.binary else ContentEncoder(dot_stuffing=False)
    held: bytes | None = None
    sent = 0
    replies: list[Reply] = []
    try:
        for chunk in job.content.chunks():
            out = chunk if encoder is None else encoder.feed(chunk)
            if held:
                await client.send(cmd.bdat(len(held), last=False) + held)
                sent += 1
                if not pipelining:
                    replies.append(await client.read_reply())
                    if replies[-1].code != 250:
                        break
            held = out
    except InvalidArgument:
        await client.abort()
        raise
    if not replies or replies[-1].code == 250:
        last = (held or b"") + (encoder.finish() if encoder is not None else b"")
        await client.send(cmd.bdat(len(last), last=True) + last)
        sent += 1
    while len(replies) < sent:
        replies.append(await client.read_reply())
    final = next((r for r in replies if r.code != 250), replies[-1])
    job.transaction.receive(final)
    if not 200 <= final.code < 300:
        await client.reset()
    job.settle()
