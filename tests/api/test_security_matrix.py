"""Every standard role × the main operations × each state of ``simple_publication_workflow``.

The expected table below is written by hand from Plone's definitions (Products.CMFPlone's
``simple_publication_workflow`` and ``rolemap.xml``, plone.app.workflow's sharing permissions),
never computed from Baobab. Each cell is the status code of one request (``list``: whether the
object shows in its parent's listing). A test builds its objects once, runs the whole table
for one state and reports every mismatching cell at once.

Roles come from the configured global users, from a site user who only owns the objects
(``owner``), and — in the ``local`` pass — from site users holding Reader, Contributor, Editor
or Reviewer as local roles on the container, which must give exactly the global results.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from baobab.testing import BaobabClient, add_user, share

STATES = ("private", "pending", "published")
OPS = ("view", "list", "edit", "add", "delete", "share", "submit", "publish", "retract")
# Operations that change the object: each (role, operation) gets an object of its own.
MUTATING = ("edit", "delete", "share", "submit", "publish", "retract")
TRANSITION_TARGET = {"submit": "pending", "publish": "published", "retract": "private"}

# How root brings a fresh (private) object into each state.
TO_STATE: dict[str, tuple[str, ...]] = {
    "private": (),
    "pending": ("submit",),
    "published": ("publish",),
}

# Derivation from Plone's definitions (Manager holds every permission):
# - Denials: anonymous → 401; an authenticated user without Access contents information on
#   the object → 404; otherwise 403. Access is missing for Anonymous and plain Members in
#   private and pending, and for the Reviewer in private (pending adds Reviewer; published
#   grants Anonymous, i.e. everybody) — so those rows are 401/404 for every operation, even
#   for operations whose own permission the Reviewer holds site-wide (sharing, publish).
# - edit = Modify portal content, set by the state: private/published → Manager, Owner,
#   Editor, Site Administrator; pending → Manager, Reviewer, Site Administrator. So in pending
#   the Owner and the Editor see the object but get 403, and the Reviewer may edit.
# - add = Add portal content (and Add Folder/Document), not managed by the workflow: the site
#   default Manager, Site Administrator, Owner, Contributor holds in every state.
# - delete needs Delete objects (Manager, Site Administrator, Owner, Editor; not managed) on the
#   object AND on its parent, the published container /db/site. The Owner owns only the object,
#   not the container → 403 in every state; the Editor holds it on both → 204 in every state.
# - share = Change local roles + Sharing page: Delegate Reader role, both Manager, Site
#   Administrator, Owner, Editor, Reviewer (not managed): 204 wherever they can access it.
# - transitions: Access first (401/404), then "does this state offer the transition" (400:
#   retract from private; submit from pending; submit and publish from published — also for
#   Anonymous and Members there, since everybody may access a published object), then the
#   guard (403; 401 for Anonymous): submit/retract need Request review (Manager, Site
#   Administrator, Owner, Editor), publish needs Review portal content (Manager, Site
#   Administrator, Reviewer).
# columns:            view  list   edit add  delete share submit publish retract
EXPECTED: dict[str, dict[str, tuple[int | bool, ...]]] = {
    "private": {
        "anonymous":   (401, False, 401, 401, 401, 401, 401, 401, 401),
        "member":      (404, False, 404, 404, 404, 404, 404, 404, 404),
        "reader":      (200, True,  403, 403, 403, 403, 403, 403, 400),
        "contributor": (200, True,  403, 201, 403, 403, 403, 403, 400),
        "editor":      (200, True,  204, 403, 204, 204, 200, 403, 400),
        "reviewer":    (404, False, 404, 404, 404, 404, 404, 404, 404),
        "siteadmin":   (200, True,  204, 201, 204, 204, 200, 200, 400),
        "manager":     (200, True,  204, 201, 204, 204, 200, 200, 400),
        "owner":       (200, True,  204, 201, 403, 204, 200, 403, 400),
    },
    "pending": {
        "anonymous":   (401, False, 401, 401, 401, 401, 401, 401, 401),
        "member":      (404, False, 404, 404, 404, 404, 404, 404, 404),
        "reader":      (200, True,  403, 403, 403, 403, 400, 403, 403),
        "contributor": (200, True,  403, 201, 403, 403, 400, 403, 403),
        "editor":      (200, True,  403, 403, 204, 204, 400, 403, 200),
        "reviewer":    (200, True,  204, 403, 403, 204, 400, 200, 403),
        "siteadmin":   (200, True,  204, 201, 204, 204, 400, 200, 200),
        "manager":     (200, True,  204, 201, 204, 204, 400, 200, 200),
        "owner":       (200, True,  403, 201, 403, 204, 400, 403, 200),
    },
    "published": {
        "anonymous":   (200, True,  401, 401, 401, 401, 400, 400, 401),
        "member":      (200, True,  403, 403, 403, 403, 400, 400, 403),
        "reader":      (200, True,  403, 403, 403, 403, 400, 400, 403),
        "contributor": (200, True,  403, 201, 403, 403, 400, 400, 403),
        "editor":      (200, True,  204, 403, 204, 204, 400, 400, 200),
        "reviewer":    (200, True,  403, 403, 403, 204, 400, 400, 403),
        "siteadmin":   (200, True,  204, 201, 204, 204, 400, 400, 200),
        "manager":     (200, True,  204, 201, 204, 204, 400, 400, 200),
        "owner":       (200, True,  204, 201, 403, 204, 400, 400, 200),
    },
}  # fmt: skip

GLOBAL_USERS: dict[str, str | None] = {
    "anonymous": None,
    "member": "member",
    "reader": "reader",
    "contributor": "contributor",
    "editor": "editor",
    "reviewer": "reviewer",
    "siteadmin": "siteadmin",
    "manager": "root",
}
LOCAL_ROLES = {
    "reader": "baobab.Reader",
    "contributor": "baobab.Contributor",
    "editor": "baobab.Editor",
    "reviewer": "baobab.Reviewer",
}
OWNER = "owner1"
TARGET = "target"
SHARED = "shared"  # the object viewed, listed and added to by every role


def password(login: str) -> str:
    return f"{login}-secret"


def local_login(role: str) -> str:
    return f"local-{role}"


@dataclass(frozen=True)
class Mismatch:
    role: str
    op: str
    state: str
    expected: int | bool | str
    got: int | bool | str

    def __str__(self) -> str:
        cell = f"{self.role:<14} {self.op:<8} {self.state:<10}"
        return f"{cell} expected {self.expected}, got {self.got}"


def test_table_is_complete() -> None:
    for state in STATES:
        assert set(EXPECTED[state]) == {*GLOBAL_USERS, "owner"}
        assert all(len(row) == len(OPS) for row in EXPECTED[state].values())


async def _build(client: BaobabClient, site: str, state: str, roles: list[str]) -> None:
    """``shared`` and ``<role>-<op>`` for each mutating op: created by ``owner1`` (who then
    holds only Owner on them) and brought into ``state`` by root."""
    for login in (OWNER, TARGET):
        await add_user(client, site, login, password(login))
    await share(client, site, OWNER, "baobab.Contributor", True)
    names = [SHARED, *(f"{role}-{op}" for role in roles for op in MUTATING)]
    async with client.as_login(OWNER, password(OWNER)) as owner:
        for name in names:
            resp = await owner.post(site, json={"@type": "Folder", "id": name})
            assert resp.status_code == 201, resp.text
    await share(client, site, OWNER, "baobab.Contributor", False)
    async with client.as_login(OWNER, password(OWNER)) as owner:  # Owner of its objects only
        resp = await owner.post(site, json={"@type": "Folder", "id": "not-any-more"})
        assert resp.status_code == 403, resp.text
    for name in names:
        for transition in TO_STATE[state]:
            resp = await client.post(f"{site}/{name}/@workflow/{transition}")
            assert resp.status_code == 200, resp.text
    resp = await client.get(f"{site}/{SHARED}")
    assert resp.json()["review_state"] == state


async def _perform(c: BaobabClient, site: str, op: str, name: str) -> int | bool | str:
    """One operation on ``site/name``: its status (``list``: whether ``name`` is listed)."""
    path = f"{site}/{name}"
    if op == "view":
        return (await c.get(path)).status_code
    if op == "list":
        resp = await c.get(site, params={"b_size": 1000})
        if resp.status_code != 200:
            return f"listing answered {resp.status_code}"
        return any(item["id"] == name for item in resp.json()["items"])
    if op == "edit":
        return (await c.patch(path, json={"title": "changed"})).status_code
    if op == "add":
        return (await c.post(path, json={"@type": "Document"})).status_code
    if op == "delete":
        return (await c.delete(path)).status_code
    if op == "share":
        entry = {"id": TARGET, "type": "user", "roles": {"baobab.Reader": True}}
        return (await c.post(f"{path}/@sharing", json={"entries": [entry]})).status_code
    resp = await c.post(f"{path}/@workflow/{op}")
    if resp.status_code == 200 and resp.json()["review_state"] != TRANSITION_TARGET[op]:
        return f"200 but now {resp.json()['review_state']!r}"
    return resp.status_code


async def _run_row(c: BaobabClient, site: str, state: str, role: str, label: str) -> list[Mismatch]:
    mismatches = []
    for op, expected in zip(OPS, EXPECTED[state][role], strict=True):
        name = f"{role}-{op}" if op in MUTATING else SHARED
        got = await _perform(c, site, op, name)
        if type(got) is not type(expected) or got != expected:
            mismatches.append(Mismatch(label, op, state, expected, got))
    return mismatches


def _report(mismatches: list[Mismatch]) -> str:
    return f"{len(mismatches)} cells differ from Plone:\n" + "\n".join(map(str, mismatches))


@pytest.mark.parametrize("state", STATES)
async def test_global_roles(client: BaobabClient, site: str, state: str) -> None:
    """Anonymous, Member, the global roles, and the Owner of the objects."""
    await _build(client, site, state, [*GLOBAL_USERS, "owner"])
    mismatches: list[Mismatch] = []
    for role, login in GLOBAL_USERS.items():
        async with client.as_user(login) as c:
            mismatches += await _run_row(c, site, state, role, role)
    async with client.as_login(OWNER, password(OWNER)) as c:
        mismatches += await _run_row(c, site, state, "owner", "owner")
    assert not mismatches, _report(mismatches)


@pytest.mark.parametrize("state", STATES)
async def test_local_roles(client: BaobabClient, site: str, state: str) -> None:
    """Reader, Contributor, Editor and Reviewer granted on the container act as global ones."""
    await _build(client, site, state, list(LOCAL_ROLES))
    for role, role_id in LOCAL_ROLES.items():
        await add_user(client, site, local_login(role), password(local_login(role)))
        await share(client, site, local_login(role), role_id, True)
    mismatches: list[Mismatch] = []
    for role in LOCAL_ROLES:
        login = local_login(role)
        async with client.as_login(login, password(login)) as c:
            mismatches += await _run_row(c, site, state, role, f"local {role}")
    assert not mismatches, _report(mismatches)
