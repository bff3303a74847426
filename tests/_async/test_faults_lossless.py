"""Faults that lose nothing: the download and copy jobs, cut at a random byte, converge.

Each job runs against the real Dovecot through proxies (tests/fault_jobs.py) that cut the
connection after a number of bytes drawn from ``random.Random(seed)`` over the bytes the
whole job moves: on the source side, on the destination side (IMAP destinations), or both;
some runs stall there instead (nothing more goes through, the job must time out). A run that
fails with ``ConnectionLost``, ``Timeout`` or ``ProtocolError`` (or that was cut at all, even
where it still returned) is run again, perhaps cut again, until one run is not cut. Then the
destination holds exactly the source's messages by content (none lost, none twice) with their
flags, and a POP3 source is empty. After every interrupted run, nothing is in the destination
twice and every message is still in the source or already stored; after every run that
returned, the job's work is complete.

The jobs: the POP3 download helper in "delete" mode; ``copy()`` IMAP -> Maildir, POP3 -> IMAP
with ``delete_after``, IMAP -> IMAP, and IMAP -> IMAP with ``delete_after`` (a move: UID STORE
and UID EXPUNGE cut too). ``python3 tools/faults.py --seeds N`` runs the same jobs with many
more seeds. A failure names its job and seed; replay it with
``python3 tools/faults.py --job JOB --first-seed SEED --seeds 1`` (or here, with the
environment variable ``UNIMAIL_FAULTS_FIRST_SEED=SEED``).

This file is the source of tests/_sync/test_faults_lossless.py (tools/unasync.py).
"""

from __future__ import annotations

import abc
import collections
import os
import time
import traceback
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

import pytest

from mailservers import MailServers
from tests.fault_jobs import (
    ByteCutProxy,
    CutPlan,
    Snapshot,
    Tally,
    by_folder,
    contents,
    digest,
    draw_flags,
    make_messages,
    multiset,
    on_disk,
    seed_imap,
)
from unimail import (
    AsyncMailbox,
    AsyncPop3Downloader,
    AsyncPop3Mailbox,
    ConnectionLost,
    DownloadedMessage,
    FetchField,
    Flag,
    ProtocolError,
    Timeout,
    async_copy,
)

#: Seeds per job in this file (each flavour: asyncio, trio, sync); tools/faults.py runs more.
SEEDS = 4
#: The first seed of this file's runs (set it to replay a failure under pytest).
FIRST_SEED = int(os.environ.get("UNIMAIL_FAULTS_FIRST_SEED", "0"))
#: The errors a cut may cause: the job is run again.
RETRY = (ConnectionLost, Timeout, ProtocolError)
#: Runs of one seed after which the job is a failure (the plan stops cutting before that).
MAX_RUNS = 8
#: Seconds any one wait may take: a cut connection must fail fast, not hang.
TIMEOUT = 10.0
#: The share of the cut runs whose connections stall (the job must time out) instead.
STALL_RATE = 0.1
#: The share of the cut runs cut as a server reply arrives (the others: at a byte).
REPLY_RATE = 0.5
#: The timeout of the runs that stall: short, so that a seed stays quick.
STALL_TIMEOUT = 1.0


async def open_imap(
    servers: MailServers, user: str, port: int, timeout: float = TIMEOUT
) -> AsyncMailbox:
    return await AsyncMailbox.open(
        f"imap://{user}@{servers.host}:{port}", password=servers.users[user],
        security="plaintext", allow_insecure_auth=True, timeout=timeout, connect_timeout=timeout,
    )  # fmt: skip


async def open_pop3(
    servers: MailServers, user: str, port: int, timeout: float = TIMEOUT
) -> AsyncMailbox:
    return await AsyncMailbox.open(
        f"pop3://{user}@{servers.host}:{port}", password=servers.users[user],
        security="plaintext", allow_insecure_auth=True, timeout=timeout, connect_timeout=timeout,
    )  # fmt: skip


async def snapshot(box: AsyncMailbox) -> Snapshot:
    """Every message of every folder of ``box``: (folder, content digest, flags)."""
    found: Snapshot = collections.Counter()
    for info in await box.folders():
        folder = box.folder(info.name)
        uids = [i.uid async for i in folder.search(fields=FetchField.UID)]
        async for message in folder.fetch(uids, FetchField.BODY | FetchField.FLAGS):
            assert message.body is not None
            flags = frozenset(message.flags or ()) - {Flag.RECENT}
            found[(info.name, digest(message.body), flags)] += 1
    return found


class Job(abc.ABC):
    """One seed of one job: the source seeded, a run, and the checks (see the module)."""

    #: The job's name (tools/faults.py --job).
    name: ClassVar[str]
    #: The ports the proxies stand in front of, by side.
    sides: ClassVar[tuple[str, ...]]

    def __init__(self, servers: MailServers, workdir: Path, plan: CutPlan) -> None:
        self.servers, self.workdir, self.plan = servers, workdir, plan
        workdir.mkdir(parents=True, exist_ok=True)
        for user in ("alice", "bob"):
            servers.clear(user)

    def target(self, side: str) -> int:
        """The server port behind the proxy of ``side``."""
        return self.servers.imap_port

    @abc.abstractmethod
    async def run(self, ports: dict[str, int], timeout: float = TIMEOUT) -> None:
        """One run of the job, reaching the servers through ``ports``, waiting at most
        ``timeout`` seconds for any one thing."""

    @abc.abstractmethod
    async def check_interrupted(self) -> None:
        """After a run that was cut: nothing twice, nothing lost so far."""

    @abc.abstractmethod
    async def check_complete(self, final: bool) -> None:
        """After a run that returned (``final``: and was not cut)."""


class Download(Job):
    """The POP3 download helper, "delete" mode, storing each message by its UIDL."""

    name = "download"
    sides = ("source",)

    def __init__(self, servers: MailServers, workdir: Path, plan: CutPlan) -> None:
        super().__init__(servers, workdir, plan)
        self.messages = make_messages(plan)
        for data, flags in zip(self.messages, draw_flags(plan, len(self.messages)), strict=True):
            servers.seed("alice", [data], flags=flags or None)
        self.stored: dict[str, bytes] = {}
        self.unannounced: list[str] = []  # handed over twice without possibly_delivered

    def target(self, side: str) -> int:
        return self.servers.pop3_port

    async def store(self, message: DownloadedMessage) -> None:
        if message.uid in self.stored and not message.possibly_delivered:
            self.unannounced.append(message.uid)
        self.stored[message.uid] = message.data

    async def run(self, ports: dict[str, int], timeout: float = TIMEOUT) -> None:
        async with await open_pop3(self.servers, "alice", ports["source"], timeout) as box:
            assert isinstance(box, AsyncPop3Mailbox)
            downloader = AsyncPop3Downloader(box, self.workdir / "download.sqlite3", delete=True)
            await downloader.run(self.store)

    async def check_interrupted(self) -> None:
        assert not self.unannounced, f"handed over twice unannounced: {self.unannounced}"
        kept = multiset(on_disk(self.servers, "alice")) + multiset(list(self.stored.values()))
        missing = multiset(self.messages) - kept
        assert not missing, f"deleted from the server but never stored: {missing}"

    async def check_complete(self, final: bool) -> None:
        await self.check_interrupted()
        assert multiset(list(self.stored.values())) == multiset(self.messages)
        if final:
            assert on_disk(self.servers, "alice") == [], "delivered messages left on the server"


class ImapToMaildir(Job):
    """``copy()`` of an IMAP account (INBOX, perhaps Archive) into a Maildir."""

    name = "imap-maildir"
    sides = ("source",)

    def __init__(self, servers: MailServers, workdir: Path, plan: CutPlan) -> None:
        super().__init__(servers, workdir, plan)
        self.expected = seed_imap(servers, plan)
        self.backup = workdir / "Maildir"

    async def run(self, ports: dict[str, int], timeout: float = TIMEOUT) -> None:
        async with await open_imap(self.servers, "alice", ports["source"], timeout) as source:
            async with await AsyncMailbox.open(f"maildir:{self.backup}") as target:
                result = await async_copy(source, target, state=self.workdir / "copy.sqlite3")
                assert result.failed == 0, f"failed: {result}"

    async def destination(self) -> Snapshot:
        async with await AsyncMailbox.open(f"maildir:{self.backup}") as target:
            return await snapshot(target)

    async def check_interrupted(self) -> None:
        twice = contents(await self.destination()) - contents(self.expected)
        assert not twice, f"in the destination more often than in the source: {twice}"

    async def check_complete(self, final: bool) -> None:
        assert await self.destination() == self.expected


class Pop3ToImap(Job):
    """``copy(..., delete_after=True)`` of a POP3 maildrop into another user's IMAP INBOX."""

    name = "pop3-imap"
    sides = ("source", "destination")

    def __init__(self, servers: MailServers, workdir: Path, plan: CutPlan) -> None:
        super().__init__(servers, workdir, plan)
        self.messages = make_messages(plan)
        servers.seed("alice", self.messages)

    def target(self, side: str) -> int:
        return self.servers.pop3_port if side == "source" else self.servers.imap_port

    async def run(self, ports: dict[str, int], timeout: float = TIMEOUT) -> None:
        async with await open_pop3(self.servers, "alice", ports["source"], timeout) as source:
            async with await open_imap(
                self.servers, "bob", ports["destination"], timeout
            ) as target:
                result = await async_copy(
                    source, target, state=self.workdir / "copy.sqlite3", delete_after=True
                )
                assert result.failed == 0, f"failed: {result}"

    async def stored(self) -> Snapshot:
        async with await open_imap(self.servers, "bob", self.servers.imap_port) as target:
            return await snapshot(target)

    async def check_interrupted(self) -> None:
        stored = contents(await self.stored())
        twice = stored - multiset(self.messages)
        assert not twice, f"in the destination more often than in the source: {twice}"
        missing = multiset(self.messages) - multiset(on_disk(self.servers, "alice")) - stored
        assert not missing, f"deleted from the source but not in the destination: {missing}"

    async def check_complete(self, final: bool) -> None:
        stored = await self.stored()
        assert contents(stored) == multiset(self.messages)
        assert all(flags == frozenset() for _, _, flags in stored), f"flags invented: {stored}"
        if final:
            assert on_disk(self.servers, "alice") == [], "copied messages left in the source"


class ImapToImap(Job):
    """``copy()`` of one IMAP account (INBOX, perhaps Archive) into another's."""

    name = "imap-imap"
    sides = ("source", "destination")
    #: Whether the copy is a move (``delete_after``): UID STORE \Deleted + UID EXPUNGE.
    move: ClassVar[bool] = False

    def __init__(self, servers: MailServers, workdir: Path, plan: CutPlan) -> None:
        super().__init__(servers, workdir, plan)
        self.expected = seed_imap(servers, plan)

    async def run(self, ports: dict[str, int], timeout: float = TIMEOUT) -> None:
        async with await open_imap(self.servers, "alice", ports["source"], timeout) as source:
            async with await open_imap(
                self.servers, "bob", ports["destination"], timeout
            ) as target:
                result = await async_copy(
                    source, target, state=self.workdir / "copy.sqlite3", delete_after=self.move
                )
                assert result.failed == 0, f"failed: {result}"

    async def read(self, user: str) -> Snapshot:
        async with await open_imap(self.servers, user, self.servers.imap_port) as box:
            return await snapshot(box)

    async def check_interrupted(self) -> None:
        stored = await self.read("bob")
        twice = by_folder(stored) - by_folder(self.expected)
        assert not twice, f"in the destination more often than in the source: {twice}"
        if self.move:
            kept = by_folder(await self.read("alice")) + by_folder(stored)
            missing = by_folder(self.expected) - kept
            assert not missing, f"deleted from the source but not in the destination: {missing}"

    async def check_complete(self, final: bool) -> None:
        assert await self.read("bob") == self.expected
        if self.move and final:
            left = await self.read("alice")
            assert not left, f"moved messages left in the source: {left}"


class MoveImapToImap(ImapToImap):
    """``copy(..., delete_after=True)`` of one IMAP account into another's: a move."""

    name = "imap-imap-move"
    move = True


JOBS: dict[str, type[Job]] = {
    job.name: job for job in (Download, ImapToMaildir, Pop3ToImap, ImapToImap, MoveImapToImap)
}


async def measure(
    job: type[Job], servers: MailServers, workdir: Path
) -> dict[str, tuple[int, int]]:
    """The bytes and server replies one whole run of ``job`` moves through each proxy."""
    seeded = job(servers, workdir, CutPlan(-1, {}))
    proxies = {side: ByteCutProxy(servers.host, seeded.target(side)) for side in job.sides}
    try:
        await seeded.run({side: proxy.port for side, proxy in proxies.items()})
    finally:
        for proxy in proxies.values():
            proxy.close()
    return {side: (proxy.forwarded, proxy.replies) for side, proxy in proxies.items()}


async def run_seed(
    job: type[Job], servers: MailServers, workdir: Path, plan: CutPlan
) -> tuple[int, int, int]:
    """Run one seed of ``job`` to completion; return how many runs it took, how many of them
    were cut, and how many of those stalled.

    Raises:
        AssertionError: a check failed (the message names the seed and the cuts).
    """
    seeded = job(servers, workdir, plan)
    history: list[str] = []
    cut_runs = stalled_runs = 0
    for number in range(MAX_RUNS):
        cuts = plan.cuts(number)
        proxies = {side: cuts.proxy(side, servers.host, seeded.target(side)) for side in job.sides}
        error: BaseException | None = None
        try:
            ports = {side: proxy.port for side, proxy in proxies.items()}
            await seeded.run(ports, STALL_TIMEOUT if cuts.stall else TIMEOUT)
        except RETRY as exc:
            error = exc
        finally:
            for proxy in proxies.values():
                proxy.close()
        cut = [side for side, proxy in proxies.items() if proxy.cut]
        cut_runs += bool(cut)
        stalled_runs += bool(cut) and cuts.stall
        history.append(f"run {number}: {cuts.describe()} -> {cut or 'none'}, {error!r}")
        where = f"job {job.name}, seed {plan.seed}: {'; '.join(history)}"
        # A run with the short timeout of stalls may also time out on a busy machine.
        if error is not None and not cut and not (cuts.stall and isinstance(error, Timeout)):
            raise AssertionError(f"{where}: failed without a cut")
        try:
            if error is not None:
                await seeded.check_interrupted()
            else:
                await seeded.check_complete(final=not cut)
        except AssertionError as failure:
            raise AssertionError(f"{where}: {failure}") from failure
        if error is None and not cut:
            return number + 1, cut_runs, stalled_runs
    raise AssertionError(f"job {job.name}, seed {plan.seed}: not done after {MAX_RUNS} runs")


async def run_seeds(
    job: type[Job],
    servers: MailServers,
    workdir: Path,
    seeds: Iterable[int],
    stall_rate: float = STALL_RATE,
    reply_rate: float = REPLY_RATE,
) -> Tally:
    """Run ``job`` for each seed; a failing seed is recorded and the next one runs.

    ``stall_rate`` is the share of the cut runs whose connections stall instead of closing,
    ``reply_rate`` the share cut as a server reply arrives rather than at a byte.
    """
    started = time.monotonic()
    tally = Tally()
    sizes = await measure(job, servers, workdir / "measure")
    for seed in seeds:
        tally.seeds += 1
        try:
            runs, cuts, stalls = await run_seed(
                job, servers, workdir / str(seed), CutPlan(seed, sizes, stall_rate, reply_rate)
            )
        except AssertionError as failure:
            tally.failures.append((seed, str(failure)))
        except Exception as exc:  # anything else escaping a job is a bug to report, too
            lines = traceback.format_exception(exc)
            tally.failures.append((seed, f"job {job.name}, seed {seed}: {''.join(lines)}"))
        else:
            tally.reruns += runs - 1
            tally.cuts += cuts
            tally.stalls += stalls
    tally.seconds = time.monotonic() - started
    return tally


@pytest.mark.anyio
@pytest.mark.parametrize("name", list(JOBS))
async def test_a_job_cut_anywhere_loses_and_duplicates_nothing(
    alice: MailServers, tmp_path: Path, name: str
) -> None:
    seeds = range(FIRST_SEED, FIRST_SEED + SEEDS)
    tally = await run_seeds(JOBS[name], alice, tmp_path, seeds)
    assert tally.failures == [], "\n".join(message for _, message in tally.failures)
    # The proxies did cut (a proxy that never cut would prove nothing).
    assert tally.cuts >= SEEDS // 2
