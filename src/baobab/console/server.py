"""The SSH server inside the running instance: public keys only, one console per session.

asyncssh runs on the application's event loop (it only moves bytes there); each session's
statements run in that session's console thread (:mod:`baobab.console.interpreter`).

With several workers (``server.workers`` > 1, PostgreSQL), every worker starts the console
and only one can bind its port: the first one serves it, the others log once (INFO) and go on
without. A console session therefore sees the one worker that bound the port — its
``Databases``, its caches —, which is the whole truth for content (every worker shares the
PostgreSQL database) but not for per-process state.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
from typing import Any

import asyncssh

from baobab.config.settings import Settings
from baobab.console.interpreter import Console
from baobab.console.keys import Operators, load_host_key
from baobab.console.namespace import NamespaceFactory
from baobab.database.databases import Databases

__all__ = ["BANNER", "ConsoleServer"]

logger = logging.getLogger(__name__)
audit = logging.getLogger("baobab.audit")

BANNER = (
    "Baobab console (pid {pid}): Python with top-level await. Ready: databases, settings, "
    "registry, read, write, get, patch, modified, notify. Ctrl-D ends the session.\n"
)


class _Authenticator(asyncssh.SSHServer):
    """Public keys only: passwords, keyboard-interactive and host-based logins are refused
    because this class never offers them."""

    def __init__(self, operators: Operators) -> None:
        self._operators = operators
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn

    def begin_auth(self, username: str) -> bool:
        return True  # authentication is always required

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        operator = self._operators.operator(key)
        assert self._conn is not None
        if operator is None:
            peer = self._conn.get_extra_info("peername")
            audit.warning(
                "console: key %s refused (user %r from %s)",
                key.get_fingerprint(),
                username,
                _address(peer),
            )
            return False
        self._conn.set_extra_info(operator=operator)
        return True


def _address(peer: Any) -> str:
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer)


class ConsoleServer:
    """The console of one process: :meth:`start` with the application, :meth:`close` at
    shutdown (sessions are ended, their running statements interrupted)."""

    def __init__(self, settings: Settings, namespace: NamespaceFactory) -> None:
        self._settings = settings
        self._namespace = namespace
        self._server: asyncssh.SSHAcceptor | None = None
        self._sessions: set[Console] = set()
        self._connections: set[Any] = set()

    @property
    def serving(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int | None:
        """The bound port (the configured one, or the kernel's choice for 0)."""
        return self._server.get_port() if self._server is not None else None

    async def start(self) -> bool:
        """Listen if the console is enabled; False if it is off or another process (a
        sibling worker) holds the port. A bad key or host key raises ``ConfigError``."""
        config = self._settings.console
        if not config.enabled:
            return False
        # asyncssh logs every connection and channel at INFO; the audit log says who came
        logging.getLogger("asyncssh").setLevel(logging.WARNING)
        operators = Operators(config.authorized_keys)
        host_key = await asyncio.get_running_loop().run_in_executor(
            None, load_host_key, self._settings.console_host_key_path
        )
        try:
            self._server = await asyncssh.create_server(
                lambda: _Authenticator(operators),
                config.host,
                config.port,
                server_host_keys=[host_key],
                process_factory=self._session,
                encoding="utf-8",
                password_auth=False,
                kbdint_auth=False,
                host_based_auth=False,
                public_key_auth=True,
                gss_auth=False,
                agent_forwarding=False,
                x11_forwarding=False,
                allow_scp=False,
                line_editor=True,
            )
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            logger.info(
                "console: %s:%d is in use (another worker serves the console, or another "
                "program holds the port): not served by this process",
                config.host,
                config.port,
            )
            return False
        logger.info("console: listening on %s:%d (ssh)", config.host, self.port)
        return True

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for console in list(self._sessions):
            console.close()
        for conn in list(self._connections):
            conn.close()
        await server.wait_closed()
        logger.info("console: closed")

    async def _session(self, process: asyncssh.SSHServerProcess[str]) -> None:
        operator: str = process.get_extra_info("operator") or "?"
        client = _address(process.get_extra_info("peername"))
        conn = process.channel.get_connection()
        self._connections.add(conn)
        tty = process.get_terminal_type() is not None
        loop = asyncio.get_running_loop()

        def send(text: str) -> None:
            if not process.channel.is_closing():
                process.stdout.write(text)

        def write(text: str) -> None:  # from the console thread
            loop.call_soon_threadsafe(send, text)

        namespace = self._namespace(operator)
        databases: Databases | None = namespace.get("databases")

        def release() -> None:  # the console thread's own ZODB connections (inline mode)
            if databases is not None:
                for name in databases:
                    databases.connections.discard(databases[name])

        console = Console(namespace, write=write, operator=operator, client=client, on_exit=release)
        self._sessions.add(console)
        audit.info("console %s from %s: session opened", operator, client)
        try:
            if tty:
                process.stdout.write(BANNER.format(pid=os.getpid()))
            await _repl(process, console, tty)
        finally:
            self._sessions.discard(console)
            self._connections.discard(conn)
            console.close()
            audit.info("console %s from %s: session closed", operator, client)
            if not process.channel.is_closing():
                process.exit(0)


async def _repl(process: asyncssh.SSHServerProcess[str], console: Console, tty: bool) -> None:
    """Read lines and run them until end of input or ``exit()``. Without a terminal
    (statements piped into ``ssh``) there is no prompt, as with ``python < file``."""
    more = False
    while not console.ended:
        if tty:
            process.stdout.write(console_prompt(more))
        try:
            line = await process.stdin.readline()
        except asyncssh.BreakReceived:  # Ctrl-C at the prompt: drop the line
            clear = getattr(process.channel, "clear_input", None)  # the line editor's
            if clear is not None:
                clear()
            process.stdout.write("\nKeyboardInterrupt\n")
            console.reset()
            more = False
            continue
        except (asyncssh.TerminalSizeChanged, asyncssh.SignalReceived):
            continue
        if not line:  # Ctrl-D, or the end of piped input: finish a pending block
            if more:
                await _statement(process, console, "")
            break
        outcome = await _statement(process, console, line.rstrip("\r\n"))
        if outcome is None:
            break
        more = outcome


async def _statement(
    process: asyncssh.SSHServerProcess[str], console: Console, line: str
) -> bool | None:
    """Push ``line`` and wait for it — or for the client to go, which interrupts a running
    statement (None: the session is over)."""
    statement: asyncio.Future[Any] = asyncio.wrap_future(console.submit(line))
    gone: asyncio.Future[Any] = asyncio.ensure_future(process.channel.wait_closed())
    try:
        await asyncio.wait({statement, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    if not statement.done():
        console.interrupt()
        return None
    more: bool = statement.result()
    return more


def console_prompt(more: bool) -> str:
    return "... " if more else ">>> "
