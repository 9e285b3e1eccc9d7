"""Blob spooling (request bodies streamed to disk, never held in memory), byte ranges and
download filenames."""

from __future__ import annotations

from baobab.blobs.ranges import ByteRange, content_disposition, parse_range
from baobab.blobs.spool import SPOOL_SUFFIX, Spooled, clean_spool, spool_body

__all__ = [
    "SPOOL_SUFFIX",
    "ByteRange",
    "Spooled",
    "clean_spool",
    "content_disposition",
    "parse_range",
    "spool_body",
]
