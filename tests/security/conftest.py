"""The security property suite runs on FileStorage and on RelStorage/PostgreSQL: the model
campaign through its own module-scoped fixture, the focused tests through ``baobab_storage``."""

from backend_fixtures import baobab_storage, site

__all__ = ["baobab_storage", "site"]
