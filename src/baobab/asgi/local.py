"""Requests published inside this process: a command that acts on content as a client of the
API would (``baobab user``), without a server.

Each request goes through the same publish step as an HTTP request (traversal, the service's
permission, its validation, hashing, events and after-commit delivery), as ``root``, so what a
command writes is exactly what the service writes. The state is built as a server's
(:func:`~baobab.asgi.state.assemble`) except for what only a server may do: no secrets are
generated or stored (the root token is signed with a secret of this process only), the spool
is not cleaned (a live server's uploads are there) and the databases are opened as they are,
nothing created or upgraded in them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import secrets as secrets_
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson

from baobab.asgi.body import release
from baobab.asgi.pipeline import publish
from baobab.asgi.scope import new_request
from baobab.asgi.state import AppState, assemble, stop
from baobab.config.settings import Settings
from baobab.security.passwords import hash_password
from baobab.security.principals import ROOT_ID
from baobab.security.secrets import Secrets
from baobab.types import Message

__all__ = ["Answer", "LocalClient"]


@dataclass(frozen=True)
class Answer:
    status: int
    data: Any  # the decoded JSON body (None when empty)

    @property
    def message(self) -> str:
        """An error envelope's ``message`` (the status otherwise)."""
        if isinstance(self.data, dict) and isinstance(self.data.get("message"), str):
            return str(self.data["message"])
        return f"status {self.status}"


class LocalClient:
    """Publish requests as ``root`` on a state of this process's own; see the module."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        token, _ = state.authenticator.tokens.issue(ROOT_ID)
        self._authorization = f"Bearer {token}"
        server = state.settings.server
        self._base_url = server.public_url or f"http://{server.host}:{server.port}"

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, settings: Settings) -> AsyncIterator[LocalClient]:
        """Open the databases (blocking, off the loop), start live delivery (so account
        changes reach the servers sharing ``pubsub.redis``), close everything at the end."""
        # nobody can log in as root here: the hash is of a password nobody knows
        secrets = Secrets(
            root_password_hash=hash_password(secrets_.token_urlsafe(32)),
            jwt_secret=secrets_.token_urlsafe(48),
        )
        loop = asyncio.get_running_loop()
        build = functools.partial(assemble, settings, secrets, prepare=False)
        state = await loop.run_in_executor(None, build)
        try:
            await state.live.start()
            yield cls(state)
        finally:
            await state.live.close()
            await state.delivery.close()
            await loop.run_in_executor(None, stop, state)

    async def request(self, method: str, path: str, data: Any = None, query: str = "") -> Answer:
        """Publish one request (a JSON body when ``data`` is not None); its answer."""
        body = b"" if data is None else orjson.dumps(data)
        headers = {"authorization": self._authorization}
        if data is not None:
            headers["content-type"] = "application/json"
            headers["content-length"] = str(len(body))
        scope: dict[str, Any] = {
            "type": "http",
            "method": method,
            "path": path,
            "query_string": query.encode(),
            "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
            "client": None,
        }
        credentials = await self.state.authenticator.authenticate(self._authorization)
        request = new_request(
            self.state,
            scope,
            headers,
            credentials,
            base_url=self._base_url,
            method=method,
            body=body,
            client="",
        )

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        try:
            response = await publish(self.state, request, receive)
        finally:
            release(request)
        return Answer(response.status, orjson.loads(response.body) if response.body else None)
