"""Who holds a FileStorage's lock: the one line an operator needs instead of a traceback.

FileStorage takes an exclusive ``flock`` on ``<file>.lock`` and zc.lockfile writes the PID of
the process that took it into that file (`` 10875``). When a second process is refused, this
reads that PID back and says whether the process is alive and, where ``/proc`` tells (Linux),
what it runs and which process started it: under ``baobab serve`` the lock is held by a
Granian worker, and the process to stop is its parent, the server.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["describe_holder", "lock_holder", "locked_message"]


def lock_holder(lock_path: Path) -> int | None:
    """The PID written in ``lock_path``, or None if it holds none (not written yet, or a
    lock file from another tool)."""
    try:
        text = lock_path.read_text(errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def _proc(pid: int) -> tuple[str, int | None]:
    """The command line and parent PID of ``pid`` from ``/proc`` ("" and None elsewhere)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "", None
    words = [w.decode(errors="replace") for w in raw.split(b"\0") if w]
    # an interpreter running a script: show the script and its arguments
    if len(words) > 1 and Path(words[0]).name.startswith("python"):
        words = [Path(words[1]).name, *words[2:]]
    fields = stat[stat.rindex(")") + 2 :].split()  # state ppid …; comm may hold spaces
    return " ".join(words), int(fields[1])


def describe_holder(pid: int | None) -> str:
    """``process 10875 (running: baobab serve -c c.json, started by process 10808)``."""
    if pid is None:
        return "another process (the lock file names none)"
    if not _alive(pid):
        return f"process {pid} (no longer running: a process it started may hold the lock)"
    command, parent = _proc(pid)
    if not command:
        return f"process {pid} (running)"
    details = f"running: {command}"
    if parent is not None:
        parent_command, _ = _proc(parent)
        if parent_command == command:  # a worker of a server: name the server too
            details += f", a worker of process {parent}"
    return f"process {pid} ({details})"


def locked_message(name: str, path: Path) -> str:
    """One line: which database, who holds it, and what to do."""
    holder = describe_holder(lock_holder(Path(f"{path}.lock")))
    return (
        f"Cannot open database {name!r}: {path} is in use by another process, {holder}. "
        "Stop it first, or put the database on postgresql to use it from several processes "
        "(FileStorage is single-process)"
    )
