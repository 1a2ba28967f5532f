"""The embedded store built from the snapshot's columns (graph.stores.columns) is the store the row path
(graph_rows + load_rows, which still loads version 1 snapshots) builds: same tables, columns, types and values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.run import AS_OF
from bench.synthetic_org import generate
from graph.builder import build_graph
from graph.snapshot import read_snapshot, read_tables, write_snapshot
from graph.stores.columns import StoreTables, store_tables
from graph.stores.embedded import build_store, load_rows, load_tables, store_data
from graph.stores.rows import GraphRows, graph_rows
from queries.policy import load_policy

real_ladybug = pytest.importorskip("real_ladybug")


def _database(folder: Path, load: Any) -> Any:
    database = real_ladybug.Database(str(folder / "store.lbug"))
    connection = real_ladybug.Connection(database)
    load(connection)
    return database, connection


def _rows(connection: Any, query: str) -> list[Any]:
    result = connection.execute(query)
    rows = []
    while result.has_next():
        rows.append(result.get_next())
    return rows


def _public(value: Any) -> Any:
    """A node or relationship without the store's internal ids (which number rows in load order)."""
    return {key: item for key, item in value.items() if not key.startswith("_")} if isinstance(value, dict) else value


def _contents(connection: Any) -> dict[str, Any]:
    tables = _rows(connection, "CALL show_tables() RETURN name, type ORDER BY name")
    found: dict[str, Any] = {"tables": tables}
    for name, kind in tables:
        found[f"{name} columns"] = _rows(connection, f"CALL table_info('{name}') RETURN *")
        if kind == "NODE":
            found[name] = _rows(connection, f"MATCH (n:`{name}`) RETURN n ORDER BY n.id")
        else:
            rows = _rows(connection, f"MATCH (a)-[r:`{name}`]->(b) RETURN a.id, b.id, r")
            found[name] = sorted(json.dumps([a, b, _public(r)], sort_keys=True, default=str) for a, b, r in rows)
        if kind == "NODE":
            found[name] = [_public(row[0]) for row in found[name]]
    return found


def _odd(graph: Any) -> Any:
    """Attributes only the row path's Python rules type: rare ones (kept in `_extra`), mixed types, names
    that are not column names, a base column of another type, lists of numbers."""
    nodes = sorted(graph.nodes)
    for number, node in enumerate(nodes[:7]):
        graph.nodes[node]["odd-name"] = number
        graph.nodes[node]["mixed"] = "text" if number % 2 else number
    graph.nodes[next(node for node in nodes if graph.nodes[node]["family"] == "Identity")]["age_days"] = "old"
    graph.nodes[nodes[2]]["numbers"] = [1, 2]
    graph.nodes[nodes[3]]["rare"] = 1.5
    graph.nodes[nodes[4]]["rare"] = 2
    graph.nodes[nodes[5]]["entry_mfa"] = "no"
    for number, (_, _, data) in enumerate(list(graph.edges(data=True))[:5]):
        data["edge-note"] = [number, "x"] if number % 2 else "note"
        data["assumed"] = number % 2 == 0
    return graph


@pytest.fixture(scope="module")
def organisations(sample, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("columns")
    found = {}
    graphs = {"sample": sample.build.graph, "synthetic": build_graph(generate(300), AS_OF).graph,
              "odd": _odd(build_graph(generate(100), AS_OF).graph)}
    for name, graph in graphs.items():
        found[name] = write_snapshot(folder / f"{name}.arrow", graph, {"organisation": name})
    return found


@pytest.mark.parametrize("name", ["sample", "synthetic", "odd"])
def test_the_column_path_builds_the_store_the_row_path_builds(organisations, name, tmp_path):
    snapshot = organisations[name]
    policy = load_policy()
    assert isinstance(store_data(snapshot, policy), StoreTables)  # not the fallback
    graph, _ = read_snapshot(snapshot)
    nodes, edges, _ = read_tables(snapshot)
    (tmp_path / "rows").mkdir()
    (tmp_path / "columns").mkdir()
    _, by_rows = _database(tmp_path / "rows", lambda c: load_rows(c, graph_rows(graph, policy)))
    _, by_columns = _database(tmp_path / "columns", lambda c: load_tables(c, store_tables(nodes, edges, policy)))
    expected, got = _contents(by_rows), _contents(by_columns)
    assert got.keys() == expected.keys()
    for table in expected:
        assert got[table] == expected[table], table
    assert sum(len(expected[table]) for table, kind in expected["tables"]) > 100


def test_a_version_1_snapshot_still_builds_a_store(organisations, tmp_path):
    graph, metadata = read_snapshot(organisations["synthetic"])
    old = write_snapshot(tmp_path / "old.json.gz", graph, metadata)
    assert isinstance(store_data(old, load_policy()), GraphRows)
    built = build_store(old, tmp_path / "old.lbug", load_policy())
    database = real_ladybug.Database(str(built), read_only=True)
    count = _rows(real_ladybug.Connection(database), "MATCH (n) RETURN count(*)")
    assert count == [[graph.number_of_nodes()]]
