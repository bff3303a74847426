"""Frozen configuration values: security mode, limits, and the options of ``open()``.

These are plain values: no I/O, no parsing in ``__init__``. :func:`make_options` is the one
place where the keyword arguments of ``Mailbox.open`` / ``Transport.open`` are checked.
"""

from __future__ import annotations

import enum
import logging
import ssl
from collections.abc import Awaitable, Callable

import attrs

from ._errors import InvalidArgument
from ._url import MailURL
from ._validate import check_wire_text

__all__ = ["Limits", "Options", "Security", "TokenProvider", "make_options"]

#: An OAuth2 access-token provider: called (and awaited when it returns an awaitable) for a
#: fresh token, and called again when the server rejects an expired one.
TokenProvider = Callable[[], "str | Awaitable[str]"]

_MiB = 1024 * 1024


class Security(str, enum.Enum):
    """How a connection is protected.

    ``TLS`` is implicit TLS from the first byte (imaps, pop3s, smtps); ``STARTTLS`` requires the
    in-protocol upgrade and fails if the server does not offer it; ``PLAINTEXT`` is the one,
    loudly named opt-out: no encryption at all.
    """

    TLS = "tls"
    STARTTLS = "starttls"
    PLAINTEXT = "plaintext"


def _positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise InvalidArgument(f"Limits.{attribute.name} must be a positive int, got {value!r}")


@attrs.frozen(kw_only=True)
class Limits:
    """Bounds on what the library reads from a server; passing one raises ``LimitExceeded``.

    Attributes:
        max_line_length: longest protocol line, in bytes (without literals).
        max_literal_size: largest IMAP literal held in memory, in bytes.
        max_response_size: largest single response (lines and literals together), in bytes.
        max_message_size: largest message read into memory or sent, in bytes.
        max_depth: deepest nesting of parenthesised lists.
    """

    max_line_length: int = attrs.field(default=8 * _MiB, validator=_positive)
    max_literal_size: int = attrs.field(default=256 * _MiB, validator=_positive)
    max_response_size: int = attrs.field(default=512 * _MiB, validator=_positive)
    max_message_size: int = attrs.field(default=256 * _MiB, validator=_positive)
    max_depth: int = attrs.field(default=64, validator=_positive)


def _timeout(value: float | None, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise InvalidArgument(f"{name} must be a positive number of seconds or None")
    return float(value)


@attrs.frozen(kw_only=True)
class Options:
    """Everything a backend needs to connect, derived from the URL and ``open()``'s arguments.

    The password and token provider are kept out of ``repr()``.
    """

    url: MailURL
    password: str | None = attrs.field(default=None, repr=False)
    auth: str | TokenProvider | None = attrs.field(default=None, repr=False)
    security: Security
    ssl_context: ssl.SSLContext | None = None
    timeout: float | None = 60.0
    connect_timeout: float | None = 30.0
    limits: Limits = Limits()
    logger: logging.Logger = attrs.field(factory=lambda: logging.getLogger("unimail.protocol"))
    allow_insecure_auth: bool = False
    local_hostname: str | None = None

    def tls_context(self) -> ssl.SSLContext:
        """Return the caller's SSL context, or a default one that verifies certificates."""
        if self.ssl_context is not None:
            return self.ssl_context
        return ssl.create_default_context()


def make_options(
    url: str | MailURL,
    *,
    default_security: dict[str, Security],
    password: str | None = None,
    auth: str | TokenProvider | None = None,
    security: str | Security | None = None,
    ssl_context: ssl.SSLContext | None = None,
    timeout: float | None = 60.0,
    connect_timeout: float | None = 30.0,
    limits: Limits | None = None,
    logger: logging.Logger | None = None,
    allow_insecure_auth: bool = False,
    local_hostname: str | None = None,
) -> Options:
    """Check ``open()``'s arguments and return :class:`Options`.

    Raises:
        InvalidArgument: an argument is malformed (unknown security mode, a password in the URL,
            CR/LF/NUL in a credential, a non-positive timeout).
    """
    parsed = url if isinstance(url, MailURL) else MailURL.parse(url)
    if security is None:
        try:
            mode = default_security[parsed.scheme]
        except KeyError:
            raise InvalidArgument(f"unsupported URL scheme {parsed.scheme!r}") from None
    else:
        try:
            mode = Security(security)
        except ValueError:
            choices = ", ".join(repr(s.value) for s in Security)
            raise InvalidArgument(f"security must be one of {choices}, got {security!r}") from None
    if password is not None:
        if not isinstance(password, str):
            raise InvalidArgument("password must be a str")
        check_wire_text(password, "password")
    if isinstance(auth, str):
        check_wire_text(auth, "auth mechanism")
    if ssl_context is not None and not isinstance(ssl_context, ssl.SSLContext):
        raise InvalidArgument("ssl_context must be an ssl.SSLContext")
    if limits is not None and not isinstance(limits, Limits):
        raise InvalidArgument("limits must be a unimail.Limits")
    if local_hostname is not None:
        check_wire_text(local_hostname, "local_hostname")
    return Options(
        url=parsed,
        password=password,
        auth=auth,
        security=mode,
        ssl_context=ssl_context,
        timeout=_timeout(timeout, "timeout"),
        connect_timeout=_timeout(connect_timeout, "connect_timeout"),
        limits=limits if limits is not None else Limits(),
        logger=logger if logger is not None else logging.getLogger("unimail.protocol"),
        allow_insecure_auth=bool(allow_insecure_auth),
        local_hostname=local_hostname,
    )
