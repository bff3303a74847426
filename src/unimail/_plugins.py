"""``register_backend()``: plug a mailbox or transport class into both facades' registries."""

from __future__ import annotations

from ._async import _registry as _async_registry
from ._async._mailbox import AsyncMailbox
from ._async._transport import AsyncTransport
from ._errors import InvalidArgument
from ._sync import _registry as _sync_registry
from ._sync._mailbox import Mailbox
from ._sync._transport import Transport

__all__ = ["register_backend"]


def register_backend(
    scheme: str,
    backend: type[AsyncMailbox] | type[AsyncTransport] | type[Mailbox] | type[Transport],
) -> None:
    """Serve URLs with ``scheme`` by ``backend``, a Mailbox or Transport subclass.

    An async class (``AsyncMailbox`` / ``AsyncTransport`` subclass) serves both APIs:
    ``AsyncMailbox.open()`` directly, and ``Mailbox.open()`` through a slower adapter that
    runs it on an event loop in a worker thread (``unimail.testing.PortalMailbox``). A sync
    class (its generated twin, see docs/backends.md) serves ``Mailbox.open()`` /
    ``Transport.open()`` natively and is preferred there when both are registered. Installed
    packages can instead declare their backends in the ``unimail.backends`` entry point
    group.

    Raises:
        InvalidArgument: ``backend`` is not a mailbox or transport class, or ``scheme`` is not
            a valid URL scheme.
    """
    if isinstance(backend, type) and issubclass(backend, (AsyncMailbox, AsyncTransport)):
        _async_registry.register(scheme, backend)
    elif isinstance(backend, type) and issubclass(backend, (Mailbox, Transport)):
        _sync_registry.register(scheme, backend)
    else:
        raise InvalidArgument(f"{backend!r} is not a Mailbox or Transport class")
