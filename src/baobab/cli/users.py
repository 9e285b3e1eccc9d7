"""``baobab user add / passwd / list / remove``: users from the command line.

Two kinds, as in the API:

- **site users** (``--container C [--database D]``) live in a container. The commands publish
  the very requests a user manager sends to ``@users`` (:class:`~baobab.asgi.local.
  LocalClient`), so validation, the password rule, hashing, the search index, ended tokens and
  the live events are the service's. On PostgreSQL this works while servers run (with
  ``pubsub.redis`` they hear of the change at once); a FileStorage must not be open in a
  server (one line says which process holds it).
- **configured users** (``--configured``) live in the configuration file (``auth.users``)
  and are valid in every container: see :mod:`baobab.cli.configusers`.

Passwords come from a prompt or stdin (:mod:`baobab.cli.prompt`), never from the command
line. Refusals are one line and exit 2, with nothing written.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

from baobab.asgi.local import Answer, LocalClient
from baobab.catalog.rebuild import container_names
from baobab.cli import configusers
from baobab.cli.prompt import read_new_password
from baobab.cli.userlist import format_users
from baobab.config.settings import Settings, load_settings
from baobab.database.transactions import run_in_transaction
from baobab.errors import ConfigError

__all__ = ["add_parser"]

PAGE = 1000  # users per listing request (the default max_batch_size)


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "user",
        help="add, list, remove users or change their password: users of a container "
        "(--container) or configured users (--configured, in the configuration file)",
    )
    actions = parser.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add a user; the password is read from a prompt or stdin")
    add.add_argument("login")
    add.add_argument("--title", default="", help="full name")
    add.add_argument("--email", default="", help="e-mail address (site users)")
    add.add_argument(
        "--role", action="append", default=[], help="a global role, e.g. baobab.Editor (repeat)"
    )
    passwd = actions.add_parser("passwd", help="change a user's password (prompt or stdin)")
    passwd.add_argument("login")
    actions.add_parser("list", help="list the users: login, title, roles")
    remove = actions.add_parser("remove", help="remove a user")
    remove.add_argument("login")
    for action in (add, passwd, actions.choices["list"], remove):
        action.add_argument("--config", "-c", help="JSON configuration file")
        where = action.add_mutually_exclusive_group(required=True)
        where.add_argument("--container", help="a site user of this container")
        where.add_argument(
            "--configured",
            action="store_true",
            help="a configured user (auth.users of the --config file, valid in every container)",
        )
        action.add_argument(
            "--database", "-d", help="the container's database (default: the first configured)"
        )
        action.set_defaults(run=run, log_level=logging.WARNING)


def run(args: argparse.Namespace) -> int:
    if args.configured:
        if args.database is not None:
            raise ConfigError("--database is for site users (--container)")
        return configusers.run(args)
    settings = load_settings(args.config)
    database = args.database or settings.system_database
    if database not in settings.databases:
        known = ", ".join(settings.databases)
        raise ConfigError(f"no database named {database!r} (configured: {known})")
    return asyncio.run(_site(args, settings, database))


async def _site(args: argparse.Namespace, settings: Settings, database: str) -> int:
    async with LocalClient.open(settings) as client:
        _check_container(client, database, args.container)
        users = f"/{database}/{args.container}/@users"
        where = f"/{database}/{args.container}"
        if args.action == "list":
            print(format_users(await _listing(client, users)), end="")
            return 0
        if args.action == "remove":
            _expect(await client.request("DELETE", f"{users}/{args.login}"), 204)
            print(f"user {args.login!r} removed from {where}")
            return 0
        password = read_new_password(f"Password for {args.login}")
        if args.action == "add":
            data: dict[str, Any] = {"username": args.login, "password": password}
            data.update({"fullname": args.title, "email": args.email})
            if args.role:
                data["roles"] = args.role
            _expect(await client.request("POST", users, data), 201)
            print(f"user {args.login!r} added to {where}")
        else:
            answer = await client.request("PATCH", f"{users}/{args.login}", {"password": password})
            _expect(answer, 204)
            print(f"password of {args.login!r} in {where} changed (their tokens have ended)")
        return 0


def _check_container(client: LocalClient, database: str, container: str) -> None:
    def read(conn: Any) -> tuple[list[str], bool]:
        return container_names(conn), False

    db = client.state.databases[database]
    if container not in run_in_transaction(db, read, retries=0):
        raise ConfigError(f"no container named {container!r} in database {database!r}")


def _expect(answer: Answer, status: int) -> None:
    if answer.status != status:
        raise ConfigError(answer.message)


async def _listing(client: LocalClient, users: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        answer = await client.request("GET", users, query=f"b_size={PAGE}&b_start={len(found)}")
        _expect(answer, 200)
        found.extend(answer.data["items"])
        if not answer.data["items"] or len(found) >= answer.data["items_total"]:
            return found
