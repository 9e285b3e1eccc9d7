"""Authentication below HTTP: headers → credentials, then a principal in a container.

Wrong or malformed credentials are always a 401 (``Unauthorized``), never anonymous.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from baobab.content.resources import Container, DatabaseRoot
from baobab.errors import Unauthorized
from baobab.security.authentication import Authenticator, PendingLogin, PendingToken
from baobab.security.principals import ANONYMOUS_PRINCIPAL, Principal
from baobab.security.secrets import Secrets
from baobab.security.users import Group, User, UserFolder, user_folder
from baobab.testing import ROOT_PASSWORD, TEST_USERS, make_settings

SECRET = "unit-test-jwt-secret-that-is-long-enough"
SITE = "/db/site"
ALICE_PASSWORD = "alice-password"


@functools.cache
def cheap_hash(password: str) -> str:
    return PasswordHasher(time_cost=1, memory_cost=64, parallelism=1).hash(password)


def run_here(key: Any, fn: Callable[[], Any]) -> Any:
    """The ``offload`` callback of a request, done inline."""
    return fn()


def basic(login: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()


@pytest.fixture
def auth(tmp_path: Path) -> Authenticator:
    secrets = Secrets(root_password_hash=cheap_hash(ROOT_PASSWORD), jwt_secret=SECRET)
    return Authenticator(make_settings(tmp_path), secrets)


@pytest.fixture
def site() -> Container:
    """``/db/site`` with users alice (in group staff, an Editor group) and bob."""
    root = DatabaseRoot("db", "DatabaseRoot")
    site = Container("site", "Container")
    root._set_child("site", site)
    folder = user_folder(site, create=True)
    assert isinstance(folder, UserFolder)
    staff = Group("staff")
    staff.roles = ("baobab.Editor",)
    folder.add_group(staff)
    for name in ("alice", "bob"):
        folder.add_user(User(name, cheap_hash(f"{name}-password")))
    folder.set_groups(folder.user("alice"), ["staff"])
    return site


def users(site: Container) -> UserFolder:
    folder = user_folder(site)
    assert folder is not None
    return folder


# -- step 1: the header ---------------------------------------------------------------------


async def test_no_header_is_anonymous(auth: Authenticator) -> None:
    assert await auth.authenticate(None) is ANONYMOUS_PRINCIPAL
    assert await auth.authenticate("") is ANONYMOUS_PRINCIPAL


async def test_basic_for_root_and_configured_users(auth: Authenticator) -> None:
    root = await auth.authenticate(basic("root", ROOT_PASSWORD))
    assert isinstance(root, Principal)
    assert (root.id, root.roles, root.container) == ("root", {"baobab.Manager"}, None)
    password, roles = TEST_USERS["editor"]
    editor = await auth.authenticate("BASIC " + basic("editor", password).split(" ", 1)[1])
    assert isinstance(editor, Principal) and editor.roles == set(roles)


@pytest.mark.parametrize("login", ["root", "editor"])
async def test_a_wrong_global_password_is_401_not_anonymous(
    auth: Authenticator, login: str
) -> None:
    with pytest.raises(Unauthorized, match="Wrong login or password"):
        await auth.authenticate(basic(login, "not-the-password"))


@pytest.mark.parametrize(
    "header",
    [
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon-here").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),  # not UTF-8
        "Basic \u00c3\u00a9\u00c3\u00a9",  # non-ASCII bytes, as the header decodes them
        "Basic \u00e9t\u00e9:x",
        "Basic YWJj\x00ZGVm",
        "Basic " + "A" * 4097,
    ],
)
async def test_malformed_basic_credentials(auth: Authenticator, header: str) -> None:
    with pytest.raises(Unauthorized, match="Malformed Basic credentials"):
        await auth.authenticate(header)


@pytest.mark.parametrize(
    "header",
    ["Bearer \u00e9\u00e9.\u00e9.\u00e9", "Bearer \x00", "Bearer a.b", "Bearer " + "x" * 9000],
)
async def test_malformed_bearer_tokens(auth: Authenticator, header: str) -> None:
    with pytest.raises(Unauthorized, match="The token is invalid"):
        await auth.authenticate(header)


@pytest.mark.parametrize("header", ["Digest abc", "Basic", "Bearer ", "Token x", "garbage"])
async def test_other_schemes_and_empty_credentials(auth: Authenticator, header: str) -> None:
    with pytest.raises(Unauthorized, match="Unsupported authorization scheme"):
        await auth.authenticate(header)


async def test_basic_for_anyone_else_is_pending_until_the_container_is_known(
    auth: Authenticator,
) -> None:
    pending = await auth.authenticate(basic("alice", "pass:with:colons"))
    assert pending == PendingLogin("alice", "pass:with:colons")


async def test_a_global_users_token(auth: Authenticator) -> None:
    token, exp = auth.tokens.issue("editor")
    first = await auth.authenticate(f"Bearer {token}")
    assert isinstance(first, Principal)
    assert (first.id, first.roles) == ("editor", set(TEST_USERS["editor"][1]))
    assert first.token_id is not None and first.token_expiry == exp
    assert await auth.authenticate(f"bearer  {token} ") is first  # built once per token


async def test_a_container_users_token_is_pending(auth: Authenticator) -> None:
    token, exp = auth.tokens.issue("alice", SITE)
    pending = await auth.authenticate(f"Bearer {token}")
    assert isinstance(pending, PendingToken)
    assert (pending.user_id, pending.container, pending.expiry) == ("alice", SITE, exp)
    assert pending.token_id is not None and pending.issued > 0


async def test_bad_tokens(auth: Authenticator) -> None:
    with pytest.raises(Unauthorized, match="invalid"):
        await auth.authenticate("Bearer not.a.token")
    token, _ = auth.tokens.issue("ghost")  # well signed, but no such global user
    with pytest.raises(Unauthorized, match="no longer exists"):
        await auth.authenticate(f"Bearer {token}")
    ticket, _ = auth.tokens.issue_ticket("root", None, 30, None, None)
    with pytest.raises(Unauthorized, match="ticket is not a token"):
        await auth.authenticate(f"Bearer {ticket}")
    token, _ = auth.tokens.issue("root")
    with pytest.raises(Unauthorized, match="ticket from @wstoken"):
        auth.from_ticket(token)


def test_a_ticket_carries_the_session_it_was_asked_with(auth: Authenticator) -> None:
    ticket, exp = auth.tokens.issue_ticket("root", None, 30, "session-jti", 12345)
    credentials, jti, expiry = auth.from_ticket(ticket)
    assert isinstance(credentials, Principal)
    assert (credentials.id, credentials.token_id, credentials.token_expiry) == (
        "root",
        "session-jti",
        12345,
    )
    assert jti != "session-jti" and expiry == exp
    ticket, _ = auth.tokens.issue_ticket("root", None, 30, None, None)
    credentials, _, _ = auth.from_ticket(ticket)
    assert isinstance(credentials, Principal) and credentials.token_id is None


# -- step 2: in the container ---------------------------------------------------------------


def test_a_pending_login_resolves_in_its_container(auth: Authenticator, site: Container) -> None:
    alice = auth.resolve(PendingLogin("alice", ALICE_PASSWORD), site, run_here)
    assert (alice.id, alice.container, alice.token_id) == ("alice", SITE, None)
    assert alice.roles == {"baobab.Editor"} and alice.groups == {"staff"}
    principal = Principal("root")
    assert auth.resolve(principal, site, run_here) is principal  # already resolved


@pytest.mark.parametrize(
    ("login", "password", "container"),
    [
        ("alice", "wrong", "site"),
        ("nobody", ALICE_PASSWORD, "site"),
        ("alice", ALICE_PASSWORD, None),  # above containers there are no stored users
    ],
)
def test_a_pending_login_that_fails_is_401(
    auth: Authenticator, site: Container, login: str, password: str, container: str | None
) -> None:
    where = site if container else None
    with pytest.raises(Unauthorized, match="Wrong login or password"):
        auth.resolve(PendingLogin(login, password), where, run_here)


def test_a_disabled_user_cannot_log_in(auth: Authenticator, site: Container) -> None:
    users(site).user("alice").disabled = True
    with pytest.raises(Unauthorized):
        auth.resolve(PendingLogin("alice", ALICE_PASSWORD), site, run_here)
    with pytest.raises(Unauthorized):
        auth.login("alice", ALICE_PASSWORD, site, run_here)


def test_the_password_check_is_offloaded_once_then_cached(
    auth: Authenticator, site: Container
) -> None:
    keys: list[Any] = []

    def offload(key: Any, fn: Callable[[], Any]) -> Any:
        keys.append(key)
        return fn()

    for _ in range(3):
        auth.resolve(PendingLogin("bob", "bob-password"), site, offload)
    assert [key[0] for key in keys] == ["verify"]


async def test_a_container_token_resolves_inside_its_container_only(
    auth: Authenticator, site: Container
) -> None:
    token, exp = auth.tokens.issue("alice", SITE)
    pending = await auth.authenticate(f"Bearer {token}")
    assert isinstance(pending, PendingToken)
    alice = auth.resolve(pending, site, run_here)
    assert (alice.id, alice.container, alice.token_expiry) == ("alice", SITE, exp)
    assert alice.token_id == pending.token_id
    other = Container("other", "Container")
    site.__parent__._set_child("other", other)
    for where in (other, None):
        with pytest.raises(Unauthorized, match=f"valid only inside {SITE}"):
            auth.resolve(pending, where, run_here)


async def test_a_container_token_outlives_neither_its_user_nor_a_password_change(
    auth: Authenticator, site: Container
) -> None:
    token, _ = auth.tokens.issue("alice", SITE)
    pending = await auth.authenticate(f"Bearer {token}")
    assert isinstance(pending, PendingToken)
    folder = users(site)
    folder.user("alice").tokens_not_before = pending.issued + 1
    with pytest.raises(Unauthorized, match="before the user's password last changed"):
        auth.resolve(pending, site, run_here)
    folder.user("alice").tokens_not_before = 0.0
    folder.user("alice").disabled = True
    with pytest.raises(Unauthorized, match="disabled"):
        auth.resolve(pending, site, run_here)
    folder.remove_user("alice")
    with pytest.raises(Unauthorized, match="no longer exists"):
        auth.resolve(pending, site, run_here)


def test_login_prefers_the_containers_user_then_the_global_ones(
    auth: Authenticator, site: Container
) -> None:
    users(site).add_user(User("editor", cheap_hash("the-site-editor")))
    local = auth.login("editor", "the-site-editor", site, run_here)
    assert local.container == SITE
    with pytest.raises(Unauthorized):  # the global editor's password does not log in here
        auth.login("editor", TEST_USERS["editor"][0], site, run_here)
    glob = auth.login("editor", TEST_USERS["editor"][0], None, run_here)
    assert glob.container is None and glob.roles == set(TEST_USERS["editor"][1])
    assert auth.login("root", ROOT_PASSWORD, site, run_here).id == "root"
    with pytest.raises(Unauthorized):
        auth.login("nobody", "x", site, run_here)
