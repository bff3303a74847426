"""The scripts of examples/ run as a user runs them (a subprocess, arguments and environment)
against the local Dovecot and Postfix, and do what their documentation page says. The OAuth2
example has its own module, test_examples_oauth2.py.
"""

from __future__ import annotations

import email
import email.policy
import os
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

import unimail
from mailservers import MailServers
from tests.dns_server import DnsServer

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def run_example(
    name: str, *args: str, password: str | None = None, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``examples/<name>`` with this Python and this checkout's ``src`` first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    env.pop("UNIMAIL_PASSWORD", None)
    if password is not None:
        env["UNIMAIL_PASSWORD"] = password
    env.update(extra_env or {})
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> list[str]:
    """Assert the example succeeded; return its output lines."""
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.splitlines()


def message(subject: str, body: str = "Hello.\n", sender: str = "bob@example.test") -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "alice@example.test"
    msg["Subject"] = subject
    msg["Date"] = "Fri, 27 Nov 2026 10:00:00 +0000"
    msg.set_content(body)
    return msg.as_bytes(policy=email.policy.SMTP)


def imap_url(servers: MailServers, user: str = "alice") -> str:
    return f"imap://{user}@{servers.host}:{servers.imap_port}"


def wait_for(servers: MailServers, subject: str) -> tuple[int | str, EmailMessage]:
    """Return alice's INBOX message with ``subject`` once Postfix delivered it (30 s at most)."""
    with unimail.Mailbox.open(
        imap_url(servers), password=servers.users["alice"], ssl_context=servers.ssl_context()
    ) as box:
        inbox = box.folder("INBOX")
        for _ in range(300):
            found = list(inbox.search(unimail.Q.subject(subject), fields=unimail.FetchField.UID))
            if found:
                return found[0].uid, inbox.get(found[0].uid)
            time.sleep(0.1)
    raise AssertionError(f"{subject!r} was not delivered")


# -- read and search ---------------------------------------------------------------------------


@pytest.mark.servers
@pytest.mark.parametrize("flavour", [[], ["--async"], ["--async", "--trio"]])
def test_read_and_search(alice: MailServers, flavour: list[str]) -> None:
    alice.seed(
        "alice",
        [
            message("Invoice 17", "Please pay 17.\n"),
            message("Lunch?", sender="carol@example.test"),
            message("Invoice 18", "Please pay 18.\n"),
        ],
    )
    result = run_example(
        "read_and_search.py",
        imap_url(alice),
        "--subject", "invoice", "--sender", "bob@", "--cafile", str(alice.ca_pem),
        *flavour,
        password=alice.users["alice"],
    )  # fmt: skip
    lines = ok(result)
    assert lines[0].startswith("folders: ") and "INBOX" in lines[0]
    assert lines[1] == "INBOX: 3 messages, 3 unseen"
    assert lines[2:] == [
        "match: uid=1 from=bob@example.test subject='Invoice 17'",
        "match: uid=3 from=bob@example.test subject='Invoice 18'",
        "first message's text: Please pay 17.",
    ]


# -- download attachments --------------------------------------------------------------------


@pytest.mark.servers
def test_download_attachments(alice: MailServers, tmp_path: Path) -> None:
    blob = bytes(range(256)) * 40
    msg = EmailMessage()
    msg["From"] = "bob@example.test"
    msg["To"] = "alice@example.test"
    msg["Subject"] = "Report"
    msg.set_content("Two files.\n")
    msg.add_attachment(b"quarterly figures\n", maintype="text", subtype="plain", filename="r.txt")
    msg.add_attachment(blob, maintype="application", subtype="octet-stream", filename="d.bin")
    # A hostile name: the file must land inside the target directory, under a plain name.
    msg.add_attachment(b"#!/bin/sh\n", maintype="text", subtype="x-sh", filename="../../evil.sh")
    alice.seed("alice", [message("No attachment"), msg.as_bytes(policy=email.policy.SMTP)])
    target = tmp_path / "out"
    lines = ok(
        run_example(
            "download_attachments.py",
            imap_url(alice),
            str(target),
            "--cafile",
            str(alice.ca_pem),
            password=alice.users["alice"],
        )
    )
    assert lines[-1] == f"3 attachments saved to {target}"
    assert sorted(p.name for p in target.iterdir()) == ["d.bin", "evil.sh", "r.txt"]
    assert (target / "d.bin").read_bytes() == blob
    assert (target / "r.txt").read_bytes() == b"quarterly figures\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # nothing escaped
    # Only the message with attachments was downloaded (uid 2).
    assert all("uid=2 " in line for line in lines[:-1])

    # A second run does not overwrite the files it saved before.
    ok(run_example(
        "download_attachments.py", imap_url(alice), str(target), "--cafile", str(alice.ca_pem),
        password=alice.users["alice"],
    ))  # fmt: skip
    assert (target / "d (2).bin").read_bytes() == blob
    assert len(list(target.iterdir())) == 6


# -- move and flag ---------------------------------------------------------------------------


@pytest.mark.servers
def test_move_and_flag(alice: MailServers) -> None:
    alice.seed("alice", [message("Invoice 1"), message("Other"), message("Invoice 2")])
    lines = ok(
        run_example(
            "move_and_flag.py",
            imap_url(alice),
            "--subject", "Invoice", "--archive", "Invoices", "--keyword", "$Invoice",
            "--cafile", str(alice.ca_pem),
            password=alice.users["alice"],
        )
    )  # fmt: skip
    assert lines[0] == "created folder 'Invoices'"
    assert lines[-1] == "2 messages moved to Invoices"
    with unimail.Mailbox.open(
        imap_url(alice), password=alice.users["alice"], ssl_context=alice.ssl_context()
    ) as box:
        left = list(box.folder("INBOX").search())
        archived = list(box.folder("Invoices").search())
    assert [info.envelope.subject for info in left if info.envelope] == ["Other"]
    assert sorted(str(info.envelope.subject) for info in archived if info.envelope) == [
        "Invoice 1",
        "Invoice 2",
    ]
    for info in archived:
        assert info.flags is not None
        assert {unimail.Flag.FLAGGED, unimail.Flag.SEEN, "$Invoice"} <= info.flags
    assert not (left[0].flags or set()) & {unimail.Flag.FLAGGED, unimail.Flag.SEEN}


# -- watch a folder --------------------------------------------------------------------------


@pytest.mark.servers
def test_watch_folder(alice: MailServers) -> None:
    alice.seed("alice", [message("Already there")])
    env = dict(os.environ, UNIMAIL_PASSWORD=alice.users["alice"])
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    command = [
        sys.executable, str(EXAMPLES / "watch_folder.py"), imap_url(alice),
        "--count", "2", "--timeout", "90", "--cafile", str(alice.ca_pem),
    ]  # fmt: skip
    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        assert process.stdout is not None
        first = process.stdout.readline()
        if first != "watching INBOX (1 messages already there)\n":
            process.kill()
            raise AssertionError(first + process.stdout.read())
        # The mail arrives while the example idles; the watch reports each message once.
        alice.deliver_lmtp("alice", message("Arrived one"))
        alice.deliver_lmtp("alice", message("Arrived two"))
        out, _ = process.communicate(timeout=100)
    assert process.returncode == 0, out
    assert out.splitlines() == [
        "new: uid=2 subject='Arrived one'",
        "new: uid=3 subject='Arrived two'",
        "done: 2 new messages",
    ]


# -- send with attachments -------------------------------------------------------------------


@pytest.mark.servers
def test_send_with_attachments(alice: MailServers, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("line one\nline two\n")
    picture = tmp_path / "pixel.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    subject = f"files {time.time_ns()}"
    lines = ok(
        run_example(
            "send_with_attachments.py",
            f"smtp://alice@{alice.host}:{alice.smtp_port}",
            str(notes), str(picture),
            "--sender", "alice@example.test", "--to", "alice@example.test",
            "--subject", subject, "--text", "Two files for you.",
            "--cafile", str(alice.ca_pem),
            password=alice.users["alice"],
        )
    )  # fmt: skip
    assert lines[0] == "accepted: alice@example.test"
    assert lines[1].startswith("server: 250")
    _, received = wait_for(alice, subject)
    body = received.get_body(preferencelist=("plain",))
    assert body is not None and body.get_content().splitlines() == ["Two files for you."]
    files = {
        part.get_filename(): (part.get_content_type(), part.get_payload(decode=True))
        for part in received.iter_attachments()
    }
    assert files == {
        "notes.txt": ("text/plain", b"line one\nline two\n"),
        "pixel.png": ("image/png", picture.read_bytes()),
    }


@pytest.mark.servers
def test_direct_mx(alice: MailServers) -> None:
    zone = {
        "example.test.": [("MX", "10 localhost.")],
        "localhost.": [("A", "127.0.0.1")],
        "nullmx.test.": [("MX", "0 .")],
    }
    subject = f"direct {time.time_ns()}"
    with DnsServer(zone) as dns_server:
        result = run_example(
            "direct_mx.py",
            "--helo", "client.test", "--sender", "alerts@example.test",
            "--to", "bob@example.test", "--to", "nobody@nullmx.test",
            "--subject", subject, "--text", "disk full",
            "--require-tls", "--port", str(alice.smtp_port),
            "--dns", f"{dns_server.host}:{dns_server.port}", "--cafile", str(alice.ca_pem),
        )  # fmt: skip
    # One recipient refused: the example says so and exits with status 1.
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "delivered: bob@example.test"
    assert lines[1].startswith("refused (permanent): nobody@nullmx.test 556")
    inbox = alice.maildir("bob") / "new"
    for _ in range(300):
        delivered = [path.read_bytes() for path in inbox.iterdir()]
        if delivered:
            break
        time.sleep(0.1)
    (raw,) = delivered
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == subject
    assert b"with ESMTPS" in raw  # delivered over STARTTLS


# -- the site covers the examples and the public API ---------------------------------------


def test_every_example_is_included_by_a_page() -> None:
    pages = "\n".join(p.read_text() for p in (ROOT / "docs").rglob("*.md"))
    tested = "\n".join(p.read_text() for p in Path(__file__).parent.glob("test_examples*.py"))
    for script in sorted(EXAMPLES.glob("*.py")):
        if script.name == "send_and_read.py":  # the README's main job, run by run-example.sh
            continue
        assert f'--8<-- "examples/{script.name}"' in pages, f"no page includes {script.name}"
        assert f'"{script.name}"' in tested, f"no tests/test_examples*.py runs {script.name}"


def test_every_public_name_is_in_the_reference() -> None:
    import unimail.testing

    documented = set()
    for page in (ROOT / "docs" / "reference").glob("*.md"):
        for line in page.read_text().splitlines():
            if line.startswith("::: "):
                documented.add(line.removeprefix("::: ").strip())
    public = {f"unimail.{name}" for name in unimail.__all__}
    kit = {f"unimail.testing.{name}" for name in unimail.testing.__all__}
    assert documented - public - kit == set(), "the reference names a private or missing object"
    assert public - documented == set(), "public names missing from docs/reference"
