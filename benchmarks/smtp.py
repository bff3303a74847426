"""SMTP jobs: send M messages of 2 KB, then of 1 MB, to Postfix over SMTPS, one session each.

Postfix delivers them to Dovecot over LMTP in the background; before every run the job waits
until the previous run's mail has been delivered and empties the mailbox, so each client
starts on an idle server. A run ends when the client has the final reply to its last message.

The limit writes everything at once on a raw TLS socket: ``MAIL``, ``RCPT`` and
``BDAT <size> LAST`` with the message (RFC 3030 CHUNKING and RFC 2920 PIPELINING, both offered
by Postfix), while it reads and counts the replies.

unimail's SMTP transport is being written: :func:`_unimail` is the one place where it plugs in
(``Transport.open("smtps://...")`` and ``send(bytes, sender=, recipients=)``); until ``smtps``
is a registered scheme the rows say so instead of showing a figure.
"""

from __future__ import annotations

import asyncio
import base64
import smtplib
from typing import Any

import anyio

import unimail

from ._clients import exchange, optional, raw_tls, read_until, unimail_serves
from ._env import Target
from ._harness import NOT_IMPLEMENTED, NOT_INSTALLED, Contender

__all__ = ["SendLog", "smtp_contenders"]


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
    """The hook: unimail's SMTP rows (sync and async), or "not yet implemented"."""
    if not unimail_serves("smtps", transport=True):
        return [
            Contender.missing("unimail sync", "unimail", NOT_IMPLEMENTED),
            Contender.missing("unimail async (asyncio)", "unimail", NOT_IMPLEMENTED),
        ]
    address = target.address

    def run_sync() -> int:
        with unimail.Transport.open(
            _url(target, port), password=target.password, ssl_context=target.context()
        ) as transport:
            for message in messages:
                transport.send(message, sender=address, recipients=[address])
        return log.done(len(messages))

    async def run_async() -> int:
        async with unimail.AsyncTransport.open(
            _url(target, port), password=target.password, ssl_context=target.context()
        ) as transport:
            for message in messages:
                await transport.send(message, sender=address, recipients=[address])
        return log.done(len(messages))

    return [
        Contender("unimail sync", "unimail", run_sync),
        Contender(
            "unimail async (asyncio)", "unimail", lambda: anyio.run(run_async, backend="asyncio")
        ),
    ]


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


def _wire(target: Target, port: int, messages: list[bytes], log: SendLog) -> int:
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
    for connections in (1, 8):
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
    return runs
