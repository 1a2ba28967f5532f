"""Coverage counters speak one language: `nodes.<Kind>`, `edges.<KIND>` and a few documented families."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crosspath.pipeline import collect_folder
from graph.builder import build_graph
from graph.coverage import CollectResult, Coverage, CoverageStatus

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"

# The families graph.coverage.Coverage documents; nothing else may appear.
RECORD_COUNT = re.compile(r"^(nodes|edges)\.[A-Za-z_]+$")
OTHER_COUNT = re.compile(r"^(read|skipped|deny)\.[a-z_]+$|^escalation\.[a-z0-9]+\.[a-z0-9-]+\.[a-z0-9-]+$")


@pytest.fixture(scope="module")
def results() -> list[CollectResult]:
    results = collect_folder(SAMPLES)
    build_graph(results, datetime(2026, 11, 1, tzinfo=UTC))  # the builder may add its own counters
    return results


def test_every_source_of_the_sample_is_counted(results: list[CollectResult]) -> None:
    assert [r.source for r in results] == ["aws", "entra", "gcp", "kubernetes", "databases"]
    assert all(r.coverage.status == CoverageStatus.COMPLETE for r in results)


def test_every_counter_key_has_one_of_the_documented_shapes(results: list[CollectResult]) -> None:
    wrong = {f"{r.source}: {key}" for r in results for key in r.coverage.counts
             if not (RECORD_COUNT.match(key) or OTHER_COUNT.match(key))}
    assert wrong == set()


def test_node_and_edge_counts_are_what_the_records_hold(results: list[CollectResult]) -> None:
    for result in results:
        counted = {key: n for key, n in result.coverage.counts.items() if RECORD_COUNT.match(key)}
        expected = Counter(f"nodes.{record['kind']}" for record in result.nodes)
        expected.update(f"edges.{record['kind']}" for record in result.edges)
        assert counted == dict(expected), result.source


def test_count_records_replaces_record_counts_and_keeps_the_other_families() -> None:
    coverage = Coverage("aws", counts={"nodes.User": 9, "edges.OLD": 1, "read.bindings": 3})
    coverage.count_records([{"kind": "User"}, {"kind": "access_key"}, {"kind": "User"}],
                           [{"kind": "HAS_PERMISSION"}])
    assert coverage.counts == {"edges.HAS_PERMISSION": 1, "nodes.User": 2, "nodes.access_key": 1,
                               "read.bindings": 3}


def test_status_is_the_enum_and_serialises_as_the_same_strings() -> None:
    coverage = Coverage("gcp", status="missing")  # a snapshot's or a caller's plain string is accepted
    assert coverage.status is CoverageStatus.MISSING
    assert coverage.to_dict()["status"] == "missing" and type(coverage.to_dict()["status"]) is str
    assert [str(status) for status in CoverageStatus] == ["complete", "partial", "missing", "failed"]
    coverage.degrade()
    assert coverage.status is CoverageStatus.MISSING  # only a complete source becomes partial
    with pytest.raises(ValueError):
        Coverage("gcp", status="done")
