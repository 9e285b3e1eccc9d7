"""``baobab set-password``: choose the root password, or reset a forgotten one.

The new password's argon2 hash goes where a generated one lives, ``var/secrets.json``
(:func:`~baobab.security.secrets.set_root_password`). ``baobab serve`` reads it at start and
hands it to its workers (``BAOBAB_ROOT_PASSWORD_HASH``), so a running server keeps the old
password until it is restarted. When the configuration or the environment sets the root
password, that wins over the file: the command refuses and says where to change it.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from baobab.cli.prompt import read_new_password
from baobab.config.settings import load_settings
from baobab.errors import ConfigError
from baobab.security.passwords import settings_hasher
from baobab.security.secrets import configured_root_password, set_root_password

__all__ = ["add_parser", "set_password"]


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "set-password",
        help="set (or reset) the root password, read from a prompt or stdin; kept hashed in "
        "var/secrets.json, used by servers started afterwards",
    )
    parser.add_argument("--config", "-c", help="JSON configuration file")
    parser.set_defaults(run=set_password, log_level=logging.WARNING)


def set_password(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    where = configured_root_password(settings)
    if where is not None:
        raise ConfigError(
            f"the root password is set by {where}, which wins over var/secrets.json: "
            "change it there (`baobab hash-password` makes a hash)"
        )
    password = read_new_password("New root password")
    path = set_root_password(settings, settings_hasher(settings.auth.argon2).hash(password))
    print(
        f"root password set (its hash is in {path}); running servers keep the old one until "
        "they are restarted"
    )
    return 0
