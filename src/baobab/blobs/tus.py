"""TUS 1.0 helpers without state: ``Upload-Metadata`` and joining an upload's parts.

The persistent upload records are :mod:`baobab.content.uploads`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from baobab.blobs.spool import Spooled, new_spool_file
from baobab.errors import BadRequest

__all__ = ["join_files", "parse_metadata"]


def parse_metadata(header: str | None) -> dict[str, str]:
    """``Upload-Metadata: key base64,key2 base64``: the decoded pairs (400 when malformed)."""
    out: dict[str, str] = {}
    for item in (header or "").split(","):
        pair = item.strip()
        if not pair:
            continue
        key, _, value = pair.partition(" ")
        if not key or " " in value.strip() or key in out:
            raise BadRequest("Upload-Metadata: write each pair as `key base64value`, once")
        try:
            out[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise BadRequest(f"Upload-Metadata: the value of {key!r} is not base64 UTF-8") from None
    return out


def join_files(paths: Sequence[str], directory: Path) -> Spooled:
    """One new spool file holding ``paths`` end to end, and its SHA-256 (run off the loop)."""
    fd, target = new_spool_file(directory)
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(os.dup(fd), "wb") as out:
            for path in paths:
                with open(path, "rb") as part:
                    while chunk := part.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
    except BaseException:
        target.unlink(missing_ok=True)
        os.close(fd)
        raise
    return Spooled(target, size, digest.digest(), fd=fd)
