"""Measuring contenders round-robin and keeping the figures.

A job is a list of :class:`Contender` objects that do the same work. :func:`measure` runs every
contender once as a warm-up, then ``repeats`` rounds in which each contender runs once, in
turn. Ratios (client / limit, unimail / peer) are computed inside each round and their median
reported, so a load spike on this shared machine moves both sides of a ratio together.
"""

from __future__ import annotations

import signal
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "NOT_IMPLEMENTED",
    "NOT_INSTALLED",
    "NOT_OFFERED",
    "RUN_TIMEOUT",
    "Contender",
    "Job",
    "Row",
    "Stats",
    "measure",
    "progress",
]

Kind = Literal["unimail", "peer", "limit"]

#: Status of a contender whose client library is not importable (install the extra).
NOT_INSTALLED = "not installed (pip install unimail[benchmarks])"
#: Status of a unimail backend that does not exist yet: no figure is ever invented for it.
NOT_IMPLEMENTED = "unimail: not yet implemented"
#: Status of a peer whose API cannot ask for what the job fetches (imap_tools and ENVELOPE).
NOT_OFFERED = "this client's API cannot do this job"


@dataclass(frozen=True)
class Stats:
    """Median, minimum and maximum of some repeated figures."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: list[float]) -> Stats:
        """Summarise ``values`` (at least one)."""
        return cls(statistics.median(values), min(values), max(values))


@dataclass
class Contender:
    """One way of doing a job's work.

    Attributes:
        name: what the table shows (``"unimail sync"``, ``"imaplib"``, ``"limit: raw socket"``).
        kind: ``"unimail"``, ``"peer"`` or ``"limit"``.
        run: does the work once and returns how many messages it handled (checked).
        status: ``""`` when runnable, else why not (:data:`NOT_INSTALLED`, ...).
        rounds: at most this many measured rounds (for a peer so slow that it would take
            most of the quick mode's time); ``None`` for every round.
    """

    name: str
    kind: Kind
    run: Callable[[], int] | None
    status: str = ""
    rounds: int | None = None

    @classmethod
    def missing(cls, name: str, kind: Kind, status: str) -> Contender:
        """A contender that cannot run here, shown in the table with the reason."""
        return cls(name, kind, None, status)


@dataclass
class Row:
    """What one contender measured in one job."""

    name: str
    kind: Kind
    status: str = ""
    seconds: Stats | None = None
    vs_limit: Stats | None = None  # this contender's time / the limit's, per round
    unimail_vs: Stats | None = None  # unimail (sync) time / this contender's, per round
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the contender ran and every run handled the expected messages."""
        return not self.status and self.seconds is not None


@dataclass
class Job:
    """One job's result: a title, what one unit of work is, and its rows."""

    title: str
    work: str
    messages: int
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


#: No single run may take longer than this (a hung client fails instead of hanging the suite).
RUN_TIMEOUT = 300.0


def _alarm(signum: int, frame: object) -> None:
    raise TimeoutError(f"one run took longer than {RUN_TIMEOUT:.0f} s")


_START = time.monotonic()


def progress(text: str) -> None:
    """One progress line on stderr (the report itself goes to stdout)."""
    print(f"[{time.monotonic() - _START:6.1f} s] {text}", file=sys.stderr, flush=True)


def _timed(contender: Contender, expected: int) -> float:
    run = contender.run
    assert run is not None  # callers only time runnable contenders
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, RUN_TIMEOUT)
    try:
        start = time.perf_counter()
        handled = run()
        elapsed = time.perf_counter() - start
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if handled != expected:
        raise RuntimeError(f"handled {handled} messages, expected {expected}")
    return elapsed


def measure(
    title: str,
    work: str,
    contenders: list[Contender],
    *,
    messages: int,
    repeats: int,
    warmup: tuple[list[Contender], int] | None = None,
    reference: str = "unimail sync",
    setup: Callable[[], None] | None = None,
) -> Job:
    """Time every runnable contender ``warmup`` + ``repeats`` times, round-robin.

    Args:
        title: the job's heading.
        work: what one run does, for the table ("fetch 5,000 headers").
        contenders: the ways to do it; at most one of kind ``"limit"``.
        messages: how many messages one run must handle (a run that handles another number
            fails the contender: a fast wrong answer is not a figure).
        repeats: measured rounds.
        warmup: contenders doing a smaller piece of the same work and how many messages
            that is: each runs once, unmeasured, first (imports, code paths, server caches).
            By default every contender runs once, unmeasured, before the measured rounds.
        reference: the contender whose time the ``unimail_vs`` ratios divide.
        setup: called before every run, untimed (e.g. wait for the server to be idle).

    Returns:
        The job with one row per contender, in the order given.
    """
    job = Job(title, work, messages)
    # Per contender: round number -> seconds, so ratios pair figures of the same round.
    times: dict[str, dict[int, float]] = {c.name: {} for c in contenders}
    failed: dict[str, str] = {}
    warm, warm_messages = warmup if warmup is not None else (contenders, messages)
    rounds = [(warm, warm_messages, False)] + [(contenders, messages, True)] * repeats
    for number, (group, expected, measured) in enumerate(rounds):
        for contender in group:
            if contender.run is None or contender.status or contender.name in failed:
                continue
            if measured and contender.rounds is not None and number > contender.rounds:
                continue
            progress(f"{title}: {contender.name}")
            try:
                if setup is not None:
                    setup()
                elapsed = _timed(contender, expected)
            except Exception as exc:
                failed[contender.name] = f"failed: {type(exc).__name__}: {exc}"[:200]
                traceback.print_exc()
                continue
            if measured:
                times[contender.name][number] = elapsed
    limit = next((c.name for c in contenders if c.kind == "limit"), None)
    for contender in contenders:
        row = Row(
            contender.name, contender.kind, contender.status or failed.get(contender.name, "")
        )
        values = times[contender.name]
        if not row.status and values:
            row.seconds = Stats.of(list(values.values()))
            row.vs_limit = _ratio(values, times.get(limit or "", {}))
            if contender.name != reference and reference not in failed:
                row.unimail_vs = _ratio(times.get(reference, {}), values)
            if len(values) < repeats:
                row.name += f" ({len(values)} run{'s' if len(values) > 1 else ''})"
        job.rows.append(row)
    return job


def _ratio(numerators: dict[int, float], denominators: dict[int, float]) -> Stats | None:
    """Ratios of the figures taken in the same rounds."""
    ratios = [numerators[n] / denominators[n] for n in numerators if denominators.get(n, 0) > 0]
    return Stats.of(ratios) if ratios else None
