"""Fixtures over the shipped real-server harness (:mod:`baobab.testing.server`).

``servers`` starts processes for one test, ``module_servers`` for a whole module; both stop
every process at teardown and print its output, which pytest shows when the test fails.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from baobab.testing.server import ServerProcess, Servers, run_cli


def _stopped(factory: Servers) -> None:
    factory.stop_all()
    # Shown by pytest only when the test fails.
    for server in factory.started:
        print(server.output())


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    factory = Servers(tmp_path)
    try:
        yield factory
    finally:
        _stopped(factory)


@pytest.fixture(scope="module")
def module_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """Like ``servers``, for servers a whole module shares: stopped after its last test."""
    factory = Servers(tmp_path_factory.mktemp("module-servers"))
    try:
        yield factory
    finally:
        _stopped(factory)


@pytest.fixture
def server(servers: Servers) -> ServerProcess:
    """A ``baobab serve`` on FileStorage, with the default test configuration."""
    return servers.serve()


@pytest.fixture
def cli(servers: Servers) -> Callable[..., subprocess.CompletedProcess[str]]:
    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return run_cli(args, servers.cwd, env)

    return run
