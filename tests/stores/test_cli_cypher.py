"""`crosspath cypher`, `crosspath neo4j` and their errors, as a user meets them."""

from __future__ import annotations

import csv
import io
import json

from click.testing import CliRunner

from crosspath.cli import main

DANA = "entra:a1000000-0000-4000-8000-000000000001"


def invoke(*args: str, stdin: str | None = None, env: dict | None = None):
    return CliRunner().invoke(main, list(args), input=stdin, env=env)


def test_adhoc_query_as_json_csv_and_table(snapshot):
    query = "MATCH (u:Identity {id: $id})-[:MEMBER_OF]->(g:Identity) RETURN g.name AS `group` ORDER BY `group`"
    as_json = invoke("cypher", query, "--snapshot", str(snapshot), "-p", f"id={DANA}", "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    groups = [row["group"] for row in json.loads(as_json.output)]
    assert "AWS-Prod-Deployers" in groups and groups == sorted(groups)
    as_csv = invoke("cypher", query, "--snapshot", str(snapshot), "-p", f"id={DANA}", "--format", "csv")
    header, *rows = csv.reader(io.StringIO(as_csv.output))
    assert header == ["group"] and [row[0] for row in rows] == groups
    table = invoke("cypher", query, "--snapshot", str(snapshot), "-p", f"id={DANA}")
    assert "AWS-Prod-Deployers" in table.output and f"{len(groups)} row(s)" in table.output


def test_library_query_with_parameters(snapshot):
    result = invoke("cypher", "-q", "who_can_write", "-p", "resource=aws:arn:aws:s3:::lumen-prod-invoices",
                    "--snapshot", str(snapshot), "--format", "json")
    assert result.exit_code == 0, result.output
    assert {row["entry"] for row in json.loads(result.output)} >= {DANA}
    missing = invoke("cypher", "-q", "who_can_write", "--snapshot", str(snapshot))
    assert missing.exit_code == 1 and "needs parameter 'resource'" in missing.output
    unknown = invoke("cypher", "-q", "no_such_query", "--snapshot", str(snapshot))
    assert unknown.exit_code == 2 and "privileged_write_no_mfa" in unknown.output


def test_list_shows_the_library():
    result = invoke("cypher", "--list")
    assert result.exit_code == 0
    assert "privileged_write_no_mfa" in result.output and "who_can_write  (resource)" in result.output


def test_writing_cypher_is_refused_with_exit_code_1(snapshot):
    result = invoke("cypher", "MATCH (n:Identity) SET n.mfa = true", "--snapshot", str(snapshot))
    assert result.exit_code == 1 and "read-only: SET is refused" in result.output


def test_query_from_standard_input(snapshot):
    result = invoke("cypher", "--snapshot", str(snapshot), "--format", "json",
                    stdin="MATCH (c:Credential) WHERE c.kind = 'access_key' RETURN count(*) AS keys\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["keys"] >= 3


def test_missing_snapshot_says_how_to_make_one(tmp_path):
    result = invoke("cypher", "RETURN 1", "--snapshot", str(tmp_path / "none.json.gz"))
    assert result.exit_code == 1 and "crosspath scan" in result.output


def test_neo4j_push_needs_a_uri_and_never_prints_the_password(snapshot):
    env = {"NEO4J_URI": None, "NEO4J_PASSWORD": "pa55-do-not-show"}
    no_uri = invoke("neo4j", "push", "--snapshot", str(snapshot), env=env)
    assert no_uri.exit_code == 1 and "NEO4J_URI" in no_uri.output
    env["NEO4J_URI"] = "bolt://127.0.0.1:9"  # nothing listens there
    down = invoke("neo4j", "push", "--snapshot", str(snapshot), "--retry-seconds", "0", "--quiet", env=env)
    assert down.exit_code == 1 and "Neo4j at bolt://127.0.0.1:9" in down.output
    assert "pa55-do-not-show" not in down.output
    read = invoke("cypher", "RETURN 1", "--store", "neo4j", env=env)
    assert read.exit_code == 1 and "pa55-do-not-show" not in read.output


def test_neo4j_export_csv_command(snapshot, tmp_path):
    result = invoke("neo4j", "export-csv", str(tmp_path / "csv"), "--snapshot", str(snapshot))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "csv" / "import.sh").is_file() and (tmp_path / "csv" / "nodes-Identity.csv").is_file()


def test_the_shell_reads_multi_line_queries_until_a_semicolon(sample, snapshot, monkeypatch, capsys, tmp_path):
    from crosspath import cli_cypher

    people = sum(1 for _, family in sample.build.graph.nodes(data="family") if family == "Person")
    assert people > 1

    lines = iter(["MATCH (p:Person)", "RETURN count(*) AS people;", "MATCH (n) SET n.x = 1;", ":quit"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    monkeypatch.setattr(cli_cypher, "HISTORY_FILE", tmp_path / "history")
    cli_cypher._shell("embedded", snapshot, {}, "json", None)
    out = capsys.readouterr()
    assert json.loads(out.out.strip()) == [{"people": people}]
    assert "read-only" in out.err


def test_a_policy_changes_the_derived_facts(snapshot, tmp_path):
    lenient = tmp_path / "lenient.yaml"
    lenient.write_text("rules:\n  max_key_age: {max_age_days: 1000}\n")
    query = "MATCH (c:Credential {id: 'aws:access-key/AKIA5LUMENETLRUNNER1'}) RETURN c.entry_long_lived_nhi AS gap"
    default = invoke("cypher", query, "--snapshot", str(snapshot), "--format", "json")
    relaxed = invoke("cypher", query, "--snapshot", str(snapshot), "--policy", str(lenient), "--format", "json")
    assert json.loads(default.output) == [{"gap": True}]  # 200 days old > 90
    assert json.loads(relaxed.output) == [{"gap": False}], relaxed.output
