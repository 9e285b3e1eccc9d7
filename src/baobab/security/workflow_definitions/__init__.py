"""Built-in workflow definitions (JSON files read by ``baobab.security.workflows``)."""
