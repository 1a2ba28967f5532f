"""The embedded LadybugDB store: load, query, read-only refusal, reuse and rebuild from disk."""

from __future__ import annotations

import json
import shutil
from collections import Counter

import pytest

from graph.snapshot import read_snapshot, write_snapshot
from graph.stores import CypherError, ReadOnlyError, embedded, run_read_query
from graph.stores.embedded import close_all, open_store, store_file
from graph.stores.readonly import refuse_writes
from queries.policy import load_policy


def test_every_node_and_edge_of_the_snapshot_is_loaded(sample, snapshot, engine):
    graph = sample.build.graph
    families = Counter(data["family"] for _, data in graph.nodes(data=True))
    kinds = Counter(data["kind"] for _, _, data in graph.edges(data=True))
    labels = run_read_query(snapshot, "MATCH (n) RETURN label(n) AS label, count(*) AS n")
    rels = run_read_query(snapshot, "MATCH ()-[r]->() WHERE r.derived IS NULL OR NOT r.derived "
                                    "RETURN label(r) AS type, count(*) AS n")
    assert dict(map(tuple, labels.rows)) == dict(families)
    assert dict(map(tuple, rels.rows)) == dict(kinds)
    # plus the HAS_PERMISSION edges the engine derives (admin over a scope one can grant roles on, composition)
    derived = run_read_query(snapshot, "MATCH ()-[r:HAS_PERMISSION]->() WHERE r.derived RETURN count(*)")
    assert derived.rows == [[len(engine.derived_access)]] and engine.derived_access


def test_properties_and_derived_facts_are_queryable(snapshot):
    result = run_read_query(
        snapshot,
        "MATCH (c:Credential {id: $id})-[a:AUTHENTICATES]->(i:Identity) "
        "RETURN c.age_days AS age, c.long_lived AS long_lived, c.entry_long_lived_nhi AS gap, a.mfa AS mfa, "
        "i.name AS name, i.human AS human",
        {"id": "aws:access-key/AKIA5LUMENCIDEPLOY01"},
    )
    assert result.columns == ["age", "long_lived", "gap", "mfa", "name", "human"]
    assert result.rows == [[599, True, True, False, "svc-ci-deployer", False]]
    prod = run_read_query(snapshot, "MATCH (r:Resource {name: 'lumen-dev-scratch'}) RETURN r.environment")
    assert prod.rows == [["nonprod"]]


def test_nodes_relationships_and_paths_come_back_as_json(snapshot):
    result = run_read_query(
        snapshot,
        "MATCH p = (u:Identity {id: 'entra:a1000000-0000-4000-8000-000000000001'})-[m:MEMBER_OF]->(g:Identity) "
        "RETURN u, m, p ORDER BY g.id LIMIT 1",
    )
    node, rel, path = result.rows[0]
    assert node["_label"] == "Identity" and node["name"] == "Dana Ruiz" and "_ID" not in node
    assert rel["_type"] == "MEMBER_OF" and rel["via"]
    assert [n["_label"] for n in path["nodes"]] == ["Identity", "Identity"]
    assert [r["_type"] for r in path["relationships"]] == ["MEMBER_OF"]
    json.dumps(result.rows)


@pytest.mark.parametrize(
    "query",
    [
        "CREATE (:Identity {id: 'x'})",
        "MATCH (n:Identity) SET n.name = 'x'",
        "MATCH (n) DETACH DELETE n",
        "MATCH (n:Identity) WITH n MERGE (m:Identity {id: n.id})",
        "MATCH (n:Identity) REMOVE n.name",
        "DROP TABLE Identity",
        "LOAD CSV FROM 'file:///etc/passwd' AS line RETURN line",
        "COPY Identity FROM 'x.csv'",
        "CALL apoc.create.node(['X'], {})",
        "match (n) delete n",
    ],
)
def test_writing_queries_are_refused_with_a_clear_message(snapshot, query):
    with pytest.raises(ReadOnlyError, match="read-only"):
        run_read_query(snapshot, query)


def test_write_words_inside_strings_and_names_are_not_writes(snapshot):
    refuse_writes("MATCH (n) WHERE n.name = 'CREATE DROP' RETURN n.created, n.`set` // DELETE")
    refuse_writes("CALL show_tables() RETURN *")
    result = run_read_query(snapshot, "MATCH (n:Identity) WHERE n.name CONTAINS 'DELETE' RETURN count(*)")
    assert result.rows == [[0]]


def test_the_database_itself_is_read_only_behind_the_keyword_check(snapshot):
    store = open_store(snapshot)
    connection = embedded._ladybug().Connection(store.database)
    with pytest.raises(RuntimeError):
        connection.execute("CREATE (:Identity {id: 'sneaked-in'})")
    assert run_read_query(snapshot, "MATCH (n {id: 'sneaked-in'}) RETURN n").rows == []


def test_bad_queries_raise_cypher_errors_that_say_what_is_wrong(snapshot, tmp_path):
    with pytest.raises(CypherError, match="(?i)parser"):
        run_read_query(snapshot, "MATCH (n RETURN n")
    with pytest.raises(CypherError, match="SHORTEST"):
        run_read_query(snapshot, "MATCH p = shortestPath((a)-[*]->(b)) RETURN p")
    with pytest.raises(CypherError, match="no snapshot"):
        run_read_query(tmp_path / "missing.json.gz", "MATCH (n) RETURN n")


def test_the_store_persists_next_to_the_snapshot_and_is_reused(snapshot, monkeypatch):
    path = store_file(snapshot, load_policy())
    run_read_query(snapshot, "RETURN 1")
    assert path.is_file() and path.parent.name == snapshot.name + ".lbug"
    close_all()

    def no_rebuild(*args, **kwargs):
        raise AssertionError("an unchanged snapshot must reuse its database file")

    monkeypatch.setattr(embedded, "build_store", no_rebuild)
    result = run_read_query(snapshot, "MATCH (n:Identity) RETURN count(*)")
    assert result.rows[0][0] > 0


def test_a_changed_snapshot_gets_a_new_database_and_the_old_one_goes(snapshot, tmp_path):
    copy = tmp_path / "snapshot.arrow"
    shutil.copyfile(snapshot, copy)
    first = store_file(copy, load_policy())
    run_read_query(copy, "RETURN 1")
    assert first.is_file()
    graph, metadata = read_snapshot(snapshot)
    graph.remove_node("entra:a1000000-0000-4000-8000-000000000001")
    write_snapshot(copy, graph, metadata)
    second = store_file(copy, load_policy())
    assert second != first
    result = run_read_query(copy, "MATCH (n {id: 'entra:a1000000-0000-4000-8000-000000000001'}) RETURN n")
    assert result.rows == []
    assert second.is_file() and not first.exists()


def test_a_query_past_its_time_limit_is_stopped_with_advice(snapshot):
    slow = ("MATCH p = (a)-[*1..12]->(b) WITH count(*) AS n MATCH q = (c)-[*1..12]->(d) "
            "RETURN n, count(*)")
    with pytest.raises(CypherError, match="longer than 0.1 s"):
        run_read_query(snapshot, slow, timeout_s=0.1)


def test_limit_truncates_and_says_so(snapshot):
    result = run_read_query(snapshot, "MATCH (n:Identity) RETURN n.id", limit=5)
    assert len(result.rows) == 5 and result.truncated
