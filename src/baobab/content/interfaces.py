"""Marker interfaces: what services and subscribers are registered for."""

from __future__ import annotations

from zope.interface import Interface

__all__ = ["IApplication", "IContainer", "IDatabaseRoot", "IFolderish", "IItem", "IResource"]


class IApplication(Interface):
    """The top of the URL space: ``/`` (lists databases; login and logout live here)."""


class IResource(Interface):
    """Any object of the tree that has a type and a location."""


class IFolderish(IResource):
    """A resource with children."""


class IDatabaseRoot(IFolderish):
    """The root of one ZODB database (``/{db}``): its children are containers."""


class IContainer(IFolderish):
    """A site (``/{db}/{container}``): the unit an application lives in."""


class IItem(IResource):
    """A leaf resource."""
