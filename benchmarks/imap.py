"""IMAP jobs: fetch the headers, then the whole bodies, of N messages seeded into Dovecot.

Every client logs in over implicit TLS, selects INBOX and fetches uids ``1:count`` with
``BODY.PEEK`` (nothing is marked seen), then logs out; one run includes the connection and
the login, as a script's run would. The wire limit sends one ``UID FETCH`` on a raw TLS
socket and reads to the tagged OK without parsing anything.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any

import anyio

import unimail
from unimail import FetchField, Q

from ._clients import optional, raw_tls, read_until
from ._env import Target
from ._harness import NOT_INSTALLED, NOT_OFFERED, RUN_TIMEOUT, Contender

__all__ = ["AIOIMAPLIB_RECURSION_LIMIT", "imap_contenders"]

_ITEMS = {
    "headers": "BODY.PEEK[HEADER]",
    "bodies": "BODY.PEEK[]",
    # The "headers" job: what a message list shows, parsed by the server.
    "envelopes": "ENVELOPE FLAGS UID RFC822.SIZE",
}
_FIELDS = {
    "headers": FetchField.UID | FetchField.HEADERS,
    "bodies": FetchField.UID | FetchField.BODY,
    "envelopes": FetchField.UID | FetchField.ENVELOPE | FetchField.FLAGS | FetchField.SIZE,
}


def _url(target: Target, port: int) -> str:
    return f"imaps://{target.user}@{target.host}:{port}"


def _unimail_sync(target: Target, port: int, count: int, what: str, search: bool) -> int:
    with unimail.Mailbox.open(
        _url(target, port), password=target.password, ssl_context=target.context()
    ) as box:
        folder = box.folder("INBOX")
        if search:
            # Uids 1..count, as the others fetch: Q.all() would take the whole mailbox, which
            # the warm-up round's 100 messages are not.
            query = Q.uid(range(1, count + 1))
            return sum(1 for _ in folder.search(query, fields=_FIELDS[what]))
        return sum(1 for _ in folder.fetch(range(1, count + 1), _FIELDS[what]))


async def _unimail_async(target: Target, port: int, count: int, what: str) -> int:
    async with unimail.AsyncMailbox.open(
        _url(target, port), password=target.password, ssl_context=target.context()
    ) as box:
        folder = box.folder("INBOX")
        handled = 0  # each result dropped as it is counted, as the sync row does
        async for _ in folder.fetch(range(1, count + 1), _FIELDS[what]):
            handled += 1
        return handled


def _imaplib(target: Target, port: int, count: int, what: str) -> int:
    import imaplib

    client = imaplib.IMAP4_SSL(target.host, port, ssl_context=target.context())
    try:
        client.login(target.user, target.password)
        client.select("INBOX")
        _, data = client.uid("FETCH", f"1:{count}", f"({_ITEMS[what]})")
        # One entry per response, or one per literal (ENVELOPE may hold several): a response
        # starts with its sequence number, a continuation does not.
        heads = (item[0] if isinstance(item, tuple) else item for item in data)
        return sum(1 for head in heads if isinstance(head, bytes) and head[:1].isdigit())
    finally:
        client.logout()


# Uids per imapclient command: 5,000 listed uids take at most 30 KB of the 64 KiB line.
_IMAPCLIENT_UIDS = 5_000


def _imapclient(module: Any, target: Target, port: int, count: int, what: str) -> int:
    client = module.IMAPClient(target.host, port=port, ssl=True, ssl_context=target.context())
    try:
        client.login(target.user, target.password)
        client.select_folder("INBOX")
        # imapclient takes a list of uids, not a range: it sends them comma-separated, and
        # 20,000 of them pass Dovecot's 64 KiB line limit ("BAD ... Too long argument"). Its
        # user must split the list, as here: a few commands more, a few round trips.
        uids = list(range(1, count + 1))
        fetched = 0
        for start in range(0, count, _IMAPCLIENT_UIDS):
            fetched += len(client.fetch(uids[start : start + _IMAPCLIENT_UIDS], [_ITEMS[what]]))
        return fetched
    finally:
        client.logout()


def _imap_tools(module: Any, target: Target, port: int, count: int, what: str) -> int:
    with module.MailBox(target.host, port=port, ssl_context=target.context()).login(
        target.user, target.password, "INBOX"
    ) as box:
        messages = box.fetch(
            f"UID 1:{count}", headers_only=what == "headers", mark_seen=False, bulk=True
        )
        return sum(1 for _ in messages)


#: aioimaplib parses the responses of one read recursively, one level per response: a read
#: holding more than a few hundred (a busy machine lets them pile up) raises RecursionError
#: inside asyncio's protocol callback and the command then hangs until its timeout. Measured
#: with this limit instead, and said so in the table.
AIOIMAPLIB_RECURSION_LIMIT = 20_000
AIOIMAPLIB_FULL = "left out of the full mode: one run of 20,000 did not end in 8 minutes"


def _run_aioimaplib(module: Any, target: Target, port: int, count: int, what: str) -> int:
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, AIOIMAPLIB_RECURSION_LIMIT))
    try:
        return asyncio.run(_aioimaplib(module, target, port, count, what))
    finally:
        sys.setrecursionlimit(previous)


async def _aioimaplib(module: Any, target: Target, port: int, count: int, what: str) -> int:
    lost = asyncio.Event()
    # aioimaplib's default command timeout (10 s) is too short for a large FETCH.
    client = module.IMAP4_SSL(
        host=target.host,
        port=port,
        ssl_context=target.context(),
        timeout=RUN_TIMEOUT,
    )
    client.protocol.conn_lost_cb = lambda exc: lost.set()  # IMAP4_SSL does not pass it on
    await client.wait_hello_from_server()
    await client.login(target.user, target.password)
    try:
        await client.select("INBOX")
        response = await client.uid("fetch", f"1:{count}", f"({_ITEMS[what]})")
        if response.result != "OK":
            raise RuntimeError(f"aioimaplib: {response}")
        return sum(1 for line in response.lines if b" FETCH (" in line[:40])
    finally:
        await client.logout()
        # LOGOUT does not always close the connection: close it, and wait until the TLS
        # shutdown is done, so no transport is left for the garbage collector to warn about.
        transport = getattr(client.protocol, "transport", None)
        if transport is not None and not transport.is_closing():
            transport.close()
        await asyncio.wait_for(lost.wait(), 10)


def _wire(target: Target, port: int, count: int, what: str) -> int:
    """Log in, select, one UID FETCH; read until the tagged OK, keeping nothing.

    The received bytes are only scanned (for the tagged OK, and to count the FETCH
    responses), never accumulated or parsed: the floor every client's time is compared with.
    """
    with raw_tls(target.host, port, target.context()) as sock:
        buffer = bytearray()
        read_until(sock, buffer, b"\r\n")
        password = target.password.replace("\\", "\\\\").replace('"', '\\"')
        sock.sendall(f'a LOGIN {target.user} "{password}"\r\nb SELECT INBOX\r\n'.encode())
        read_until(sock, buffer, b"\r\nb OK ")
        sock.sendall(f"c UID FETCH 1:{count} ({_ITEMS[what]})\r\n".encode())
        marker, counted = b"\r\nc OK ", b" FETCH ("
        scratch = memoryview(bytearray(1 << 18))
        handled, tail = 0, b""
        while True:
            received = sock.recv_into(scratch)
            if not received:
                raise ConnectionError("the server closed the connection")
            # The tail keeps one byte less than the longer pattern: a pattern cut by the end
            # of a chunk is found in the next window, and none is ever counted twice.
            window = tail + scratch[:received]
            handled += window.count(counted)
            if marker in window:
                break
            tail = window[-(max(len(marker), len(counted)) - 1) :]
        sock.sendall(b"d LOGOUT\r\n")
        read_until(sock, bytearray(), b"\r\nd OK ")
        return handled


def imap_contenders(
    target: Target, port: int, count: int, what: str, *, full: bool = True
) -> list[Contender]:
    """Every client fetching ``what`` ("headers", "bodies" or "envelopes") of uids 1..count
    via ``port``.

    ``full`` adds two unimail rows: ``search(Q.uid(1..N))`` instead of ``fetch(uids)``, and the
    async facade on trio besides asyncio.
    """
    runs: list[Contender] = [
        Contender(
            "unimail sync", "unimail", lambda: _unimail_sync(target, port, count, what, False)
        )
    ]
    if full:
        runs.append(
            Contender(
                "unimail sync, search(Q.uid(1..N))",
                "unimail",
                lambda: _unimail_sync(target, port, count, what, True),
            )
        )
    for backend in ("asyncio", "trio") if full else ("asyncio",):
        runs.append(
            Contender(
                f"unimail async ({backend})",
                "unimail",
                _in_loop(backend, lambda: _unimail_async(target, port, count, what)),
            )
        )
    runs.append(Contender("imaplib", "peer", lambda: _imaplib(target, port, count, what)))
    peers: list[tuple[str, str, Callable[[Any], int]]] = [
        ("imapclient", "imapclient", lambda m: _imapclient(m, target, port, count, what)),
        ("imap_tools", "imap_tools", lambda m: _imap_tools(m, target, port, count, what)),
        (
            "aioimaplib",
            "aioimaplib",
            lambda m: _run_aioimaplib(m, target, port, count, what),
        ),
    ]
    for name, module_name, call in peers:
        module = optional(module_name)
        if what == "envelopes" and name == "imap_tools":
            runs.append(Contender.missing(name, "peer", NOT_OFFERED))
        elif full and name == "aioimaplib":
            # Seen at 20,000 envelopes: one run neither finished nor failed in 8 minutes (its
            # own timeouts, then LOGOUT on a dead connection), and the harness's alarm is
            # swallowed inside asyncio's callbacks.
            runs.append(Contender.missing(name, "peer", AIOIMAPLIB_FULL))
        elif module is None:
            runs.append(Contender.missing(name, "peer", NOT_INSTALLED))
        else:
            # aioimaplib takes longer per message the larger the response (see the notes),
            # up to minutes per run: one measured round, 50 to 170 times the others' time.
            rounds = None if name != "aioimaplib" else 1
            runs.append(Contender(name, "peer", _bind(call, module), rounds=rounds))
    runs.append(Contender("limit: raw socket", "limit", lambda: _wire(target, port, count, what)))
    return runs


def _bind(call: Callable[[Any], int], module: Any) -> Callable[[], int]:
    return lambda: call(module)


def _in_loop(backend: str, make: Callable[[], Any]) -> Callable[[], int]:
    def run() -> int:
        async def main() -> int:
            result: int = await make()
            return result

        return anyio.run(main, backend=backend)

    return run
