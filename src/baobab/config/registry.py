"""The registry: what a scan found — types, behaviours, services, permissions and roles.

One registry per application, no globals. Service lookup goes by (method, name) and then by the
most specific interface the context provides (zope.interface's resolution order), cached per
context class, so a hot lookup is one dict hit.
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any

from zope.interface import implementedBy
from zope.interface.interface import InterfaceClass

from baobab.config.declarations import (
    BODY_MODES,
    INDEX_KINDS,
    BehaviourInfo,
    ColumnInfo,
    ContentTypeInfo,
    IndexInfo,
    Permission,
    Role,
    ServiceInfo,
    SubscriberInfo,
)
from baobab.errors import ConfigError, RegistrationConflict

__all__ = ["Registry"]


class Registry:
    def __init__(self) -> None:
        self.types: dict[str, ContentTypeInfo] = {}
        self.behaviours: dict[str, BehaviourInfo] = {}
        self.permissions: dict[str, Permission] = {}
        self.roles: dict[str, Role] = {}
        self._services: dict[tuple[str, str], list[ServiceInfo]] = {}
        # the body modes declared by (method, name); the headers for every answer by name
        self._body_modes: dict[tuple[str, str], frozenset[str]] = {}
        self._view_headers: dict[str, tuple[tuple[bytes, bytes], ...]] = {}
        self._where: dict[tuple[str, Any], str] = {}
        self._lookup_cache: dict[tuple[type[Any], str, str], ServiceInfo | None] = {}
        self._subscribers: list[SubscriberInfo] = []
        self.indexes: dict[str, IndexInfo] = {}  # catalog indexes by name
        self.columns: dict[str, ColumnInfo] = {}  # catalog metadata columns by name
        self._subscriber_cache: dict[tuple[type[Any], type[Any]], list[SubscriberInfo]] = {}
        # (permission, what names it, where): checked once every scan is done, since a
        # declaration may name a permission that a later add-on declares.
        self._permission_uses: list[tuple[str, str, str]] = []
        # Derived data that lower layers compute once (resolved fields, role maps).
        self.cache: dict[Any, Any] = {}

    # registration -----------------------------------------------------------------------
    def _claim(self, kind: str, key: Any, where: str) -> None:
        previous = self._where.get((kind, key))
        if previous is not None:
            raise RegistrationConflict(
                f"Conflicting {kind} registrations for {key!s}: {previous} and {where}"
            )
        self._where[(kind, key)] = where

    def add_type(self, info: ContentTypeInfo, where: str) -> None:
        self._claim("content type", info.name, where)
        if info.add_permission:
            self.uses_permission(
                info.add_permission, f"content type {info.name!r} (add_permission)", where
            )
        else:
            info = dataclasses.replace(info, add_permission=f"baobab.Add{info.name}")
        self.types[info.name] = info
        self.cache.clear()

    def add_behaviour(self, info: BehaviourInfo, where: str) -> None:
        self._claim("behaviour", info.name, where)
        self.behaviours[info.name] = info
        self.cache.clear()

    def add_permission(self, permission: Permission, where: str) -> None:
        self._claim("permission", permission.id, where)
        self.permissions[permission.id] = permission
        self.cache.clear()

    def add_role(self, role: Role, where: str) -> None:
        self._claim("role", role.id, where)
        if role.delegate is not None:
            self.uses_permission(role.delegate, f"role {role.id!r} (delegate)", where)
        self.roles[role.id] = role
        self.cache.clear()

    def add_service(self, info: ServiceInfo, where: str) -> None:
        if not info.permission:
            raise RegistrationConflict(
                f"Service {info.method} {info.name or '(object)'} at {where} declares no "
                "permission; every service must name one"
            )
        if info.body not in BODY_MODES:
            raise RegistrationConflict(
                f"Service {info.method} {info.name or '(object)'} at {where}: body must be one "
                f"of {', '.join(BODY_MODES)}, not {info.body!r}"
            )
        context_name = getattr(info.context, "__identifier__", None) or repr(info.context)
        self._claim("service", (info.method, info.name, context_name), where)
        self.uses_permission(
            info.permission, f"service {info.method} {info.name or '(object)'}", where
        )
        key = (info.method, info.name)
        self._services.setdefault(key, []).append(info)
        self._body_modes[key] = self._body_modes.get(key, frozenset()) | {info.body}
        headers = dict(self._view_headers.get(info.name, ()))
        headers.update((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in info.headers)
        self._view_headers[info.name] = tuple(headers.items())
        self._lookup_cache.clear()

    def add_subscriber(self, info: SubscriberInfo, where: str) -> None:
        handler = f"{info.handler.__module__}.{info.handler.__qualname__}"
        self._claim("subscriber", (handler, info.event, repr(info.context)), where)
        self._subscribers.append(info)
        self._subscriber_cache.clear()

    def add_index(self, info: IndexInfo, where: str) -> None:
        if info.kind not in INDEX_KINDS:
            raise ConfigError(
                f"{where}: index {info.name!r} has unknown kind {info.kind!r} "
                f"(one of {', '.join(INDEX_KINDS)})"
            )
        self._claim("index", info.name, where)
        self.indexes[info.name] = info

    def add_column(self, info: ColumnInfo, where: str) -> None:
        self._claim("column", info.name, where)
        self.columns[info.name] = info

    # permission ids named by declarations -------------------------------------------------
    def uses_permission(self, permission: str, what: str, where: str) -> None:
        """Note that ``what``, declared at ``where``, names ``permission``;
        :meth:`check_permissions` refuses it unless some scan declared it."""
        self._permission_uses.append((permission, what, where))

    def check_permissions(self) -> None:
        """Refuse every noted permission id that no scan declared (once all scans are done).

        An undeclared permission is held by no role, not even Manager's, so whatever names it
        would answer 403 to everyone: a typo (``baobab.Veiw``) stops the start-up instead.
        """
        for permission, what, where in self._permission_uses:
            self.check_permission(permission, what, where)

    def check_permission(self, permission: str, what: str, where: str) -> None:
        """Raise :class:`ConfigError` naming ``where`` and ``what`` unless ``permission`` is
        declared, suggesting the closest declared id."""
        if permission in self.permissions:
            return
        close = difflib.get_close_matches(permission, self.permissions, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(
            f"{where}: {what} names unknown permission {permission!r}{hint}; no scan "
            "declares it, so it would refuse everyone"
        )

    # lookup -----------------------------------------------------------------------------
    def subscribers(self, event: type[Any], obj: type[Any]) -> list[SubscriberInfo]:
        """The subscribers to events of class ``event`` (by its class and bases) about
        objects of class ``obj`` (``type(None)`` for events without one), in registration
        order (built-ins first, then add-ons in the order configured); cached per pair."""
        key = (event, obj)
        found = self._subscriber_cache.get(key)
        if found is None:
            found = self._subscriber_cache[key] = [
                info
                for info in self._subscribers
                if issubclass(event, info.event)
                and (info.context is None or _provides(obj, info.context))
            ]
        return found

    def body_modes(self, method: str, name: str) -> frozenset[str]:
        """How the services for ``method`` and ``name`` (on any context) take their body;
        what the pipeline knows before traversal, when it decides whether to read it."""
        return self._body_modes.get((method, name), frozenset())

    def permissions_of(self, method: str, name: str) -> frozenset[str]:
        """The permissions the services for ``method`` and ``name`` (on any context) declare."""
        return frozenset(info.permission or "" for info in self._services.get((method, name), ()))

    def view_headers(self, name: str) -> tuple[tuple[bytes, bytes], ...]:
        """The headers the services named ``name`` declare for every answer to it."""
        return self._view_headers.get(name, ())

    def lookup_service(self, context: Any, method: str, name: str) -> ServiceInfo | None:
        """The most specific service for ``context``, or None."""
        key = (type(context), method, name)
        try:
            return self._lookup_cache[key]
        except KeyError:
            pass
        found = self._resolve(type(context), method, name)
        self._lookup_cache[key] = found
        return found

    def services(self) -> list[ServiceInfo]:
        """Every registered service, in registration order (for the API description)."""
        return [info for infos in self._services.values() for info in infos]

    def service_for(self, cls: type[Any], method: str, name: str) -> ServiceInfo | None:
        """The service an instance of ``cls`` would get for ``method`` and ``name``."""
        return self._resolve(cls, method, name)

    def allowed_methods(self, context: Any, name: str) -> list[str]:
        methods = {m for (m, n) in self._services if n == name}
        return sorted(m for m in methods if self.lookup_service(context, m, name) is not None)

    def _resolve(self, cls: type[Any], method: str, name: str) -> ServiceInfo | None:
        candidates = self._services.get((method, name))
        if not candidates:
            return None
        order = list(implementedBy(cls).flattened())
        best: ServiceInfo | None = None
        best_rank = len(order) + len(cls.__mro__) + 1
        for info in candidates:
            rank = _rank(info.context, cls, order)
            if rank is not None and rank < best_rank:
                best, best_rank = info, rank
        return best


def _provides(cls: type[Any], context: Any) -> bool:
    """Whether instances of ``cls`` provide ``context`` (an interface or a class)."""
    if cls is type(None):
        return False
    if isinstance(context, InterfaceClass):
        return bool(context.implementedBy(cls))
    return isinstance(context, type) and issubclass(cls, context)


def _rank(context: Any, cls: type[Any], order: list[Any]) -> int | None:
    """Position of ``context`` in the specificity order of ``cls`` (lower is more specific)."""
    if isinstance(context, InterfaceClass):
        return order.index(context) if context in order else None
    if isinstance(context, type) and issubclass(cls, context):
        return cls.__mro__.index(context)
    return None
