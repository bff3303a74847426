"""The README's main-job command falls back to the local backends when no server can be
started: ``examples/send_and_read.py --local`` and ``tools/run-example.sh``'s fallback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _env() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH")
    src = str(ROOT / "src")
    return {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{path}" if path else src}


def test_example_runs_on_a_maildir_without_servers() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "send_and_read.py"), "--local"],
        capture_output=True, text=True, env=_env(), timeout=100, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "using a Maildir in" in done.stdout
    assert done.stdout.count("async : uid 1, from alice@example.test") == 4
    assert done.stdout.rstrip().endswith(
        "main job: OK (local fallback: Maildir and memory, no mail server was used)"
    )


def _fake_tree(tmp_path: Path, install: str, mailservers: str) -> Path:
    """A copy of the repository's layout whose install.sh and mailservers.py do as told."""
    (tmp_path / "tools").mkdir()
    (tmp_path / "src").symlink_to(ROOT / "src")
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    for name in ("run-example.sh", "python.sh"):
        shutil.copy(ROOT / "tools" / name, tmp_path / "tools" / name)
    (tmp_path / "tools" / "install.sh").write_text(install)
    (tmp_path / "tools" / "mailservers.py").write_text(mailservers)
    return tmp_path / "tools" / "run-example.sh"


def _run(script: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(script)], capture_output=True, text=True, env=_env(), timeout=100,
        check=False,
    )  # fmt: skip


def test_run_example_falls_back_when_the_servers_cannot_start(tmp_path: Path) -> None:
    unavailable = "import sys\nprint('mailservers: cannot start: no dovecot', file=sys.stderr)\n"
    script = _fake_tree(tmp_path, "exit 0\n", unavailable + "sys.exit(2)\n")
    done = _run(script)
    assert done.returncode == 0, done.stderr
    assert "no dovecot" in done.stderr and "FALLBACK" in done.stderr
    assert "a Maildir in a temporary directory" in done.stderr
    assert "main job: OK (local fallback" in done.stdout


def test_run_example_falls_back_when_installing_fails(tmp_path: Path) -> None:
    script = _fake_tree(tmp_path, "echo 'must run as root' >&2; exit 1\n", "raise SystemExit(9)\n")
    done = _run(script)
    assert done.returncode == 0, done.stderr
    assert "installation failed" in done.stderr and "FALLBACK" in done.stderr
    assert "main job: OK (local fallback" in done.stdout


def test_run_example_keeps_the_examples_own_failure(tmp_path: Path) -> None:
    # Servers up, example failed: that status is the answer, with no fallback hiding it.
    script = _fake_tree(tmp_path, "exit 0\n", "raise SystemExit(1)\n")
    done = _run(script)
    assert done.returncode == 1 and "FALLBACK" not in done.stderr
