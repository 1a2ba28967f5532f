"""What a dump transform returns, and the server node both engines share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graph.records import Record, node
from graph.schema import Family

# Server fields copied onto the server node (cloud links let other sources join it).
_SERVER_PROPS = (
    "engine",
    "version",
    "host",
    "port",
    "aws_rds_resource_id",
    "aws_region",
    "aws_account_id",
    "gcp_cloudsql_instance",
    "collected_at",
)


@dataclass
class Transformed:
    """Records of one dump plus notes for coverage. Nodes are de-duplicated by id."""

    nodes: list[Record] = field(default_factory=list)
    edges: list[Record] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _ids: set[str] = field(default_factory=set)

    def add_node(self, record: Record) -> str:
        if record["id"] not in self._ids:
            self._ids.add(record["id"])
            self.nodes.append(record)
        return record["id"]

    def has(self, node_id: str) -> bool:
        return node_id in self._ids


def environment(server: dict[str, Any]) -> str:
    """The server's environment as its operator stated it (`environment:` in the target config or
    `--environment`, a field meant for nothing else): a source-stated environment the policy keeps
    unless its ids / tag rules say otherwise. Databases, schemas and tables inherit it by scope."""
    value = server.get("environment")
    return value if value in ("prod", "nonprod") else "unknown"


def server_node(server_id: str, provider: str, server: dict[str, Any]) -> Record:
    props = {key: server.get(key) for key in _SERVER_PROPS if server.get(key) is not None}
    return node(server_id, Family.RESOURCE, "server", provider, server["name"], "",
                environment=environment(server), **props)


def resource_node(node_id: str, kind: str, provider: str, name: str, server_id: str, **props: Any) -> Record:
    """A database / schema / table: scoped to its server, whose environment the policy gives it
    (not copied here, so a policy rule that reclassifies the server reaches every table)."""
    return node(node_id, Family.RESOURCE, kind, provider, name, server_id, environment="unknown", **props)
