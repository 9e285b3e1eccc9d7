"""The console's keys: the operators' public keys, and the server's own host key.

Operators are the lines of ``console.authorized_keys`` (OpenSSH public key lines); a key's
comment is the operator's name in the audit log. The host key is an ed25519 key made on the
first start (mode 0600) and reused afterwards, so the client's ``known_hosts`` stays true.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

import asyncssh

from baobab.errors import ConfigError

__all__ = ["Operators", "load_host_key"]

logger = logging.getLogger(__name__)


class Operators:
    """The authorized public keys, by their key data, each with its operator's name."""

    def __init__(self, lines: list[str]) -> None:
        self._by_key: dict[bytes, str] = {}
        for index, line in enumerate(lines):
            try:
                key = asyncssh.import_public_key(line.strip())
            except (asyncssh.KeyImportError, ValueError) as exc:
                raise ConfigError(
                    f"Invalid configuration: `$.console.authorized_keys[{index}]` is not an "
                    f"OpenSSH public key: {exc}"
                ) from None
            comment = key.get_comment()
            if not comment:
                raise ConfigError(
                    f"Invalid configuration: `$.console.authorized_keys[{index}]` needs a "
                    "comment naming the operator"
                )
            self._by_key[key.public_data] = comment

    def operator(self, key: asyncssh.SSHKey) -> str | None:
        """The operator whose key this is, or None for a key nobody authorized."""
        return self._by_key.get(key.public_data)


def load_host_key(path: Path) -> asyncssh.SSHKey:
    """The host key at ``path``, made (ed25519, mode 0600) if there is none.

    Several workers may start at once: each writes a fresh key to a file of its own, and
    ``os.link`` (which never replaces) lets exactly one become ``path``; the others read it.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = asyncssh.generate_private_key("ssh-ed25519", comment="baobab console host key")
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key.export_private_key())
        try:
            os.link(temporary, path)
            logger.info("console: generated the host key %s", path)
        except FileExistsError:
            pass  # another worker made it first
        finally:
            with contextlib.suppress(OSError):
                temporary.unlink()
    try:
        return asyncssh.read_private_key(path)
    except (OSError, asyncssh.KeyImportError) as exc:
        raise ConfigError(f"Cannot read the console host key {path}: {exc}") from None
