"""Memory job: peak RSS of a separate process downloading, or sending, one large message.

Each client runs in a fresh interpreter (``python3 -m benchmarks.memory CHILD ...``), so one
client's allocations cannot hide another's. The child imports everything, builds the message
(when sending), connects, transfers the one message, and reports its peak resident set
(``ru_maxrss``) and how much that peak grew during the transfer. The clients are the same
functions the timing jobs use, fetching or sending exactly one message.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import traceback
from pathlib import Path

from ._corpus import sized_message
from ._env import Target
from ._harness import Contender, Job, Row, progress

__all__ = ["memory_job"]

_ROOT = Path(__file__).resolve().parent.parent


def _status_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (Linux >= 4.0: write 5 to /proc/self/clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5", encoding="ascii")
    except OSError:
        return False
    return True


def _peak_kib() -> int:
    peak = _status_kib("VmHWM")
    if peak is not None:
        return peak
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def _contenders(target: Target, protocol: str, size: int) -> list[Contender]:
    from .imap import imap_contenders
    from .pop3 import pop3_contenders
    from .smtp import SendLog, smtp_contenders

    servers = target.servers
    if protocol == "imap":
        found = imap_contenders(target, servers.imaps_port, 1, "bodies", full=False)
        return [
            *found,
            _download(target, f"imaps://{target.user}@{target.host}:{servers.imaps_port}"),
        ]
    if protocol == "pop3":
        found = pop3_contenders(target, servers.pop3s_port, 1)
        return [
            *found,
            _download(target, f"pop3s://{target.user}@{target.host}:{servers.pop3s_port}"),
        ]
    message = sized_message(size, sender=target.address, recipient=target.address)
    return smtp_contenders(target, servers.smtps_port, [message], SendLog(target))


def _download(target: Target, url: str) -> Contender:
    """unimail's streaming ``download()`` of the one message to a file (bounded memory)."""

    def run() -> int:
        import tempfile

        import unimail

        with unimail.Mailbox.open(
            url, password=target.password, ssl_context=target.context()
        ) as box:
            folder = box.folder("INBOX")
            [info] = list(folder.search(fields=unimail.FetchField.UID))
            with tempfile.TemporaryDirectory() as tmp:
                folder.download(info.uid, Path(tmp, "message.eml"))
        return 1

    return Contender("unimail sync download() to a file", "unimail", run)


def _child(workdir: str, protocol: str, name: str, size: int) -> int:
    """Run one contender once; print ``{"peak": KiB, "growth": KiB}`` as JSON."""
    from mailservers import MailServers

    target = Target(MailServers.load(Path(workdir)))
    contender = next(c for c in _contenders(target, protocol, size) if c.name == name)
    if contender.run is None:
        print(json.dumps({"status": contender.status}))
        return 0
    # Growth is measured from the resident size right before the transfer, with the peak mark
    # reset, so a higher peak during the imports cannot hide what the transfer costs.
    before = _status_kib("VmRSS") if _reset_peak() else None
    if before is None:
        before = _peak_kib()
    handled = contender.run()
    if handled != 1:
        raise SystemExit(f"{name} handled {handled} messages, expected 1")
    peak = _peak_kib()
    print(json.dumps({"peak": peak, "growth": max(peak - before, 0)}))
    return 0


def _measure(target: Target, protocol: str, contender: Contender, size: int) -> Row:
    row = Row(f"{protocol.upper()}: {contender.name}", contender.kind, contender.status)
    if contender.run is None or row.status:
        return row
    progress(f"  memory: {row.name}")
    argv = [sys.executable, "-m", "benchmarks.memory", "CHILD", str(target.servers.workdir)]
    done = subprocess.run(
        [*argv, protocol, contender.name, str(size)],
        cwd=_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        row.status = f"failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}"[:200]
        return row
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    if "status" in figures:
        row.status = figures["status"]
        return row
    row.extra = {"peak_mib": figures["peak"] / 1024, "growth_mib": figures["growth"] / 1024}
    return row


def memory_job(target: Target, size: int, *, peers: bool = True) -> Job:
    """Peak RSS of every client downloading (IMAP, POP3) and sending (SMTP) one message.

    ``peers=False`` measures only unimail and the limits (the CI smoke run: each client is a
    fresh interpreter, and a slow CI machine has no time for all of them).
    """
    job = Job(
        f"Memory: one {size / 2**20:.0f} MiB message, peak RSS of a separate process",
        "download or send one message",
        1,
    )
    message = sized_message(size, sender=target.address, recipient=target.address)
    target.seed([message])
    for protocol in ("imap", "pop3", "smtp"):
        for contender in _contenders(target, protocol, size):
            if not peers and contender.kind == "peer":
                continue
            try:
                job.rows.append(_measure(target, protocol, contender, size))
            except Exception as exc:
                traceback.print_exc()
                job.rows.append(Row(contender.name, contender.kind, f"failed: {exc}"[:200]))
    sent = sum(1 for row in job.rows if row.name.startswith("SMTP") and row.extra)
    target.wait_delivered(1 + sent)
    target.clear()
    job.notes.append(
        "growth = peak RSS during the transfer minus the resident size right before it "
        "(after the imports and, when sending, with the message already built)."
    )
    return job


if __name__ == "__main__" and sys.argv[1:2] == ["CHILD"]:
    try:
        sys.exit(_child(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])))
    except SystemExit:
        raise
    except BaseException:
        traceback.print_exc()
        sys.exit(1)
