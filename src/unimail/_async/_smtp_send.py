"""Mail transactions over one connection: pipelined envelopes, streamed content, results.

With PIPELINING and CHUNKING (RFC 2920, RFC 3030) whole messages are pipelined: MAIL, every
RCPT, ``BDAT <size> LAST`` and the content of many messages go out back to back, within a
window (``_WINDOW`` bytes, ``_WINDOW_REPLIES`` replies) that bounds what is written ahead of
the replies read, so neither side can stall on a full socket buffer. Jobs come from a
:class:`JobSource`, asked for the next one only when the window has room (``send_many()``
prepares each message then). Each message's replies are read in order; a message is only
counted as sent from the reply to its BDAT LAST. The first message sends its envelope alone
and waits: a pooled connection that the server closed while it sat idle is found before any
content is written, and the jobs go again elsewhere. After that, nothing whose content was
written is ever sent again.

What a broken connection leaves: each job records ``content_complete`` just before the last
piece of its content (the DATA terminator, ``BDAT LAST``) is handed to the connection. A job
without it cannot have been delivered; one with it and without its final reply may have been
(``Job.interrupt``: ``DeliveryUncertain``).

With PIPELINING alone (RFC 2920 section 3.1) each message costs about one round trip: MAIL,
every RCPT and DATA go in one write; their replies are read together; the content follows; and
the end of that content is written *together with the next message's MAIL/RCPT/DATA group*, so
the final reply of one message and the envelope replies of the next arrive in one read. Without
PIPELINING every command waits for its reply (RFC 5321).

The content is streamed: at most one chunk (``CHUNK_SIZE``) is canonicalised and held at a
time. A NUL found in the middle of a streamed file cannot be taken back once part of the
content is on the wire, so the connection is closed without the terminator: the server drops
the partial message, and nothing is ever claimed as sent without the server's final reply.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Protocol

from .._errors import ConnectionLost, InvalidArgument, ProtocolError
from .._proto.smtp import TERMINATOR, ContentEncoder, Reply, Step, Transaction, canonical
from .._proto.smtp import _commands as cmd
from .._smtp_content import CHUNK_SIZE
from .._smtp_prepare import Job
from ._smtp_client import AsyncSmtpClient

__all__ = ["JobSource", "send_jobs"]

# Messages up to this size are canonicalised in one piece (one send, fewest system calls).
_WHOLE = 4 * CHUNK_SIZE
# A content tail up to this size goes in the same write as the next envelope.
_SMALL = 64 * 1024
# Pipelined BDAT: at most this much content, and this many replies due (MAIL, each RCPT and
# BDAT LAST of each message), written ahead of the replies read. That many replies (tens of
# bytes each) always fit in the socket buffers, so the server never blocks on writing them
# while we block on writing: counting replies, not messages, keeps that true for messages
# with hundreds of recipients. A message that needs more goes alone.
_WINDOW = 2 * CHUNK_SIZE
_WINDOW_REPLIES = 512


class JobSource(Protocol):
    """Where :func:`send_jobs` takes its jobs from, one at a time, as it has room for them
    (``send_many()`` prepares each message only then)."""

    async def next_job(self) -> Job | None:
        """Return the next job to send, or None when there is none left."""
        ...  # pragma: no cover


class _Listed:
    """The jobs of a sequence, in order."""

    def __init__(self, jobs: Sequence[Job]) -> None:
        self._jobs = deque(jobs)

    async def next_job(self) -> Job | None:
        return self._jobs.popleft() if self._jobs else None


async def send_jobs(client: AsyncSmtpClient, jobs: Sequence[Job] | JobSource) -> None:
    """Send every job over ``client`` in order, setting each job's ``outcome``.

    A job the server refused gets a SendError outcome and the next job goes on (after RSET).

    Raises:
        ConnectionLost, Timeout, ProtocolError: the connection broke. A job whose outcome is
            still None was not settled: ``job.interrupt(error)`` says whether it is certainly
            not delivered (its content was not all written) or may have been
            (DeliveryUncertain); ``job.resendable`` whether it may go on another connection.
        InvalidArgument: a streamed message held NUL (the connection is closed, that message
            not sent).
    """
    if client.closed:
        raise ConnectionLost(f"the connection to {client.peer} is closed")
    source = _Listed(jobs) if isinstance(jobs, Sequence) else jobs
    first = await source.next_job()
    if first is None:
        return
    if "PIPELINING" in client.ehlo and first.transaction.chunking:
        await _send_chunked(client, first, source)
        return
    await _send_in_turn(client, first, source)


async def _send_in_turn(client: AsyncSmtpClient, first: Job, source: JobSource) -> None:
    """DATA (pipelined per RFC 2920 3.1 when offered), or BDAT one message at a time."""
    pipelining = "PIPELINING" in client.ehlo
    tail = b""  # the end of the previous message's content, written with the next envelope
    previous: Job | None = None  # its content is written (or in tail), final reply unread
    following: Job | None = first
    while following is not None:
        job = following
        following = await source.next_job()
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
                job.content_complete = True  # the terminator is in tail: written next
                # Only a small message's end goes out with the next envelope. After a large
                # one the server answers in two writes (its final reply, then the envelope
                # replies), and the second waits on TCP delayed ACKs (Postfix: 40 ms each);
                # a round trip saved is nothing next to the transfer of a large message.
                if pipelining and following is not None and len(tail) <= _SMALL:
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


def _windowed(job: Job) -> bool:
    """True for a BDAT message held in memory: it goes whole into the pipeline window."""
    data = job.content.data
    return job.transaction.chunking and data is not None and len(data) <= _WHOLE


async def _send_chunked(client: AsyncSmtpClient, first: Job, source: JobSource) -> None:
    """Pipeline whole BDAT messages within the window; other jobs go one at a time.

    Jobs are taken from ``source`` only as the window has room: each is prepared (serialised)
    while the server works on the ones before it, and no more than the window is held.
    """
    waiting: Job | None = first  # the next job to write
    flight: deque[tuple[Job, int]] = deque()  # written, replies not read; content size
    ahead = 0  # content bytes in flight
    due = 0  # replies due for the messages in flight
    probed = False
    reset = False  # a transaction ended without a final reply: RSET before writing more
    while waiting is not None or flight:
        # Refill once half of the window is free: fewer, larger writes.
        if (
            waiting is not None
            and not reset
            and ahead <= _WINDOW // 2
            and due <= _WINDOW_REPLIES // 2
        ):
            out: list[bytes] = []
            while waiting is not None and ahead < _WINDOW:
                job = waiting
                replies = 2 + len(job.transaction.recipients)
                if not _windowed(job) or (flight and due + replies > _WINDOW_REPLIES):
                    break
                waiting = await source.next_job()
                content = _canonical(job)
                if content is None:
                    continue  # refused before sending (NUL): its outcome is set
                if not probed:
                    probed = True
                    if not await _probe(client, job):
                        continue
                    head = b""
                else:
                    head = job.transaction.commands
                job.content_sent = job.content_complete = True
                out += (head, cmd.bdat(len(content), last=True), content)
                flight.append((job, len(content)))
                ahead += len(content)
                due += replies
            if out:
                await client.send(b"".join(out))
        if flight:
            job, size = flight.popleft()
            ahead -= size
            due -= 2 + len(job.transaction.recipients)
            reset = await _read_chunked(client, job) or reset
        elif reset:
            # RFC 5321 4.1.1.4: the end of the data clears the transaction, whatever its
            # outcome. RSET anyway before more is written: a server that kept a refused
            # transaction open would refuse every MAIL that follows.
            await client.reset()
            reset = False
        elif waiting is not None:
            # Not windowed (a file too large to hold, DATA): alone, once the window is empty.
            probed = True
            job, waiting = waiting, await source.next_job()
            await _send_in_turn(client, job, _Listed(()))
    if reset:
        await client.reset()


def _canonical(job: Job) -> bytes | None:
    """The BDAT content of a message held in memory; None (outcome set) if it has NUL."""
    data = job.content.data
    assert data is not None
    if job.binary:
        return data
    try:
        return canonical(data, dot_stuffing=False)
    except InvalidArgument as exc:
        job.outcome = exc
        return None


async def _probe(client: AsyncSmtpClient, job: Job) -> bool:
    """Send the first envelope alone and read its replies; True when content may follow."""
    tx = job.transaction
    await client.send(tx.commands)
    while tx.replies_outstanding:
        tx.receive(await client.read_reply())
    if tx.step is Step.CONTENT:
        return True
    if tx.needs_reset:
        await client.reset()
    job.settle()
    return False


async def _read_chunked(client: AsyncSmtpClient, job: Job) -> bool:
    """Read a pipelined message's replies (envelope, then BDAT LAST) and settle it.

    Returns:
        True when the transaction ended without a final reply (refused): RSET is due.

    Raises:
        ProtocolError: the server took the content of a message whose MAIL it refused (its
            state is not what was written; the connection is closed).
    """
    tx = job.transaction
    while tx.replies_outstanding:
        tx.receive(await client.read_reply())
    last = await client.read_reply()  # BDAT LAST: refused too when the envelope failed
    if tx.step is Step.CONTENT:
        tx.receive(last)
    elif tx.failure is not None and 200 <= last.code < 300:
        await client.abort()
        error = ProtocolError(
            f"the server at {client.peer} refused MAIL ({tx.failure}) but accepted the "
            f"content ({last}): the message may have been delivered"
        )
        job.interrupt(error)  # DeliveryUncertain: its content was all written
        raise error
    job.settle()
    return tx.needs_reset


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
    data = job.content.data
    if data is not None and len(data) <= _WHOLE:
        return canonical(data)  # NUL is refused before anything is sent
    encoder = ContentEncoder()
    pending = b""
    try:
        for chunk in job.content.chunks():
            out = encoder.feed(chunk)
            if pending:
                await client.send(pending)
            pending = out
    except InvalidArgument as exc:
        job.outcome = exc  # this message's own fault; the others lose only the connection
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
    except InvalidArgument as exc:
        job.outcome = exc  # this message's own fault; the others lose only the connection
        await client.abort()
        raise
    if not replies or replies[-1].code == 250:
        last = (held or b"") + (encoder.finish() if encoder is not None else b"")
        job.content_complete = True
        await client.send(cmd.bdat(len(last), last=True) + last)
        sent += 1
    while len(replies) < sent:
        replies.append(await client.read_reply())
    final = next((r for r in replies if r.code != 250), replies[-1])
    job.transaction.receive(final)
    if not 200 <= final.code < 300:
        await client.reset()
    job.settle()
