"""The notice one `crosspath run` sends: plain data the caller fills, the same for every channel.

`Notice.to_dict()` is the documented JSON (docs/notifications.md) the generic webhook posts.
A channel with `teams: [...]` gets `notice.for_teams(teams)`: only the findings those teams own.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

NOTICE_FORMAT = "crosspath-notice"
NOTICE_VERSION = 1
SECTIONS = ("new", "reopened", "overdue")  # the lists a notice announces, in the order every channel shows them


@dataclass(frozen=True)
class NoticeFinding:
    """One finding to announce: enough to recognise it and know whose it is."""

    id: str
    severity: str
    title: str
    entry: str  # the entry's name (credential or person)
    owner: str | None = None
    team: str | None = None
    days_open: int | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NoticeFinding:
        return cls(id=str(data["id"]), severity=str(data["severity"]), title=str(data["title"]),
                   entry=str(data.get("entry") or ""), owner=data.get("owner"), team=data.get("team"),
                   days_open=data.get("days_open"))

    @classmethod
    def from_finding(cls, finding: Any, *, owner: str | None = None, team: str | None = None,
                     days_open: int | None = None) -> NoticeFinding:
        """From a queries.findings.Finding (owner and team come from the run's owner rules)."""
        return cls(id=finding.id, severity=finding.severity, title=finding.title,
                   entry=str(finding.entry.get("name") or finding.entry.get("id") or ""),
                   owner=owner, team=team, days_open=days_open)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "severity": self.severity, "title": self.title, "entry": self.entry,
                "owner": self.owner, "team": self.team, "days_open": self.days_open}


@dataclass(frozen=True)
class NoticeCounts:
    """The whole run's numbers (never narrowed by a channel's teams)."""

    open: int = 0
    new: int = 0
    reopened: int = 0
    overdue: int = 0
    excepted: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"open": self.open, "new": self.new, "reopened": self.reopened, "overdue": self.overdue,
                "excepted": self.excepted}


@dataclass(frozen=True)
class Notice:
    title: str  # e.g. "Crosspath run" or the run config's name
    organisation: str
    as_of: str  # ISO time of the scan
    counts: NoticeCounts = field(default_factory=NoticeCounts)
    new: list[NoticeFinding] = field(default_factory=list)
    reopened: list[NoticeFinding] = field(default_factory=list)
    overdue: list[NoticeFinding] = field(default_factory=list)
    # The fixes that close the most findings: {"description": str, "closes": int} (an optional "team" key
    # keeps a fix in that team's notices; a fix without one appears only in unfiltered notices).
    top_fixes: list[dict[str, Any]] = field(default_factory=list)
    report_url: str | None = None
    teams: list[str] | None = None  # set by for_teams: this notice shows only these teams' findings
    # What this run did not read (the coverage gate's problems): a notice never passes as complete without it.
    coverage: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Notice:
        """From plain data (the shape of to_dict; format/version keys are optional)."""
        counts = data.get("counts") or {}
        return cls(
            title=str(data.get("title") or "Crosspath"), organisation=str(data.get("organisation") or ""),
            as_of=str(data.get("as_of") or ""),
            counts=NoticeCounts(**{key: int(counts.get(key) or 0) for key in NoticeCounts().to_dict()}),
            new=[NoticeFinding.from_dict(item) for item in data.get("new") or []],
            reopened=[NoticeFinding.from_dict(item) for item in data.get("reopened") or []],
            overdue=[NoticeFinding.from_dict(item) for item in data.get("overdue") or []],
            top_fixes=[dict(fix) for fix in data.get("top_fixes") or []],
            report_url=data.get("report_url"), teams=list(data["teams"]) if data.get("teams") else None,
            coverage=[str(problem) for problem in data.get("coverage") or []],
        )

    def section(self, name: str) -> list[NoticeFinding]:
        return {"new": self.new, "reopened": self.reopened, "overdue": self.overdue}[name]

    @property
    def has_news(self) -> bool:
        """Something new, reopened or overdue to announce, or data the run did not read; without it nothing
        is sent unless `always`."""
        return bool(self.coverage) or any(self.section(name) for name in SECTIONS)

    def announced(self) -> dict[str, int]:
        """How many findings this notice lists per section (after any team filter)."""
        return {name: len(self.section(name)) for name in SECTIONS}

    def for_teams(self, teams: list[str] | None) -> Notice:
        """Only the findings whose team is listed (a finding with no team is nobody's: left out)."""
        if not teams:
            return self
        wanted = set(teams)

        def keep(findings: list[NoticeFinding]) -> list[NoticeFinding]:
            return [finding for finding in findings if finding.team in wanted]

        return replace(self, new=keep(self.new), reopened=keep(self.reopened), overdue=keep(self.overdue),
                       top_fixes=[fix for fix in self.top_fixes if fix.get("team") in wanted],
                       teams=sorted(wanted))

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": NOTICE_FORMAT,
            "version": NOTICE_VERSION,
            "title": self.title,
            "organisation": self.organisation,
            "as_of": self.as_of,
            "teams": self.teams,
            "counts": self.counts.to_dict(),
            "coverage": self.coverage,
            "announced": self.announced(),
            "new": [finding.to_dict() for finding in self.new],
            "reopened": [finding.to_dict() for finding in self.reopened],
            "overdue": [finding.to_dict() for finding in self.overdue],
            "top_fixes": [dict(fix) for fix in self.top_fixes],
            "report_url": self.report_url,
        }
