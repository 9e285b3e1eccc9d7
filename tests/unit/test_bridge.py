"""The sync↔async bridge (``baobab.database.bridge``): where a unit runs in each mode."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from baobab.database.bridge import Bridge
from baobab.testing import make_settings


def _bridge(tmp_path: Path, mode: str, storage: str = "memory", pool_size: int = 2) -> Bridge:
    settings = make_settings(tmp_path, storage, threads={"mode": mode, "pool_size": pool_size})
    return Bridge(settings)


def _thread() -> str:
    return threading.current_thread().name


async def test_inline_runs_reads_and_writes_on_the_loop_thread(tmp_path: Path) -> None:
    bridge = _bridge(tmp_path, "inline")
    try:
        here = _thread()
        assert await bridge.run(_thread, write=False) == here
        assert await bridge.run(_thread, write=True) == here
    finally:
        bridge.close()


async def test_pool_runs_every_unit_on_database_threads(tmp_path: Path) -> None:
    bridge = _bridge(tmp_path, "pool", pool_size=2)
    try:
        started = threading.Barrier(2, timeout=5)

        def both_at_once() -> str:
            started.wait()  # two units in flight together: two threads
            return _thread()

        names = await asyncio.gather(
            bridge.run(both_at_once, write=False), bridge.run(both_at_once, write=True)
        )
        assert all(name.startswith("baobab-db") for name in names)
        assert len(set(names)) == 2
    finally:
        bridge.close()


async def test_split_reads_inline_and_writes_on_one_writer(tmp_path: Path) -> None:
    bridge = _bridge(tmp_path, "split", pool_size=4)
    try:
        assert await bridge.run(_thread, write=False) == _thread()
        writers = {await bridge.run(_thread, write=True) for _ in range(5)}
        assert len(writers) == 1 and next(iter(writers)).startswith("baobab-db")
    finally:
        bridge.close()


@pytest.mark.parametrize(("storage", "mode"), [("filestorage", "inline"), ("postgresql", "pool")])
def test_auto_picks_inline_for_local_storages_and_a_pool_for_the_network(
    tmp_path: Path, storage: str, mode: str
) -> None:
    bridge = _bridge(tmp_path, "auto", storage)
    try:
        assert bridge.mode == mode
    finally:
        bridge.close()


async def test_an_exception_reaches_the_caller(tmp_path: Path) -> None:
    for mode in ("inline", "pool"):
        bridge = _bridge(tmp_path, mode)
        try:

            def fail() -> None:
                raise KeyError("unit")

            with pytest.raises(KeyError):
                await bridge.run(fail, write=True)
        finally:
            bridge.close()
