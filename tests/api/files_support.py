"""Helpers shared by the file and TUS suites (``test_files.py``, ``test_tus.py``).

- :data:`FILE_OVERRIDES`: settings with small upload limits, so an oversize body is a few
  KiB, not gigabytes, and the ``baobab_files_addon`` types (``tests/fixtures``);
- :func:`leftovers`: what a failed upload could leave behind — spool files, and uncommitted
  blob files in each storage's temporary directory;
- :func:`call_app` (from the test kit): one request straight into the ASGI callable, counting
  what the app read.
"""

from __future__ import annotations

import base64
import hashlib
import random
from pathlib import Path
from typing import Any

from baobab.asgi import BaobabApp
from baobab.testing.asgi import Exchange, basic, call_app

__all__ = ["Exchange", "basic", "call_app"]  # re-exported for the suites

BASE = "http://baobab.test"
LIMIT = 64 << 10  # files.max_upload_size in these suites
FORM_LIMIT = 1 << 10  # files.max_form_size in these suites
ADDONS = ["baobab_files_addon"]  # Secret (a guarded file field), Shelf (takes no files)


# the suites' ``baobab_overrides``: small upload limits and the add-on's types
FILE_OVERRIDES: dict[str, Any] = {
    "addons": ADDONS,
    "files": {"max_upload_size": LIMIT, "max_form_size": FORM_LIMIT},
}


def payload(size: int, seed: int = 0) -> bytes:
    """``size`` deterministic, incompressible bytes."""
    return random.Random(seed).randbytes(size)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def b64(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.b64encode(raw).decode("ascii")


def path_of(url: str) -> str:
    """The path of one of the app's absolute URLs."""
    assert url.startswith(BASE + "/"), url
    return url.removeprefix(BASE)


def leftovers(app: BaobabApp) -> list[Path]:
    """Spool files, and files in each storage's temporary (uncommitted blob) directory."""
    state = app.state
    assert state is not None
    found: list[Path] = []
    spool = state.settings.spool_path
    if spool.is_dir():
        found.extend(spool.iterdir())
    for db in state.databases.values():
        tmp = Path(db.storage.temporaryDirectory())
        if tmp.is_dir():
            found.extend(tmp.iterdir())
    return sorted(found)
