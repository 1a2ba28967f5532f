"""findings.sarif: SARIF 2.1.0 for code-scanning dashboards and CI gates.

One run; one rule per gap type; one result per finding, filed under its primary gap (NO_MFA or
LONG_LIVED_NHI_KEY) with CROSS_STACK as a tag. A finding under an exception in force is still a
result, with an accepted external suppression, so dashboards show it as dismissed, not gone.
Incomplete coverage goes in as tool notifications: a clean SARIF from half the sources must not
read as a clean estate.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from graph.coverage import CoverageStatus
from queries.findings import GAP_TYPES, Analysis, Finding
from queries.reports.coverage_text import coverage
from queries.reports.describe import GAPS, SEVERITY_LEVEL, path_text, primary_gap
from queries.reports.json_report import json_document

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "crosspathFindingId/v1"
_SECURITY_SEVERITY = {"NO_MFA": "8.0", "LONG_LIVED_NHI_KEY": "7.5", "CROSS_STACK": "5.0"}


def _tool_version(analysis: Analysis) -> str:
    recorded = (analysis.metadata or {}).get("tool_version")
    if recorded:
        return str(recorded)
    try:
        return version("crosspath")
    except PackageNotFoundError:
        return "unknown"


def _rule(gap: str) -> dict[str, Any]:
    info = GAPS[gap]
    return {
        "id": gap,
        "name": info.name,
        "shortDescription": {"text": info.short},
        "fullDescription": {"text": info.full},
        "help": {"text": info.help, "markdown": info.help},
        "defaultConfiguration": {"level": info.level},
        "properties": {"tags": ["security", "identity", gap], "security-severity": _SECURITY_SEVERITY[gap]},
    }


def _logical(node: dict[str, Any]) -> dict[str, Any]:
    return {"name": str(node.get("name") or node.get("id", "")), "fullyQualifiedName": str(node.get("id", "")),
            "kind": "resource"}


def _result(finding: Finding, rule_index: dict[str, int]) -> dict[str, Any]:
    rule = primary_gap(finding)
    result: dict[str, Any] = {
        "ruleId": rule,
        "ruleIndex": rule_index[rule],
        "kind": "fail",
        "level": SEVERITY_LEVEL.get(finding.severity, "warning"),
        "message": {"text": finding.title},
        "locations": [{"logicalLocations": [_logical(finding.entry)], "message": {"text": "entry"}}],
        "relatedLocations": [
            {"id": 1, "logicalLocations": [_logical(finding.target)], "message": {"text": "nearest privileged target"}}
        ],
        "partialFingerprints": {FINGERPRINT_KEY: finding.id},
        "properties": {
            "tags": list(finding.gap_types),
            "finding_id": finding.id,
            "severity": finding.severity,
            "status": finding.status,
            "gap_types": list(finding.gap_types),
            "cross_stack": finding.cross_stack,
            "mfa_unknown": finding.mfa_unknown,
            "targets_count": finding.targets_count,
            "targets_by_provider": dict(finding.targets_by_provider),
            "hops": finding.hops,
            "providers": list(finding.providers),
            "path": path_text(finding),
            "remediation": list(finding.remediation),
            "owner": finding.owner,
            "first_seen": finding.first_seen,
            "days_open": finding.days_open,
            "overdue": finding.overdue,
            "entry_last_used": finding.entry.get("last_used"),
            "entry_unused_days": finding.entry.get("unused_days"),
        },
    }
    exc = finding.exception
    if finding.status == "excepted" and exc is not None:
        result["suppressions"] = [{
            "kind": "external",
            "status": "accepted",
            "justification": f"{exc.justification} (owner {exc.owner}, expires {exc.expires or 'never'})",
            "properties": {"exception_id": exc.id, "owner": exc.owner, "expires": exc.expires},
        }]
    elif exc is not None:  # expired, outgrown or refused: the finding is open, and says why
        result["properties"]["lapsed_exception"] = {"id": exc.id, "owner": exc.owner, "expires": exc.expires,
                                                    "state": exc.state, "reason": exc.reason}
    return result


def to_sarif(analysis: Analysis) -> dict[str, Any]:
    rule_index = {gap: index for index, gap in enumerate(GAP_TYPES)}
    notifications = [
        {"level": "warning" if row.status != CoverageStatus.FAILED else "error", "message": {"text": row.statement}}
        for row in coverage(analysis) if not row.complete
    ]
    meta = analysis.metadata or {}
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "Crosspath",
                "version": _tool_version(analysis),
                "rules": [_rule(gap) for gap in GAP_TYPES],
            }},
            "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
            "results": [_result(finding, rule_index) for finding in analysis.findings],
            "properties": {
                "as_of": analysis.as_of,
                "collected_at": meta.get("collected_at"),
                "policy": analysis.policy.get("name"),
            },
        }],
    }


def render(analysis: Analysis) -> bytes:
    return json_document(to_sarif(analysis), sort_keys=False)
