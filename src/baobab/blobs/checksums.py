"""Checksums clients send with uploads: RFC 9530 ``Content-Digest`` and TUS ``Upload-Checksum``.

Written by hand: two header shapes of a few tokens each; the structured-fields libraries
parse much more than the one member used here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from baobab.errors import BadRequest

__all__ = ["TUS_ALGORITHMS", "Checksum", "content_digest", "upload_checksum"]

# TUS names → hashlib names; TUS requires sha1, its clients default to it (tuspy does)
TUS_ALGORITHMS = {"sha1": "sha1", "sha256": "sha256", "sha512": "sha512"}
# RFC 9530 names, in the order they are preferred when a client sends several
_DIGEST_ALGORITHMS = {"sha-256": "sha256", "sha-512": "sha512"}


@dataclass(frozen=True)
class Checksum:
    """What the client says its body hashes to: a hashlib algorithm name and the digest."""

    algorithm: str
    digest: bytes

    def hasher(self) -> hashlib._Hash:
        return hashlib.new(self.algorithm)


def _decode(value: str, header: str, algorithm: str) -> Checksum:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(f"{header}: the digest is not valid base64") from None
    size = hashlib.new(algorithm).digest_size
    if len(raw) != size:
        raise BadRequest(f"{header}: a {algorithm} digest has {size} bytes, not {len(raw)}")
    return Checksum(algorithm, raw)


def content_digest(header: str | None) -> Checksum | None:
    """The ``sha-256`` (else ``sha-512``) member of ``Content-Digest: sha-256=:<base64>:, …``.

    Other algorithms are ignored, as RFC 9530 allows; a malformed member of a known one is a
    400 (a checksum the client meant to be checked is never silently skipped).
    """
    if not header:
        return None
    members: dict[str, str] = {}
    for member in header.split(","):
        name, _, value = member.strip().partition("=")
        members.setdefault(name.strip().lower(), value.strip())
    for name, algorithm in _DIGEST_ALGORITHMS.items():
        found = members.get(name)
        if found is None:
            continue
        if len(found) < 2 or not (found.startswith(":") and found.endswith(":")):
            raise BadRequest(f"Content-Digest: write {name} as :<base64>: (RFC 9530)")
        return _decode(found[1:-1], "Content-Digest", algorithm)
    return None


def upload_checksum(header: str | None) -> Checksum | None:
    """TUS's ``Upload-Checksum: <algorithm> <base64>``; an algorithm not in
    :data:`TUS_ALGORITHMS` is a 400, as the TUS checksum extension asks."""
    if not header:
        return None
    name, _, value = header.strip().partition(" ")
    algorithm = TUS_ALGORITHMS.get(name.lower())
    if algorithm is None:
        raise BadRequest(
            f"Upload-Checksum: unsupported algorithm {name!r}",
            details={"supported": list(TUS_ALGORITHMS)},
        )
    return _decode(value.strip(), "Upload-Checksum", algorithm)
