"""How ``copy()`` stores a batch of messages in the destination: one ``append_many`` where the
destination folder has one, else one ``append`` per message.

The local folders (Maildir, mbox, memory) take each message with its own flags and internal
date, so a whole batch is one call (Maildir: one sync of the uid list and of the directory).
IMAP's MULTIAPPEND takes one set of flags and one date per call here: consecutive messages
that share them go together, the others one by one.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Sequence

import attrs

from .._models import Flag, MessageInfo
from ._folder import AsyncFolder, Uid
from ._local_folder import AsyncLocalFolder

__all__ = ["BATCH_MESSAGES", "Outgoing", "append_batch", "batches"]

# Messages read from the source per round: at most this many, and at most this many bytes
# (by the sizes the listing announced), so memory stays bounded whatever the folder holds.
BATCH_MESSAGES = 100
_BATCH_BYTES = 16 * 1024 * 1024


@attrs.frozen
class Outgoing:
    """One message to store: its bytes, flags and internal date (None: the destination's)."""

    data: bytes
    flags: tuple[Flag | str, ...]
    internal_date: datetime.datetime | None


async def append_batch(target: AsyncFolder, batch: Sequence[Outgoing]) -> list[Uid | None]:
    """Store ``batch`` in ``target``, in order; return each new uid (None where unknown).

    Raises:
        CommandError: the destination refused; part of the batch may be stored.
        Whatever the destination raises (a dropped connection...): the same.
    """
    if isinstance(target, AsyncLocalFolder):
        items = [(m.data, m.flags, m.internal_date) for m in batch]
        return list(await target.append_many(items))
    many = getattr(target, "append_many", None)
    uids: list[Uid | None] = []
    for (flags, when), group in itertools.groupby(batch, _shared):
        messages = [m.data for m in group]
        if many is not None and len(messages) > 1:
            uids += await many(messages, flags=flags, internal_date=when)
        else:
            for data in messages:
                uids.append(await target.append(data, flags=flags, internal_date=when))
    return uids


def _shared(message: Outgoing) -> tuple[tuple[Flag | str, ...], datetime.datetime | None]:
    return message.flags, message.internal_date


def batches(todo: list[MessageInfo]) -> list[list[MessageInfo]]:
    """Split the messages to copy into rounds (see :data:`BATCH_MESSAGES`)."""
    found: list[list[MessageInfo]] = []
    current: list[MessageInfo] = []
    size = 0
    for info in todo:
        if current and (len(current) >= BATCH_MESSAGES or size + (info.size or 0) > _BATCH_BYTES):
            found.append(current)
            current, size = [], 0
        current.append(info)
        size += info.size or 0
    if current:
        found.append(current)
    return found
