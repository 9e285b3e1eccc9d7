"""The catalog: a security-filtered index of each container's content, kept in the same
transaction as the content (docs/catalog.md)."""
