"""Checksums clients send with uploads: RFC 9530 ``Content-Digest`` and TUS ``Upload-Checksum``.

Written by hand: two header shapes of a few tokens each; the structured-fields libraries
parse much more than the one member used here.
"""

from __future__ import annotations

import base64
import binascii

from baobab.errors import BadRequest

__all__ = ["content_digest_sha256", "upload_checksum_sha256"]

_SHA256_BYTES = 32


def _decode(value: str, header: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(f"{header}: the digest is not valid base64") from None
    if len(raw) != _SHA256_BYTES:
        raise BadRequest(f"{header}: a SHA-256 digest has {_SHA256_BYTES} bytes, not {len(raw)}")
    return raw


def content_digest_sha256(header: str | None) -> bytes | None:
    """The ``sha-256`` member of ``Content-Digest: sha-256=:<base64>:, …``, else None.

    Other algorithms are ignored, as RFC 9530 allows; a malformed ``sha-256`` member is a 400
    (a checksum the client meant to be checked is never silently skipped).
    """
    if not header:
        return None
    for member in header.split(","):
        name, _, value = member.strip().partition("=")
        if name.strip().lower() != "sha-256":
            continue
        value = value.strip()
        if len(value) < 2 or not (value.startswith(":") and value.endswith(":")):
            raise BadRequest("Content-Digest: write sha-256 as :<base64>: (RFC 9530)")
        return _decode(value[1:-1], "Content-Digest")
    return None


def upload_checksum_sha256(header: str | None) -> bytes | None:
    """TUS's ``Upload-Checksum: sha256 <base64>``; another algorithm is a 400 (the TUS
    checksum extension asks for it)."""
    if not header:
        return None
    algorithm, _, value = header.strip().partition(" ")
    if algorithm.lower() != "sha256":
        raise BadRequest(
            f"Upload-Checksum: unsupported algorithm {algorithm!r}; use sha256",
            details={"supported": ["sha256"]},
        )
    return _decode(value.strip(), "Upload-Checksum")
