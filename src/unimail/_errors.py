"""The one exception tree of unimail.

Every error the library raises is an :class:`UnimailError`. Each subclass says whose fault it
was: the caller's (:class:`InvalidArgument`, raised before any byte is sent), the server's
(:class:`ProtocolError`, :class:`CommandError`), the network's (:class:`ConnectError`,
:class:`ConnectionLost`, :class:`Timeout`) or the security policy's (:class:`TLSError`,
:class:`AuthenticationError`). Raw exceptions (``OSError``, ``ssl.SSLError``,
``UnicodeDecodeError``, ``IndexError``, ...) are translated where they enter the library.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "AuthenticationError",
    "CommandError",
    "ConnectError",
    "ConnectionLost",
    "DeliveryUncertain",
    "FolderNotFound",
    "InvalidArgument",
    "LimitExceeded",
    "ProtocolError",
    "SendError",
    "TLSError",
    "Timeout",
    "UnimailError",
    "UnsupportedOperation",
]

# Server text is shown to people and written to logs: keep it printable and short.
_MAX_TEXT = 500


def sanitize(text: str | bytes) -> str:
    """Return server-provided ``text`` safe to show: printable, one line, bounded length."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in text)
    if len(cleaned) > _MAX_TEXT:
        cleaned = cleaned[:_MAX_TEXT] + "..."
    return cleaned


class UnimailError(Exception):
    """Base class of every error raised by unimail."""


class ConnectError(UnimailError, ConnectionError):
    """The connection to the server could not be established (refused, unreachable, DNS)."""


class ConnectionLost(UnimailError, ConnectionError):
    """The peer closed the connection or it broke in the middle of an operation.

    The connection is closed afterwards; every further use raises again.
    """


class DeliveryUncertain(ConnectionLost):
    """The connection broke (or the server stalled) after a whole message was written and
    before the server's final reply to it was read: it may or may not have been delivered.

    Only an SMTP send raises it. Every other error of a send means the message was *not*
    delivered, so "resend what failed" is safe for those; a message that raised this one must
    not be resent blindly (it would arrive twice if the server had taken it): check the
    recipient's mailbox, or resend knowing that it may be a duplicate. The error that broke
    the connection is its ``__cause__``. The connection is closed afterwards.

    Attributes:
        uncertain: the recipients that may or may not have the message.
        accepted: recipients that certainly have it (direct MX delivery: other domains'
            hosts, which accepted it before or after the uncertain one).
        refused: recipients that certainly do not have it, mapped to ``(code, text)``.
    """

    def __init__(
        self,
        message: str,
        *,
        uncertain: tuple[str, ...] = (),
        accepted: tuple[str, ...] = (),
        refused: Mapping[str, tuple[int, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.uncertain = uncertain
        self.accepted = accepted
        self.refused = dict(refused or {})


class Timeout(UnimailError, TimeoutError):
    """A deadline passed: the server did not answer in time. The connection is closed."""


class TLSError(UnimailError):
    """TLS could not be established as the security settings require.

    Raised for a certificate that does not verify, a failed handshake, STARTTLS missing or
    refused, bytes received before the handshake (response injection), or an IMAP PREAUTH
    greeting on a connection that must be upgraded first.
    """


class AuthenticationError(UnimailError):
    """The server refused the credentials, no acceptable mechanism exists, or the credentials
    would have travelled unencrypted without the explicit opt-in."""


class ProtocolError(UnimailError):
    """The server sent something malformed or out of state. The connection is closed."""


class LimitExceeded(ProtocolError):
    """A configured bound (line length, literal size, nesting depth, response size) was passed.

    The connection is closed: the rest of the response is never read into memory.
    """


class CommandError(UnimailError):
    """The server refused a command (IMAP NO/BAD, POP3 -ERR, SMTP 4xx/5xx).

    Attributes:
        code: the status as the protocol names it (``"NO"``, ``"BAD"``, ``"-ERR"``, ``"550"``).
        enhanced_code: the RFC 3463 enhanced status code or IMAP response code, when given.
        text: the server's human-readable text, sanitised (printable, bounded).
        temporary: True when trying again later may succeed (SMTP 4xx, IMAP ``[UNAVAILABLE]``,
            POP3 ``[SYS/TEMP]`` / ``[IN-USE]`` / ``[LOGIN-DELAY]``).
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        enhanced_code: str | None = None,
        text: str = "",
        temporary: bool = False,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.enhanced_code = enhanced_code
        self.text = sanitize(text)
        self.temporary = temporary


class FolderNotFound(CommandError):
    """The named folder does not exist on the server."""


class SendError(CommandError):
    """No recipient accepted the message (or the transaction failed as a whole).

    Attributes:
        accepted: the recipients the server accepted before the transaction failed.
        refused: maps each refused recipient to ``(code, text)``.
    """

    def __init__(
        self,
        message: str,
        *,
        accepted: tuple[str, ...] = (),
        refused: Mapping[str, tuple[int, str]] | None = None,
        code: str = "",
        enhanced_code: str | None = None,
        text: str = "",
        temporary: bool = False,
    ) -> None:
        super().__init__(
            message, code=code, enhanced_code=enhanced_code, text=text, temporary=temporary
        )
        self.accepted = accepted
        self.refused = dict(refused or {})


class UnsupportedOperation(UnimailError):
    """This backend or server cannot do what was asked.

    Attributes:
        capability: the name of the missing capability (e.g. ``"FOLDERS"``, ``"MOVE"``).
    """

    def __init__(self, message: str, *, capability: str = "") -> None:
        super().__init__(message)
        self.capability = capability


class InvalidArgument(UnimailError, ValueError):
    """Bad caller input, detected before any byte was sent.

    Examples: a CR, LF or NUL in a folder name, a malformed address, a uid list from a previous
    UIDVALIDITY.
    """
