"""AsyncStream against a scripted server: framing, deadlines, errors, trace (TLS and STARTTLS
are in test_streams_tls.py).

This file is the source of tests/_sync/test_streams.py (tools/unasync.py): it uses anyio only
through the stream, and the server side runs in the scripted server's thread.
"""

from __future__ import annotations

import logging
import time

import anyio  # unasync: remove
import pytest

from tests.scripted_server import (
    Close,
    LocalCA,
    ReadLine,
    ReadUntilEOF,
    ScriptedServer,
    Send,
    Sleep,
    StalledListener,
    Trickle,
    unused_port,
)
from unimail._backends._anyio import AsyncStream
from unimail._errors import (
    ConnectError,
    ConnectionLost,
    InvalidArgument,
    LimitExceeded,
    Timeout,
)
from unimail._options import Limits

HOST = ScriptedServer.host


@pytest.fixture(scope="module")
def ca() -> LocalCA:
    """A private CA whose certificate names localhost and 127.0.0.1."""
    return LocalCA()


@pytest.mark.anyio
async def test_read_line_and_read_exact() -> None:
    script = [Send(b"* OK ready\r\n* 1 FETCH (BODY[] {5}\r\nhello)\r\n"), Close()]
    with ScriptedServer(script) as server:
        async with await AsyncStream.connect(HOST, server.port) as stream:
            assert stream.peer == f"127.0.0.1:{server.port}"
            assert not stream.is_tls
            assert await stream.read_line() == b"* OK ready\r\n"
            assert await stream.read_line() == b"* 1 FETCH (BODY[] {5}\r\n"
            assert await stream.read_exact(5) == b"hello"
            assert await stream.read_exact(0) == b""
            assert await stream.read_line() == b")\r\n"
        assert stream.closed
    assert server.errors == []


@pytest.mark.anyio
async def test_send_reaches_the_server() -> None:
    script = [ReadLine(b"a NOOP\r\n"), Send(b"a OK\r\n"), ReadUntilEOF()]
    with ScriptedServer(script) as server:
        async with await AsyncStream.connect(HOST, server.port) as stream:
            await stream.send(b"a NOOP\r\n")
            assert await stream.read_line() == b"a OK\r\n"
        server.wait()
    assert server.errors == []
    assert server.received == b"a NOOP\r\n"


@pytest.mark.anyio
async def test_read_exact_with_invalid_sizes() -> None:
    with ScriptedServer([Send(b"x" * 20), ReadUntilEOF()]) as server:
        stream = await AsyncStream.connect(HOST, server.port, limits=Limits(max_literal_size=10))
        with pytest.raises(InvalidArgument):
            await stream.read_exact(-1)
        assert not stream.closed  # caller error: nothing was read, the stream is intact
        assert await stream.read_exact(10) == b"x" * 10
        with pytest.raises(LimitExceeded, match="max_literal_size"):
            await stream.read_exact(11)
        assert stream.closed


@pytest.mark.anyio
async def test_receive_some_returns_buffered_bytes_first() -> None:
    with ScriptedServer([Send(b"line\r\nrest"), Sleep(0.2), Send(b"more"), Close()]) as server:
        async with await AsyncStream.connect(HOST, server.port) as stream:
            assert await stream.read_line() == b"line\r\n"
            received = b""
            while received != b"restmore":  # TCP may split "rest" and "more" anywhere
                chunk = await stream.receive_some()
                assert chunk
                received += chunk
            with pytest.raises(ConnectionLost, match="closed the connection"):
                await stream.receive_some()
            assert stream.closed
        server.wait()
    assert server.errors == []


async def receive_until_error(stream: AsyncStream, deadline: float, received: list[bytes]) -> None:
    """Call ``receive_some(deadline)`` until it raises, keeping what it returned."""
    while True:
        received.append(await stream.receive_some(deadline))


@pytest.mark.anyio
async def test_one_deadline_for_a_trickled_reply() -> None:
    # Every byte comes well within the stream's timeout, but the reply as a whole does not:
    # receive_some(deadline) with one deadline taken at the start ends it (slow loris).
    script = [Trickle(b"x" * 40, 0.1), ReadUntilEOF()]
    with ScriptedServer(script) as server:
        async with await AsyncStream.connect(HOST, server.port, timeout=0.5) as stream:
            deadline = stream.deadline()
            assert deadline is not None
            received: list[bytes] = []
            with pytest.raises(Timeout):
                await receive_until_error(stream, deadline, received)
            # Several bytes came (no single wait reached the timeout), not all 40 (4 s).
            assert 2 <= len(b"".join(received)) < 40


@pytest.mark.anyio
async def test_buffered_bytes_are_returned_after_the_deadline() -> None:
    with ScriptedServer([Send(b"x\r\nyz"), ReadUntilEOF()]) as server:
        async with await AsyncStream.connect(HOST, server.port, timeout=0.2) as stream:
            deadline = stream.deadline()
            # One write on the loopback arrives as one segment: "yz" is buffered after this.
            assert await stream.read_line() == b"x\r\n"
            await anyio.sleep(0.3)  # unasync: time.sleep(0.3)
            assert await stream.receive_some(deadline) == b"yz"
            with pytest.raises(Timeout):
                await stream.receive_some(deadline)


@pytest.mark.anyio
async def test_read_deadline_on_a_silent_server() -> None:
    with ScriptedServer([Sleep(10)]) as server:
        stream = await AsyncStream.connect(HOST, server.port, timeout=0.2)
        started = time.monotonic()
        with pytest.raises(Timeout, match="reading a line"):
            await stream.read_line()
        assert time.monotonic() - started < 2
        assert stream.closed
        with pytest.raises(ConnectionLost, match="connection is closed"):
            await stream.read_line()


@pytest.mark.anyio
async def test_trickle_past_the_deadline() -> None:
    # Each byte comes well within the deadline; the line as a whole does not.
    with ScriptedServer([Trickle(b"* OK " + b"x" * 200 + b"\r\n", 0.01)]) as server:
        stream = await AsyncStream.connect(HOST, server.port, timeout=0.3)
        started = time.monotonic()
        with pytest.raises(Timeout):
            await stream.read_line()
        assert time.monotonic() - started < 1.5
        assert stream.closed


@pytest.mark.anyio
async def test_eof_in_the_middle_of_a_line() -> None:
    with ScriptedServer([Send(b"* OK incompl"), Close()]) as server:
        stream = await AsyncStream.connect(HOST, server.port)
        with pytest.raises(ConnectionLost, match="closed the connection"):
            await stream.read_line()
        assert stream.closed


@pytest.mark.anyio
async def test_eof_before_an_exact_read_completes() -> None:
    with ScriptedServer([Send(b"abc"), Close()]) as server:
        stream = await AsyncStream.connect(HOST, server.port)
        with pytest.raises(ConnectionLost):
            await stream.read_exact(10)
        assert stream.closed


@pytest.mark.anyio
async def test_connection_reset() -> None:
    script = [ReadLine(b"a NOOP\r\n"), Send(b"* OK\r\n"), Close(abort=True)]
    with ScriptedServer(script) as server:
        stream = await AsyncStream.connect(HOST, server.port)
        await stream.send(b"a NOOP\r\n")  # the server resets only once connected for sure
        server.wait()
        with pytest.raises(ConnectionLost):  # the greeting may be read or lost to the reset
            await stream.read_exact(100)
        assert stream.closed


@pytest.mark.anyio
async def test_connect_refused() -> None:
    port = unused_port()
    with pytest.raises(ConnectError, match=f"127.0.0.1:{port}.*[Rr]efused"):
        await AsyncStream.connect(HOST, port)


@pytest.mark.anyio
async def test_connect_deadline() -> None:
    with StalledListener() as stalled:
        started = time.monotonic()
        with pytest.raises(Timeout, match=f"127.0.0.1:{stalled.port}"):
            await AsyncStream.connect(HOST, stalled.port, connect_timeout=0.3)
        assert time.monotonic() - started < 2


@pytest.mark.anyio
async def test_line_too_long() -> None:
    with ScriptedServer([Send(b"* " + b"x" * 1000), ReadUntilEOF()]) as server:
        stream = await AsyncStream.connect(HOST, server.port, limits=Limits(max_line_length=100))
        with pytest.raises(LimitExceeded, match="max_line_length"):
            await stream.read_line()
        assert stream.closed


@pytest.mark.anyio
async def test_every_operation_fails_after_close(ca: LocalCA) -> None:
    with ScriptedServer([Send(b"* OK\r\n"), ReadUntilEOF()]) as server:
        stream = await AsyncStream.connect(HOST, server.port)
        await stream.aclose()
        await stream.aclose()  # idempotent
        assert stream.closed
        # One statement per operation: a closed stream refuses each of them.
        with pytest.raises(ConnectionLost, match="connection is closed"):
            await stream.read_line()
        with pytest.raises(ConnectionLost, match="connection is closed"):
            await stream.read_exact(1)
        with pytest.raises(ConnectionLost, match="connection is closed"):
            await stream.receive_some()
        with pytest.raises(ConnectionLost, match="connection is closed"):
            await stream.send(b"a NOOP\r\n")
        with pytest.raises(ConnectionLost, match="connection is closed"):
            await stream.start_tls(ca.client_context(), "localhost")
        server.wait()
    assert server.received == b""


@pytest.mark.anyio
async def test_trace_shows_the_redacted_form_only(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="unimail.protocol")
    script = [ReadLine(), Send(b"a OK LOGIN done\r\n"), ReadUntilEOF()]
    with ScriptedServer(script) as server:
        async with await AsyncStream.connect(HOST, server.port) as stream:
            await stream.send(b"a LOGIN alice hunter2\r\n", redacted=b"a LOGIN alice ****\r\n")
            assert await stream.read_line() == b"a OK LOGIN done\r\n"
        server.wait()
    assert server.lines == [b"a LOGIN alice hunter2\r\n"]  # the real bytes went out
    messages = [record.getMessage() for record in caplog.records]
    assert "C: a LOGIN alice ****\\r\\n" in messages
    assert "S: a OK LOGIN done\\r\\n" in messages
    assert "hunter2" not in caplog.text
    assert all(record.levelno == logging.DEBUG for record in caplog.records)


@pytest.mark.anyio
async def test_trace_truncates_long_data(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="unimail.protocol")
    with ScriptedServer([Send(b"y" * 1000 + b"\r\n"), ReadUntilEOF()]) as server:
        async with await AsyncStream.connect(HOST, server.port) as stream:
            await stream.read_line()
        server.wait()
    assert "S: " + "y" * 200 + "... (1002 bytes)" in caplog.text
