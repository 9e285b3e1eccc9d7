"""The ASGI application. ``baobab.asgi:app`` is a plain ASGI callable."""

from __future__ import annotations

from baobab.asgi.app import BaobabApp

__all__ = ["BaobabApp", "app"]

app = BaobabApp()
