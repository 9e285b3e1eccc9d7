"""An independent model of Plone's security rules, and generators of random worlds.

Nothing here calls Baobab's policy: the tables are written by hand from Plone's definitions
(``simple_publication_workflow``, ``rolemap.xml``) as docs/security.md states them, and
``test_security_properties.py`` checks that the shipped workflow data says the same. A
*world* is a site's users, groups and content tree (owners, local roles, blocked inheritance,
workflow states); :func:`view` and :func:`allowed` say what a principal may do in it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from hypothesis import strategies as st

ANONYMOUS = "baobab.Anonymous"
AUTHENTICATED = "baobab.Authenticated"
MEMBER = "baobab.Member"
READER = "baobab.Reader"
CONTRIBUTOR = "baobab.Contributor"
EDITOR = "baobab.Editor"
REVIEWER = "baobab.Reviewer"
OWNER = "baobab.Owner"
SITE_ADMIN = "baobab.SiteAdministrator"
MANAGER = "baobab.Manager"

VIEW = "baobab.View"
ACCESS = "baobab.AccessContentInformation"
MODIFY = "baobab.ModifyContent"
CHANGE_LOCAL_ROLES = "baobab.ChangeLocalRoles"
REQUEST_REVIEW = "baobab.RequestReview"
REVIEW_CONTENT = "baobab.ReviewContent"
ADD_CONTENT = "baobab.AddContent"
DELETE_OBJECTS = "baobab.DeleteObjects"

AUTHENTICATED_GROUP = "AuthenticatedUsers"  # the group every authenticated principal is in
STATES = ("private", "pending", "published")
SHARABLE = (READER, CONTRIBUTOR, EDITOR, REVIEWER)

_PRIVATE_READERS = frozenset({MANAGER, SITE_ADMIN, OWNER, EDITOR, READER, CONTRIBUTOR})
_EDITORS = frozenset({MANAGER, SITE_ADMIN, OWNER, EDITOR})
# simple_publication_workflow: the roles each state grants (Plone's definition; a state's
# list does not acquire)
WORKFLOW: dict[str, dict[str, frozenset[str]]] = {
    "private": {VIEW: _PRIVATE_READERS, ACCESS: _PRIVATE_READERS, MODIFY: _EDITORS},
    "pending": {
        VIEW: _PRIVATE_READERS | {REVIEWER},
        ACCESS: _PRIVATE_READERS | {REVIEWER},
        MODIFY: frozenset({MANAGER, SITE_ADMIN, REVIEWER}),
    },
    "published": {VIEW: frozenset({ANONYMOUS}), ACCESS: frozenset({ANONYMOUS}), MODIFY: _EDITORS},
}
# state → (transition, guard permission), and where each transition leads
TRANSITIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "private": (("publish", REVIEW_CONTENT), ("submit", REQUEST_REVIEW)),
    "pending": (
        ("publish", REVIEW_CONTENT),
        ("reject", REVIEW_CONTENT),
        ("retract", REQUEST_REVIEW),
    ),
    "published": (("retract", REQUEST_REVIEW), ("reject", REVIEW_CONTENT)),
}
NEW_STATE = {"publish": "published", "submit": "pending", "retract": "private", "reject": "private"}
# permissions no workflow state manages: Plone's rolemap.xml
DEFAULTS: dict[str, frozenset[str]] = {
    CHANGE_LOCAL_ROLES: frozenset({MANAGER, SITE_ADMIN, OWNER, EDITOR, REVIEWER}),
    REQUEST_REVIEW: frozenset({MANAGER, SITE_ADMIN, OWNER, EDITOR}),
    REVIEW_CONTENT: frozenset({MANAGER, SITE_ADMIN, REVIEWER}),
    ADD_CONTENT: frozenset({MANAGER, SITE_ADMIN, OWNER, CONTRIBUTOR}),
    DELETE_OBJECTS: frozenset({MANAGER, SITE_ADMIN, OWNER, EDITOR}),
}


@dataclass(frozen=True)
class User:
    login: str
    roles: tuple[str, ...] = ()  # global roles


@dataclass(frozen=True)
class Group:
    name: str
    roles: tuple[str, ...] = ()  # global roles of every member
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class Node:
    """A Folder, Document or File at ``path`` (ids below the site), created by ``owner``."""

    path: tuple[str, ...]
    kind: str
    owner: str  # a user's login, or "root"
    state: str = "private"
    inherit: bool = True
    local: tuple[tuple[str, str], ...] = ()  # (user or group id, role)
    born: tuple[str, ...] = ()  # where it was built, once moved (its markers name that place)

    @property
    def origin(self) -> tuple[str, ...]:
        return self.born or self.path

    @property
    def name(self) -> str:
        return self.path[-1]

    @property
    def parent(self) -> tuple[str, ...]:
        return self.path[:-1]

    @property
    def folderish(self) -> bool:
        return self.kind == "Folder"


@dataclass(frozen=True)
class World:
    """A site's principals and content, parents listed before their children."""

    label: str
    users: tuple[User, ...]
    groups: tuple[Group, ...]
    nodes: tuple[Node, ...]

    def node(self, path: tuple[str, ...]) -> Node:
        for node in self.nodes:
            if node.path == path:
                return node
        raise KeyError(path)

    def children(self, path: tuple[str, ...]) -> list[Node]:
        return [node for node in self.nodes if node.parent == path]

    def below(self, path: tuple[str, ...]) -> list[Node]:
        """The node at ``path`` and all its descendants."""
        return [node for node in self.nodes if node.path[: len(path)] == path]

    def user(self, login: str) -> User:
        return next(user for user in self.users if user.login == login)

    def principal(self, login: str | None) -> Principal:
        if login is None:
            return Principal(None, frozenset({ANONYMOUS}), frozenset())
        if login == "root":
            return Principal("root", frozenset({ANONYMOUS, AUTHENTICATED, MANAGER}), frozenset())
        groups = [group for group in self.groups if login in group.members]
        roles = {ANONYMOUS, AUTHENTICATED, *self.user(login).roles}
        roles.update(role for group in groups for role in group.roles)
        ids = {login, AUTHENTICATED_GROUP, *(group.name for group in groups)}
        return Principal(login, frozenset(roles), frozenset(ids))

    def changed(self, path: tuple[str, ...], **changes: Any) -> World:
        """The world after the node at ``path`` changed (``state``, ``inherit``…)."""
        nodes = [replace(n, **changes) if n.path == path else n for n in self.nodes]
        return replace(self, nodes=tuple(nodes))

    def leaving(self, group: str, login: str) -> World:
        """The world after ``login`` left ``group``."""
        groups = [
            replace(g, members=tuple(m for m in g.members if m != login)) if g.name == group else g
            for g in self.groups
        ]
        return replace(self, groups=tuple(groups))

    def demoted(self, login: str) -> World:
        """The world after ``login`` lost its global roles."""
        users = [replace(u, roles=()) if u.login == login else u for u in self.users]
        return replace(self, users=tuple(users))

    def moved(self, path: tuple[str, ...], into: tuple[str, ...]) -> World:
        """The world after the node at ``path`` (and its subtree) moved into ``into``."""
        cut = len(path) - 1
        nodes = [
            replace(node, path=into + node.path[cut:], born=node.origin)
            if node.path[: len(path)] == path
            else node
            for node in self.nodes
        ]
        return replace(self, nodes=tuple(nodes))


@dataclass(frozen=True)
class Principal:
    login: str | None  # None: anonymous
    roles: frozenset[str]  # global roles, Anonymous and Authenticated included
    ids: frozenset[str]  # what local roles may be granted to: itself, its groups


def roles_on(world: World, path: tuple[str, ...], who: Principal) -> set[str]:
    """Global roles, plus local roles (Owner included) on the node and its parents up to the
    first that blocks inheritance."""
    roles = set(who.roles)
    while path:
        node = world.node(path)
        roles.update(role for pid, role in node.local if pid in who.ids)
        if node.owner in who.ids:
            roles.add(OWNER)
        if not node.inherit:
            break
        path = path[:-1]
    return roles


def allowed(world: World, path: tuple[str, ...], who: Principal, permission: str) -> bool:
    """Whether ``who`` holds ``permission`` on the node at ``path`` (the site, ``()``, is in
    one_state_workflow's published state and holds only root's grants)."""
    if MANAGER in who.roles:
        return True
    if not path:
        return permission in (VIEW, ACCESS)
    roles = roles_on(world, path, who)
    if MANAGER in roles:
        return True
    state = WORKFLOW[world.node(path).state]
    granting = state.get(permission, DEFAULTS.get(permission, frozenset({MANAGER})))
    return ANONYMOUS in granting or bool(roles & granting)


def view(world: World, path: tuple[str, ...], who: Principal) -> bool:
    return allowed(world, path, who, VIEW) and allowed(world, path, who, ACCESS)


def transitions(world: World, path: tuple[str, ...], who: Principal) -> set[str]:
    """The transitions ``who`` may take from the node's state."""
    state = world.node(path).state
    return {name for name, guard in TRANSITIONS[state] if allowed(world, path, who, guard)}


def title(path: tuple[str, ...]) -> str:
    """The node's title: a marker that must never reach whoever may not View it."""
    return f"title-of-{'-'.join(path)}-x7"


def description(path: tuple[str, ...]) -> str:
    return f"desc-of-{'-'.join(path)}-q9"


def body(path: tuple[str, ...]) -> str:
    """A Document's text or a File's content."""
    return f"secret-body-of-{'-'.join(path)}-z3"


def markers(path: tuple[str, ...]) -> tuple[str, ...]:
    return (title(path), description(path), body(path))


# -- generators ---------------------------------------------------------------------------

GLOBAL_ROLE_CHOICES: tuple[tuple[str, ...], ...] = (
    (),
    (),
    (MEMBER,),
    (MEMBER,),
    (READER,),
    (EDITOR,),
    (CONTRIBUTOR,),
    (REVIEWER,),
    (SITE_ADMIN,),
)


@st.composite
def worlds(draw: st.DrawFn, max_nodes: int = 7) -> World:
    """A random site: 2–4 users, 0–2 groups, 2–``max_nodes`` objects with random owners,
    states, local roles (to users, groups and all authenticated users) and blocks."""
    logins = [f"u{i}" for i in range(draw(st.integers(2, 4)))]
    users = tuple(User(login, draw(st.sampled_from(GLOBAL_ROLE_CHOICES))) for login in logins)
    groups = tuple(
        Group(
            f"g{i}",
            draw(st.sampled_from(((), (), (READER,), (REVIEWER,), (EDITOR,)))),
            tuple(draw(st.lists(st.sampled_from(logins), max_size=3, unique=True))),
        )
        for i in range(draw(st.integers(0, 2)))
    )
    grantees = [*logins, *(group.name for group in groups), AUTHENTICATED_GROUP]
    nodes: list[Node] = []
    for i in range(draw(st.integers(2, max_nodes))):
        folders = [(), *(node.path for node in nodes if node.folderish)]
        parent = draw(st.sampled_from(folders))
        kind = draw(st.sampled_from(("Folder", "Folder", "Document", "File")))
        local = draw(
            st.lists(
                st.tuples(st.sampled_from(grantees), st.sampled_from(SHARABLE)),
                max_size=2,
                unique=True,
            )
        )
        nodes.append(
            Node(
                path=(*parent, f"n{i}"),
                kind=kind,
                owner=draw(st.sampled_from(("root", *logins))),
                state=draw(st.sampled_from(STATES)),
                inherit=draw(st.sampled_from((True, True, True, False))),
                local=tuple(local),
            )
        )
    return World("random", users, groups, tuple(nodes))


@dataclass
class Findings:
    """Violations per property, across every world of a campaign."""

    found: dict[str, list[str]] = field(default_factory=dict)
    checks: dict[str, int] = field(default_factory=dict)

    def check(self, prop: str, ok: bool, message: str) -> bool:
        self.checks[prop] = self.checks.get(prop, 0) + 1
        if not ok:
            self.found.setdefault(prop, []).append(message)
        return ok

    def of(self, prop: str) -> list[str]:
        return self.found.get(prop, [])


def paths(nodes: Iterable[Node]) -> set[tuple[str, ...]]:
    return {node.path for node in nodes}


def _world(label: str, users: tuple[User, ...], groups: tuple[Group, ...], *nodes: Node) -> World:
    return World(label, users, groups, nodes)


U0, U1, U2 = User("u0", (MEMBER,)), User("u1"), User("u2", (MEMBER,))
# Hand-picked trees, each aimed at one way a hidden object could leak.
ADVERSARIAL: tuple[World, ...] = (
    _world(
        "private draft in a published folder",
        (U0, U1),
        (),
        Node(("n0",), "Folder", "root", "published"),
        Node(("n0", "n1"), "Document", "u1", "private"),
        Node(("n0", "n2"), "Document", "u1", "published"),
        Node(("n0", "n3"), "Folder", "root", "published"),
        Node(("n0", "n3", "n4"), "File", "root", "pending"),
    ),
    _world(
        "subfolder blocking inheritance",
        (U0, U1),
        (),
        Node(("n0",), "Folder", "root", "private", local=(("u0", EDITOR), ("u1", READER))),
        Node(("n0", "n1"), "Folder", "root", "private", inherit=False),
        Node(("n0", "n1", "n2"), "Document", "root", "private"),
        Node(("n0", "n1", "n3"), "Document", "root", "published"),
        Node(("n0", "n4"), "Document", "root", "private"),
    ),
    _world(
        "reader on a child but not the parent",
        (U0, U1),
        (),
        Node(("n0",), "Folder", "root", "private"),
        Node(("n0", "n1"), "Document", "root", "private", local=(("u0", READER),)),
        Node(("n0", "n2"), "Folder", "root", "pending", local=(("u1", READER),)),
        Node(("n0", "n2", "n3"), "File", "root", "private"),
    ),
    _world(
        "group-granted roles",
        (U0, U1, U2),
        (Group("g0", (), ("u0",)), Group("g1", (REVIEWER,), ("u1",))),
        Node(("n0",), "Folder", "root", "private", local=(("g0", READER),)),
        Node(("n0", "n1"), "Document", "root", "pending"),
        Node(("n0", "n2"), "Folder", "root", "private", inherit=False, local=(("g1", EDITOR),)),
        Node(("n0", "n2", "n3"), "Document", "root", "private"),
        Node(("n4",), "Document", "root", "private", local=((AUTHENTICATED_GROUP, READER),)),
    ),
    _world(
        "owner who lost rights",
        (U0, U1),
        (),
        # u0 created these as a Contributor of the site, which it no longer is
        Node(("n0",), "Folder", "root", "private"),
        Node(("n0", "n1"), "Document", "u0", "private"),
        Node(("n0", "n2"), "Document", "u1", "private"),
        Node(("n3",), "Folder", "u1", "private"),
        Node(("n3", "n4"), "Folder", "u0", "private", inherit=False),
        Node(("n3", "n4", "n5"), "Document", "root", "pending"),
        Node(("n3", "n6"), "Document", "root", "private"),
    ),
    _world(
        "reviewers and site administrators",
        (User("u0", (REVIEWER,)), User("u1", (SITE_ADMIN,)), U2),
        (),
        Node(("n0",), "Folder", "root", "pending", local=(("u2", REVIEWER),)),
        Node(("n0", "n1"), "Document", "u2", "private"),
        Node(("n0", "n2"), "Document", "root", "pending"),
        Node(("n0", "n3"), "Folder", "root", "private", inherit=False),
        Node(("n0", "n3", "n4"), "File", "root", "pending"),
    ),
)
