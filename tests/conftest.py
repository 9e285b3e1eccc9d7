"""Shared fixtures come from the shipped plugin (``baobab.testing.plugin``)."""
