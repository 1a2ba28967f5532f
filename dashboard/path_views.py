"""Paths as the dashboard shows them: a picture (the reports' SVG) plus the text beside it.

Three questions share one picture: a finding's gap path, an identity's blast radius (every
privileged target it reaches) and who can write a resource (every entry that reaches it).
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from graph.schema import EdgeKind
from graph.techniques import Catalogue, Technique
from queries.findings import Finding, PathEdge
from queries.paths import PathEngine
from queries.people import blast_radius_of
from queries.reports.describe import edge_text, entry_age, entry_mfa_mark
from queries.reports.path_picture import render_path_svg

_ACCESS = str(EdgeKind.HAS_PERMISSION)
_WRITE_LEVELS = ("write", "admin")
RawPath = list[tuple[str, str, dict[str, Any]]]


@dataclass
class PathPicture:
    """What `render_path_svg` draws (it reads title, entry, target and path) plus the sentences."""

    title: str
    entry: dict[str, Any]
    target: dict[str, Any]
    path: list[PathEdge]
    explanation: list[str] = field(default_factory=list)

    def svg(self) -> str:
        return render_path_svg(self, show_via=True)  # type: ignore[arg-type]  # duck-typed: reads these four fields

    @property
    def width(self) -> int:
        """The picture's natural width in pixels."""
        found = re.search(r'width="(\d+)"', self.svg())
        return int(found.group(1)) if found else 800

    def html(self) -> str:
        """Fills the page's width, shrinking a long path to at most 3/4 of its size, then scrolls."""
        svg = self.svg()
        style = f"width:100%;max-width:{self.width}px;min-width:{int(self.width * 0.75)}px;height:auto"
        svg = svg.replace("<svg ", f'<svg style="{style}" ', 1)
        return f'<div class="crosspath-path" style="overflow-x:auto">{svg}</div>'


def from_finding(finding: Finding) -> PathPicture:
    return PathPicture(finding.title, finding.entry, finding.target, finding.path, list(finding.explanation))


def techniques_on(path: list[PathEdge], catalogue: Catalogue) -> list[tuple[Technique, list[int]]]:
    """The catalogue entries of the techniques on a path, in path order, with the hops (1-based) using each."""
    hops: dict[str, list[int]] = {}
    for number, edge in enumerate(path, 1):
        for technique_id in edge.techniques:
            hops.setdefault(technique_id, []).append(number)
    return [(catalogue[t], numbers) for t, numbers in hops.items() if t in catalogue]


def reference_text(technique: Technique) -> str:
    return " · ".join(value if label == "link" else f"{label} {value}"
                      for label, value in technique.references.labelled()) or "none"


def path_edges(graph: nx.MultiDiGraph, raw: RawPath) -> list[PathEdge]:
    return [PathEdge.from_graph(source, target, data, graph.nodes[source], graph.nodes[target])
            for source, target, data in raw]


def node_summary(graph: nx.MultiDiGraph, node_id: str, mfa: bool | None = None) -> dict[str, Any]:
    data = graph.nodes[node_id]
    return {
        "id": node_id, "kind": data.get("kind", ""), "provider": data.get("provider", ""),
        "name": data.get("name") or node_id, "family": data.get("family", ""),
        "mfa": data.get("mfa") if mfa is None else mfa, "created": data.get("created"),
        "expires": data.get("expires"), "age_days": data.get("age_days"),
        "environment": data.get("environment"),
    }


def picture(graph: nx.MultiDiGraph, raw: RawPath, entry_mfa: bool | None = None,
            human: bool | None = None) -> PathPicture:
    """The picture of one raw engine path (entry first, HAS_PERMISSION last). `human` False: a machine's
    entry, drawn with its key's age instead of an MFA badge."""
    edges = path_edges(graph, raw)
    entry = node_summary(graph, raw[0][0])
    if entry_mfa is not None or entry["family"] != "Identity":
        entry["mfa"] = entry_mfa if entry_mfa is not None else entry["mfa"]
    if human is not None:
        entry["human"] = human
    target = node_summary(graph, raw[-1][1])
    target["level"] = edges[-1].level
    title = f"{entry['name']} can {target['level']} {target['name']} in {len(edges)} hop(s)"
    return PathPicture(title, entry, target, edges, [edge_text(edge) for edge in edges])


def blast_radius(engine: PathEngine, node_id: str, identities: list[str] | None = None) -> list[dict[str, Any]]:
    """Every privileged target `node_id` reaches: one row per target with its shortest path. For a person,
    `identities` are theirs: one row per identity and target it reaches, naming the identity."""
    graph = engine.graph
    rows = []
    for item in blast_radius_of(engine, identities or [node_id]):
        target = graph.nodes[item["target"]]
        who = {"identity": graph.nodes[item["identity"]].get("name") or item["identity"],
               "identity_id": item["identity"]} if identities else {}
        rows.append({
            **who,
            "target": target.get("name") or item["target"],
            "kind": target.get("kind", ""),
            "provider": target.get("provider", ""),
            "environment": engine.environment(engine.index[item["target"]]),
            "level": item["level"],
            "mfa_on_every_path": item["requires_mfa"],
            "hops": len(item["path"]),
            "through": graph.nodes[item["through"]].get("name", item["through"]) if item["through"] else "",
            "target_id": item["target"],
            "picture": picture(graph, item["path"]),
        })
    return rows


class WriteAccess:
    """Who can write a resource: reverse searches over the engine's traversable edges."""

    def __init__(self, engine: PathEngine):
        self.engine = engine
        self.reverse: list[list[int]] = [[] for _ in engine.ids]  # edge numbers into each node
        for edge_no, (_, v, data) in enumerate(engine.edges):
            if data["kind"] != _ACCESS:
                self.reverse[v].append(edge_no)
        self.entries = {entry.node: entry for entry in engine.entries()}

    def _search(self, grants: list[tuple[int, RawPath, int]], mfa_free_only: bool) -> dict[int, RawPath]:
        """Shortest path from every node that reaches one of `grants` (grantee, final edge, scope depth)."""
        engine = self.engine
        path_of: dict[int, RawPath] = {}
        queue: deque[int] = deque()
        for grantee, final, _ in grants:
            if mfa_free_only and final[0][2].get("mfa_required") is True:
                continue
            if grantee not in path_of:
                path_of[grantee] = final
                queue.append(grantee)
        while queue:
            v = queue.popleft()
            for edge_no in self.reverse[v]:
                u, _, data = engine.edges[edge_no]
                if u in path_of or (mfa_free_only and not engine.mfa_free(data["kind"], data)):
                    continue
                path_of[u] = [(engine.ids[u], engine.ids[v], data), *path_of[v]]
                queue.append(u)
        return path_of

    def who_can_write(self, resource_id: str) -> list[dict[str, Any]]:
        """Every entry that can write the resource: through a grant on it, or on a scope that contains it
        (`through` names that scope)."""
        engine, graph = self.engine, self.engine.graph
        grants: list[tuple[int, RawPath]] = []
        scopes = [resource_id, *(engine.ids[i] for i in engine.within(engine.index[resource_id]))]
        for depth, scope in enumerate(scopes):
            for source, _, data in graph.in_edges(scope, data=True):
                if data["kind"] == _ACCESS and data.get("level") in _WRITE_LEVELS:
                    grantee = engine.index[source]
                    if engine.usable[grantee]:
                        grants.append((grantee, [(source, scope, data)], depth))
        for source, scope, data in engine.derived_access:
            if scope in scopes and engine.usable[engine.index[source]]:
                grants.append((engine.index[source], [(source, scope, data)], scopes.index(scope)))
        grants.sort(key=lambda item: (item[2], item[1][0][2]["level"] != "admin", engine.ids[item[0]]))
        shortest = self._search(grants, mfa_free_only=False)
        without_mfa = self._search(grants, mfa_free_only=True)
        rows = []
        for node, raw in shortest.items():
            entry = self.entries.get(node)
            if entry is None:
                continue
            pic = picture(graph, raw, entry.mfa, entry.human)
            data = engine.data[node]
            long_lived = entry.is_credential and engine.policy.is_long_lived(data.get("age_days"), data.get("expires"))
            rows.append({
                "entry": pic.entry["name"],
                "entry_kind": data.get("kind", ""),
                "provider": data.get("provider", ""),
                "entry_mfa": entry_mfa_mark(pic.entry),
                "mfa_on_every_path": entry.mfa is True or node not in without_mfa,
                "key_age": entry_age(pic.entry),
                "long_lived_key": long_lived,
                "level": pic.target["level"] if raw[-1][1] == resource_id else "write",  # a scope's writer writes it
                "hops": len(raw),
                "signs_in_as": engine.data[entry.identity].get("name", ""),
                "through": "" if raw[-1][1] == resource_id else graph.nodes[raw[-1][1]].get("name", raw[-1][1]),
                "human": entry.human,
                "entry_id": engine.ids[node],
                "picture": pic,
            })
        rows.sort(key=lambda row: (row["mfa_on_every_path"], row["hops"], row["entry_id"]))
        return rows
