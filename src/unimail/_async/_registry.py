"""The backend registry: which class serves which URL scheme.

Three sources, searched in this order: classes registered at run time with
``register_backend()``; unimail's own backends; and installed plugins, which declare their
backends in the ``unimail.backends`` entry point group (``scheme = "module:Class"``), exactly
as unimail declares its own in ``pyproject.toml``. Mailboxes and transports share the group:
a scheme names one or the other.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import TypeVar

from .._errors import InvalidArgument
from ._mailbox import AsyncMailbox
from ._transport import AsyncTransport

__all__ = ["ENTRY_POINT_GROUP", "backend_class", "mailbox_class", "register", "transport_class"]

ENTRY_POINT_GROUP = "unimail.backends"

# unimail's own backends, imported only when first used.
_BUILTIN: dict[str, str] = {
    "imap": "unimail._async.imap:AsyncImapMailbox",
    "imaps": "unimail._async.imap:AsyncImapMailbox",
    "pop3": "unimail._async.pop3:AsyncPop3Mailbox",
    "pop3s": "unimail._async.pop3:AsyncPop3Mailbox",
    "smtp": "unimail._async.smtp:AsyncSmtpTransport",
    "smtps": "unimail._async.smtp:AsyncSmtpTransport",
    "smtp+mx": "unimail._async._smtp_mx:AsyncMxTransport",
}

_registered: dict[str, type[AsyncMailbox] | type[AsyncTransport]] = {}

B = TypeVar("B", AsyncMailbox, AsyncTransport)


def register(scheme: str, backend: type[AsyncMailbox] | type[AsyncTransport]) -> None:
    """Serve URLs with ``scheme`` by ``backend`` (replacing any earlier registration).

    Raises:
        InvalidArgument: ``backend`` is neither a mailbox nor a transport class.
    """
    if not isinstance(backend, type) or not issubclass(backend, (AsyncMailbox, AsyncTransport)):
        raise InvalidArgument(f"{backend!r} is neither an AsyncMailbox nor an AsyncTransport")
    _registered[_check_scheme(scheme)] = backend


def mailbox_class(scheme: str) -> type[AsyncMailbox]:
    """Return the mailbox class serving ``scheme``; see :func:`backend_class`."""
    return backend_class(scheme, AsyncMailbox)


def transport_class(scheme: str) -> type[AsyncTransport]:
    """Return the transport class serving ``scheme``; see :func:`backend_class`."""
    return backend_class(scheme, AsyncTransport)


def backend_class(scheme: str, kind: type[B]) -> type[B]:
    """Return the subclass of ``kind`` serving ``scheme``.

    Raises:
        InvalidArgument: no backend of that kind serves ``scheme``.
    """
    scheme = _check_scheme(scheme)
    found: object = _registered.get(scheme)
    if found is None:
        target = _BUILTIN.get(scheme)
        if target is None:
            target = next(
                (e.value for e in entry_points(group=ENTRY_POINT_GROUP, name=scheme)), None
            )
        if target is None:
            known = ", ".join(sorted({*_registered, *_BUILTIN}))
            raise InvalidArgument(f"no backend for {scheme!r} URLs (known: {known})")
        module_name, _, name = target.partition(":")
        found = getattr(importlib.import_module(module_name), name, None)
    if not isinstance(found, type) or not issubclass(found, kind):
        raise InvalidArgument(f"{scheme!r} URLs are not served by an {kind.__name__}")
    return found


def _check_scheme(scheme: str) -> str:
    if not scheme or not scheme.replace("+", "").replace("-", "").isalnum():
        raise InvalidArgument(f"invalid URL scheme {scheme!r}")
    return scheme.lower()
