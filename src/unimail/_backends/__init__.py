"""Byte streams: the only code in unimail that touches sockets and TLS.

- :mod:`._buffer`: :class:`ReceiveBuffer`, pure line / exact-size framing with limits (no I/O).
- :mod:`._trace`: the protocol trace (``C:`` / ``S:`` lines at DEBUG, secrets redacted).
- :mod:`._anyio`: :class:`AsyncStream`, the async stream on anyio (asyncio and trio);
  :mod:`._anyio_open` opens its connection, :mod:`._tls` is its TLS layer.
- :mod:`._socket`: :class:`SyncStream`, its hand-written blocking twin on ``socket`` + ``ssl``;
  the generated sync facade calls it wherever the async source calls :class:`AsyncStream`;
  :mod:`._socket_open` opens its connection, :mod:`._tls_sync` is its TLS layer.
- :mod:`._reasons`: how both name a peer and a failure in error messages.

Both streams have the same methods, properties, deadlines and error mapping: every wait has a
deadline (expiry raises ``Timeout``), every failure closes the stream, and a closed stream raises
``ConnectionLost`` on any further use.

The deadline rule for replies read piecewise (slowloris): the IMAP, POP3 and SMTP clients
assemble one reply (an IMAP response, a POP3 status line or CAPA/LIST/UIDL listing, an SMTP
reply, a greeting) from as many ``receive_some`` calls as it takes. Each such reply gets ONE
absolute deadline, taken with ``deadline()`` when reading it starts and passed to every
``receive_some`` for it: a server that trickles a byte now and then cannot keep a reply alive
past ``timeout``, however many receives it takes. Bulk data is the exception: the bytes of an
IMAP literal or of a POP3 message body (RETR, TOP) may be gigabytes that no ``timeout`` fits, so
each receive that brings some of them renews the deadline there: only a wait without progress
times out (``timeout`` is "the seconds each network operation may take", and receiving one piece
of a download is one operation). A literal or body trickled slowly is still bounded in size by
``Limits`` (or written straight to the caller's file).
"""
