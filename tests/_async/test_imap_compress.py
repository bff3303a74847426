"""COMPRESS=DEFLATE (RFC 4978) in the byte-stream layer: against Dovecot, and against a
scripted server that sends a decompression bomb and corrupt data.

This file is the source of tests/_sync/test_imap_compress.py (tools/unasync.py): the async
tests run AsyncStream on asyncio and trio, the generated ones run SyncStream.
"""

from __future__ import annotations

import zlib

import pytest

from mailservers import MailServers
from tests.scripted_server import Close, ScriptedServer, Send, Sleep
from unimail import AsyncImapMailbox, AsyncMailbox, FetchField
from unimail._backends._anyio import AsyncStream
from unimail._errors import LimitExceeded, ProtocolError
from unimail._options import Limits


def deflate(data: bytes) -> bytes:
    """What a server sends for ``data`` once compression is on (raw deflate, flushed)."""
    out = zlib.compressobj(9, zlib.DEFLATED, -15)
    return out.compress(data) + out.flush(zlib.Z_SYNC_FLUSH)


def message(number: int) -> bytes:
    words = " ".join(f"word{n % 97}" for n in range(number, number + 400))
    return (
        f"From: Bob <bob@example.test>\r\nTo: alice@example.test\r\n"
        f"Subject: compressed {number}\r\n\r\n{words}\r\n"
    ).encode()


async def read_until_tagged(stream: AsyncStream, tag: bytes) -> list[bytes]:
    """Read lines (and the literals they announce) until the tagged reply ``tag``."""
    lines: list[bytes] = []
    while True:
        line = await stream.read_line()
        lines.append(line)
        if line.endswith(b"}\r\n"):
            size = int(line[line.rindex(b"{") + 1 : -3])
            lines.append(await stream.read_exact(size))
        elif line.startswith(tag + b" "):
            assert line.startswith(tag + b" OK"), line
            return lines


@pytest.mark.anyio
async def test_dovecot_fetch_over_a_compressed_connection(alice: MailServers) -> None:
    bodies = [message(n) for n in range(30)]
    alice.seed("alice", bodies)
    password = alice.users["alice"].replace("\\", "\\\\").replace('"', '\\"')
    async with await AsyncStream.connect(
        alice.host, alice.imaps_port, tls=alice.ssl_context()
    ) as stream:
        await stream.read_line()  # greeting
        await stream.send(f'a LOGIN alice "{password}"\r\n'.encode())
        login = await read_until_tagged(stream, b"a")
        assert b"COMPRESS=DEFLATE" in b"".join(login)
        await stream.send(b"b COMPRESS DEFLATE\r\n")
        await read_until_tagged(stream, b"b")
        stream.start_compression()
        assert stream.compressed
        await stream.send(b"c SELECT INBOX\r\nd UID FETCH 1:* (BODY.PEEK[])\r\n")
        await read_until_tagged(stream, b"c")
        fetched = await read_until_tagged(stream, b"d")
        assert [item for item in fetched if item.startswith(b"From:")] == bodies
        with pytest.raises(ProtocolError, match="already on"):
            stream.start_compression()  # RFC 4978: once per connection
        await stream.send(b"e LOGOUT\r\n")
        assert (await stream.read_line()).startswith(b"* BYE")


@pytest.mark.anyio
async def test_decompression_bomb_meets_the_line_limit() -> None:
    # 256 MiB of "A" without a line end compresses to about 256 KiB: inflated in bounded
    # chunks, it meets max_line_length (1 MiB) long before memory runs out.
    zero = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = zero.compress(b"A" * (1 << 20))
    bomb = chunk + b"".join(zero.compress(b"A" * (1 << 20)) for _ in range(255))
    bomb += zero.flush(zlib.Z_SYNC_FLUSH)
    assert len(bomb) < (1 << 20)
    script = [Send(b"* OK ready\r\n"), Sleep(0.2), Send(bomb), Sleep(1.0), Close()]
    with ScriptedServer(script) as server:
        stream = await AsyncStream.connect(
            ScriptedServer.host, server.port, limits=Limits(max_line_length=1 << 20)
        )
        async with stream:
            assert await stream.read_line() == b"* OK ready\r\n"
            stream.start_compression()
            with pytest.raises(LimitExceeded):
                await stream.read_line()
            assert stream.closed


@pytest.mark.anyio
async def test_corrupt_compressed_data_is_a_protocol_error() -> None:
    script = [Send(b"\xff\xff\xff\xff not deflate at all\r\n"), Sleep(1.0), Close()]
    with ScriptedServer(script) as server:
        async with await AsyncStream.connect(ScriptedServer.host, server.port) as stream:
            stream.start_compression()
            with pytest.raises(ProtocolError, match="corrupt"):
                await stream.read_line()
            assert stream.closed


@pytest.mark.anyio
async def test_bytes_buffered_before_start_are_inflated() -> None:
    # The server may send its first compressed bytes in the same segment as the tagged OK.
    script = [Send(b"b OK DEFLATE active\r\n" + deflate(b"* 1 EXISTS\r\n")), Sleep(1.0), Close()]
    with ScriptedServer(script) as server:
        async with await AsyncStream.connect(ScriptedServer.host, server.port) as stream:
            assert await stream.read_line() == b"b OK DEFLATE active\r\n"
            stream.start_compression()
            assert await stream.read_line() == b"* 1 EXISTS\r\n"


@pytest.mark.anyio
async def test_mailbox_compress_then_every_operation_works(alice: MailServers) -> None:
    bodies = [message(n) for n in range(20)]
    alice.seed("alice", bodies)
    url = f"imaps://alice@{alice.host}:{alice.imaps_port}"
    async with AsyncMailbox.open(
        url, password=alice.users["alice"], ssl_context=alice.ssl_context()
    ) as box:
        assert isinstance(box, AsyncImapMailbox)
        await box.compress()
        await box.compress()  # a second call does nothing
        inbox = box.folder("INBOX")
        infos = [info async for info in inbox.search(fields=FetchField.UID | FetchField.BODY)]
        assert [info.body for info in infos] == bodies
        uid = await inbox.append(message(99))
        assert uid is not None and await inbox.get_bytes(uid) == message(99)
