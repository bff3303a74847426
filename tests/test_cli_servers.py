"""The ``unimail`` command line against the real Dovecot and Postfix: each command in-process
(``unimail.cli.main``) and through ``python -m unimail`` for exit codes and ``--json``."""

from __future__ import annotations

import collections
import contextlib
import json
import mailbox
import os
import pty
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dns.resolver
import pytest

from mailservers import MailServers
from tests.dns_server import DnsServer
from tests.test_cli import SRC, run_module
from unimail import FetchField, Mailbox, Q
from unimail.cli import main


def message(n: int) -> bytes:
    return (
        f"From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: cli {n}\r\n"
        f"Message-ID: <{n}@cli.example.test>\r\nDate: Fri, 27 Nov 2026 10:00:00 +0000\r\n\r\n"
        f"From the body of {n}\r\n"
    ).encode()


@pytest.fixture
def servers(alice: MailServers, monkeypatch: pytest.MonkeyPatch) -> MailServers:
    """The servers, alice's password in $UNIMAIL_PASSWORD, bob's in $UNIMAIL_DEST_PASSWORD."""
    monkeypatch.setenv("UNIMAIL_PASSWORD", alice.users["alice"])
    monkeypatch.setenv("UNIMAIL_DEST_PASSWORD", alice.users["bob"])
    monkeypatch.setenv("NETRC", os.devnull)
    return alice


def imap_url(servers: MailServers, user: str = "alice") -> str:
    return f"imaps://{user}@{servers.host}:{servers.imaps_port}"


def common(servers: MailServers) -> list[str]:
    return ["--cafile", str(servers.ca_pem), "--json"]


def test_folders_and_search(servers: MailServers, capsys: pytest.CaptureFixture[str]) -> None:
    servers.seed("alice", [message(1), message(2)])
    servers.seed("alice", [message(3)], folder="Archive")
    assert main(["folders", imap_url(servers), *common(servers)]) == 0
    names = {f["name"] for f in json.loads(capsys.readouterr().out)}
    assert {"INBOX", "Archive"} <= names
    assert main(["search", imap_url(servers), *common(servers), "--subject", "cli 2"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(m["subject"], m["from"]) for m in lines] == [("cli 2", ["Bob <bob@example.test>"])]
    assert main(["search", imap_url(servers), "--cafile", str(servers.ca_pem)]) == 0
    text = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[-1] for line in text] == ["cli 1", "cli 2"]


def test_fetch_to_eml_files_mbox_and_stdout(
    servers: MailServers, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    servers.seed("alice", [message(1), message(2)])
    url, ca = imap_url(servers), str(servers.ca_pem)
    out = tmp_path / "eml"
    assert main(["fetch", url, "--cafile", ca, "--all", "-o", f"{out}{os.sep}"]) == 0
    assert sorted(p.read_bytes() for p in out.iterdir()) == [message(1), message(2)]
    box = tmp_path / "all.mbox"
    assert main(["fetch", url, "--cafile", ca, "--subject", "cli", "-o", str(box)]) == 0
    parsed = mailbox.mbox(str(box))
    try:
        assert [m["Subject"] for m in parsed] == ["cli 1", "cli 2"]
    finally:
        parsed.close()
    capsysbinary.readouterr()
    uid = sorted(p.stem for p in out.iterdir())[0]
    assert main(["fetch", url, "--cafile", ca, uid]) == 0
    assert capsysbinary.readouterr().out == message(1)
    # Fetching did not mark anything as read.
    assert main(["search", url, "--cafile", ca, "--seen"]) == 0
    assert capsysbinary.readouterr().out == b""


def test_fetch_usage_and_refusals(servers: MailServers) -> None:
    url, ca = imap_url(servers), str(servers.ca_pem)
    assert main(["fetch", url, "--cafile", ca]) == 2  # nothing named
    assert main(["fetch", url, "--cafile", ca, "abc"]) == 2  # not an IMAP uid
    done = run_module("fetch", url, "--cafile", ca, "--folder", "Nope", "--all")
    assert done.returncode == 6, done.stderr  # FolderNotFound: the server said no
    done = run_module("folders", url, "--cafile", ca, env={"UNIMAIL_PASSWORD": "wrong"})
    assert done.returncode == 5, done.stderr
    assert "wrong" not in done.stderr


def test_send_quick_and_from_file(
    servers: MailServers, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    smtp = f"smtps://alice@{servers.host}:{servers.smtps_port}"
    ca = str(servers.ca_pem)
    body = tmp_path / "body.txt"
    body.write_text("Sent from the command line.\n")
    argv = ["send", smtp, str(body), "--cafile", ca, "--json", "--from", "alice@example.test"]
    assert main([*argv, "--to", "bob@example.test", "--subject", "quick one"]) == 0
    assert json.loads(capsys.readouterr().out)["accepted"] == ["bob@example.test"]
    whole = tmp_path / "message.eml"
    whole.write_bytes(message(5).replace(b"alice@example.test", b"bob@example.test"))
    assert main(["send", smtp, str(whole), "--cafile", ca]) == 0
    subjects = wait_for_subjects(servers, "bob", 2)
    assert sorted(subjects) == ["cli 5", "quick one"]


def wait_for_subjects(servers: MailServers, user: str, count: int) -> list[str]:
    """Delivery through Postfix and LMTP takes a moment: poll until ``count`` arrived."""
    with Mailbox.open(
        imap_url(servers, user), password=servers.users[user], ssl_context=servers.ssl_context()
    ) as box:
        inbox = box.folder("INBOX")
        for _ in range(200):
            found = [i.envelope.subject for i in inbox.search() if i.envelope is not None]
            if len(found) >= count:
                return [s or "" for s in found]
            inbox.status()
            time.sleep(0.05)
    raise AssertionError(f"only {found} arrived")


def test_copy_json_resume_and_exit_codes(servers: MailServers, tmp_path: Path) -> None:
    servers.seed("alice", [message(n) for n in range(4)])
    servers.seed("alice", [message(9)], folder="Lists.python".replace(".", "/"))
    state = str(tmp_path / "copy.sqlite3")
    ca = str(servers.ca_pem)
    argv = ["copy", imap_url(servers), imap_url(servers, "bob"), "--cafile", ca, "--state", state]
    done = run_module(*argv, "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["copied"], result["skipped"], result["failed"]) == (5, 0, 0)
    assert result["folders"]["Lists/python"]["destination"] == "Lists/python"
    assert done.stderr == ""  # piped: no progress bar
    done = run_module(*argv)
    assert done.returncode == 0
    assert "INBOX -> INBOX: 0 copied, 4 already there" in done.stdout
    done = run_module(*argv, "--json", "--sync-flags")
    assert (done.returncode, json.loads(done.stdout)["flags_updated"]) == (0, 0)
    with Mailbox.open(
        imap_url(servers, "bob"), password=servers.users["bob"], ssl_context=servers.ssl_context()
    ) as bob:
        found = [i.uid for i in bob.folder("INBOX").search(Q.all(), fields=FetchField.UID)]
    assert len(found) == 4
    # POP3 cannot be a destination: unsupported, exit 7, before anything is copied.
    pop3 = f"pop3s://bob@{servers.host}:{servers.pop3s_port}"
    done = run_module("copy", imap_url(servers), pop3, "--cafile", ca, "--state", state)
    assert done.returncode == 7, done.stderr
    # The destination's password comes from its own source.
    done = run_module(*argv, env={"UNIMAIL_DEST_PASSWORD": "wrong"})
    assert done.returncode == 5


def test_copy_pop3_to_maildir_deletes_after(servers: MailServers, tmp_path: Path) -> None:
    servers.seed("alice", [message(n) for n in range(3)])
    pop3 = f"pop3s://alice@{servers.host}:{servers.pop3s_port}"
    backup = tmp_path / "Maildir"
    argv = ["copy", pop3, f"maildir:{backup}", "--cafile", str(servers.ca_pem)]
    argv += ["--state", str(tmp_path / "s"), "--delete-after", "--json"]
    done = run_module(*argv)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["deleted"] == 3
    files = [p for sub in ("new", "cur") for p in (backup / sub).iterdir()]
    assert collections.Counter(p.read_bytes().replace(b"\r\n", b"\n") for p in files) == (
        collections.Counter(message(n).replace(b"\r\n", b"\n") for n in range(3))
    )
    assert list((servers.maildir("alice") / "cur").iterdir()) == []
    assert list((servers.maildir("alice") / "new").iterdir()) == []


def test_watch_runs_a_command_per_new_message(servers: MailServers, tmp_path: Path) -> None:
    log = tmp_path / "log"
    script = tmp_path / "handler.py"
    script.write_text(
        "import os, sys\n"
        f"with open({str(log)!r}, 'a') as out:\n"
        "    data = sys.stdin.buffer.read()\n"
        "    out.write(os.environ['UNIMAIL_UID'] + ' ' + str(b'Subject: cli 7' in data) + '\\n')\n"
    )
    command = [sys.executable, "-m", "unimail", "watch", imap_url(servers), "--cafile"]
    command += [str(servers.ca_pem), "--for", "60", "--count", "1"]
    command += ["--exec", f"{sys.executable} {script}"]
    env = {**os.environ, "PYTHONPATH": SRC}
    with subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL) as watch:
        # The watch reports what arrives after it started, which the test cannot see:
        # deliver until it has handled one message.
        delivered = 0
        while watch.poll() is None and delivered < 30:
            servers.deliver_lmtp("alice", message(7))
            delivered += 1
            with contextlib.suppress(subprocess.TimeoutExpired):
                watch.wait(timeout=1)
        assert watch.wait(timeout=60) == 0
    uid, found = log.read_text().split()
    assert (int(uid) > 0, found) == (True, "True")


@pytest.fixture
def srv_zone(servers: MailServers) -> Iterator[MailServers]:
    zone = {
        "_imaps._tcp.example.test.": [("SRV", f"0 1 {servers.imaps_port} localhost.")],
        "_submission._tcp.example.test.": [("SRV", f"0 1 {servers.smtp_port} localhost.")],
    }
    with DnsServer(zone) as dns_server:
        saved = dns.resolver.default_resolver
        dns.resolver.default_resolver = dns_server.resolver()
        try:
            yield servers
        finally:
            dns.resolver.default_resolver = saved


def test_discover(srv_zone: MailServers, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["discover", "alice@example.test", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["imap"][0]["url"] == (
        f"imaps://alice%40example.test@localhost:{srv_zone.imaps_port}"
    )
    assert found["submission"][0]["security"] == "starttls"
    assert found["pop3"] == []
    assert main(["discover", "alice@nomail.test"]) == 1


def test_a_reader_that_stops_early_is_not_an_error(servers: MailServers) -> None:
    servers.seed("alice", [message(n) for n in range(3000)])
    command = [sys.executable, "-m", "unimail", "search", imap_url(servers), "--cafile"]
    command += [str(servers.ca_pem)]
    env = {**os.environ, "PYTHONPATH": SRC}
    with subprocess.Popen(
        command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as search:  # fmt: skip
        assert search.stdout is not None and search.stderr is not None
        first = search.stdout.readline()
        search.stdout.close()  # as "| head -1" does
        errors = search.stderr.read()
        assert search.wait(timeout=60) == 0
    assert first.endswith(b"cli 0\n")
    assert errors == b""


def test_copy_draws_a_progress_bar_on_a_terminal(servers: MailServers, tmp_path: Path) -> None:
    servers.seed("alice", [message(n) for n in range(20)])
    command = [sys.executable, "-m", "unimail", "copy", imap_url(servers), "--folder", "INBOX"]
    command += [imap_url(servers, "bob"), "--cafile", str(servers.ca_pem)]
    command += ["--state", str(tmp_path / "s")]
    env = {**os.environ, "PYTHONPATH": SRC, "COLUMNS": "80"}
    primary, secondary = pty.openpty()
    try:
        with subprocess.Popen(
            command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=secondary
        ) as copy:
            os.close(secondary)
            secondary = -1
            drawn = b""
            with contextlib.suppress(OSError):  # EIO once the child closed its end
                while chunk := os.read(primary, 4096):
                    drawn += chunk
            out, _ = copy.communicate(timeout=60)
            assert copy.returncode == 0
    finally:
        os.close(primary)
        if secondary >= 0:
            os.close(secondary)
    assert b"INBOX -> INBOX: 20 copied" in out
    assert drawn.startswith(b"\rINBOX [") and b"20/20" in drawn
