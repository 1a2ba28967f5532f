"""CSV files for `neo4j-admin database import full`: the fast path for very large graphs.

One node file per label and one relationship file per type, headers typed in neo4j-admin's format
(`id:ID`, `:LABEL`, `age_days:long`, `tags:string[]`, `:START_ID`, `:END_ID`, `:TYPE`), arrays joined with
the unit separator U+001F so that no value's own `;` or `,` splits it. `import.sh` holds the exact command.
Every node and relationship carries the snapshot tag, so a later `crosspath neo4j push` of another
snapshot cleans up after it like after any push.
"""

from __future__ import annotations

import csv
import shlex
from pathlib import Path
from typing import Any

from graph.stores.neo4j_push import COMMON_LABEL, TAG
from graph.stores.rows import BOOL, FLOAT, INT, STRINGS, GraphRows

ARRAY_DELIMITER = "\x1f"
_HEADER_TYPES = {INT: "long", FLOAT: "double", BOOL: "boolean", STRINGS: "string[]"}


def _header(name: str, column_type: str) -> str:
    suffix = _HEADER_TYPES.get(column_type)
    return f"{name}:{suffix}" if suffix else name


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ARRAY_DELIMITER.join(str(item) for item in value)
    return value


def import_command(nodes: list[str], relationships: list[str], database: str = "neo4j") -> str:
    parts = ["neo4j-admin", "database", "import", "full", "--array-delimiter=U+001F",
             "--overwrite-destination"]
    parts += [f"--nodes={name}" for name in nodes]
    parts += [f"--relationships={name}" for name in relationships]
    parts.append(database)
    return " ".join(shlex.quote(part) for part in parts)


def export_csv(rows: GraphRows, out_dir: Path, tag: str, database: str = "neo4j") -> list[Path]:
    """Write nodes-<Label>.csv, relationships-<TYPE>.csv and import.sh into `out_dir`; return the files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    node_files, rel_files = [], []
    for label, records in rows.nodes.items():
        if not records:
            continue
        columns = {k: v for k, v in rows.node_columns[label].items() if k != "id"}
        path = out_dir / f"nodes-{label}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id:ID", ":LABEL", *(_header(n, t) for n, t in columns.items()), TAG])
            for record in sorted(records, key=lambda r: r["id"]):
                writer.writerow([record["id"], f"{label};{COMMON_LABEL}",
                                 *(_cell(record.get(n)) for n in columns), tag])
        node_files.append(path.name)
        written.append(path)
    for rel_type, records in rows.edges.items():
        if not records:
            continue
        columns = rows.edge_columns[rel_type]
        path = out_dir / f"relationships-{rel_type}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow([":START_ID", ":END_ID", ":TYPE", *(_header(n, t) for n, t in columns.items()), TAG])
            for record in sorted(records, key=lambda r: (r["source"], r["target"], r["via"])):
                writer.writerow([record["source"], record["target"], rel_type,
                                 *(_cell(record.get(n)) for n in columns), tag])
        rel_files.append(path.name)
        written.append(path)
    script = out_dir / "import.sh"
    script.write_text(
        "#!/bin/sh\n# Run on the Neo4j 5 server with the database stopped; then create the constraints with\n"
        "# `crosspath neo4j push` (or the statements in docs/cypher.md).\nset -e\ncd \"$(dirname \"$0\")\"\n"
        + import_command(node_files, rel_files, database) + "\n"
    )
    script.chmod(0o755)
    written.append(script)
    return written
