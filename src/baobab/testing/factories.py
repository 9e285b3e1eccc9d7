"""Factories: the API calls tests and benchmarks make to set up users, groups and content.

Each operation is built once, as a :class:`Call` (method, path, JSON body, the status it must
answer and what it gives back), by a ``*_call`` function. Two thin callers send it: ``await
send(client, call)`` on an ``httpx.AsyncClient`` (the in-process :class:`BaobabClient` or a
client of a real server) and ``send_sync(client, call)`` on an ``httpx.Client`` (a real
server, from a thread or a benchmark). The async tests, the most numerous, also get one
function per operation:

    path = await add(client, site, "Folder", "f")
    await add_user(client, site, "alice", roles=["baobab.Editor"])
    await share(client, path, "alice", "baobab.Reader")
    token = await login(client, site, "alice", password_of("alice"))

    with server.root_client() as http:  # a real server
        send_sync(http, content_call("/db", "Container", "site"))

A call that answers another status fails with :class:`AssertionError` naming the request and
the answer (an exception, not an ``assert``: benchmarks may run with ``-O``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx

__all__ = [
    "Call",
    "add",
    "add_group",
    "add_user",
    "content_call",
    "group_call",
    "login",
    "login_call",
    "move",
    "move_call",
    "password_of",
    "send",
    "send_sync",
    "share",
    "sharing_call",
    "transition",
    "transition_call",
    "update_sharing",
    "user_call",
]

T = TypeVar("T")


def _json_object(resp: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = resp.json()
    return body


def _nothing(resp: httpx.Response) -> None:
    if resp.content:
        raise AssertionError(f"expected no body, got {resp.content[:200]!r}")


@dataclass(frozen=True)
class Call(Generic[T]):
    """One API request, the status it must answer, and what to take from the answer."""

    method: str
    path: str
    answer: Callable[[httpx.Response], T]
    json: Any = None
    status: int = 200
    # send without the client's own ``auth`` (Basic credentials): a login is anonymous
    anonymous: bool = False

    def request_args(self) -> dict[str, Any]:
        """Keyword arguments for ``client.request(method, path, …)``."""
        args: dict[str, Any] = {} if self.json is None else {"json": self.json}
        if self.anonymous:
            args["auth"] = None
        return args

    def check(self, resp: httpx.Response) -> T:
        """The answer's value, if ``resp`` has the expected status."""
        if resp.status_code != self.status:
            raise AssertionError(
                f"{self.method} {self.path}: expected {self.status}, "
                f"got {resp.status_code}: {resp.text[:1000]}"
            )
        return self.answer(resp)


async def send(client: httpx.AsyncClient, call: Call[T]) -> T:
    """Make ``call`` with an async client; its answer's value."""
    resp = await client.request(call.method, call.path, **call.request_args())
    return call.check(resp)


def send_sync(client: httpx.Client, call: Call[T]) -> T:
    """Make ``call`` with a blocking client; its answer's value."""
    return call.check(client.request(call.method, call.path, **call.request_args()))


def password_of(login: str) -> str:
    """The password :func:`user_call` gives a user unless told otherwise."""
    return f"{login}-password"


# -- the calls ---------------------------------------------------------------------------


def user_call(
    site: str, username: str, password: str | None = None, **fields: Any
) -> Call[dict[str, Any]]:
    """``POST <site>/@users``: a user stored in the container (``roles``, ``groups``,
    ``fullname``, ``email``… as ``fields``); the new user's JSON."""
    body = {"username": username, "password": password or password_of(username), **fields}
    return Call("POST", f"{site}/@users", _json_object, json=body, status=201)


def group_call(site: str, groupname: str, **fields: Any) -> Call[dict[str, Any]]:
    """``POST <site>/@groups`` (``title``, ``roles``, ``users``… as ``fields``); its JSON."""
    body = {"groupname": groupname, **fields}
    return Call("POST", f"{site}/@groups", _json_object, json=body, status=201)


def content_call(parent: str, type_: str, id_: str, **fields: Any) -> Call[str]:
    """``POST <parent>`` with ``{"@type": type_, "id": id_, **fields}``; the new path (a
    ``Container`` is added to a database: ``content_call("/db", "Container", "site")``)."""
    path = f"{parent}/{id_}"
    body = {"@type": type_, "id": id_, **fields}
    return Call("POST", parent, lambda resp: path, json=body, status=201)


def sharing_call(
    path: str, grants: Mapping[str, Mapping[str, bool]] | None = None, inherit: bool | None = None
) -> Call[None]:
    """``POST <path>/@sharing``: ``grants`` is principal → role → granted (True) or revoked
    (False); ``inherit=False`` blocks the local roles of the parents. Answers 204, no body."""
    body: dict[str, Any] = {
        "entries": [{"id": pid, "roles": dict(roles)} for pid, roles in (grants or {}).items()]
    }
    if inherit is not None:
        body["inherit"] = inherit
    return Call("POST", f"{path}/@sharing", _nothing, json=body, status=204)


def login_call(where: str, login: str, password: str) -> Call[str]:
    """``POST <where>/@login`` (``where`` is a container's path, or ``""`` for the global
    users and root), without the client's own credentials; the token."""

    def token(resp: httpx.Response) -> str:
        value: str = resp.json()["token"]
        return value

    body = {"login": login, "password": password}
    return Call("POST", f"{where}/@login", token, json=body, anonymous=True)


def transition_call(path: str, name: str, comment: str | None = None) -> Call[dict[str, Any]]:
    """``POST <path>/@workflow/<name>``; the new history entry."""
    body = None if comment is None else {"comment": comment}
    return Call("POST", f"{path}/@workflow/{name}", _json_object, json=body)


def move_call(path: str, destination: str) -> Call[str]:
    """``POST <path>/@move`` into the folder ``destination``; the object's new path."""

    def moved(resp: httpx.Response) -> str:
        return httpx.URL(resp.json()["@id"]).path

    return Call("POST", f"{path}/@move", moved, json={"destination": destination})


# -- one function per call, for async clients -------------------------------------------


async def add_user(
    client: httpx.AsyncClient, site: str, username: str, password: str | None = None, **fields: Any
) -> dict[str, Any]:
    """A user stored in ``site`` (password :func:`password_of` by default); its JSON."""
    return await send(client, user_call(site, username, password, **fields))


async def add_group(
    client: httpx.AsyncClient, site: str, groupname: str, **fields: Any
) -> dict[str, Any]:
    """A group stored in ``site``; its JSON."""
    return await send(client, group_call(site, groupname, **fields))


async def add(client: httpx.AsyncClient, parent: str, type_: str, id_: str, **fields: Any) -> str:
    """A ``type_`` object ``id_`` in ``parent``; its path."""
    return await send(client, content_call(parent, type_, id_, **fields))


async def share(
    client: httpx.AsyncClient,
    path: str,
    principal: str,
    role: str,
    grant: bool = True,
    *,
    inherit: bool | None = None,
) -> None:
    """Grant (or with ``grant=False`` revoke) ``principal`` the local ``role`` on ``path``."""
    await send(client, sharing_call(path, {principal: {role: grant}}, inherit))


async def update_sharing(
    client: httpx.AsyncClient,
    path: str,
    grants: Mapping[str, Mapping[str, bool]] | None = None,
    *,
    inherit: bool | None = None,
) -> None:
    """Several grants at once, and/or block (``inherit=False``) or restore inheritance."""
    await send(client, sharing_call(path, grants, inherit))


async def login(client: httpx.AsyncClient, where: str, username: str, password: str) -> str:
    """A token for ``username`` from ``<where>/@login``."""
    return await send(client, login_call(where, username, password))


async def transition(
    client: httpx.AsyncClient, path: str, name: str, comment: str | None = None
) -> dict[str, Any]:
    """Take the workflow transition ``name`` on ``path``; the history entry."""
    return await send(client, transition_call(path, name, comment))


async def move(client: httpx.AsyncClient, path: str, destination: str) -> str:
    """Move ``path`` into ``destination``; the new path."""
    return await send(client, move_call(path, destination))
