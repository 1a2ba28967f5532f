"""Query results as plain, JSON-serialisable columns and rows, whichever store answered."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from dataclasses import dataclass, field
from typing import Any


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[list[Any]]
    elapsed_ms: float = 0.0
    truncated: bool = False  # more rows existed than the caller's limit
    notes: list[str] = field(default_factory=list)

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def _properties(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: plain(v) for k, v in raw.items() if not k.startswith("_") and v is not None}


def plain(value: Any) -> Any:
    """A store's value as JSON: nodes {"_label", props}, relationships {"_type", props},
    paths {"nodes": [...], "relationships": [...]}, times as ISO 8601 strings."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, dict):
        if "_NODES" in value and "_RELS" in value:  # LadybugDB path
            return {"nodes": [plain(n) for n in value["_NODES"]], "relationships": [plain(r) for r in value["_RELS"]]}
        if "_SRC" in value and "_LABEL" in value:  # LadybugDB relationship
            return {"_type": value["_LABEL"], **_properties(value)}
        if "_LABEL" in value and "_ID" in value:  # LadybugDB node
            return {"_label": value["_LABEL"], **_properties(value)}
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(v) for v in value]
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return _neo4j_plain(value)


def _neo4j_plain(value: Any) -> Any:
    try:
        from neo4j.graph import Node, Path, Relationship
    except ImportError:  # pragma: no cover - neo4j is a declared dependency
        return str(value)
    if isinstance(value, Node):
        labels = sorted(value.labels)
        return {"_label": labels[0] if labels else "", **_properties(dict(value))}
    if isinstance(value, Relationship):
        return {"_type": value.type, **_properties(dict(value))}
    if isinstance(value, Path):
        return {"nodes": [plain(n) for n in value.nodes], "relationships": [plain(r) for r in value.relationships]}
    if hasattr(value, "iso_format"):  # neo4j.time types
        return value.iso_format()
    return str(value)


def short_text(value: Any) -> str:
    """One cell of a terminal table: nodes as (:Label id), relationships as [:TYPE], paths as chains."""
    if isinstance(value, dict):
        if "nodes" in value and "relationships" in value:
            parts = [short_text(value["nodes"][0])] if value["nodes"] else []
            for rel, node in zip(value["relationships"], value["nodes"][1:], strict=False):
                parts.append(f"-{short_text(rel)}->{short_text(node)}")
            return "".join(parts)
        if "_label" in value:
            return f"(:{value['_label']} {value.get('id', '')})"
        if "_type" in value:
            return f"[:{value['_type']}]"
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(short_text(v) for v in value) + "]"
    return str(value)
