"""The interactive interpreter of one console session, running in a thread of its own.

:class:`Console` is the standard library's :class:`code.InteractiveConsole` (prompts, the
"is this statement complete?" logic of the ``python`` prompt, tracebacks) with two changes:

- statements are compiled with ``ast.PyCF_ALLOW_TOP_LEVEL_AWAIT``, as ``python -m asyncio``
  does: ``await read(...)`` works at the prompt;
- every line is pushed, compiled and executed in the session's **console thread**, which has
  an event loop of its own for the statement's awaits. Whatever a statement does there
  (``time.sleep(2)``, a long loop, a database unit) blocks that thread only, never the event
  loop that serves HTTP; the SSH side waits for the statement with ``asyncio.wrap_future``.

Each statement is written to the ``baobab.audit`` logger (INFO, one line) with the operator
(the key's comment) and the client address before it runs.
"""

from __future__ import annotations

import ast
import asyncio
import code
import concurrent.futures
import ctypes
import inspect
import logging
import queue
import sys
import threading
import traceback
import types
from collections.abc import Callable
from typing import Any

from baobab.console.output import bind_sink, ensure_routed, routed, unrouted
from baobab.errors import BaobabError

__all__ = ["FILENAME", "Console"]

audit = logging.getLogger("baobab.audit")

FILENAME = "<console>"

_Job = tuple[Callable[[], Any], concurrent.futures.Future[Any]]


class Console(code.InteractiveConsole):
    """One operator's interpreter.

    Args:
        namespace: the statements' globals (the helpers of :mod:`baobab.console.namespace`).
        write: where output goes (called from the console thread; thread-safe).
        operator: who typed the statements (an SSH key's comment, or the local user).
        client: where from (``address:port``, or ``local``).
        on_exit: called in the console thread before it ends (releases its connections).
    """

    def __init__(
        self,
        namespace: dict[str, Any],
        *,
        write: Callable[[str], None],
        operator: str,
        client: str,
        on_exit: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(namespace, filename=FILENAME)
        self.compile.compiler.flags |= ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        self.operator = operator
        self.client = client
        self.ended = False  # exit() or quit() was called
        self._write = write
        self._on_exit = on_exit
        self._source = ""
        self._running = False
        self._closed = False
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self.loop: asyncio.AbstractEventLoop | None = None
        # A daemon thread, not a ThreadPoolExecutor's (joined at interpreter exit): a
        # statement that never ends must not keep the server from exiting.
        self._thread = threading.Thread(
            target=self._serve, name=f"baobab-console:{operator}", daemon=True
        )
        routed()
        self._thread.start()

    # the console thread -----------------------------------------------------------------
    def _serve(self) -> None:
        bind_sink(self._write)
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        try:
            while True:
                try:
                    job = self._jobs.get()
                    if job is None:
                        break
                    fn, future = job
                    if future.set_running_or_notify_cancel():
                        try:
                            future.set_result(fn())
                        except BaseException as exc:  # handed to whoever waits
                            future.set_exception(exc)
                except KeyboardInterrupt:  # an interrupt that came as a statement ended
                    continue
        finally:
            try:
                if self._on_exit is not None:
                    self._on_exit()
            finally:
                self.loop.close()
                bind_sink(None)

    def submit(self, line: str) -> concurrent.futures.Future[bool]:
        """Push ``line`` in the console thread; the future is True while a statement
        needs more lines (the ``...`` prompt)."""
        future: concurrent.futures.Future[bool] = concurrent.futures.Future()
        self._jobs.put((lambda: self.push(line), future))
        return future

    def reset(self) -> None:
        """Drop the lines of an unfinished statement (Ctrl-C at the prompt)."""
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._jobs.put((self.resetbuffer, future))

    def interrupt(self) -> bool:
        """Raise ``KeyboardInterrupt`` in a running statement (at its next Python bytecode:
        a C call such as ``time.sleep`` finishes first). False if nothing was running."""
        ident = self._thread.ident
        if not self._running or ident is None:
            return False
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(ident), ctypes.py_object(KeyboardInterrupt)
        )
        return True

    def close(self) -> None:
        """End the session: a running statement is interrupted, the thread then ends.
        A second call does nothing."""
        if self._closed:
            return
        self._closed = True
        self.interrupt()
        self._jobs.put(None)
        unrouted()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    # code.InteractiveConsole ---------------------------------------------------------------
    def runsource(self, source: str, filename: str = FILENAME, symbol: str = "single") -> bool:
        self._source = source
        return super().runsource(source, filename, symbol)

    def runcode(self, code: types.CodeType) -> None:
        audit.info("console %s from %s: %r", self.operator, self.client, self._source)
        assert self.loop is not None
        ensure_routed()
        self._running = True
        _statement_started()
        try:
            result = types.FunctionType(code, self.locals)()
            if inspect.iscoroutine(result):
                self.loop.run_until_complete(result)
        except SystemExit:
            self.ended = True
        except BaseException as exc:  # shown to the operator; the session and server go on
            self._show(exc)
        finally:
            _statement_ended()
            self._running = False

    def _show(self, exc: BaseException) -> None:
        """The traceback from the statement's own frame down (not the console's, nor the
        event loop's frames that ran a top-level ``await``)."""
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != FILENAME:
            tb = tb.tb_next
        if not isinstance(exc, BaobabError):
            self.write("".join(traceback.format_exception(type(exc), exc, tb)))
            return
        # a domain error (nothing at that path, invalid field values) is an answer, not a
        # fault: the operator's own lines and the message, not the helpers' internals
        frames = [frame for frame in traceback.extract_tb(tb) if frame.filename == FILENAME]
        lines = ["Traceback (most recent call last):\n", *traceback.format_list(frames)]
        self.write("".join(lines + traceback.format_exception_only(type(exc), exc)))

    def write(self, data: str) -> None:
        self._write(data)


# The GIL while a statement runs. A statement that computes without pause (a busy loop) holds
# the GIL; the event loop thread releases it at every system call (each recv, send and epoll
# wait) and must then wait the whole switch interval (5 ms by default) to get it back: a
# GET's median went from 2 to 18 ms beside a busy statement. While any statement runs, the
# interval is cut to SWITCH_INTERVAL, so the loop waits that long instead: 10 ms (measured
# by bench/console.py, bench/README.md "Console"; the GIL remains shared all the same).
# Switches only happen when a thread is waiting for the GIL: at rest this costs nothing.
SWITCH_INTERVAL = 0.0002
_statements = 0
_saved_interval = 0.0
_interval_lock = threading.Lock()


def _statement_started() -> None:
    global _statements, _saved_interval
    with _interval_lock:
        _statements += 1
        if _statements == 1:
            _saved_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(SWITCH_INTERVAL, _saved_interval))


def _statement_ended() -> None:
    global _statements
    with _interval_lock:
        _statements -= 1
        if _statements == 0:
            sys.setswitchinterval(_saved_interval)
