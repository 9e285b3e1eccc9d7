"""Export and import: a container as a portable archive (docs/export.md)."""

from baobab.transfer.exporting import Counts, export_container
from baobab.transfer.importing import Imported, import_container

__all__ = ["Counts", "Imported", "export_container", "import_container"]
