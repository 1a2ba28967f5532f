"""GraphML for Gephi and yEd: every node and edge with its properties; lists joined with '; '."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx

from graph.stores.rows import GraphRows


def _attributes(row: dict[str, Any], skip: tuple[str, ...] = ()) -> dict[str, Any]:
    attributes = {}
    for key, value in row.items():
        if key in skip or value is None:
            continue
        attributes[key] = "; ".join(str(v) for v in value) if isinstance(value, list) else value
    return attributes


def to_graphml_graph(rows: GraphRows) -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph()
    for records in rows.nodes.values():
        for row in records:
            graph.add_node(row["id"], **{**_attributes(row, ("id",)), "label": row["name"]})
    for rel_type, records in rows.edges.items():
        for row in records:
            graph.add_edge(row["source"], row["target"], key=f"{rel_type}|{row['via']}",
                           **_attributes(row, ("source", "target")))
    return graph


def write_graphml(rows: GraphRows, path: Path) -> Path:
    nx.write_graphml(to_graphml_graph(rows), path, named_key_ids=True)
    return path
