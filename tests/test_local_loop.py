"""The async local mailboxes never block the event loop: file work runs in worker threads.

Async-only (the sync facade has no event loop), so this file is not under tests/_async/.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from unimail import AsyncMailbox

HOLDER = """
import mailbox, sys
box = mailbox.mbox(sys.argv[1])
box.lock()
print("locked", flush=True)
sys.stdin.readline()
box.unlock()
box.close()
"""


def hold_lock(path: Path) -> subprocess.Popen[str]:
    """Start another process that takes the standard library's lock on ``path``."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
    return holder


@pytest.mark.anyio
async def test_waiting_for_another_process_lock_leaves_the_loop_free(tmp_path: Path) -> None:
    path = tmp_path / "inbox.mbox"
    path.write_bytes(b"")
    holder = hold_lock(path)
    assert holder.stdin is not None and holder.stdout is not None
    order: list[str] = []
    try:
        async with AsyncMailbox.open(f"mbox:{path}") as box, AsyncMailbox.open("memory:") as mem:

            async def append() -> None:
                await box.folder("INBOX").append(b"Subject: waited\n\nx\n")
                order.append("mbox append")

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(append)
                # The append waits for the lock; meanwhile the loop runs other tasks, and
                # the append cannot finish before the other process lets go.
                await mem.folder("INBOX").append(b"Subject: meanwhile\n\nx\n")
                await anyio.sleep(0.05)
                order.append("loop ran")
                holder.stdin.write("go\n")
                holder.stdin.close()
    finally:
        if not holder.stdin.closed:
            holder.stdin.close()
        assert holder.wait(timeout=30) == 0
        holder.stdout.close()
    assert order == ["loop ran", "mbox append"]
