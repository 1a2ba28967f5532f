"""Run every registered AWS technique over every collected principal and draw the transfer edges
(CAN_GRANT, CAN_CREATE_CREDENTIAL, CAN_RUN_AS) from a principal to the identity it can become or
empower, through hub nodes where one grant reaches a whole set of identities.

The techniques are registered by techniques_iam, techniques_pass_role and techniques_workloads
(their frame is collectors.aws.technique_rules); role assumption (CAN_ASSUME: trust policy and
identity policy both required, cross-account included) is drawn and registered by
collectors.aws.trust. Coverage against pathfinding.cloud and PMapper is listed in
docs/collectors/aws.md ("Escalation techniques").
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from collectors.aws import techniques_iam, techniques_pass_role, techniques_workloads  # noqa: F401 (registration)
from collectors.aws.access_levels import canonical
from collectors.aws.policy_documents import bound_properties
from collectors.aws.technique_rules import Context, Hit, techniques
from collectors.aws.transform import Principal
from graph.records import Record, edge, node
from graph.schema import EdgeKind, Family
from graph.techniques import Technique

_SELF_ADMIN = frozenset({"iam:attachuserpolicy", "iam:attachrolepolicy", "iam:putuserpolicy", "iam:putrolepolicy"})


def is_account_admin(principal: Principal) -> bool:
    """Can write any identity's policies on `*` (AdministratorAccess, IAMFullAccess, ...) without MFA,
    with nothing excluded (NotResource, a partial Deny) and no permissions boundary capping it.

    Such a principal already holds admin over its account (HAS_PERMISSION), so, as PMapper does,
    no escalation edges are drawn from it: they would add nothing but noise. A bounded one keeps its
    edges: its own rights stay capped, but the identities it can rewrite are not.
    """
    if (principal.raw.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"):
        return False
    return any(g.resource == "*" and not g.excluded and not g.mfa_required and not g.bounds
               and _SELF_ADMIN <= g.actions for g in principal.grants)


# From this many targets on, one principal's identical hits go through a shared hub node: the
# principals holding a technique on `*` then cost one edge each instead of one per identity.
HUB_MIN_TARGETS = 25


@dataclass
class EscalationRecords:
    nodes: list[Record] = field(default_factory=list)
    edges: list[Record] = field(default_factory=list)


def _signature(hit: Hit) -> tuple[tuple[str, str, bool], ...]:
    return tuple(sorted((action, grant.via, grant.mfa_required) for action, grant in hit.grants)) + (
        (hit.assumed, "", False),)


def escalation_edges(ctx: Context) -> EscalationRecords:
    """Every registered technique over every collected principal; one edge per (source, target, kind).

    When one principal reaches HUB_MIN_TARGETS or more identities with a technique through the same
    grants (a grant on `*`), the edge goes to a hub node standing for exactly that set of identities,
    and the hub has one edge to each of them; principals reaching the same set share the hub. The
    reachable set and every edge's MFA requirement stay the same; the edge count grows linearly.
    """
    out = EscalationRecords()
    merged: dict[tuple[str, str, EdgeKind, bool, tuple[str, ...]], dict[str, Any]] = {}
    hubs: dict[str, list[Principal]] = {}
    catalogue = techniques()
    for data in ctx.accounts.values():
        for principal in data.principals():
            if not principal.grants or is_account_admin(principal):
                continue
            for item in catalogue:
                hits = list(item.derive.find(principal, ctx))
                if len(hits) >= HUB_MIN_TARGETS and len({_signature(h) for h in hits}) == 1:
                    reached = {h.target.node_id: h.target for h in hits}
                    if principal.type == hits[0].target.type:
                        # Holders of the same wildcard reach each other but not themselves; counting
                        # oneself in (a no-op) lets them share one hub.
                        reached[principal.node_id] = principal
                    targets = sorted(reached.items())
                    hub = _hub_id(data.account, item.id, [t for t, _ in targets])
                    if hub not in hubs:
                        hubs[hub] = [p for _, p in targets]
                        out.nodes.append(node(hub, Family.IDENTITY, "Group", "aws",
                                              f"{len(targets)} identities {item.id} reaches in {data.account}",
                                              f"aws:account/{data.account}", human=False, hub=True,
                                              techniques=[item.id], members=len(targets)))
                        for target_id, _ in targets:
                            out.edges.append(edge(hub, target_id, item.edge_kind,
                                                  f"{item.id} reaches every identity of this set",
                                                  mfa_required=False, conditions=[], techniques=[item.id],
                                                  **_grant_scope(item, data.account)))
                    _merge(merged, principal.node_id, hub, item, hits[0], data.account)
                    continue
                for hit in hits:
                    _merge(merged, principal.node_id, hit.target.node_id, item, hit, data.account)
    for (source, target, kind, _, bounds), entry in merged.items():
        via = f"{' / '.join(entry['techniques'])}: {'; '.join(entry['vias'])}"
        out.edges.append(edge(source, target, kind, via, mfa_required=all(entry["mfa"]),
                              conditions=entry["conditions"], actions=entry["actions"][:10],
                              techniques=entry["techniques"], **entry["grant_scope"], **bound_properties(bounds),
                              **assumed_properties(entry["assumed"])))
    return out


def _grant_scope(item: Technique, account: str) -> dict[str, str]:
    """A policy write confers admin over the target's account, to whoever can also act as the target."""
    return {"grant_scope": f"aws:account/{account}"} if item.changes_permissions else {}


def _hub_id(account: str, technique: str, targets: list[str]) -> str:
    digest = hashlib.sha1("\n".join(targets).encode()).hexdigest()[:12]
    return f"aws:account/{account}/reach/{technique}/{digest}"


def assumed_properties(reasons: list[str]) -> dict[str, Any]:
    """`assumed` / `assumed_reason` for an edge that every one of its hits draws on an assumption."""
    if not reasons or not all(reasons):
        return {}
    return {"assumed": True, "assumed_reason": " ".join(dict.fromkeys(reasons))}


def _merge(merged: dict[tuple[str, str, EdgeKind, bool, tuple[str, ...]], dict[str, Any]], source: str,
           target: str, item: Technique, hit: Hit, account: str) -> None:
    """Hits of one edge kind between the same two nodes become one edge, apart for techniques that change
    the target's permissions (they confer nothing on their own, see `_grant_scope`) and for grants whose
    time bounds differ: each window gets its own edge, so the graph builder can drop exactly the lapsed ones."""
    entry = merged.setdefault((source, target, item.edge_kind, item.changes_permissions, hit.bounds),
                              {"techniques": [], "vias": [], "actions": [], "mfa": [], "conditions": [],
                               "assumed": [], "grant_scope": _grant_scope(item, account)})
    entry["techniques"].append(item.id)
    entry["assumed"].append(hit.assumed)
    if hit.via and hit.via not in entry["vias"]:
        entry["vias"].append(hit.via)
    for action, grant in hit.grants:
        if grant.via not in entry["vias"]:
            entry["vias"].append(grant.via)
        if canonical(action) not in entry["actions"]:
            entry["actions"].append(canonical(action))
        entry["conditions"].extend(c for c in grant.conditions if c not in entry["conditions"])
    entry["mfa"].append(any(g.mfa_required for _, g in hit.grants))
