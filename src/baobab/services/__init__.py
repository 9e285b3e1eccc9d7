"""The ``@service`` handlers, one module per family. Scanned at start-up, never on import."""

from __future__ import annotations

__all__: list[str] = []
