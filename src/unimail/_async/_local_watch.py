"""``Folder.watch()`` for the local backends: polling.

Theory of operation: the mailbox keeps, per folder, the uids and flags it last knew
(``AsyncLocalMailbox._known``): taken at its first look at the folder, updated by its own
changes and by each poll. Every ``poll_interval`` seconds the watch takes the folder's state
now, replaces what was known with it, and yields the difference: removals, then arrivals
(with the new message count), then flag changes in uid order. Each change is in exactly one
difference, so nothing is lost or told twice; the poll happens before the caller sees any
event, so what the loop body does (through this mailbox) is already known at the next poll.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING

import anyio  # unasync: remove

from .._errors import InvalidArgument
from .._local._ops import Snapshot
from .._models import FlagsChanged, FolderEvent, MessagesRemoved, NewMessages

if TYPE_CHECKING:
    from ._local_folder import AsyncLocalFolder

__all__ = ["differences", "watch_folder"]


def differences(before: Snapshot, now: Snapshot) -> list[FolderEvent]:
    """Return the events that turn ``before`` into ``now``."""
    events: list[FolderEvent] = []
    gone = tuple(uid for uid in before.flags if uid not in now.flags)
    if gone:
        events.append(MessagesRemoved(uids=gone))
    new = tuple(uid for uid in now.flags if uid not in before.flags)
    if new:
        events.append(NewMessages(uids=new, exists=len(now.flags)))
    for uid, flags in now.flags.items():
        old = before.flags.get(uid)
        if old is not None and old != flags:
            events.append(FlagsChanged(uid=uid, flags=flags))
    return events


async def watch_folder(
    folder: AsyncLocalFolder, *, timeout: float | None, poll_interval: float
) -> AsyncGenerator[FolderEvent, None]:
    """Poll ``folder`` and yield its changes (see the module docstring)."""
    for value, name in ((timeout, "timeout"), (poll_interval, "poll_interval")):
        if value is None and name == "timeout":
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise InvalidArgument(f"{name} must be a positive number of seconds")
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        before, now = await folder._poll()
        for event in differences(before, now):
            yield event
        wait = float(poll_interval)
        if deadline is not None:
            wait = min(wait, deadline - time.monotonic())
            if wait <= 0:
                return
        await anyio.sleep(wait)  # unasync: time.sleep(wait)
