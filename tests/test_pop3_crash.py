"""The POP3 download helper survives a real crash: the process dies (``os._exit``, no cleanup
code runs, the connection drops without QUIT) in the middle of a run, and the next run neither
loses a message nor hands one over twice without saying so (``possibly_delivered``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mailservers import MailServers
from unimail._sync._pop3_download import _BATCH

RUN = """
import os, sys
import unimail

host, port, ca, password, state, log, crash_at = sys.argv[1:]
delivered = 0

def handler(message):
    global delivered
    with open(log, "a") as out:
        out.write(f"{message.uid} {int(message.possibly_delivered)} {len(message.data)}\\n")
        out.flush()
        os.fsync(out.fileno())
    delivered += 1
    if delivered == int(crash_at):
        os._exit(17)  # killed: no finally, no QUIT, no last commit of the record

import ssl
context = ssl.create_default_context(cafile=ca)
with unimail.Mailbox.open(f"pop3s://alice@{host}:{port}", password=password,
                          ssl_context=context) as box:
    unimail.Pop3Downloader(box, state, delete=True).run(handler)
"""


def run(servers: MailServers, state: Path, log: Path, crash_at: int) -> int:
    source = str(Path(__file__).resolve().parent.parent / "src")
    env = {**os.environ, "PYTHONPATH": source}
    args = [servers.host, str(servers.pop3s_port), str(servers.ca_pem), servers.users["alice"]]
    command = [sys.executable, "-c", RUN, *args, str(state), str(log), str(crash_at)]
    return subprocess.run(command, env=env, timeout=60, check=False).returncode


@pytest.mark.parametrize("crash_at", [1, 5, 270])
def test_crash_in_the_middle_of_a_run(alice: MailServers, tmp_path: Path, crash_at: int) -> None:
    count = 300
    messages = [f"Subject: {n}\r\n\r\nbody {n}\r\n".encode() for n in range(count)]
    alice.seed("alice", messages)
    state, log = tmp_path / "state.sqlite3", tmp_path / "log"
    assert run(alice, state, log, crash_at) == 17
    first = log.read_text().splitlines()
    assert len(first) == crash_at
    assert run(alice, state, log, 0) == 0
    lines = [line.split() for line in log.read_text().splitlines()]
    uids = [uid for uid, _, _ in lines]
    # Nothing lost: every message was handed over, and the maildrop is empty now.
    assert len(set(uids)) == count
    sizes = {uid: int(size) for uid, _, size in lines}
    assert sorted(sizes.values()) == sorted(len(m) for m in messages)
    remaining = list(alice.maildir("alice").joinpath("cur").iterdir())
    remaining += list(alice.maildir("alice").joinpath("new").iterdir())
    assert remaining == []
    # Nothing duplicated silently: a message handed over twice is flagged the second time.
    seen: set[str] = set()
    for uid, again, _ in lines:
        if uid in seen:
            assert again == "1", f"{uid} handed over twice without possibly_delivered"
        seen.add(uid)
    repeats = len(lines) - count
    assert repeats <= _BATCH  # at most the batch that was being handed over
