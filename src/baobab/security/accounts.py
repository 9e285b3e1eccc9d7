"""Snapshots of users after a change to users or groups, for the live push.

A change of a user's roles, groups or account is judged by live sockets in commit order, with
no read of the database afterwards: the transaction that makes the change also records what it
leaves (:class:`~baobab.events.Account`), as object events record who may View their object.
"""

from __future__ import annotations

from collections.abc import Iterable

from baobab.events import Account
from baobab.security.users import UserFolder

__all__ = ["accounts_after"]


def accounts_after(folder: UserFolder | None, ids: Iterable[str]) -> tuple[Account, ...]:
    """The accounts a change to ``ids`` (users or groups) may have changed, as they are now.

    An existing group stands for its members (a change of its roles changes theirs; a
    caller removing a group names its members too). An id that is neither a user nor a group
    is a user removed (or a group removed: users and groups share one id space, so no user
    has its id): it is inactive. Reading every member of a large group costs one load per
    member, paid by the rare administrator's change rather than by every delivery.
    """
    users: dict[str, None] = {}
    for id_ in ids:
        group = folder.get_group(id_) if folder is not None else None
        if group is None:
            users[id_] = None
        else:
            users.update(dict.fromkeys(group.members))
    return tuple(_account(folder, user_id) for user_id in users)


def _account(folder: UserFolder | None, user_id: str) -> Account:
    user = folder.get_user(user_id) if folder is not None else None
    if folder is None or user is None or user.disabled:
        return Account(id=user_id, title="", roles=(), groups=(), active=False)
    return Account(
        id=user_id,
        title=user.fullname or user.id,
        roles=tuple(sorted(folder.roles_of(user))),
        groups=tuple(user.groups),
        active=True,
    )
