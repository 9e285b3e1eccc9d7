"""How ``baobab user list`` prints users, site or configured alike."""

from __future__ import annotations

from typing import Any

__all__ = ["format_users"]


def format_users(users: list[dict[str, Any]]) -> str:
    """One line per user, ``login  title  roles`` in columns (no hashes, ever)."""
    rows = [("LOGIN", "TITLE", "ROLES")]
    for user in users:
        rows.append((user["id"], user.get("fullname") or "", ", ".join(user.get("roles") or ())))
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    return "".join(
        f"{row[0].ljust(widths[0])}  {row[1].ljust(widths[1])}  {row[2]}".rstrip() + "\n"
        for row in rows
    )
