"""Builds a :class:`~security_model.World` through the API and checks, as each of its
principals, what every route reveals against the model (the probes of
``test_security_properties.py``).

Every answer a principal receives is also searched for the *markers* (title, description,
text or file content, UID) of each object the model hides from them: whatever the route, a
hidden object's data never reaches them. A hidden object is compared with a missing sibling
(``zz<digit>`` for ``n<digit>``) request by request: status, the headers that could tell them
apart, and the body with the two names replaced by one placeholder must be identical.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import httpx
from security_model import (
    ACCESS,
    ADD_CONTENT,
    AUTHENTICATED_GROUP,
    CHANGE_LOCAL_ROLES,
    CONTRIBUTOR,
    MEMBER,
    NEW_STATE,
    READER,
    REQUEST_REVIEW,
    REVIEW_CONTENT,
    Findings,
    Node,
    Principal,
    World,
    allowed,
    body,
    description,
    title,
    transitions,
    view,
)

from baobab.asgi import BaobabApp
from baobab.testing import (
    BaobabClient,
    add_group,
    add_user,
    password_of,
    update_sharing,
    without_request_id,
)
from baobab.testing.websocket import Rejected, WebSocket, basic, ws_connect

BASE = "http://baobab.test"
TUS = {"tus-resumable": "1.0.0"}
OCTETS = "application/offset+octet-stream"
# headers whose difference would tell a hidden object from a missing one
TELLING_HEADERS = ("allow", "www-authenticate", "content-type", "location", "tus-resumable")
URL = re.compile(r"http://baobab\.test(/[^\s\"']*)")


def missing_name(name: str) -> str:
    return "zz" + name[1:]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode("ascii")


def telling(resp: httpx.Response, names: dict[str, str]) -> tuple[int, dict[str, str | None], str]:
    """What a client can compare of an answer, with ``names`` replaced by placeholders."""
    text = without_request_id(resp.text)
    headers = {key: resp.headers.get(key) for key in TELLING_HEADERS}
    for name, placeholder in names.items():
        pattern = re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w])")
        text = pattern.sub(placeholder, text)
        headers = {k: v if v is None else pattern.sub(placeholder, v) for k, v in headers.items()}
    return resp.status_code, headers, text


# one request kind: (label, method, suffix after the object's path, request keywords)
Probe = tuple[str, str, str, dict[str, Any]]


def probes(site: str) -> list[Probe]:
    """Request kinds compared on a hidden and a missing object, read-only ones first."""
    tus = {**TUS, "upload-length": "5", "upload-metadata": f"filename {b64('a.txt')}"}
    return [
        ("GET", "GET", "", {}),
        ("HEAD", "HEAD", "", {}),
        ("GET @sharing", "GET", "/@sharing", {}),
        ("GET @workflow", "GET", "/@workflow", {}),
        ("GET @download", "GET", "/@download/file", {}),
        ("GET @download (no field)", "GET", "/@download", {}),
        ("GET @unknown", "GET", "/@no-such-service", {}),
        ("GET @principals", "GET", "/@principals?search=u", {}),
        ("GET @ws over HTTP", "GET", "/@ws", {}),
        ("GET @user", "GET", "/@user", {}),
        ("GET @types", "GET", "/@types", {}),
        ("GET @wstoken", "GET", "/@wstoken", {}),
        ("POST @login", "POST", "/@login", {"json": {"login": "u0", "password": "wrong"}}),
        ("OPTIONS @tus", "OPTIONS", "/@tus", {"headers": TUS}),
        ("HEAD @tus/<id>", "HEAD", "/@tus/" + "0" * 32, {"headers": TUS}),
        ("GET child", "GET", "/zzchild", {}),
        ("GET trailing slash", "GET", "/", {}),
        ("GET If-None-Match", "GET", "", {"headers": {"if-none-match": "*"}}),
        ("GET @download Range", "GET", "/@download/file", {"headers": {"range": "bytes=0-3"}}),
        ("PATCH", "PATCH", "", {"json": {"title": "hacked"}}),
        ("PUT", "PUT", "", {"json": {"title": "hacked"}}),
        ("POST child", "POST", "", {"json": {"@type": "Document", "id": "zzchild"}}),
        ("POST @sharing", "POST", "/@sharing", {"json": {"entries": []}}),
        ("POST @workflow/publish", "POST", "/@workflow/publish", {}),
        ("POST @workflow/nope", "POST", "/@workflow/nope", {}),
        ("POST @copy", "POST", "/@copy", {"json": {"destination": site}}),
        ("POST @move", "POST", "/@move", {"json": {"destination": site}}),
        ("PUT @upload", "PUT", "/@upload/file?filename=a.txt", {"content": b"hacked"}),
        ("POST @tus", "POST", "/@tus", {"headers": tus}),
        ("DELETE", "DELETE", "", {}),
    ]


@dataclass(frozen=True)
class Where:
    """One object of one world, built at ``site``."""

    world: World
    site: str
    tag: str
    node: Node

    @property
    def url(self) -> str:
        return "/".join((self.site, *self.node.path))


@dataclass
class Seen:
    """One principal: its model, its client, and the markers it must never receive."""

    name: str
    who: Principal
    client: BaobabClient
    hidden_markers: dict[str, str]  # marker → the hidden object's path it belongs to


class Campaign:
    """Builds worlds in fresh containers of one app and records violations in ``findings``."""

    def __init__(self, app: BaobabApp, root: BaobabClient, findings: Findings) -> None:
        self.app = app
        self.root = root
        self.findings = findings
        self.count = 0
        self.uids: dict[tuple[str, ...], str] = {}

    # -- building --------------------------------------------------------------------------

    async def build(self, world: World) -> str:
        self.count += 1
        site = f"/db/w{self.count}"
        root = self.root
        resp = await root.post("/db", json={"@type": "Container", "id": site.rsplit("/", 1)[1]})
        assert resp.status_code == 201, resp.text
        for user in world.users:
            await add_user(root, site, user.login, roles=list(user.roles))
        for group in world.groups:
            await add_group(
                root, site, group.name, roles=list(group.roles), users=list(group.members)
            )
        creators = {node.owner for node in world.nodes} - {"root"}
        if creators:  # Contributor while they create, revoked below: they keep only Owner
            await update_sharing(root, site, {c: {CONTRIBUTOR: True} for c in creators})
        for node in world.nodes:
            await self._create(site, node)
        if creators:
            await update_sharing(root, site, {c: {CONTRIBUTOR: False} for c in creators})
        for node in world.nodes:
            grants: dict[str, dict[str, bool]] = {}
            for pid, role in node.local:
                grants.setdefault(pid, {})[role] = True
            if grants or not node.inherit:
                await update_sharing(
                    root,
                    self.path(site, node.path),
                    grants,
                    inherit=None if node.inherit else False,
                )
            for name in {"private": (), "pending": ("submit",), "published": ("publish",)}[
                node.state
            ]:
                resp = await root.post(f"{self.path(site, node.path)}/@workflow/{name}")
                assert resp.status_code == 200, resp.text
        self.uids = {}
        for node in world.nodes:
            resp = await root.get(self.path(site, node.path))
            assert resp.status_code == 200, resp.text
            assert resp.json()["review_state"] == node.state
            self.uids[node.path] = resp.json()["UID"]
        return site

    async def _create(self, site: str, node: Node) -> None:
        fields: dict[str, Any] = {
            "@type": node.kind,
            "id": node.name,
            "title": title(node.path),
            "description": description(node.path),
        }
        if node.kind == "Document":
            fields["text"] = body(node.path)
        if node.kind == "File":
            fields["file"] = {
                "data": b64(body(node.path)),
                "encoding": "base64",
                "filename": "f.txt",
            }
        async with self.client_of(node.owner) as client:
            resp = await client.post(self.path(site, node.parent), json=fields)
        assert resp.status_code == 201, f"creating {node}: {resp.text}"

    @staticmethod
    def path(site: str, path: tuple[str, ...]) -> str:
        return "/".join((site, *path))

    def client_of(self, login: str | None) -> BaobabClient:
        if login == "root":
            return self.root.as_user("root")
        if login is None:
            return self.root.as_user(None)
        return self.root.as_login(login, password_of(login))

    def seen(self, world: World, login: str | None, client: BaobabClient) -> Seen:
        who = world.principal(login)
        hidden: dict[str, str] = {}
        for node in world.nodes:
            if not view(world, node.path, who):
                where, origin = "/".join(node.path), node.origin
                for marker in (title(origin), description(origin), body(origin)):
                    hidden[marker] = where
                if origin in self.uids:
                    hidden[self.uids[origin]] = where
        return Seen(login or "anonymous", who, client, hidden)

    # -- one world -------------------------------------------------------------------------

    async def run(self, world: World, label: str) -> None:
        site = await self.build(world)
        tag = f"[{label} at {site}]"
        async with AsyncExitStack() as stack:
            everyone: list[Seen] = []
            for login in (None, *(user.login for user in world.users)):
                client = await stack.enter_async_context(self.client_of(login))
                everyone.append(self.seen(world, login, client))
            for seen in everyone:
                await self.reads(world, site, seen, tag)
            for seen in everyone:
                await self.hidden_vs_missing(world, site, seen, tag)
            users = [seen for seen in everyone if seen.who.login is not None]
            drop = await self.drop(site, users)
            await self.tus(site, drop, everyone, tag)
            for seen in users:
                await self.copies(world, site, drop, seen, tag)
            for seen in users:
                await self.generated_ids(world, site, seen, tag)
            await self.move_oracle(world, site, users, tag)
        await self.live(world, site, tag)

    async def ask(
        self, prop: str, seen: Seen, method: str, url: str, tag: str, **kwargs: Any
    ) -> httpx.Response:
        """A request as ``seen``; its answer must carry no marker of a hidden object."""
        resp = await seen.client.request(method, url, **kwargs)
        self.no_markers(prop, seen, f"{method} {url}", resp.text, tag)
        return resp

    def no_markers(self, prop: str, seen: Seen, what: str, text: str, tag: str) -> None:
        leaked = sorted({path for marker, path in seen.hidden_markers.items() if marker in text})
        self.findings.check(
            prop,
            not leaked,
            f"{tag} {seen.name}: {what} reveals data of hidden {leaked}: {text[:300]}",
        )

    # -- reads: GET, parent, items, @sharing, @workflow, @download -------------------------

    async def reads(self, world: World, site: str, seen: Seen, tag: str) -> None:
        listing = await self.get_object("items", seen, site, tag, params={"b_size": 1000})
        self.items(world, (), listing, seen, tag)
        for node in world.nodes:
            where = Where(world, site, tag, node)
            await self.read_object(where, seen)
            await self.read_sharing(where, seen)
            await self.read_workflow(where, seen)
            if node.kind == "File":
                await self.read_download(where, seen)

    async def read_object(self, where: Where, seen: Seen) -> None:
        """GET: 200 with the object's state if the model says View (the parent summarised
        only if viewable, the items exactly the viewable children), else a refusal."""
        check, node, url = self.findings.check, where.node, where.url
        visible = view(where.world, node.path, seen.who)
        resp = await self.get_object("GET", seen, url, where.tag)
        ok = resp.status_code == 200 if visible else resp.status_code in (401, 404)
        if not check("GET", ok, f"{where.tag} {seen.name}: GET {url}: {resp.status_code}"):
            return
        if not visible:
            return
        data = resp.json()
        check("GET", data.get("review_state") == node.state, f"{where.tag} state of {url}: {data}")
        self.parent(where.world, node, data, seen, where.tag)
        if node.folderish:
            listing = await self.get_object("items", seen, url, where.tag, params={"b_size": 1000})
            self.items(where.world, node.path, listing, seen, where.tag)
        if seen.who.login is not None:  # a 412's current copy is filtered too
            headers = {"if-match": '"stale"'}
            await self.ask("If-Match", seen, "PATCH", url, where.tag, json={}, headers=headers)

    async def read_sharing(self, where: Where, seen: Seen) -> None:
        """@sharing: 200 with Change local roles, else 403 (401 anonymous) if the object is
        visible, else a refusal."""
        world, node, who = where.world, where.node, seen.who
        resp = await self.ask("@sharing", seen, "GET", f"{where.url}/@sharing", where.tag)
        if view(world, node.path, who) and allowed(world, node.path, who, CHANGE_LOCAL_ROLES):
            ok = resp.status_code == 200 and resp.json().get("inherit") == node.inherit
        elif allowed(world, node.path, who, ACCESS):
            ok = resp.status_code == (401 if who.login is None else 403)
        else:
            ok = resp.status_code in (401, 404)
        self.findings.check(
            "@sharing", ok, f"{where.tag} {seen.name}: {where.url}/@sharing: {resp.status_code}"
        )

    async def read_workflow(self, where: Where, seen: Seen) -> None:
        resp = await self.ask("@workflow", seen, "GET", f"{where.url}/@workflow", where.tag)
        if view(where.world, where.node.path, seen.who):
            self.workflow(where, resp, seen)
        else:
            self.findings.check(
                "@workflow",
                resp.status_code in (401, 404),
                f"{where.tag} {seen.name}: {where.url}/@workflow: {resp.status_code} (hidden)",
            )

    async def read_download(self, where: Where, seen: Seen) -> None:
        url, path = f"{where.url}/@download/file", where.node.path
        resp = await self.ask("@download", seen, "GET", url, where.tag)
        if view(where.world, path, seen.who):
            ok = resp.status_code == 200 and resp.text == body(path)
        else:
            ok = resp.status_code in (401, 404) and body(path) not in resp.text
        self.findings.check("@download", ok, f"{where.tag} {seen.name}: {url}: {resp.status_code}")

    async def get_object(
        self, prop: str, seen: Seen, url: str, tag: str, **kwargs: Any
    ) -> httpx.Response:
        """GET an object; markers in its ``parent`` summary count for the parent property."""
        resp = await seen.client.get(url, **kwargs)
        if resp.status_code == 200:
            data = resp.json()
            summary = data.pop("parent", None)
            self.no_markers(prop, seen, f"GET {url}", json.dumps(data), tag)
            self.no_markers("parent", seen, f"GET {url} (parent)", json.dumps(summary), tag)
        else:
            self.no_markers(prop, seen, f"GET {url}", resp.text, tag)
        return resp

    def items(
        self, world: World, path: tuple[str, ...], resp: httpx.Response, seen: Seen, tag: str
    ) -> None:
        expected = sorted(n.name for n in world.children(path) if view(world, n.path, seen.who))
        if resp.status_code != 200:
            self.findings.check(
                "items", False, f"{tag} {seen.name}: listing {path} answered {resp.status_code}"
            )
            return
        data = resp.json()
        got = sorted(item["id"] for item in data.get("items", []))
        self.findings.check(
            "items",
            got == expected and data.get("items_total") == len(expected),
            f"{tag} {seen.name}: items of /{'/'.join(path)}: {got} "
            f"(total {data.get('items_total')}), model {expected}",
        )

    def parent(self, world: World, node: Node, data: dict[str, Any], seen: Seen, tag: str) -> None:
        """A parent the principal may not View is named by its URL at most."""
        if not node.parent or view(world, node.parent, seen.who):
            return
        parent = data.get("parent")
        ok = parent is None or (isinstance(parent, dict) and set(parent) <= {"@id", "id"})
        self.findings.check(
            "parent", ok, f"{tag} {seen.name}: GET {data['@id']} summarises hidden parent: {parent}"
        )

    def workflow(self, where: Where, resp: httpx.Response, seen: Seen) -> None:
        """The state, the transitions the model allows, the history only to those who may
        request or review."""
        world, path, who = where.world, where.node.path, seen.who
        message = f"{where.tag} {seen.name}: {where.url}/@workflow: {resp.status_code}"
        if not self.findings.check("@workflow", resp.status_code == 200, message):
            return
        data = resp.json()
        got = {t["id"] for t in data["transitions"]}
        expected = transitions(world, path, who)
        history = allowed(world, path, who, REQUEST_REVIEW) or allowed(
            world, path, who, REVIEW_CONTENT
        )
        self.findings.check(
            "@workflow",
            data["state"]["id"] == where.node.state
            and got == expected
            and bool(data["history"]) == history,
            f"{message}: state {data['state']['id']}, transitions {sorted(got)} (model "
            f"{sorted(expected)}), history shown {bool(data['history'])} (model {history})",
        )

    # -- hidden and missing answer alike ---------------------------------------------------

    async def hidden_vs_missing(self, world: World, site: str, seen: Seen, tag: str) -> None:
        hidden = [n for n in world.nodes if not view(world, n.path, seen.who)]
        for node in hidden:
            url = self.path(site, node.path)
            missing = self.path(site, (*node.parent, missing_name(node.name)))
            names_h = {node.name: "<NAME>"}
            names_m = {missing_name(node.name): "<NAME>"}
            for label, method, suffix, kwargs in probes(site):
                a = await self.ask("hidden-vs-missing", seen, method, url + suffix, tag, **kwargs)
                b = await seen.client.request(method, missing + suffix, **kwargs)
                ta, tb = telling(a, names_h), telling(b, names_m)
                self.findings.check(
                    "hidden-vs-missing",
                    ta == tb,
                    f"{tag} {seen.name}: {label} on hidden /{'/'.join(node.path)} vs missing: "
                    f"{_answer(ta)} | {_answer(tb)}",
                )
                self.findings.check(
                    "hidden-untouched",
                    a.status_code >= 400,
                    f"{tag} {seen.name}: {label} on hidden /{'/'.join(node.path)}: {a.status_code}",
                )

            if node.folderish and seen.who.login is not None:
                a_ws = await self.handshake(seen, url)
                b_ws = await self.handshake(seen, missing)
                a_ws = (a_ws[0], re.sub(rf"(?<![\w-]){node.name}(?!\w)", "<NAME>", a_ws[1]))
                b_ws = (b_ws[0], b_ws[1].replace(missing_name(node.name), "<NAME>"))
                self.findings.check(
                    "hidden-vs-missing",
                    a_ws == b_ws,
                    f"{tag} {seen.name}: WebSocket handshake on hidden /{'/'.join(node.path)}/@ws"
                    f" vs missing: {a_ws} | {b_ws}",
                )

    async def handshake(self, seen: Seen, url: str) -> tuple[int, str]:
        """Open a WebSocket at ``url``/@ws as ``seen``: (101 or the refusal's status, body)."""
        assert seen.who.login is not None
        headers = basic(seen.who.login, password_of(seen.who.login))
        try:
            async with ws_connect(self.app, f"{url}/@ws", headers=headers):
                return 101, ""
        except Rejected as refused:
            text = json.dumps(refused.body)
            self.no_markers("hidden-vs-missing", seen, f"WebSocket {url}/@ws", text, "")
            return refused.status, without_request_id(text)

    # -- copy, move, TUS -------------------------------------------------------------------

    async def drop(self, site: str, users: list[Seen]) -> str:
        """A private folder where every user may add (Contributor), created by root."""
        resp = await self.root.post(site, json={"@type": "Folder", "id": "drop"})
        assert resp.status_code == 201, resp.text
        drop = f"{site}/drop"
        await update_sharing(
            self.root, drop, {s.who.login or "": {CONTRIBUTOR: True} for s in users}
        )
        return drop

    async def copies(self, world: World, site: str, drop: str, seen: Seen, tag: str) -> None:
        """Copying a folder never gives the copier an object it could not View."""
        for node in world.nodes:
            below = world.below(node.path)
            if not node.folderish or len(below) < 2 or not view(world, node.path, seen.who):
                continue
            url = self.path(site, node.path)
            target = f"{drop}/{seen.name}-{node.name}"
            resp = await self.root.post(
                drop, json={"@type": "Folder", "id": f"{seen.name}-{node.name}"}
            )
            assert resp.status_code == 201, resp.text
            await update_sharing(self.root, target, {seen.who.login or "": {CONTRIBUTOR: True}})
            resp = await self.ask(
                "@copy", seen, "POST", f"{url}/@copy", tag, json={"destination": target}
            )
            if resp.status_code >= 400:
                continue  # refusing is allowed
            copied = await self.tree_of(f"{target}/{node.name}")
            visible = {n.path[len(node.path) - 1 :] for n in below if view(world, n.path, seen.who)}
            extra = sorted("/".join(p) for p in copied - visible)
            self.findings.check(
                "@copy",
                not extra,
                f"{tag} {seen.name}: @copy of /{'/'.join(node.path)} handed over hidden {extra}",
            )
            for rel in sorted(copied):
                await self.ask("@copy", seen, "GET", "/".join((target, *rel)), tag)
                await self.copied_grants(
                    world, (*node.parent, *rel), f"{target}/{'/'.join(rel)}", seen, tag
                )

    async def copied_grants(
        self, world: World, original: tuple[str, ...], copy: str, seen: Seen, tag: str
    ) -> None:
        """The copier, Owner of the copy, may read its @sharing: it must not list the grants
        of an original whose @sharing the copier could not read (but its own and its groups')."""
        if original not in {n.path for n in world.nodes}:
            return
        if allowed(world, original, seen.who, CHANGE_LOCAL_ROLES):
            return
        resp = await seen.client.get(f"{copy}/@sharing")
        if resp.status_code != 200:
            return
        granted = sorted(
            entry["id"]
            for entry in resp.json()["entries"]
            if entry["id"] not in seen.who.ids and True in entry["roles"].values()
        )
        self.findings.check(
            "@copy",
            not granted,
            f"{tag} {seen.name}: the copy {copy} of /{'/'.join(original)} carries the grants of "
            f"{granted}, whose @sharing the copier could not read",
        )

    async def generated_ids(self, world: World, site: str, seen: Seen, tag: str) -> None:
        """An object made from a title (or a TUS upload's file name) that a hidden sibling holds
        is made as one made from a free name is (same statuses), under a fresh id: the hidden
        sibling is never replaced. That the id then differs (``report-1``) is the documented
        trade-off of unique ids (docs/security.md, "what cannot be hidden")."""
        for folder in [(), *(n.path for n in world.nodes if n.folderish)]:
            hidden = [n for n in world.children(folder) if not view(world, n.path, seen.who)]
            if not hidden or not allowed(world, folder, seen.who, ADD_CONTENT):
                continue
            if folder and not view(world, folder, seen.who):
                continue
            name = hidden[0].name
            url = self.path(site, folder)
            statuses = []
            for made_from in (name, "yy" + name[1:]):  # not zz…: probes use those as missing
                resp = await self.ask(
                    "generated-ids",
                    seen,
                    "POST",
                    url,
                    tag,
                    json={"@type": "Document", "title": made_from},
                )
                made = resp.json().get("id", "") if resp.status_code == 201 else ""
                statuses.append(resp.status_code)
                headers = {
                    **TUS,
                    "upload-length": "1",
                    "upload-metadata": f"filename {b64(made_from)}",
                }
                resp = await seen.client.post(f"{url}/@tus", headers=headers)
                statuses.append(resp.status_code)
                if resp.status_code == 201:
                    resp = await seen.client.patch(
                        httpx.URL(resp.headers["location"]).path,
                        content=b"x",
                        headers={**TUS, "content-type": OCTETS, "upload-offset": "0"},
                    )
                    statuses.append(resp.status_code)
                    uploaded = httpx.URL(resp.headers.get("location", "")).path.rsplit("/", 1)[-1]
                    self.findings.check(
                        "generated-ids",
                        uploaded != name,
                        f"{tag} {seen.name}: a TUS upload named {name!r} took the hidden "
                        f"sibling's id in /{'/'.join(folder)}",
                    )
                self.findings.check(
                    "generated-ids",
                    made != name,
                    f"{tag} {seen.name}: a Document titled {name!r} took the hidden sibling's "
                    f"id in /{'/'.join(folder)}",
                )
            self.findings.check(
                "generated-ids",
                statuses[: len(statuses) // 2] == statuses[len(statuses) // 2 :],
                f"{tag} {seen.name}: in /{'/'.join(folder)}, making from the hidden name "
                f"{name!r} and from a free one answered {statuses}",
            )

    async def tree_of(self, url: str) -> set[tuple[str, ...]]:
        """Relative paths (first the object's id) of ``url`` and its descendants, as root sees."""
        found: set[tuple[str, ...]] = set()
        todo: list[tuple[str, tuple[str, ...]]] = [(url, (url.rsplit("/", 1)[1],))]
        while todo:
            at, rel = todo.pop()
            found.add(rel)
            resp = await self.root.get(at, params={"b_size": 1000})
            assert resp.status_code == 200, resp.text
            for item in resp.json().get("items", []):
                todo.append((f"{at}/{item['id']}", (*rel, item["id"])))
        return found

    async def move_oracle(self, world: World, site: str, users: list[Seen], tag: str) -> None:
        """``@move`` and ``@copy`` into a hidden folder answer as into a missing one."""
        for seen in users:
            folders = [n for n in world.nodes if n.folderish and not view(world, n.path, seen.who)]
            movable = [n for n in world.nodes if view(world, n.path, seen.who)]
            for folder in folders[:2]:
                for node in movable[:2]:
                    if folder.path[: len(node.path)] == node.path:
                        continue
                    hidden = self.path(site, folder.path)
                    missing = self.path(site, (*folder.parent, missing_name(folder.name)))
                    for service in ("@move", "@copy"):
                        url = f"{self.path(site, node.path)}/{service}"
                        a = await self.ask(
                            service, seen, "POST", url, tag, json={"destination": hidden}
                        )
                        b = await seen.client.post(url, json={"destination": missing})
                        ta = telling(a, {folder.name: "<NAME>"})
                        tb = telling(b, {missing_name(folder.name): "<NAME>"})
                        self.findings.check(
                            service,
                            ta == tb and a.status_code >= 400,
                            f"{tag} {seen.name}: {service} of /{'/'.join(node.path)} into hidden "
                            f"/{'/'.join(folder.path)} vs missing: {_answer(ta)} | {_answer(tb)}",
                        )

    async def tus(self, site: str, drop: str, everyone: list[Seen], tag: str) -> None:
        """An upload in progress is nobody else's: HEAD, PATCH, GET and DELETE on it answer
        as on an unknown upload, and leave it as it was."""
        users = [s for s in everyone if s.who.login is not None]
        owner = users[0]
        headers = {**TUS, "upload-length": "10", "upload-metadata": f"filename {b64('t.txt')}"}
        resp = await owner.client.post(f"{drop}/@tus", headers=headers)
        assert resp.status_code == 201, resp.text
        upload = httpx.URL(resp.headers["location"]).path
        sent = await owner.client.patch(
            upload, content=b"12345", headers={**TUS, "content-type": OCTETS, "upload-offset": "0"}
        )
        assert sent.status_code == 204, sent.text
        upload_id = upload.rsplit("/", 1)[1]
        unknown = upload.replace(upload_id, "f" * 32)
        for seen in everyone[:1] + users[1:]:
            for method, kwargs in (
                ("HEAD", {"headers": TUS}),
                ("GET", {"headers": TUS}),
                (
                    "PATCH",
                    {
                        "content": b"67890",
                        "headers": {**TUS, "content-type": OCTETS, "upload-offset": "5"},
                    },
                ),
                ("DELETE", {"headers": TUS}),
            ):
                a = await self.ask("TUS", seen, method, upload, tag, **kwargs)
                b = await seen.client.request(method, unknown, **kwargs)
                ta, tb = telling(a, {upload_id: "<ID>"}), telling(b, {"f" * 32: "<ID>"})
                self.findings.check(
                    "TUS",
                    ta == tb and a.status_code >= 400,
                    f"{tag} {seen.name}: {method} on {owner.name}'s upload: {_answer(ta)} | "
                    f"unknown: {_answer(tb)}",
                )
        resp = await owner.client.head(upload, headers=TUS)
        self.findings.check(
            "TUS",
            resp.status_code == 200 and resp.headers.get("upload-offset") == "5",
            f"{tag} others changed {owner.name}'s upload: {resp.status_code} {resp.headers}",
        )

    # -- live frames and `since` replays ---------------------------------------------------

    # -- live frames and `since` replays ---------------------------------------------------

    async def live(self, world: World, site: str, tag: str) -> None:
        """Users' sockets follow root's changes: in a first stage root edits every object,
        moves one into ``pub`` (a folder every user reads) and copies another there; in a
        second, one object changes state and one folder blocks inheritance; in a third, a
        member leaves a group and root edits every object again. Each socket gets
        exactly the frames about objects its user may View, naming no place it may not, and a
        ``since`` replay gives the same events. After each stage, GET agrees with the model
        (the moved subtree and the changed objects were reindexed)."""
        root = self.root
        resp = await root.post(site, json={"@type": "Folder", "id": "pub", "title": "pub"})
        assert resp.status_code == 201, resp.text
        await update_sharing(root, f"{site}/pub", {AUTHENTICATED_GROUP: {READER: True}})
        pub = Node(("pub",), "Folder", "root", local=((AUTHENTICATED_GROUP, READER),))
        run = LiveRun(site, tag, replace(world, nodes=(*world.nodes, pub)))
        async with AsyncExitStack() as stack:
            sockets: dict[str, tuple[WebSocket, str]] = {}
            for user in world.users:
                ws = await stack.enter_async_context(self.socket(site, user.login))
                await ws.send_json({"type": "subscribe", "id": "s"})
                ack = await ws.receive_json()
                assert ack["type"] == "ack", ack
                sockets[user.login] = ws, ack["cursor"]
            await self.first_stage(run)
            await self.effect(
                "move-effect", run, run.after, run.after.below(("pub", run.mover.name))
            )
            await self.second_stage(run)
            await self.effect("access-effect", run, run.final, run.final.nodes)
            await self.third_stage(run)
            await self.effect("access-effect", run, run.last, run.last.nodes)
            fences = ("fence", "fence2", "fence3")
            for login, (ws, cursor) in sockets.items():
                live = [await self.until(ws, fence) for fence in fences]
                async with self.socket(site, login) as again:
                    await again.send_json({"type": "subscribe", "id": "r", "since": cursor})
                    replay = [await self.until(again, fence, True) for fence in fences]
                self.first_frames(run, login, live[0], "live")
                self.second_frames(run, login, live[1], "live")
                self.third_frames(run, login, live[2], "live")
                self.replay(run, login, live, replay)

    def replay(
        self,
        run: LiveRun,
        login: str,
        live: list[list[dict[str, Any]]],
        replay: list[list[dict[str, Any]]],
    ) -> None:
        """A ``since`` replay gives the events the socket received live (notifications are
        live only) — fewer if the user lost access meanwhile (a replay is guarded by what the
        user may see now), never more — and names nothing hidden now."""
        got, sent = (
            _events([f for part in replay for f in part]),
            _events([f for part in live for f in part]),
        )
        if run.left.startswith(f"{login} left "):  # guarded by its groups now
            cursors = {f["cursor"] for f in sent}
            ok = all(f["cursor"] in cursors for f in got)
            now = tuple(run.now(w) for w in (run.before, run.after, run.final))
            self.frame_places(run, (*now, run.last), login, got, "since")
        else:
            ok = got == sent
            self.first_frames(run, login, replay[0], "since")
            self.second_frames(run, login, replay[1], "since")
            self.third_frames(run, login, replay[2], "since")
        self.findings.check(
            "since",
            ok,
            f"{run.tag} {login}: since replay differs from live: {_kinds(got)} vs {_kinds(sent)}",
        )

    def socket(self, site: str, login: str) -> AbstractAsyncContextManager[WebSocket]:
        """A WebSocket opened at ``site`` as ``login``."""
        return ws_connect(self.app, f"{site}/@ws", headers=basic(login, password_of(login)))

    async def first_stage(self, run: LiveRun) -> None:
        root, site = self.root, run.site
        for node in run.before.nodes:
            resp = await root.patch(self.path(site, node.path), json={"subjects": ["touched"]})
            assert resp.status_code == 204, resp.text
        mover = next(
            (n for n in reversed(run.before.nodes) if len(n.path) > 1), run.before.nodes[0]
        )
        copied = next(n for n in run.before.nodes if n.path[: len(mover.path)] != mover.path)
        resp = await root.post(
            f"{self.path(site, mover.path)}/@move", json={"destination": f"{site}/pub"}
        )
        assert resp.status_code in (200, 201), resp.text
        resp = await root.post(
            f"{self.path(site, copied.path)}/@copy", json={"destination": f"{site}/pub"}
        )
        assert resp.status_code in (200, 201), resp.text
        run.mover, run.copied = mover, copied
        run.after = run.before.moved(mover.path, ("pub",))
        await self.fence(site, "fence")

    async def second_stage(self, run: LiveRun) -> None:
        root, site = self.root, run.site
        changed = next(
            n for n in run.after.nodes[len(run.after.nodes) // 2 :] if n.path != ("pub",)
        )
        name = "publish" if changed.state == "private" else "retract"
        resp = await root.post(f"{self.path(site, changed.path)}/@workflow/{name}")
        assert resp.status_code == 200, resp.text
        final = run.after.changed(changed.path, state=NEW_STATE[name])
        run.changes = [(changed, {"transition"})]
        blocked = next((n for n in final.nodes if n.folderish and n.inherit), None)
        if blocked is not None:
            await update_sharing(root, self.path(site, blocked.path), inherit=False)
            final = final.changed(blocked.path, inherit=False)
            run.changes.append((blocked, {"sharing", "modified"}))
        run.final = final
        await self.fence(site, "fence2")

    async def third_stage(self, run: LiveRun) -> None:
        """A member leaves a group, or else a user loses its global roles (its sockets must
        stop receiving what only those could see), then root edits every object again."""
        root, site, last = self.root, run.site, run.final
        group = next((g for g in last.groups if g.members), None)
        if group is not None:
            member = group.members[0]
            resp = await root.patch(f"{site}/@groups/{group.name}", json={"users": {member: False}})
            assert resp.status_code == 204, resp.text
            last = last.leaving(group.name, member)
            run.now = partial(World.leaving, group=group.name, login=member)
            run.left = f"{member} left {group.name}"
        demoted = next((u for u in last.users if u.roles and u.roles != (MEMBER,)), None)
        if demoted is not None and not run.left:
            resp = await root.patch(f"{site}/@users/{demoted.login}", json={"roles": []})
            assert resp.status_code == 204, resp.text
            last = last.demoted(demoted.login)
            run.now = partial(World.demoted, login=demoted.login)
            run.left = f"{demoted.login} left its roles {list(demoted.roles)}"
        for node in last.nodes:
            resp = await root.patch(self.path(site, node.path), json={"subjects": ["again"]})
            assert resp.status_code == 204, resp.text
        run.last = last
        await self.fence(site, "fence3")

    def third_frames(
        self, run: LiveRun, login: str, frames: list[dict[str, Any]], prop: str
    ) -> None:
        """One ``modified`` frame per object the user may View now."""
        last = run.last
        self.frame_places(run, (last, last), login, frames, prop)
        who = last.principal(login)
        touched = sorted(
            f["@id"].removeprefix(f"{BASE}{run.site}/")
            for f in _events(frames)
            if f.get("event") == "modified"
        )
        expected = sorted("/".join(n.path) for n in last.nodes if view(last, n.path, who))
        self.findings.check(
            prop,
            touched == expected,
            f"{run.tag} {login}: after {run.left or 'no group change'}, modified frames for "
            f"{touched}, model {expected}",
        )

    async def fence(self, site: str, name: str) -> None:
        """A published document: its publication is the next frame every socket receives."""
        resp = await self.root.post(site, json={"@type": "Document", "id": name})
        assert resp.status_code == 201, resp.text
        resp = await self.root.post(f"{site}/{name}/@workflow/publish")
        assert resp.status_code == 200, resp.text

    async def effect(self, prop: str, run: LiveRun, world: World, nodes: Iterable[Node]) -> None:
        """Each user's GET of ``nodes`` answers as the model says in ``world``."""
        nodes = list(nodes)
        for user in world.users:
            async with self.client_of(user.login) as client:
                for node in nodes:
                    resp = await client.get(self.path(run.site, node.path))
                    can = view(world, node.path, world.principal(user.login))
                    self.findings.check(
                        prop,
                        resp.status_code == (200 if can else 404),
                        f"{run.tag} {user.login}: after {run.describe()}, GET "
                        f"/{'/'.join(node.path)} answers {resp.status_code} (model View: {can})",
                    )

    async def until(
        self, ws: WebSocket, fence: str, skip_ack: bool = False
    ) -> list[dict[str, Any]]:
        """The frames before the publication of the ``fence`` document."""
        frames: list[dict[str, Any]] = []
        while True:
            frame = await ws.receive_json()
            if skip_ack and frame["type"] == "ack":
                continue
            if (
                frame.get("type") == "event"
                and frame.get("@id", "").endswith(f"/{fence}")
                and frame["event"] == "transition"
            ):
                return frames
            frames.append(frame)

    def first_frames(
        self, run: LiveRun, login: str, frames: list[dict[str, Any]], prop: str
    ) -> None:
        """One ``modified`` frame per object the user may View; the move as ``moved`` (may
        View after), ``removed`` (only before) or nothing; ``old_@id`` and a copy's
        ``original`` only where the user could View them."""
        check, before, site, tag = self.findings.check, run.before, run.site, run.tag
        who = before.principal(login)
        self.frame_places(run, (before, run.after), login, frames, prop)
        first_other = next(
            (i for i, f in enumerate(frames) if f.get("event") != "modified"), len(frames)
        )
        touched = sorted(
            f["@id"].removeprefix(f"{BASE}{site}/")
            for f in frames[:first_other]
            if f.get("event") == "modified" and not f["@id"].startswith(f"{BASE}{site}/pub")
        )
        expected = sorted(
            "/".join(n.path)
            for n in before.nodes
            if n.path != ("pub",) and view(before, n.path, who)
        )
        check(
            prop,
            touched == expected,
            f"{tag} {login}: modified frames for {touched}, model {expected}",
        )
        for frame in frames:
            original = frame.get("original")
            if isinstance(original, str) and original:
                rel = tuple(original.removeprefix(BASE).removeprefix(site).strip("/").split("/"))
                ok = original.removeprefix(BASE).startswith(site + "/") and _sees(
                    before, rel, login
                )
                check(prop, ok, f"{tag} {login}: copy frame names hidden original {original}")
        mover = run.mover
        could = view(before, mover.path, who)
        can = view(run.after, ("pub", mover.name), run.after.principal(login))
        urls = (self._url(site, ("pub", mover.name)), self._url(site, mover.path))
        moves = [f for f in frames if f.get("event") in ("moved", "removed") and f["@id"] in urls]
        kinds = [f["event"] for f in moves]
        want = ["moved"] if can else ["removed"] if could else []
        check(
            prop,
            kinds == want,
            f"{tag} {login}: move of /{'/'.join(mover.path)} gave {kinds}, model {want} "
            f"(View before {could}, after {can})",
        )
        for frame in moves:
            if "old_@id" in frame:
                check(
                    prop,
                    could,
                    f"{tag} {login}: moved frame names hidden old_@id {frame['old_@id']}",
                )

    def second_frames(
        self, run: LiveRun, login: str, frames: list[dict[str, Any]], prop: str
    ) -> None:
        """About each changed object: its event if the user may View it after, ``removed``
        if only before, nothing otherwise."""
        before, after = run.after, run.final
        self.frame_places(run, (before, after), login, frames, prop)
        merged: dict[tuple[str, ...], tuple[Node, set[str]]] = {}
        for node, kinds in run.changes:  # a node changed twice may get the frames of both
            merged.setdefault(node.path, (node, set()))[1].update(kinds)
        for node, kinds in merged.values():
            could = view(before, node.path, before.principal(login))
            can = view(after, node.path, after.principal(login))
            url = self._url(run.site, node.path)
            got = [f["event"] for f in _events(frames) if f.get("@id") == url]
            ok = bool(got) and set(got) <= kinds if can else got == (["removed"] if could else [])
            self.findings.check(
                prop,
                ok,
                f"{run.tag} {login}: frames about /{'/'.join(node.path)}: {got} "
                f"(View before {could}, after {can}; expected {sorted(kinds)})",
            )

    def frame_places(
        self,
        run: LiveRun,
        worlds: tuple[World, ...],
        login: str,
        frames: list[dict[str, Any]],
        prop: str,
    ) -> None:
        """No data of an object hidden in every world; every URL a frame names (but
        ``old_@id`` and ``original``, checked on their own) is one the user may View in one
        of the worlds (``removed``: the first), or an ancestor of the frame's own ``@id``."""
        seen = self.seen(worlds[0], login, self.root)
        for world in worlds[1:]:
            still = self.seen(world, login, self.root).hidden_markers
            seen.hidden_markers = {m: p for m, p in seen.hidden_markers.items() if m in still}
        site = run.site
        for frame in frames:
            self.no_markers(prop, seen, f"frame {frame.get('event')}", str(frame), run.tag)
            own = frame.get("@id", "")
            named = {k: v for k, v in frame.items() if k not in ("old_@id", "original")}
            for url in URL.findall(str(named)):
                if not url.startswith(site + "/") or own.startswith(BASE + url + "/"):
                    continue
                rel = tuple(url.removeprefix(site + "/").split("/"))
                if rel[0] in ("fence", "fence2", "fence3", "drop"):
                    continue
                places = worlds[:1] if frame.get("event") == "removed" else worlds
                self.findings.check(
                    prop,
                    any(_sees(w, rel, login) for w in places),
                    f"{run.tag} {login}: {frame.get('event')} frame names hidden {url}: "
                    f"{_short(frame)}",
                )

    @staticmethod
    def _url(site: str, rel: tuple[str, ...]) -> str:
        return BASE + "/".join((site, *rel))


@dataclass
class LiveRun:
    """One world's live stages: the worlds before, between and after them."""

    site: str
    tag: str
    before: World
    after: World = field(init=False)
    final: World = field(init=False)
    mover: Node = field(init=False)
    copied: Node = field(init=False)
    changes: list[tuple[Node, set[str]]] = field(default_factory=list)
    last: World = field(init=False)
    left: str = ""  # who left which group (or lost its global roles) in the third stage
    now: Callable[[World], World] = field(default=lambda world: world)  # that change

    def describe(self) -> str:
        moved = f"root moved /{'/'.join(self.mover.path)} into pub"
        if not self.changes:
            return moved
        return f"{moved}, then changed {['/'.join(n.path) for n, _ in self.changes]}"


def _sees(world: World, rel: tuple[str, ...], login: str) -> bool:
    try:
        return view(world, rel, world.principal(login))
    except KeyError:  # not in the model (a copy in pub, which every user reads)
        return rel[0] == "pub"


def _events(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [frame for frame in frames if frame.get("type") == "event"]


def _answer(told: tuple[int, dict[str, str | None], str]) -> str:
    status, headers, text = told
    return f"{status} {text[:200]} { ({k: v for k, v in headers.items() if v is not None}) }"


def _kinds(frames: list[dict[str, Any]]) -> list[str]:
    return [f"{f.get('event')} {f.get('@id', '')}" for f in frames]


def _short(frame: dict[str, Any]) -> str:
    keep = ("event", "@id", "old_@id", "original", "parent")
    return str({k: frame[k] for k in keep if k in frame})
