"""The console into the live process (SSH) and the offline shell (docs/console.md).

The SSH server is :mod:`baobab.console.server`, imported only when the console is enabled:
asyncssh and its cryptography take a third of a second to import.
"""

from baobab.console.interpreter import Console
from baobab.console.namespace import Deliver, Helpers, NamespaceFactory, build_namespace, plain

__all__ = ["Console", "Deliver", "Helpers", "NamespaceFactory", "build_namespace", "plain"]
