"""Neo4j push and read-only queries against a real Neo4j 5 server.

No Neo4j server runs on the project's CI machines, so these tests skip unless NEO4J_URI is set. To run them:

    docker run --rm -d -p 7687:7687 -e NEO4J_AUTH=neo4j/crosspath-test neo4j:5
    NEO4J_URI=neo4j://localhost:7687 NEO4J_PASSWORD=crosspath-test .venv/bin/python -m pytest -q tests/stores

They use the database named by NEO4J_DATABASE (default neo4j) and delete every Crosspath node in it.
"""

from __future__ import annotations

import os

import pytest

from graph.snapshot import read_snapshot, write_snapshot
from graph.stores.errors import ReadOnlyError
from graph.stores.neo4j_push import Neo4jSettings, push, run_neo4j_read_query, snapshot_tag
from graph.stores.rows import graph_rows
from queries.cypher_library import load_library

pytestmark = pytest.mark.skipif(not os.environ.get("NEO4J_URI"), reason="needs a Neo4j 5 server: set NEO4J_URI")


def _state(settings: Neo4jSettings) -> tuple:
    nodes = run_neo4j_read_query(settings, "MATCH (n:CrosspathNode) RETURN n.id AS id, properties(n) AS p "
                                           "ORDER BY id")
    rels = run_neo4j_read_query(settings, "MATCH (a)-[r]->(b) WHERE r.crosspath_snapshot IS NOT NULL "
                                          "RETURN a.id, type(r), r.via, b.id, properties(r) ORDER BY a.id, type(r), r.via, b.id")
    return nodes.rows, rels.rows


def test_push_twice_changes_nothing_then_a_new_snapshot_removes_stale_items(sample, tmp_path):
    settings = Neo4jSettings.from_env()
    rows = graph_rows(sample.build.graph)
    tag = snapshot_tag(sample.snapshot)
    first = push(rows, tag, settings, batch_size=40)
    state = _state(settings)
    assert len(state[0]) == sample.build.graph.number_of_nodes()
    assert len(state[1]) == sample.build.graph.number_of_edges()
    second = push(rows, tag, settings, batch_size=40)
    assert second.deleted == 0 and _state(settings) == state and first.nodes == second.nodes

    graph, metadata = read_snapshot(sample.snapshot)
    graph.remove_node("entra:a1000000-0000-4000-8000-000000000001")
    smaller = tmp_path / "smaller.json.gz"
    write_snapshot(smaller, graph, metadata)
    report = push(graph_rows(graph), snapshot_tag(smaller), settings, batch_size=40)
    assert report.deleted >= 1
    gone = run_neo4j_read_query(settings, "MATCH (n {id: 'entra:a1000000-0000-4000-8000-000000000001'}) RETURN n")
    assert gone.rows == []


def test_library_queries_agree_between_neo4j_and_the_embedded_store(sample):
    from graph.stores import run_read_query

    settings = Neo4jSettings.from_env()
    push(graph_rows(sample.build.graph), snapshot_tag(sample.snapshot), settings)
    library = load_library()
    for name in ("privileged_write_no_mfa", "long_lived_nhi_keys_to_prod_write", "stale_credentials"):
        query = library[name]
        neo = run_neo4j_read_query(settings, query.text("neo4j"), query.bind())
        embedded = run_read_query(sample.snapshot, query.text("lbug"), query.bind())
        assert neo.rows == embedded.rows, name
    shortest = library["shortest_path"]
    params = shortest.bind({"source": "entra:a1000000-0000-4000-8000-000000000001",
                            "target": "aws:arn:aws:s3:::lumen-prod-invoices"})
    assert run_neo4j_read_query(settings, shortest.text("neo4j"), params).rows[0][2] == 3


def test_neo4j_queries_are_read_only(sample):
    settings = Neo4jSettings.from_env()
    with pytest.raises(ReadOnlyError):
        run_neo4j_read_query(settings, "MATCH (n) DETACH DELETE n")
