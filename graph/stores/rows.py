"""A snapshot graph as typed rows per label and relationship type, ready for any store or export.

Every store and export (embedded LadybugDB, Neo4j, neo4j-admin CSV, OpenGraph, GraphML) holds these
rows, so they all hold the same properties. The embedded store takes them column-wise from a version 2
snapshot's Arrow tables (graph.stores.columns, tested equal to loading these rows; they still load a
version 1 snapshot); the others read these rows. Besides the snapshot's own properties, each row carries
the facts the path engine derives from the policy (snapshots do not store them, see docs/snapshot.md),
so that Cypher can ask the same questions the engine answers:

nodes  `within` (Resources: the scopes that contain it, nearest first), `write_class` (Resources: the
       target class of write on it, 0 when not privileged), `usable` (enabled and not expired), `human` (after the policy's overrides), `environment`
       (Resources: as the policy judges it, inherited from the scope), `sensitive`, `long_lived`
       (Credentials: by the key-age rule), `entry` (where a path starts: a credential that signs in,
       or a person's interactive sign-in), `entry_human`, `entry_mfa` (true / false / null = unknown),
       `entry_no_mfa` (the MFA rule applies and is not met), `entry_long_lived_nhi` (a machine's
       long-lived key);
edges  `derived` (HAS_PERMISSION the engine derives, not in the snapshot: admin over a scope one can
       grant any role on, and composition — writing an identity's permissions while acting as it),
       `traversable` (the engine follows it: a transfer or sign-in edge between usable nodes, not an
       unverified federation; for HAS_PERMISSION, a usable holder), `mfa_free` (it does not demand a
       second factor), `target_class` (HAS_PERMISSION: 0 not privileged, 1 write, 2 admin, 3 admin over
       a whole account / tenant / project / cluster / server), `assumed` (true when drawn without the
       inventory that would prove it, else false; `assumed_reason` says why).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from graph.schema import EDGE_ENDPOINTS, TRAVERSED_EDGES, EdgeKind, Family

STRING, INT, FLOAT, BOOL, STRINGS = "STRING", "INT64", "DOUBLE", "BOOLEAN", "STRING[]"
NODE_LABELS = tuple(str(family) for family in Family)
REL_TYPES = tuple(str(kind) for kind in EdgeKind)

# Columns every node table and every relationship table has, whatever the snapshot holds, so that
# library queries bind on any snapshot and one property name means one type across tables.
NODE_COLUMNS: dict[str, str] = {
    "id": STRING, "family": STRING, "kind": STRING, "provider": STRING, "name": STRING, "scope": STRING,
    "human": BOOL, "mfa": BOOL, "enabled": BOOL, "usable": BOOL, "email": STRING, "last_used": STRING,
    "created": STRING, "expires": STRING, "expired": BOOL, "age_days": INT, "long_lived": BOOL,
    "environment": STRING, "sensitivity": STRING, "sensitive": BOOL, "tags": STRINGS, "labels": STRINGS,
    "within": STRINGS, "write_class": INT,
    "entry": BOOL, "entry_human": BOOL, "entry_mfa": BOOL, "entry_no_mfa": BOOL, "entry_long_lived_nhi": BOOL,
}
EDGE_COLUMNS: dict[str, str] = {
    "kind": STRING, "via": STRING, "mfa": BOOL, "mfa_required": BOOL, "level": STRING, "actions": STRINGS,
    "conditions": STRINGS, "techniques": STRINGS, "derived": BOOL, "verified": BOOL, "traversable": BOOL,
    "mfa_free": BOOL, "target_class": INT, "assumed": BOOL, "assumed_reason": STRING, "time_bounds": STRINGS,
}
_NAME = re.compile(r"[^A-Za-z0-9_]")
TRAVERSED = frozenset(str(kind) for kind in TRAVERSED_EDGES)


@dataclass
class GraphRows:
    nodes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # label -> rows
    edges: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # type -> rows (source, target, ...)
    node_columns: dict[str, dict[str, str]] = field(default_factory=dict)  # label -> column -> type
    edge_columns: dict[str, dict[str, str]] = field(default_factory=dict)
    family_of: dict[str, str] = field(default_factory=dict)  # node id -> label

    def endpoints(self, rel_type: str) -> list[tuple[str, str]]:
        return edge_endpoints(rel_type)

    def edges_between(self, rel_type: str) -> dict[tuple[str, str], list[dict[str, Any]]]:
        grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for row in self.edges.get(rel_type, ()):
            pair = (self.family_of[row["source"]], self.family_of[row["target"]])
            grouped.setdefault(pair, []).append(row)
        return grouped


def edge_endpoints(rel_type: str) -> list[tuple[str, str]]:
    """(source label, target label) pairs the schema allows for a relationship type."""
    sources, targets = EDGE_ENDPOINTS[EdgeKind(rel_type)]
    return [(str(s), str(t)) for s in sorted(sources) for t in sorted(targets)]


def column_name(key: str) -> str:
    """A property key as a column name every store accepts (letters, digits, underscore)."""
    name = _NAME.sub("_", key)
    return name if name and not name[0].isdigit() else f"p_{name}"


def type_of(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT
    if isinstance(value, float):
        return FLOAT
    if isinstance(value, list):
        return STRINGS
    return STRING


def merge_types(seen: str | None, new: str | None) -> str | None:
    if seen is None or seen == new:
        return new if seen is None else seen
    if new is None:
        return seen
    if {seen, new} == {INT, FLOAT}:
        return FLOAT
    return STRING


def coerce(value: Any, column_type: str) -> Any:
    if value is None:
        return None
    if column_type == STRINGS:
        items = value if isinstance(value, list) else [value]
        return [item if isinstance(item, str) else json.dumps(item) for item in items]
    if column_type == STRING and not isinstance(value, str):
        return json.dumps(value)
    if column_type == FLOAT:
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if column_type == BOOL:
        return value if isinstance(value, bool) else None
    if column_type == INT:
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    return value


def _typed(rows: list[dict[str, Any]], base: dict[str, str]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    types: dict[str, str | None] = dict(base)
    renamed = []
    for row in rows:
        out = {}
        for key, value in row.items():
            name = key if key in base or key in ("source", "target") else column_name(key)
            out[name] = value
            if name in ("source", "target") or name in base:
                continue
            types[name] = merge_types(types.get(name), type_of(value))
        renamed.append(out)
    columns = {name: column_type or STRING for name, column_type in types.items()}
    for row in renamed:
        for name, column_type in columns.items():
            row[name] = coerce(row.get(name), column_type)
    return renamed, columns


def _node_facts(engine: Any, policy: Any) -> Iterable[tuple[str, dict[str, Any]]]:
    entries = {entry.node: entry for entry in engine.entries()}
    for i, node_id in enumerate(engine.ids):
        data = engine.data[i]
        family = data.get("family")
        facts: dict[str, Any] = {"usable": engine.usable[i], "entry": i in entries}
        if family == Family.IDENTITY:
            facts["human"] = engine.human[i]
        if family == Family.RESOURCE:
            facts["environment"] = engine.environment(i)
            facts["within"] = [engine.ids[scope] for scope in engine.within(i)]
            facts["write_class"] = engine.target_class(i, "write")
            facts["sensitive"] = policy.is_sensitive(node_id, str(data.get("name", "")), data.get("sensitivity"))
        if family == Family.CREDENTIAL:
            facts["long_lived"] = policy.is_long_lived(data.get("age_days"), data.get("expires"))
        entry = entries.get(i)
        if entry is not None:
            facts["entry_human"] = entry.human
            facts["entry_mfa"] = entry.mfa
            facts["entry_no_mfa"] = (entry.human or policy.mfa_applies_to_machines) and entry.mfa is not True
            facts["entry_long_lived_nhi"] = bool(entry.is_credential and not entry.human and facts.get("long_lived"))
        yield node_id, {**data, **facts}


def edge_facts(engine: Any, u_id: str, v_id: str, data: dict[str, Any]) -> dict[str, Any]:
    kind = data["kind"]
    u, v = engine.index[u_id], engine.index[v_id]
    row = {"source": u_id, "target": v_id, **data, "assumed": data.get("assumed") is True}
    if kind == EdgeKind.HAS_PERMISSION:
        level = data.get("level")
        row["traversable"] = engine.usable[u]
        row["mfa_free"] = data.get("mfa_required") is not True
        row["target_class"] = engine.target_class(v, level) if level in engine.policy.privileged_levels else 0
    elif kind in TRAVERSED:
        row["traversable"] = engine.traversable(u, v, kind, data)
        row["mfa_free"] = engine.mfa_free(kind, data)
    else:
        row["traversable"] = False
        row["mfa_free"] = True
    return row


def graph_rows(graph: nx.MultiDiGraph, policy: Any = None) -> GraphRows:
    """Rows for every node and edge of `graph`, with the policy's derived facts (default policy if None)."""
    from queries.paths import PathEngine  # the stores read the engine's judgement, never re-implement it
    from queries.policy import load_policy

    policy = policy or load_policy()
    engine = PathEngine(graph, policy)
    rows = GraphRows()
    by_label: dict[str, list[dict[str, Any]]] = {label: [] for label in NODE_LABELS}
    for node_id, row in _node_facts(engine, policy):
        label = str(row["family"])
        by_label[label].append(row)
        rows.family_of[node_id] = label
    for label, label_rows in by_label.items():
        rows.nodes[label], rows.node_columns[label] = _typed(label_rows, NODE_COLUMNS)
    by_type: dict[str, list[dict[str, Any]]] = {rel: [] for rel in REL_TYPES}
    for u_id, v_id, data in [*graph.edges(data=True), *engine.derived_access]:
        by_type[str(data["kind"])].append(edge_facts(engine, u_id, v_id, data))
    for rel, rel_rows in by_type.items():
        rows.edges[rel], rows.edge_columns[rel] = _typed(rel_rows, EDGE_COLUMNS)
    return rows
