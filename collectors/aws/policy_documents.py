"""IAM policy documents: parse statements and evaluate a principal's identity policies into grants.

This is a deliberately conservative reading of the IAM evaluation logic, tuned for finding
paths rather than for proving denial: an Allow counts unless an explicit, unconditional Deny
covers the same actions on the same (or a wider) resource. Conditional Denies are not
subtracted but are written into the grant's `conditions` so the analyst sees them.

A NotResource Allow is a grant on `*` whose `excluded` patterns it does not reach, and an
unconditional Deny on part of a grant's resource splits the denied actions off into a grant that
excludes the Denied resources; `Grant.covers(arn)` is the one resource test every consumer uses.
A ceiling's NotResource Allow excludes in the same way.

Time conditions on an Allow (`aws:CurrentTime` / `aws:EpochTime` compared with DateLessThan,
DateGreaterThan and friends, or NumericLessThan... for EpochTime) become the grant's `bounds`
(graph.times time bounds); the graph builder drops the edges of a grant inactive at the collection
time. `...IfExists`, negated operators, `ForAnyValue:` / `ForAllValues:` and other keys are only
kept as text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from collectors.aws.access_levels import all_actions, expand_action, wildcard_regex
from graph.times import parse_time, time_bound

_VARIABLE = re.compile(r"\$\{([^}]+)\}")


@dataclass(frozen=True)
class PolicyRef:
    """One policy attached to a principal, as the edge's `via` names it."""

    name: str
    origin: str  # inline | managed
    holder: str  # principal name
    arn: str = ""

    @property
    def via(self) -> str:
        return f"{self.name} ({self.origin} policy on {self.holder})"


@dataclass
class Statement:
    effect: str
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...]
    not_resource: bool
    condition: dict[str, Any]
    sid: str = ""
    principal: Any = None
    index: int = 0

    @property
    def label(self) -> str:
        return f"statement {self.sid}" if self.sid else f"statement #{self.index + 1}"


@dataclass
class AttachedPolicy:
    ref: PolicyRef
    statements: list[Statement]


@dataclass
class Grant:
    """What one Allow statement gives on one resource, after explicit Denies."""

    policy: PolicyRef
    resource: str
    actions: frozenset[str]  # lower-case concrete actions still allowed
    patterns: tuple[str, ...]  # Action patterns as written; empty for NotAction
    not_action: bool
    conditions: list[str] = field(default_factory=list)
    mfa_required: bool = False
    reduced_by_deny: bool = False
    statement: str = ""  # "statement <Sid>" or "statement #<n>"
    condition: dict[str, Any] = field(default_factory=dict)  # the Allow statement's Condition block, as written
    bounds: tuple[str, ...] = ()  # provable time bounds of the condition (graph.times), all must hold
    # Resource patterns the grant does not reach although `resource` names them: a NotResource Allow (of
    # the policy or of a ceiling), or an unconditional Deny on part of `resource`; variables substituted.
    excluded: tuple[str, ...] = ()

    @property
    def via(self) -> str:
        """The policy and the statement that allow it."""
        return f"{self.policy.via}, {self.statement}" if self.statement else self.policy.via

    def covers(self, resource: str) -> bool:
        """Does the grant reach this resource (an ARN): named by `resource` and not excluded?"""
        if self.resource != "*" and not matches(self.resource, resource):
            return False
        return not any(matches(pattern, resource) for pattern in self.excluded)

    def allows(self, action: str, resource: str) -> bool:
        return action in self.actions and self.covers(resource)


def decode_document(value: Any) -> dict[str, Any]:
    """A policy document as the CLI prints it (object) or as the API returns it (URL-encoded JSON)."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text.startswith("{"):
            text = unquote(text)
        parsed = json.loads(text)
        if isinstance(parsed, dict):
            return parsed
    raise ValueError("policy document is not a JSON object")


def _strings(value: Any, field_name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ValueError(f"{field_name} must be a string or a list of strings")


def _check_principal(principal: Any, index: int) -> None:
    """A Principal is "*" or an object of "AWS" / "Service" / "Federated" ... to a string or a list of
    strings."""
    if principal is None or principal == "*":
        return
    if not isinstance(principal, dict):
        raise TypeError(f"Statement #{index} Principal must be \"*\" or an object")
    for key, value in principal.items():
        if not isinstance(value, str) and not (
                isinstance(value, list) and all(isinstance(item, str) for item in value)):
            raise TypeError(f"Statement #{index} Principal.{key} must be a string or a list of strings")


def parse_statements(document: Any) -> list[Statement]:
    """Statements of a policy document; raises ValueError naming what is malformed."""
    doc = decode_document(document)
    raw = doc.get("Statement", [])
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise TypeError("Statement must be an object or a list")
    statements = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise TypeError(f"Statement #{index} is not an object")
        effect = item.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise ValueError(f"Statement #{index} has Effect {effect!r}, expected Allow or Deny")
        not_action = "NotAction" in item
        not_resource = "NotResource" in item
        condition = item.get("Condition") or {}
        if not isinstance(condition, dict):
            raise TypeError(f"Statement #{index} Condition must be an object")
        _check_principal(item.get("Principal", item.get("NotPrincipal")), index)
        statements.append(
            Statement(
                effect=effect,
                actions=_strings(item.get("NotAction" if not_action else "Action"), "Action"),
                not_action=not_action,
                resources=_strings(item.get("NotResource" if not_resource else "Resource"), "Resource"),
                not_resource=not_resource,
                condition=condition,
                sid=str(item.get("Sid", "")),
                principal=item.get("Principal", item.get("NotPrincipal")),
                index=index,
            )
        )
    return statements


def condition_items(condition: dict[str, Any]) -> Iterable[tuple[str, str, list[str]]]:
    """(operator, key, values) triples of a Condition block."""
    for operator, block in condition.items():
        if not isinstance(block, dict):
            continue
        for key, values in block.items():
            listed = values if isinstance(values, list) else [values]
            yield str(operator), str(key), [str(v) for v in listed]


def render_conditions(condition: dict[str, Any]) -> list[str]:
    return [f"{op} {key} = {', '.join(values)}" for op, key, values in condition_items(condition)]


_TIME_KEYS = ("aws:currenttime", "aws:epochtime")
_DATE_OPERATORS = {"datelessthan": "<", "datelessthanequals": "<=", "dategreaterthan": ">",
                   "dategreaterthanequals": ">="}
_NUMERIC_OPERATORS = {"numericlessthan": "<", "numericlessthanequals": "<=", "numericgreaterthan": ">",
                      "numericgreaterthanequals": ">="}
_EPOCH = re.compile(r"^-?\d+(\.\d+)?$")


def _condition_time(value: str) -> datetime | None:
    """A Date operator's value: ISO 8601 (date or date-time) or epoch seconds."""
    text = value.strip()
    if _EPOCH.match(text):
        try:
            return datetime.fromtimestamp(float(text), UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return parse_time(text) if re.match(r"^\d{4}-\d{2}-\d{2}", text) else None


def time_bounds(condition: dict[str, Any]) -> tuple[str, ...]:
    """The time bounds a Condition block proves, each as a graph.times bound; all must hold.

    Only plain comparisons of `aws:CurrentTime` / `aws:EpochTime` count: an operator with `IfExists`, a
    negated one (`DateNotEquals`), a set prefix (`ForAnyValue:`) or any other key proves nothing here.
    Several values under one key are alternatives, so the loosest one is the bound.
    """
    bounds: list[str] = []
    for operator, key, values in condition_items(condition):
        key_l, op_l = key.lower(), operator.lower()
        if key_l not in _TIME_KEYS:
            continue
        symbol = _DATE_OPERATORS.get(op_l)
        if symbol is None and key_l == "aws:epochtime":
            symbol = _NUMERIC_OPERATORS.get(op_l)
            if symbol is not None and not all(_EPOCH.match(v.strip()) for v in values):
                continue
        if symbol is None or not values:
            continue
        times = [_condition_time(v) for v in values]
        if any(t is None for t in times):
            continue
        when = max(times) if symbol.startswith("<") else min(times)  # type: ignore[type-var]
        bound = time_bound(symbol, when)  # type: ignore[arg-type]
        if bound not in bounds:
            bounds.append(bound)
    return tuple(bounds)


def bound_properties(*groups: Iterable[str]) -> dict[str, list[str]]:
    """The edge property `time_bounds` for the bounds of the grants behind an edge (all must hold; the
    graph builder evaluates them); nothing when there are none."""
    bounds = sorted({bound for group in groups for bound in group})
    return {"time_bounds": bounds} if bounds else {}


def requires_mfa(condition: dict[str, Any]) -> bool:
    """An Allow condition that only holds for MFA-authenticated sessions.

    `...IfExists` variants do not count: long-term access keys carry no MFA context key,
    so `BoolIfExists aws:MultiFactorAuthPresent true` lets them through.
    """
    for operator, key, values in condition_items(condition):
        key_l, op_l = key.lower(), operator.lower()
        if op_l.endswith("ifexists") or op_l.startswith("null"):
            continue
        if key_l == "aws:multifactorauthpresent" and op_l == "bool" and values == ["true"]:
            return True
        if key_l == "aws:multifactorauthage" and op_l.startswith("numeric"):
            return True
    return False


def denies_without_mfa(condition: dict[str, Any]) -> bool:
    """A Deny condition that fires whenever MFA is absent, access keys included."""
    items = list(condition_items(condition))
    if not items:
        return False
    for operator, key, values in items:
        key_l, op_l = key.lower(), operator.lower()
        no_mfa = (key_l == "aws:multifactorauthpresent" and op_l == "boolifexists" and values == ["false"]) or (
            key_l in ("aws:multifactorauthage", "aws:multifactorauthpresent")
            and op_l == "null"
            and values == ["true"]
        )
        if not no_mfa:
            return False
    return True


def matches(pattern: str, value: str, case_sensitive: bool = True) -> bool:
    return bool(wildcard_regex(pattern, case_sensitive).match(value))


def substitute_variables(resource: str, variables: dict[str, str]) -> str:
    """Replace `${aws:username}` and friends; an unknown variable could be anything."""
    return _VARIABLE.sub(lambda m: variables.get(m.group(1).lower(), "*"), resource)


def statement_actions(statement: Statement) -> frozenset[str]:
    return _expanded(statement.actions, statement.not_action)


@lru_cache(maxsize=4096)
def _expanded(actions: tuple[str, ...], not_action: bool) -> frozenset[str]:
    """Concrete actions of an Action / NotAction list; cached, since SCPs and boundaries repeat per principal."""
    named: set[str] = set()
    for pattern in actions:
        named |= expand_action(pattern)
    return all_actions() - named if not_action else frozenset(named)


def _covers(deny: Statement, resource: str, variables: dict[str, str]) -> bool:
    """Does the Deny apply to every resource the grant's resource string names?"""
    patterns = [substitute_variables(p, variables) for p in deny.resources]
    if deny.not_resource:
        return not any(matches(p, resource) or matches(resource, p) for p in patterns)
    return any(matches(p, resource) for p in patterns)


def _overlaps(deny: Statement, resource: str, variables: dict[str, str]) -> bool:
    """Does the Deny touch part of what the grant's (wildcard) resource names?"""
    if deny.not_resource:
        return True
    return any(matches(resource, substitute_variables(p, variables)) for p in deny.resources)


def exclusions(patterns: Iterable[str], variables: dict[str, str]) -> tuple[str, ...]:
    """Excluded resource patterns with variables substituted. A pattern with a variable whose value is
    unknown excludes nothing: it could name anything, and excluding `*` would hide real paths."""
    out = []
    for pattern in patterns:
        if any(m.group(1).lower() not in variables for m in _VARIABLE.finditer(pattern)):
            continue
        out.append(substitute_variables(pattern, variables))
    return tuple(out)


def evaluate(policies: list[AttachedPolicy], variables: dict[str, str] | None = None) -> list[Grant]:
    """Grants of one principal's identity policies (inline and managed together)."""
    variables = variables or {}
    # NotAction Denies expand to ~20k actions: expand each once per principal, not once per grant.
    denies = [(p.ref, s, statement_actions(s)) for p in policies for s in p.statements if s.effect == "Deny"]
    grants: list[Grant] = []
    for policy in policies:
        for statement in policy.statements:
            if statement.effect != "Allow":
                continue
            allowed = statement_actions(statement)
            if not allowed:
                continue
            base_conditions = render_conditions(statement.condition)
            mfa = requires_mfa(statement.condition)
            bounds = time_bounds(statement.condition)
            resources = ["*"] if statement.not_resource else list(statement.resources)
            excluded: tuple[str, ...] = ()
            if statement.not_resource:
                base_conditions.append("NotResource: " + ", ".join(statement.resources))
                excluded = exclusions(statement.resources, variables)
            for raw_resource in resources:
                resource = substitute_variables(raw_resource, variables)
                grant = Grant(policy.ref, resource, allowed, () if statement.not_action else statement.actions,
                              statement.not_action, list(base_conditions), mfa, statement=statement.label,
                              condition=statement.condition, bounds=bounds, excluded=excluded)
                grants.extend(_apply_denies(grant, denies, variables))
    return grants


def _apply_denies(grant: Grant, denies: list[tuple[PolicyRef, Statement, frozenset[str]]],
                  variables: dict[str, str]) -> list[Grant]:
    """The grant after the Denies: an unconditional Deny on part of its resource splits off the denied
    actions into a grant that excludes the Denied resources. Grants left without actions are dropped."""
    out = [grant]
    for ref, deny, denied in denies:
        out = [part for g in out for part in _apply_deny(g, ref, deny, denied, variables)]
    return [g for g in out if g.actions]


def _apply_deny(grant: Grant, ref: PolicyRef, deny: Statement, denied: frozenset[str],
                variables: dict[str, str]) -> list[Grant]:
    hit = grant.actions & denied
    if not hit:
        return [grant]
    where = f"{ref.name} {deny.label}"
    covered = _covers(deny, grant.resource, variables)
    if not deny.condition and covered:
        grant.actions = grant.actions - denied
        grant.reduced_by_deny = True
    elif covered and denies_without_mfa(deny.condition):
        if hit == grant.actions:
            grant.mfa_required = True
        else:
            grant.conditions.append(f"Deny without MFA for part of the actions ({where})")
    elif covered:
        grant.conditions.append(
            f"Deny when {'; '.join(render_conditions(deny.condition))} ({where}), not subtracted"
        )
    elif not deny.condition and not deny.not_resource and _overlaps(deny, grant.resource, variables):
        excluded = exclusions(deny.resources, variables)
        if not excluded:
            grant.conditions.append(
                f"Deny on part of the resources: {', '.join(deny.resources)} ({where}), not subtracted")
            return [grant]
        text = f"Deny on part of the resources: {', '.join(excluded)} ({where}), excluded"
        denied_part = replace(grant, actions=hit, reduced_by_deny=True, conditions=[*grant.conditions, text],
                              excluded=tuple(dict.fromkeys((*grant.excluded, *excluded))))
        grant.actions = grant.actions - hit
        grant.reduced_by_deny = True
        return [grant, denied_part] if grant.actions else [denied_part]
    elif _overlaps(deny, grant.resource, variables):
        grant.conditions.append(
            f"Deny on part of the resources: {', '.join(deny.resources)} ({where}), not subtracted"
        )
    return [grant]


def apply_ceiling(grants: list[Grant], statements: list[Statement], label: str,
                  variables: dict[str, str] | None = None) -> list[Grant]:
    """Grants that a ceiling (a permissions boundary, or the SCPs of one organization level) leaves.

    A ceiling never grants: an action stays only where one of its Allow statements covers it,
    on the narrower of the two resources, and never on what a NotResource Allow of the ceiling leaves
    out; its Denies subtract like identity-policy Denies.
    """
    variables = variables or {}
    allows = [(s, statement_actions(s)) for s in statements if s.effect == "Allow"]
    ref = PolicyRef(label, "ceiling", "")
    denies = [(ref, s, statement_actions(s)) for s in statements if s.effect == "Deny"]
    # -> (original, narrowed)
    kept: dict[tuple[PolicyRef, str, str, tuple[str, ...], tuple[str, ...]], tuple[Grant, Grant]] = {}
    for grant in grants:
        for ceiling, actions in allows:
            hit = grant.actions & actions
            if not hit:
                continue
            excluded = grant.excluded
            if ceiling.not_resource:
                patterns = ["*"]
                outside = exclusions(ceiling.resources, variables)
                if any(matches(p, grant.resource) for p in outside):
                    continue  # the grant's whole resource is left out of the ceiling
                excluded = tuple(dict.fromkeys((*excluded, *outside)))
            else:
                patterns = [substitute_variables(p, variables) for p in ceiling.resources]
            for pattern in patterns:
                if matches(pattern, grant.resource):
                    resource = grant.resource
                elif matches(grant.resource, pattern):
                    resource = pattern
                else:
                    continue
                key = (grant.policy, grant.statement, resource, grant.excluded, excluded)
                if key not in kept:
                    conditions = list(grant.conditions)
                    if excluded != grant.excluded:
                        conditions.append(f"{label} allows only NotResource {', '.join(ceiling.resources)}")
                    kept[key] = (grant, Grant(grant.policy, resource, frozenset(), grant.patterns,
                                              grant.not_action, conditions, grant.mfa_required,
                                              grant.reduced_by_deny, grant.statement, grant.condition,
                                              grant.bounds, excluded))
                narrowed = kept[key][1]
                narrowed.actions = narrowed.actions | hit
                if ceiling.condition:
                    text = f"{label} allows only when {'; '.join(render_conditions(ceiling.condition))}"
                    if text not in narrowed.conditions:
                        narrowed.conditions.append(text)
                    narrowed.mfa_required = narrowed.mfa_required or requires_mfa(ceiling.condition)
    out = []
    for original, narrowed in kept.values():
        if (narrowed.actions != original.actions or narrowed.resource != original.resource
                or narrowed.excluded != original.excluded):
            narrowed.reduced_by_deny = True
        out.extend(_apply_denies(narrowed, denies, variables))
    return out
