"""Each rule of the records contract, rejected when broken and accepted when kept (graph/records.py):
the fast checks a million records go through must say exactly what the careful ones said."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from graph.builder import build_graph
from graph.coverage import CollectResult
from graph.records import RecordOrigin, edge, endpoint_problem, node, validate_records
from graph.schema import EDGE_ENDPOINTS, EdgeKind, Family, Provider
from tests.graph_helpers import AS_OF

USER = {"id": "aws:user/a", "family": "Identity", "kind": "User", "provider": "aws", "name": "a", "scope": "",
        "human": True}
GRANT = {"source": "aws:user/a", "target": "aws:bucket/x", "kind": "HAS_PERMISSION", "via": "policy",
         "level": "write"}

# (record change, field named, words of the message); each applied to a good node and a good edge.
BROKEN = [
    ({"tags": ["a", None]}, "tags", "lists may hold only strings, numbers and booleans"),
    ({"tags": ["a", ["b"]]}, "tags", "lists may hold only strings, numbers and booleans"),
    ({"owner": {"team": "x"}}, "owner", "nested objects are not allowed"),
    ({"seen": {1, 2}}, "seen", "unsupported value type set"),
    ({"": "x"}, "", "property names must be non-empty strings"),
    ({7: "x"}, "7", "property names must be non-empty strings"),
    ({"mfa": "yes"}, "mfa", "must be true, false or null, got 'yes'"),
    ({"enabled": 2}, "enabled", "must be true, false or null, got 2"),
    ({"mfa": 1}, "mfa", "must be true, false or null, got 1"),  # == True, yet not a boolean: the engine
    ({"human": 0}, "human", "must be true, false or null, got 0"),  # reads only True as true
    ({"score": float("nan")}, "score", "nan is not a JSON number"),
    ({"score": float("inf")}, "score", "inf is not a JSON number"),
    ({"serial": 1 << 64}, "serial", "does not fit in 64 bits"),
    ({"sizes": [1, float("nan")]}, "sizes", "lists may hold only strings, numbers and booleans"),
    ({"sizes": [1 << 70]}, "sizes", "lists may hold only strings, numbers and booleans"),
]
KEPT = [
    {"tags": ["a", 1, 2.5, False]},
    {"tags": []},
    {"mfa": None, "enabled": False, "human": True},
    {"owner": None, "count": 3, "ratio": 0.5, "largest": (1 << 63) - 1, "smallest": -(1 << 63)},
    {Provider.AWS: "a property named by an enum member is named by a str"},
    {"provider_kind": Provider.AWS, "labels": [Family.IDENTITY]},  # an enum member is a str
    {"note": "ünïcødé"},
]


@pytest.mark.parametrize(("change", "field", "words"), BROKEN)
def test_a_broken_property_is_rejected_naming_the_field(change, field, words):
    checked = validate_records([{**USER, **change}], [{**GRANT, **change}], RecordOrigin("aws", "export.json"))
    assert checked.nodes == [] and checked.edges == []
    assert [(error.field, words in error.message) for error in checked.errors] == [(field, True), (field, True)]
    assert checked.errors[0].record == "node #0 (aws:user/a)" and checked.errors[0].file == "export.json"


@pytest.mark.parametrize("change", KEPT)
def test_a_property_that_keeps_the_contract_is_accepted(change):
    checked = validate_records([{**USER, **change}], [{**GRANT, **change}], RecordOrigin("aws"))
    assert checked.errors == []
    assert len(checked.nodes) == len(checked.edges) == 1


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"family": "Robot"}, "family", "unknown family 'Robot'"),
    ({"provider": "oracle"}, "provider", "unknown provider 'oracle'"),
    ({"id": "gcp:user/a"}, "id", "must start with 'aws:'"),
    ({"kind": "Wizard"}, "kind", "'Wizard' is not a Identity kind"),
])
def test_a_node_outside_the_vocabulary_is_rejected(change, field, words):
    checked = validate_records([{**USER, **change}], [], RecordOrigin("aws"))
    assert [(error.field, words in error.message) for error in checked.errors] == [(field, True)]


def test_an_unknown_edge_kind_or_a_permission_without_level_is_rejected():
    checked = validate_records([], [{**GRANT, "kind": "CAN_FLY"}, {**GRANT, "level": "root"}], RecordOrigin("aws"))
    assert [error.field for error in checked.errors] == ["kind", "level"]
    assert "unknown edge kind 'CAN_FLY'" in checked.errors[0].message


def test_every_endpoint_rule_allows_exactly_its_families():
    for kind, (sources, targets) in EDGE_ENDPOINTS.items():
        for source in Family:
            for target in Family:
                problem = endpoint_problem(str(kind), str(source), str(target))
                assert (problem is None) == (source in sources and target in targets), (kind, source, target)
    assert endpoint_problem("AUTHENTICATES", "Identity", "Identity") == "AUTHENTICATES cannot start at a Identity"
    assert endpoint_problem(str(EdgeKind.HAS_PERMISSION), "Identity", "Identity") == (
        "HAS_PERMISSION cannot end at a Identity")


def test_merging_duplicate_nodes_leaves_the_collectors_records_as_they_were():
    first = node("aws:user/a", "Identity", "User", "aws", "a", "", human=True, mfa=None, tags=["x"])
    second = node("aws:user/a", "Identity", "User", "aws", "a", "", human=True, mfa=True, tags=["y"])
    kept = copy.deepcopy([first, second])
    result = CollectResult("aws")
    result.add("export.json", [first, second], [edge("aws:user/a", "aws:user/a", "MEMBER_OF", "loop")])
    graph = build_graph([result], AS_OF).graph
    assert graph.nodes["aws:user/a"]["mfa"] is True and graph.nodes["aws:user/a"]["tags"] == ["x", "y"]
    assert [first, second] == kept
    assert graph.nodes["aws:user/a"] is not first


# -- a batch decided a column at a time says what record-by-record says -----------------------------------

class _Text(str):
    """A str subclass: passes as a name or a value, but only the record-by-record check decides it."""


_NODE_BREAKS = [
    *((change, None) for change, _, _ in BROKEN),
    *(({key: value}, None) for key, value in (("family", "Robot"), ("provider", "oracle"), ("kind", "Wizard"),
                                              ("id", "gcp:user/a"), ("name", ""), ("scope", None), ("id", 7),
                                              ("environment", "staging"), ("environment", None), ("mfa", 1),
                                              ("human", 0), ("name", _Text("a")), ("count", 3), ("ratio", 0.5),
                                              ("tags", ["a", 1]))),
    ({}, "id"), ({}, "human"), ({}, "family"), ({}, "scope"),  # a key removed
]
_EDGE_BREAKS = [
    *((change, None) for change, _, _ in BROKEN),
    *(({key: value}, None) for key, value in (("kind", "CAN_FLY"), ("level", "root"), ("level", None), ("via", ""),
                                              ("source", 3), ("kind", _Text("MEMBER_OF")), ("mfa_required", 0),
                                              ("conditions", [True, "x"]), ("weight", 2))),
    ({}, "via"), ({}, "level"), ({}, "target"),
]


def _sample_records() -> tuple[list[dict], list[dict]]:
    from crosspath.pipeline import collect_folder

    results = collect_folder(Path(__file__).resolve().parent.parent / "data" / "samples")
    return ([record for result in results for record in result.nodes],
            [record for result in results for record in result.edges])


def _broken(records: list[dict], breaks: list, rng) -> list:
    batch = copy.deepcopy(rng.sample(records, min(len(records), 40)))
    for _ in range(rng.choice((0, 0, 1, 3))):
        at = rng.randrange(len(batch))
        choice = rng.random()
        if choice < 0.05:
            batch[at] = rng.choice((None, "a string", {}, []))  # not a dict at all
            continue
        change, removed = rng.choice(breaks)
        batch[at] = {**batch[at], **change}
        if removed is not None:
            batch[at].pop(removed, None)
    return batch


@pytest.mark.parametrize("seed", range(60))
def test_a_batch_decided_by_columns_is_judged_as_record_by_record(seed):
    import random

    from graph.records import validate_each

    rng = random.Random(seed)
    nodes, edges = _sample_records()
    node_batch, edge_batch = _broken(nodes, _NODE_BREAKS, rng), _broken(edges, _EDGE_BREAKS, rng)
    origin = RecordOrigin("aws", "export.json")
    assert validate_records(node_batch, edge_batch, origin) == validate_each(node_batch, edge_batch, origin)


def test_the_sample_organisation_passes_whole_and_one_bad_record_is_still_named():
    from graph.records import validate_each

    nodes, edges = _sample_records()
    checked = validate_records(nodes, edges, RecordOrigin("aws"))
    assert checked.errors == [] and checked.nodes == nodes and checked.edges == edges
    edges = [*edges[:5], {**edges[5], "mfa_required": "sometimes"}, *edges[6:]]
    checked = validate_records(nodes, edges, RecordOrigin("aws"))
    assert checked == validate_each(nodes, edges, RecordOrigin("aws"))
    assert [(error.record.split(" (")[0], error.field) for error in checked.errors] == [("edge #5", "mfa_required")]
    assert len(checked.edges) == len(edges) - 1


@pytest.mark.parametrize(("side", "change", "removed"), [("nodes", *case) for case in _NODE_BREAKS]
                         + [("edges", *case) for case in _EDGE_BREAKS])
def test_each_break_is_judged_as_record_by_record(side, change, removed):
    """Each break, on a node of every family (an edge of three kinds) among the whole sample organisation."""
    from graph.records import validate_each

    records = dict(zip(("nodes", "edges"), _sample_records(), strict=True))
    field, values = ("family", ("Identity", "Resource", "Credential")) if side == "nodes" else (
        "kind", ("HAS_PERMISSION", "AUTHENTICATES", "MEMBER_OF"))
    origin = RecordOrigin("aws", "export.json")
    for value in values:
        whole = records[side]
        at = next(i for i, record in enumerate(whole) if record[field] == value)
        broken = {key: item for key, item in {**whole[at], **change}.items() if key != removed}
        batch = {**records, side: [*whole[:at], broken, *whole[at + 1:]]}
        assert (validate_records(batch["nodes"], batch["edges"], origin)
                == validate_each(batch["nodes"], batch["edges"], origin)), value
