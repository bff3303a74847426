"""The portal adapter for transports: an async-only ``AsyncTransport`` from the sync API.

The twin of ``_portal.PortalMailbox`` for sending: ``Transport.open("myscheme:...")`` returns a
:class:`PortalTransport` when the scheme is served only by an async class. Each ``send()``
crosses the portal once; the transport runs on an event loop in a thread of its own.
"""

from __future__ import annotations

import contextlib
import email.message
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from anyio.from_thread import BlockingPortal, start_blocking_portal

from ._async._transport import AsyncTransport
from ._errors import ConnectionLost
from ._models import SendResult
from ._options import Options
from ._sync._transport import Transport

__all__ = ["PortalTransport", "portal_transport_class"]


class PortalTransport(Transport):
    """A sync ``Transport`` over an async-only transport, run in an event-loop thread."""

    #: The async transport class this adapter runs (set on each class made for one).
    async_class: ClassVar[type[AsyncTransport]] = AsyncTransport
    #: The anyio backend of the event-loop thread: ``"asyncio"`` or ``"trio"``.
    loop_backend: ClassVar[str] = "asyncio"

    def __init__(self, options: Options, **backend_options: object) -> None:
        """Store ``options`` and the transport's own options; does no I/O."""
        super().__init__(options)
        self._backend_options = backend_options
        self._stack = contextlib.ExitStack()
        self._portal: BlockingPortal | None = None
        self._inner: AsyncTransport | None = None

    def _connect(self) -> None:
        portal = self._stack.enter_context(start_blocking_portal(self.loop_backend))
        self._portal = portal
        self._inner = portal.call(self._open_inner)

    async def _open_inner(self) -> AsyncTransport:
        return await self.async_class(self._options, **self._backend_options)._open()

    @property
    def async_transport(self) -> AsyncTransport:
        """The async transport this adapter runs.

        Raises:
            ConnectionLost: the transport is closed.
        """
        if self._inner is None:
            raise ConnectionLost("the transport is closed")
        return self._inner

    def send(
        self,
        message: email.message.Message | bytes,
        *,
        sender: str | None = None,
        recipients: Iterable[str] | None = None,
        mail_options: Sequence[str] = (),
        rcpt_options: Sequence[str] = (),
        **options: Any,
    ) -> SendResult:
        """Send ``message`` through the async transport (see its ``send``).

        Raises:
            ConnectionLost: the transport is closed.
            Whatever the async transport's ``send`` raises.
        """
        inner, portal = self.async_transport, self._portal
        if portal is None:
            raise ConnectionLost("the transport is closed")

        async def send() -> SendResult:
            return await inner.send(
                message, sender=sender, recipients=recipients, mail_options=mail_options,
                rcpt_options=rcpt_options, **options,
            )  # fmt: skip

        return portal.call(send)

    def close(self) -> None:
        """Close the async transport, then stop the event-loop thread. Safe to call more
        than once."""
        inner, self._inner = self._inner, None
        portal, self._portal = self._portal, None
        try:
            if inner is not None and portal is not None:
                portal.call(inner.aclose)
        finally:
            if portal is not None:
                with contextlib.suppress(RuntimeError):  # already stopped
                    portal.call(portal.stop, True)
            self._stack.close()


_classes: dict[type[AsyncTransport], type[PortalTransport]] = {}


def portal_transport_class(async_class: type[AsyncTransport]) -> type[PortalTransport]:
    """Return the sync ``Transport`` class that runs ``async_class`` through a portal."""
    found = _classes.get(async_class)
    if found is not None:
        return found
    namespace = {
        "async_class": async_class,
        "schemes": dict(async_class.schemes),
        "open_options": async_class.open_options,
        "__doc__": f"{async_class.__name__} used from the sync API through a portal.",
        "__module__": __name__,
    }
    name = "Portal" + async_class.__name__.removeprefix("Async")
    made: type[PortalTransport] = type(name, (PortalTransport,), namespace)
    return _classes.setdefault(async_class, made)
