"""The whole suite, job after job, on one set of servers."""

from __future__ import annotations

from collections.abc import Collection

from ._corpus import make_messages, sized_message
from ._env import Mode, Target
from ._harness import Contender, Job, measure
from .imap import AIOIMAPLIB_RECURSION_LIMIT, imap_contenders
from .local import local_job
from .memory import memory_job
from .parse import parse_job
from .pop3 import pop3_contenders
from .roundtrips import roundtrip_jobs
from .smtp import SendLog, smtp_contenders

__all__ = ["JOBS", "SUBJOBS", "run_suite"]

JOBS = ("parse", "imap", "pop3", "roundtrips", "smtp", "memory", "local")
# The IMAP jobs one by one ("imap" runs them all): "imap-large" is the bodies of 33 KB.
_IMAP_KINDS = ("headers", "envelopes", "bodies", "large")
SUBJOBS = tuple(f"imap-{kind}" for kind in _IMAP_KINDS)

# The warm-up fetches this many messages with every client before the measured rounds.
_WARMUP_MESSAGES = 100


def run_suite(mode: Mode, target: Target, only: Collection[str] = JOBS) -> list[Job]:
    """Run the selected jobs in ``mode`` against ``target``; return their results."""
    jobs: list[Job] = []
    if "parse" in only:
        jobs.append(parse_job(mode.parse_messages, repeats=mode.repeats))
    if "local" in only:
        jobs.append(local_job(mode))
    kinds = [kind for kind in _IMAP_KINDS if "imap" in only or f"imap-{kind}" in only]
    count = max(mode.imap_messages, mode.pop3_messages, mode.roundtrip_messages)
    if {"pop3", "roundtrips"} & set(only) or set(kinds) - {"large"}:
        target.seed(make_messages(count))
    if kinds:
        jobs += _imap_jobs(mode, target, kinds)
    if "pop3" in only:
        port, n = target.servers.pop3s_port, mode.pop3_messages
        warm = min(n, _WARMUP_MESSAGES)
        jobs.append(
            measure(
                f"POP3 download: {n:,} messages",
                "download",
                pop3_contenders(target, port, n),
                messages=n,
                repeats=mode.repeats,
                warmup=(pop3_contenders(target, port, warm), warm),
            )
        )
    log = SendLog(target)
    if "roundtrips" in only:
        jobs += roundtrip_jobs(target, mode.roundtrip_messages, log)
    if "smtp" in only:
        jobs += _smtp_jobs(mode, target, log)
    log.settle()
    if "memory" in only:
        jobs.append(memory_job(target, mode.memory_bytes, peers=mode.name != "smoke"))
    return jobs


def _imap_jobs(mode: Mode, target: Target, kinds: list[str]) -> list[Job]:
    port, n = target.servers.imaps_port, mode.imap_messages
    full = mode.name == "full"
    jobs = []
    for what in [kind for kind in kinds if kind != "large"]:
        warm = min(n, _WARMUP_MESSAGES)
        job = measure(
            f"IMAP fetch of {what}: {n:,} messages",
            f"fetch {what}",
            imap_contenders(target, port, n, what, full=full),
            messages=n,
            repeats=mode.repeats,
            warmup=(imap_contenders(target, port, warm, what, full=full), warm),
        )
        job.notes.append(
            "Each run: connect, log in, SELECT, one UID FETCH of uids 1:N, log out. unimail "
            "returns MessageInfo objects, imap_tools parses every message with the email "
            "package, imaplib returns raw tuples. aioimaplib runs with the recursion limit "
            f"raised to {AIOIMAPLIB_RECURSION_LIMIT:,} (see benchmarks/imap.py) and one "
            "measured round: its time per message grows with the size of the response. "
            "In the full mode it is left out (one run of 20,000 did not end)."
        )
        jobs.append(job)
    if "large" in kinds:
        jobs.append(_large_bodies_job(mode, target))
    return jobs


# The body download: 20,000 messages, about 660 MB, so about 33 KB each (the other
# IMAP jobs use messages of about 4 KB, where the cost per message weighs more than per byte).
# A body of 25,700 characters makes messages of 32.8 KB on average.
_LARGE_BODY = 25_700


def _large_bodies_job(mode: Mode, target: Target) -> Job:
    """Bodies of ``mode.imap_large_messages`` messages of 33 KB, in bob's mailbox."""
    bob = Target(target.servers, user="bob")
    n = mode.imap_large_messages
    bob.seed(make_messages(n, body_size=_LARGE_BODY))
    port, full = target.servers.imaps_port, mode.name == "full"

    def contenders(count: int) -> list[Contender]:
        # aioimaplib's time per message grows with the size of the response (see the notes
        # of the other IMAP jobs): hundreds of megabytes would take it many minutes.
        runs = imap_contenders(bob, port, count, "bodies", full=full)
        return [run for run in runs if run.name != "aioimaplib"]

    warm = min(n, _WARMUP_MESSAGES)
    job = measure(
        f"IMAP fetch of bodies of 33 KB: {n:,} messages",
        "fetch bodies",
        contenders(n),
        messages=n,
        repeats=mode.repeats,
        warmup=(contenders(warm), warm),
    )
    average = sum(map(len, make_messages(min(n, 200), body_size=_LARGE_BODY))) / min(n, 200)
    job.notes.append(
        f"The issue's download size: messages of about {average / 1000:.0f} KB each "
        f"({n * average / 1e6:,.0f} MB in all). aioimaplib is left out here: its time per "
        "message grows with the size of the response."
    )
    bob.clear()
    return job


def _smtp_jobs(mode: Mode, target: Target, log: SendLog) -> list[Job]:
    port = target.servers.smtps_port
    jobs = []
    for size, label, count in ((2048, "2 KB", mode.smtp_small), (1 << 20, "1 MB", mode.smtp_large)):
        message = sized_message(size, sender=target.address, recipient=target.address)
        warm = min(count, 5)
        jobs.append(
            measure(
                f"SMTP send: {count:,} messages of {label}",
                "send",
                smtp_contenders(target, port, [message] * count, log),
                messages=count,
                repeats=mode.repeats,
                warmup=(smtp_contenders(target, port, [message] * warm, log), warm),
                setup=log.settle,
            )
        )
    return jobs
