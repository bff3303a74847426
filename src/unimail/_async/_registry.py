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

from .._errors import InvalidArgument, UnsupportedOperation
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
    "maildir": "unimail._async.maildir:AsyncMaildirMailbox",
    "mbox": "unimail._async.mbox:AsyncMboxMailbox",
    "memory": "unimail._async.memory:AsyncMemoryMailbox",
}

# Schemes that name a mailbox for Mailbox.open() and a transport for Transport.open(): the
# local transports store what they "send" in the mailbox of the same URL.
_BUILTIN_TRANSPORTS: dict[str, str] = {
    "maildir": "unimail._async._local_transport:AsyncMaildirTransport",
    "memory": "unimail._async._local_transport:AsyncMemoryTransport",
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
    # The sync twin also serves async-only backends, through the portal adapter (_portal*.py).
    # unasync: from .._portal_registry import adapt_backend, async_registered
    # unasync: found = async_registered(scheme) if found is None else found
    if found is None:
        target = (_BUILTIN_TRANSPORTS if kind is AsyncTransport else _BUILTIN).get(scheme)
        target = target or _BUILTIN.get(scheme)
        plugin = target is None
        if target is None:
            target = next(
                (e.value for e in entry_points(group=ENTRY_POINT_GROUP, name=scheme)), None
            )
        if target is None:
            known = ", ".join(sorted({*_registered, *_BUILTIN, *_plugin_schemes()}))
            raise InvalidArgument(f"no backend for {scheme!r} URLs (known: {known})")
        found = _load(scheme, target) if plugin else _import(target)
    # unasync: found = adapt_backend(found, kind)
    if not isinstance(found, type) or not issubclass(found, kind):
        raise InvalidArgument(f"{scheme!r} URLs are not served by an {kind.__name__}")
    return found


def _import(target: str) -> object:
    module_name, _, name = target.partition(":")
    return getattr(importlib.import_module(module_name), name, None)


def _load(scheme: str, target: str) -> object:
    # A broken plugin must not look like a bug in unimail, nor stop the other backends (each
    # is imported only when its scheme is used): name the entry point and what went wrong.
    try:
        return _import(target)
    except Exception as error:
        raise UnsupportedOperation(
            f"the backend plugin for {scheme!r} URLs (entry point {ENTRY_POINT_GROUP}: "
            f"{scheme} = {target}) failed to import: {type(error).__name__}: {error}",
            capability=scheme,
        ) from error


def _plugin_schemes() -> set[str]:
    return {e.name.lower() for e in entry_points(group=ENTRY_POINT_GROUP)}


def _check_scheme(scheme: str) -> str:
    if not scheme or not scheme.replace("+", "").replace("-", "").isalnum():
        raise InvalidArgument(f"invalid URL scheme {scheme!r}")
    return scheme.lower()
