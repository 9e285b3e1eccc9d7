"""New passwords for the command line: from a terminal prompt (typed twice, not echoed) or
from the first line of stdin (a script: ``printf '%s\\n' "$PW" | baobab user add …``), never
from the command line, where ``ps`` and the shell history would show them."""

from __future__ import annotations

import getpass
import sys
from typing import TextIO

from baobab.errors import ConfigError
from baobab.security.passwords import MIN_PASSWORD_LENGTH

__all__ = ["read_new_password"]


def read_new_password(label: str = "New password", stdin: TextIO | None = None) -> str:
    """The password; a :class:`ConfigError` (nothing is changed) when it is empty, shorter
    than the one rule (:data:`MIN_PASSWORD_LENGTH`), or typed differently twice."""
    stream = sys.stdin if stdin is None else stdin
    if stream.isatty():
        password = getpass.getpass(f"{label}: ")
        if getpass.getpass(f"{label} (again): ") != password:
            raise ConfigError("the two passwords differ; nothing was changed")
    else:
        password = stream.readline().rstrip("\r\n")
    if not password:
        raise ConfigError("no password given (type it at the prompt or send it on stdin)")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ConfigError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return password
