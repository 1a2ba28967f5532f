"""A principal's evaluated grants -> HAS_PERMISSION and FEDERATES_TO (IAM database auth).

Levels: read / write by the action's access level ("permissions management" is write), admin for
full control (`*`, or `service:*` on the resource itself or on `*`) and, over the account, for a grant
that lets the principal change its own permissions (`self_writes`). Power over other identities
(CAN_GRANT, CAN_CREATE_CREDENTIAL, CAN_RUN_AS) is drawn by the registered techniques in
collectors.aws.escalation; the path engine composes it with acting as the target.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from collectors.aws.access_levels import action_level, canonical, has_wildcard, highest
from collectors.aws.policy_documents import Grant, PolicyRef, bound_properties
from collectors.aws.resources import Target, resolve_target
from collectors.aws.transform import AccountData, Principal
from graph.records import Record, edge, node
from graph.schema import LEVEL_RANK, EdgeKind, Family

MAX_ACTIONS = 10
# Modelled by transfer edges, not as a permission on a resource: role assumption is CAN_ASSUME (trust
# policy), iam:PassRole gives nothing until a technique pairs it with a launch action (CAN_RUN_AS).
_ASSUME_ACTIONS = frozenset({
    "sts:assumerole", "sts:assumerolewithsaml", "sts:assumerolewithwebidentity", "sts:tagsession",
    "sts:setsourceidentity", "sts:setcontext",
})
_TRANSFER_ACTIONS = _ASSUME_ACTIONS | {"iam:passrole"}
_DB_CONNECT = "rds-db:connect"
# The actions that change the permissions of an identity of each type, when granted on its ARN.
IDENTITY_WRITES = {
    "user": ("iam:putuserpolicy", "iam:attachuserpolicy"),
    "role": ("iam:putrolepolicy", "iam:attachrolepolicy"),
    "group": ("iam:putgrouppolicy", "iam:attachgrouppolicy"),
}


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
    techniques: list[str] = field(default_factory=list)  # self-writes: the policy-write techniques they are

    @property
    def via(self) -> str:
        return f"{self.policy.via}, {', '.join(self.statements)}" if self.statements else self.policy.via


@dataclass
class PermissionRecords:
    nodes: list[Record] = field(default_factory=list)
    edges: list[Record] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SelfWrite:
    """A grant letting a principal change its own permissions: action on what (its ARN, a group of
    its, a customer-managed policy attached to it or to a group of its)."""

    grant: Grant
    action: str
    what: str


def _full_control(grant: Grant, target: Target) -> bool:
    """`*` or `service:*` on the resource itself is full control of it (admin)."""
    if grant.reduced_by_deny or target.collapsed or grant.excluded:
        return False
    for pattern in grant.patterns:
        text = pattern.strip().lower()
        if text == "*":
            return True
        service, _, action = text.partition(":")
        if action == "*" and not has_wildcard(service) and (target.kind == "account" or service == target.service):
            return True
    return False


def _sample(grant: Grant, actions: frozenset[str]) -> dict[str, int]:
    """Up to MAX_ACTIONS native actions: as written when that is faithful, else the strongest ones."""
    if grant.patterns and not grant.reduced_by_deny and not grant.not_action:
        written = [p for p in grant.patterns if p.strip().lower() not in _TRANSFER_ACTIONS]
        return {p: LEVEL_RANK[action_level(p.lower())] for p in written[:MAX_ACTIONS]}
    return {canonical(a): rank for a, rank in _strongest(actions)}


@lru_cache(maxsize=32)
def _without_transfers(actions: frozenset[str]) -> frozenset[str]:
    """actions less role assumption and PassRole; grants of one statement share their action set (a
    frozenset caches its hash), so a NotAction set is copied once, not once per principal."""
    return actions - _TRANSFER_ACTIONS if not actions.isdisjoint(_TRANSFER_ACTIONS) else actions


# A NotAction grant holds ~20k actions and many principals share one (a boundary, a managed policy):
# rank each distinct action set once, not once per principal.
@lru_cache(maxsize=64)
def _strongest(actions: frozenset[str]) -> tuple[tuple[str, int], ...]:
    """The MAX_ACTIONS strongest actions with their level rank, strongest first."""
    ranks = [(a, LEVEL_RANK[action_level(a)]) for a in actions]
    return tuple(sorted(ranks, key=lambda item: (-item[1], item[0]))[:MAX_ACTIONS])


@lru_cache(maxsize=64)
def _highest_level(actions: frozenset[str]) -> str:
    return highest({action_level(a) for a in actions})


def self_writes(principal: Principal, data: AccountData | None = None) -> list[SelfWrite]:
    """The grants that let principal change its own permissions: Put/Attach{User,Role,Group}Policy on
    its own ARN (or a wildcard covering it), Put/AttachGroupPolicy on a group a user belongs to, and
    CreatePolicyVersion (SetDefaultPolicyVersion when another version is kept) on a customer-managed
    policy attached to it or to its groups. A user's groups' grants count (they reach the user through
    MEMBER_OF) except those by which the group changes its own permissions: the group holds that edge.
    Every check is a `Grant.covers`, so NotResource and partial Denies are honoured."""
    groups: list[Principal] = []
    if principal.type == "user" and data is not None:
        groups = [data.groups[str(g)] for g in principal.raw.get("GroupList") or [] if str(g) in data.groups]
    holders = [principal, *([] if principal.groups_folded else groups)]
    # (arn, actions, what, whose own it is)
    targets: list[tuple[str, tuple[str, ...], str, Principal]] = [
        (principal.arn, IDENTITY_WRITES.get(principal.type, ()), f"its own {principal.type}", principal)]
    targets += [(g.arn, IDENTITY_WRITES["group"], f"group {g.name} it belongs to", g) for g in groups]
    seen: set[str] = set()
    for owner in (principal, *groups):
        for policy in owner.policies:
            arn = policy.ref.arn
            if policy.ref.origin != "managed" or not arn or ":aws:policy/" in arn or arn in seen:
                continue  # AWS managed policies cannot be versioned by customers
            seen.add(arn)
            actions: tuple[str, ...] = ("iam:createpolicyversion",)
            if data is not None and data.policy_versions.get(arn, 0) >= 2:
                actions += ("iam:setdefaultpolicyversion",)
            where = "it" if owner is principal else f"its group {owner.name}"
            targets.append((arn, actions, f"policy {policy.ref.name} attached to {where}", owner))
    found: list[SelfWrite] = []
    for holder in holders:
        for grant in holder.grants:
            for arn, actions, what, owner in targets:
                if holder is not principal and holder is owner:
                    continue  # the group's own self-write: drawn from the group
                found.extend(SelfWrite(grant, a, what) for a in actions if grant.allows(a, arn))
    return found


def capping_boundary(principal: Principal, data: AccountData | None = None) -> str | None:
    """The name of the permissions boundary that caps what the principal can give itself, if any (a
    boundary allowing every action on `*` unconditionally, with no Deny, caps nothing)."""
    arn = (principal.raw.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
    if not arn:
        return None
    if data is not None and arn in data.managed:
        name, statements = data.managed[arn]
        if any(s.effect == "Allow" and not s.not_action and "*" in s.actions and not s.not_resource
               and "*" in s.resources and not s.condition for s in statements) and not any(
                s.effect == "Deny" for s in statements):
            return None
        return name
    return str(arn).rsplit("/", 1)[-1]


def resource_node(target: Target) -> Record:
    return node(target.node_id, Family.RESOURCE, target.kind, "aws", target.name, f"aws:account/{target.account}",
                environment="unknown", arn=target.arn, wildcard=target.wildcard)


# A self-write (drawn here as admin over the account) is the self-escalation form of a policy-write
# technique (pathfinding.cloud iam-001, iam-005, iam-007 .. iam-011): the edge names it.
SELF_WRITE_TECHNIQUES = {
    "iam:putuserpolicy": "aws.iam.put-user-policy",
    "iam:attachuserpolicy": "aws.iam.attach-user-policy",
    "iam:putrolepolicy": "aws.iam.put-role-policy",
    "iam:attachrolepolicy": "aws.iam.attach-role-policy",
    "iam:putgrouppolicy": "aws.iam.put-group-policy",
    "iam:attachgrouppolicy": "aws.iam.attach-group-policy",
    "iam:createpolicyversion": "aws.iam.create-policy-version",
    "iam:setdefaultpolicyversion": "aws.iam.set-default-policy-version",
}


def _aggregate(aggregates: dict[tuple[str, str, str, tuple[str, ...]], _Aggregate], target: Target, grant: Grant,
               level: str, sample: dict[str, int], conditions: list[str], technique: str = "") -> None:
    key = (target.node_id, grant.policy.via, grant.policy.arn, grant.bounds)
    agg = aggregates.setdefault(key, _Aggregate(target, grant.policy, bounds=grant.bounds))
    agg.levels.add(level)
    for action, rank in sample.items():
        agg.actions[action] = max(rank, agg.actions.get(action, 0))
    agg.conditions.extend(c for c in conditions if c not in agg.conditions)
    agg.mfa_required.append(grant.mfa_required)
    if grant.statement and grant.statement not in agg.statements:
        agg.statements.append(grant.statement)
    if technique and technique not in agg.techniques:
        agg.techniques.append(technique)


def transform_permissions(principal: Principal, data: AccountData | None = None) -> PermissionRecords:
    """Edges for one principal's grants; data (its account) lets a user's groups and the principal's
    managed policies count for self-escalation."""
    out = PermissionRecords()
    aggregates: dict[tuple[str, str, str, tuple[str, ...]], _Aggregate] = {}
    for grant in principal.grants:
        target = resolve_target(grant.resource, principal.account)
        actions = _without_transfers(grant.actions)
        if target.kind == "dbuser" or _DB_CONNECT in actions:
            _database_login(principal, grant, target, out)
            if target.kind == "dbuser":
                continue
        if target.kind == "identity" or not actions:
            continue  # power over an identity, its own included: escalation techniques and self_writes
        level = "admin" if _full_control(grant, target) else _highest_level(actions)
        _aggregate(aggregates, target, grant, level, _sample(grant, actions), grant.conditions)
    writes = self_writes(principal, data)
    if writes:
        # Writing one's own permissions is the power to grant oneself anything: admin of the account,
        # unless a permissions boundary caps whatever the principal gives itself.
        account = resolve_target("*", principal.account)
        boundary = capping_boundary(principal, data)
        level = "write" if boundary else "admin"
        for write in writes:
            conditions = list(write.grant.conditions)
            if boundary:
                conditions.append(f"can change its own permissions ({write.what}), capped by permissions boundary "
                                  f"{boundary}: not admin over the account")
            _aggregate(aggregates, account, write.grant, level, {canonical(write.action): LEVEL_RANK[level]},
                       conditions, SELF_WRITE_TECHNIQUES.get(write.action, ""))
    for agg in aggregates.values():
        if agg.target.is_resource:
            out.nodes.append(resource_node(agg.target))
        ranked = sorted(agg.actions, key=lambda a: (-agg.actions[a], a))[:MAX_ACTIONS]
        out.edges.append(edge(
            principal.node_id, agg.target.node_id, EdgeKind.HAS_PERMISSION, agg.via,
            level=highest(agg.levels), actions=ranked, conditions=agg.conditions,
            mfa_required=all(agg.mfa_required), **bound_properties(agg.bounds),
            **({"techniques": sorted(agg.techniques)} if agg.techniques else {}),
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
