"""``baobab ARGS`` run to completion with text on its stdin (a password, as a script sends it)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from baobab.testing.server import BAOBAB, clean_env


def baobab(
    *args: str, cwd: Path, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BAOBAB), *args],
        cwd=cwd,
        env=clean_env(env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    """The refusal's one line (exit 2, ``baobab: …``, no traceback); fails otherwise."""
    assert done.returncode == 2, done
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("baobab: "), done.stderr
    return lines[0]
