"""Round-trip job: the fetch, download and send jobs through a proxy adding 20 ms each way.

Each client runs twice through :class:`~benchmarks.proxy.DelayProxy`: once for one message
and once for N. The difference, divided by N - 1, is the round trips each further message
costs (0 for a client that asks for everything at once or pipelines, 1 for one that waits for
every reply, more for a chatty one); what one message costs on its own is the setup
(connection, TLS, login, logout). Round trips are counted, not timed, so one run suffices;
the wall time of the N-message run through the proxy is shown beside them.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable

from ._corpus import sized_message
from ._env import Target
from ._harness import Contender, Job, Row, Stats, progress
from .imap import imap_contenders
from .pop3 import pop3_contenders
from .proxy import delay_proxy
from .smtp import SendLog, smtp_contenders

__all__ = ["roundtrip_jobs"]

Build = Callable[[int, int], list[Contender]]  # (proxy port, message count) -> contenders


def _job(
    target: Target, title: str, upstream: int, count: int, build: Build, setup: Callable[[], None]
) -> Job:
    job = Job(title, f"round trips per message, {count} messages through a 20 ms proxy", count)
    with delay_proxy(target.host, upstream) as proxy:
        single, many = build(proxy.port, 1), build(proxy.port, count)
        for one, lots in zip(single, many, strict=True):
            row = Row(lots.name, lots.kind, lots.status)
            if lots.run is not None and one.run is not None and not row.status:
                progress(f"  {title}: {lots.name}")
                try:
                    trips: list[int] = []
                    for contender, expected in ((one, 1), (lots, count)):
                        setup()
                        proxy.round_trips = 0
                        start = time.perf_counter()
                        handled = contender.run()  # type: ignore[misc]  # checked above
                        elapsed = time.perf_counter() - start
                        if handled != expected:
                            raise RuntimeError(f"handled {handled} messages, expected {expected}")
                        trips.append(proxy.round_trips)
                    per_message = (trips[1] - trips[0]) / (count - 1)
                    row.extra = {"per_message": per_message, "setup": trips[0] - per_message}
                    row.seconds = Stats(elapsed, elapsed, elapsed)
                except Exception as exc:
                    row.status = f"failed: {type(exc).__name__}: {exc}"[:200]
                    traceback.print_exc()
            job.rows.append(row)
    return job


def roundtrip_jobs(target: Target, count: int, log: SendLog) -> list[Job]:
    """Round trips of IMAP body fetch, POP3 download and SMTP send (``count`` messages each).

    The mailbox must hold at least ``count`` messages (uids 1..count) when this is called.
    """
    servers = target.servers
    small = sized_message(2048, sender=target.address, recipient=target.address)

    def nothing() -> None:
        return None

    jobs = [
        _job(
            target,
            "Round trips: IMAP fetch of bodies",
            servers.imaps_port,
            count,
            lambda port, n: imap_contenders(target, port, n, "bodies", full=False),
            nothing,
        ),
        _job(
            target,
            "Round trips: POP3 download",
            servers.pop3s_port,
            count,
            lambda port, n: pop3_contenders(target, port, n),
            nothing,
        ),
    ]
    log.sent = 0
    jobs.append(
        _job(
            target,
            "Round trips: SMTP send of 2 KB messages",
            servers.smtps_port,
            count,
            lambda port, n: [
                # The raw pool is a throughput limit; on 1 message it opens 1 connection
                # and on N it opens 8, so its difference says nothing per message.
                c
                for c in smtp_contenders(target, port, [small] * n, log)
                if not c.name.startswith("raw socket")
            ],
            nothing,
        )
    )
    return jobs
