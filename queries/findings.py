"""Finding types: what the path engine produces and every report consumes.

One finding per entry (a credential, or a human's interactive sign-in) that reaches
at least one privileged target through a gap path; `targets_count` says how many.
The JSON form (``Finding.to_dict``) is the documented `findings.json` schema
(docs/findings.md); other tools and scheduled jobs rely on it.
"""

from __future__ import annotations

import copy
import hashlib
from collections import Counter
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, ClassVar

NO_MFA = "NO_MFA"
LONG_LIVED_NHI_KEY = "LONG_LIVED_NHI_KEY"
CROSS_STACK = "CROSS_STACK"
GAP_TYPES = (NO_MFA, LONG_LIVED_NHI_KEY, CROSS_STACK)

# An exception's states on one scan (docs/exceptions.md); all but in_force need someone to act.
EXCEPTION_STATES = ("in_force", "expiring", "review_due", "expired", "stale", "outgrown", "unapproved",
                    "too_broad", "over_lifetime")

SEVERITIES = ("low", "medium", "high", "critical")
CARRIED = "carried"  # snapshot metadata: what one scan carries on to the next (Analysis.carried)
FIXES = "top_fixes"  # snapshot metadata: the scan's verified top fixes (crosspath/pipeline.py record_fixes)
CARRIED_IN = "carried_in"  # snapshot metadata: what the scan was judged against (the previous one's carried)
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}
_ATOMIC = frozenset({str, int, float, bool, type(None)})
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def fields_of(value: Any) -> dict[str, Any]:
    """A dataclass as its JSON object: its fields and the properties it names in `JSON_DERIVED` (a Finding's
    `hops`), by name, with the values themselves (shallow). findings.json is serialised from these as they are
    (json_report.json_document); `plain` copies them all the way down."""
    kind = type(value)
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = (*(f.name for f in fields(value)), *getattr(kind, "JSON_DERIVED", ()))
    return {name: getattr(value, name) for name in names}


def plain(value: Any) -> Any:
    """`dataclasses.asdict` for the findings' values (with the properties a class names in `JSON_DERIVED`):
    dataclasses become dicts and containers are copied all the way down, so the result shares nothing mutable
    with the finding. asdict deep-copies every leaf as well; at 100k identities that took 2.1 of the 2.4 s
    findings.json rendered in, before it was serialised from the findings themselves (fields_of)."""
    kind = type(value)
    if kind in _ATOMIC:
        return value
    if kind is list:
        return [plain(item) for item in value]
    if kind is dict:
        return {key: plain(item) for key, item in value.items()}
    if kind is tuple:
        return tuple(plain(item) for item in value)
    if is_dataclass(value):
        return {name: plain(item) for name, item in fields_of(value).items()}
    return copy.deepcopy(value)


def finding_id(entry_id: str) -> str:
    """Stable across runs: the same entry always yields the same finding id."""
    return "CP-" + hashlib.sha256(entry_id.encode()).hexdigest()[:12]


@dataclass
class NodeRef:
    id: str
    kind: str
    provider: str
    name: str
    family: str


@dataclass
class PathEdge:
    source: str
    target: str
    kind: str
    via: str
    mfa_required: bool | None
    source_name: str = ""
    target_name: str = ""
    source_provider: str = ""
    target_provider: str = ""
    level: str | None = None  # on the final HAS_PERMISSION edge
    conditions: list[str] = field(default_factory=list)
    techniques: list[str] = field(default_factory=list)  # catalogue ids of the techniques behind a derived edge
    assumed: bool = False  # drawn without the inventory that would prove it; assumed_reason says what is assumed
    assumed_reason: str = ""

    @classmethod
    def from_graph(cls, source: str, target: str, data: dict[str, Any], source_node: dict[str, Any],
                   target_node: dict[str, Any]) -> PathEdge:
        """One step of a path, from a graph edge's properties and its two nodes'."""
        return cls(
            source=source, target=target, kind=data["kind"], via=data.get("via", ""),
            mfa_required=data.get("mfa_required", data.get("mfa")),
            source_name=source_node.get("name", source), target_name=target_node.get("name", target),
            source_provider=source_node.get("provider", ""), target_provider=target_node.get("provider", ""),
            level=data.get("level"), conditions=list(data.get("conditions") or []),
            techniques=list(data.get("techniques") or []),
            assumed=data.get("assumed") is True, assumed_reason=str(data.get("assumed_reason") or ""),
        )

    @property
    def conditional(self) -> bool:
        """The step holds only when its conditions do (kept as text: not provable at collection time)."""
        return bool(self.conditions)


@dataclass
class ExceptionRef:
    """The exception that covers a finding, or that would have and does not (queries/exception_review.py)."""

    id: str
    owner: str
    justification: str
    expires: str | None
    expired: bool
    state: str = "in_force"  # in_force (the finding is excepted) | expired | outgrown | refused (it is open)
    reason: str = ""  # why an exception does not hide the finding, with what to do


@dataclass
class Finding:
    id: str
    gap_types: list[str]
    severity: str
    title: str
    entry: dict[str, Any]  # id, kind, provider, name, family, identity, human, mfa, created, expires, age_days
    target: dict[str, Any]  # nearest privileged target: id, kind, provider, name, level, environment
    targets_count: int
    providers: list[str]  # in path order, consecutive repeats folded
    path: list[PathEdge]
    mfa_unknown: bool = False
    targets_by_provider: dict[str, int] = field(default_factory=dict)
    explanation: list[str] = field(default_factory=list)
    remediation: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)  # policy rules the path breaks
    status: str = "open"  # open | excepted
    exception: ExceptionRef | None = None
    # Lifecycle (queries/lifecycle.py): carried across the snapshots of one OUT folder by the finding's id.
    first_seen: str | None = None  # collection time of the first snapshot with this finding (since it reopened)
    last_seen: str | None = None  # this snapshot's collection time
    days_open: int = 0
    new: bool = False  # not in the previous snapshot (every finding is new on a first scan)
    reopened: bool = False  # gone in an earlier snapshot, back in this one
    due: str | None = None  # first_seen plus the policy's sla_days for its severity
    overdue: bool = False  # open and past due
    # Who owns it (queries/owners.py): a team, or "unowned"; owner_source says how it was decided.
    owner: str = "unowned"
    owner_source: str = ""
    JSON_DERIVED: ClassVar[tuple[str, ...]] = ("hops",)  # in its JSON form too (fields_of)

    @property
    def hops(self) -> int:
        return len(self.path)

    @property
    def cross_stack(self) -> bool:
        return CROSS_STACK in self.gap_types

    def to_dict(self) -> dict[str, Any]:
        return plain(self)


@dataclass
class Analysis:
    """Everything a report needs: findings ranked, plus what the graph covered."""

    findings: list[Finding]
    metadata: dict[str, Any]  # snapshot metadata: collected_at, tool_version, coverage, errors
    policy: dict[str, Any]  # the effective policy (name, rules, thresholds)
    as_of: str
    stats: dict[str, Any] = field(default_factory=dict)  # nodes, edges, entries, privileged targets
    # Catalogue entries (graph.techniques, `Technique.to_dict()`) of the techniques on the findings' paths.
    techniques: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Every exception's state this scan (queries/exception_review.py ExceptionReview.to_dict()).
    exception_review: list[dict[str, Any]] = field(default_factory=list)
    # What the next scan carries on (snapshot metadata: approved fingerprints, first_seen); not a report field.
    carried: dict[str, Any] = field(default_factory=dict)
    # Since the previous snapshot (queries/lifecycle.py Changes): None on a first scan.
    changes: Any = None
    # The verified greedy fixes (queries/fixes.py), when the analysis was asked for them.
    top_fixes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def exception_issues(self) -> list[dict[str, Any]]:
        """Exceptions that need someone to act: anything but simply in force."""
        return [review for review in self.exception_review if review["problems"]]

    @property
    def open_findings(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.status == "open"]

    def summary(self) -> dict[str, Any]:
        open_ = self.open_findings
        by_gap = {gap: sum(gap in f.gap_types for f in open_) for gap in GAP_TYPES}
        by_severity = {sev: sum(f.severity == sev for f in open_) for sev in SEVERITIES}
        by_provider: dict[str, int] = {}
        for finding in open_:
            provider = finding.entry["provider"]
            by_provider[provider] = by_provider.get(provider, 0) + 1
        return {
            "findings": len(self.findings),
            "open": len(open_),
            "excepted": len(self.findings) - len(open_),
            "by_gap_type": by_gap,
            "by_severity": by_severity,
            "by_entry_provider": dict(sorted(by_provider.items())),
            "mfa_unknown": sum(f.mfa_unknown for f in open_),
            "new": sum(f.new for f in open_),
            "reopened": sum(f.reopened for f in open_),
            "overdue": sum(f.overdue for f in open_),
            "unowned": sum(f.owner == "unowned" for f in open_),
            "by_owner": dict(sorted(Counter(f.owner for f in open_).items())),
            "overdue_by_owner": dict(sorted(Counter(f.owner for f in open_ if f.overdue).items())),
            "exceptions": {state: sum(state in review["states"] for review in self.exception_review)
                           for state in EXCEPTION_STATES},
        }

    def to_dict(self, copy_findings: bool = True) -> dict[str, Any]:
        """The findings.json document. Each finding is a copy (Finding.to_dict), unless `copy_findings` is
        False: then the findings themselves, for a serialiser that reads dataclasses (json_report.json_document)."""
        return {
            "format": "crosspath-findings",
            "version": 1,
            "as_of": self.as_of,
            "snapshot": {key: value for key, value in self.metadata.items() if key not in (CARRIED, CARRIED_IN, FIXES)},
            "policy": self.policy,
            "stats": self.stats,
            "summary": self.summary(),
            "findings": [finding.to_dict() for finding in self.findings] if copy_findings else self.findings,
            "techniques": [self.techniques[t] for t in sorted(self.techniques)],
            "exception_review": self.exception_review,
            "since_previous": None if self.changes is None else {
                "new": [f.id for f in self.changes.new], "resolved": self.changes.resolved,
                "not_rechecked": self.changes.not_rechecked},
            "top_fixes": self.top_fixes,
        }
