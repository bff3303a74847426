"""``copy(..., sync_flags=True)``: flags changed in the source since a message was copied are
set on its copy too, as imapsync does.

A copy is found by the destination uid its append returned (UIDPLUS APPENDUID on IMAP; the
local backends always tell it), and only while the destination folder keeps the UIDVALIDITY
that uid was given under: after a change the uid may name another message, whose flags must
not be touched. Copies whose uid is not known are left alone.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from contextlib import aclosing

from .._copy_state import CopyRecord
from .._models import FetchField, Flag
from ._folder import AsyncFolder, Uid

__all__ = ["sync_flags"]

# Uids per FETCH FLAGS of the destination.
_CHUNK = 500


async def sync_flags(
    target: AsyncFolder,
    copies: Sequence[tuple[Sequence[Flag | str], CopyRecord]],
    validity: int | None,
) -> int:
    """Give each copy the flags it should have; return how many copies were changed.

    Args:
        target: the destination folder.
        copies: ``(wanted flags, record)`` for each copied message still in the source.
        validity: the destination folder's UIDVALIDITY now (None: unknown, nothing is done).
    """
    wanted: dict[Uid, frozenset[Flag | str]] = {}
    for flags, record in copies:
        if validity is None or record.target_uid is None or record.target_validity != validity:
            continue
        text = record.target_uid
        wanted[int(text) if text.isdigit() else text] = frozenset(flags)
    if not wanted:
        return 0
    changes: dict[frozenset[Flag | str], list[Uid]] = collections.defaultdict(list)
    uids = list(wanted)
    for start in range(0, len(uids), _CHUNK):
        async with aclosing(target.fetch(uids[start : start + _CHUNK], FetchField.FLAGS)) as found:
            async for info in found:
                if info.flags is None or info.uid not in wanted:
                    continue
                have = frozenset(f for f in info.flags if f is not Flag.RECENT)
                if have != wanted[info.uid]:
                    changes[wanted[info.uid]].append(info.uid)
    # One STORE per distinct flag set, not one per message.
    for flag_set, changed in changes.items():
        await target.set_flags(changed, sorted(flag_set, key=str))
    return sum(len(changed) for changed in changes.values())
