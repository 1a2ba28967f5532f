"""Neo4j push without a server: the exact statements, batches and parameters, and the idempotency logic.
The same push against a real Neo4j 5 is in test_neo4j_server.py (runs when NEO4J_URI is set)."""

from __future__ import annotations

import csv

import pytest

from graph.stores.errors import CypherError
from graph.stores.neo4j_csv import ARRAY_DELIMITER, export_csv
from graph.stores.neo4j_push import (
    COMMON_LABEL,
    Neo4jSettings,
    cleanup_statements,
    push_plan,
    snapshot_tag,
)
from graph.stores.rows import graph_rows


@pytest.fixture(scope="module")
def rows(sample):
    return graph_rows(sample.build.graph)


def test_constraints_and_indexes_come_first(rows):
    plan = push_plan(rows, "t1", batch_size=50)
    schema = [step for step in plan if step.phase == "schema"]
    assert plan[: len(schema)] == schema
    assert [s.statement for s in schema][:5] == [
        f"CREATE CONSTRAINT crosspath_{label.lower()}_id IF NOT EXISTS FOR (n:{label}) REQUIRE n.id IS UNIQUE"
        for label in (COMMON_LABEL, "Identity", "Credential", "Resource", "Person")
    ]
    assert "ON (n.crosspath_snapshot)" in schema[-1].statement


def test_nodes_are_batched_with_exact_parameters(sample, rows):
    plan = push_plan(rows, "t1", batch_size=50)
    identity_steps = [s for s in plan if s.phase == "nodes" and ":Identity," in s.statement]
    identities = sorted(n for n, d in sample.build.graph.nodes(data=True) if d["family"] == "Identity")
    assert len(identities) > 100  # three batches or more
    assert [len(s.parameters["rows"]) for s in identity_steps] == [
        min(50, len(identities) - start) for start in range(0, len(identities), 50)
    ]
    assert [row["id"] for s in identity_steps for row in s.parameters["rows"]] == identities
    assert identity_steps[0].statement == (
        "UNWIND $rows AS row MERGE (n:CrosspathNode {id: row.id}) SET n = row, n:Identity, n.crosspath_snapshot = $tag"
    )
    dana = next(r for s in identity_steps for r in s.parameters["rows"]
                if r["id"] == "entra:a1000000-0000-4000-8000-000000000001")
    assert dana["name"] == "Dana Ruiz" and dana["mfa"] is False and dana["entry_no_mfa"] is True
    assert all(value is not None for value in dana.values())  # Neo4j keeps no nulls
    assert all(s.parameters["tag"] == "t1" for s in identity_steps)


def test_relationships_merge_on_source_target_type_and_via(sample, rows, engine):
    plan = push_plan(rows, "t1", batch_size=1000)
    rel_steps = [s for s in plan if s.phase == "relationships"]
    # the snapshot's edges and the HAS_PERMISSION edges the engine derives
    assert sum(s.rows for s in rel_steps) == sample.build.graph.number_of_edges() + len(engine.derived_access)
    member = next(s for s in rel_steps if "[r:MEMBER_OF" in s.statement)
    assert member.statement == (
        "UNWIND $rows AS row MATCH (a:Identity {id: row.source}) MATCH (b:Identity {id: row.target}) "
        "MERGE (a)-[r:MEMBER_OF {via: row.via}]->(b) SET r = row.properties, r.crosspath_snapshot = $tag"
    )
    row = member.parameters["rows"][0]
    assert set(row) == {"source", "target", "via", "properties"}
    assert row["properties"]["via"] == row["via"] and "source" not in row["properties"]
    auth = next(s for s in rel_steps if "[r:AUTHENTICATES" in s.statement)
    assert "MATCH (a:Credential {id: row.source}) MATCH (b:Identity {id: row.target})" in auth.statement


def test_the_same_snapshot_makes_the_same_plan_so_a_second_push_changes_nothing(sample, rows):
    tag = snapshot_tag(sample.snapshot)
    assert tag == snapshot_tag(sample.snapshot) and len(tag) == 16
    again = graph_rows(sample.build.graph)
    assert push_plan(rows, tag) == push_plan(again, tag)
    # Clean-up deletes only what carries another tag: nothing after pushing the same snapshot again.
    for statement in cleanup_statements():
        assert "crosspath_snapshot <> $tag" in statement and "LIMIT $batch" in statement


def test_settings_come_from_options_then_environment_and_hide_the_password(monkeypatch):
    monkeypatch.setenv("NEO4J_URI", "neo4j://db:7687")
    monkeypatch.setenv("NEO4J_USERNAME", "reader")
    monkeypatch.setenv("NEO4J_PASSWORD", "s3cret-value")
    settings = Neo4jSettings.from_env(database="graph")
    assert (settings.uri, settings.user, settings.password, settings.database) == (
        "neo4j://db:7687", "reader", "s3cret-value", "graph")
    assert "s3cret-value" not in repr(settings) and "s3cret-value" not in str(settings)
    assert Neo4jSettings.from_env(uri="bolt://other:7687").uri == "bolt://other:7687"
    monkeypatch.delenv("NEO4J_URI")
    with pytest.raises(CypherError, match="NEO4J_URI"):
        Neo4jSettings.from_env()


def test_batch_size_must_be_positive(rows):
    with pytest.raises(ValueError):
        push_plan(rows, "t", batch_size=0)


def test_neo4j_admin_csv_files_have_typed_headers_and_every_row(sample, rows, tmp_path):
    files = export_csv(rows, tmp_path, "t1")
    names = {path.name for path in files}
    assert {"nodes-Identity.csv", "relationships-MEMBER_OF.csv", "import.sh"} <= names
    with (tmp_path / "nodes-Credential.csv").open(newline="") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames
        records = list(reader)
    assert header[:2] == ["id:ID", ":LABEL"] and "age_days:long" in header and "expired:boolean" in header
    assert "tags:string[]" in header and header[-1] == "crosspath_snapshot"
    families = [d["family"] for _, d in sample.build.graph.nodes(data=True)]
    assert len(records) == families.count("Credential")
    key = next(r for r in records if r["id:ID"] == "aws:access-key/AKIA5LUMENCIDEPLOY01")
    assert key[":LABEL"] == "Credential;CrosspathNode" and key["age_days:long"] == "599"
    with (tmp_path / "relationships-HAS_PERMISSION.csv").open(newline="") as handle:
        perms = list(csv.DictReader(handle))
    assert {r[":TYPE"] for r in perms} == {"HAS_PERMISSION"}
    multi = next(r for r in perms if ARRAY_DELIMITER in r["actions:string[]"])
    assert len(multi["actions:string[]"].split(ARRAY_DELIMITER)) > 1
    script = (tmp_path / "import.sh").read_text()
    assert "neo4j-admin database import full --array-delimiter=U+001F" in script
    assert "--nodes=nodes-Identity.csv" in script and "--relationships=relationships-MEMBER_OF.csv" in script
