"""The technique catalogue: one contract for every source's escalation and abuse techniques.

A technique is one way an identity gains another identity's or a scope's rights (mint a key, bind
a role, pass a role to compute, reset a password ...). Each source registers its techniques here,
with its metadata beside the code that draws the edges (Prowler keeps check metadata that way;
KubeHound keeps one unit per attack; pathfinding.cloud one record per AWS path). Every edge a
technique draws carries the technique's id in its `techniques` property, so findings, reports,
the Cypher stores and the dashboard can say which technique each step uses and link to its entry.

Ids have one style, `<provider>.<service>.<action>` in lower case with dashes
(`aws.iam.create-access-key`, `k8s.rbac.bind`, `entra.user.reset-password-by-role`); the registry
refuses a duplicate id, an id in another style, and an entry without its description,
remediation or required permissions. `docs/techniques.md` is generated from this registry
(`crosspath techniques --format markdown`) and a test fails when it is out of date.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from graph.schema import EdgeKind

# Collector name -> the provider prefix of its technique ids.
SOURCE_PREFIXES: dict[str, tuple[str, ...]] = {
    "aws": ("aws",),
    "entra": ("entra",),
    "gcp": ("gcp",),
    "kubernetes": ("k8s",),
    "databases": ("postgres", "mysql"),
}
ID_PATTERN = re.compile(r"^[a-z0-9]+\.[a-z0-9-]+\.[a-z0-9-]+$")
# Techniques draw transfer edges: one identity gains another's (or a scope's) rights.
TECHNIQUE_EDGES = frozenset({EdgeKind.MEMBER_OF, EdgeKind.CAN_ASSUME, EdgeKind.CAN_IMPERSONATE,
                             EdgeKind.CAN_CREATE_CREDENTIAL, EdgeKind.CAN_RUN_AS, EdgeKind.FEDERATES_TO,
                             EdgeKind.CAN_GRANT, EdgeKind.CAN_READ_SECRET})


@dataclass(frozen=True)
class References:
    """Where the technique is described elsewhere; empty where a catalogue has no such entry."""

    pathfinding: tuple[str, ...] = ()  # pathfinding.cloud path ids (AWS), e.g. ("iam-002",)
    bloodhound: str = ""  # BloodHound edge, e.g. "AZAddSecret"
    kubehound: str = ""  # KubeHound edge, e.g. "POD_EXEC"
    pmapper: str = ""  # PMapper edge checker, e.g. "iam_edges"
    mitre: str = ""  # MITRE ATT&CK technique id, e.g. "T1098.001"
    links: tuple[str, ...] = ()  # write-ups

    def labelled(self) -> list[tuple[str, str]]:
        """(catalogue, value) for each reference present, e.g. ("MITRE ATT&CK", "T1098.001"); links last."""
        pairs = [("pathfinding.cloud", ", ".join(self.pathfinding)), ("MITRE ATT&CK", self.mitre),
                 ("BloodHound", self.bloodhound), ("KubeHound", self.kubehound), ("PMapper", self.pmapper)]
        return [(label, value) for label, value in pairs if value] + [("link", link) for link in self.links]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> References:
        """The inverse of `to_dict` (findings.json carries references as plain JSON)."""
        return cls(tuple(data.get("pathfinding", ())), data.get("bloodhound", ""), data.get("kubehound", ""),
                   data.get("pmapper", ""), data.get("mitre", ""), tuple(data.get("links", ())))

    def to_dict(self) -> dict[str, Any]:
        return {"pathfinding": list(self.pathfinding), "bloodhound": self.bloodhound, "kubehound": self.kubehound,
                "pmapper": self.pmapper, "mitre": self.mitre, "links": list(self.links)}


@dataclass(frozen=True)
class Technique:
    """One registered technique: its metadata, and the source's own code that draws its edges."""

    id: str
    title: str
    source: str  # the collector: aws | entra | gcp | kubernetes | databases
    edge_kind: EdgeKind
    requires: tuple[str, ...]  # permissions, roles or grants; "a | b" where any one of them does
    description: str
    remediation: str
    references: References = References()
    # True when the holder can change the target identity's permissions (attach or write a policy)
    # rather than become it: the edge then carries `grant_scope`, and only whoever can also act as the
    # target gains admin over that scope (the path engine's composition rule, docs/techniques.md).
    changes_permissions: bool = False
    # The source's implementation (its signature is the source's own); None when the module that
    # registers the technique draws its edges itself.
    derive: Any = field(default=None, compare=False, repr=False)

    @property
    def anchor(self) -> str:
        return technique_anchor(self.id)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "source": self.source, "edge_kind": str(self.edge_kind),
                "requires": list(self.requires), "description": self.description,
                "remediation": self.remediation, "changes_permissions": self.changes_permissions,
                "references": self.references.to_dict()}


def technique_anchor(technique_id: str) -> str:
    """The HTML / Markdown anchor of a technique's catalogue entry (docs/techniques.md, report.html)."""
    return "technique-" + technique_id.replace(".", "-")


class TechniqueError(ValueError):
    """A technique the registry refuses (duplicate id, wrong id style, missing metadata)."""


class Catalogue:
    """The one registry of techniques."""

    def __init__(self) -> None:
        self._by_id: dict[str, Technique] = {}

    def register(self, technique: Technique) -> Technique:
        problem = _problem(technique)
        if problem:
            raise TechniqueError(f"technique {technique.id!r}: {problem}")
        if technique.id in self._by_id:
            raise TechniqueError(f"technique {technique.id!r} is registered twice: ids must be unique")
        self._by_id[technique.id] = technique
        return technique

    def __getitem__(self, technique_id: str) -> Technique:
        return self._by_id[technique_id]

    def get(self, technique_id: str) -> Technique | None:
        return self._by_id.get(technique_id)

    def __contains__(self, technique_id: object) -> bool:
        return technique_id in self._by_id

    def __iter__(self) -> Iterator[Technique]:
        """By source (in SOURCE_PREFIXES order), then id: the same order whichever module registered first."""
        order = list(SOURCE_PREFIXES)
        return iter(sorted(self._by_id.values(), key=lambda t: (order.index(t.source), t.id)))

    def __len__(self) -> int:
        return len(self._by_id)

    def of(self, source: str) -> list[Technique]:
        """One source's techniques in registration order: the order its modules list them in (each
        source's code relies on it, e.g. to name the most direct technique first)."""
        return [t for t in self._by_id.values() if t.source == source]


def _problem(technique: Technique) -> str:
    if not ID_PATTERN.match(technique.id):
        return "an id is <provider>.<service>.<action>, lower case with dashes (e.g. aws.iam.create-access-key)"
    prefixes = SOURCE_PREFIXES.get(technique.source)
    if prefixes is None:
        return f"unknown source {technique.source!r} (one of {', '.join(SOURCE_PREFIXES)})"
    if technique.id.split(".", 1)[0] not in prefixes:
        return f"a {technique.source} technique's id starts with {' or '.join(p + '.' for p in prefixes)}"
    if technique.edge_kind not in TECHNIQUE_EDGES:
        return f"edge kind {technique.edge_kind} is not a transfer edge"
    for name in ("title", "description", "remediation"):
        if not getattr(technique, name).strip():
            return f"{name} is empty"
    if not technique.requires:
        return "requires lists no permission or grant"
    return ""


CATALOGUE = Catalogue()


def register(technique: Technique) -> Technique:
    """Add a technique to the one catalogue (refusing duplicates) and return it."""
    return CATALOGUE.register(technique)
