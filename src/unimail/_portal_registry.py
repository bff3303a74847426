"""How the sync registry serves async-only backends: the portal adapter classes.

``_sync/_registry.py`` (generated from ``_async/_registry.py``, whose ``# unasync:`` lines
call these) asks :func:`async_registered` for schemes that ``register_backend`` registered
with an async class only, and passes every class it finds through :func:`adapt_backend`.
"""

from __future__ import annotations

from ._async import _registry as _async_registry
from ._async._mailbox import AsyncMailbox
from ._async._transport import AsyncTransport
from ._portal import PortalMailbox
from ._portal_transport import PortalTransport, portal_transport_class

__all__ = ["adapt_backend", "async_registered", "portal_class"]

_classes: dict[type[AsyncMailbox], type[PortalMailbox]] = {}


def portal_class(async_class: type[AsyncMailbox]) -> type[PortalMailbox]:
    """Return the sync ``Mailbox`` class that runs ``async_class`` through a portal (one
    class per async class, named ``Portal<AsyncName>``)."""
    found = _classes.get(async_class)
    if found is not None:
        return found
    name = "Portal" + async_class.__name__.removeprefix("Async")
    namespace = {
        "async_class": async_class,
        "schemes": dict(async_class.schemes),
        "__doc__": f"{async_class.__name__} used from the sync API through a portal.",
        "__module__": __name__,
    }
    made: type[PortalMailbox] = type(name, (PortalMailbox,), namespace)
    return _classes.setdefault(async_class, made)


def adapt_backend(found: object, kind: type) -> object:
    """Return what serves a scheme in the sync registry: ``found`` itself, or the portal
    adapter of an async-only class when a sync ``Mailbox`` or ``Transport`` is wanted."""
    if isinstance(found, type) and issubclass(found, AsyncMailbox):
        return portal_class(found) if issubclass(PortalMailbox, kind) else found
    if isinstance(found, type) and issubclass(found, AsyncTransport):
        return portal_transport_class(found) if issubclass(PortalTransport, kind) else found
    return found


def async_registered(scheme: str) -> object:
    """Return the async class ``register_backend(scheme, ...)`` registered, or None."""
    return _async_registry._registered.get(scheme)
