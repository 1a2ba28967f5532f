"""Words every report format shares: one gap type, one edge, one path, one finding.

Every string here is plain text built from customer data; each format escapes it its own way
(Markdown entities, Jinja2 autoescape, CSV formula guard, SVG escape).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from queries.findings import CROSS_STACK, LONG_LIVED_NHI_KEY, NO_MFA, Analysis, Finding, PathEdge

TOP_PICTURES = 20  # HTML draws a path picture for this many open findings, in rank order
SEVERITY_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
MFA_LOCK = "🔒 MFA"
MFA_UNKNOWN = "MFA ?"
NO_MFA_MARK = "no MFA"
_KEY_KINDS = {"access_key", "sa_key", "client_secret", "certificate", "token"}


@dataclass(frozen=True)
class GapInfo:
    name: str
    short: str
    full: str
    help: str
    level: str  # SARIF defaultConfiguration.level


GAPS: dict[str, GapInfo] = {
    NO_MFA: GapInfo(
        "PrivilegedWriteWithoutMfa",
        "A privileged write path that no MFA check protects.",
        "An entry (a human's interactive sign-in or a credential) reaches write or admin on a privileged "
        "resource, and neither the entry nor any edge on the path requires a second factor. An unknown MFA "
        "state is reported as this gap, marked 'MFA ?', never silently as safe.",
        "Enforce MFA where the path starts: a Conditional Access policy or an MFA device for the person, or "
        "an MFA condition (aws:MultiFactorAuthPresent, PIM activation with MFA) on the first transfer edge. "
        "Remove the link that grants the access if it is not needed.",
        "error",
    ),
    LONG_LIVED_NHI_KEY: GapInfo(
        "LongLivedNonHumanKey",
        "A non-human identity's long-lived key reaches a privileged write.",
        "The entry is a key, secret or token of a non-human identity that never expires or is older than "
        "the policy's maximum age, and it reaches write or admin on a privileged resource.",
        "Rotate or remove the key, and replace it with the short-lived mechanism for its kind: an AWS access "
        "key with IAM Roles Anywhere, OIDC federation or an instance / task role; a GCP service account key "
        "with workload identity federation; an Entra client secret or certificate with a managed identity or "
        "a federated identity credential; a Kubernetes token Secret with projected short-lived tokens; a "
        "database password with IAM database authentication (RDS), Cloud SQL IAM or Entra authentication, or "
        "a secrets manager that rotates it. Otherwise set an expiry within the policy's maximum age.",
        "error",
    ),
    CROSS_STACK: GapInfo(
        "CrossStackPath",
        "The path crosses from one provider into another.",
        "A qualifier on the other gaps: the path starts in one stack (for example Entra ID or Kubernetes) "
        "and ends in another (for example AWS), so no single team's review sees it whole.",
        "Review the cross-stack link (SSO assignment, workload identity federation, a key stored in a "
        "secret) with the teams that own both sides.",
        "warning",
    ),
}


def primary_gap(finding: Finding) -> str:
    """The gap a finding is filed under: NO_MFA or LONG_LIVED_NHI_KEY; CROSS_STACK only qualifies."""
    for gap in finding.gap_types:
        if gap != CROSS_STACK:
            return gap
    return CROSS_STACK


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def short_list(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return f"{shown} and {len(items) - limit} more" if len(items) > limit else shown


def provider_shown(provider: str, node_id: str) -> str:
    """The provider a reader sees: 'azure' for an Azure resource (subscription, resource group, ...) that the
    Entra collector reads (node ids 'entra:azure/...'), else the provider as recorded."""
    return "azure" if provider == "entra" and str(node_id).startswith("entra:azure/") else provider


def label(name: str, node_id: str) -> str:
    return name or node_id


def edge_mfa_mark(edge: PathEdge) -> str:
    """Access edges carry no MFA; an authentication or transfer edge shows a lock or 'MFA ?'."""
    if edge.kind == "HAS_PERMISSION":
        return ""
    if edge.mfa_required is True:
        return MFA_LOCK
    return MFA_UNKNOWN if edge.mfa_required is None else ""


def entry_mfa_mark(entry: dict[str, Any]) -> str:
    """The entry's MFA badge: none for a machine (non-human) entry, which cannot answer MFA; its key's age
    (entry_age) is what is shown for it."""
    if entry.get("human") is False:
        return ""
    return {True: MFA_LOCK, False: NO_MFA_MARK}.get(entry.get("mfa"), MFA_UNKNOWN)


def entry_age(entry: dict[str, Any]) -> str:
    """'key 600 days old, never expires' — empty when the entry has no age (a sign-in); a machine's
    credential of unknown age says so."""
    age = entry.get("age_days")
    what = "key" if entry.get("kind") in _KEY_KINDS else "credential"
    if age is None:
        machine_credential = entry.get("human") is False and entry.get("family") == "Credential"
        return f"{what} of unknown age" if machine_credential else ""
    never = ", never expires" if entry.get("family") == "Credential" and not entry.get("expires") else ""
    return f"{what} {plural(age, 'day')} old{never}"


def edge_caveats(edge: PathEdge) -> list[str]:
    """'conditional: <condition>' and 'assumed: <reason>' for a step that holds only under a condition or
    that was drawn without the inventory that would prove it."""
    caveats = []
    if edge.conditions:
        caveats.append(f"conditional: {'; '.join(edge.conditions)}")
    if edge.assumed:
        caveats.append(f"assumed: {edge.assumed_reason or 'not proven by the collected inventory'}")
    return caveats


def edge_text(edge: PathEdge) -> str:
    """'source —KIND [via] → target', with the access level and MFA marks, then any caveats."""
    level = f" ({edge.level})" if edge.level else ""
    mark = edge_mfa_mark(edge)
    mark = f" ({mark})" if mark else ""
    source, target = label(edge.source_name, edge.source), label(edge.target_name, edge.target)
    caveats = "".join(f" — {caveat}" for caveat in edge_caveats(edge))
    return f"{source} —{edge.kind}{level} [{edge.via}] → {target}{mark}{caveats}"


def path_text(finding: Finding) -> str:
    """The compact one-line form: 'a —MEMBER_OF→ b —HAS_PERMISSION:write→ c'."""
    if not finding.path:
        return label(finding.entry.get("name", ""), finding.entry.get("id", ""))
    parts = [label(finding.path[0].source_name, finding.path[0].source)]
    for edge in finding.path:
        kind = f"{edge.kind}:{edge.level}" if edge.level else edge.kind
        mark = edge_mfa_mark(edge)
        mark = f"[{mark.replace('🔒 ', '')}]" if mark else ""
        parts.append(f"—{kind}{mark}→ {label(edge.target_name, edge.target)}")
    return " ".join(parts)


def more_targets(finding: Finding) -> str:
    others = finding.targets_count - 1
    return f"and {others} more privileged target{'s' if others != 1 else ''}" if others > 0 else ""


def counts_text(counts: dict[str, Any]) -> str:
    """Coverage counters (or any counts) as one line, keys as recorded: `edges.HAS_PERMISSION 14, nodes.User 10`."""
    return ", ".join(f"{key} {value}" for key, value in sorted(counts.items()))


def exception_note(finding: Finding) -> str:
    exc = finding.exception
    if exc is None:
        return ""
    expiry = f"expires {exc.expires}" if exc.expires else "no expiry"
    if exc.state != "in_force":
        return exc.reason
    return f"excepted by {exc.id}: owner {exc.owner}, {expiry}; justification: {exc.justification}"


@dataclass
class FindingView:
    """One finding as the human-readable formats show it (plain text, unescaped)."""

    rank: int
    finding: Finding
    entry: str
    entry_marks: list[str]
    target: str
    more: str
    by_provider: str
    providers: str
    steps: list[str] = field(default_factory=list)
    exception: str = ""
    owner: str = ""
    open_for: str = ""


def finding_view(rank: int, finding: Finding) -> FindingView:
    entry, target = finding.entry, finding.target
    marks = [entry_mfa_mark(entry), entry_age(entry)]
    return FindingView(
        rank=rank,
        finding=finding,
        entry=f"{entry.get('name', '')} ({entry.get('provider', '')} {entry.get('kind', '')}, {entry.get('id', '')})",
        entry_marks=[mark for mark in marks if mark],
        target=(
            f"{target.get('name', '')} ({provider_shown(target.get('provider', ''), target.get('id', ''))} "
            f"{target.get('kind', '')}, "
            f"{target.get('level') or '?'}, {target.get('environment') or 'unknown'} — {target.get('id', '')})"
        ),
        more=more_targets(finding),
        by_provider=counts_text(finding.targets_by_provider) if finding.targets_count > 1 else "",
        providers=" → ".join(finding.providers),
        steps=[edge_text(edge) for edge in finding.path],
        exception=exception_note(finding),
        owner=f"{finding.owner} ({finding.owner_source})" if finding.owner != "unowned" else finding.owner,
        open_for=open_for(finding),
    )


Views = tuple[list[FindingView], list[FindingView]]
_HELD: dict[int, tuple[Analysis, Views | None]] = {}  # id(analysis) -> it and its views, while views_held runs


def finding_views(analysis: Analysis) -> Views:
    """(open, excepted), each in the analysis's rank order, ranks counted within each list. Worked out once
    for the formats rendered inside views_held(analysis)."""
    held = _HELD.get(id(analysis))
    if held is not None and held[1] is not None:
        return held[1]
    open_ = [f for f in analysis.findings if f.status != "excepted"]
    excepted = [f for f in analysis.findings if f.status == "excepted"]
    views = ([finding_view(i, f) for i, f in enumerate(open_, 1)],
             [finding_view(i, f) for i, f in enumerate(excepted, 1)])
    if held is not None:
        _HELD[id(analysis)] = (analysis, views)
    return views


@contextmanager
def views_held(analysis: Analysis) -> Iterator[None]:
    """Inside, finding_views(analysis) is worked out once (write_reports: Markdown and HTML share it; at 100k
    identities 0.47 s each). The analysis must not change inside; it is held, so its id stays its own. Inside
    another views_held of the same analysis (or another thread's), the outer one keeps and drops the views."""
    if id(analysis) in _HELD:
        yield
        return
    _HELD[id(analysis)] = (analysis, None)
    try:
        yield
    finally:
        del _HELD[id(analysis)]


def open_for(finding: Finding) -> str:
    """`open 12 days (since 2026-10-20), new, overdue (due 2026-10-27)`."""
    since = f" (since {finding.first_seen[:10]})" if finding.first_seen else ""
    marks = [mark for mark, on in (("reopened", finding.reopened), ("new", finding.new and not finding.reopened))
             if on]
    if finding.overdue:
        marks.append(f"overdue (due {finding.due[:10]})" if finding.due else "overdue")
    elif finding.due and finding.status == "open":
        marks.append(f"due {finding.due[:10]}")
    return ", ".join([f"open {plural(finding.days_open, 'day')}{since}", *marks])


def exception_states_text(review: dict[str, Any]) -> str:
    """An exception's states as words: `in force, expiring`."""
    return ", ".join(state.replace("_", " ") for state in review["states"])


def exception_counts_text(analysis: Analysis) -> str:
    """`1 in force · 1 expiring · 1 stale` (states held by at least one exception)."""
    counts = analysis.summary()["exceptions"]
    return " · ".join(f"{count} {state.replace('_', ' ')}" for state, count in counts.items() if count)


FIXES_NOTE = ("Each count is verified: the change applied, the path engine run again, the open findings that "
              "no longer have any gap path counted (fewer targets is not closed). Greedy: each fix counts only "
              "what the fixes above it left open.")


def fix_cut_text(fix: dict) -> str:
    """Said beside a fix when the candidate bound stopped the search before it proved this the best pick."""
    count = fix.get("unverified_candidates") or 0
    return (f"{plural(count, 'candidate')} left unverified by the candidate bound could have closed as many"
            if count else "")
