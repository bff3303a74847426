"""Local job: storing N messages of 2 KB in a new Maildir.

Contenders, each into a fresh directory (made and removed outside the timed run):

- unimail sync: ``Folder.append_many`` (each file synced, the uids recorded with one sync and
  the directory synced once per batch of 500);
- unimail sync, ``append`` each: one call per message (each file, uid record and directory
  synced per message);
- the standard library's ``mailbox.Maildir.add``, which syncs nothing: a crash may lose or
  truncate messages it reported stored. It is the peer to compare with, not a like-for-like
  guarantee; unimail pays for ``fsync`` calls it does not make.

The ratio column is unimail's time over each other contender's, per round.
"""

from __future__ import annotations

import mailbox
import shutil
import tempfile
from pathlib import Path

import unimail

from ._corpus import sized_message
from ._env import Mode
from ._harness import Contender, Job, measure

__all__ = ["local_job"]

_COUNTS = {"smoke": 30, "quick": 1_000, "full": 5_000}


def local_job(mode: Mode) -> Job:
    """Time the contenders storing the same messages (see the module docstring)."""
    count = _COUNTS.get(mode.name, 1_000)
    messages = [
        sized_message(2048, sender="bench@example.test", recipient=f"user{n}@example.test")
        for n in range(count)
    ]
    made: list[Path] = []

    def fresh() -> Path:
        path = Path(tempfile.mkdtemp(prefix="unimail-bench-")) / "Maildir"
        made.append(path.parent)
        return path

    def clean() -> None:
        while made:
            shutil.rmtree(made.pop(), ignore_errors=True)

    def many() -> int:
        with unimail.Mailbox.open(f"maildir:{fresh()}") as box:
            inbox = box.folder("INBOX")
            assert isinstance(inbox, unimail.LocalFolder)  # a maildir: URL
            return len(inbox.append_many(messages))

    def each() -> int:
        with unimail.Mailbox.open(f"maildir:{fresh()}") as box:
            inbox = box.folder("INBOX")
            return sum(1 for message in messages if inbox.append(message) is not None)

    def stdlib() -> int:
        box = mailbox.Maildir(str(fresh()), create=True)
        try:
            return sum(1 for message in messages if box.add(message))
        finally:
            box.close()

    contenders = [
        Contender("unimail sync", "unimail", many),
        Contender("unimail sync, append each", "unimail", each),
        Contender("mailbox.Maildir.add (no fsync)", "peer", stdlib),
    ]
    try:
        job = measure(
            f"Maildir append: {count:,} messages of 2 KB",
            f"store {count:,} messages",
            contenders,
            messages=count,
            repeats=mode.repeats,
            setup=clean,
        )
    finally:
        clean()
    job.notes.append(
        "Each run stores the messages into a new Maildir. unimail syncs every message file "
        "before it becomes visible and records its uid durably; mailbox.Maildir.add syncs "
        "nothing, so its figure is a floor for unsafe storage, not a like-for-like peer."
    )
    return job
