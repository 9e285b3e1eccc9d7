"""Progress of a command made of a few long steps (pack, backup, restore) on stderr.

Each step is announced by one line. A step such as FileStorage's pack or a ``pg_dump`` gives
no figures while it runs, so on a terminal the time spent in the current step is redrawn in
place under its line (a log or a pipe gets the lines only, and their times): the operator sees
that it is alive and how long it has taken, without a made-up percentage.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import TextIO

from baobab.cli.progress import duration

__all__ = ["StepPrinter"]

TICK = 0.5  # seconds between two redraws of the elapsed time


class StepPrinter:
    """``printer(line)`` announces a step; use it as a context manager to stop the ticker."""

    def __init__(self, stream: TextIO, tty: bool | None = None) -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self._lock = threading.Lock()
        self._since = time.monotonic()
        self._start = self._since
        self._ticking = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> StepPrinter:
        if self.tty:
            self._thread = threading.Thread(target=self._tick, name="steps", daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            self._clear()

    def __call__(self, line: str) -> None:
        with self._lock:
            self._clear()
            elapsed = duration(time.monotonic() - self._start)
            self.stream.write(f"[{elapsed:>8}] {line}\n")
            self.stream.flush()
            self._since = time.monotonic()

    def _clear(self) -> None:
        if self._ticking:
            self.stream.write("\r\x1b[K")
            self._ticking = False

    def _tick(self) -> None:
        while not self._stop.wait(TICK):
            with self._lock:
                spent = time.monotonic() - self._since
                if spent >= 1:
                    self.stream.write(f"\r           … {duration(spent)} in this step")
                    self.stream.flush()
                    self._ticking = True
