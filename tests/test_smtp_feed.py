"""send_many()'s feed: how many messages one connection takes in one session, and what it
holds while it does (``_async/_smtp_feed.py``, driven here without a server)."""

from __future__ import annotations

import anyio

from unimail import Limits, OutgoingMessage, SendResult, UnimailError
from unimail._async._smtp_feed import Feed
from unimail._proto.smtp import EhloInfo
from unimail._proto.smtp import OutgoingMessage as Outgoing
from unimail._smtp_prepare import Prepared, prepare

EHLO = EhloInfo("server", {"PIPELINING": (), "8BITMIME": ()})
BODY = b"Subject: x\r\n\r\n" + b"y" * 1000 + b"\r\n"


async def _prepare(outgoing: Outgoing) -> Prepared:
    return prepare(outgoing, EHLO, Limits(), {})


def _feed(count: int, *, keep: bool) -> tuple[Feed, list[SendResult | UnimailError]]:
    items = [OutgoingMessage.of(BODY, "a@example.test", ["b@example.test"]) for _ in range(count)]
    queue = list(range(count))[::-1]
    results: list[SendResult | UnimailError] = [UnimailError("not sent")] * count
    return Feed(items, queue, results, _prepare, max_bytes=3 * len(BODY), keep=keep), results


def _take_settling_each(feed: Feed) -> int:
    """Take jobs as a pipeline would, each settled (accepted) before the next is asked for."""

    async def run() -> int:
        taken = 0
        while (job := await feed.next_job()) is not None:
            job.outcome = SendResult(accepted=("b@example.test",))
            taken += 1
        return taken

    return anyio.run(run)


def test_settled_messages_are_let_go_and_the_session_goes_on() -> None:
    # Without save_to, a settled message's content is released as the next one is taken:
    # the byte bound (3 messages here) counts only what is still held.
    feed, results = _feed(10, keep=False)
    assert _take_settling_each(feed) == 10
    assert feed.taken == []  # all settled, so all let go, their outcomes recorded
    assert all(isinstance(r, SendResult) for r in results)


def test_with_save_to_every_message_is_held_until_the_session_ends() -> None:
    # save_to appends the content at the end of the session: the bound ends the session.
    feed, _results = _feed(10, keep=True)
    assert _take_settling_each(feed) == 3
    assert len(feed.taken) == 3
