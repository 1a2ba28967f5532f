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
from collectors.aws.policy_documents import Grant, bound_properties
from collectors.aws.technique_rules import Context, Hit, Probe, memoized, techniques
from collectors.aws.transform import AccountData, Principal
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


# From this many targets on, the identical hits of one principal and technique (the same grants, so the
# same MFA requirement, conditions and time bounds) go through a shared hub node: holders of a technique
# on `*` then cost one edge each instead of one per identity.
HUB_MIN_TARGETS = 25


@dataclass
class EscalationRecords:
    nodes: list[Record] = field(default_factory=list)
    edges: list[Record] = field(default_factory=list)


@dataclass
class _Hub:
    """A set of identities that one or more principals reach with the same grants; its member edges
    are drawn once, whoever reaches it."""

    node_id: str
    account: str
    kind: EdgeKind
    changes_permissions: bool
    members: tuple[tuple[str, str], ...]  # (target node id, why the hit on it is assumed, "" when proven)
    techniques: list[str] = field(default_factory=list)


_HubKey = tuple[EdgeKind, bool, frozenset[tuple[str, str]]]


def _signature(hit: Hit, seen: dict[int, tuple]) -> tuple:
    """What an edge drawn from a hit carries besides its target: the grants' statements, MFA requirements,
    conditions and time bounds. Hits of one principal with the same signature can share one edge to a hub.
    `seen` keeps each grant's part (grants live as long as their principals: their ids are stable)."""
    parts = []
    for action, grant in hit.grants:
        part = seen.get(id(grant))
        if part is None:
            part = seen[id(grant)] = (grant.via, grant.mfa_required, tuple(grant.conditions), grant.bounds)
        parts.append((action, part))
    return tuple(parts) if len(parts) == 1 else tuple(sorted(parts))


def escalation_edges(ctx: Context) -> EscalationRecords:
    """Every registered technique over every collected principal; one edge per (source, target, kind).

    The hits of one principal and technique are grouped by the grants they use (`_signature`). A group
    reaching HUB_MIN_TARGETS or more identities becomes one edge to a hub node standing for exactly that
    set of identities (who reaches it carries the grants: MFA, conditions, time bounds; the hub's edge to
    each member carries the member's own `assumed` reason, if any); smaller groups stay direct edges. The
    hub is keyed by its edge kind, whether it changes permissions, and its members with their reasons, and
    not by the technique or the principal, so every principal holding the same wildcard shares it (e.g.
    PutUserPolicy and AttachUserPolicy on `*` reach "every user of account A" through the same hub), and
    edges grow with identities + grants, not identities x identities.

    A technique skips its own holder as a target; to keep holders of the same grant on one set, it is run
    on a Probe standing for the principal, so it reaches the principal itself exactly when the principal is
    a target like any other. That self hit is a no-op: kept as a member of a hub, never drawn as a direct
    edge. Principals a technique cannot tell apart share one run (`_Plans`).
    """
    with memoized():
        return _escalation_edges(ctx)


def _escalation_edges(ctx: Context) -> EscalationRecords:
    out = EscalationRecords()
    merged: dict[tuple[str, str, EdgeKind, bool, tuple[str, ...]], dict[str, Any]] = {}
    hubs: dict[_HubKey, _Hub] = {}
    seen: dict[int, tuple] = {}
    plans = _Plans(seen)
    catalogue = techniques()
    for data in ctx.accounts.values():
        for principal in data.principals():
            if not principal.grants or is_account_admin(principal):
                continue
            blank = plans.blank(principal)
            for item in catalogue:
                plan, view = plans.get(item, principal, ctx, blank)
                for group in plan:
                    _draw(group, principal, view, item, data, merged, hubs)
    for hub in hubs.values():
        out.nodes.append(_hub_node(hub))
        for target, reason in hub.members:
            out.edges.append(edge(hub.node_id, target, hub.kind,
                                  f"{' / '.join(hub.techniques)} reaches every identity of this set",
                                  mfa_required=False, conditions=[], techniques=list(hub.techniques),
                                  **_scope(hub.changes_permissions, hub.account),
                                  **assumed_properties([reason])))
    for (source, target, kind, _, bounds), entry in merged.items():
        via = f"{' / '.join(entry['techniques'])}: {'; '.join(entry['vias'])}"
        out.edges.append(edge(source, target, kind, via, mfa_required=all(entry["mfa"]),
                              conditions=entry["conditions"], actions=entry["actions"][:10],
                              techniques=entry["techniques"], **entry["grant_scope"], **bound_properties(bounds),
                              **assumed_properties(entry["assumed"])))
    return out


@dataclass
class _Group:
    """Hits of one technique through the same grants: target node id -> (target, assumed reason, the
    grants as (action, index in the principal's grants), the workload it goes through or "")."""

    hits: dict[str, tuple[Principal, str, tuple[tuple[str, int], ...], str]]
    hub: _Hub | None = None


def _grant_print(grant: Grant) -> tuple:
    """What a technique may read of a grant besides its actions and its policy's name."""
    return (grant.resource, grant.excluded, grant.not_action, grant.patterns, tuple(grant.conditions),
            grant.mfa_required, grant.reduced_by_deny, repr(grant.condition), grant.bounds)


def _order(view: list[Grant]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """How the grants' statement names (`via`) compare: their order, and which are equal (first equal one)."""
    vias = [g.via for g in view]
    first: dict[str, int] = {}
    return (tuple(sorted(range(len(vias)), key=lambda i: (vias[i], i))),
            tuple(first.setdefault(via, i) for i, via in enumerate(vias)))


@dataclass
class _Reads:
    """What one technique was seen to read of the principals it ran on."""

    # the distinct sets of actions one run asked through allowing / allowing_any / can_at_all
    questions: list[frozenset[str]] = field(default_factory=list)
    grants: bool = False  # some run read the grants some other way: every grant counts
    identity: bool = False  # some run read who the principal is (name, ARN ...): nothing is shared


class _Plans:
    """Each technique's hits, grouped (`_plan`), computed once per class of principals it cannot tell apart.

    A technique reads a principal through a Probe: its account, its type, and its grants through the helpers
    of collectors.aws.technique_rules, which note every action asked. Its result is a function of the
    answers, so a run on principal S that asked the actions Q serves every principal P of the same account
    and type whose grants holding an action of Q are alike (resource, those actions, conditions, MFA, time
    bounds, order and equality of their statement names, in the same order): P's run would ask the same
    questions, one by one, get the same answers and find the same hits, target for target, with the grant
    at the same place. So P is not evaluated. A run that read the grants otherwise is kept for principals
    with all grants alike; one that read who the principal is, for that principal only."""

    def __init__(self, seen: dict[int, tuple]) -> None:
        self.seen = seen
        self.reads: dict[str, _Reads] = {}
        self.plans: dict[tuple, list[_Group]] = {}
        self.prints: dict[tuple[int, int], tuple] = {}  # (grant id, asked set id or 0) -> its print
        # Most principals hold none of the actions any technique asked: for them, the plan of each technique
        # keyed with no grant at all, per (technique, account, type).
        self.asked: set[str] = set()  # every action any run asked
        self.blanks: dict[tuple[str, str, str], list[_Group]] = {}

    def blank(self, principal: Principal) -> bool:
        """Holds the principal none of the actions asked so far (and did every run read grants only so)?"""
        return (not any(r.grants or r.identity for r in self.reads.values())
                and all(g.actions.isdisjoint(self.asked) for g in principal.grants))

    def get(self, item: Technique, principal: Principal, ctx: Context,
            blank: bool = False) -> tuple[list[_Group], list[Grant]]:
        if blank and (item.id, principal.account, principal.type) in self.blanks:
            return self.blanks[(item.id, principal.account, principal.type)], []
        plan, view = self._get(item, principal, ctx)
        if not view and not self.reads[item.id].identity and not self.reads[item.id].grants:
            self.blanks.setdefault((item.id, principal.account, principal.type), plan)
        return plan, view

    def _get(self, item: Technique, principal: Principal, ctx: Context) -> tuple[list[_Group], list[Grant]]:
        reads = self.reads.setdefault(item.id, _Reads())
        for asked in reads.questions:
            key, view = self._key(item, principal, asked)
            if key in self.plans:
                return self.plans[key], view
        for kind in ("principal", "grants"):
            if getattr(reads, "identity" if kind == "principal" else "grants"):
                key, view = self._key(item, principal, kind)
                if key in self.plans:
                    return self.plans[key], view
        probe = Probe(principal)
        hits = list(item.derive.find(probe, ctx))  # type: ignore[arg-type]
        if probe.touched or probe.grants.touched:
            reads.identity = reads.identity or probe.touched
            reads.grants = reads.grants or not probe.touched
            key, view = self._key(item, principal, "principal" if probe.touched else "grants")
        else:
            asked = frozenset(probe.grants.asked)
            self.asked |= asked
            known = next((q for q in reads.questions if q == asked), None)
            if known is None:
                reads.questions.append(asked)
                known = asked
            key, view = self._key(item, principal, known)
        plan = self.plans[key] = _plan(hits, view, self.seen)
        return plan, view

    def _key(self, item: Technique, principal: Principal, asked: frozenset[str] | str) -> tuple[tuple, list[Grant]]:
        grants = principal.grants
        if asked == "principal":
            return (item.id, "principal", principal.node_id), grants
        if isinstance(asked, str):  # "grants"
            prints = tuple(self._print(g, None) for g in grants)
            return (item.id, "grants", principal.account, principal.type, _order(grants), prints), grants
        view = [g for g in grants if not g.actions.isdisjoint(asked)]
        prints = tuple(self._print(g, asked) for g in view)
        return (item.id, id(asked), principal.account, principal.type, _order(view), prints), view

    def _print(self, grant: Grant, asked: frozenset[str] | None) -> tuple:
        key = (id(grant), 0 if asked is None else id(asked))
        found = self.prints.get(key)
        if found is None:
            actions = grant.actions if asked is None else grant.actions & asked
            found = self.prints[key] = (_grant_print(grant), actions)
        return found


def _plan(hits: list[Hit], view: list[Grant], seen: dict[int, tuple]) -> list[_Group]:
    """Hits grouped by `_signature`, each grant as its place in view (the same for every principal of the
    plan's class)."""
    index = {id(grant): number for number, grant in enumerate(view)}
    groups: dict[tuple, _Group] = {}
    for hit in hits:
        group = groups.setdefault(_signature(hit, seen), _Group({}))
        group.hits.setdefault(hit.target.node_id, (hit.target, hit.assumed,
                                                   tuple((action, index[id(g)]) for action, g in hit.grants), hit.via))
    return list(groups.values())


def _draw(group: _Group, principal: Principal, grants: list[Grant], item: Technique, data: AccountData,
          merged: dict[tuple[str, str, EdgeKind, bool, tuple[str, ...]], dict[str, Any]],
          hubs: dict[_HubKey, _Hub]) -> None:
    """Direct edges for a small group (never to the principal itself), else one edge to the group's hub;
    grants: the principal's grants as the plan numbers them."""
    if len(group.hits) - (principal.node_id in group.hits) < HUB_MIN_TARGETS:
        for target_id, (target, assumed, refs, via) in group.hits.items():
            if target_id != principal.node_id:
                _merge(merged, principal.node_id, target_id, item,
                       Hit(target, [(action, grants[n]) for action, n in refs], assumed, via), data.account)
        return
    if group.hub is None:
        group.hub = _hub(hubs, data, item, group)
    if item.id not in group.hub.techniques:
        group.hub.techniques.append(item.id)
    target, _, refs, _ = next(iter(group.hits.values()))
    # the assumptions are the members' own: on the hub's edges, not on the edge to the hub
    _merge(merged, principal.node_id, group.hub.node_id, item, Hit(target, [(a, grants[n]) for a, n in refs]),
           data.account)


def _hub(hubs: dict[_HubKey, _Hub], data: AccountData, item: Technique, group: _Group) -> _Hub:
    key = (item.edge_kind, item.changes_permissions,
           frozenset((target, assumed) for target, (_, assumed, _, _) in group.hits.items()))
    if key not in hubs:
        members = tuple(sorted(key[2]))
        hubs[key] = _Hub(_hub_id(data, item, members, {target.type for target, _, _, _ in group.hits.values()}),
                         data.account, item.edge_kind, item.changes_permissions, members)
    return hubs[key]


def _hub_id(data: AccountData, item: Technique, members: tuple[tuple[str, str], ...], types: set[str]) -> str:
    """`aws:account/<id>/reach/<kind>[/policy-write]/every-<types>` when the set is every identity of those
    types in the account (nothing assumed), else `.../<digest>` of the set."""
    base = f"aws:account/{data.account}/reach/{item.edge_kind}{'/policy-write' if item.changes_permissions else ''}"
    universe = {p.node_id for p in data.principals() if p.type in types}
    if not any(reason for _, reason in members) and universe == {target for target, _ in members}:
        return f"{base}/every-{'-'.join(sorted(types))}"
    text = "\n".join(f"{target}\t{reason}" for target, reason in members)
    return f"{base}/{hashlib.sha1(text.encode()).hexdigest()[:12]}"


def _hub_node(hub: _Hub) -> Record:
    every = "/every-" in hub.node_id
    label = (f"every {hub.node_id.rsplit('/every-', 1)[1].replace('-', ' and ')} of {hub.account}" if every
             else f"{len(hub.members)} identities of {hub.account}")
    return node(hub.node_id, Family.IDENTITY, "Group", "aws", f"{label} ({' / '.join(hub.techniques)})",
                f"aws:account/{hub.account}", human=False, hub=True, techniques=list(hub.techniques),
                members=len(hub.members), every_identity=every)


def _scope(changes_permissions: bool, account: str) -> dict[str, str]:
    """A policy write confers admin over the target's account, to whoever can also act as the target."""
    return {"grant_scope": f"aws:account/{account}"} if changes_permissions else {}


def assumed_properties(reasons: list[str]) -> dict[str, Any]:
    """`assumed` / `assumed_reason` for an edge that every one of its hits draws on an assumption."""
    if not reasons or not all(reasons):
        return {}
    return {"assumed": True, "assumed_reason": " ".join(dict.fromkeys(reasons))}


def _merge(merged: dict[tuple[str, str, EdgeKind, bool, tuple[str, ...]], dict[str, Any]], source: str,
           target: str, item: Technique, hit: Hit, account: str) -> None:
    """Hits of one edge kind between the same two nodes become one edge, apart for techniques that change
    the target's permissions (they confer nothing on their own, see `_scope`) and for grants whose
    time bounds differ: each window gets its own edge, so the graph builder can drop exactly the lapsed ones."""
    entry = merged.setdefault((source, target, item.edge_kind, item.changes_permissions, hit.bounds),
                              {"techniques": [], "vias": [], "actions": [], "mfa": [], "conditions": [],
                               "assumed": [], "grant_scope": _scope(item.changes_permissions, account)})
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
