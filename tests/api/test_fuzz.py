"""schemathesis against the app, from its own description, on each backend: no 5xx, and no
answer outside the description (status, content type, headers, schema).

Small and derandomized here (the same cases every run, a few per operation and identity);
``bench/fuzz.py`` runs the same harness longer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from baobab.asgi import BaobabApp
from baobab.config.settings import Settings
from baobab.testing import make_settings
from baobab.testing.fuzz import FUZZ_OVERRIDES, fuzz, stop


@pytest.fixture
def baobab_overrides() -> dict[str, Any]:
    return FUZZ_OVERRIDES


def test_fuzzing_finds_no_server_error_and_no_undocumented_answer(
    baobab_settings: Settings,
) -> None:
    app = BaobabApp(baobab_settings)
    try:
        report = fuzz(app, max_examples=6, stateful_examples=6)
    finally:
        stop(app)
    print(report.summary())  # the figure CI's log shows
    assert report.failures == [], "\n\n".join(f"{op}: {text}" for op, text in report.failures)
    assert report.operations >= 100
    assert report.stateful_requests > 0


def test_fuzzing_reports_server_errors_and_answers_outside_the_description(
    tmp_path: Path,
) -> None:
    app = BaobabApp(make_settings(tmp_path, "filestorage", addons=["baobab_openapi_addon"]))
    try:
        report = fuzz(
            app,
            max_examples=2,
            stateful_examples=0,
            only=lambda label: (
                "@openapi" in label or label in ("GET /@crash", "GET /@liar", "GET /@teapot")
            ),
        )
    finally:
        stop(app)
    failed = dict(report.failures)
    assert set(failed) == {"GET /@crash", "GET /@liar", "GET /@teapot"}, report.failures
    assert "Server error" in failed["GET /@crash"]
    assert "schema" in failed["GET /@liar"].lower()
    assert "418" in failed["GET /@teapot"]
