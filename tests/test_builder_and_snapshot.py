"""Records validation, merging, alias joins, Person correlation, and snapshot files."""

from __future__ import annotations

import gzip
import json
import os

import pytest

from graph.builder import build_graph
from graph.coverage import CollectResult
from graph.records import edge, node
from graph.snapshot import SnapshotError, read_snapshot, write_snapshot
from tests.graph_helpers import AS_OF


def _result(source: str, nodes: list, edges: list, file: str = "export.json") -> CollectResult:
    result = CollectResult(source)
    result.add(file, nodes, edges)
    return result


def test_bad_record_is_rejected_with_source_file_record_and_field_while_others_load():
    good = node("aws:user/a", "Identity", "User", "aws", "a", "", human=True)
    bad = node("aws:user/b", "Identity", "Wizard", "aws", "b", "", human=True)
    no_human = {"id": "aws:role/r", "family": "Identity", "kind": "Role", "provider": "aws", "name": "r", "scope": ""}
    build = build_graph([_result("aws", [good, bad, no_human], [], "111/authorization-details.json")], AS_OF)
    assert "aws:user/a" in build.graph
    assert "aws:user/b" not in build.graph
    messages = [str(error) for error in build.errors]
    assert messages[0].startswith("aws: 111/authorization-details.json: record node #1 (aws:user/b): field 'kind'")
    assert "field 'human'" in messages[1] and "fix:" in messages[1]
    assert build.coverage["aws"].status == "partial"


def test_edge_without_via_is_rejected_because_every_edge_must_be_explainable():
    records = [node("aws:user/a", "Identity", "User", "aws", "a", "", human=True),
               node("aws:bucket/x", "Resource", "bucket", "aws", "x", "")]
    broken = {"source": "aws:user/a", "target": "aws:bucket/x", "kind": "HAS_PERMISSION", "level": "write"}
    build = build_graph([_result("aws", records, [broken])], AS_OF)
    assert build.graph.number_of_edges() == 0
    assert "field 'via'" in str(build.errors[0])


def test_duplicate_nodes_merge_deterministically_and_fill_unknowns():
    first = node("gcp:user/p@x.com", "Identity", "User", "gcp", "p", "", human=True, mfa=None, labels=["a=1"])
    second = node("gcp:user/p@x.com", "Identity", "User", "gcp", "p", "", human=True, mfa=True, labels=["b=2"])
    one = build_graph([_result("gcp", [first, second], [])], AS_OF).graph.nodes["gcp:user/p@x.com"]
    two = build_graph([_result("gcp", [dict(second), dict(first)], [])], AS_OF).graph.nodes["gcp:user/p@x.com"]
    assert one["mfa"] is True and one["labels"] == ["a=1", "b=2"]
    assert one["labels"] == two["labels"]


def test_cross_stack_edge_joins_through_an_alias_and_unresolved_edges_are_noted():
    login = node("postgres:orders/role/app", "Identity", "ServiceIdentity", "postgres", "app", "postgres:orders",
                 human=False, aliases=["aws:arn:aws:rds-db:us-east-1:1:dbuser:db-X/app"])
    role = node("aws:arn:aws:iam::1:role/etl", "Identity", "Role", "aws", "etl", "", human=False)
    federation = edge("aws:arn:aws:iam::1:role/etl", "aws:arn:aws:rds-db:us-east-1:1:dbuser:db-X/app",
                      "FEDERATES_TO", "rds-db:connect")
    dangling = edge("aws:arn:aws:iam::1:role/etl", "gcp:serviceAccount/nobody", "CAN_IMPERSONATE", "x")
    build = build_graph([_result("aws", [role], [federation, dangling]), _result("databases", [login], [])], AS_OF)
    assert build.graph.has_edge("aws:arn:aws:iam::1:role/etl", "postgres:orders/role/app")
    assert build.coverage["aws"].counts["skipped.unresolved_edges"] == 1
    assert "gcp:serviceAccount/nobody" in build.coverage["aws"].notes[0]


def test_humans_correlate_into_one_person_by_normalised_email():
    entra = node("entra:u1", "Identity", "User", "entra", "Bob", "", human=True, email="Bob.Martin@Lumen.com")
    aws = node("aws:user/bob", "Identity", "User", "aws", "bob", "", human=True, email="bob.martin+aws@lumen.com")
    robot = node("aws:user/svc", "Identity", "ServiceIdentity", "aws", "svc", "", human=False, email="x@lumen.com")
    graph = build_graph([_result("entra", [entra], []), _result("aws", [aws, robot], [])], AS_OF).graph
    person = graph.nodes["person:bob.martin@lumen.com"]
    assert person["family"] == "Person" and person["providers"] == ["aws", "entra"]
    assert {u for u, _ in graph.in_edges("person:bob.martin@lumen.com")} == {"entra:u1", "aws:user/bob"}
    assert "person:x@lumen.com" not in graph


def test_credential_age_is_measured_at_collection_time():
    key = node("aws:access-key/K", "Credential", "access_key", "aws", "K", "", created="2025-03-11T00:00:00Z")
    graph = build_graph([_result("aws", [key], [])], AS_OF).graph
    assert graph.nodes["aws:access-key/K"]["age_days"] == 600


def _small_graph():
    a = node("aws:user/a", "Identity", "User", "aws", "a", "", human=True)
    b = node("aws:bucket/b", "Resource", "bucket", "aws", "b", "")
    return build_graph([_result("aws", [a, b], [edge("aws:user/a", "aws:bucket/b", "HAS_PERMISSION", "p",
                                                     level="write")])], AS_OF).graph


def test_snapshot_round_trip_keeps_nodes_edges_and_metadata(tmp_path):
    path = write_snapshot(tmp_path / "s.json.gz", _small_graph(), {"collected_at": "2026-11-01T00:00:00Z"})
    graph, metadata = read_snapshot(path)
    assert metadata["collected_at"] == "2026-11-01T00:00:00Z"
    assert graph.nodes["aws:user/a"]["human"] is True
    assert [d["level"] for _, _, d in graph.edges(data=True)] == ["write"]


def test_crash_mid_write_leaves_the_previous_snapshot_intact(tmp_path, monkeypatch):
    path = tmp_path / "snapshot.json.gz"
    write_snapshot(path, _small_graph(), {"run": 1})
    before = path.read_bytes()

    def crash(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)  # the new bytes are written, then the process "dies"
    with pytest.raises(OSError):
        write_snapshot(path, _small_graph(), {"run": 2})
    assert path.read_bytes() == before
    assert read_snapshot(path)[1] == {"run": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["snapshot.json.gz"]  # no temp file left behind


def test_unknown_snapshot_version_fails_with_a_clear_error(tmp_path):
    path = tmp_path / "future.json.gz"
    path.write_bytes(gzip.compress(json.dumps({"format": "crosspath-snapshot", "version": 99,
                                               "nodes": [], "edges": []}).encode()))
    with pytest.raises(SnapshotError, match="version 99 is not supported; this Crosspath reads version 1"):
        read_snapshot(path)


def test_a_file_that_is_not_a_snapshot_is_named_in_the_error(tmp_path):
    path = tmp_path / "notes.json"
    path.write_text('{"hello": 1}')
    with pytest.raises(SnapshotError, match="notes.json: not a Crosspath snapshot"):
        read_snapshot(path)


def _two_nodes_and_edges() -> tuple[list, list]:
    records = [node("aws:user/a", "Identity", "User", "aws", "a", "", human=True),
               node("aws:bucket/x", "Resource", "bucket", "aws", "x", "")]
    write = edge("aws:user/a", "aws:bucket/x", "HAS_PERMISSION", "policy/w", level="write")
    again = edge("aws:user/a", "aws:bucket/x", "HAS_PERMISSION", "policy/w", level="admin")
    return records, [write, again, write]  # a copy with another level, and the same record object twice


@pytest.mark.parametrize("take_records", [False, True])
def test_a_repeated_edge_is_drawn_once_the_first_wins_whether_or_not_the_build_takes_the_records(take_records):
    records, edges = _two_nodes_and_edges()
    build = build_graph([_result("aws", records, edges)], AS_OF, take_records=take_records)
    (drawn,) = build.graph.get_edge_data("aws:user/a", "aws:bucket/x").values()
    assert drawn["level"] == "write" and "source" not in drawn and not build.errors
    assert (drawn is edges[0]) is take_records  # taken: the record is the edge's attributes, not a copy
    assert ("source" in edges[0]) is not take_records and edges[1]["source"] == "aws:user/a"


def test_an_inactive_grant_does_not_hide_the_active_one_with_the_same_via():
    records, (write, _, _) = _two_nodes_and_edges()
    expired = dict(write, level="admin", time_bounds=["< 2020-01-01T00:00:00Z"])
    build = build_graph([_result("aws", records, [expired, expired, write])], AS_OF, take_records=True)
    (drawn,) = build.graph.get_edge_data("aws:user/a", "aws:bucket/x").values()
    assert drawn["level"] == "write"
    assert build.coverage["aws"].counts["skipped.inactive_edges"] == 1
