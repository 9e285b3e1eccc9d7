"""The console's interpreter (``baobab.console``), in process: statements in their own thread,
output to the session's sink only, tracebacks, interruption, and the database helpers."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator

import pytest

from baobab.asgi.app import BaobabApp
from baobab.console import Console, Helpers
from baobab.console.interpreter import SWITCH_INTERVAL
from baobab.console.output import RoutedStream
from baobab.events import ObjectModified
from baobab.events.outbox import Outbox
from baobab.testing import BaobabClient


class Session:
    def __init__(self, **namespace: object) -> None:
        self.output: list[str] = []
        self.console = Console(
            dict(namespace), write=self.output.append, operator="tester", client="local"
        )

    def run(self, *lines: str) -> str:
        """Push the lines; what they printed."""
        self.output.clear()
        for line in lines:
            self.console.submit(line).result(timeout=30)
        return "".join(self.output)


@pytest.fixture
def session() -> Iterator[Session]:
    s = Session()
    try:
        yield s
    finally:
        s.console.close()
        s.console.join(10)


def test_values_prints_and_top_level_await(session: Session) -> None:
    assert session.run("x = 21") == ""
    assert session.run("x * 2") == "42\n"
    assert session.run("import asyncio", "await asyncio.sleep(0, result='awaited')") == (
        "'awaited'\n"
    )
    assert session.run("for i in range(2):", "    print(i)", "") == "0\n1\n"


def test_statements_run_in_the_console_thread_not_the_callers(session: Session) -> None:
    assert session.run("import threading", "threading.current_thread().name") == (
        "'baobab-console:tester'\n"
    )


def test_a_traceback_shows_the_statements_frames_and_the_session_goes_on(session: Session) -> None:
    out = session.run(
        "def f():", "    return 1 / 0", "", "await __import__('asyncio').sleep(0, f())"
    )
    assert out.startswith("Traceback (most recent call last):\n")
    assert out.endswith("ZeroDivisionError: division by zero\n")
    assert '  File "<console>", line 2, in f\n' in out
    assert "base_events.py" not in out  # not the frames of the loop that ran the await
    assert session.run("'alive'") == "'alive'\n"


def test_output_of_other_threads_goes_where_it_went(
    session: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    assert session.run("print('to the operator')") == "to the operator\n"
    assert isinstance(sys.stdout, RoutedStream)
    print("to the server's stdout")
    thread = threading.Thread(target=print, args=("from another thread",))
    thread.start()
    thread.join()
    captured = capsys.readouterr().out
    assert "to the server's stdout" in captured and "from another thread" in captured
    assert "to the operator" not in captured


def test_closing_the_last_session_restores_the_streams() -> None:
    before = sys.stdout
    s = Session()
    assert isinstance(sys.stdout, RoutedStream)
    s.console.close()
    s.console.join(10)
    assert sys.stdout is before


def test_interrupt_stops_a_python_loop(session: Session) -> None:
    session.console.submit("while True:")
    session.console.submit("    pass")
    future = session.console.submit("")  # a compound statement ends with an empty line
    deadline = time.monotonic() + 30
    while not session.console.interrupt():  # False until the statement runs
        assert time.monotonic() < deadline
        time.sleep(0.01)
    future.result(timeout=30)
    assert session.output[-1].endswith("KeyboardInterrupt\n")
    assert session.run("'after'") == "'after'\n"


def test_exit_ends_the_session(session: Session) -> None:
    session.run("exit()")
    assert session.console.ended


async def test_patch_validates_writes_and_hands_the_event_over(
    baobab_app: BaobabApp, client: BaobabClient
) -> None:
    assert (await client.post("/db", json={"@type": "Container", "id": "site"})).status_code == 201
    doc = {"@type": "Document", "id": "doc", "title": "Old"}
    assert (await client.post("/db/site", json=doc)).status_code == 201
    state = baobab_app.state
    assert state is not None
    delivered: list[tuple[int, Outbox]] = []
    helpers = Helpers(
        state.databases,
        state.registry,
        actor="console:tester",
        deliver=lambda tid, outbox: delivered.append((tid, outbox)),
    )
    after = await helpers.patch("/db/site/doc", title="New")
    assert after["title"] == "New" and after["contributors"] == ["console:tester"]
    assert (await client.get("/db/site/doc")).json()["title"] == "New"
    [(tid, outbox)] = delivered
    assert tid > 0
    [event] = outbox.events
    assert isinstance(event, ObjectModified)
    assert (event.path, event.changed, event.actor) == (
        "/db/site/doc",
        ("title",),
        "console:tester",
    )
    # refused values change nothing and deliver nothing
    with pytest.raises(Exception, match="Invalid data for: title"):
        await helpers.patch("/db/site/doc", title=5)
    assert len(delivered) == 1
    assert (await helpers.get("/db/site/doc"))["title"] == "New"
    # notify() outside a write is a mistake said plainly
    with pytest.raises(RuntimeError, match="inside a write"):
        helpers.modified(object())


def test_the_switch_interval_is_short_while_a_statement_runs(session: Session) -> None:
    before = sys.getswitchinterval()
    during = float(session.run("import sys", "sys.getswitchinterval()"))
    assert during == pytest.approx(SWITCH_INTERVAL) and during < before
    assert sys.getswitchinterval() == before


def test_closing_twice_unroutes_once() -> None:
    first, second = Session(), Session()
    first.console.close()
    first.console.close()  # the server's shutdown and the session's end may both close it
    assert second.run("print('still routed')") == "still routed\n"
    assert isinstance(sys.stdout, RoutedStream)
    second.console.close()
    for s in (first, second):
        s.console.join(10)
    assert not isinstance(sys.stdout, RoutedStream)
