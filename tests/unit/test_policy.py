"""The security policy on small trees of content objects, without HTTP or a database.

Roles come from the principal (global, groups') and from local grants up the tree to the first
block; the roles granting a permission from the permission maps up the tree to the first that
does not acquire, then the permission's defaults. The stored allowed tokens (``sees``) agree
with the walk.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from baobab.config.declarations import Permission
from baobab.config.registry import Registry
from baobab.content.resources import Container, DatabaseRoot, Folder, Item
from baobab.security.indexing import reindex
from baobab.security.policy import (
    MANAGER,
    Allowed,
    Denied,
    SecurityPolicy,
    effective_local_roles,
)
from baobab.security.principals import ANONYMOUS_PRINCIPAL, Principal

VIEW, EDIT = "baobab.View", "test.Edit"
READER, EDITOR, OWNER = "baobab.Reader", "baobab.Editor", "baobab.Owner"
REVIEWER = "baobab.Reviewer"


@dataclass
class Tree:
    """``/db/site/folder/sub/doc`` and ``/db/site/other``."""

    root: DatabaseRoot
    site: Container
    folder: Folder
    sub: Folder
    doc: Item
    other: Item


@pytest.fixture
def tree() -> Tree:
    root = DatabaseRoot("db", "DatabaseRoot")
    site, folder, sub = (
        Container("site", "Container"),
        Folder("folder", "Folder"),
        Folder("sub", "Folder"),
    )
    doc, other = Item("doc", "Document"), Item("other", "Document")
    root._set_child("site", site)
    site._set_child("folder", folder)
    site._set_child("other", other)
    folder._set_child("sub", sub)
    sub._set_child("doc", doc)
    return Tree(root, site, folder, sub, doc, other)


@pytest.fixture
def policy() -> SecurityPolicy:
    registry = Registry()
    registry.add_permission(Permission(VIEW, "View", (READER, EDITOR)), "test")
    registry.add_permission(Permission(EDIT, "Edit", (EDITOR,)), "test")
    return SecurityPolicy(registry)


def user(id_: str, *roles: str, groups: tuple[str, ...] = ()) -> Principal:
    return Principal(id=id_, roles=frozenset(roles), groups=frozenset(groups))


ALICE = user("alice")


# -- results are values ---------------------------------------------------------------------


def test_allowed_and_denied_are_truthy_and_falsy_and_say_why(
    policy: SecurityPolicy, tree: Tree
) -> None:
    yes = policy.permits(user("rita", READER), VIEW, tree.doc)
    assert isinstance(yes, Allowed) and yes
    assert yes.permission == VIEW and READER in yes.reason
    no = policy.permits(user("rita", READER), EDIT, tree.doc)
    assert isinstance(no, Denied) and not no
    assert no.permission == EDIT and "none of the roles" in no.reason


def test_an_unknown_permission_is_denied_even_to_a_manager(
    policy: SecurityPolicy, tree: Tree
) -> None:
    for who in (ALICE, user("boss", MANAGER)):
        result = policy.permits(who, "test.Nonsense", tree.doc)
        assert not result and "unknown permission" in result.reason


def test_global_roles_and_the_default_role_map(policy: SecurityPolicy, tree: Tree) -> None:
    assert policy.permits(user("rita", READER), VIEW, tree.doc)
    assert policy.permits(user("ed", EDITOR), EDIT, tree.doc)
    assert not policy.permits(ALICE, VIEW, tree.doc)  # authenticated, no role
    assert not policy.permits(ANONYMOUS_PRINCIPAL, VIEW, tree.doc)
    assert policy.roles_granting(EDIT, tree.doc) == {EDITOR, MANAGER}


def test_a_manager_holds_every_permission_whatever_the_maps_say(
    policy: SecurityPolicy, tree: Tree
) -> None:
    tree.doc._permission_roles = {VIEW: ((), False), EDIT: ((), False)}
    boss = user("boss", MANAGER)
    for permission in (VIEW, EDIT):
        assert policy.permits(boss, permission, tree.doc)
        assert not policy.permits(user("ed", EDITOR), permission, tree.doc)
    assert policy.checker(boss).is_manager()
    assert not policy.checker(user("ed", EDITOR)).is_manager()


# -- local roles ----------------------------------------------------------------------------


def test_local_roles_apply_here_and_below_not_above(policy: SecurityPolicy, tree: Tree) -> None:
    tree.folder._local_roles = {"alice": (READER,)}
    for obj in (tree.folder, tree.sub, tree.doc):
        assert policy.permits(ALICE, VIEW, obj), obj.id
    for obj in (tree.site, tree.other):
        assert not policy.permits(ALICE, VIEW, obj), obj.id
    assert not policy.permits(ALICE, EDIT, tree.doc)
    assert policy.checker(ALICE).local_roles(tree.doc) == {READER}


def test_local_roles_from_several_levels_add_up(policy: SecurityPolicy, tree: Tree) -> None:
    tree.site._local_roles = {"alice": (READER,)}
    tree.sub._local_roles = {"alice": (EDITOR,), "bob": (READER,)}
    assert policy.checker(ALICE).local_roles(tree.doc) == {READER, EDITOR}
    assert policy.permits(ALICE, EDIT, tree.doc)
    assert not policy.permits(ALICE, EDIT, tree.folder)
    assert effective_local_roles(tree.doc) == {
        "alice": frozenset({READER, EDITOR}),
        "bob": frozenset({READER}),
    }


def test_a_block_stops_grants_from_above_but_not_its_own_or_global_roles(
    policy: SecurityPolicy, tree: Tree
) -> None:
    tree.site._local_roles = {"alice": (READER,), "bob": (READER,)}
    tree.sub._local_roles = {"bob": (EDITOR,)}
    tree.sub._inherit_roles = False
    bob = user("bob")
    assert policy.permits(ALICE, VIEW, tree.folder)  # above the block
    assert not policy.permits(ALICE, VIEW, tree.sub)
    assert not policy.permits(ALICE, VIEW, tree.doc)
    assert policy.checker(bob).local_roles(tree.doc) == {EDITOR}  # the block's own grant
    assert policy.permits(bob, EDIT, tree.doc)
    assert policy.permits(user("rita", READER), VIEW, tree.doc)  # global roles still apply
    assert effective_local_roles(tree.doc) == {"bob": frozenset({EDITOR})}


def test_grants_to_groups_and_to_every_authenticated_user(
    policy: SecurityPolicy, tree: Tree
) -> None:
    tree.folder._local_roles = {"staff": (EDITOR,)}
    tree.other._local_roles = {"AuthenticatedUsers": (READER,)}
    assert policy.permits(user("sam", groups=("staff",)), EDIT, tree.doc)
    assert not policy.permits(ALICE, EDIT, tree.doc)
    assert policy.permits(ALICE, VIEW, tree.other)
    assert not policy.permits(ANONYMOUS_PRINCIPAL, VIEW, tree.other)
    # a grant to a principal's own id applies only to that principal
    tree.other._local_roles = {"alice": (READER,)}
    assert not policy.permits(user("alicia"), VIEW, tree.other)


# -- permission maps ------------------------------------------------------------------------


def test_a_setting_that_does_not_acquire_is_final(policy: SecurityPolicy, tree: Tree) -> None:
    tree.site._permission_roles = {VIEW: ((REVIEWER,), False)}
    tree.doc._permission_roles = {VIEW: ((OWNER,), False)}
    assert policy.roles_granting(VIEW, tree.doc) == {OWNER, MANAGER}
    assert policy.roles_granting(VIEW, tree.sub) == {REVIEWER, MANAGER}  # no setting: parent's
    assert not policy.permits(user("rita", READER), VIEW, tree.doc)
    tree.doc._local_roles = {"alice": (OWNER,)}
    assert policy.permits(ALICE, VIEW, tree.doc)


def test_a_setting_that_acquires_adds_the_parents_up_to_the_defaults(
    policy: SecurityPolicy, tree: Tree
) -> None:
    tree.doc._permission_roles = {VIEW: ((OWNER,), True)}
    assert policy.roles_granting(VIEW, tree.doc) == {OWNER, READER, EDITOR, MANAGER}
    tree.folder._permission_roles = {VIEW: ((REVIEWER,), True)}
    assert policy.roles_granting(VIEW, tree.doc) == {OWNER, REVIEWER, READER, EDITOR, MANAGER}
    tree.site._permission_roles = {VIEW: ((), False)}
    assert policy.roles_granting(VIEW, tree.doc) == {OWNER, REVIEWER, MANAGER}


# -- the checker: caches and stored tokens ----------------------------------------------------


def test_a_checker_answers_for_one_request(policy: SecurityPolicy, tree: Tree) -> None:
    checker = policy.checker(ALICE)
    assert not checker.permits(VIEW, tree.doc)
    tree.doc._local_roles = {"alice": (READER,)}
    assert not checker.permits(VIEW, tree.doc)  # roles cached for this request
    assert policy.checker(ALICE).permits(VIEW, tree.doc)  # the next request sees the grant


def test_a_stored_token_answers_view_without_the_walk(policy: SecurityPolicy, tree: Tree) -> None:
    tree.doc._allowed = ("user:alice",)
    result = policy.permits(ALICE, VIEW, tree.doc)
    assert result and "token" in result.reason
    assert policy.checker(ALICE).sees(tree.doc)
    assert not policy.permits(ALICE, EDIT, tree.doc)  # tokens speak for View only
    assert not policy.checker(user("bob")).sees(tree.doc)
    tree.doc._allowed = ()
    assert not policy.checker(ALICE).sees(tree.doc)


def test_indexed_tokens_agree_with_the_walk(policy: SecurityPolicy, tree: Tree) -> None:
    tree.site._local_roles = {"alice": (READER,), "staff": (EDITOR,)}
    tree.folder._local_roles = {"bob": (READER,)}
    tree.sub._inherit_roles = False
    tree.sub._local_roles = {"carol": (EDITOR,)}
    tree.other._permission_roles = {VIEW: ((OWNER,), False)}
    tree.other._local_roles = {"dave": (OWNER,)}
    reindex(policy, tree.site)
    principals = [
        ANONYMOUS_PRINCIPAL,
        ALICE,
        user("bob"),
        user("carol"),
        user("dave"),
        user("sam", groups=("staff",)),
        user("rita", READER),
        user("boss", MANAGER),
    ]
    objects = [tree.site, tree.folder, tree.sub, tree.doc, tree.other]
    for who in principals:
        for obj in objects:
            checker = policy.checker(who)
            by_walk = bool(checker.roles(obj) & checker.granting(VIEW, obj))
            assert checker.sees(obj) == by_walk, (who.id, obj.id)
    # the tree is not trivial: someone sees each object, nobody but the Manager sees all
    seen = {who.id: {o.id for o in objects if policy.checker(who).sees(o)} for who in principals}
    assert seen["alice"] == {"site", "folder"}
    assert seen["carol"] == {"sub", "doc"}
    assert seen["dave"] == {"other"}
    assert seen["boss"] == {o.id for o in objects}
    assert seen["anonymous"] == set()
    # the parents' listing index holds the same tokens
    assert set(tree.site.visible_keys(user("dave").tokens)) == {"other"}
    assert set(tree.site.visible_keys(ALICE.tokens)) == {"folder"}
