"""Driving the SSH console of a real server with the OpenSSH client (tests and bench).

``ssh`` and ``ssh-keygen`` must be installed. Every connection skips the host key checks
(``StrictHostKeyChecking=no``, ``UserKnownHostsFile=/dev/null``) unless the caller passes its
own options, and offers only the one key given (``IdentitiesOnly``, no agent).
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from baobab.testing.server import HOST

__all__ = ["SSH_OPTIONS", "make_key", "public_line", "ssh_argv", "ssh_run"]

SSH_OPTIONS = (
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "BatchMode=yes",
    "-o", "IdentitiesOnly=yes",
    "-o", "LogLevel=ERROR",
)  # fmt: skip


def make_key(directory: Path, name: str, comment: str) -> Path:
    """A new passphrase-less ed25519 key pair ``name`` / ``name.pub``; the private key's path."""
    path = directory / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
    )
    return path


def public_line(key: Path) -> str:
    """The OpenSSH public key line of the private key at ``key``."""
    return key.with_name(key.name + ".pub").read_text().strip()


def ssh_argv(
    port: int, key: Path | None, *extra: str, options: Sequence[str] = SSH_OPTIONS
) -> list[str]:
    identity = ["-i", str(key)] if key is not None else []
    return ["ssh", *options, *identity, "-p", str(port), *extra, HOST]


def ssh_run(
    port: int, key: Path | None, statements: str, *extra: str, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Pipe ``statements`` into a console session (no terminal: no prompts) until it ends."""
    return subprocess.run(
        ssh_argv(port, key, *extra),
        input=statements,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
