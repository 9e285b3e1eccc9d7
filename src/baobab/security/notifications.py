"""Who an explicit notification is for (settings ``live.notifications``).

A rule names the workflow state an object enters and its audience: ``"owner"`` (the principals
holding the Owner role on the object itself) or a permission (every role and local-role holder
granted it on the object: for ``baobab.ReviewContent``, those who may review it). The audience
is a set of principal tokens, matched against a socket's principal like ``_allowed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from baobab.config.settings import NotificationRule
from baobab.events import Notice
from baobab.security.policy import SecurityPolicy, effective_local_roles
from baobab.security.principals import user_token
from baobab.security.vocabulary import OWNER

__all__ = ["OWNER_AUDIENCE", "notices_for"]

OWNER_AUDIENCE = "owner"


def _audience(policy: SecurityPolicy, obj: Any, to: str) -> tuple[str, ...]:
    if to == OWNER_AUDIENCE:
        own: dict[str, tuple[str, ...]] = getattr(obj, "_local_roles", None) or {}
        return tuple(sorted(user_token(pid) for pid, roles in own.items() if OWNER.id in roles))
    roles = policy.roles_granting(to, obj)
    tokens = set(roles)
    tokens.update(
        user_token(pid) for pid, local in effective_local_roles(obj).items() if local & roles
    )
    return tuple(sorted(tokens))


def notices_for(
    policy: SecurityPolicy,
    rules: Sequence[NotificationRule],
    obj: Any,
    transition: str,
    new_state: str | None,
) -> tuple[Notice, ...]:
    """The notices an object entering ``new_state`` by ``transition`` gives rise to."""
    notices = []
    for rule in rules:
        if rule.state != new_state or (rule.transitions and transition not in rule.transitions):
            continue
        tokens = _audience(policy, obj, rule.to)
        if tokens:
            notices.append(Notice(reason=rule.reason, tokens=tokens))
    return tuple(notices)
