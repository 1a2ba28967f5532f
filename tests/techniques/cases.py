"""The shape every source's technique cases take, so one test rule runs them all.

A case names the technique's holder and target and gives a scenario where the holder has every
required permission (present) and scenarios that each lack one of them (absent). A source's case
module provides `CASES` (technique id -> Case) and `steps(scenario, workdir)`, the one-step
transfers the source's collector draws for a scenario.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class Probe:
    scenario: Any  # the source's own input (statements, a tenant, a cluster, permissions ...)
    holder: str  # node id that holds (present) or must not hold (absent) the edge
    target: str


@dataclass(frozen=True)
class Case:
    present: Probe
    absent: tuple[Probe, ...]  # each lacks one required permission, grant or precondition


@dataclass(frozen=True)
class Step:
    source: str
    target: str
    kind: str
    techniques: tuple[str, ...]


def steps_of(edges: list[dict[str, Any]]) -> list[Step]:
    return [Step(e["source"], e["target"], str(e["kind"]), tuple(e.get("techniques", ()))) for e in edges]


class CaseModule(Protocol):
    CASES: dict[str, Case]

    def steps(self, scenario: Any, workdir: Path) -> list[Step]: ...
