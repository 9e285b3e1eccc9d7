"""Allowed/Denied: truthy/falsy verdicts whose reason is built only when read."""

from __future__ import annotations

from baobab.asgi.state import build_registry
from baobab.config import parse_settings
from baobab.content.types import Document, Folder
from baobab.security.policy import Allowed, Denied, SecurityPolicy
from baobab.security.principals import ANONYMOUS_PRINCIPAL, Principal


def _tree() -> tuple[SecurityPolicy, Document]:
    policy = SecurityPolicy(build_registry(parse_settings("{}")))
    folder = Folder("f", "Folder")
    folder.__parent__ = None
    folder._local_roles = {"alice": ("baobab.Editor", "baobab.Reader")}
    doc = Document("d", "Document")
    doc.__parent__ = folder
    doc._allowed = ("user:carol",)
    return policy, doc


def test_verdicts_say_why() -> None:
    policy, doc = _tree()
    root = Principal(id="root", roles=frozenset({"baobab.Manager"}))
    cases = [
        (root, "baobab.ModifyContent", Allowed, "root is a Manager"),
        (Principal(id="carol"), "baobab.View", Allowed, "carol holds a token allowed to View"),
        (
            Principal(id="alice"),
            "baobab.View",
            Allowed,
            "alice has baobab.Editor, baobab.Reader here",
        ),
        (
            Principal(id="bob"),
            "baobab.ModifyContent",
            Denied,
            "bob has none of the roles granting baobab.ModifyContent here",
        ),
        (
            ANONYMOUS_PRINCIPAL,
            "baobab.View",
            Denied,
            "anonymous has none of the roles granting baobab.View here",
        ),
        (root, "baobab.Veiw", Denied, "unknown permission 'baobab.Veiw'"),
    ]
    for principal, permission, kind, reason in cases:
        verdict = policy.permits(principal, permission, doc)
        assert type(verdict) is kind
        assert bool(verdict) is (kind is Allowed)
        assert verdict.permission == permission
        assert verdict.principal == principal.id
        assert verdict.reason == reason


def test_allowed_keeps_the_roles_that_matched() -> None:
    policy, doc = _tree()
    verdict = policy.permits(Principal(id="alice"), "baobab.ModifyContent", doc)
    assert isinstance(verdict, Allowed)
    assert (verdict.case, verdict.roles) == ("roles", frozenset({"baobab.Editor"}))
