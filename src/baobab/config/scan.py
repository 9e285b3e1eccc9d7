"""The explicit scan: walk a package, register what its inert declarations describe."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType
from typing import Any

from baobab.config.declarations import DECLARATIONS_ATTR, Declaration, Permission, Role
from baobab.config.registry import Registry
from baobab.errors import ConfigError

__all__ = ["scan"]


def _modules(target: str | ModuleType) -> list[ModuleType]:
    try:
        module = importlib.import_module(target) if isinstance(target, str) else target
    except ImportError as exc:
        raise ConfigError(f"Cannot import add-on {target!r}: {exc}") from None
    modules = [module]
    path = getattr(module, "__path__", None)
    if path is not None:
        for found in pkgutil.walk_packages(path, prefix=module.__name__ + "."):
            modules.append(importlib.import_module(found.name))
    return modules


def _register(registry: Registry, declaration: Declaration) -> None:
    if declaration.kind == "content_type":
        registry.add_type(declaration.info, declaration.where)
    elif declaration.kind == "behaviour":
        registry.add_behaviour(declaration.info, declaration.where)
    elif declaration.kind == "service":
        registry.add_service(declaration.info, declaration.where)
    elif declaration.kind == "subscriber":
        registry.add_subscriber(declaration.info, declaration.where)
    elif declaration.kind == "index":
        registry.add_index(declaration.info, declaration.where)
    elif declaration.kind == "column":
        registry.add_column(declaration.info, declaration.where)
    else:  # pragma: no cover - declarations are only built by our decorators
        raise ConfigError(f"Unknown declaration kind {declaration.kind!r}")


def scan(registry: Registry, target: str | ModuleType) -> None:
    """Register every declaration defined in ``target`` (a module or package, recursively).

    Only objects defined in the module being scanned count, so re-exports are not registered
    twice. Permissions and roles are module-level :class:`Permission` / :class:`Role` records.
    """
    for module in _modules(target):
        for attr, obj in sorted(vars(module).items()):
            where = f"{module.__name__}.{attr}"
            if isinstance(obj, Permission):
                if registry.permissions.get(obj.id) is not obj:
                    registry.add_permission(obj, where)
            elif isinstance(obj, Role):
                if registry.roles.get(obj.id) is not obj:
                    registry.add_role(obj, where)
            elif getattr(obj, "__module__", None) == module.__name__:
                own: Any = obj.__dict__ if hasattr(obj, "__dict__") else {}
                for declaration in own.get(DECLARATIONS_ATTR, ()):
                    _register(registry, declaration)
