"""Workflows declared in JSON: states with permission maps, transitions with guards.

A definition (``security/workflow_definitions/*.json`` ships Plone's
``simple_publication_workflow`` and ``one_state_workflow``; ``workflows.files`` in the
configuration adds more)::

    {"id": "…", "title": "…", "initial_state": "private",
     "states": {"private": {"title": "Private", "transitions": ["publish"],
                            "permissions": {"baobab.View": ["baobab.Owner", …],
                                            "baobab.X": {"roles": […], "acquire": true}}}},
     "transitions": {"publish": {"title": "…", "new_state": "published",
                                 "guard_permission": "baobab.ReviewContent"}}}

A permission given as a list of roles does not acquire (Plone's ``acquired="False"``, what its
workflows use); ``{"roles": …, "acquire": true}`` adds the parent's roles. Which workflow a type
follows: ``workflows.types`` in the configuration, else the type's own declaration, else
``workflows.default``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import msgspec

from baobab.config.registry import Registry
from baobab.config.settings import WorkflowSettings
from baobab.errors import ConfigError

__all__ = ["State", "Transition", "Workflow", "Workflows", "load_workflow"]

BUILTIN_PACKAGE = "baobab.security.workflow_definitions"


class _PermissionSetting(msgspec.Struct, forbid_unknown_fields=True):
    roles: list[str]
    acquire: bool = False


class _StateSpec(msgspec.Struct, forbid_unknown_fields=True):
    title: str = ""
    description: str = ""
    transitions: list[str] = msgspec.field(default_factory=list)
    permissions: dict[str, list[str] | _PermissionSetting] = msgspec.field(default_factory=dict)


class _TransitionSpec(msgspec.Struct, forbid_unknown_fields=True):
    new_state: str
    guard_permission: str
    title: str = ""
    description: str = ""


class _WorkflowSpec(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    initial_state: str
    states: dict[str, _StateSpec]
    title: str = ""
    description: str = ""
    transitions: dict[str, _TransitionSpec] = msgspec.field(default_factory=dict)


@dataclass(frozen=True)
class Transition:
    id: str
    title: str
    new_state: str
    guard_permission: str
    description: str = ""


@dataclass(frozen=True)
class State:
    id: str
    title: str
    description: str
    transitions: tuple[str, ...]
    permissions: dict[str, tuple[tuple[str, ...], bool]]  # permission → (roles, acquire)


@dataclass(frozen=True)
class Workflow:
    id: str
    title: str
    description: str
    initial_state: str
    states: dict[str, State]
    transitions: dict[str, Transition]
    origin: str = ""  # the definition's file, for errors found later

    @property
    def managed_permissions(self) -> frozenset[str]:
        return frozenset(p for state in self.states.values() for p in state.permissions)


def _build(spec: _WorkflowSpec, origin: str) -> Workflow:
    def fail(message: str) -> ConfigError:
        return ConfigError(f"Workflow {spec.id!r} ({origin}): {message}")

    states: dict[str, State] = {}
    for state_id, s in spec.states.items():
        permissions: dict[str, tuple[tuple[str, ...], bool]] = {}
        for perm, setting in s.permissions.items():
            if isinstance(setting, list):
                permissions[perm] = (tuple(setting), False)
            else:
                permissions[perm] = (tuple(setting.roles), setting.acquire)
        for transition_id in s.transitions:
            if transition_id not in spec.transitions:
                raise fail(f"state {state_id!r} names unknown transition {transition_id!r}")
        states[state_id] = State(
            state_id, s.title or state_id, s.description, tuple(s.transitions), permissions
        )
    if spec.initial_state not in states:
        raise fail(f"initial state {spec.initial_state!r} is not a state")
    transitions: dict[str, Transition] = {}
    for transition_id, t in spec.transitions.items():
        if t.new_state not in states:
            raise fail(f"transition {transition_id!r} leads to unknown state {t.new_state!r}")
        transitions[transition_id] = Transition(
            transition_id, t.title or transition_id, t.new_state, t.guard_permission, t.description
        )
    return Workflow(
        spec.id,
        spec.title or spec.id,
        spec.description,
        spec.initial_state,
        states,
        transitions,
        origin,
    )


def load_workflow(raw: bytes | str, origin: str = "<string>") -> Workflow:
    """Decode and check one JSON definition (the permission and role ids are checked later,
    against the registry, by :meth:`Workflows.build`)."""
    try:
        spec = msgspec.json.decode(raw, type=_WorkflowSpec)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"Workflow definition {origin}: {exc}") from None
    except msgspec.DecodeError as exc:
        raise ConfigError(f"Workflow definition {origin} is not valid JSON: {exc}") from None
    return _build(spec, origin)


def _builtin() -> list[Workflow]:
    found = []
    for entry in sorted(resources.files(BUILTIN_PACKAGE).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            found.append(load_workflow(entry.read_bytes(), f"built-in {entry.name}"))
    return found


class Workflows:
    """Every known workflow and the workflow of each content type."""

    def __init__(self, by_id: dict[str, Workflow], by_type: dict[str, Workflow | None]) -> None:
        self.by_id = by_id
        self.by_type = by_type

    @classmethod
    def empty(cls) -> Workflows:
        return cls({}, {})

    def for_type(self, type_name: str) -> Workflow | None:
        return self.by_type.get(type_name)

    @classmethod
    def build(cls, settings: WorkflowSettings, registry: Registry) -> Workflows:
        """Load the built-in and configured definitions, check them, assign them to types."""
        by_id: dict[str, Workflow] = {}
        loaded = _builtin() + [
            load_workflow(Path(path).read_bytes(), path) for path in _existing(settings.files)
        ]
        for workflow in loaded:
            _check_vocabulary(workflow, registry)
            by_id[workflow.id] = workflow
        for type_name in settings.types:
            if type_name not in registry.types:
                raise ConfigError(f"workflows.types names unknown content type {type_name!r}")
        by_type: dict[str, Workflow | None] = {}
        for type_name, info in registry.types.items():
            chosen: str | None = settings.types.get(type_name, info.workflow)
            if chosen == "":
                chosen = settings.default
            if chosen is None:
                by_type[type_name] = None
            elif chosen in by_id:
                by_type[type_name] = by_id[chosen]
            else:
                raise ConfigError(f"Type {type_name!r} follows unknown workflow {chosen!r}")
        return cls(by_id, by_type)


def _existing(paths: list[str]) -> list[str]:
    for path in paths:
        if not Path(path).is_file():
            raise ConfigError(f"workflows.files: no such file {path!r}")
    return paths


def _check_vocabulary(workflow: Workflow, registry: Registry) -> None:
    name = f"workflow {workflow.id!r}"
    for state in workflow.states.values():
        for perm, (roles, _acquire) in state.permissions.items():
            registry.check_permission(perm, f"{name}, state {state.id!r}", workflow.origin)
            for role in roles:
                if role not in registry.roles:
                    raise ConfigError(
                        f"{workflow.origin}: {name}, state {state.id!r}, {perm} names "
                        f"unknown role {role!r}"
                    )
    for transition in workflow.transitions.values():
        what = f"{name}, transition {transition.id!r} (guard_permission)"
        registry.check_permission(transition.guard_permission, what, workflow.origin)
