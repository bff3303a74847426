"""The protocol trace: every byte sent and received, logged at DEBUG on a standard logger.

Sent data is logged as ``C: ...`` and received data as ``S: ...`` (the notation of the RFCs'
examples), escaped like a ``bytes`` repr so that control characters and binary data stay on
one printable line, and truncated after :data:`MAX_SHOWN` bytes. The peer ("host:port") is in
the record's ``unimail_peer`` attribute for formatters that want it.

Secrets never reach the log: a send that carries a password, a token or an AUTH payload passes
a redacted form, which is logged *instead of* the real bytes; and what the server sends is
passed through the redactors the login code registered with :meth:`Trace.hide` (a server
may quote a refused password back). A secret never holds a line break, but may be cut by the
end of a receive: once redactors are registered, received data is logged a whole line at a
time (a partial line waits for the rest, for the next send or note, or for
:data:`MAX_HELD` bytes), so no secret is ever split over two entries. When a partial line
must be logged, a redactor's ``safe_cut`` keeps back its end where a secret may begin (or
lie across the cut); that end waits for the rest of its line. When DEBUG is disabled for the
logger, tracing costs one ``isEnabledFor`` call and formats nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

__all__ = ["DEFAULT_LOGGER_NAME", "MAX_HELD", "MAX_SHOWN", "Trace", "escape"]

#: The logger used when the caller passes none.
DEFAULT_LOGGER_NAME = "unimail.protocol"

#: How many bytes of one send or receive are shown before the rest is summarised.
MAX_SHOWN = 200

#: How many received bytes without a line break are held back before they are logged anyway
#: (a literal; a secret echoed by a server sits in a status line).
MAX_HELD = 8192


def escape(data: bytes, limit: int = MAX_SHOWN) -> str:
    """Return ``data`` as printable text: escaped like a bytes repr, truncated after ``limit``.

    >>> escape(b"a OK done\\r\\n")
    'a OK done\\\\r\\\\n'
    >>> escape(b"x" * 300, limit=3)
    'xxx... (300 bytes)'
    """
    shown = repr(bytes(data[:limit]))[2:-1]  # strip b'...' (or b"...") from the repr
    if len(data) > limit:
        shown += f"... ({len(data)} bytes)"
    return shown


class Trace:
    """Writes the protocol trace of one connection to ``logger`` at DEBUG."""

    def __init__(self, logger: logging.Logger | None, peer: str) -> None:
        """Trace the connection to ``peer`` on ``logger`` (default ``unimail.protocol``)."""
        self._logger = logger if logger is not None else logging.getLogger(DEFAULT_LOGGER_NAME)
        self._extra = {"unimail_peer": peer}
        self._redactors: list[Callable[[bytes], bytes]] = []
        self._cuts: list[Callable[[bytes], int]] = []
        self._held = b""  # received, not logged yet: the start of a line (see the module)

    def hide(
        self, redact: Callable[[bytes], bytes], safe_cut: Callable[[bytes], int] | None = None
    ) -> None:
        """Pass what the server sends through ``redact`` before it is logged, from now on
        (a login's ``Redactor.redact_bytes``: the secrets it learns later are hidden too).

        ``safe_cut(data)`` (``Redactor.safe_cut``) says where a partial line may be cut
        when it must be logged before its end; without it, it is logged whole.
        """
        self._redactors.append(redact)
        if safe_cut is not None:
            self._cuts.append(safe_cut)

    def sent(self, data: bytes, redacted: bytes | None = None) -> None:
        """Log ``data`` as sent by the client, or ``redacted`` instead when it is given."""
        if self._logger.isEnabledFor(logging.DEBUG):
            self._flush()
            shown = redacted if redacted is not None else data
            self._logger.debug("C: %s", escape(shown), extra=self._extra)

    def received(self, data: bytes) -> None:
        """Log ``data`` as received from the server."""
        if not self._logger.isEnabledFor(logging.DEBUG):
            return
        if self._redactors:
            data = self._held + data
            end = data.rfind(b"\n") + 1 or (self._cut(data) if len(data) > MAX_HELD else 0)
            data, self._held = data[:end], data[end:]
            if not data:
                return
        self._log_received(data)

    def note(self, text: str) -> None:
        """Log an event of the connection that is not data (connected, TLS started, closed)."""
        if self._logger.isEnabledFor(logging.DEBUG):
            self._flush()
            self._logger.debug("-- %s", text, extra=self._extra)

    def _flush(self) -> None:
        """Log the held start of a line (the client acts on it, so it is all there is), but
        for an end where a secret may begin."""
        if self._held:
            cut = self._cut(self._held)
            data, self._held = self._held[:cut], self._held[cut:]
            if data:
                self._log_received(data)

    def _cut(self, data: bytes) -> int:
        """Where the partial line ``data`` may be cut: see ``Redactor.safe_cut``."""
        return min((cut(data) for cut in self._cuts), default=len(data))

    def _log_received(self, data: bytes) -> None:
        for redact in self._redactors:
            data = redact(data)
        self._logger.debug("S: %s", escape(data), extra=self._extra)
