"""Resource-based policies (bucket, key, secret, queue, topic, function policies) -> HAS_PERMISSION
from the principals they let write, and Lambda execution roles for the escalation techniques.

Only write and admin grants to principals other than the resource's own account become edges:
a same-account `root` principal only delegates to identity policies, which are evaluated already.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from collectors.aws.access_levels import action_level, canonical, highest
from collectors.aws.permissions import MAX_ACTIONS, resource_node
from collectors.aws.policy_documents import (
    bound_properties,
    parse_statements,
    render_conditions,
    requires_mfa,
    statement_actions,
    time_bounds,
)
from collectors.aws.resources import account_of, resolve_target
from collectors.aws.transform import Principal
from graph.records import Record, edge, node
from graph.schema import LEVEL_RANK, EdgeKind, Family

_ACCOUNT = re.compile(r"^(?:arn:aws[a-z-]*:iam::)?(\d{12})(?::root)?$")


@dataclass
class ResourcePolicyRecords:
    nodes: list[Record] = field(default_factory=list)
    edges: list[Record] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    functions: list[tuple[str, str]] = field(default_factory=list)  # (function arn, execution role arn)


def _aws_principals(principal: Any) -> list[str]:
    if principal == "*":
        return ["*"]
    if not isinstance(principal, dict):
        return []
    value = principal.get("AWS", [])
    return [value] if isinstance(value, str) else [str(v) for v in value]


def external_account_node(account: str) -> Record:
    """An account outside the collection, as the principal a resource policy trusts."""
    return node(f"aws:arn:aws:iam::{account}:root", Family.IDENTITY, "ServiceIdentity", "aws",
                f"account {account} (not collected)", f"aws:account/{account}", human=False, mfa=None,
                enabled=True, external_account=True, arn=f"arn:aws:iam::{account}:root")


def transform_resource_policies(
    items: list[dict[str, Any]], default_account: str, collected: dict[str, list[Principal]],
    find_principal: Callable[[str], Principal | None],
) -> ResourcePolicyRecords:
    out = ResourcePolicyRecords()
    for item in items:
        arn = str(item.get("ResourceArn", ""))
        if item.get("ExecutionRole"):
            out.functions.append((arn, str(item["ExecutionRole"])))
        if not item.get("Policy"):
            continue
        try:
            statements = parse_statements(item["Policy"])
        except (ValueError, TypeError) as exc:
            out.notes.append(f"resource policy of {arn} is malformed ({exc}); skipped")
            continue
        owner = account_of(arn) or default_account
        target = resolve_target(arn, owner)
        if target.is_resource:
            out.nodes.append(resource_node(target))
        for statement in statements:
            if statement.effect != "Allow":
                continue
            actions = statement_actions(statement)
            level = highest({action_level(a) for a in actions})
            if level not in ("write", "admin"):
                continue
            via = f"{item.get('Service', 'resource')} policy of {target.name}, {statement.label}"
            sample = sorted(actions, key=lambda a: (-LEVEL_RANK[action_level(a)], a))[:MAX_ACTIONS]
            props = {"level": level, "actions": [canonical(a) for a in sample],
                     "conditions": render_conditions(statement.condition),
                     "mfa_required": requires_mfa(statement.condition),
                     **bound_properties(time_bounds(statement.condition))}
            for principal in _aws_principals(statement.principal):
                if principal == "*":
                    out.notes.append(f"{via} lets any AWS principal write"
                                     + (" (with conditions)" if statement.condition else " (public)")
                                     + "; no edge drawn")
                    continue
                account = _ACCOUNT.match(principal)
                if account and account.group(1) == owner:
                    continue
                if account:
                    _other_account(account.group(1), actions, arn, target.node_id, via, props, collected, out)
                    continue
                found = find_principal(principal)
                out.edges.append(edge(found.node_id if found else f"aws:{principal}", target.node_id,
                                      EdgeKind.HAS_PERMISSION, via, **props))
    return out


def _other_account(account: str, actions: frozenset[str], arn: str, target_id: str, via: str,
                   props: dict[str, Any], collected: dict[str, list[Principal]], out: ResourcePolicyRecords) -> None:
    """Another account is trusted: there, identity policies decide who may use it."""
    members = collected.get(account)
    if members is None:
        out.nodes.append(external_account_node(account))
        out.edges.append(edge(f"aws:arn:aws:iam::{account}:root", target_id, EdgeKind.HAS_PERMISSION, via, **props))
        return
    for member in members:
        found = [g for g in member.grants if g.actions & actions
                 and (g.covers(arn) or g.covers(arn + "/*"))]
        if found:
            grant = min(found, key=lambda g: bool(g.bounds))  # one without time bounds first
            bounds = bound_properties(props.get("time_bounds", ()), grant.bounds)
            out.edges.append(edge(member.node_id, target_id, EdgeKind.HAS_PERMISSION,
                                  f"{via} and {grant.via}", **{**props, **bounds}))
