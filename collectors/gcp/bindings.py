"""IAM policies (`get-iam-policy --format=json`) -> grants -> HAS_PERMISSION edges.

A policy is `{"bindings": [{"role", "members", "condition"?}], "etag", "version"}`; an
empty policy is just `{"etag": "ACAB"}`. A bad binding is reported and skipped; the rest
of the policy still loads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from collectors.gcp.members import Member, parse_member
from collectors.gcp.roles import Classification, classify_role, custom_role_level
from graph.records import Record, RecordError, edge
from graph.schema import EdgeKind

SOURCE = "gcp"
CONDITION_NOTE = "IAM Conditions are kept on the edge but not evaluated (the grant is assumed to apply)"


@dataclass
class Grant:
    """One member holding one role on one node (org / folder / project / SA / bucket)."""

    member: Member
    role: str
    holder: str  # node id of the resource or service account whose policy holds the binding
    holder_label: str  # e.g. projects/lumen-data-prod, for `via`
    conditions: list[str] = field(default_factory=list)
    # Set when a deny policy takes permissions away: what is left, and what was denied by which policy.
    permissions: list[str] | None = None
    denied: list[str] = field(default_factory=list)
    deny_policies: list[str] = field(default_factory=list)

    @property
    def via(self) -> str:
        text = f"{self.role} on {self.holder_label}"
        if self.denied:
            count = len(self.denied)
            text += f" (deny {', '.join(self.deny_policies)} removes {count} permission{'s' if count > 1 else ''})"
        return f"{text} (conditional)" if self.conditions else text


@dataclass
class ParsedPolicy:
    grants: list[Grant] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    bindings: int = 0
    conditional: int = 0


def condition_text(condition: Any) -> list[str]:
    """`{"expression", "title", "description"?}` -> ["<title>: <expression>"]."""
    if not isinstance(condition, dict):
        return []
    expression = str(condition.get("expression", "")).strip()
    title = str(condition.get("title", "")).strip()
    if title and expression:
        return [f"{title}: {expression}"]
    return [expression or title] if (expression or title) else []


def parse_policy(policy: Any, holder: str, holder_label: str, file: str) -> ParsedPolicy:
    """Flatten a policy into grants, one per (binding, member)."""
    parsed = ParsedPolicy()
    if not isinstance(policy, dict):
        parsed.errors.append(RecordError(
            SOURCE, file, holder_label, "", "an IAM policy must be a JSON object with 'bindings'",
            "re-export with `get-iam-policy ... --format=json`"))
        return parsed
    bindings = policy.get("bindings", [])
    if not isinstance(bindings, list):
        parsed.errors.append(RecordError(SOURCE, file, holder_label, "bindings", "must be a list",
                                         "re-export with `get-iam-policy ... --format=json`"))
        return parsed
    for index, binding in enumerate(bindings):
        role = binding.get("role") if isinstance(binding, dict) else None
        members = binding.get("members") if isinstance(binding, dict) else None
        label = f"binding #{index}" + (f" ({role})" if isinstance(role, str) else "")
        if not isinstance(role, str) or not role:
            parsed.errors.append(RecordError(SOURCE, file, label, "role", "is missing or not a string",
                                             "every binding needs a role"))
            continue
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            parsed.errors.append(RecordError(SOURCE, file, label, "members", "must be a list of strings",
                                             "every binding needs its members"))
            continue
        parsed.bindings += 1
        conditions = condition_text(binding.get("condition"))
        if conditions:
            parsed.conditional += 1
        for raw in members:
            member = parse_member(raw)
            if member.note:
                parsed.notes.append(f"{holder_label}: {member.note}")
            if member.node_id is None:
                continue
            parsed.grants.append(Grant(member, role, holder, holder_label, conditions))
    return parsed


def permission_edges(
    grants: list[Grant], resource_kind: str, custom_roles: Mapping[str, list[str]]
) -> tuple[list[Record], list[str]]:
    """HAS_PERMISSION member -> resource for each grant; notes name roles classified by guess."""
    edges: list[Record] = []
    notes: list[str] = []
    for grant in grants:
        if grant.permissions is not None:
            if not grant.permissions:
                continue  # a deny policy took every permission of the role away
            result = Classification(custom_role_level(grant.permissions, resource_kind), True,
                                    "permissions left after deny policies")
        else:
            result = classify_role(grant.role, custom_roles, resource_kind)
        if not result.known:
            notes.append(f"{grant.holder_label}: role {grant.role} not classified ({result.reason}); "
                         "level read assumed")
        properties: dict[str, Any] = {"level": result.level, "actions": [grant.role], "role": grant.role}
        if grant.conditions:
            properties["conditions"] = grant.conditions
        if grant.denied:
            properties["denied_permissions"] = grant.denied[:10]
        edges.append(edge(grant.member.node_id, grant.holder, EdgeKind.HAS_PERMISSION, grant.via, **properties))
    return edges, notes
