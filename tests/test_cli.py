"""The ``unimail`` command line without servers: usage errors, exit codes, password sources,
the mbox writer and the progress bar. Against the real servers: tests/test_cli_servers.py."""

from __future__ import annotations

import argparse
import io
import mailbox
import os
import subprocess
import sys
from pathlib import Path

import pytest

from unimail import CopyProgress, CopyStage
from unimail.cli import main
from unimail.cli._common import UsageError, password_for
from unimail.cli._fetch import mbox_entry
from unimail.cli._progress import ProgressBar

SRC = str(Path(__file__).resolve().parent.parent / "src")


def run_module(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m unimail`` with ``args``."""
    environment = {**os.environ, "PYTHONPATH": SRC, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "unimail", *args],
        env=environment, capture_output=True, text=True, timeout=60, check=False,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert "unimail" in capsys.readouterr().out
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("folders", "search", "fetch", "send", "copy", "watch", "discover"):
        assert command in out


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["nope"],
        ["folders"],
        ["search", "imaps://a@h", "--since", "yesterday"],
        ["copy", "imaps://a@h"],
        ["folders", "imaps://a@h", "--timeout", "-1"],
        ["folders", "imaps://a@h", "--password-env", "A", "--password-file", "f"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "usage:" in capsys.readouterr().err


def test_library_errors_are_one_line_without_traceback() -> None:
    done = run_module("folders", "gopher://example.org")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("unimail: error: no backend for 'gopher'")
    assert "Traceback" not in done.stderr
    # A password in the URL is refused before anything is sent.
    done = run_module("folders", "imaps://bob:secret@example.org")
    assert (done.returncode, "Traceback" in done.stderr) == (2, False)
    assert "secret" not in done.stderr


def test_connection_refused_exits_3(unused_tcp_port: int) -> None:
    done = run_module("folders", f"imaps://bob@127.0.0.1:{unused_tcp_port}", "--timeout", "5")
    assert done.returncode == 3, done.stderr
    assert done.stderr.startswith("unimail: error:")


def args(**values: object) -> argparse.Namespace:
    defaults: dict[str, object] = {"password_env": None, "password_file": None}
    defaults["password_prompt"] = False
    return argparse.Namespace(**{**defaults, **values})


def test_password_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = "imaps://bob@mail.example.org"
    monkeypatch.delenv("UNIMAIL_PASSWORD", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "missing"))
    assert password_for(args(), url) is None  # no source, no terminal: no password
    monkeypatch.setenv("MY_PW", "from-env")
    assert password_for(args(password_env="MY_PW"), url) == "from-env"
    with pytest.raises(UsageError, match="NOT_SET"):
        password_for(args(password_env="NOT_SET"), url)
    secret = tmp_path / "secret"
    secret.write_text("from-file\nsecond line\n")
    assert password_for(args(password_file=str(secret)), url) == "from-file"
    with pytest.raises(UsageError, match="cannot read"):
        password_for(args(password_file=str(tmp_path / "nope")), url)
    netrc_file = tmp_path / "netrc"
    netrc_file.write_text(
        "machine mail.example.org login bob password from-netrc\n"
        "machine other.example.org login carol password not-bob\n"
    )
    netrc_file.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc_file))
    assert password_for(args(), url) == "from-netrc"
    assert password_for(args(), "imaps://alice@mail.example.org") is None  # another login
    monkeypatch.setenv("UNIMAIL_PASSWORD", "default-env")
    assert password_for(args(), url) == "default-env"
    monkeypatch.setenv("UNIMAIL_DEST_PASSWORD", "dest-env")
    dest = argparse.Namespace(
        dest_password_env=None, dest_password_file=None, dest_password_prompt=False
    )
    assert password_for(dest, url, "dest-") == "dest-env"
    assert password_for(args(), "maildir:/tmp/x") == "default-env"


def test_no_password_option_takes_a_value_on_the_command_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["folders", "imaps://a@h", "--password", "x"]) == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_mbox_entries_round_trip(tmp_path: Path) -> None:
    first = b"From: a@b\r\nSubject: one\r\n\r\nFrom the start\r\n>From quoted\r\n"
    second = b"From: c@d\r\nSubject: two\r\n\r\nno newline at the end"
    path = tmp_path / "out.mbox"
    path.write_bytes(mbox_entry(first) + mbox_entry(second))
    box = mailbox.mbox(str(path))
    try:
        messages = list(box)
        assert [m["Subject"] for m in messages] == ["one", "two"]
        payload = messages[0].get_payload()
        assert isinstance(payload, str)
        assert ">From the start" in payload  # quoted, as mboxrd does
    finally:
        box.close()
    assert mbox_entry(first).count(b"\r") == 0


def test_progress_bar_only_on_a_terminal() -> None:
    event = CopyProgress(stage=CopyStage.MESSAGE, folder="INBOX", destination="INBOX", done=2,
                         total=2, copied=2, bytes=3000)  # fmt: skip
    piped = io.StringIO()
    ProgressBar(piped)(event)
    assert piped.getvalue() == ""
    terminal = io.StringIO()
    bar = ProgressBar(terminal, enabled=True)
    bar(CopyProgress(stage=CopyStage.FOLDER, folder="INBOX", destination="INBOX", total=2))
    bar(event)
    bar.finish()
    text = terminal.getvalue()
    assert text.startswith("\rINBOX [") and "2/2" in text and "2.9 KiB" in text
    assert text.endswith("\n") and text.count("\n") == 1


@pytest.fixture
def unused_tcp_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
