"""``baobab console`` (the OpenSSH client into a running server's console) and ``baobab
shell`` (the same console offline, on this terminal, opening the databases itself).

See docs/console.md. ``console`` adds nothing to ``ssh`` but what the configuration already
says (address, port): it replaces itself with ``ssh``, so the terminal, the keys and the
agent are OpenSSH's own.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import getpass
import os
import shutil
import sys
from typing import Any

from baobab.asgi.state import build_registry
from baobab.config.settings import load_settings
from baobab.console import Console, build_namespace
from baobab.database.databases import Databases
from baobab.database.storage import check_not_in_use
from baobab.errors import ConfigError
from baobab.security.policy import SecurityPolicy
from baobab.security.workflows import Workflows

__all__ = ["add_parser", "console", "shell"]

BANNER = (
    "Baobab shell (offline): Python with top-level await. Ready: databases, settings, "
    "registry, read, write, get, patch, modified, notify. Ctrl-D ends the session.\n"
)


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "console",
        help="open the SSH console of the running server (runs ssh with the configured "
        "address and port; extra ssh options after --)",
    )
    parser.add_argument("--config", "-c", help="JSON configuration file")
    parser.add_argument("-i", dest="identity", help="the private key (ssh -i)")
    parser.add_argument("ssh_args", nargs=argparse.REMAINDER, help="-- then options for ssh")
    parser.set_defaults(run=console)
    shell_parser = sub.add_parser(
        "shell",
        help="the console without a server, on this terminal (FileStorage: stop the server "
        "first; PostgreSQL: works beside running servers)",
    )
    shell_parser.add_argument("--config", "-c", help="JSON configuration file")
    shell_parser.set_defaults(run=shell)


def _client_host(host: str) -> str:
    """Where to connect for a console bound to ``host`` (any address: the loopback)."""
    return {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)


def console(args: argparse.Namespace) -> int:
    """Replace this process with ``ssh -p PORT [-i KEY] [-T] [OPTIONS] HOST`` (``-T`` when
    stdin is not a terminal)."""
    settings = load_settings(args.config)
    config = settings.console
    if not config.enabled:
        raise ConfigError(
            "the console is off in this configuration: set `$.console.enabled` and "
            "`$.console.authorized_keys`, then restart the server (docs/console.md)"
        )
    ssh = shutil.which("ssh")
    if ssh is None:
        raise ConfigError("the OpenSSH client (ssh) is not installed")
    extra = list(args.ssh_args)
    if extra[:1] == ["--"]:
        extra = extra[1:]
    identity = ["-i", args.identity] if args.identity else []
    # statements piped in: no terminal to ask for (ssh would warn that it cannot)
    terminal = [] if sys.stdin.isatty() else ["-T"]
    argv = [ssh, "-p", str(config.port), *identity, *terminal, *extra, _client_host(config.host)]
    sys.stdout.flush()
    os.execv(ssh, argv)
    return 0  # pragma: no cover - execv does not return


def shell(args: argparse.Namespace) -> int:
    """The console on stdin/stdout, until end of input or ``exit()``."""
    settings = load_settings(args.config)
    try:
        check_not_in_use(settings)
    except ConfigError as exc:
        raise ConfigError(
            f"{exc.message}. Stop the server first, or use its live console (baobab console)"
        ) from None
    registry = build_registry(settings)
    policy = SecurityPolicy(registry, Workflows.build(settings.workflows, registry))
    databases = Databases.open(settings)
    try:
        operator = f"{getpass.getuser()} (shell)"
        namespace = build_namespace(
            databases=databases,
            settings=settings,
            registry=registry,
            operator=operator,
            deliver=None,  # no server here: nothing is pushed live (docs/console.md)
            policy=policy,
        )
        out = sys.stdout

        def write(text: str) -> None:
            out.write(text)
            out.flush()

        def release() -> None:  # the console thread's connections, before the close below
            for name in databases:
                databases.connections.discard(databases[name])

        session = Console(
            namespace, write=write, operator=operator, client="local", on_exit=release
        )
        try:
            _loop(session, interactive=sys.stdin.isatty())
        finally:
            session.close()
            session.join(5.0)
    finally:
        databases.close()
    return 0


def _loop(session: Console, *, interactive: bool) -> None:
    if interactive:
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401  # line editing and history for input()
        sys.stdout.write(BANNER)
    more = False
    while not session.ended:
        try:
            if interactive:
                line = input("... " if more else ">>> ")
            else:
                line = sys.stdin.readline()
                if not line:
                    raise EOFError
        except EOFError:  # Ctrl-D or the end of piped input: finish a pending block
            if more:
                _wait(session, session.submit(""))
            if interactive:
                sys.stdout.write("\n")
            return
        except KeyboardInterrupt:  # Ctrl-C at the prompt: drop the line
            sys.stdout.write("\nKeyboardInterrupt\n")
            session.reset()
            more = False
            continue
        more = _wait(session, session.submit(line.rstrip("\n")))


def _wait(session: Console, future: concurrent.futures.Future[bool]) -> bool:
    """The statement's outcome; Ctrl-C while it runs interrupts it."""
    while True:
        try:
            return future.result()
        except KeyboardInterrupt:
            session.interrupt()
