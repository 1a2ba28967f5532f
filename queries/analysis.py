"""Gap paths -> ranked, explained, exception-aware findings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import networkx as nx

from graph.techniques import Catalogue
from graph.times import iso
from queries.exception_review import APPROVALS, judge_exceptions
from queries.exceptions import PolicyException
from queries.findings import (
    CARRIED,
    CARRIED_IN,
    CROSS_STACK,
    LONG_LIVED_NHI_KEY,
    NO_MFA,
    SEVERITIES,
    SEVERITY_RANK,
    Analysis,
    Finding,
    PathEdge,
    finding_id,
)
from queries.fixes import top_fixes as fixes_for
from queries.key_use import is_unused, unused_days
from queries.lifecycle import carry_lifecycle, changes_since
from queries.owners import OwnerFinder, OwnerRules
from queries.paths import ADMIN, SCOPE_ADMIN, GapPath, PathEngine
from queries.policy import Policy

PROVIDER_NAMES = {
    "aws": "AWS",
    "entra": "Entra ID",
    "gcp": "GCP",
    "k8s": "Kubernetes",
    "postgres": "PostgreSQL",
    "mysql": "MySQL",
    "external": "external",
}


def replacement(provider: str, kind: str, scope: dict[str, Any] | None = None) -> str:
    """The short-lived mechanism that replaces a long-lived credential of this provider and kind (a database
    password: the server's own IAM sign-in where the server is known to be RDS or Cloud SQL)."""
    if provider == "aws" and kind == "access_key":
        return ("temporary credentials: IAM Roles Anywhere, OIDC federation (AssumeRoleWithWebIdentity, e.g. "
                "from a CI provider) or an instance / task / function role")
    if provider == "aws":
        return "IAM Identity Center (SSO) sign-in or a role assumed with temporary credentials"
    if provider == "gcp":
        return ("workload identity federation (or an attached service account / GKE Workload Identity) "
                "instead of a service account key")
    if provider == "entra":
        return ("a managed identity, or a federated identity credential (workload identity federation) on the "
                "app registration instead of a client secret or certificate")
    if provider == "k8s":
        return ("projected short-lived service account tokens (the TokenRequest API, mounted by default) "
                "instead of a long-lived token Secret")
    if provider in ("postgres", "mysql"):
        scope = scope or {}
        if scope.get("aws_rds_resource_id"):
            return "IAM database authentication (Amazon RDS), or a secrets manager that rotates the password"
        if scope.get("gcp_cloudsql_instance"):
            return "Cloud SQL IAM database authentication, or a secrets manager that rotates the password"
        return ("IAM database authentication (Amazon RDS), Cloud SQL IAM database authentication or Microsoft "
                "Entra authentication (Azure Database), or a secrets manager that rotates the password")
    return "short-lived federation (workload identity, OIDC)"


AZURE_KINDS = {"subscription", "resource_group", "management_group", "azure_resource"}


def provider_name(data: dict[str, Any]) -> str:
    """'AWS', 'Entra ID', ...; an Azure resource (subscription, resource group, ...) read by the Entra
    collector is 'Azure', the service it belongs to, not 'Entra ID'."""
    if data.get("provider") == "entra" and (data.get("kind") in AZURE_KINDS
                                            or str(data.get("id", "")).startswith("entra:azure/")):
        return "Azure"
    return PROVIDER_NAMES.get(data["provider"], data["provider"])


def _describe(data: dict[str, Any]) -> str:
    return f"{provider_name(data)} {data['kind']} {data['name']}"


def _fold(values: list[str]) -> list[str]:
    folded: list[str] = []
    for value in values:
        if not folded or folded[-1] != value:
            folded.append(value)
    return folded


def _severity(policy: Policy, max_class: int, downgrade: bool) -> str:
    levels = policy.raw["severity"]
    key = "scope_admin" if max_class >= SCOPE_ADMIN else "admin" if max_class >= ADMIN else "write"
    rank = SEVERITY_RANK[levels[key]]
    if downgrade:
        rank = max(0, rank - int(levels["unknown_mfa_downgrade"]))
    return SEVERITIES[rank]


def _caveats(number: int, step: PathEdge) -> list[str]:
    """What a step stands on besides its grant: a condition not provable at collection time, an assumption."""
    lines = []
    if step.conditional:
        lines.append(f"Step {number} ({step.source_name} —{step.kind}→ {step.target_name}) is conditional: "
                     f"{'; '.join(step.conditions)}. The path holds only when that condition does.")
    if step.assumed:
        reason = f" {step.assumed_reason}" if step.assumed_reason else ""
        lines.append(f"Step {number} ({step.source_name} —{step.kind}→ {step.target_name}) is assumed, "
                     f"not proven by the collected inventory:{reason}")
    return lines


class _FindingBuilder:
    def __init__(self, engine: PathEngine, policy: Policy, as_of: datetime):
        self.engine = engine
        self.policy = policy
        self.as_of = as_of
        self.nodes = engine.nodes

    def _entry(self, gap: GapPath) -> dict[str, Any]:
        entry = self.engine.data[gap.entry.node]
        identity = self.engine.data[gap.entry.identity]
        return {
            "id": entry["id"],
            "kind": entry["kind"],
            "provider": entry["provider"],
            "name": entry["name"],
            "family": entry["family"],
            "identity": identity["id"],
            "identity_name": identity["name"],
            "human": gap.entry.human,
            "mfa": gap.entry.mfa,
            "created": entry.get("created"),
            "expires": entry.get("expires"),
            "age_days": entry.get("age_days"),
            "last_used": entry.get("last_used"),
            "unused_days": unused_days(entry, self.as_of),
            "long_lived": gap.long_lived,
            "members_known": not gap.entry.members_unknown,
        }

    def unused(self, entry: dict[str, Any]) -> bool:
        """A long-lived key nobody has used for longer than the policy's maximum key age: delete, not rotate."""
        return entry["long_lived"] and is_unused(entry["unused_days"], self.policy.max_key_age_days)

    def _path(self, gap: GapPath) -> list[PathEdge]:
        return [PathEdge.from_graph(source, target, data, self.nodes[source], self.nodes[target])
                for source, target, data in gap.edges]

    def _title(self, entry: dict[str, Any], gap: GapPath, target: dict[str, Any], count: int) -> str:
        if gap.long_lived:
            age = entry["age_days"]
            qualifier = f"(key {age} days old" if age is not None else "(key of unknown age"
            qualifier += ", never expires)" if entry["expires"] is None else ")"
        elif not entry["members_known"]:
            qualifier = "(members unknown, MFA unknown)"
        elif entry["mfa"] is None:
            qualifier = "(MFA unknown)"
        else:
            qualifier = "without MFA"
        who = f"{provider_name(entry)} {entry['kind']} {entry['name']}"
        what = f"{target['level']} {_describe(self.nodes[target['id']])}"
        more = f" and {count - 1} more privileged target(s)" if count > 1 else ""
        return f"{who} {qualifier} can {what}{more}"

    def _explanation(self, path: list[PathEdge], entry: dict[str, Any]) -> list[str]:
        lines = []
        if not entry["members_known"]:
            lines.append(f"{entry['name']} is a group whose members the export does not show: each member holds "
                         "what the group holds, and whether they sign in with MFA is unknown.")
        elif entry["family"] == "Identity":
            mfa = {True: "enforces MFA", False: "does not enforce MFA", None: "MFA state unknown"}[entry["mfa"]]
            lines.append(f"{entry['name']} signs in interactively; sign-in {mfa}.")
        for number, step in enumerate(path, 1):
            if step.kind == "HAS_PERMISSION":
                lines.append(f"{step.source_name} has {step.level} on {step.target_name} via {step.via}.")
            else:
                mfa = " (no MFA required)" if step.mfa_required is False else ""
                if step.mfa_required is None:
                    mfa = " (MFA requirement unknown)"
                lines.append(f"{step.source_name} —{step.kind}→ {step.target_name} via {step.via}{mfa}.")
            lines.extend(_caveats(number, step))
        return lines

    def _remediation(self, gap: GapPath, entry: dict[str, Any], path: list[PathEdge]) -> list[str]:
        advice = []
        if not entry["members_known"]:
            advice.append(f"Export the members of {entry['name']} (Cloud Identity Groups / Graph group members) "
                          "so each becomes its own entry, or grant the role to named identities instead of the "
                          "group; a domain or allUsers grant should not hold write or admin at all.")
        if gap.no_mfa:
            advice.append(
                f"Enforce MFA for {entry['identity_name']} (a Conditional Access policy, an MFA device, or an "
                "MFA condition such as aws:MultiFactorAuthPresent on the first transfer edge)."
            )
        if entry["unused"]:
            since = f"last used {entry['last_used'][:10]}" if entry["last_used"] else "never used"
            advice.append(f"Delete credential {entry['name']}: it is unused ({since}, {entry['unused_days']} days "
                          "without use), so nothing depends on it.")
        elif gap.long_lived:
            server = self.engine.data[gap.entry.node].get("scope")
            mechanism = replacement(entry["provider"], entry["kind"],
                                    self.nodes.get(server))
            advice.append(
                f"Rotate or remove credential {entry['name']}; replace it with {mechanism}, or set an expiry "
                "within the policy's maximum age."
            )
        transfer = [step for step in path if step.kind not in ("AUTHENTICATES", "HAS_PERMISSION")]
        if transfer:
            advice.append(f"Or remove the link '{transfer[0].via}' if it is not needed.")
        return advice

    def build(self, gap: GapPath) -> Finding:
        entry = self._entry(gap)
        entry["unused"] = self.unused(entry)
        path = self._path(gap)
        last = path[-1]
        target_data = self.nodes[last.target]
        target = {
            "id": last.target,
            "kind": target_data["kind"],
            "provider": target_data["provider"],
            "name": target_data["name"],
            "level": last.level,
            "environment": self.engine.environment(self.engine.index[last.target]),
        }
        providers = _fold([entry["provider"]] + [step.target_provider for step in path])
        gap_types = []
        if gap.no_mfa:
            gap_types.append(NO_MFA)
        if gap.long_lived:
            gap_types.append(LONG_LIVED_NHI_KEY)
        if len(set(providers)) > 1 or set(gap.targets_by_provider) - {entry["provider"]}:
            gap_types.append(CROSS_STACK)
        mfa_unknown = gap.no_mfa and gap.entry.mfa is None
        rules = []
        if gap.no_mfa:
            rules.append(self.policy.mfa_rule["id"])
        if gap.long_lived:
            rules.append(self.policy.key_rule["id"])
        return Finding(
            id=finding_id(entry["id"]),
            gap_types=gap_types,
            severity=_severity(self.policy, gap.max_class, mfa_unknown and not gap.long_lived),
            title=self._title(entry, gap, target, gap.targets_count),
            entry=entry,
            target=target,
            targets_count=gap.targets_count,
            providers=providers,
            path=path,
            mfa_unknown=mfa_unknown,
            targets_by_provider=gap.targets_by_provider,
            explanation=self._explanation(path, entry),
            remediation=self._remediation(gap, entry, path),
            rules=rules,
        )


def rank(findings: list[Finding]) -> list[Finding]:
    """Most severe first; among equals the shortest path, then the widest reach, then an unused key, then the id."""
    return sorted(findings, key=lambda f: (-SEVERITY_RANK[f.severity], f.hops, -f.targets_count,
                                           not f.entry.get("unused"), f.id))


def analyze(
    graph: nx.MultiDiGraph | None,
    metadata: dict[str, Any],
    policy: Policy,
    exceptions: list[PolicyException],
    as_of: datetime,
    engine: PathEngine | None = None,
    techniques: Catalogue | None = None,
    carried: dict[str, Any] | None = None,
    top_fixes: int = 0,  # how many verified fixes to compute (queries/fixes.py); 0: none
) -> Analysis:
    """`engine`: one already built for this graph and policy (the dashboard keeps one for its explorers);
    `graph` may then be None when the engine was compiled from a snapshot's tables (PathEngine.from_tables)
    and no top fixes are asked for (their search changes a copy of the graph).
    `techniques`: the technique catalogue, whose entries for the techniques on the findings' paths go
    into the analysis (reports explain and link them). `carried`: what the previous snapshot carried on
    (its metadata's exception_approvals and lifecycle); by default, what the snapshot's own scan was judged
    against (`carried_in`; older snapshots: what they carry on)."""
    engine = engine or PathEngine(graph, policy)
    builder = _FindingBuilder(engine, policy, as_of)
    findings = rank([builder.build(gap) for gap in engine.gap_paths()])
    if carried is None:  # re-analysing a snapshot: against what its scan was judged against
        carried = metadata[CARRIED_IN] if isinstance(metadata.get(CARRIED_IN), dict) else metadata.get(CARRIED) or {}
    unread = sorted(name for name, coverage in (metadata.get("coverage") or {}).items()
                    if isinstance(coverage, dict) and coverage.get("status") != "complete")
    review, approvals = judge_exceptions(findings, exceptions, policy.exception_rules, as_of,
                                         carried.get(APPROVALS) or {}, unread)
    lifecycle = carry_lifecycle(findings, carried, as_of, policy.raw["sla_days"], set(unread))
    owners = OwnerFinder(engine, OwnerRules.of(policy.raw["owners"]))
    for finding in findings:
        owner = owners.owner(finding.entry, finding.target)
        finding.owner, finding.owner_source = owner.team, owner.source
    stats = {
        "nodes": len(engine.ids) if graph is None else graph.number_of_nodes(),
        # The engine counted the edges while compiling this graph (number_of_edges() walks them all again).
        "edges": engine.edge_count if engine.graph is graph else graph.number_of_edges(),
        "entries": len(engine.entries()),
        "privileged_targets": len({r for rows in engine.access for r, _, _ in rows}),
    }
    used = {t for finding in findings for step in finding.path for t in step.techniques}
    entries = {t: techniques[t].to_dict() for t in sorted(used) if techniques is not None and t in techniques}
    changes = changes_since(carried, findings, set(unread))
    open_ids = [finding.id for finding in findings if finding.status == "open"]
    fixes = fixes_for(graph, policy, open_ids, top_fixes, as_of, engine) if top_fixes else []  # queries/fixes.py
    return Analysis(findings=findings, metadata=metadata, policy=policy.summary(), as_of=iso(as_of), stats=stats,
                    techniques=entries, exception_review=[item.to_dict() for item in review],
                    carried={APPROVALS: approvals, **lifecycle}, changes=changes, top_fixes=fixes)
