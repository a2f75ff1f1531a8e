"""Connectors: the plugin API, the registry, the shared HTTP session, built-ins."""
