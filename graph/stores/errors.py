"""Errors every graph store raises, with messages meant for the person who typed the query."""

from __future__ import annotations


class CypherError(Exception):
    """A query that cannot run: syntax, unknown label or property, missing parameter, store unavailable."""


class RefusedQueryError(CypherError):
    """A query the Cypher console refuses to run (graph.stores.readonly): more than one statement,
    a procedure that is not on the allow-list, anything that writes, reads files or changes settings."""


class ReadOnlyError(RefusedQueryError):
    """A query that would change the graph, read files or change settings; the console and CLI are read-only."""


class StoreCrashError(CypherError):
    """The embedded store's child process died (a signal, or the memory limit) while running the query."""
