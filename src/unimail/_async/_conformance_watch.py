"""Conformance checks for ``watch()``: it reports new mail, lets the loop body use the
mailbox, and ends by itself after its timeout. A backend that cannot watch raises
``UnsupportedOperation`` (and then does not declare ``WATCH_PUSH``)."""

from __future__ import annotations

from contextlib import aclosing

from .._errors import UnsupportedOperation
from .._models import Capability, FetchField, NewMessages
from ._conformance import AsyncConformanceTarget, expect, message, seed, supports
from ._folder import AsyncFolder, Uid

__all__ = ["WATCH_TIMEOUT", "check_watch", "check_watch_timeout"]

#: Seconds a watch waits for the mail the check delivers before the check fails.
WATCH_TIMEOUT = 60.0


async def _message_ids(folder: AsyncFolder) -> dict[str | None, Uid]:
    fields = FetchField.UID | FetchField.ENVELOPE
    found = [i async for i in folder.search(fields=fields)]
    return {i.envelope.message_id if i.envelope else None: i.uid for i in found}


async def check_watch(target: AsyncConformanceTarget) -> None:
    """watch() yields NewMessages for mail that arrived after the folder's last look (here a
    search) and for mail that arrived while the loop body held an event; the event's uids
    (when given) name the new messages; the loop body may use the mailbox."""
    first, second = "<conformance-1@example.test>", "<conformance-2@example.test>"
    async with await target.open() as box:
        inbox = box.folder("INBOX")
        expect(await _message_ids(inbox) == {}, "the store starts empty")
        await seed(target, [message(1)])
        waiting_for = first
        try:
            events = inbox.watch(timeout=WATCH_TIMEOUT, **target.watch_options)
            async with aclosing(events) as stream:
                async for event in stream:
                    if not isinstance(event, NewMessages):
                        continue
                    ids = await _message_ids(inbox)
                    expect(set(event.uids) <= set(ids.values()), f"{event!r}: unknown uids")
                    expect(event.exists in (None, len(ids)), f"{event!r}: {len(ids)} messages")
                    if waiting_for == first and first in ids:
                        expect(not event.uids or ids[first] in event.uids, f"{event!r}")
                        waiting_for = second
                        await seed(target, [message(2)])
                    elif waiting_for == second and second in ids:
                        expect(not event.uids or ids[second] in event.uids, f"{event!r}")
                        waiting_for = ""
                        break
        except UnsupportedOperation as exc:
            expect(not supports(box, Capability.WATCH_PUSH), f"WATCH_PUSH declared: {exc}")
            expect(bool(exc.capability), "UnsupportedOperation names no capability")
            return
        expect(not waiting_for, f"watch() ended after {WATCH_TIMEOUT} s without {waiting_for}")


async def check_watch_timeout(target: AsyncConformanceTarget) -> None:
    """watch(timeout=...) in a quiet folder ends by itself, without an error or an event."""
    async with await target.open() as box:
        inbox = box.folder("INBOX")
        [i async for i in inbox.search(fields=FetchField.UID)]
        try:
            got = [e async for e in inbox.watch(timeout=0.5, **target.watch_options)]
        except UnsupportedOperation as exc:
            expect(not supports(box, Capability.WATCH_PUSH), f"WATCH_PUSH declared: {exc}")
            return
        expect(got == [], f"watch() of a quiet folder yielded {got!r}")
        expect((await inbox.status()).messages == 0, "usable after the watch ended")
