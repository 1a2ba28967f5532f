"""IAM policies (`get-iam-policy --format=json`) -> grants -> HAS_PERMISSION edges.

A policy is `{"bindings": [{"role", "members", "condition"?}], "etag", "version"}`; an
empty policy is just `{"etag": "ACAB"}`. A bad binding is reported and skipped; the rest
of the policy still loads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from collectors.base import json_type
from collectors.gcp.members import Member, parse_member
from collectors.gcp.roles import Classification, classify_role, custom_role_level
from graph.records import Record, RecordError, edge
from graph.schema import EdgeKind
from graph.times import parse_time, time_bound

SOURCE = "gcp"
CONDITION_NOTE = ("IAM Conditions are kept on the edge; a `request.time` bound (alone or in an `&&`) is checked "
                  "against the collection time and a binding it makes inactive draws no edge; any other "
                  "expression is not evaluated (the grant is assumed to apply)")


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
    bounds: tuple[str, ...] = ()  # time bounds the condition proves (graph.times), all must hold

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
    binding_roles: list[str] = field(default_factory=list)  # the role of each valid binding, in order


def condition_text(condition: Any) -> list[str]:
    """`{"expression", "title", "description"?}` -> ["<title>: <expression>"]."""
    if not isinstance(condition, dict):
        return []
    expression = str(condition.get("expression", "")).strip()
    title = str(condition.get("title", "")).strip()
    if title and expression:
        return [f"{title}: {expression}"]
    return [expression or title] if (expression or title) else []


_TIMESTAMP = r"""timestamp\(\s*(?:"([^"]*)"|'([^']*)')\s*\)"""
_TIME_LEFT = re.compile(r"^request\.time\s*(<=|>=|<|>)\s*" + _TIMESTAMP + r"$")
_TIME_RIGHT = re.compile(r"^" + _TIMESTAMP + r"\s*(<=|>=|<|>)\s*request\.time$")
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _scan(text: str) -> tuple[list[int], bool]:
    """Indexes of the characters outside quotes and parentheses, and whether the parentheses balance
    (never closing more than they opened)."""
    outside, depth, quote = [], 0, ""
    for index, char in enumerate(text):
        if quote:
            quote = "" if char == quote and text[index - 1] != "\\" else quote
        elif char in "\"'":
            quote = char
        elif char in "()":
            depth += 1 if char == "(" else -1
            if depth < 0:
                return outside, False
        elif depth == 0:
            outside.append(index)
    return outside, depth == 0 and not quote


def _strip_parentheses(text: str) -> str:
    """`(a && b)` -> `a && b`, only when the outer pair encloses the whole expression."""
    text = text.strip()
    while text.startswith("(") and text.endswith(")") and _scan(text[1:-1])[1]:
        text = text[1:-1].strip()
    return text


def conjuncts(expression: str) -> list[str]:
    """The parts of a CEL expression joined by a top-level `&&` (nested conjunctions flattened). An
    expression with a top-level `||` or `?:` (which bind looser than `&&`) is one opaque part, as is
    anything else (`!`, a function call)."""
    text = _strip_parentheses(expression)
    outside, balanced = _scan(text)
    if not balanced:
        return [text]
    top = set(outside)
    if any(text[i] == "?" or text.startswith("||", i) for i in outside):
        return [text]
    parts, start, index = [], 0, 0
    while index < len(text):
        if index in top and text.startswith("&&", index):
            parts.append(text[start:index])
            start = index = index + 2
            continue
        index += 1
    if not parts:
        return [text]
    parts.append(text[start:])
    return [piece for part in parts for piece in conjuncts(part)]


def cel_time_bounds(expression: str) -> tuple[str, ...]:
    """Time bounds an IAM Condition proves: each `request.time <op> timestamp("...")` conjunct (either
    side); the binding holds only while every conjunct does. `||`, negation or any other form proves none."""
    bounds: list[str] = []
    for part in conjuncts(expression):
        part = _strip_parentheses(part)
        left, right = _TIME_LEFT.match(part), _TIME_RIGHT.match(part)
        if left:
            operator, when = left.group(1), parse_time(left.group(2) or left.group(3))
        elif right:
            operator, when = _FLIP[right.group(3)], parse_time(right.group(1) or right.group(2))
        else:
            continue
        if when is not None and time_bound(operator, when) not in bounds:
            bounds.append(time_bound(operator, when))
    return tuple(bounds)


def parse_policy(policy: Any, holder: str, holder_label: str, file: str) -> ParsedPolicy:
    """Flatten a policy into grants, one per (binding, member)."""
    parsed = ParsedPolicy()
    if not isinstance(policy, dict):
        parsed.errors.append(RecordError(
            SOURCE, file, holder_label, "", "an IAM policy must be a JSON object with 'bindings'; got "
            f"{json_type(policy)}",
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
        parsed.binding_roles.append(role)
        conditions = condition_text(binding.get("condition"))
        if conditions:
            parsed.conditional += 1
        condition = binding.get("condition")
        bounds = cel_time_bounds(str(condition.get("expression", ""))) if isinstance(condition, dict) else ()
        for raw in members:
            member = parse_member(raw)
            if member.note:
                parsed.notes.append(f"{holder_label}: {member.note}")
            if member.node_id is None:
                continue
            parsed.grants.append(Grant(member, role, holder, holder_label, conditions, bounds=bounds))
    return parsed


def bound_properties(*groups: tuple[str, ...]) -> dict[str, list[str]]:
    """The edge property `time_bounds` for the bounds of the grants behind an edge (the graph builder
    evaluates them); nothing when there are none."""
    bounds = sorted({bound for group in groups for bound in group})
    return {"time_bounds": bounds} if bounds else {}


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
        properties.update(bound_properties(grant.bounds))
        if grant.denied:
            properties["denied_permissions"] = grant.denied[:10]
        edges.append(edge(grant.member.node_id, grant.holder, EdgeKind.HAS_PERMISSION, grant.via, **properties))
    return edges, notes
