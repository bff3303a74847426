"""Run the "faults that lose nothing" jobs with many seeds: the long run of
tests/_async/test_faults_lossless.py.

Usage: ``python3 tools/faults.py [--seeds N] [--first-seed S] [--job JOB ...]
[--backend asyncio|trio|sync] [--stall-rate R] [--reply-rate R]``

Starts a private Dovecot + Postfix (tools/mailservers.py; or uses the ones named by
``UNIMAIL_TEST_DIR``), then runs each job (the POP3 download helper, copy IMAP -> Maildir,
POP3 -> IMAP with delete_after, IMAP -> IMAP, IMAP -> IMAP with delete_after) for ``N`` seeds
(default 300): each seed cuts the connection at random points (a byte, or a server reply; some
cuts stall instead), re-runs until a run is not cut, and checks that nothing was lost or
duplicated (tests/fault_jobs.py, tests/_async/test_faults_lossless.py). Prints one line per job
(seeds, re-runs, runs cut, of them stalled, failures, seconds) and every failure with its seed;
replay one with ``--job JOB --first-seed SEED --seeds 1``. The exit status is 0 when no seed
failed, 1 otherwise, 2 when the servers could not be started.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT / "src", ROOT / "tools", ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import anyio  # noqa: E402  (after the path set-up above)

import mailservers  # noqa: E402
from tests._async import test_faults_lossless as async_jobs  # noqa: E402
from tests._sync import test_faults_lossless as sync_jobs  # noqa: E402
from tests.fault_jobs import Tally  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run the jobs, print the summary; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=300, help="seeds per job (default 300)")
    parser.add_argument("--first-seed", type=int, default=0, help="the first seed (default 0)")
    parser.add_argument(
        "--job", action="append", choices=list(async_jobs.JOBS), help="a job (default: all)"
    )
    parser.add_argument("--backend", choices=["asyncio", "trio", "sync"], default="asyncio")
    parser.add_argument(
        "--stall-rate", type=float, default=async_jobs.STALL_RATE,
        help="share of the cut runs that stall instead of closing (default %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--reply-rate", type=float, default=async_jobs.REPLY_RATE,
        help="share of the cut runs cut as a server reply arrives (default %(default)s)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    # SIGTERM stops like Ctrl-C: the finally below stops the servers.
    signal.signal(signal.SIGTERM, _interrupt)
    names: list[str] = args.job or list(async_jobs.JOBS)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    external = os.environ.get("UNIMAIL_TEST_DIR")
    try:
        if external:
            servers = mailservers.MailServers.load(Path(external))
        else:
            serverdir = mailservers.make_workdir()
            servers = mailservers.start(serverdir)
    except mailservers.ServersUnavailable as error:
        print(f"faults: cannot start the test mail servers: {error}", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="unimail-faults-"))
    failures: list[tuple[int, str]] = []
    print(
        f"{'job':<14} {'seeds':>6} {'re-runs':>8} {'cut':>6} {'stalled':>8} {'failures':>9} "
        f"{'seconds':>8}"
    )
    try:
        for name in names:
            rates = (args.stall_rate, args.reply_rate)
            tally = _run(args.backend, name, servers, workdir / name, seeds, rates)
            print(
                f"{name:<14} {tally.seeds:>6} {tally.reruns:>8} {tally.cuts:>6} {tally.stalls:>8} "
                f"{len(tally.failures):>9} {tally.seconds:>8.1f}",
                flush=True,
            )
            failures += tally.failures
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if not external:
            servers.stop()
            shutil.rmtree(serverdir, ignore_errors=True)
    for seed, message in failures:
        print(f"\nFAILED seed {seed}: {message}")
    return 1 if failures else 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _run(
    backend: str,
    name: str,
    servers: mailservers.MailServers,
    workdir: Path,
    seeds: range,
    rates: tuple[float, float],
) -> Tally:
    if backend == "sync":
        return sync_jobs.run_seeds(sync_jobs.JOBS[name], servers, workdir, seeds, *rates)
    job = async_jobs.JOBS[name]
    run = async_jobs.run_seeds
    return anyio.run(run, job, servers, workdir, seeds, *rates, backend=backend)


if __name__ == "__main__":
    sys.exit(main())
