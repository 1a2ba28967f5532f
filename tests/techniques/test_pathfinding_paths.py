"""Every pathfinding.cloud path, end to end: present with all its permissions, absent without any one.

The cases live in pathfinding_cases.py (IAM, STS and new-PassRole paths) and
pathfinding_workload_cases.py (paths through existing workloads); tests/techniques/pathfinding.py
explains the world they run in.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from collectors import technique_catalogue
from collectors.aws import collect_offline
from graph.builder import build_graph
from queries.paths import PathEngine
from queries.policy import load_policy
from tests.graph_helpers import AS_OF
from tests.techniques.pathfinding import ACCOUNT_NODE, PathCase, build_world, pathfinding_paths
from tests.techniques.pathfinding_cases import NOT_DETECTED, PATHS
from tests.techniques.pathfinding_workload_cases import WORKLOAD_PATHS

CASES: dict[str, PathCase] = {**PATHS, **WORKLOAD_PATHS}


def _account_admin(tmp_path, case: PathCase, permissions) -> dict[str, Any] | None:
    folder = build_world(tmp_path, case, permissions).parent
    result = collect_offline(folder)
    assert not result.errors, result.errors
    engine = PathEngine(build_graph([result], AS_OF).graph, load_policy())
    row = next((r for r in engine.blast_radius(case.holder) if r["target"] == ACCOUNT_NODE), None)
    return row if row is not None and row["level"] == "admin" else None


def test_every_path_has_a_case_or_a_reason():
    listed = set(pathfinding_paths())
    assert not set(PATHS) & set(WORKLOAD_PATHS)
    assert set(CASES) | set(NOT_DETECTED) == listed, sorted(listed ^ (set(CASES) | set(NOT_DETECTED)))
    assert all(NOT_DETECTED.values()), "every path not detected says why"


@pytest.mark.parametrize("path_id", sorted(CASES))
def test_case_requires_every_permission_of_the_path(path_id):
    """A case (and so its technique) needs at least what pathfinding.cloud lists."""
    case = CASES[path_id]
    held = {action.lower() for action, _ in case.permissions}
    assert {p.lower() for p in pathfinding_paths()[path_id]["required"]} <= held
    technique = next(t for t in technique_catalogue() if t.id == case.technique)
    assert path_id in technique.references.pathfinding, f"{case.technique} does not name {path_id}"


@pytest.mark.parametrize("path_id", sorted(CASES))
def test_path_present_with_every_permission(tmp_path, path_id):
    case = CASES[path_id]
    row = _account_admin(tmp_path, case, case.permissions)
    assert row is not None, f"{path_id}: {case.holder} is not admin over the account"
    named = {t for _, _, data in row["path"] for t in data.get("techniques", ())}
    assert case.technique in named, f"{path_id}: the path uses {sorted(named)}, not {case.technique}"


@pytest.mark.parametrize("path_id,dropped", [(p, i) for p in sorted(CASES) for i in range(len(CASES[p].permissions))])
def test_path_absent_without_any_one_permission(tmp_path, path_id, dropped):
    case = CASES[path_id]
    permissions = case.permissions[:dropped] + case.permissions[dropped + 1:]
    row = _account_admin(tmp_path, case, permissions)
    assert row is None, (f"{path_id} without {case.permissions[dropped][0]}: still admin by "
                         f"{[d.get('techniques') for _, _, d in row['path']]}")


def test_docs_coverage_table_matches_the_cases():
    text = (Path(__file__).resolve().parents[2] / "docs" / "collectors" / "aws.md").read_text()
    section = text.split("### pathfinding.cloud coverage", 1)[1].split("\n### ", 1)[0]
    rows = re.findall(r"^\| ([a-z0-9-]+-\d{3}) \| .+ \| `([^`]+)` \|$", section, flags=re.MULTILINE)
    assert dict(rows) == {path_id: case.technique for path_id, case in CASES.items()}
