"""The persistent content classes, built-in types and behaviours, and tree operations."""

from __future__ import annotations

from baobab.content.interfaces import (
    IApplication,
    IContainer,
    IDatabaseRoot,
    IFolderish,
    IItem,
    IResource,
)
from baobab.content.resources import (
    Application,
    Container,
    DatabaseRoot,
    Folder,
    Item,
    Resource,
)

__all__ = [
    "Application",
    "Container",
    "DatabaseRoot",
    "Folder",
    "IApplication",
    "IContainer",
    "IDatabaseRoot",
    "IFolderish",
    "IItem",
    "IResource",
    "Item",
    "Resource",
]
