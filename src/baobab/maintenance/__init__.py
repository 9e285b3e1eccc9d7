"""Keeping a database in shape while it serves: packing (backups are in ``database``)."""

from __future__ import annotations

from baobab.maintenance.pack import PackResult, exclusive, expire_uploads, footprint, pack

__all__ = ["PackResult", "exclusive", "expire_uploads", "footprint", "pack"]
