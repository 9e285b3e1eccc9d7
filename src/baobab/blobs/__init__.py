"""Blob spooling: request bodies streamed to disk, never held in memory."""

from __future__ import annotations

from baobab.blobs.spool import SPOOL_SUFFIX, Spooled, clean_spool, spool_body

__all__ = ["SPOOL_SUFFIX", "Spooled", "clean_spool", "spool_body"]
