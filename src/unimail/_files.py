"""Where a downloaded message goes: a binary file the caller opened, or a path.

A path is written as ``<path>.part`` and renamed over ``path`` only once the whole message is
there, so a file at ``path`` is always complete; on failure the ``.part`` file is removed.
"""

from __future__ import annotations

import contextlib
import os
from types import TracebackType
from typing import IO

__all__ = ["Destination"]


class Destination:
    """``with Destination(path_or_file) as file: file.write(...)``: see the module docstring."""

    def __init__(self, target: str | os.PathLike[str] | IO[bytes]) -> None:
        """Remember where to write; opens nothing yet."""
        if isinstance(target, (str, os.PathLike)):
            self._path: str | None = os.fspath(target)
            self._file: IO[bytes] | None = None
        else:
            self._path, self._file = None, target

    def __enter__(self) -> IO[bytes]:
        if self._path is None:
            assert self._file is not None  # set in __init__ whenever there is no path
            return self._file
        self._file = open(self._path + ".part", "wb")
        return self._file

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._path is None or self._file is None:
            return
        self._file.close()
        if exc_type is None:
            os.replace(self._path + ".part", self._path)
        else:
            with contextlib.suppress(OSError):  # the original error matters, not this one
                os.unlink(self._path + ".part")
