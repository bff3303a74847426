"""POP3 job: download N messages from Dovecot over POP3S.

poplib sends one RETR and waits for its answer before the next: one round trip per message.
The limit logs in, then writes every RETR at once (RFC 2449 PIPELINING, which Dovecot offers)
while it reads and counts the answers' terminators.

unimail's POP3 backend is being written: :func:`_unimail` is the one place where it plugs in
(``Mailbox.open("pop3s://...")`` and the common Folder API); until ``pop3s`` is a registered
scheme the row says so instead of showing a figure.
"""

from __future__ import annotations

import poplib

import anyio

import unimail
from unimail import FetchField, Q

from ._clients import exchange, raw_tls, read_until, unimail_serves
from ._env import Target
from ._harness import NOT_IMPLEMENTED, Contender

__all__ = ["pop3_contenders"]


def _unimail_sync(target: Target, port: int, count: int) -> int:
    with unimail.Mailbox.open(
        f"pop3s://{target.user}@{target.host}:{port}",
        password=target.password,
        ssl_context=target.context(),
    ) as box:
        handled = 0
        for info in box.folder("INBOX").search(Q.all(), fields=FetchField.UID | FetchField.BODY):
            if info.body is None:
                raise RuntimeError("unimail POP3 returned a message without its body")
            handled += 1
            if handled == count:
                break
        return handled


async def _unimail_async(target: Target, port: int, count: int) -> int:
    async with unimail.AsyncMailbox.open(
        f"pop3s://{target.user}@{target.host}:{port}",
        password=target.password,
        ssl_context=target.context(),
    ) as box:
        handled = 0
        folder = box.folder("INBOX")
        async for info in folder.search(Q.all(), fields=FetchField.UID | FetchField.BODY):
            if info.body is None:
                raise RuntimeError("unimail POP3 returned a message without its body")
            handled += 1
            if handled == count:
                break
        return handled


def _unimail(target: Target, port: int, count: int) -> list[Contender]:
    """The hook: unimail's POP3 rows (sync and async), or "not yet implemented"."""
    if not unimail_serves("pop3s"):
        return [
            Contender.missing("unimail sync", "unimail", NOT_IMPLEMENTED),
            Contender.missing("unimail async (asyncio)", "unimail", NOT_IMPLEMENTED),
        ]

    async def run_async() -> int:
        return await _unimail_async(target, port, count)

    return [
        Contender("unimail sync", "unimail", lambda: _unimail_sync(target, port, count)),
        Contender(
            "unimail async (asyncio)",
            "unimail",
            lambda: anyio.run(run_async, backend="asyncio"),
        ),
    ]


def _poplib(target: Target, port: int, count: int) -> int:
    client = poplib.POP3_SSL(target.host, port, context=target.context())
    try:
        client.user(target.user)
        client.pass_(target.password)
        handled = 0
        for number in range(1, count + 1):
            _, lines, _ = client.retr(number)
            handled += bool(lines)
        return handled
    finally:
        client.quit()


def _wire(target: Target, port: int, count: int) -> int:
    """Every RETR written at once; count the ``CRLF . CRLF`` terminators of the answers."""
    with raw_tls(target.host, port, target.context()) as sock:
        buffer = bytearray()
        read_until(sock, buffer, b"\r\n")
        buffer.clear()
        sock.sendall(f"USER {target.user}\r\nPASS {target.password}\r\n".encode())
        end = read_until(sock, buffer, b"\r\n", since=0)
        read_until(sock, buffer, b"\r\n", since=end + 2)
        if not buffer.startswith(b"+OK") or not buffer[end + 2 :].startswith(b"+OK"):
            raise RuntimeError(f"POP3 login failed: {bytes(buffer[:200])!r}")
        commands = b"".join(b"RETR %d\r\n" % n for n in range(1, count + 1))
        handled, tail = 0, b""

        def on_data(chunk: memoryview) -> bool:
            nonlocal handled, tail
            window = tail + chunk
            handled += window.count(b"\r\n.\r\n")
            tail = window[-4:]
            return handled >= count

        exchange(sock, commands, on_data)
        sock.sendall(b"QUIT\r\n")
        return handled


def pop3_contenders(target: Target, port: int, count: int) -> list[Contender]:
    """Every client downloading messages 1..count via ``port`` (POP3S)."""
    return [
        *_unimail(target, port, count),
        Contender("poplib", "peer", lambda: _poplib(target, port, count)),
        Contender("limit: raw socket, RETR pipelined", "limit", lambda: _wire(target, port, count)),
    ]
