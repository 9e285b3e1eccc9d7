"""Existence oracles: an object the principal may not see answers exactly as a missing one.

Each request kind is sent while its target exists but is hidden from the actor, then root
deletes the targets and the same requests are sent again: status, headers (but ``Date``) and
body must be the same bytes. The actors have no rights on the targets: anonymous, a global
Member, and a user stored in the site. The requests cover every method on the object, the
views that reveal or change it (``@sharing``, ``@workflow``, ``@move``/``@copy`` as source and
as destination, downloads, uploads, TUS, ``@ws``), an unknown view, paths below the hidden
object, and ``@users``/``@groups`` entries asked for by someone who may not manage them.
See docs/security.md, "Hidden and missing objects".
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from baobab.asgi.app import BaobabApp
from baobab.testing import (
    TEST_USERS,
    BaobabClient,
    add,
    add_group,
    add_user,
    assert_envelope,
    last_commit,
    password_of,
    transition,
    update_sharing,
)
from baobab.testing.websocket import Rejected, basic, ws_connect

EDITOR = "baobab.Editor"
CONTRIBUTOR = "baobab.Contributor"
READER = "baobab.Reader"
TUS = {"tus-resumable": "1.0.0"}
RAW_FILE = {"content-type": "application/octet-stream", "content-disposition": "attachment"}

# (name, method, path below the site, request arguments); ``H`` is the hidden folder
H = "hidden"
KINDS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("GET", "GET", H, {}),
    ("HEAD", "HEAD", H, {}),
    ("OPTIONS", "OPTIONS", H, {}),
    ("PATCH", "PATCH", H, {"json": {"title": "mine now"}}),
    ("PUT", "PUT", H, {"content": b"x"}),
    ("DELETE", "DELETE", H, {}),
    ("POST create", "POST", H, {"json": {"@type": "Document", "id": "planted"}}),
    ("POST file", "POST", H, {"content": b"data", "headers": RAW_FILE}),
    ("GET @sharing", "GET", f"{H}/@sharing", {}),
    ("POST @sharing", "POST", f"{H}/@sharing", {"json": {"entries": [], "inherit": True}}),
    ("GET @workflow", "GET", f"{H}/@workflow", {}),
    ("POST @workflow", "POST", f"{H}/@workflow/publish", {}),
    ("@move source", "POST", f"{H}/@move", {"json": {"destination": "/db/site/mine"}}),
    ("@copy source", "POST", f"{H}/@copy", {"json": {"destination": "/db/site/mine"}}),
    ("@move dest", "POST", "mine/doc/@move", {"json": {"destination": f"/db/site/{H}"}}),
    ("@copy dest", "POST", "mine/doc/@copy", {"json": {"destination": f"/db/site/{H}"}}),
    ("@copy dest below", "POST", "mine/doc/@copy", {"json": {"destination": f"/db/site/{H}/f"}}),
    ("@copy dest view", "POST", "mine/doc/@copy", {"json": {"destination": f"/db/site/{H}/@x"}}),
    (
        "@copy dest, public source",
        "POST",
        "open/pub/@copy",
        {"json": {"destination": "/db/site/hidden"}},
    ),
    ("GET file", "GET", f"{H}/file", {"headers": {"accept": "application/octet-stream"}}),
    ("@download", "GET", f"{H}/file/@download/file", {}),
    ("@download range", "GET", f"{H}/file/@download/file", {"headers": {"range": "bytes=0-1"}}),
    ("@upload", "PUT", f"{H}/file/@upload/file", {"content": b"new bytes"}),
    ("@tus create", "POST", f"{H}/@tus", {"headers": {**TUS, "upload-length": "4"}}),
    ("@tus HEAD", "HEAD", f"{H}/@tus/0123abcd", {"headers": TUS}),
    (
        "@tus PATCH",
        "PATCH",
        f"{H}/@tus/0123abcd",
        {
            "content": b"data",
            "headers": {
                **TUS,
                "upload-offset": "0",
                "content-type": "application/offset+octet-stream",
            },
        },
    ),
    ("@tus OPTIONS", "OPTIONS", f"{H}/@tus", {"headers": TUS}),
    ("@ws over HTTP", "GET", f"{H}/@ws", {}),
    ("@wstoken", "GET", f"{H}/@wstoken", {}),
    ("unknown view", "GET", f"{H}/@no-such-view", {}),
    ("unknown view PUT", "PUT", f"{H}/@no-such-view/a/b", {"content": b"x"}),
    ("public view", "POST", f"{H}/@login", {"json": {"login": "x", "password": "y"}}),
    ("@types", "GET", f"{H}/@types", {}),
    ("@principals", "GET", f"{H}/@principals", {"params": {"search": "a"}}),
    ("child", "GET", f"{H}/doc", {}),
    ("child PATCH", "PATCH", f"{H}/doc", {"json": {"title": "x"}}),
    ("child view", "GET", f"{H}/doc/@workflow", {}),
    ("missing below", "GET", f"{H}/nothing/deeper/@x", {}),
    ("private name below", "GET", f"{H}/_p_jar", {}),
    ("dot-dot below", "GET", f"{H}/../{H}", {}),
    ("item in public folder", "GET", "open/secret", {}),
    ("item in public folder PUT", "PUT", "open/secret", {"content": b"x"}),
    ("item in public folder view", "GET", "open/secret/@sharing", {}),
    ("@users GET", "GET", "@users/alice", {}),
    ("@users PATCH", "PATCH", "@users/alice", {"json": {"fullname": "Mallory"}}),
    ("@users PATCH managed", "PATCH", "@users/alice", {"json": {"disabled": True}}),
    ("@users DELETE", "DELETE", "@users/alice", {}),
    (
        "@users reset-password",
        "POST",
        "@users/alice/reset-password",
        {"json": {"old_password": "x", "new_password": "y" * 10}},
    ),
    ("@groups GET", "GET", "@groups/staff", {}),
    ("@groups PATCH", "PATCH", "@groups/staff", {"json": {"title": "x"}}),
    ("@groups DELETE", "DELETE", "@groups/staff", {}),
]

Answer = tuple[int, list[tuple[str, str]], bytes]


def answer(resp: httpx.Response) -> Answer:
    headers = sorted((k, v) for k, v in resp.headers.multi_items() if k != "date")
    return resp.status_code, headers, resp.content


@pytest.fixture
async def tree(client: BaobabClient, site: str) -> str:
    """``site/hidden`` (a private Folder with ``doc`` and ``file``) and ``site/open/secret``
    (private, in a published folder), none of which the actors may see; ``site/mine``, where
    ``member`` and the site user ``carol`` are Editor and Contributor (so they may move and
    copy ``mine/doc``); a site user ``alice`` and a group ``staff``."""
    hidden = await add(client, site, "Folder", H, title="Top secret", description="merger")
    await add(client, hidden, "Document", "doc", title="Plans")
    resp = await client.post(
        hidden, content=b"secret bytes", headers=RAW_FILE, params={"id": "file"}
    )
    assert resp.status_code == 201, resp.text
    open_ = await add(client, site, "Folder", "open")
    await transition(client, open_, "publish")
    await add(client, open_, "Document", "secret", title="Salaries")
    await transition(client, await add(client, open_, "Document", "pub"), "publish")
    mine = await add(client, site, "Folder", "mine")
    await add(client, mine, "Document", "doc")
    await add_user(client, site, "alice")
    await add_user(client, site, "carol")
    await add_group(client, site, "staff", title="Staff")
    grants = {who: {EDITOR: True, CONTRIBUTOR: True} for who in ("member", "carol")}
    await update_sharing(client, mine, grants)
    return site


def as_actor(client: BaobabClient, actor: str | None) -> BaobabClient:
    if actor == "carol":
        return client.as_login("carol", password_of("carol"))
    return client.as_user(actor)


async def ws_answer(app: BaobabApp, path: str, actor: str | None) -> tuple[int, Any]:
    headers = {"X-Request-ID": "probe"}  # echoed in the refusal's body
    if actor is not None:
        password = password_of(actor) if actor == "carol" else TEST_USERS[actor][0]
        headers.update(basic(actor, password))
    with pytest.raises(Rejected) as refused:
        async with ws_connect(app, path, headers=headers):
            pass
    return refused.value.status, refused.value.body


async def answers(
    who: BaobabClient, site: str, app: BaobabApp, actor: str | None
) -> dict[str, Answer | tuple[int, Any]]:
    out: dict[str, Answer | tuple[int, Any]] = {}
    for name, method, below, kwargs in KINDS:
        # the same request id both times: it is echoed in the header and the error body
        headers = {**kwargs.get("headers", {}), "X-Request-ID": "probe"}
        sent = {**kwargs, "headers": headers}
        out[name] = answer(await who.request(method, f"{site}/{below}", **sent))
    out["@ws upgrade"] = await ws_answer(app, f"{site}/{H}/@ws", actor)
    out["@ws upgrade below"] = await ws_answer(app, f"{site}/{H}/doc/@ws", actor)
    return out


async def remove_targets(client: BaobabClient, site: str) -> None:
    for path in (
        f"{site}/{H}",
        f"{site}/open/secret",
        f"{site}/@users/alice",
        f"{site}/@groups/staff",
    ):
        assert (await client.delete(path)).status_code == 204, path


@pytest.mark.parametrize("actor", [None, "member", "carol"])
async def test_hidden_and_missing_answer_alike(
    client: BaobabClient, baobab_app: BaobabApp, db: Any, tree: str, actor: str | None
) -> None:
    site = tree
    async with as_actor(client, actor) as who:
        before = last_commit(db)
        hidden = await answers(who, site, baobab_app, actor)
        assert last_commit(db) == before, "a refused request committed"
        await remove_targets(client, site)
        missing = await answers(who, site, baobab_app, actor)
    differ = {
        name: (hidden[name], missing[name]) for name in hidden if hidden[name] != missing[name]
    }
    assert not differ, "\n".join(
        f"{n}:\n  hidden  {h}\n  missing {m}" for n, (h, m) in differ.items()
    )
    # and what they answer is a refusal, never a hint: 401 (anonymous), 404, or 403 for
    # managing users and groups, which no actor here may do at all
    for name, got in hidden.items():
        status = got[0]
        if name.startswith(("@users", "@groups")):
            assert status == (401 if actor is None else 403), (name, got)
        elif name == "public view":  # @login: no login needed, so no 401
            assert status == 404, (name, got)
        else:
            assert status == (401 if actor is None else 404), (name, got)


async def test_the_answer_names_the_first_unknown_segment(client: BaobabClient, tree: str) -> None:
    """The 404 names the first segment of the path the principal knows nothing of, whatever
    follows it; the path itself is in ``details``."""
    site = tree
    async with client.as_user("member") as member:
        for below in (H, f"{H}/doc", f"{H}/doc/@workflow", f"{H}/@sharing", f"{H}/x/y"):
            body = assert_envelope(await member.put(f"{site}/{below}"), 404, "NotFound")
            assert body == {
                "type": "NotFound",
                "message": f"Not found: {H!r}",
                "details": {"path": f"site/{below}"},
            }
        # below what they may see, the first unknown segment is the one after it
        body = assert_envelope(await member.get(f"{site}/open/absent/x"), 404, "NotFound")
        assert body["message"] == "Not found: 'absent'"
    async with client.as_user(None) as anon:
        body = assert_envelope(await anon.put(f"{site}/{H}/@x"), 401, "Unauthorized")
        assert body == {
            "type": "Unauthorized",
            "message": "Authentication required",
            "details": {"path": f"site/{H}/@x"},
        }


async def test_a_visible_object_below_a_hidden_one_is_reachable(
    client: BaobabClient, tree: str
) -> None:
    """Knowing a path does not need knowing every object on it (Plone's traversal): Reader
    on ``hidden/doc`` alone reaches it, and below it a missing name is named as such."""
    site = tree
    await update_sharing(client, f"{site}/{H}/doc", {"alice": {READER: True}})
    async with client.as_login("alice", password_of("alice")) as alice:
        assert (await alice.get(f"{site}/{H}/doc")).status_code == 200
        assert (await alice.get(f"{site}/{H}/doc/@workflow")).status_code == 200
        body = assert_envelope(await alice.get(f"{site}/{H}/doc/nothing"), 404, "NotFound")
        assert body["message"] == "Not found: 'nothing'"
        # the folder itself, and its other children, stay unknown
        for below in (H, f"{H}/file", f"{H}/absent"):
            body = assert_envelope(await alice.get(f"{site}/{below}"), 404, "NotFound")
            assert body["message"] == f"Not found: {H!r}"


async def test_an_id_taken_by_a_hidden_sibling_is_refused(client: BaobabClient, tree: str) -> None:
    """The trade-off: an id is unique in its folder, so creating one a hidden sibling holds
    is refused (409), naming only the id the request chose (docs/security.md)."""
    site = tree
    mine = f"{site}/mine"
    await add(client, mine, "Document", "taken")
    await update_sharing(client, f"{mine}/taken", inherit=False)  # member sees nothing of it
    async with client.as_user("member") as member:
        assert_envelope(await member.get(f"{mine}/taken"), 404, "NotFound")
        resp = await member.post(mine, json={"@type": "Document", "id": "taken"})
        body = assert_envelope(resp, 409, "AlreadyExists")
        assert body["details"] == {"id": "taken"}


async def test_managing_users_is_refused_before_the_user_is_looked_up(
    client: BaobabClient, tree: str
) -> None:
    """A non-manager's PATCH of another user is 403 whether the user exists or not; for
    managers, a missing user is 404 as before."""
    site = tree
    async with client.as_user("member") as member:
        for user in ("alice", "nobody"):
            resp = await member.patch(f"{site}/@users/{user}", json={"fullname": "x"})
            assert_envelope(resp, 403, "Forbidden")
    async with client.as_user("siteadmin") as admin:
        resp = await admin.patch(f"{site}/@users/nobody", json={"fullname": "x"})
        assert_envelope(resp, 404, "NotFound")
        resp = await admin.patch(f"{site}/@users/alice", json={"fullname": "Alice"})
        assert resp.status_code == 204
