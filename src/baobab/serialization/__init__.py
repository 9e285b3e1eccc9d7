"""Content ↔ JSON: representations, listings and batching."""

from __future__ import annotations

from baobab.serialization.content import serialize, summary
from baobab.serialization.etags import etag_for, etag_matches

__all__ = ["etag_for", "etag_matches", "serialize", "summary"]
