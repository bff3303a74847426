"""Byte streams: the only code in unimail that touches sockets and TLS.

- :mod:`._buffer`: :class:`ReceiveBuffer`, pure line / exact-size framing with limits (no I/O).
- :mod:`._trace`: the protocol trace (``C:`` / ``S:`` lines at DEBUG, secrets redacted).
- :mod:`._anyio`: :class:`AsyncStream`, the async stream on anyio (asyncio and trio).
- :mod:`._socket`: :class:`SyncStream`, its hand-written blocking twin on ``socket`` + ``ssl``;
  the generated sync facade calls it wherever the async source calls :class:`AsyncStream`.

Both streams have the same methods, properties, deadlines and error mapping: every wait has a
deadline (expiry raises ``Timeout``), every failure closes the stream, and a closed stream raises
``ConnectionLost`` on any further use.
"""
