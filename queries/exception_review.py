"""Exceptions judged on every scan: which findings each one hides, which it may not, and what needs review.

An exception hides a finding only while it is in force: not expired, within the policy's limits
(approval, lifetime, number of findings matched) and not outgrown. "Outgrown" compares the finding with
the fingerprint recorded when the exception was first applied to it (severity, gap types, target count,
the path's edge kinds and providers, a hash of the path). Those fingerprints live in the snapshot's
metadata (`exception_approvals`), carried from one scan to the next, and are recorded afresh when the
exception is re-approved (a new `approved_by` or `approved_at`). docs/exceptions.md.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from graph.times import iso
from queries.exceptions import PolicyException, day
from queries.findings import SEVERITY_RANK, ExceptionRef, Finding

APPROVALS = "exception_approvals"  # snapshot metadata: {exception id: {"approval": ..., "findings": {id: fingerprint}}}


@dataclass
class ExceptionReview:
    """One exception on one scan: its states (findings.EXCEPTION_STATES) and, per state that needs
    action, one sentence saying what is wrong and what to do."""

    id: str
    owner: str
    where: str
    scope: str
    expires: str
    approved_by: str | None
    approved_at: str | None
    ticket: str | None
    review_by: str | None
    states: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    matches: list[str] = field(default_factory=list)  # ids of the findings it matches
    hides: list[str] = field(default_factory=list)  # ids of the findings it excepts on this scan

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fingerprint(finding: Finding) -> dict[str, Any]:
    """What an approval covered: enough to tell later that the finding grew."""
    steps = "|".join(f"{step.source}>{step.kind}>{step.target}" for step in finding.path)
    return {
        "severity": finding.severity,
        "gap_types": sorted(finding.gap_types),
        "targets": finding.targets_count,
        "edge_kinds": sorted({step.kind for step in finding.path}),
        "providers": sorted(set(finding.providers)),
        "target_providers": sorted(finding.targets_by_provider),
        "path": hashlib.sha256(steps.encode()).hexdigest()[:16],
    }


def outgrowth(approved: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """How `now` exceeds what was `approved` (empty when it does not: fewer targets or a lower severity
    is still covered)."""
    reasons = []
    if now["targets"] > approved["targets"]:
        reasons.append(f"was {_targets(approved['targets'])}, now {now['targets']}")
    if SEVERITY_RANK[now["severity"]] > SEVERITY_RANK[approved["severity"]]:
        reasons.append(f"severity was {approved['severity']}, now {now['severity']}")
    for label, key in (("gap type", "gap_types"), ("provider on the path", "providers"),
                       ("kind of step on the path", "edge_kinds"), ("provider among the targets", "target_providers")):
        new = sorted(set(now.get(key) or ()) - set(approved.get(key) or now.get(key) or ()))
        if new:
            reasons.append(f"new {label}{'s' if len(new) > 1 else ''} {', '.join(new)}")
    if now["path"] != approved["path"] and not reasons:
        reasons.append("the path is a different one")
    return reasons


def _targets(count: int) -> str:
    return f"{count} target{'s' if count != 1 else ''}"


def _review(exc: PolicyException) -> ExceptionReview:
    return ExceptionReview(
        id=exc.id, owner=exc.owner, where=exc.where, scope=exc.scope, expires=exc.expires.isoformat(),
        approved_by=exc.approved_by, approved_at=exc.approved_at.isoformat() if exc.approved_at else None,
        ticket=exc.ticket, review_by=exc.review_by.isoformat() if exc.review_by else None,
    )


def refusals(exc: PolicyException, matched: int, rules: dict[str, Any], as_of: datetime) -> dict[str, str]:
    """The policy limits `exc` breaks (state -> sentence with the fix); any one refuses it. `matched`: how
    many findings it matches. Also what the dashboard's exception form refuses before writing."""
    refusals = {}
    if rules["require_approval"] and not exc.approved:
        refusals["unapproved"] = ("the policy requires approval (exceptions.require_approval): add approved_by "
                                  "and approved_at")
    start = exc.created or exc.approved_at or day(as_of)
    lifetime, limit = (exc.expires - start).days, int(rules["max_lifetime_days"])
    if lifetime > limit:
        since = "created" if exc.created else "approved_at" if exc.approved_at else "this scan"
        refusals["over_lifetime"] = (f"expires {lifetime} days after {since} ({start}); the policy allows "
                                     f"{limit} (exceptions.max_lifetime_days): set an earlier expires")
    limit = int(rules["max_findings"])
    if matched > limit and not (exc.broad and exc.approved):
        refusals["too_broad"] = (f"matches {matched} findings; the policy allows {limit} per exception "
                                 "(exceptions.max_findings): narrow the match, or add broad: true with approved_by and approved_at")
    return refusals


def judge_exceptions(
    findings: list[Finding],
    exceptions: list[PolicyException],
    rules: dict[str, Any],
    as_of: datetime,
    approvals: dict[str, Any],
    unread_sources: list[str] = (),  # type: ignore[assignment]
) -> tuple[list[ExceptionReview], dict[str, Any]]:
    """Mark the findings each exception hides (`excepted`) or would have and does not (open, with the
    exception's state and reason); return every exception's review and the approvals to carry on.

    `approvals`: the previous snapshot's `exception_approvals`. `unread_sources`: sources not fully
    covered, named when an exception matches nothing (it may match what was not read)."""
    today = day(as_of)
    window = int(rules["review_window_days"])
    reviews, carried = [], {}
    holds: dict[str, list[tuple[PolicyException, ExceptionRef, ExceptionReview]]] = {}  # finding id -> refs
    for exc in exceptions:
        review = _review(exc)
        reviews.append(review)
        matched = [finding for finding in findings if exc.matches(finding)]
        review.matches = [finding.id for finding in matched]
        record = approvals.get(exc.id)
        if not isinstance(record, dict) or record.get("approval") != exc.approval:
            record = {"approval": exc.approval, "findings": {}}
        carried[exc.id] = record
        problems = refusals(exc, len(matched), rules, as_of)
        if exc.expired(as_of):
            problems["expired"] = (f"expired {exc.expires}: its finding{'s are' if len(matched) != 1 else ' is'} "
                                   "open again; renew it (new expires and approval) or remove it")
        elif (exc.expires - today).days <= window:
            problems["expiring"] = (f"expires {exc.expires}, in {(exc.expires - today).days} days: renew it or "
                                    "fix the finding before then")
        if exc.review_by is not None and exc.review_by < today:
            problems["review_due"] = f"review was due {exc.review_by}: review it and set a new review_by"
        if not matched:
            unread = f" (not all sources were read: {', '.join(unread_sources)}; it may match what was not read)" \
                if unread_sources else ""
            problems["stale"] = f"matches no finding: remove it{unread}"
        refused = [state for state in ("unapproved", "over_lifetime", "too_broad") if state in problems]
        grown, in_force = [], False
        for finding in matched:
            if refused:
                ref_state, reason = "refused", f"exception {exc.id} is refused: {problems[refused[0]]}"
            elif "expired" in problems:
                ref_state, reason = "expired", (f"exception {exc.id} (owner {exc.owner}) expired {exc.expires}; "
                                                "the finding is open again")
            else:
                now = fingerprint(finding)
                approved = record["findings"].setdefault(finding.id, {**now, "recorded_at": iso(as_of)})
                change = outgrowth(approved, now)
                ref_state = "outgrown" if change else "in_force"
                reason = (f"outgrew its exception {exc.id}: {'; '.join(change)}; re-approve it (a new approved_at) "
                          "or remove the access" if change else "")
                if change:
                    grown.append(f"{finding.id} {'; '.join(change)}")
                in_force = in_force or not change
            ref = ExceptionRef(exc.id, exc.owner, exc.justification, exc.expires.isoformat(),
                               "expired" in problems, ref_state, reason)
            holds.setdefault(finding.id, []).append((exc, ref, review))
        if grown:
            problems["outgrown"] = (f"outgrew what was approved ({', '.join(grown)}): "
                                    f"{'those findings are' if len(grown) > 1 else 'the finding is'} open again; "
                                    "re-approve it (a new approved_at) or remove the access")
        review.states = [state for state in _ORDER if state in problems]
        review.problems = [problems[state] for state in review.states]
        if in_force:
            review.states.insert(0, "in_force")
    for finding in findings:
        refs = holds.get(finding.id)
        if not refs:
            continue
        _, ref, review = min(refs, key=lambda held: (_PREFERENCE[held[1].state], -held[0].expires.toordinal()))
        finding.exception, finding.status = ref, "excepted" if ref.state == "in_force" else "open"
        if ref.state == "in_force":
            review.hides.append(finding.id)
    return reviews, carried


# Which exception a finding shows when several match: one in force, else the most telling lapse.
_PREFERENCE = {"in_force": 0, "outgrown": 1, "refused": 2, "expired": 3}
_ORDER = ("expiring", "review_due", "expired", "stale", "outgrown", "unapproved", "too_broad", "over_lifetime")
