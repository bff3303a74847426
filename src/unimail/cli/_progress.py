"""The progress bar of ``unimail copy``: one line on a terminal, redrawn in place; nothing
when standard error is not a terminal (piped, redirected, or run by cron)."""

from __future__ import annotations

import shutil
import sys
import time
from typing import IO

from unimail import CopyProgress, CopyStage

__all__ = ["ProgressBar"]

# Redraw at most this often: a terminal is slower than a fast local copy.
_INTERVAL = 0.1


class ProgressBar:
    """``progress=ProgressBar()`` for ``unimail.copy``; call :meth:`finish` at the end."""

    def __init__(self, stream: IO[str] | None = None, *, enabled: bool | None = None) -> None:
        """Draw on ``stream`` (standard error), only if it is a terminal unless ``enabled``."""
        self._stream = stream if stream is not None else sys.stderr
        self._enabled = self._stream.isatty() if enabled is None else enabled
        self._last = 0.0
        self._drawn = False

    def __call__(self, event: CopyProgress) -> None:
        """Take one report of the copy; redraw the bar when it is time."""
        if not self._enabled:
            return
        now = time.monotonic()
        final = event.stage is CopyStage.MESSAGE and event.done == event.total
        if not final and event.stage is not CopyStage.FOLDER and now - self._last < _INTERVAL:
            return
        self._last = now
        width = shutil.get_terminal_size((80, 24)).columns
        counts = f" {event.done}/{event.total} {_size(event.bytes)}"
        name = event.folder
        room = max(10, width - len(counts) - len(name) - 6)
        filled = room * event.done // event.total if event.total else room
        bar = "#" * filled + "-" * (room - filled)
        line = f"{name} [{bar}]{counts}"[: width - 1]
        self._stream.write("\r" + line.ljust(width - 1))
        self._stream.flush()
        self._drawn = True
        if final:
            self._stream.write("\n")
            self._drawn = False

    def finish(self) -> None:
        """End the line the bar was drawn on, if any."""
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()
            self._drawn = False


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} B"  # pragma: no cover - the loop always returns
