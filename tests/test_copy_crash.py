"""``unimail.copy`` survives a real crash: the process dies (``os._exit``: no finally, no
logout, no last commit of the record) at a chosen point of a chosen message, and the next run
leaves the destination holding exactly the source's messages, compared by content."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mailservers import MailServers
from tests._async.test_copy import message
from unimail import FetchField, LocalFolder, Mailbox
from unimail._copy_models import Fingerprint

RUN = """
import os, ssl, sys
import unimail

host, port, ca, alice_pw, bob_pw, state, stage, crash_at = sys.argv[1:]
seen = 0

def progress(event):
    global seen
    if event.stage.value == stage:
        seen += 1
        if seen == int(crash_at):
            os._exit(17)  # killed: nothing after this point runs

context = ssl.create_default_context(cafile=ca)
with unimail.Mailbox.open(f"imaps://alice@{host}:{port}", password=alice_pw,
                          ssl_context=context) as source:
    with unimail.Mailbox.open(f"imaps://bob@{host}:{port}", password=bob_pw,
                              ssl_context=context) as target:
        result = unimail.copy(source, target, state=state, progress=progress)
        print(result.copied, result.skipped, result.failed)
"""


def run(servers: MailServers, state: Path, stage: str, crash_at: int) -> int:
    source = str(Path(__file__).resolve().parent.parent / "src")
    env = {**os.environ, "PYTHONPATH": source}
    args = [servers.host, str(servers.imaps_port), str(servers.ca_pem)]
    args += [servers.users["alice"], servers.users["bob"], str(state), stage, str(crash_at)]
    command = [sys.executable, "-c", RUN, *args]
    return subprocess.run(command, env=env, timeout=100, check=False).returncode


def contents(servers: MailServers, user: str) -> collections.Counter[str]:
    with Mailbox.open(
        f"imaps://{user}@{servers.host}:{servers.imaps_port}",
        password=servers.users[user],
        ssl_context=servers.ssl_context(),
    ) as box:
        inbox = box.folder("INBOX")
        uids = [i.uid for i in inbox.search(fields=FetchField.UID)]
        return collections.Counter(
            Fingerprint.of(i.body or b"").sha256 for i in inbox.fetch(uids, FetchField.BODY)
        )


@pytest.mark.parametrize(
    ("stage", "crash_at"),
    [("appending", 1), ("appended", 1), ("appended", 4), ("message", 3), ("appending", 6)],
)
def test_killed_in_the_middle_of_a_copy(
    alice: MailServers, tmp_path: Path, stage: str, crash_at: int
) -> None:
    messages = [message(n) for n in range(5)] + [message(9, message_id=False)] * 2
    alice.seed("alice", messages)
    state = tmp_path / "state.sqlite3"
    assert run(alice, state, stage, crash_at) == 17
    assert run(alice, state, "none", 0) == 0
    assert contents(alice, "bob") == contents(alice, "alice")
    assert sum(contents(alice, "bob").values()) == len(messages)


# Maildir -> Maildir, one round of several messages stored with one append_many: the process
# dies between two renames of the batch into the destination's cur/ (some of the round stored
# with their uids, the rest not), or between two reports of the round.
LOCAL_RUN = """
import os, sys
import unimail
from unimail._local import _maildir

source, target, state, stage, crash_at = sys.argv[1:]
seen, real_rename = 0, os.rename

def count(what):
    global seen
    if what == stage:
        seen += 1
        if seen == int(crash_at):
            os._exit(17)  # killed: nothing after this point runs

def rename(old, new):
    if new.startswith(target + os.sep):
        count("rename")
    real_rename(old, new)

_maildir.os.rename = rename
with unimail.Mailbox.open(f"maildir:{source}") as src, unimail.Mailbox.open(
    f"maildir:{target}"
) as dst:
    result = unimail.copy(src, dst, state=state, progress=lambda e: count(e.stage.value))
    print(result.copied, result.skipped, result.failed)
"""


def local_contents(path: Path) -> collections.Counter[str]:
    with Mailbox.open(f"maildir:{path}") as box:
        inbox = box.folder("INBOX")
        uids = [i.uid for i in inbox.search(fields=FetchField.UID)]
        return collections.Counter(
            Fingerprint.of(i.body or b"").sha256 for i in inbox.fetch(uids, FetchField.BODY)
        )


@pytest.mark.parametrize(
    ("stage", "crash_at"),
    [("rename", 1), ("rename", 4), ("appending", 3), ("appended", 2), ("message", 5)],
)
def test_killed_in_the_middle_of_a_batch(tmp_path: Path, stage: str, crash_at: int) -> None:
    messages = [message(n) for n in range(6)] + [message(9, message_id=False)] * 2
    source, target = tmp_path / "source", tmp_path / "target"
    with Mailbox.open(f"maildir:{source}") as box:
        inbox = box.folder("INBOX")
        assert isinstance(inbox, LocalFolder)
        inbox.append_many(messages)
    state = tmp_path / "state.sqlite3"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent / "src")}
    args = [sys.executable, "-c", LOCAL_RUN, str(source), str(target), str(state)]
    assert subprocess.run([*args, stage, str(crash_at)], env=env, timeout=60).returncode == 17
    done = subprocess.run([*args, "none", "0"], env=env, timeout=60, capture_output=True)
    assert done.returncode == 0, done.stderr
    copied, skipped, failed = map(int, done.stdout.split())
    assert failed == 0 and copied + skipped == len(messages)
    assert local_contents(target) == local_contents(source)
    assert sum(local_contents(target).values()) == len(messages)
    with Mailbox.open(f"maildir:{target}") as box:
        uids = [i.uid for i in box.folder("INBOX").search()]
        assert len(set(uids)) == len(uids) == len(messages)
