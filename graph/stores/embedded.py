"""The embedded Cypher store: LadybugDB (the maintained fork of Kùzu), loaded from a snapshot.

No server: the database is one file next to the snapshot, `<snapshot>.lbug/<snapshot>-<policy>.lbug`,
named by digests of the snapshot's bytes and of the policy with this loader's version. A query on an unchanged
snapshot reopens that file (milliseconds); a new snapshot builds a new file (seconds) and removes the
old ones. Queries are checked by `refuse_writes`, then run on the file opened read-only in a child process
with a time and a memory limit (graph.stores.worker).

Schema (docs/cypher.md): one node table per family (Identity, Credential, Resource, Person) and one
relationship table per edge kind, with every column of graph.stores.rows. A version 2 snapshot is
loaded from its Arrow tables a column at a time with the engine's facts (graph.stores.columns); a version 1
snapshot from graph_rows' rows.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

import pyarrow as pa

from graph.stores import worker
from graph.stores.columns import ARROW_TYPES, StoreTables, store_tables
from graph.stores.errors import CypherError
from graph.stores.readonly import refuse_writes
from graph.stores.results import QueryResult
from graph.stores.rows import GraphRows, graph_rows

LOADER_VERSION = 2  # 2: `techniques` and `derived` columns, the engine's derived HAS_PERMISSION edges
STORE_SUFFIX = ".lbug"
DEFAULT_TIMEOUT_S = 60
_lock = threading.Lock()
_open: dict[Path, Any] = {}


def _ladybug() -> Any:
    import real_ladybug

    return real_ladybug


def _quote(name: str) -> str:
    return f"`{name}`"


def _columns_ddl(columns: dict[str, str]) -> str:
    return ", ".join(f"{_quote(name)} {column_type}" for name, column_type in columns.items())


def schema_statements(rows: GraphRows | StoreTables) -> list[str]:
    """CREATE NODE / REL TABLE statements for every label and relationship type."""
    statements = []
    for label, columns in rows.node_columns.items():
        statements.append(f"CREATE NODE TABLE {_quote(label)}({_columns_ddl(columns)}, PRIMARY KEY(`id`))")
    for rel_type, columns in rows.edge_columns.items():
        pairs = ", ".join(f"FROM {_quote(s)} TO {_quote(t)}" for s, t in rows.endpoints(rel_type))
        statements.append(f"CREATE REL TABLE {_quote(rel_type)}({pairs}, {_columns_ddl(columns)})")
    return statements


def _arrow_table(records: list[dict[str, Any]], columns: dict[str, str], lead: tuple[str, ...] = ()) -> pa.Table:
    arrays = {name: pa.array([r[key] for r in records], pa.string()) for name, key in zip(("from", "to"), lead,
                                                                                          strict=False)}
    for name, column_type in columns.items():
        arrays[name] = pa.array([r.get(name) for r in records], ARROW_TYPES[column_type])
    return pa.table(arrays)


def load_rows(connection: Any, rows: GraphRows) -> None:
    """Create the schema and COPY every row of `rows` (the row path: a version 1 snapshot, or one only
    graph_rows reproduces exactly; see graph.stores.columns)."""
    for statement in schema_statements(rows):
        connection.execute(statement)
    for label, records in rows.nodes.items():
        if records:
            frame = _arrow_table(records, rows.node_columns[label])
            connection.execute(f"COPY {_quote(label)} FROM frame")
    for rel_type in rows.edges:
        for (source, target), records in sorted(rows.edges_between(rel_type).items()):
            frame = _arrow_table(records, rows.edge_columns[rel_type], ("source", "target"))  # noqa: F841 - COPY reads it by name
            connection.execute(f"COPY {_quote(rel_type)} FROM frame (from='{source}', to='{target}')")


def load_tables(connection: Any, tables: StoreTables) -> None:
    """Create the schema and COPY the column-built tables (graph.stores.columns)."""
    for statement in schema_statements(tables):
        connection.execute(statement)
    for label, frame in tables.nodes.items():
        if frame.num_rows:
            connection.execute(f"COPY {_quote(label)} FROM frame")
    for rel_type, pairs in tables.edges.items():
        for (source, target), frame in pairs.items():
            if frame.num_rows:
                connection.execute(f"COPY {_quote(rel_type)} FROM frame (from='{source}', to='{target}')")


def store_data(snapshot_path: Path, policy: Any) -> StoreTables | GraphRows:
    """What the store is loaded with: for a version 2 snapshot its tables, taken column-wise from the
    snapshot's Arrow tables with the engine's facts (graph.stores.columns); for a version 1 snapshot (or
    one the column path declines) the rows of graph_rows."""
    from graph.snapshot import SnapshotError, gc_paused, is_arrow, read_snapshot, read_tables, reading_tables

    try:
        with gc_paused():  # as every reader of a snapshot derives its facts
            with reading_tables(snapshot_path):
                tables = store_tables(*read_tables(snapshot_path)[:2], policy) if is_arrow(snapshot_path) else None
            return tables if tables is not None else graph_rows(read_snapshot(snapshot_path)[0], policy)
    except SnapshotError as exc:
        raise CypherError(str(exc)) from exc


def load(connection: Any, data: StoreTables | GraphRows) -> None:
    if isinstance(data, StoreTables):
        load_tables(connection, data)
    else:
        load_rows(connection, data)


_digests: dict[tuple, str] = {}


def snapshot_digest(snapshot_path: Path) -> str:
    """sha256 of the snapshot's bytes; cached per file identity so that a console firing many queries
    does not re-read a large snapshot each time."""
    stat = snapshot_path.stat()
    key = (str(snapshot_path.resolve()), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    if key not in _digests:
        digest = hashlib.sha256()
        with snapshot_path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _digests[key] = digest.hexdigest()[:20]
    return _digests[key]


def policy_digest(policy: Any) -> str:
    text = json.dumps({"loader": LOADER_VERSION, "policy": policy.raw}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def store_file(snapshot_path: Path, policy: Any) -> Path:
    """`<snapshot>.lbug/<snapshot digest>-<policy digest>.lbug`: one database per snapshot and policy."""
    folder = snapshot_path.parent / f"{snapshot_path.name}{STORE_SUFFIX}"
    return folder / f"{snapshot_digest(snapshot_path)}-{policy_digest(policy)}{STORE_SUFFIX}"


def build_store(snapshot_path: Path, target: Path, policy: Any) -> Path:
    """Load the snapshot into a new database file at `target` (written aside, then renamed)."""
    data = store_data(snapshot_path, policy)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    _remove_database(temp)
    lb = _ladybug()
    database = lb.Database(str(temp))
    try:
        connection = lb.Connection(database)
        load(connection, data)
        del data
        connection.close()
        database.close()
    except BaseException as exc:
        database.close()
        _remove_database(temp)
        if isinstance(exc, RuntimeError):
            raise CypherError(f"{snapshot_path}: cannot load into the embedded store: {exc}") from exc
        raise
    os.replace(temp, target)
    policy_part = target.name.rsplit("-", 1)[-1]
    for old in target.parent.glob(f"*-{policy_part}"):  # the same policy on an older snapshot
        if old != target:
            _remove_database(old)
    return target


def _remove_database(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".wal"), path.with_name(path.name + ".lock")):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()


class EmbeddedStore:
    """A read-only LadybugDB database file. Queries run in a child process each (graph.stores.worker), so
    that a crash of the engine, a runaway query or one past its memory limit cannot take this process down."""

    def __init__(self, path: Path):
        self.path = path
        self._database: Any = None

    @property
    def database(self) -> Any:
        """The database opened read-only in this process, for tools and tests; queries never use it."""
        if self._database is None:
            self._database = _ladybug().Database(str(self.path), read_only=True)
        return self._database

    def close(self) -> None:
        if self._database is not None:
            self._database.close()
            self._database = None

    def query(self, query: str, parameters: dict[str, Any] | None = None, limit: int | None = None,
              timeout_s: float = DEFAULT_TIMEOUT_S, memory_limit: int | str | None = None) -> QueryResult:
        """Check `query` (graph.stores.readonly), then run it in a child process stopped after `timeout_s`
        and capped at `memory_limit` bytes of address space (None: $CROSSPATH_CYPHER_MEMORY_LIMIT or 4 GiB;
        0: no cap)."""
        statement = refuse_writes(query)
        return worker.run(self.path, statement, parameters, limit, timeout_s, worker.memory_limit(memory_limit))


def open_store(snapshot_path: Path, policy: Any = None, rebuild: bool = False) -> EmbeddedStore:
    """The embedded store for a snapshot, built on first use and reused while the snapshot is unchanged."""
    from queries.policy import load_policy

    policy = policy or load_policy()
    snapshot_path = Path(snapshot_path)
    if not snapshot_path.is_file():
        raise CypherError(f"{snapshot_path}: no snapshot here; run `crosspath scan DIR --out OUT` first")
    with _lock:
        path = store_file(snapshot_path, policy).resolve()
        if path in _open and not rebuild:
            return _open[path]
        if rebuild or not path.is_file():
            stale = [p for p in _open if p.parent == path.parent]
            for p in stale:
                _open.pop(p).close()
            build_store(snapshot_path, path, policy)
        store = EmbeddedStore(path)
        _open[path] = store
        return store


def close_all() -> None:
    with _lock:
        while _open:
            _open.popitem()[1].close()
