"""Turning jobs into the Markdown table and the JSON file, with the machine and versions."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import json
import os
import platform
from pathlib import Path
from typing import Any

from ._harness import Job, Row, Stats

__all__ = ["machine", "markdown", "to_json"]

_PACKAGES = ["unimail", "anyio", "trio", "imapclient", "imap-tools", "aioimaplib", "aiosmtplib"]


def machine() -> dict[str, str]:
    """nproc, CPU model, Python and package versions."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    for package in _PACKAGES:
        try:
            info[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            info[package] = "not installed"
    return info


def _seconds(stats: Stats | None) -> str:
    if stats is None:
        return ""
    return f"{stats.median:.3f} ({stats.low:.3f}-{stats.high:.3f})"


def _ratio(stats: Stats | None) -> str:
    if stats is None:
        return ""
    return f"{stats.median:.2f} ({stats.low:.2f}-{stats.high:.2f})"


def _timing_row(row: Row, messages: int) -> str:
    if not row.ok or row.seconds is None:
        return f"| {row.name} | {row.status or 'no figure'} | | | |"
    per = row.seconds.median / messages * 1e6
    return (
        f"| {row.name} | {_seconds(row.seconds)} | {per:,.0f} "
        f"| {_ratio(row.vs_limit)} | {_ratio(row.unimail_vs)} |"
    )


def _job_table(job: Job) -> list[str]:
    lines = [f"### {job.title}", ""]
    if job.rows and "per_message" in _first_extra(job):
        lines += [
            "| client | round trips per extra message | setup round trips | wall time, s |",
            "| --- | --- | --- | --- |",
        ]
        for row in job.rows:
            if row.status or not row.extra:
                lines.append(f"| {row.name} | {row.status or 'no figure'} | | |")
            else:
                wall = row.seconds.median if row.seconds else 0.0
                lines.append(
                    f"| {row.name} | {row.extra['per_message']:.2f} "
                    f"| {row.extra['setup']:.0f} | {wall:.2f} |"
                )
    elif job.rows and "peak_mib" in _first_extra(job):
        lines += ["| client | peak RSS, MiB | growth during transfer, MiB |", "| --- | --- | --- |"]
        for row in job.rows:
            if row.status or not row.extra:
                lines.append(f"| {row.name} | {row.status or 'no figure'} | |")
            else:
                lines.append(
                    f"| {row.name} | {row.extra['peak_mib']:.0f} | {row.extra['growth_mib']:.0f} |"
                )
    else:
        reference = next((r.name for r in job.rows if r.kind == "unimail"), "unimail")
        lines += [
            f"| client | seconds, median (min-max) | µs per message | client / limit "
            f"| {reference} / client |",
            "| --- | --- | --- | --- | --- |",
        ]
        lines += [_timing_row(row, job.messages) for row in job.rows]
    lines += [*(f"\n{note}" for note in job.notes), ""]
    return lines


def _first_extra(job: Job) -> dict[str, float]:
    return next((row.extra for row in job.rows if row.extra), {})


def markdown(jobs: list[Job], info: dict[str, str], command: str) -> str:
    """The whole report: command, machine, versions, then one table per job."""
    versions = ", ".join(f"{name} {info.get(name, '?')}" for name in _PACKAGES)
    lines = [
        f"Command: `{command}`  ",
        f"Machine: {info['nproc']} CPUs ({info['cpu']}), Python {info['python']}, "
        f"{info['platform']}  ",
        f"Versions: {versions}",
        "",
    ]
    for job in jobs:
        lines += _job_table(job)
    return "\n".join(lines)


def to_json(jobs: list[Job], info: dict[str, str], command: str) -> str:
    """Every figure, for comparing runs over time."""
    data: dict[str, Any] = {
        "command": command,
        "machine": info,
        "jobs": [dataclasses.asdict(job) for job in jobs],
    }
    return json.dumps(data, indent=2)
