"""Fault injection for the "faults that lose nothing" tests (tests/_async/test_faults_lossless.py,
tools/faults.py): a proxy that cuts the connection after a chosen number of bytes, the seeded
plan of where each run of a job is cut, and the seeded messages and their comparison.

The proxy (:class:`ByteCutProxy`) forwards plaintext bytes between a client and a real server
and counts every byte it forwards, in both directions and over all its connections. When the
count reaches ``cut_after`` it forwards the bytes up to that point (so a line, a literal or a
command can be cut in its middle), then shuts every connection down, and refuses the
connections that come after: the job sees a server that went away at an arbitrary byte. With
``cut_at_reply`` it cuts instead as the ``n``-th chunk of the server's bytes arrives, without
forwarding it: the server acted on a command and the client never hears of it, the worst
moment for a job (uniform byte offsets hit that window rarely, replies being short). With
``stall=True`` it keeps the connections open instead and forwards nothing more, in either
direction: the job sees a server that stopped answering (and must time out), and the server a
client that stopped talking, until the client gives up and closes.

A :class:`CutPlan` draws, from ``random.Random(seed)``, which side of a job is cut (the source,
the destination or both), at which byte and whether it stalls instead, for the first run and
for each re-run, so that a failure is replayed by its seed. The byte range of each side is
measured by running the job once through proxies that do not cut. The same random stream
draws the messages of the seed (:func:`make_messages`: small, some without Message-ID, some
identical twins) and their flags; a folder is compared as a :data:`Snapshot`, a multiset of
(folder, content digest, flags).
"""

from __future__ import annotations

import collections
import hashlib
import random
import socket
from collections.abc import Sequence

import attrs

from mailservers import MailServers
from tests.cutting_proxy import RelayProxy
from unimail import Flag

__all__ = [
    "ByteCutProxy", "CutPlan", "Sides", "Snapshot", "Tally", "by_folder", "contents", "digest",
    "draw_flags", "make_messages", "multiset", "on_disk", "seed_imap",
]  # fmt: skip

#: After this many runs of a job, the next one is never cut: every job completes.
MAX_CUT_RUNS = 4


class ByteCutProxy(RelayProxy):
    """Forwards 127.0.0.1:``port`` (see :attr:`port`) to ``host``:``target_port``, cutting
    (or with ``stall``, stalling) every connection once ``cut_after`` bytes went through, or
    as chunk number ``cut_at_reply`` (from 0) of the server's bytes arrives (None: never)."""

    def __init__(
        self,
        host: str,
        target_port: int,
        *,
        cut_after: int | None = None,
        cut_at_reply: int | None = None,
        stall: bool = False,
    ) -> None:
        self._cut_after, self._cut_at_reply, self._stall = cut_after, cut_at_reply, stall
        #: Bytes forwarded so far (both directions, every connection).
        self.forwarded = 0
        #: Chunks of the server's bytes forwarded so far (every connection).
        self.replies = 0
        super().__init__(host, target_port)

    def __enter__(self) -> ByteCutProxy:
        return self

    def _refuses(self) -> bool:
        # After a cut, a new connection gets nothing (a stalling proxy keeps it, silent).
        return self.cut and not self._stall

    def _pump(self, source: socket.socket, sink: socket.socket, from_server: bool) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            if not data:  # one side closed: so does the other
                self._shutdown([source, sink])
                return
            cutting = False
            with self._lock:
                faulted = self.cut
                if not faulted and self._cut_after is not None:
                    room = self._cut_after - self.forwarded
                    if len(data) >= room:
                        data, cutting = data[: max(room, 0)], True
                        self.cut = True
                if not faulted and from_server and self.replies == self._cut_at_reply:
                    data, cutting = b"", True
                    self.cut = True
                if not faulted:
                    self.forwarded += len(data)
                    self.replies += from_server and bool(data)
            if faulted:
                if self._stall:
                    continue  # swallowed: neither side hears from the other any more
                self._shutdown([source, sink])
                return
            if data:
                try:
                    sink.sendall(data)
                except OSError:
                    self._shutdown([source, sink])
                    return
            if cutting and not self._stall:
                with self._lock:
                    everything = list(self._sockets)
                self._shutdown(everything)
                return


@attrs.frozen
class Sides:
    """Where one run of a job is cut: an offset per side (None for a side not cut), whether it
    counts server replies (chunks) rather than bytes, and whether the connections stall there
    instead of closing."""

    source: int | None = None
    destination: int | None = None
    replies: bool = False
    stall: bool = False

    @property
    def any(self) -> bool:
        """True when this run is cut somewhere."""
        return self.source is not None or self.destination is not None

    def proxy(self, side: str, host: str, port: int) -> ByteCutProxy:
        """Start the proxy of ``side`` (``"source"`` or ``"destination"``) to ``host``:``port``,
        cutting where this run is cut."""
        offset: int | None = getattr(self, side)
        return ByteCutProxy(
            host, port, stall=self.stall, cut_after=None if self.replies else offset,
            cut_at_reply=offset if self.replies else None,
        )  # fmt: skip

    def describe(self) -> str:
        """Where the run is cut, in words (for a failure's message)."""
        if not self.any:
            return "nowhere"
        verb = "stalled" if self.stall else "cut"
        unit = "before server reply" if self.replies else "at byte"
        return ", ".join(
            f"{side} {verb} {unit} {offset}"
            for side, offset in (("source", self.source), ("destination", self.destination))
            if offset is not None
        )


class CutPlan:
    """The cuts of one seed: the first run is always cut, each re-run is cut or not by chance,
    and the runs after :data:`MAX_CUT_RUNS` are never cut.

    Args:
        seed: the seed of ``random.Random``; the same seed gives the same plan.
        sizes: the bytes and the server replies (chunks) one whole run of the job moves through
            each proxy (measured), by side (``"source"``, ``"destination"``); a side absent
            is never cut.
        stall_rate: the share of the cut runs whose connections stall instead of closing.
        reply_rate: the share of the cut runs cut before a server reply, not at a byte.
    """

    def __init__(
        self,
        seed: int,
        sizes: dict[str, tuple[int, int]],
        stall_rate: float = 0.0,
        reply_rate: float = 0.0,
    ) -> None:
        self.seed = seed
        self.random = random.Random(seed)
        self._sizes = sizes
        self._stall_rate, self._reply_rate = stall_rate, reply_rate

    def cuts(self, run: int) -> Sides:
        """Return where run number ``run`` (0: the first) is cut."""
        if run >= MAX_CUT_RUNS or (run > 0 and self.random.random() < 0.5):
            return Sides()
        sides = sorted(self._sizes)
        chosen = self.random.choice([*[[s] for s in sides], sides] if len(sides) > 1 else [sides])
        replies = self.random.random() < self._reply_rate
        offsets = {
            side: self.random.randrange(max(self._sizes[side][replies], 1)) for side in chosen
        }
        stall = self.random.random() < self._stall_rate
        return Sides(
            source=offsets.get("source"), destination=offsets.get("destination"),
            replies=replies, stall=stall,
        )  # fmt: skip


def digest(data: bytes) -> str:
    """The SHA-256 of a message in the canonical form (CRLF line endings), hex."""
    canonical = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
    return hashlib.sha256(canonical).hexdigest()


def multiset(items: Sequence[bytes]) -> collections.Counter[str]:
    """The messages ``items`` by content: a multiset of :func:`digest`."""
    return collections.Counter(digest(item) for item in items)


@attrs.define
class Tally:
    """What a batch of seeds did: seeds run, runs re-run, runs cut (of them, stalled),
    failures by seed."""

    seeds: int = 0
    reruns: int = 0
    cuts: int = 0
    stalls: int = 0
    failures: list[tuple[int, str]] = attrs.field(factory=list)
    seconds: float = 0.0


# The Maildir letters of the seeded flags, and what IMAP calls them.
_FLAG_LETTERS = {"S": Flag.SEEN, "F": Flag.FLAGGED, "R": Flag.ANSWERED, "D": Flag.DRAFT}
_FLAG_CHOICES = ["", "", "S", "FS", "RS", "D"]

#: The messages of a mailbox: (folder, :func:`digest` of the content, flags) -> how many.
Snapshot = collections.Counter[tuple[str, str, frozenset[Flag | str]]]


def make_messages(plan: CutPlan) -> list[bytes]:
    """A few small messages drawn from the seed, some without Message-ID, perhaps twins."""
    rng = plan.random
    messages = []
    for n in range(rng.randint(2, 4)):
        header = f"Message-ID: <{plan.seed}.{n}@faults.example.test>\r\n"
        if rng.random() < 0.25:
            header = ""
        body = "".join(f"line {rng.randrange(10**9)}\r\n" for _ in range(rng.randint(1, 4)))
        if rng.random() < 0.2:
            body += ".a line starting with a dot\r\n"
        messages.append(
            f"From: bob@example.test\r\nTo: alice@example.test\r\n"
            f"Subject: seed {plan.seed} number {n}\r\n{header}"
            f"Date: Fri, 27 Nov 2026 10:00:00 +0000\r\n\r\n{body}".encode()
        )
    if rng.random() < 0.3:
        messages.append(messages[rng.randrange(len(messages))])  # an identical twin
    return messages


def draw_flags(plan: CutPlan, count: int) -> list[str]:
    """Maildir flag letters for ``count`` messages; neighbours often share them, so that
    MULTIAPPEND rounds form."""
    flags: list[str] = []
    for _ in range(count):
        if flags and plan.random.random() < 0.5:
            flags.append(flags[-1])
        else:
            flags.append(plan.random.choice(_FLAG_CHOICES))
    return flags


def on_disk(servers: MailServers, user: str) -> list[bytes]:
    """The messages in ``user``'s INBOX, read from the Maildir files Dovecot keeps.

    The session of a cut connection may still be moving files from ``new/`` to ``cur/`` (or
    deleting them, when its QUIT got through): a file is keyed by its unique name (the part
    before ``:2,``, the same in both directories), and the listing is read again when a file
    vanished under it.
    """
    root = servers.maildir(user)
    for _ in range(20):
        found: dict[str, bytes] = {}
        try:
            for sub in ("new", "cur"):
                for path in sorted((root / sub).iterdir()):
                    found[path.name.partition(":")[0]] = path.read_bytes()
        except FileNotFoundError:
            continue
        return list(found.values())
    raise AssertionError(f"{root} keeps changing")


def contents(found: Snapshot) -> collections.Counter[str]:
    """A snapshot without folders and flags: digest counts."""
    counts: collections.Counter[str] = collections.Counter()
    for (_, sha, _), n in found.items():
        counts[sha] += n
    return counts


def by_folder(found: Snapshot) -> collections.Counter[tuple[str, str]]:
    """A snapshot without the flags: (folder, digest) counts."""
    counts: collections.Counter[tuple[str, str]] = collections.Counter()
    for (folder, sha, _), n in found.items():
        counts[(folder, sha)] += n
    return counts


def seed_imap(servers: MailServers, plan: CutPlan) -> Snapshot:
    """Seed alice's INBOX (and, for some seeds, Archive) with flagged messages; return what
    the copy must reproduce."""
    expected: Snapshot = collections.Counter()
    folders = ["INBOX", "Archive"] if plan.random.random() < 0.4 else ["INBOX"]
    for folder in folders:
        messages = make_messages(plan)
        if folder != "INBOX":
            messages = messages[:2]
        for data, letters in zip(messages, draw_flags(plan, len(messages)), strict=True):
            servers.seed("alice", [data], folder=folder, flags=letters or None)
            flags = frozenset(_FLAG_LETTERS[letter] for letter in letters)
            expected[(folder, digest(data), flags)] += 1
    return expected
