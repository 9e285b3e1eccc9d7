"""The ``baobab`` command."""

from __future__ import annotations

from baobab.cli.main import main

__all__ = ["main"]
