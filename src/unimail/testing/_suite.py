"""The pytest side of the conformance suite: :class:`Backend` and :class:`MailboxConformance`.

Each check of ``unimail._async._conformance_*`` becomes two test methods of
:class:`MailboxConformance`: ``test_<name>_async`` (``@pytest.mark.anyio``: it runs on every
event loop the ``anyio_backend`` fixture names) and ``test_<name>_sync`` (the generated sync
twin of the check, through the sync API).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import ModuleType
from typing import Any

import attrs
import pytest

from .._async import _conformance_read, _conformance_watch, _conformance_write
from .._async._conformance import AsyncConformanceTarget
from .._async._mailbox import AsyncMailbox
from .._portal import PortalMailbox
from .._sync import _conformance_read as _sync_read
from .._sync import _conformance_watch as _sync_watch
from .._sync import _conformance_write as _sync_write
from .._sync._conformance import ConformanceTarget
from .._sync._mailbox import Mailbox

__all__ = ["CHECKS", "Backend", "MailboxConformance"]

_MODULES: tuple[tuple[ModuleType, ModuleType], ...] = (
    (_conformance_read, _sync_read),
    (_conformance_write, _sync_write),
    (_conformance_watch, _sync_watch),
)

#: The names of the checks, each run as ``test_<name>_async`` and ``test_<name>_sync``.
CHECKS: tuple[str, ...] = tuple(
    name.removeprefix("check_")
    for module, _ in _MODULES
    for name in module.__all__
    if name.startswith("check_")
)


@attrs.frozen(kw_only=True)
class Backend:
    """How the suite opens and fills the backend under test (what the ``backend`` fixture of
    a :class:`MailboxConformance` subclass returns).

    Attributes:
        open: the async factory: ``open()`` returns an awaitable of a connected
            ``AsyncMailbox``, a new session on the same store at each call, e.g.
            ``lambda: AsyncMailbox.open(f"eml:{tmp_path}")``. The store starts empty: INBOX
            exists and holds no message, and no other folder exists.
        open_sync: the sync factory, returning a connected ``Mailbox`` on the same store, e.g.
            ``lambda: Mailbox.open(f"eml:{tmp_path}")`` (the generated twin, or the portal
            adapter when the backend has none). ``None``: the suite runs ``open`` through
            the portal adapter (:meth:`unimail.testing.PortalMailbox.wrap`).
        seed: ``seed(messages)`` puts raw messages into INBOX from outside the mailbox API
            (as delivery would). ``None``: the suite appends them through a second session,
            which needs ``Capability.APPEND``. A read-only backend must give one.
        watch_options: keyword arguments the suite passes to ``watch()``, such as a short
            polling interval (``{"interval": 0.2}``).
    """

    open: Callable[[], Awaitable[AsyncMailbox]]
    open_sync: Callable[[], Mailbox] | None = None
    seed: Callable[[Sequence[bytes]], None] | None = None
    watch_options: Mapping[str, Any] = attrs.field(factory=dict)

    def async_target(self) -> AsyncConformanceTarget:
        """What the async checks run against."""
        return AsyncConformanceTarget(
            open=self.open, seed=self.seed, watch_options=self.watch_options
        )

    def sync_target(self) -> ConformanceTarget:
        """What the sync checks run against: ``open_sync``, else ``open`` through a portal."""
        opener = self.open_sync or functools.partial(PortalMailbox.wrap, self.open)
        return ConformanceTarget(open=opener, seed=self.seed, watch_options=self.watch_options)


class MailboxConformance:
    """The conformance suite as a pytest base class.

    Subclass it in a test module (the name must start with ``Test``) and define a ``backend``
    fixture that returns a :class:`Backend`; every check then runs through the async API (on
    each event loop ``anyio_backend`` names; asyncio by default) and through the sync API::

        import pytest
        from unimail import AsyncMailbox, Mailbox
        from unimail.testing import Backend, MailboxConformance

        class TestMyBackend(MailboxConformance):
            @pytest.fixture
            def backend(self, tmp_path):
                return Backend(
                    open=lambda: AsyncMailbox.open(f"mine:{tmp_path}"),
                    open_sync=lambda: Mailbox.open(f"mine:{tmp_path}"),
                )

    A capability the backend does not declare is not skipped: the suite checks that the
    operation raises ``UnsupportedOperation``.
    """

    @pytest.fixture
    def backend(self) -> Backend:
        """Override: return the :class:`Backend` under test (a fresh, empty store)."""
        pytest.fail(f"{type(self).__name__} must define a `backend` fixture", pytrace=False)


def _async_test(check: Callable[[AsyncConformanceTarget], Awaitable[None]]) -> Any:
    async def test(self: MailboxConformance, backend: Backend) -> None:
        await check(backend.async_target())

    test.__doc__ = check.__doc__
    return pytest.mark.anyio(test)


def _sync_test(check: Callable[[ConformanceTarget], None]) -> Any:
    def test(self: MailboxConformance, backend: Backend) -> None:
        check(backend.sync_target())

    test.__doc__ = check.__doc__
    return test


for _async_module, _sync_module in _MODULES:
    for _name in _async_module.__all__:
        if _name.startswith("check_"):
            _short = _name.removeprefix("check_")
            _method = _async_test(getattr(_async_module, _name))
            _method.__name__ = f"test_{_short}_async"
            setattr(MailboxConformance, _method.__name__, _method)
            _method = _sync_test(getattr(_sync_module, _name))
            _method.__name__ = f"test_{_short}_sync"
            setattr(MailboxConformance, _method.__name__, _method)
