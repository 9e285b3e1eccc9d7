"""Baobab: an asynchronous, API-first content server over a ZODB object tree."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
