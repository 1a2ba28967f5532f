"""Crosspath: one identity-permission graph across clouds, Kubernetes and databases."""

__version__ = "0.1.0"
