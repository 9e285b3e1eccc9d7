"""The catalog suite runs on every persistent backend, as the API suite does."""

from backend_fixtures import baobab_storage, db, site, unchanged

__all__ = ["baobab_storage", "db", "site", "unchanged"]
