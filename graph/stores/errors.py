"""Errors every graph store raises, with messages meant for the person who typed the query."""

from __future__ import annotations


class CypherError(Exception):
    """A query that cannot run: syntax, unknown label or property, missing parameter, store unavailable."""


class ReadOnlyError(CypherError):
    """A query that would change the graph; the Cypher console and CLI are read-only."""
