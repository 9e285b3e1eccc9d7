"""The registry and the explicit scan: nothing registers on import; conflicts name both places."""

from __future__ import annotations

import sys
import types

import pytest

from baobab.asgi.state import build_registry
from baobab.config import Permission, Registry, parse_settings, scan, service
from baobab.content import IFolderish, IResource
from baobab.content.types import Document, Folder
from baobab.errors import ConfigError, RegistrationConflict


def _module(name: str, **attrs: object) -> types.ModuleType:
    module = types.ModuleType(name)
    for key, value in attrs.items():
        if callable(value):
            value.__module__ = name  # type: ignore[union-attr]  # test functions accept it
        setattr(module, key, value)
    sys.modules[name] = module
    return module


def test_builtins_register_through_the_scan() -> None:
    registry = build_registry(parse_settings("{}"))
    assert set(registry.types) == {"Container", "Folder", "Document", "File", "Image"}
    assert "baobab.dublincore" in registry.behaviours
    assert "baobab.View" in registry.permissions
    folder = Folder("f", "Folder")
    assert registry.lookup_service(folder, "GET", "").handler.__name__ == "get_object"
    assert registry.lookup_service(Document("d", "Document"), "POST", "") is None


def test_importing_an_addon_registers_nothing() -> None:
    import baobab_sample_addon.content  # noqa: F401

    registry = build_registry(parse_settings("{}"))
    assert "Event" not in registry.types
    registry = build_registry(parse_settings('{"addons": ["baobab_sample_addon"]}'))
    assert {"Event", "Agenda"} <= set(registry.types)
    assert "sample.AddEvent" in registry.permissions


def test_service_without_permission_is_refused() -> None:
    def handler(request: object) -> None: ...

    declared = service(method="GET", context=IResource, name="@open", permission=None)(handler)
    module = _module("baobab_test_open", handler=declared)
    with pytest.raises(RegistrationConflict, match="declares no permission"):
        scan(Registry(), module)


def test_conflicting_services_name_both_places() -> None:
    def first(request: object) -> None: ...

    def second(request: object) -> None: ...

    for fn in (first, second):
        service(method="GET", context=IFolderish, name="@dup", permission="baobab.View")(fn)
    module = _module("baobab_test_dup", first=first, second=second)
    with pytest.raises(RegistrationConflict) as info:
        scan(Registry(), module)
    assert info.value.message.count("test_registry.py:") == 2


def test_most_specific_service_wins() -> None:
    def generic(request: object) -> None: ...

    def folderish(request: object) -> None: ...

    service(method="GET", context=IResource, name="@x", permission="baobab.View")(generic)
    service(method="GET", context=IFolderish, name="@x", permission="baobab.View")(folderish)
    registry = Registry()
    scan(registry, _module("baobab_test_specific", generic=generic, folderish=folderish))
    assert registry.lookup_service(Folder("f", "Folder"), "GET", "@x").handler is folderish
    assert registry.lookup_service(Document("d", "Document"), "GET", "@x").handler is generic


def test_unknown_addon_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="Cannot import add-on"):
        build_registry(parse_settings('{"addons": ["no_such_addon_pkg"]}'))


def test_a_permission_declared_by_a_later_scan_is_known() -> None:
    """Permission ids are checked once every scan is done, not as each declaration is met."""

    def handler(request: object) -> None: ...

    service(method="GET", context=IResource, name="@later", permission="later.Use")(handler)
    registry = Registry()
    scan(registry, _module("baobab_test_uses_later", handler=handler))
    with pytest.raises(ConfigError, match=r"unknown permission 'later\.Use'"):
        registry.check_permissions()
    scan(registry, _module("baobab_test_declares_later", USE=Permission("later.Use", "Use")))
    registry.check_permissions()
