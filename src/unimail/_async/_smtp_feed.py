"""``send_many()``'s queue, fed to a connection one message at a time as it has room.

Each connection of ``send_many()`` takes messages from one shared queue through a
:class:`Feed`. The pipeline (``_smtp_send.py``) asks the feed for its next job only when its
window has room, so a message is prepared (serialised, its transaction built) while the
server works on the ones written before it, and the connection never stops to prepare a batch:
with one connection, 2,000 messages go out in one stream, with one probe round trip at its
start. With a pool, a connection that falls behind simply takes fewer messages.

A feed ends its session after ``max_jobs`` messages, or when the messages it holds reach
``max_bytes`` of content: a message is held until its outcome is known (its content may have
to be sent again on a new connection) and, for ``save_to``, until the session ends and it is
appended there. Without ``save_to``, a settled message is let go as the next one is taken, so
a stream of large messages is not cut into sessions by its size.
"""

from __future__ import annotations

from collections import deque
from typing import Protocol

from .._errors import ConnectionLost, InvalidArgument, UnimailError
from .._models import SendResult
from .._proto.smtp import OutgoingMessage
from .._smtp_prepare import Job, Prepared
from ._folder import AsyncFolder

__all__ = ["Feed", "Preparer"]

#: What one connection takes before its session ends (see the module docstring).
MAX_JOBS = 4096
MAX_BYTES = 32 * 1024 * 1024


class Preparer(Protocol):
    """Prepares a message for the connection's server (``AsyncSmtpTransport._prepare``)."""

    async def __call__(self, outgoing: OutgoingMessage, /) -> Prepared:
        """Return ``outgoing`` prepared, or raise the error that refuses it before sending."""
        ...  # pragma: no cover


class Feed:
    """The messages one connection takes from the queue in one session (a ``JobSource``).

    Args:
        items: every message of the ``send_many()`` call.
        queue: indexes into ``items`` still to send, the next one last (shared by the pool).
        results: one entry per item, set here for each message taken.
        prepare: prepares the message at an index for the current server.
    """

    def __init__(
        self,
        items: list[OutgoingMessage],
        queue: list[int],
        results: list[SendResult | UnimailError],
        prepare: Preparer,
        *,
        max_jobs: int = MAX_JOBS,
        max_bytes: int = MAX_BYTES,
        keep: bool = False,
    ) -> None:
        """Take nothing yet: messages are taken by :meth:`next_job`. ``keep``: hold every
        message until :meth:`settle` (its content is appended to ``save_to`` there)."""
        self._items, self._queue, self._results = items, queue, results
        self._prepare = prepare
        self._max_jobs, self._max_bytes = max_jobs, max_bytes
        self._keep = keep
        self._bytes = 0  # content held: of the messages in ``taken``
        self._taken_count = 0  # messages sent in this session, released or not
        self._again: deque[Job] = deque()
        #: The messages taken and their jobs, in the order they were taken.
        self.taken: list[tuple[int, Prepared, Job]] = []
        #: How many messages were taken, including those refused before sending.
        self.count = 0

    async def next_job(self) -> Job | None:
        """Prepare the next message of the queue; None at the end of the queue or session.

        A message refused before sending (a bad address for this server, a size over its
        limit, no recipient domain that can receive mail) gets its error as its result and
        the next one is taken.
        """
        if self._again:
            return self._again.popleft()
        if not self._keep:
            self._release_settled()
        queue = self._queue
        while queue and self._taken_count < self._max_jobs and self._bytes < self._max_bytes:
            index = queue.pop()
            self.count += 1
            try:
                prepared = await self._prepare(self._items[index])
            except UnimailError as exc:
                self._results[index] = exc
                continue
            if not prepared.job_needed:
                self._results[index] = prepared.early_outcome()
                prepared.close()
                continue
            job = prepared.job()
            self.taken.append((index, prepared, job))
            self._taken_count += 1
            self._bytes += prepared.content.size()
            return job
        return None

    def _release_settled(self) -> None:
        """Record the outcome of the settled messages at the head of ``taken`` (replies come
        in order) and let their content go."""
        settled = 0
        for index, prepared, job in self.taken:
            if job.outcome is None:
                break
            self._results[index] = job.outcome
            self._bytes -= prepared.content.size()
            prepared.close()
            settled += 1
        del self.taken[:settled]

    def jobs(self) -> list[Job]:
        """The jobs taken so far."""
        return [job for _, _, job in self.taken]

    def again(self, jobs: list[Job]) -> None:
        """Give ``jobs`` (restarted) before any new message, on the next connection."""
        self._again.extend(jobs)

    async def settle(self, error: UnimailError | None, save_to: AsyncFolder | None) -> None:
        """Record each taken message's outcome; append the accepted ones to ``save_to``.

        Args:
            error: what broke the connection, if anything: the outcome of the messages it
                left unsettled (DeliveryUncertain for those whose content was all written).
            save_to: the folder for the accepted messages, or None.
        """
        if isinstance(error, InvalidArgument):
            # A streamed message held NUL (its own outcome says so): for the others, only
            # the connection closed under them.
            lost = ConnectionLost(
                f"the connection was closed: another message was refused ({error})"
            )
            lost.__cause__ = error
            error = lost
        try:
            for index, prepared, job in self.taken:
                if error is not None:
                    job.interrupt(error)
                outcome = job.outcome
                if outcome is None:  # not reached: a session that returned settled every job
                    outcome = job.interrupt(ConnectionLost("the message was not sent"))
                self._results[index] = outcome
                if save_to is not None and isinstance(outcome, SendResult):
                    await save_to.append(prepared.content.read_all())
        finally:
            self.close()

    def close(self) -> None:
        """Release the temporary files of the messages taken."""
        for _, prepared, _ in self.taken:
            prepared.close()
