"""``AsyncMailbox.open()`` / ``AsyncTransport.open()`` results: awaitable *and* ``async with``.

Only the async facade needs this: the generated sync ``open()`` connects and returns the
mailbox itself, which is a context manager.
"""

from __future__ import annotations

from collections.abc import Coroutine, Generator
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar

__all__ = ["AsyncOpening"]


class _Closable(Protocol):
    async def aclose(self) -> None: ...


T = TypeVar("T", bound=_Closable)


class AsyncOpening(Generic[T]):
    """A connection being opened: ``box = await opening`` or ``async with opening as box``.

    With ``async with``, the connection is closed when the block ends, even on error.
    """

    def __init__(self, connect: Coroutine[Any, Any, T]) -> None:
        self._connect = connect
        self._result: T | None = None

    def __await__(self) -> Generator[Any, None, T]:
        return self._connect.__await__()

    async def __aenter__(self) -> T:
        self._result = await self._connect
        return self._result

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._result is not None:
            await self._result.aclose()
