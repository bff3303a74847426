"""The benchmark suite still runs: each job once, at the smallest size, against the real servers.

Nothing here is timed: the figures of so small a run mean nothing. What is checked is that
every job runs every contender that can run here, that unimail and the limits produce figures,
that the ratios are finite and positive, and that a row without a figure says why (a peer
that is not installed, a unimail backend not written yet), never a made-up number.
"""

from __future__ import annotations

import math

import pytest
from benchmarks._env import SMOKE, Target
from benchmarks._harness import NOT_IMPLEMENTED, NOT_INSTALLED, NOT_OFFERED, Job, Row
from benchmarks._report import machine, markdown
from benchmarks._suite import run_suite
from benchmarks.parse import parse_job

from mailservers import MailServers

pytestmark = pytest.mark.servers


def _check_row(row: Row) -> None:
    if row.status:
        # Only these reasons are acceptable for a missing figure: a failing client is a bug.
        assert row.status in (NOT_INSTALLED, NOT_IMPLEMENTED, NOT_OFFERED), (row.name, row.status)
        assert row.status != NOT_OFFERED or row.kind == "peer", row.name
        assert row.kind != "limit", row.name
        return
    if row.seconds is not None:
        assert 0 < row.seconds.low <= row.seconds.median <= row.seconds.high, row
    for ratio in (row.vs_limit, row.unimail_vs):
        if ratio is not None:
            assert math.isfinite(ratio.median) and ratio.median > 0, row


def _check_timing_job(job: Job) -> None:
    assert job.rows, job.title
    for row in job.rows:
        _check_row(row)
        if not row.status:
            assert row.seconds is not None and row.vs_limit is not None, row
    names = [row.name for row in job.rows if row.ok]
    assert any(row.kind == "limit" for row in job.rows if row.ok), names
    limit = next(row for row in job.rows if row.kind == "limit" and row.ok)
    assert limit.vs_limit is not None and limit.vs_limit.median == pytest.approx(1.0)


def test_parse_job_parses_every_response_with_every_parser() -> None:
    job = parse_job(SMOKE.parse_messages, repeats=1)
    _check_timing_job(job)
    unimail = [row for row in job.rows if row.kind == "unimail"]
    assert len(unimail) == 3 and all(row.ok for row in unimail)
    assert "| unimail: bytes -> MessageInfo |" in markdown([job], machine(), "x")


@pytest.mark.parametrize("name", ["imap", "pop3", "smtp"])
def test_network_job_runs_every_client(mail_servers: MailServers, name: str) -> None:
    jobs = run_suite(SMOKE, Target(mail_servers), [name])
    assert jobs
    for job in jobs:
        _check_timing_job(job)
        if name == "imap":
            # The IMAP backend exists: its sync and async facades must both have figures.
            assert all(row.ok for row in job.rows if row.kind == "unimail"), job.rows


def test_roundtrip_jobs_count_round_trips(mail_servers: MailServers) -> None:
    jobs = run_suite(SMOKE, Target(mail_servers), ["roundtrips"])
    assert [job.title.split(":")[1].split()[0] for job in jobs] == ["IMAP", "POP3", "SMTP"]
    for job in jobs:
        for row in job.rows:
            _check_row(row)
            if not row.status:
                # Counted, so close to whole numbers; 3 messages leave +-0.5 of jitter.
                assert -1 <= row.extra["per_message"] <= 8, row
                assert row.extra["setup"] >= 1, row
    smtplib = next(row for row in jobs[2].rows if row.name == "smtplib")
    # smtplib waits for MAIL, RCPT, DATA and the end of data: about four per message.
    assert 3 <= smtplib.extra["per_message"] <= 5


def test_memory_job_reports_peak_rss_per_client(mail_servers: MailServers) -> None:
    jobs = run_suite(SMOKE, Target(mail_servers), ["memory"])
    (job,) = jobs
    for row in job.rows:
        _check_row(row)
        if not row.status:
            assert row.extra["peak_mib"] >= row.extra["growth_mib"] >= 0, row
            assert row.extra["peak_mib"] > 5, row  # an interpreter cannot be smaller
    assert any(row.name.startswith("IMAP: unimail") and row.extra for row in job.rows)
