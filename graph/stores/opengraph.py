"""BloodHound CE OpenGraph JSON: the graph as generic nodes and edges BloodHound can ingest.

    {"metadata": {"source_kind": "Crosspath"},
     "graph": {"nodes": [{"id", "kinds": [1-3 strings], "properties": {primitives}}],
               "edges": [{"kind", "start": {"value", "match_by": "id"}, "end": {...}, "properties": {...}}]}}

Kinds are prefixed `CP_` so they never collide with BloodHound's built-in kinds (User, Group, MemberOf):
a node's kinds are its family, its kind and its provider (`CP_Identity`, `CP_User`, `CP_AWS`); an edge's
kind is its type (`CP_MEMBER_OF`). Properties keep only primitives and homogeneous arrays; nulls are left out.
"""

from __future__ import annotations

import re
from typing import Any

from graph.stores.rows import GraphRows

PREFIX = "CP_"
SOURCE_KIND = "Crosspath"
_WORD = re.compile(r"[A-Za-z0-9]+")


def _pascal(text: str) -> str:
    return "".join(word[:1].upper() + word[1:] for word in _WORD.findall(text)) or "Unknown"


def node_kinds(row: dict[str, Any]) -> list[str]:
    kinds = [f"{PREFIX}{row['family']}", f"{PREFIX}{_pascal(str(row['kind']))}",
             f"{PREFIX}{str(row['provider']).upper()}"]
    return list(dict.fromkeys(kinds))[:3]


def _properties(row: dict[str, Any], skip: tuple[str, ...] = ()) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for key, value in row.items():
        if key in skip or value is None:
            continue
        if isinstance(value, list):
            value = [str(item) for item in value if item is not None]
        properties[key] = value
    return properties


def to_opengraph(rows: GraphRows) -> dict[str, Any]:
    nodes = []
    for records in rows.nodes.values():
        for row in sorted(records, key=lambda r: r["id"]):
            properties = _properties(row)
            properties["objectid"] = row["id"]
            nodes.append({"id": row["id"], "kinds": node_kinds(row), "properties": properties})
    edges = []
    for rel_type, records in rows.edges.items():
        for row in sorted(records, key=lambda r: (r["source"], r["target"], r["via"])):
            edges.append({
                "kind": f"{PREFIX}{rel_type}",
                "start": {"value": row["source"], "match_by": "id"},
                "end": {"value": row["target"], "match_by": "id"},
                "properties": _properties(row, ("source", "target")),
            })
    return {"metadata": {"source_kind": SOURCE_KIND}, "graph": {"nodes": nodes, "edges": edges}}
