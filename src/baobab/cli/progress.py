"""Progress of a long command on stderr: a bar redrawn in place on a terminal, plain lines
every few seconds otherwise (a log file, a CI job, ``2>&1 | tee``).

Written here rather than taken from tqdm: tqdm's bar is what a terminal needs, but
redirected it still writes carriage-return frames, not the plain lines a log wants, so both
modes would need their own code anyway; these few lines format both from one
:class:`~baobab.catalog.rebuild.Progress`, with no dependency.
"""

from __future__ import annotations

import time
from typing import TextIO

from baobab.catalog.rebuild import Progress

__all__ = ["ProgressPrinter", "duration"]

BAR = 24  # characters of the bar
REDRAW = 0.1  # seconds between two frames of the bar
LINE_EVERY = 5.0  # seconds between two plain lines


def duration(seconds: float) -> str:
    """``26 s``, ``4 min 05 s``, ``2 h 03 min``."""
    whole = int(seconds + 0.5)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _figures(progress: Progress) -> str:
    total = max(progress.total, progress.done)
    eta = progress.eta
    left = "" if eta is None else f", ETA {duration(eta)}"
    return f"{progress.done}/{total} objects, {progress.rate:.0f}/s{left}"


class ProgressPrinter:
    """Call it with each :class:`Progress`; it decides what to show and when."""

    def __init__(self, stream: TextIO, tty: bool | None = None) -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self._last = 0.0
        self._width = 0  # of the bar's last frame, to blank what a shorter one leaves

    def __call__(self, progress: Progress) -> None:
        if progress.phase == "index":
            now = time.monotonic()
            every = REDRAW if self.tty else LINE_EVERY
            if progress.done and now - self._last < every:
                return
            self._last = now
            if self.tty:
                self._frame(progress)
            elif progress.done:
                self._line(f"{progress.path}: {_figures(progress)}")
            else:
                self._line(f"{progress.path}: {progress.total} objects to index")
        elif progress.phase == "done":
            if self.tty:
                self._frame(progress)
                self.stream.write("\n")
            self._line(
                f"{progress.path}: {progress.done} objects indexed, {progress.removed} stale "
                f"entries removed in {duration(progress.elapsed)}"
            )

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def _frame(self, progress: Progress) -> None:
        total = max(progress.total, progress.done)
        filled = BAR if total == 0 else BAR * progress.done // total
        bar = "#" * filled + "-" * (BAR - filled)
        text = f"{progress.path} [{bar}] {_figures(progress)}"
        self.stream.write("\r" + text.ljust(self._width))
        self._width = len(text)
        self.stream.flush()
