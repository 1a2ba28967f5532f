"""The one rule for every technique of every source: with every required permission the edge is
there, of the catalogue's edge kind and naming the technique; without any one of them it is gone."""

from __future__ import annotations

import importlib

import pytest

from collectors import technique_catalogue
from tests.techniques.cases import CaseModule

CATALOGUE = technique_catalogue()
CASE_MODULES = {source: f"tests.techniques.{source}_cases" for source in ("aws", "entra", "gcp", "kubernetes",
                                                                          "databases")}


def cases_of(source: str) -> CaseModule:
    return importlib.import_module(CASE_MODULES[source])  # type: ignore[return-value]


def test_every_registered_technique_has_a_present_and_an_absent_case():
    missing = [t.id for t in CATALOGUE if t.id not in cases_of(t.source).CASES]
    assert missing == [], f"techniques without a case in tests/techniques/<source>_cases.py: {missing}"
    no_absent = [t.id for t in CATALOGUE if not cases_of(t.source).CASES[t.id].absent]
    assert no_absent == [], f"techniques without an absent case: {no_absent}"
    stray = [(source, tid) for source in CASE_MODULES for tid in cases_of(source).CASES if tid not in CATALOGUE]
    assert stray == [], f"cases for techniques the catalogue does not have: {stray}"


@pytest.mark.parametrize("technique_id", [t.id for t in CATALOGUE])
def test_edge_present_with_every_permission_and_absent_without_one(technique_id, tmp_path):
    technique = CATALOGUE[technique_id]
    module = cases_of(technique.source)
    case = module.CASES[technique_id]
    present = case.present
    steps = module.steps(present.scenario, tmp_path / "present")
    drawn = [s for s in steps if (s.source, s.target) == (present.holder, present.target)]
    assert any(s.kind == technique.edge_kind and technique_id in s.techniques for s in drawn), (
        f"{technique_id}: no {technique.edge_kind} edge {present.holder} -> {present.target} naming the technique; "
        f"drawn between them: {drawn}")
    for index, absent in enumerate(case.absent):
        steps = module.steps(absent.scenario, tmp_path / f"absent-{index}")
        still = [s for s in steps if (s.source, s.target, s.kind) == (absent.holder, absent.target,
                                                                       technique.edge_kind)]
        assert still == [], f"{technique_id}: absent case {index} still draws {still}"
