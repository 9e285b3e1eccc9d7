"""The security property suite runs on FileStorage and on RelStorage/PostgreSQL."""
