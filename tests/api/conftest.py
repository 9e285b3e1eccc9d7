"""The API suite runs on every persistent backend: FileStorage on disk and RelStorage/PostgreSQL."""

from backend_fixtures import baobab_storage, db, site, unchanged

__all__ = ["baobab_storage", "db", "site", "unchanged"]
