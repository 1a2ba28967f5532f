"""Findings and nodes as pandas tables: built once per snapshot, then filtered, sorted and paged."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import networkx as nx
import pandas as pd

from graph.schema import EdgeKind, Family
from queries.findings import SEVERITY_RANK, Analysis, Finding
from queries.reports.describe import path_text

PAGE_SIZE = 50
SORTS = {
    "rank": ("rank", True),
    "severity": ("severity_rank", False),
    "shortest path": ("hops", True),
    "most targets": ("targets", False),
    "oldest key": ("key_age_days", False),
}
SHOWN_COLUMNS = [
    "rank", "severity", "gaps", "status", "entry", "entry_kind", "entry_mfa", "key_age_days",
    "target", "target_environment", "level", "targets", "hops", "providers", "owner", "days_open", "overdue",
    "exception", "id",
]


def _mfa(value: bool | None) -> str:
    return {True: "yes", False: "no"}.get(value, "unknown")


def exception_status(finding: Finding) -> str:
    if finding.exception is None:
        return "none"
    return finding.exception.state.replace("_", " ")  # in force | expired | outgrown | refused


def findings_frame(analysis: Analysis) -> pd.DataFrame:
    rows = []
    for rank, finding in enumerate(analysis.findings, 1):
        entry, target = finding.entry, finding.target
        rows.append({
            "rank": rank,
            "id": finding.id,
            "severity": finding.severity,
            "severity_rank": SEVERITY_RANK[finding.severity],
            "gaps": ", ".join(finding.gap_types),
            "cross_stack": finding.cross_stack,
            "status": finding.status,
            "entry": entry.get("name") or entry.get("id"),
            "entry_id": entry.get("id"),
            "entry_kind": entry.get("kind"),
            "entry_provider": entry.get("provider"),
            "entry_mfa": "n/a (machine)" if entry.get("human") is False else _mfa(entry.get("mfa")),
            "key_age_days": entry.get("age_days"),
            "target": target.get("name") or target.get("id"),
            "target_id": target.get("id"),
            "target_environment": target.get("environment") or "unknown",
            "level": target.get("level"),
            "targets": finding.targets_count,
            "hops": finding.hops,
            "providers": " → ".join(finding.providers),
            "provider_set": frozenset(finding.providers),
            "owner": finding.owner,
            "days_open": finding.days_open,
            "overdue": finding.overdue,
            "exception": finding.exception.id if finding.exception else "",
            "exception_status": exception_status(finding),
            "title": finding.title,
            "path": path_text(finding),
        })
    frame = pd.DataFrame(rows, columns=None if rows else [*SHOWN_COLUMNS, "title", "entry_id", "target_id"])
    if rows:
        frame["key_age_days"] = frame["key_age_days"].astype("Int64")
        frame["search"] = (
            frame["id"] + " " + frame["title"] + " " + frame["entry_id"] + " " + frame["target_id"] + " "
            + frame["path"]
        ).str.lower()
    return frame


@dataclass
class FindingFilter:
    gap_types: list[str] = field(default_factory=list)  # any of them
    providers: list[str] = field(default_factory=list)  # any provider along the path
    cross_stack: str = "any"  # any | yes | no
    severities: list[str] = field(default_factory=list)
    entry_kinds: list[str] = field(default_factory=list)
    environments: list[str] = field(default_factory=list)
    exception_statuses: list[str] = field(default_factory=list)  # none | in force | expired | outgrown | refused
    search: str = ""

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty:
            return frame
        keep = pd.Series(True, index=frame.index)
        if self.gap_types:
            keep &= frame["gaps"].map(lambda gaps: any(g in gaps.split(", ") for g in self.gap_types))
        if self.providers:
            wanted = set(self.providers)
            keep &= frame["provider_set"].map(lambda providers: bool(providers & wanted))
        if self.cross_stack != "any":
            keep &= frame["cross_stack"] == (self.cross_stack == "yes")
        for column, values in (
            ("severity", self.severities),
            ("entry_kind", self.entry_kinds),
            ("target_environment", self.environments),
            ("exception_status", self.exception_statuses),
        ):
            if values:
                keep &= frame[column].isin(values)
        if self.search.strip():
            keep &= frame["search"].str.contains(self.search.strip().lower(), regex=False)
        return frame[keep]


def sort_frame(frame: pd.DataFrame, sort: str) -> pd.DataFrame:
    column, ascending = SORTS[sort]
    return frame.sort_values([column, "rank"], ascending=[ascending, True], na_position="last", kind="stable")


def page_of(frame: pd.DataFrame, page: int, size: int = PAGE_SIZE) -> pd.DataFrame:
    start = (max(page, 1) - 1) * size
    return frame.iloc[start:start + size]


def page_count(rows: int, size: int = PAGE_SIZE) -> int:
    return max(1, -(-rows // size))


def options(frame: pd.DataFrame, column: str) -> list[str]:
    if frame.empty:
        return []
    return sorted(str(v) for v in frame[column].dropna().unique())


def provider_options(frame: pd.DataFrame) -> list[str]:
    if frame.empty:
        return []
    return sorted(set().union(*frame["provider_set"]))


def subset(analysis: Analysis, ids: Iterable[str]) -> Analysis:
    """The same analysis with only these findings, in rank order: what the downloads write."""
    wanted = set(ids)
    return Analysis(
        findings=[f for f in analysis.findings if f.id in wanted],
        metadata=analysis.metadata,
        policy=analysis.policy,
        as_of=analysis.as_of,
        stats=analysis.stats,
    )


def _account_names(graph: nx.MultiDiGraph, node_id: str, data: dict) -> str:
    """A Person is also found by the names of its accounts ("Dana Ruiz" finds dana.ruiz@...)."""
    if data.get("family") != Family.PERSON:
        return ""
    return " ".join(str(graph.nodes[u].get("name") or "") for u, _, kind in graph.in_edges(node_id, data="kind")
                    if kind == EdgeKind.BELONGS_TO)


def nodes_frame(graph: nx.MultiDiGraph, families: tuple[str, ...]) -> pd.DataFrame:
    """id, name, kind, provider of every node in these families: the explorers' pick lists, searchable
    by id, name, email and UPN (a Person also by its accounts' names)."""
    rows = [
        (node_id, data.get("name") or node_id, data.get("kind", ""), data.get("provider", ""), data.get("family"),
         f"{node_id} {data.get('name', '')} {data.get('email') or ''} {data.get('upn') or ''} "
         f"{_account_names(graph, node_id, data)}".lower())
        for node_id, data in graph.nodes(data=True)
        if data.get("family") in families
    ]
    frame = pd.DataFrame(rows, columns=["id", "name", "kind", "provider", "family", "search"])
    return frame.sort_values(["name", "id"], kind="stable").reset_index(drop=True)


def search_nodes(frame: pd.DataFrame, text: str, limit: int = 200) -> pd.DataFrame:
    """Up to `limit` nodes whose id or name contains `text` (all of them when it is empty)."""
    if text.strip():
        frame = frame[frame["search"].str.contains(text.strip().lower(), regex=False)]
    return frame.head(limit)
