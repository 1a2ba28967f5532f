"""OpenGraph (BloodHound CE) and GraphML (Gephi, yEd) exports of the sample organisation."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import networkx as nx
import pytest
from click.testing import CliRunner

from crosspath.cli import main
from graph.stores.opengraph import to_opengraph
from graph.stores.rows import graph_rows

SCHEMA = json.loads((Path(__file__).parent / "data" / "opengraph.schema.json").read_text())


@pytest.fixture(scope="module")
def opengraph(sample):
    return to_opengraph(graph_rows(sample.build.graph))


def test_opengraph_validates_against_the_documented_schema(opengraph):
    jsonschema.Draft7Validator(SCHEMA).validate(opengraph)


def test_the_schema_catches_what_bloodhound_rejects(opengraph):
    validator = jsonschema.Draft7Validator(SCHEMA)
    broken_kinds = {"graph": {"nodes": [{"id": "x", "kinds": ["A", "B", "C", "D"]}]}}
    nested = {"graph": {"nodes": [{"id": "x", "kinds": ["A"], "properties": {"p": {"nested": 1}}}]}}
    mixed = {"graph": {"nodes": [{"id": "x", "kinds": ["A"], "properties": {"p": ["a", 1]}}]}}
    dashed = {"graph": {"nodes": [], "edges": [{"kind": "Can-Assume", "start": {"value": "a"}, "end": {"value": "b"}}]}}
    for bad in (broken_kinds, nested, mixed, dashed):
        assert list(validator.iter_errors(bad)), bad


def test_every_node_and_edge_is_exported_with_prefixed_kinds(sample, opengraph, engine):
    graph = sample.build.graph
    nodes = {node["id"]: node for node in opengraph["graph"]["nodes"]}
    assert set(nodes) == set(graph.nodes)
    # every snapshot edge, plus the HAS_PERMISSION edges the engine derives (marked `derived`)
    derived = [e for e in opengraph["graph"]["edges"] if e["properties"].get("derived")]
    assert len(derived) == len(engine.derived_access) > 0
    assert len(opengraph["graph"]["edges"]) - len(derived) == graph.number_of_edges()
    dana = nodes["entra:a1000000-0000-4000-8000-000000000001"]
    assert dana["kinds"] == ["CP_Identity", "CP_User", "CP_ENTRA"]
    assert dana["properties"]["name"] == "Dana Ruiz" and dana["properties"]["objectid"] == dana["id"]
    assert nodes["aws:access-key/AKIA5LUMENCIDEPLOY01"]["kinds"][:2] == ["CP_Credential", "CP_AccessKey"]
    assert all(kind.startswith("CP_") for node in nodes.values() for kind in node["kinds"])
    member = next(e for e in opengraph["graph"]["edges"]
                  if e["start"]["value"] == dana["id"] and e["kind"] == "CP_MEMBER_OF")
    assert member["end"] == {"value": "entra:b2000000-0000-4000-8000-000000000001", "match_by": "id"}
    assert member["properties"]["via"] and "source" not in member["properties"]
    assert all(None not in node["properties"].values() for node in nodes.values())


def test_graphml_opens_in_networkx_with_labels_and_properties(sample, tmp_path):
    out = tmp_path / "graph.graphml"
    result = CliRunner().invoke(main, ["export", "--format", "graphml", "--snapshot", str(sample.snapshot),
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    loaded = nx.read_graphml(out)
    assert loaded.number_of_nodes() == sample.build.graph.number_of_nodes()
    snapshot_edges = [d for _, _, d in loaded.edges(data=True) if not d.get("derived")]
    assert len(snapshot_edges) == sample.build.graph.number_of_edges()
    dana = loaded.nodes["entra:a1000000-0000-4000-8000-000000000001"]
    assert dana["label"] == "Dana Ruiz" and dana["family"] == "Identity" and dana["mfa"] is False


def test_export_command_writes_opengraph_beside_the_snapshot(sample):
    result = CliRunner().invoke(main, ["export", "--format", "opengraph", "--snapshot", str(sample.snapshot)])
    assert result.exit_code == 0, result.output
    written = Path(result.output.strip())
    assert written == sample.snapshot.parent / "crosspath-graph.json"
    jsonschema.Draft7Validator(SCHEMA).validate(json.loads(written.read_text()))
