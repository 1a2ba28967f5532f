"""A principal's evaluated grants -> HAS_PERMISSION and FEDERATES_TO (IAM database auth).

Power over other identities (CAN_GRANT, CAN_CREATE_CREDENTIAL, CAN_RUN_AS) is drawn by the
registered techniques in collectors.aws.escalation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from collectors.aws.access_levels import action_level, canonical, has_wildcard, highest
from collectors.aws.policy_documents import Grant, PolicyRef, bound_properties
from collectors.aws.resources import Target, resolve_target
from collectors.aws.transform import Principal
from graph.records import Record, edge, node
from graph.schema import LEVEL_RANK, EdgeKind, Family

MAX_ACTIONS = 10
# Role assumption is modelled by CAN_ASSUME from the trust policy, not as a permission on the account.
_ASSUME_ACTIONS = frozenset({
    "sts:assumerole", "sts:assumerolewithsaml", "sts:assumerolewithwebidentity", "sts:tagsession",
    "sts:setsourceidentity", "sts:setcontext",
})
_DB_CONNECT = "rds-db:connect"


@dataclass
class _Aggregate:
    target: Target
    policy: PolicyRef
    levels: set[str] = field(default_factory=set)
    actions: dict[str, int] = field(default_factory=dict)  # display action -> level rank
    conditions: list[str] = field(default_factory=list)
    mfa_required: list[bool] = field(default_factory=list)
    statements: list[str] = field(default_factory=list)
    bounds: tuple[str, ...] = ()  # the grants' time bounds: grants with other bounds get their own edge

    @property
    def via(self) -> str:
        return f"{self.policy.via}, {', '.join(self.statements)}" if self.statements else self.policy.via


@dataclass
class PermissionRecords:
    nodes: list[Record] = field(default_factory=list)
    edges: list[Record] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _full_control(grant: Grant, target: Target) -> bool:
    """`*` or `service:*` on the resource itself is full control of it (admin)."""
    if grant.reduced_by_deny or target.collapsed:
        return False
    for pattern in grant.patterns:
        text = pattern.strip().lower()
        if text == "*":
            return True
        service, _, action = text.partition(":")
        if action == "*" and not has_wildcard(service) and (target.kind == "account" or service == target.service):
            return True
    return False


def _sample(grant: Grant, on_account_or_iam: bool, actions: frozenset[str]) -> dict[str, int]:
    """Up to MAX_ACTIONS native actions: as written when that is faithful, else the strongest ones."""
    if grant.patterns and not grant.reduced_by_deny and not grant.not_action:
        written = [p for p in grant.patterns if p.strip().lower() not in _ASSUME_ACTIONS]
        return {p: LEVEL_RANK[action_level(p.lower(), on_account_or_iam)] for p in written[:MAX_ACTIONS]}
    return {canonical(a): rank for a, rank in _strongest(actions, on_account_or_iam)}


@lru_cache(maxsize=32)
def _without_assume(actions: frozenset[str]) -> frozenset[str]:
    """actions less role assumption; grants of one statement share their action set (a frozenset caches its
    hash), so a NotAction set is copied once, not once per principal."""
    return actions - _ASSUME_ACTIONS if not actions.isdisjoint(_ASSUME_ACTIONS) else actions


# A NotAction grant holds ~20k actions and many principals share one (a boundary, a managed policy):
# rank each distinct action set once, not once per principal.
@lru_cache(maxsize=64)
def _strongest(actions: frozenset[str], on_account_or_iam: bool) -> tuple[tuple[str, int], ...]:
    """The MAX_ACTIONS strongest actions with their level rank, strongest first."""
    ranks = [(a, LEVEL_RANK[action_level(a, on_account_or_iam)]) for a in actions]
    return tuple(sorted(ranks, key=lambda item: (-item[1], item[0]))[:MAX_ACTIONS])


@lru_cache(maxsize=64)
def _highest_level(actions: frozenset[str], on_account_or_iam: bool) -> str:
    return highest({action_level(a, on_account_or_iam) for a in actions})


def _manages_itself(principal: Principal, target: Target, actions: frozenset[str]) -> bool:
    own = target.arn.rsplit("/", 1)[-1] == principal.name and f":{principal.type}/" in target.arn
    return own and any(action_level(a, True) == "admin" for a in actions)


def resource_node(target: Target) -> Record:
    return node(target.node_id, Family.RESOURCE, target.kind, "aws", target.name, f"aws:account/{target.account}",
                environment="unknown", arn=target.arn, wildcard=target.wildcard)


def transform_permissions(principal: Principal) -> PermissionRecords:
    """Edges for one principal's grants."""
    out = PermissionRecords()
    aggregates: dict[tuple[str, str, str, tuple[str, ...]], _Aggregate] = {}
    for grant in principal.grants:
        target = resolve_target(grant.resource, principal.account)
        actions = _without_assume(grant.actions)
        if target.kind == "dbuser" or _DB_CONNECT in actions:
            _database_login(principal, grant, target, out)
            if target.kind == "dbuser":
                continue
        if target.kind == "identity":
            if not _manages_itself(principal, target, actions):
                continue  # power over another identity: collectors.aws.escalation
            # Writing one's own policies is the power to grant oneself anything: admin of the account.
            target = resolve_target("*", principal.account)
        if not actions:
            continue
        on_account_or_iam = target.kind == "account" or target.service == "iam"
        level = "admin" if _full_control(grant, target) else _highest_level(actions, on_account_or_iam)
        key = (target.node_id, grant.policy.via, grant.policy.arn, grant.bounds)
        agg = aggregates.setdefault(key, _Aggregate(target, grant.policy, bounds=grant.bounds))
        agg.levels.add(level)
        for action, rank in _sample(grant, on_account_or_iam, actions).items():
            agg.actions[action] = max(rank, agg.actions.get(action, 0))
        agg.conditions.extend(c for c in grant.conditions if c not in agg.conditions)
        agg.mfa_required.append(grant.mfa_required)
        if grant.statement and grant.statement not in agg.statements:
            agg.statements.append(grant.statement)
    for agg in aggregates.values():
        if agg.target.is_resource:
            out.nodes.append(resource_node(agg.target))
        ranked = sorted(agg.actions, key=lambda a: (-agg.actions[a], a))[:MAX_ACTIONS]
        out.edges.append(edge(
            principal.node_id, agg.target.node_id, EdgeKind.HAS_PERMISSION, agg.via,
            level=highest(agg.levels), actions=ranked, conditions=agg.conditions,
            mfa_required=all(agg.mfa_required), **bound_properties(agg.bounds),
        ))
    return out


def _database_login(principal: Principal, grant: Grant, target: Target, out: PermissionRecords) -> None:
    """rds-db:connect on one dbuser ARN lets the principal log in as that database user."""
    if _DB_CONNECT not in grant.actions:
        return
    explicit = any(p.lower().startswith("rds-db:") for p in grant.patterns)
    if target.kind == "dbuser" and not target.wildcard:
        out.edges.append(edge(principal.node_id, target.node_id, EdgeKind.FEDERATES_TO, grant.via,
                              mfa_required=grant.mfa_required, conditions=list(grant.conditions),
                              actions=["rds-db:connect"], **bound_properties(grant.bounds)))
    elif explicit:
        out.notes.append(f"{principal.name} may rds-db:connect on {grant.resource} ({grant.policy.via}); "
                         "wildcard database users are not expanded into FEDERATES_TO edges")
