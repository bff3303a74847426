"""SMTP jobs: send M messages of 2 KB, then of 1 MB, to Postfix over SMTPS.

Postfix delivers them to Dovecot over LMTP in the background; before every run the job waits
until the previous run's mail has been delivered and empties the mailbox, so each client
starts on an idle server. A run ends when the client has the final reply to its last message.

The limit writes everything at once on a raw TLS socket: ``MAIL``, ``RCPT`` and
``BDAT <size> LAST`` with the message (RFC 3030 CHUNKING and RFC 2920 PIPELINING, both offered
by Postfix), while it reads and counts the replies. The raw pool does the same on 8
connections at once (one thread each, an eighth of the messages each): the limit of the
pooled rows.

unimail's rows: ``send()`` in a loop (one round trip for the envelope, one for the content),
``send_many()`` on one connection (sync and async), and ``send_many()`` on the async
transport with ``max_connections=8``. Every unimail row logs in with ``auth="PLAIN"``, as the
limit does: the default, SCRAM-SHA-256, costs two more round trips and a PBKDF2 on both sides
for each connection, which is not what these jobs compare.
"""

from __future__ import annotations

import asyncio
import base64
import smtplib
import threading
from collections.abc import Callable
from typing import Any

import anyio

import unimail

from ._clients import exchange, optional, raw_tls, read_until, unimail_serves
from ._env import Target
from ._harness import NOT_IMPLEMENTED, NOT_INSTALLED, Contender

__all__ = ["SendLog", "smtp_contenders"]

# Connections of the pooled rows (unimail's send_many, aiosmtplib, the raw pool).
_POOL = 8


class SendLog:
    """Counts what was sent, so the next run can wait for its delivery (not timed)."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.sent = 0

    def settle(self) -> None:
        """Wait until everything sent was delivered, then empty the mailbox."""
        if self.sent:
            self.target.wait_delivered(self.sent)
        self.target.clear()
        self.sent = 0

    def done(self, count: int) -> int:
        """Record ``count`` messages sent; return it."""
        self.sent += count
        return count


def _url(target: Target, port: int) -> str:
    return f"smtps://{target.user}@{target.host}:{port}"


def _unimail(target: Target, port: int, messages: list[bytes], log: SendLog) -> list[Contender]:
    """The unimail rows: ``send()`` in a loop and ``send_many()``, sync and async; the pool."""
    if not unimail_serves("smtps", transport=True):
        return [
            Contender.missing("unimail sync", "unimail", NOT_IMPLEMENTED),
            Contender.missing("unimail async (asyncio)", "unimail", NOT_IMPLEMENTED),
        ]
    address = target.address
    url = _url(target, port)

    def run_sync() -> int:
        with unimail.Transport.open(
            url, password=target.password, ssl_context=target.context(), auth="PLAIN"
        ) as transport:
            for message in messages:
                transport.send(message, sender=address, recipients=[address])
        return log.done(len(messages))

    def run_sync_many() -> int:
        items = [unimail.OutgoingMessage.of(m, address, [address]) for m in messages]
        with unimail.SmtpTransport.open(
            url, password=target.password, ssl_context=target.context(), auth="PLAIN"
        ) as transport:
            results = transport.send_many(items)
        return log.done(_accepted(results))

    async def run_async() -> int:
        async with unimail.AsyncTransport.open(
            url, password=target.password, ssl_context=target.context(), auth="PLAIN"
        ) as transport:
            for message in messages:
                await transport.send(message, sender=address, recipients=[address])
        return log.done(len(messages))

    async def run_async_many(connections: int) -> int:
        items = [unimail.OutgoingMessage.of(m, address, [address]) for m in messages]
        async with unimail.AsyncSmtpTransport.open(
            url,
            password=target.password,
            ssl_context=target.context(),
            auth="PLAIN",
            max_connections=connections,
        ) as transport:
            results = await transport.send_many(items)
        return log.done(_accepted(results))

    def on_asyncio(connections: int) -> Callable[[], int]:
        return lambda: anyio.run(run_async_many, connections, backend="asyncio")

    return [
        Contender("unimail sync", "unimail", run_sync),
        Contender("unimail sync, send_many", "unimail", run_sync_many),
        Contender(
            "unimail async (asyncio)", "unimail", lambda: anyio.run(run_async, backend="asyncio")
        ),
        Contender("unimail async (asyncio), send_many", "unimail", on_asyncio(1)),
        Contender(
            f"unimail async (asyncio), send_many, {_POOL} connections",
            "unimail",
            on_asyncio(_POOL),
        ),
    ]


def _accepted(results: list[unimail.SendResult | unimail.UnimailError]) -> int:
    """How many messages the server took; the first failure, if any, is raised."""
    for result in results:
        if isinstance(result, unimail.UnimailError):
            raise result
    return len(results)


def _smtplib(target: Target, port: int, messages: list[bytes], log: SendLog) -> int:
    address = target.address
    with smtplib.SMTP_SSL(target.host, port, context=target.context()) as client:
        client.login(target.user, target.password)
        for message in messages:
            client.sendmail(address, [address], message)
    return log.done(len(messages))


async def _aiosmtplib(
    module: Any, target: Target, port: int, messages: list[bytes], connections: int
) -> int:
    address = target.address
    queue = list(reversed(messages))

    async def worker() -> int:
        sent = 0
        client = module.SMTP(
            hostname=target.host,
            port=port,
            use_tls=True,
            tls_context=target.context(),
            username=target.user,
            password=target.password,
        )
        async with client:
            while queue:
                await client.sendmail(address, [address], queue.pop())
                sent += 1
        return sent

    return sum(await asyncio.gather(*(worker() for _ in range(connections))))


def _wire(target: Target, port: int, messages: list[bytes], log: SendLog | None) -> int:
    address = target.address.encode()
    with raw_tls(target.host, port, target.context()) as sock:
        buffer = bytearray()
        read_until(sock, buffer, b"\r\n")
        sock.sendall(b"EHLO bench.example.test\r\n")
        read_until(sock, buffer, b"\r\n250 ")
        read_until(sock, buffer, b"\r\n")
        buffer.clear()
        token = base64.b64encode(f"\0{target.user}\0{target.password}".encode())
        sock.sendall(b"AUTH PLAIN " + token + b"\r\n")
        read_until(sock, buffer, b"\r\n")
        if not buffer.startswith(b"235"):
            raise RuntimeError(f"AUTH refused: {bytes(buffer)!r}")
        buffer.clear()

        commands = b"".join(
            b"MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nBDAT %d LAST\r\n%s"
            % (address, address, len(message), message)
            for message in messages
        )
        replies = bytearray()

        def on_data(chunk: memoryview) -> bool:
            replies.extend(chunk)
            return replies.count(b"\r\n") >= 3 * len(messages)

        exchange(sock, commands, on_data)
        refused = [line for line in bytes(replies).split(b"\r\n") if line[:1] in (b"4", b"5")]
        if refused:
            raise RuntimeError(f"refused: {refused[0]!r}")
        sock.sendall(b"QUIT\r\n")
    return log.done(len(messages)) if log is not None else len(messages)


def _wire_pool(target: Target, port: int, messages: list[bytes], log: SendLog) -> int:
    """The raw client on 8 connections at once: one thread each, an eighth of the messages."""
    shares = [messages[i::_POOL] for i in range(_POOL)]
    sent = [0] * _POOL

    def one(index: int) -> None:
        sent[index] = _wire(target, port, shares[index], None) if shares[index] else 0

    threads = [threading.Thread(target=one, args=(i,)) for i in range(_POOL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if sum(sent) != len(messages):
        raise RuntimeError(f"the raw pool sent {sum(sent)} of {len(messages)} messages")
    return log.done(len(messages))


def smtp_contenders(
    target: Target, port: int, messages: list[bytes], log: SendLog
) -> list[Contender]:
    """Every client sending ``messages`` (to the user itself) via ``port`` (SMTPS)."""
    runs = [
        *_unimail(target, port, messages, log),
        Contender("smtplib", "peer", lambda: _smtplib(target, port, messages, log)),
    ]
    module = optional("aiosmtplib")
    for connections in (1, _POOL):
        name = f"aiosmtplib, {connections} connection{'s' if connections > 1 else ''}"
        if module is None:
            runs.append(Contender.missing(name, "peer", NOT_INSTALLED))
            continue

        def run(connections: int = connections, module: Any = module) -> int:
            sent = asyncio.run(_aiosmtplib(module, target, port, messages, connections))
            return log.done(sent)

        runs.append(Contender(name, "peer", run))
    runs.append(
        Contender(
            "limit: raw socket, pipelined BDAT", "limit", lambda: _wire(target, port, messages, log)
        )
    )
    # The pool's own limit; a peer row, since each job has one limit (one connection).
    runs.append(
        Contender(
            f"raw socket, {_POOL} connections, pipelined BDAT",
            "peer",
            lambda: _wire_pool(target, port, messages, log),
        )
    )
    return runs
