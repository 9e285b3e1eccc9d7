"""What a change to users or groups records for the live push: the accounts as it leaves
them, a group standing for its members."""

from __future__ import annotations

from baobab.events import Account
from baobab.security.accounts import accounts_after
from baobab.security.users import Group, User, UserFolder


def folder() -> UserFolder:
    users = UserFolder()
    staff = Group("staff")
    staff.roles = ("baobab.Reader",)
    users.add_group(staff)
    users.add_group(Group("editors"))
    for id_ in ("alice", "bob", "carol"):
        user = User(id_, "hash")
        user.roles = ("baobab.Contributor",) if id_ == "alice" else ()
        users.add_user(user)
    users.set_groups(users.user("alice"), ["staff", "editors"])
    users.set_groups(users.user("bob"), ["staff"])
    users.user("bob").fullname = "Bob B."
    return users


def test_a_user_with_its_own_and_its_groups_roles() -> None:
    assert accounts_after(folder(), ["alice"]) == (
        Account(
            id="alice",
            title="alice",
            roles=("baobab.Contributor", "baobab.Reader"),
            groups=("editors", "staff"),
            active=True,
        ),
    )


def test_a_group_stands_for_its_members_once_each() -> None:
    found = accounts_after(folder(), ["staff", "bob", "carol"])
    assert [(a.id, a.title, a.groups) for a in found] == [
        ("alice", "alice", ("editors", "staff")),
        ("bob", "Bob B.", ("staff",)),
        ("carol", "carol", ()),
    ]


def test_disabled_removed_and_unknown_ids_are_inactive() -> None:
    users = folder()
    users.user("alice").disabled = True
    users.remove_user("bob")
    found = accounts_after(users, ["alice", "bob", "gone"])
    assert [(a.id, a.active, a.roles) for a in found] == [
        ("alice", False, ()),
        ("bob", False, ()),
        ("gone", False, ()),
    ]
    assert [a.active for a in accounts_after(None, ["alice"])] == [False]


def test_a_removed_groups_members_as_named_by_the_caller() -> None:
    users = folder()
    staff = users.remove_group("staff")
    found = accounts_after(users, tuple(staff.members))
    assert [(a.id, a.roles, a.groups) for a in found] == [
        ("alice", ("baobab.Contributor",), ("editors",)),
        ("bob", (), ()),
    ]
