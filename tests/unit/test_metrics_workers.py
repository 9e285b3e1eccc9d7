"""Metrics of several worker processes (prometheus-client's multiprocess mode).

Workers are real processes writing into one directory; what a reader sums is checked, and
what becomes of a worker that died without saying so (SIGKILL): its live gauges leave the
sum at the next read, its counters stay (what it served was served).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from baobab.telemetry.exposition import MULTIPROC_ENV, prepare_directory, render

WORKER = """
import os, sys
from baobab.telemetry.metrics import instruments
m = instruments()
m.know_views(["@search"])
for _ in range(int(sys.argv[1])):
    m.request("@search", "GET", 200, 0.002)
m.in_flight = 1
m.flush()
m.websockets.inc()
print(os.getpid(), flush=True)
if sys.argv[2] == "clean":
    from baobab.telemetry.exposition import mark_dead
    mark_dead()
else:
    os.kill(os.getpid(), 9)
"""


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_every_workers_values_are_summed_and_dead_ones_leave_the_gauges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = prepare_directory(tmp_path / "metrics")
    env = {**os.environ, MULTIPROC_ENV: str(directory)}
    for count, end, code in ((3, "clean", 0), (4, "killed", -9)):
        done = subprocess.run(
            [sys.executable, "-c", WORKER, str(count), end],
            env=env,
            capture_output=True,
            check=False,
        )
        assert done.returncode == code, done.stderr
    assert len(list(directory.glob("gauge_livesum_*.db"))) == 1  # the killed one's
    monkeypatch.setenv(MULTIPROC_ENV, str(directory))
    body, content_type = render(CollectorRegistry())
    assert content_type.startswith("text/plain")
    got = samples(body.decode())
    labels = (("method", "GET"), ("service", "@search"), ("status", "200"))
    assert got[("baobab_http_requests_total", labels)] == 7
    bucket = (("le", "0.0025"), ("method", "GET"), ("service", "@search"))
    assert got[("baobab_http_request_duration_seconds_bucket", bucket)] == 7
    # one ended cleanly, one was killed and is noticed now: no live gauge of either is left
    assert got.get(("baobab_http_requests_in_progress", ()), 0) == 0
    assert got.get(("baobab_websockets_open", ()), 0) == 0
    assert not list(directory.glob("gauge_livesum_*.db"))
