"""Configuration: settings, inert declarations, the registry and the explicit scan."""

from __future__ import annotations

from baobab.config.declarations import (
    BehaviourInfo,
    ContentTypeInfo,
    Permission,
    Role,
    ServiceInfo,
    SubscriberInfo,
    behaviour,
    content_type,
    service,
    subscriber,
)
from baobab.config.registry import Registry
from baobab.config.scan import scan
from baobab.config.settings import Settings, load_settings, parse_settings

__all__ = [
    "BehaviourInfo",
    "ContentTypeInfo",
    "Permission",
    "Registry",
    "Role",
    "ServiceInfo",
    "Settings",
    "SubscriberInfo",
    "behaviour",
    "content_type",
    "load_settings",
    "parse_settings",
    "scan",
    "service",
    "subscriber",
]
