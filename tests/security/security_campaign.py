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
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace
from typing import Any

import httpx
from security_model import (
    ACCESS,
    ADD_CONTENT,
    AUTHENTICATED_GROUP,
    CHANGE_LOCAL_ROLES,
    READER,
    REQUEST_REVIEW,
    REVIEW_CONTENT,
    CONTRIBUTOR,
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
from baobab.testing import BaobabClient, add_group, add_user, password_of, update_sharing
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
    text = resp.text
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
            await add_group(root, site, group.name, roles=list(group.roles), users=list(group.members))
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
                    root, self.path(site, node.path), grants, inherit=None if node.inherit else False
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
            fields["file"] = {"data": b64(body(node.path)), "encoding": "base64", "filename": "f.txt"}
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
                where = "/".join(node.path)
                for marker in (title(node.path), description(node.path), body(node.path)):
                    hidden[marker] = where
                if node.path in self.uids:
                    hidden[self.uids[node.path]] = where
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
            await self.move_oracle(world, site, users, tag)
        await self.live(world, site, label, tag)

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
        who = seen.who
        check = self.findings.check
        listing = await self.get_object("items", seen, site, tag, params={"b_size": 1000})
        self.items(world, (), listing, seen, tag)
        for node in world.nodes:
            url = self.path(site, node.path)
            visible = view(world, node.path, who)
            resp = await self.get_object("GET", seen, url, tag)
            if not check(
                "GET",
                resp.status_code == (200 if visible else resp.status_code),
                f"{tag} {seen.name}: GET {url} answered {resp.status_code}, model says View",
            ):
                continue
            if visible:
                data = resp.json()
                check("GET", data.get("review_state") == node.state, f"{tag} state of {url}: {data}")
                self.parent(world, node, data, seen, url, tag)
                if node.folderish:
                    listing = await self.get_object("items", seen, url, tag, params={"b_size": 1000})
                    self.items(world, node.path, listing, seen, tag)
            elif resp.status_code == 200:
                check("GET", False, f"{tag} {seen.name}: GET {url} is 200, model hides it")
            resp = await self.ask("@sharing", seen, "GET", f"{url}/@sharing", tag)
            if visible and allowed(world, node.path, who, CHANGE_LOCAL_ROLES):
                ok = resp.status_code == 200 and resp.json().get("inherit") == node.inherit
                check("@sharing", ok, f"{tag} {seen.name}: {url}/@sharing: {resp.status_code} {resp.text[:200]}")
            elif allowed(world, node.path, who, ACCESS):
                refused = 401 if who.login is None else 403
                check("@sharing", resp.status_code == refused, f"{tag} {seen.name}: {url}/@sharing: {resp.status_code}, model: {refused}")
            else:
                check("@sharing", resp.status_code in (401, 404), f"{tag} {seen.name}: {url}/@sharing: {resp.status_code} on a hidden object")
            resp = await self.ask("@workflow", seen, "GET", f"{url}/@workflow", tag)
            if visible:
                self.workflow(world, node, resp, seen, url, tag)
            else:
                check("@workflow", resp.status_code in (401, 404), f"{tag} {seen.name}: {url}/@workflow: {resp.status_code} on a hidden object")
            if node.kind == "File":
                resp = await self.ask("@download", seen, "GET", f"{url}/@download/file", tag)
                if visible:
                    ok = resp.status_code == 200 and resp.text == body(node.path)
                else:
                    ok = resp.status_code in (401, 404) and body(node.path) not in resp.text
                check("@download", ok, f"{tag} {seen.name}: {url}/@download/file: {resp.status_code} (View: {visible})")

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

    def items(self, world: World, path: tuple[str, ...], resp: httpx.Response, seen: Seen, tag: str) -> None:
        expected = sorted(n.name for n in world.children(path) if view(world, n.path, seen.who))
        if resp.status_code != 200:
            self.findings.check("items", False, f"{tag} {seen.name}: listing {path} answered {resp.status_code}")
            return
        data = resp.json()
        got = sorted(item["id"] for item in data.get("items", []))
        self.findings.check(
            "items",
            got == expected and data.get("items_total") == len(expected),
            f"{tag} {seen.name}: items of /{'/'.join(path)}: {got} (total {data.get('items_total')}), model {expected}",
        )

    def parent(self, world: World, node: Node, data: dict[str, Any], seen: Seen, url: str, tag: str) -> None:
        """A parent the principal may not View is named by its URL at most."""
        if not node.parent or view(world, node.parent, seen.who):
            return
        parent = data.get("parent")
        ok = parent is None or (isinstance(parent, dict) and set(parent) <= {"@id", "id"})
        self.findings.check(
            "parent",
            ok,
            f"{tag} {seen.name}: GET {url} summarises hidden parent: {parent}",
        )

    def workflow(self, world: World, node: Node, resp: httpx.Response, seen: Seen, url: str, tag: str) -> None:
        check = self.findings.check
        if not check("@workflow", resp.status_code == 200, f"{tag} {seen.name}: {url}/@workflow: {resp.status_code}"):
            return
        data = resp.json()
        got = {t["id"] for t in data["transitions"]}
        expected = transitions(world, node.path, seen.who)
        history = allowed(world, node.path, seen.who, REQUEST_REVIEW) or allowed(
            world, node.path, seen.who, REVIEW_CONTENT
        )
        check(
            "@workflow",
            data["state"]["id"] == node.state and got == expected and bool(data["history"]) == history,
            f"{tag} {seen.name}: {url}/@workflow: state {data['state']['id']}, transitions {sorted(got)}"
            f" (model {sorted(expected)}), history shown {bool(data['history'])} (model {history})",
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
                a = await self.ask("hidden=missing", seen, method, url + suffix, tag, **kwargs)
                b = await seen.client.request(method, missing + suffix, **kwargs)
                ta, tb = telling(a, names_h), telling(b, names_m)
                self.findings.check(
                    "hidden=missing",
                    ta == tb,
                    f"{tag} {seen.name}: {label} on hidden /{'/'.join(node.path)} vs missing: "
                    f"{ta[0]} {ta[2][:160]} {_headers(ta[1])} | {tb[0]} {tb[2][:160]} {_headers(tb[1])}",
                )
                self.findings.check(
                    "hidden untouched",
                    a.status_code >= 400,
                    f"{tag} {seen.name}: {label} on hidden /{'/'.join(node.path)} answered {a.status_code}",
                )

            if node.folderish and seen.who.login is not None:
                a_ws = await self.handshake(seen, url)
                b_ws = await self.handshake(seen, missing)
                a_ws = (a_ws[0], re.sub(rf"(?<![\w-]){node.name}(?!\w)", "<NAME>", a_ws[1]))
                b_ws = (b_ws[0], b_ws[1].replace(missing_name(node.name), "<NAME>"))
                self.findings.check(
                    "hidden=missing",
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
            self.no_markers("hidden=missing", seen, f"WebSocket {url}/@ws", text, "")
            return refused.status, text

    # -- copy, move, TUS -------------------------------------------------------------------

    async def drop(self, site: str, users: list[Seen]) -> str:
        """A private folder where every user may add (Contributor), created by root."""
        resp = await self.root.post(site, json={"@type": "Folder", "id": "drop"})
        assert resp.status_code == 201, resp.text
        drop = f"{site}/drop"
        await update_sharing(self.root, drop, {s.who.login or "": {CONTRIBUTOR: True} for s in users})
        return drop

    async def copies(self, world: World, site: str, drop: str, seen: Seen, tag: str) -> None:
        """Copying a folder never gives the copier an object it could not View."""
        for node in world.nodes:
            below = world.below(node.path)
            if not node.folderish or len(below) < 2 or not view(world, node.path, seen.who):
                continue
            url = self.path(site, node.path)
            target = f"{drop}/{seen.name}-{node.name}"
            resp = await self.root.post(drop, json={"@type": "Folder", "id": f"{seen.name}-{node.name}"})
            assert resp.status_code == 201, resp.text
            await update_sharing(self.root, target, {seen.who.login or "": {CONTRIBUTOR: True}})
            resp = await self.ask("@copy", seen, "POST", f"{url}/@copy", tag, json={"destination": target})
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

    async def tree_of(self, url: str) -> set[tuple[str, ...]]:
        """Relative paths (first the object's id) of ``url`` and its descendants, as root sees."""
        found: set[tuple[str, ...]] = set()
        todo = [(url, (url.rsplit("/", 1)[1],))]
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
                        a = await self.ask(service, seen, "POST", url, tag, json={"destination": hidden})
                        b = await seen.client.post(url, json={"destination": missing})
                        ta = telling(a, {folder.name: "<NAME>"})
                        tb = telling(b, {missing_name(folder.name): "<NAME>"})
                        self.findings.check(
                            service,
                            ta == tb and a.status_code >= 400,
                            f"{tag} {seen.name}: {service} of /{'/'.join(node.path)} into hidden "
                            f"/{'/'.join(folder.path)} vs missing: {ta[0]} {ta[2][:200]} | {tb[0]} {tb[2][:200]}",
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
                ("PATCH", {"content": b"67890", "headers": {**TUS, "content-type": OCTETS, "upload-offset": "5"}}),
                ("DELETE", {"headers": TUS}),
            ):
                a = await self.ask("TUS", seen, method, upload, tag, **kwargs)
                b = await seen.client.request(method, unknown, **kwargs)
                ta, tb = telling(a, {upload_id: "<ID>"}), telling(b, {"f" * 32: "<ID>"})
                self.findings.check(
                    "TUS",
                    ta == tb and a.status_code >= 400,
                    f"{tag} {seen.name}: {method} on {owner.name}'s upload: {ta[0]} {ta[2][:150]} | unknown: {tb[0]} {tb[2][:150]}",
                )
        resp = await owner.client.head(upload, headers=TUS)
        self.findings.check(
            "TUS",
            resp.status_code == 200 and resp.headers.get("upload-offset") == "5",
            f"{tag} others changed {owner.name}'s upload: {resp.status_code} {resp.headers}",
        )

    # -- live frames and `since` replays ---------------------------------------------------

    async def live(self, world: World, site: str, label: str, tag: str) -> None:
        """Root edits every object, moves one out of its folder and copies one into a folder
        every user may read; each user's socket receives exactly the frames about objects it
        may View, naming no place it may not; a ``since`` replay gives the same frames."""
        root = self.root
        resp = await root.post(site, json={"@type": "Folder", "id": "pub", "title": "pub"})
        assert resp.status_code == 201, resp.text
        await update_sharing(root, f"{site}/pub", {AUTHENTICATED_GROUP: {READER: True}})
        users = [user.login for user in world.users]
        mover = next((n for n in reversed(world.nodes) if n.parent), world.nodes[-1])
        copied = next(
            (n for n in world.nodes if n.path[: len(mover.path)] != mover.path), world.nodes[0]
        )
        pub = Node(("pub",), "Folder", "root", local=((AUTHENTICATED_GROUP, READER),))
        world = replace(world, nodes=(*world.nodes, pub))
        async with AsyncExitStack() as stack:
            sockets: dict[str, WebSocket] = {}
            cursors: dict[str, str] = {}
            for login in users:
                headers = basic(login, password_of(login))
                ws = await stack.enter_async_context(ws_connect(self.app, f"{site}/@ws", headers=headers))
                await ws.send_json({"type": "subscribe", "id": "s"})
                ack = await ws.receive_json()
                assert ack["type"] == "ack", ack
                sockets[login], cursors[login] = ws, ack["cursor"]
            for node in world.nodes:
                resp = await root.patch(self.path(site, node.path), json={"subjects": ["touched"]})
                assert resp.status_code == 204, resp.text
            before = world
            moved_to = await self._move(site, mover, f"{site}/pub")
            after = world.moved(mover.path, ("pub",))
            resp = await root.post(f"{self.path(site, copied.path)}/@copy", json={"destination": f"{site}/pub"})
            assert resp.status_code in (200, 201), resp.text
            fence = await root.post(site, json={"@type": "Document", "id": "fence"})
            assert fence.status_code == 201, fence.text
            assert (await root.post(f"{site}/fence/@workflow/publish")).status_code == 200
            for login in users:  # the moved subtree is reindexed: GET agrees with the model
                async with self.client_of(login) as client:
                    for node in after.below(("pub", mover.name)):
                        resp = await client.get(self.path(site, node.path))
                        can = view(after, node.path, after.principal(login))
                        self.findings.check(
                            "move effect",
                            resp.status_code == 200 if can else resp.status_code == 404,
                            f"{tag} {login}: after root moved /{'/'.join(mover.path)} into pub, "
                            f"GET /{'/'.join(node.path)} answers {resp.status_code} (model View: {can})",
                        )
            # access changes: one object changes state, one folder blocks inheritance
            changed = after.nodes[len(after.nodes) // 2]
            if changed.path == ("pub",):
                changed = after.nodes[0]
            name = "publish" if changed.state == "private" else "retract"
            resp = await root.post(f"{self.path(site, changed.path)}/@workflow/{name}")
            assert resp.status_code == 200, resp.text
            final = after.changed(changed.path, state="published" if name == "publish" else "private")
            blocked = next((n for n in final.nodes if n.folderish and n.inherit), None)
            if blocked is not None:
                await update_sharing(root, self.path(site, blocked.path), inherit=False)
                final = final.changed(blocked.path, inherit=False)
            fence = await root.post(site, json={"@type": "Document", "id": "fence2"})
            assert fence.status_code == 201, fence.text
            assert (await root.post(f"{site}/fence2/@workflow/publish")).status_code == 200
            for login in users:  # reindexed: GET agrees with the model everywhere
                async with self.client_of(login) as client:
                    for node in final.nodes:
                        resp = await client.get(self.path(site, node.path))
                        can = view(final, node.path, final.principal(login))
                        self.findings.check(
                            "access effect",
                            resp.status_code == 200 if can else resp.status_code == 404,
                            f"{tag} {login}: after {name} of /{'/'.join(changed.path)} and a block on "
                            f"{blocked and '/'.join(blocked.path)}, GET /{'/'.join(node.path)} answers "
                            f"{resp.status_code} (model View: {can})",
                        )
            changes = [(changed, {"transition"}), *([(blocked, {"sharing", "modified"})] if blocked else [])]
            for login in users:
                first = await self._until_fence(sockets[login], "fence")
                second = await self._until_fence(sockets[login], "fence2")
                for prop, got in (("live", (first, second)), ("since", None)):
                    if got is None:
                        async with ws_connect(
                            self.app, f"{site}/@ws", headers=basic(login, password_of(login))
                        ) as ws:
                            await ws.send_json({"type": "subscribe", "id": "r", "since": cursors[login]})
                            got = (
                                await self._until_fence(ws, "fence", skip_ack=True),
                                await self._until_fence(ws, "fence2"),
                            )
                        self.findings.check(  # notifications are live only
                            "since",
                            _events(got[0] + got[1]) == _events(first + second),
                            f"{tag} {login}: since replay differs from live: "
                            f"{_kinds(got[0] + got[1])} vs {_kinds(first + second)}",
                        )
                    self.frames(before, after, site, mover, moved_to, copied, login, got[0], tag, prop)
                    self.access_frames(after, final, site, changes, login, got[1], tag, prop)

    def access_frames(
        self,
        before: World,
        after: World,
        site: str,
        changes: list[tuple[Node, set[str]]],
        login: str,
        frames: list[dict[str, Any]],
        tag: str,
        prop: str,
    ) -> None:
        """Frames after a transition and a block: about each changed object, its event if
        the receiver may View it after, ``removed`` if only before, nothing otherwise; no frame
        names a place it may View neither before nor after."""
        check = self.findings.check
        seen = self.seen(before, login, self.root)
        still = self.seen(after, login, self.root).hidden_markers
        seen.hidden_markers = {m: p for m, p in seen.hidden_markers.items() if m in still}
        for frame in frames:
            self.no_markers(prop, seen, f"frame {frame.get('event')}", str(frame), tag)
            for url in URL.findall(str(frame)):
                if not url.startswith(site + "/"):
                    continue
                rel = tuple(url.removeprefix(site + "/").split("/"))
                own = frame.get("@id", "")
                if rel[0].startswith("fence") or own.startswith(BASE + url + "/"):
                    continue
                worlds = (before,) if frame.get("event") == "removed" else (before, after)
                ok = any(_sees(w, rel, login) for w in worlds)
                check(prop, ok, f"{tag} {login}: {frame.get('event')} frame names hidden {url}: {_short(frame)}")
        for node, kinds in changes:
            could = view(before, node.path, before.principal(login))
            can = view(after, node.path, after.principal(login))
            url = self._url(site, node.path)
            got = [f["event"] for f in frames if f.get("type") == "event" and f.get("@id") == url]
            if can:
                ok = bool(got) and set(got) <= kinds
            else:
                ok = got == (["removed"] if could else [])
            check(
                prop,
                ok,
                f"{tag} {login}: frames about /{'/'.join(node.path)}: {got} "
                f"(View before {could}, after {can}; expected {sorted(kinds)})",
            )

    async def _move(self, site: str, node: Node, destination: str) -> str:
        resp = await self.root.post(f"{self.path(site, node.path)}/@move", json={"destination": destination})
        assert resp.status_code in (200, 201), resp.text
        return f"{destination}/{node.name}"

    async def _until_fence(
        self, ws: WebSocket, fence: str, skip_ack: bool = False
    ) -> list[dict[str, Any]]:
        """The frames before the publication of the ``fence`` document (which everyone sees)."""
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

    def frames(
        self,
        before: World,
        after: World,
        site: str,
        mover: Node,
        moved_to: str,
        copied: Node,
        login: str,
        frames: list[dict[str, Any]],
        tag: str,
        prop: str,
    ) -> None:
        check = self.findings.check
        who_before, who_after = before.principal(login), after.principal(login)
        seen = self.seen(before, login, self.root)  # markers hidden before the move…
        for node in before.below(mover.path):  # …and still hidden after it
            new = ("pub", *node.path[len(mover.path) - 1 :])
            if view(after, new, who_after):
                seen.hidden_markers = {
                    m: p for m, p in seen.hidden_markers.items() if p != "/".join(node.path)
                }
        for frame in frames:
            self.no_markers(prop, seen, f"frame {frame.get('event')}", str(frame), tag)
        # touched: one modified frame per object it may View (before the move)
        first_move = next(
            (i for i, f in enumerate(frames) if f.get("event") != "modified"), len(frames)
        )
        touched = sorted(
            f["@id"].removeprefix(BASE + site + "/")
            for f in frames[:first_move]
            if f.get("event") == "modified" and not f["@id"].startswith(f"{BASE}{site}/pub")
        )
        expected = sorted(
            "/".join(n.path)
            for n in before.nodes
            if n.path != ("pub",) and view(before, n.path, who_before)
        )
        check(prop, touched == expected, f"{tag} {login}: modified frames for {touched}, model {expected}")
        # every place a frame names is one the receiver may View (or an ancestor of its @id)
        for frame in frames:
            own = frame.get("@id", "")
            named = {k: v for k, v in frame.items() if k not in ("old_@id", "original")}
            for url in URL.findall(str(named)):
                rel = tuple(url.removeprefix(site).strip("/").split("/")) if url.startswith(site + "/") else ()
                if not rel or rel[0] in ("fence", "drop") or (BASE + url) == own or own.startswith(BASE + url + "/"):
                    continue
                if frame.get("event") == "removed":
                    ok = self._viewable(before, before, rel, login)
                else:
                    ok = self._viewable(before, after, rel, login)
                check(prop, ok, f"{tag} {login}: {frame.get('event')} frame names hidden {url}: {_short(frame)}")
            original = frame.get("original")
            if isinstance(original, str) and original:
                path = original.removeprefix(BASE)
                rel = tuple(path.removeprefix(site).strip("/").split("/"))
                ok = path.startswith(site + "/") and self._viewable(before, before, rel, login)
                check(prop, ok, f"{tag} {login}: copy frame names hidden original {original}")
        # the move: moved (may View after), removed (could View only before), or nothing
        old_rel, new_rel = mover.path, ("pub", mover.name)
        could, can = view(before, old_rel, who_before), view(after, new_rel, who_after)
        moves = [f for f in frames if f.get("event") in ("moved", "removed") and f["@id"] in (BASE + moved_to, self._url(site, old_rel))]
        kinds = [f["event"] for f in moves]
        want = ["moved"] if can else ["removed"] if could else []
        check(prop, kinds == want, f"{tag} {login}: move of /{'/'.join(old_rel)} gave {kinds}, model {want} (View before {could}, after {can})")
        for frame in moves:
            if "old_@id" in frame:
                check(prop, could, f"{tag} {login}: moved frame names hidden old_@id {frame['old_@id']}")

    def _viewable(self, before: World, after: World, rel: tuple[str, ...], login: str) -> bool:
        for world in (before, after):
            try:
                if view(world, rel, world.principal(login)):
                    return True
            except KeyError:
                continue
        return rel[0] == "pub"  # pub and its copies: everyone reads them

    @staticmethod
    def _url(site: str, rel: tuple[str, ...]) -> str:
        return BASE + "/".join((site, *rel))


def _sees(world: World, rel: tuple[str, ...], login: str) -> bool:
    try:
        return view(world, rel, world.principal(login))
    except KeyError:  # not in the model (a copy in pub, which every user reads)
        return rel[0] == "pub"


def _events(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [frame for frame in frames if frame.get("type") == "event"]


def _headers(headers: dict[str, str | None]) -> str:
    return str({k: v for k, v in headers.items() if v is not None})


def _kinds(frames: list[dict[str, Any]]) -> list[str]:
    return [f"{f.get('event')} {f.get('@id', '')}" for f in frames]


def _short(frame: dict[str, Any]) -> str:
    keep = ("event", "@id", "old_@id", "original", "parent")
    return str({k: frame[k] for k in keep if k in frame})


Check = Callable[[World, str], Awaitable[None]]
