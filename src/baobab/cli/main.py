"""The ``baobab`` command: argument parsing, dispatch and exit codes.

``serve``, ``check-config``, ``hash-password`` and ``reindex-security`` are here; every other
command lives in a module of its own that adds its parser with ``add_parser(sub)`` and sets
``run`` (``parser.set_defaults(run=...)``): :data:`COMMANDS` lists those modules.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import logging
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import msgspec

from baobab import __version__
from baobab.asgi.state import build_registry
from baobab.cli import backup, catalog, console, pack, rootpassword, transfer, users
from baobab.config.settings import Settings, check_settings, load_settings
from baobab.database.databases import Databases
from baobab.database.storage import check_not_in_use
from baobab.database.transactions import ROOT_KEY, run_in_transaction
from baobab.errors import ConfigError
from baobab.security.lifecycle import repair
from baobab.security.passwords import hash_password
from baobab.security.policy import SecurityPolicy
from baobab.security.secrets import ROOT_PASSWORD_HASH_ENV, ensure_secrets
from baobab.security.workflows import Workflows
from baobab.telemetry.exposition import MULTIPROC_ENV, prepare_directory, serve_metrics
from baobab.telemetry.logs import configure_logging

__all__ = ["main"]

EXIT_CONFIG = 2

# Granian's logging configuration (it replaces its own top-level keys) with its lines as JSON,
# for ``server.log_format: "json"``: its two handlers, each on standard output as by default
GRANIAN_JSON_LOGS: dict[str, Any] = {
    "formatters": {
        "generic": {"()": "baobab.telemetry.logs.JsonFormatter"},
        "access": {"()": "baobab.telemetry.logs.JsonFormatter"},
    },
}

# modules adding commands: each has ``add_parser(sub)`` and sets ``run`` on its parser
COMMANDS: tuple[Any, ...] = (catalog, pack, backup, transfer, console, rootpassword, users)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="baobab", description="Baobab content server")
    parser.add_argument("--version", action="version", version=f"baobab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the API (HTTP/1.1 and HTTP/2 on one port)")
    serve.add_argument("--config", "-c", help="JSON configuration file")
    serve.add_argument("--host", help="address to bind (overrides server.host)")
    serve.add_argument("--port", "-p", type=int, help="port to bind (overrides server.port)")
    serve.add_argument("--workers", type=int, help="worker processes (overrides server.workers)")
    serve.add_argument("--certfile", help="TLS certificate (PEM); enables HTTPS with ALPN h2")
    serve.add_argument("--keyfile", help="TLS private key (PEM)")
    sub.add_parser("hash-password", help="print an argon2 hash for auth.users in the config")
    check = sub.add_parser("check-config", help="validate a configuration file and exit")
    check.add_argument("config", help="JSON configuration file")
    repair = sub.add_parser(
        "reindex-security",
        help="put content without a workflow state in its initial state and recompute every "
        "object's allowed-principal tokens, and the catalog's allowedRolesAndUsers (stop the "
        "server first for FileStorage)",
    )
    repair.add_argument("--config", "-c", help="JSON configuration file")
    for module in COMMANDS:
        module.add_parser(sub)
    return parser


def _reindex_security(args: argparse.Namespace) -> int:
    """Opens the databases and nothing else of a server's start (no secrets written, no
    spool clean-up, which would remove a live server's uploads in progress)."""
    settings = load_settings(args.config)
    registry = build_registry(settings)
    policy = SecurityPolicy(registry, Workflows.build(settings.workflows, registry))
    databases = Databases.open(settings)

    def work(conn: Any) -> tuple[tuple[int, int], bool]:
        root = conn.root().get(ROOT_KEY)
        if root is None:
            return (0, 0), False
        entered = sum(repair(policy, c) for c in list(root.values()))
        return (len(root), entered), True

    try:
        for name in databases:
            containers, entered = run_in_transaction(
                databases[name], work, retries=databases.retries
            )
            print(f"{name}: {containers} containers reindexed, {entered} objects entered a state")
    finally:
        databases.close()
    return 0


def _with_overrides(settings: Settings, args: argparse.Namespace) -> Settings:
    server = settings.server
    changes = {
        "host": args.host,
        "port": args.port,
        "workers": args.workers,
        "certfile": args.certfile,
        "keyfile": args.keyfile,
    }
    server = msgspec.structs.replace(server, **{k: v for k, v in changes.items() if v is not None})
    return msgspec.structs.replace(settings, server=server)


def _check_bind(host: str, port: int) -> None:
    """Fail with one clear line (not a Rust backtrace) when the address cannot be bound."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def _serve(args: argparse.Namespace) -> int:
    config = str(Path(args.config).resolve()) if args.config else None
    settings = check_settings(_with_overrides(load_settings(config), args))
    server = settings.server
    # Everything that can refuse at once comes before a password is generated: a start that
    # fails later leaves it unconfirmed, and the next start makes a new one (secrets.py).
    _check_bind(server.host, server.port)
    metrics = settings.metrics
    if metrics.enabled and metrics.port is not None:
        _check_bind(metrics.host, metrics.port)
    check_not_in_use(settings)
    secrets, generated = ensure_secrets(settings)
    # Hand the hash to the workers: each would otherwise argon2-hash a plain password again
    # (64 MiB and tens of ms per process at start-up).
    os.environ[ROOT_PASSWORD_HASH_ENV] = secrets.root_password_hash
    if generated:
        print(
            f"Generated the root password (shown once, kept hashed in "
            f"{settings.var_path / 'secrets.json'}; `baobab set-password` changes it): "
            f"{generated}",
            flush=True,
        )
    if config:
        os.environ["BAOBAB_CONFIG"] = config
    tls: dict[str, Path] = {}
    if server.certfile and server.keyfile:
        tls = {"ssl_cert": Path(server.certfile), "ssl_key": Path(server.keyfile)}
    if server.log_format == "json":
        configure_logging("json")  # this process's own lines too (the metrics port's)
    with _metrics(settings):
        _granian(settings, tls)
    return 0


@contextlib.contextmanager
def _metrics(settings: Settings) -> Iterator[None]:
    """With metrics on: the workers' directory (``PROMETHEUS_MULTIPROC_DIR``, set here, in the
    parent, before Granian forks: prometheus-client reads it when a worker first imports it)
    and the metrics port, served by this process from a thread, summing every worker."""
    metrics = settings.metrics
    if not metrics.enabled:
        yield
        return
    given = os.environ.get(MULTIPROC_ENV)
    directory = Path(given) if given else Path(tempfile.mkdtemp(prefix="baobab-metrics-"))
    os.environ[MULTIPROC_ENV] = str(prepare_directory(directory))
    server = None
    try:
        if metrics.port is not None:
            server = serve_metrics(metrics.host, metrics.port)
            logging.getLogger(__name__).info(
                "metrics on http://%s:%d/metrics", metrics.host, metrics.port
            )
        yield
    finally:
        if server is not None:
            server.shutdown()
        if not given:
            shutil.rmtree(directory, ignore_errors=True)


def _granian(settings: Settings, tls: dict[str, Path]) -> None:
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces, Loops

    server = settings.server
    logs: dict[str, Any] = {}
    if server.log_format == "json":
        logs["log_dictconfig"] = GRANIAN_JSON_LOGS
    Granian(
        target="baobab.asgi:app",
        address=server.host,
        port=server.port,
        interface=Interfaces.ASGI,
        workers=server.workers,
        loop=Loops.uvloop,
        http=HTTPModes.auto,
        websockets=True,
        backlog=server.backlog,
        log_access=server.access_log,
        **logs,
        **tls,  # type: ignore[arg-type]  # Path values for the ssl_* keywords
    ).serve()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # a command may ask for less (``set_defaults(log_level=...)``): what ``baobab user`` prints
    # is its answer, not the databases opening and closing
    level = getattr(args, "log_level", logging.INFO)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "reindex-security":
            return _reindex_security(args)
        run = getattr(args, "run", None)
        if run is not None:
            code: int = run(args)
            return code
        if args.command == "check-config":
            load_settings(args.config)
            print(f"{args.config}: valid")
            return 0
        if args.command == "hash-password":
            password = getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline()
            print(hash_password(password.rstrip("\n")))
            return 0
    except ConfigError as exc:
        print(f"baobab: {exc.message}", file=sys.stderr)
        return EXIT_CONFIG
    return 1  # pragma: no cover - argparse rejects unknown commands
