"""The stream layer over TLS against scripted servers: implicit TLS verified, unknown CAs and
wrong host names refused, STARTTLS upgrades (refusing injected bytes, refused twice), replies
in many small records, closes without close_notify, resets.

This file is the source of tests/_sync/test_streams_tls.py (tools/unasync.py).
"""

from __future__ import annotations

import pytest

from tests.scripted_server import (
    Close,
    LocalCA,
    ReadLine,
    ReadUntilEOF,
    ScriptedServer,
    Send,
    StartTLS,
)
from unimail._backends._anyio import AsyncStream
from unimail._errors import (
    ConnectionLost,
    TLSError,
)

HOST = ScriptedServer.host


@pytest.fixture(scope="module")
def ca() -> LocalCA:
    """A private CA whose certificate names localhost and 127.0.0.1."""
    return LocalCA()


@pytest.mark.anyio
async def test_implicit_tls_verified(ca: LocalCA) -> None:
    script = [StartTLS(), Send(b"* OK secure\r\n"), ReadLine(b"a LOGOUT\r\n"), Close()]
    with ScriptedServer(script, ssl_context=ca.server_context()) as server:
        async with await AsyncStream.connect(
            HOST, server.port, tls=ca.client_context(), server_hostname="localhost"
        ) as stream:
            assert stream.is_tls
            assert await stream.read_line() == b"* OK secure\r\n"
            await stream.send(b"a LOGOUT\r\n")
        server.wait()
    assert server.errors == []
    assert server.received_plain == b""
    assert server.received_tls == b"a LOGOUT\r\n"


@pytest.mark.anyio
async def test_implicit_tls_with_an_unknown_ca(ca: LocalCA) -> None:
    other = LocalCA()
    with ScriptedServer([StartTLS(), ReadUntilEOF()], ssl_context=ca.server_context()) as server:
        with pytest.raises(TLSError, match="certificate verify failed"):
            await AsyncStream.connect(HOST, server.port, tls=other.client_context())
        server.wait()
    assert not server.tls_established
    assert server.received == b""  # no application byte left the client
    assert server.errors  # the server saw the handshake fail


@pytest.mark.anyio
async def test_implicit_tls_with_the_wrong_host_name(ca: LocalCA) -> None:
    with ScriptedServer([StartTLS(), ReadUntilEOF()], ssl_context=ca.server_context()) as server:
        with pytest.raises(TLSError, match=r"certificate verify failed: .*[Hh]ostname"):
            await AsyncStream.connect(
                HOST, server.port, tls=ca.client_context(), server_hostname="wrong.example"
            )
        server.wait()
    assert server.received == b""


@pytest.mark.anyio
async def test_starttls_upgrade(ca: LocalCA) -> None:
    script = [
        Send(b"* OK plain\r\n"),
        ReadLine(b"a STARTTLS\r\n"),
        Send(b"a OK begin TLS\r\n"),
        StartTLS(),
        ReadLine(b"b CAPABILITY\r\n"),
        Send(b"b OK secure\r\n"),
        ReadUntilEOF(),
    ]
    with ScriptedServer(script, ssl_context=ca.server_context()) as server:
        async with await AsyncStream.connect(HOST, server.port) as stream:
            assert await stream.read_line() == b"* OK plain\r\n"
            await stream.send(b"a STARTTLS\r\n")
            assert await stream.read_line() == b"a OK begin TLS\r\n"
            await stream.start_tls(ca.client_context(), "localhost")
            assert stream.is_tls
            await stream.send(b"b CAPABILITY\r\n")
            assert await stream.read_line() == b"b OK secure\r\n"
        server.wait()
    assert server.errors == []
    assert server.received_plain == b"a STARTTLS\r\n"
    assert server.received_tls == b"b CAPABILITY\r\n"


@pytest.mark.anyio
async def test_starttls_with_a_wrong_host_name(ca: LocalCA) -> None:
    script = [Send(b"+OK begin TLS\r\n"), StartTLS(), ReadUntilEOF()]
    with ScriptedServer(script, ssl_context=ca.server_context()) as server:
        stream = await AsyncStream.connect(HOST, server.port)
        assert await stream.read_line() == b"+OK begin TLS\r\n"
        with pytest.raises(TLSError, match="certificate verify failed"):
            await stream.start_tls(ca.client_context(), "wrong.example")
        assert stream.closed
        server.wait()
    assert server.received == b""


@pytest.mark.anyio
async def test_starttls_refuses_injected_bytes(ca: LocalCA) -> None:
    # CVE-2011-0411 class: plaintext sent after the go-ahead must not survive the upgrade.
    script = [
        ReadLine(b"a STARTTLS\r\n"),
        Send(b"a OK begin TLS\r\n* injected\r\n"),
        ReadUntilEOF(),
    ]
    with ScriptedServer(script, ssl_context=ca.server_context()) as server:
        stream = await AsyncStream.connect(HOST, server.port)
        await stream.send(b"a STARTTLS\r\n")
        assert await stream.read_line() == b"a OK begin TLS\r\n"
        with pytest.raises(TLSError, match="before the TLS handshake"):
            await stream.start_tls(ca.client_context(), "localhost")
        assert stream.closed
        with pytest.raises(ConnectionLost, match="connection is closed"):
            await stream.send(b"b LOGIN alice secret\r\n")
        server.wait()
    assert server.received == b"a STARTTLS\r\n"  # nothing was sent after the refusal
    assert not server.tls_established


@pytest.mark.anyio
async def test_starttls_twice_is_refused(ca: LocalCA) -> None:
    script = [Send(b"+OK begin TLS\r\n"), StartTLS(), ReadUntilEOF()]
    with ScriptedServer(script, ssl_context=ca.server_context()) as server:
        stream = await AsyncStream.connect(HOST, server.port)
        assert await stream.read_line() == b"+OK begin TLS\r\n"
        await stream.start_tls(ca.client_context(), "localhost")
        with pytest.raises(TLSError, match="already on"):
            await stream.start_tls(ca.client_context(), "localhost")
        assert stream.closed
        server.wait()
    assert server.received_tls == b""


@pytest.mark.anyio
async def test_tls_reply_in_many_small_records(ca: LocalCA) -> None:
    # Each Send is one TLS record: the reader must put them together in order, losing none.
    lines = [b"* %d " % n + b"x" * (n % 50) + b"\r\n" for n in range(300)]
    big = b"* big " + b"y" * 70_000 + b"\r\n"  # several full records
    script = [StartTLS(), *(Send(line) for line in lines), Send(big), ReadUntilEOF()]
    with ScriptedServer(script, ssl_context=ca.server_context()) as server:
        async with await AsyncStream.connect(
            HOST, server.port, tls=ca.client_context(), server_hostname="localhost"
        ) as stream:
            assert [await stream.read_line() for _ in lines] == lines
            assert await stream.read_exact(76) == big[:76]
            assert await stream.read_line() == big[76:]


@pytest.mark.anyio
async def test_tls_close_without_close_notify(ca: LocalCA) -> None:
    # Mail servers often close after their last reply without a TLS close_notify: the reply
    # is read, and only the read after it fails.
    script = [StartTLS(), ReadLine(b"a LOGOUT\r\n"), Send(b"* BYE\r\na OK bye\r\n"), Close()]
    with ScriptedServer(script, ssl_context=ca.server_context()) as server:
        stream = await AsyncStream.connect(
            HOST, server.port, tls=ca.client_context(), server_hostname="localhost"
        )
        await stream.send(b"a LOGOUT\r\n")
        assert await stream.read_line() == b"* BYE\r\n"
        assert await stream.read_line() == b"a OK bye\r\n"
        with pytest.raises(ConnectionLost, match="closed the connection"):
            await stream.read_line()
        assert stream.closed


@pytest.mark.anyio
async def test_tls_connection_reset(ca: LocalCA) -> None:
    script = [StartTLS(), Send(b"* OK"), Close(abort=True)]
    with ScriptedServer(script, ssl_context=ca.server_context()) as server:
        stream = await AsyncStream.connect(
            HOST, server.port, tls=ca.client_context(), server_hostname="localhost"
        )
        with pytest.raises(ConnectionLost):
            await stream.read_line()
        assert stream.closed
