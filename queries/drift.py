"""Drift between two snapshots: new and resolved findings, new and removed graph facts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from graph.schema import Family
from queries.coverage_gate import not_complete, sources_of, statuses
from queries.findings import Analysis, Finding


@dataclass
class Drift:
    new: list[Finding] = field(default_factory=list)
    resolved: list[Finding] = field(default_factory=list)
    # gone from the newer snapshot, but a source on its path was not (fully) covered there
    not_rechecked: list[Finding] = field(default_factory=list)
    coverage: dict[str, dict[str, str]] = field(default_factory=dict)  # "old" / "new" -> source -> status
    changed: list[tuple[Finding, Finding]] = field(default_factory=list)  # (old, new): gaps or severity moved
    nodes_added: dict[str, list[str]] = field(default_factory=dict)  # family -> ids
    nodes_removed: dict[str, list[str]] = field(default_factory=dict)
    edges_added: list[tuple[str, str, str]] = field(default_factory=list)  # (source, kind, target)
    edges_removed: list[tuple[str, str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        def brief(finding: Finding) -> dict[str, Any]:
            return {k: finding.to_dict()[k] for k in ("id", "severity", "gap_types", "title", "status")}

        return {
            "new_findings": [brief(f) for f in self.new],
            "resolved_findings": [brief(f) for f in self.resolved],
            "not_rechecked_findings": [brief(f) for f in self.not_rechecked],
            "coverage": self.coverage,
            "changed_findings": [{"old": brief(o), "new": brief(n)} for o, n in self.changed],
            "nodes_added": self.nodes_added,
            "nodes_removed": self.nodes_removed,
            "edges_added": [list(e) for e in self.edges_added],
            "edges_removed": [list(e) for e in self.edges_removed],
        }


def _by_family(graph: nx.MultiDiGraph, ids: set[str]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for node_id in sorted(ids):
        family = graph.nodes[node_id].get("family", "")
        if family != Family.PERSON:
            grouped.setdefault(family, []).append(node_id)
    return grouped


def _edge_set(graph: nx.MultiDiGraph) -> set[tuple[str, str, str]]:
    return {(u, data["kind"], v) for u, v, data in graph.edges(data=True) if data["kind"] != "BELONGS_TO"}


def diff(old: Analysis, new: Analysis, old_graph: nx.MultiDiGraph, new_graph: nx.MultiDiGraph) -> Drift:
    """Only open findings count: an exception granted since last time resolves a finding. A finding gone
    from the newer snapshot is resolved only when every source on its path was completely covered there;
    otherwise it was not re-checked."""
    old_open = {f.id: f for f in old.open_findings}
    new_open = {f.id: f for f in new.open_findings}
    unseen = not_complete(new.metadata)
    gone = [old_open[i] for i in old_open if i not in new_open]
    drift = Drift(
        new=[new_open[i] for i in new_open if i not in old_open],
        resolved=[f for f in gone if not sources_of(f.providers) & unseen],
        not_rechecked=[f for f in gone if sources_of(f.providers) & unseen],
        coverage={"old": statuses(old.metadata), "new": statuses(new.metadata)},
        changed=[
            (old_open[i], new_open[i])
            for i in new_open
            if i in old_open
            and (old_open[i].severity, old_open[i].gap_types) != (new_open[i].severity, new_open[i].gap_types)
        ],
    )
    old_nodes, new_nodes = set(old_graph.nodes), set(new_graph.nodes)
    drift.nodes_added = _by_family(new_graph, new_nodes - old_nodes)
    drift.nodes_removed = _by_family(old_graph, old_nodes - new_nodes)
    old_edges, new_edges = _edge_set(old_graph), _edge_set(new_graph)
    drift.edges_added = sorted(new_edges - old_edges)
    drift.edges_removed = sorted(old_edges - new_edges)
    return drift
