"""PIM: eligible directory role assignments -> CAN_ASSUME a role node, MFA from the role's policy.

An eligible principal holds no rights until it activates the role, so it is modelled as
``principal -CAN_ASSUME-> entra:role/<templateId> -HAS_PERMISSION-> tenant``. The edge's
``mfa_required`` is true only when the role's PIM policy (``roleManagementPolicyAssignments``
expanded with ``policy.rules``) lists ``MultiFactorAuthentication`` in the end-user activation
rule ``Enablement_EndUser_Assignment``. An authentication-context rule hands the decision to
Conditional Access, which the export cannot evaluate per activation: kept as a condition, and
``mfa_required`` stays false so the path is reported rather than silently trusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from collectors.entra.directory_roles import RoleInfo, unknown_role
from graph.records import Record, edge, node
from graph.schema import EdgeKind, Family, Provider
from graph.times import iso, parse_time

ACTIVATION_RULE = "Enablement_EndUser_Assignment"
AUTH_CONTEXT_RULE = "AuthenticationContext_EndUser_Assignment"


def role_node_id(template_id: str) -> str:
    return f"entra:role/{template_id}"


@dataclass(frozen=True)
class Activation:
    """What activating one role demands, from its PIM policy."""

    mfa: bool | None  # None: the policy was not exported
    conditions: tuple[str, ...] = ()


def activation_rules(policy_assignments: list[dict[str, Any]]) -> dict[str, Activation]:
    """Role definition id -> what activation demands (tenant-wide policies, scopeId '/')."""
    found: dict[str, Activation] = {}
    for assignment in policy_assignments:
        role_id = str(assignment.get("roleDefinitionId") or "")
        policy = assignment.get("policy") or {}
        rules = policy.get("rules") if isinstance(policy, dict) else None
        if role_id and isinstance(rules, list):
            found[role_id] = activation_from_rules(rules)
    return found


def activation_from_rules(rules: list[Any]) -> Activation:
    """What the end-user activation rules of one PIM policy demand (Graph and ARM use the same
    rule ids: ``Enablement_EndUser_Assignment``, ``AuthenticationContext_EndUser_Assignment``,
    ``Approval_EndUser_Assignment``)."""
    mfa = False
    conditions: list[str] = []
    for rule in rules:
        if not isinstance(rule, dict):
            continue
        if rule.get("id") == ACTIVATION_RULE:
            enabled = [str(r) for r in rule.get("enabledRules") or []]
            mfa = "MultiFactorAuthentication" in enabled
            conditions.extend(f"activation requires {r}" for r in enabled if r != "MultiFactorAuthentication")
        elif rule.get("id") == AUTH_CONTEXT_RULE and rule.get("isEnabled") is True:
            conditions.append(
                f"activation requires authentication context {rule.get('claimValue')} "
                "(Conditional Access decides what it demands)"
            )
        elif str(rule.get("id", "")).startswith("Approval_EndUser_Assignment"):
            setting = rule.get("setting") or {}
            if isinstance(setting, dict) and setting.get("isApprovalRequired") is True:
                conditions.append("activation requires approval")
    return Activation(mfa, tuple(conditions))


def transform_role_node(role: RoleInfo, tenant: str) -> tuple[Record, Record]:
    """The role as an identity one can assume, and what it grants on the tenant."""
    role_id = role_node_id(role.template_id)
    role_node = node(
        role_id,
        Family.IDENTITY,
        "Role",
        Provider.ENTRA,
        role.name,
        tenant,
        human=False,
        template_id=role.template_id,
    )
    grant = edge(
        role_id,
        tenant,
        EdgeKind.HAS_PERMISSION,
        f"directory role {role.name}",
        level=role.level,
        actions=[role.name],
        role_template_id=role.template_id,
    )
    return role_node, grant


def unknown_activation(what: str) -> dict[str, Any]:
    """An eligibility whose PIM policy was not exported: drawn as if activation needed no MFA, marked assumed."""
    return {"assumed": True, "assumed_reason": f"PIM policy of the {what} not exported: activation assumed not "
            "to require MFA."}


def transform_eligibility(
    schedule: dict[str, Any], roles: dict[str, RoleInfo], activation: dict[str, Activation]
) -> tuple[Record, RoleInfo]:
    """One roleEligibilitySchedule(Instance) -> CAN_ASSUME principal -> role node (fields checked)."""
    role_id = str(schedule["roleDefinitionId"])
    role = roles.get(role_id) or unknown_role(role_id)
    rule = activation.get(role_id) or activation.get(role.template_id)
    conditions: list[str] = [] if rule is None else list(rule.conditions)
    scope = str(schedule.get("directoryScopeId") or "/")
    if scope != "/":
        conditions.append(f"eligible only at scope {scope}, not the whole tenant")
    info = schedule.get("scheduleInfo") or {}
    expiration = (info.get("expiration") or {}) if isinstance(info, dict) else {}
    ends = iso(parse_time(expiration.get("endDateTime"))) if isinstance(expiration, dict) else None
    return edge(
        f"entra:{schedule['principalId']}",
        role_node_id(role.template_id),
        EdgeKind.CAN_ASSUME,
        f"PIM eligible assignment of directory role {role.name}",
        mfa_required=bool(rule and rule.mfa),
        conditions=conditions,
        eligibility_ends=ends,
        member_type=str(schedule.get("memberType") or "Direct"),
        **({} if rule else unknown_activation("role")),
    ), role


def transform_group_eligibility(
    schedule: dict[str, Any], group_name: str, activation: dict[str, Activation]
) -> Record:
    """One PIM for Groups eligibility (member or owner) -> CAN_ASSUME principal -> group.

    An eligible owner can add itself as a member once active, so both reach the group's rights;
    ``activation`` comes from the group's own policies (roleDefinitionId ``member`` / ``owner``)."""
    access = str(schedule.get("accessId") or "member")
    rule = activation.get(access)
    conditions = list(rule.conditions) if rule else []
    info = schedule.get("scheduleInfo") or {}
    expiration = (info.get("expiration") or {}) if isinstance(info, dict) else {}
    ends = iso(parse_time(expiration.get("endDateTime"))) if isinstance(expiration, dict) else None
    return edge(
        f"entra:{schedule['principalId']}",
        f"entra:{schedule['groupId']}",
        EdgeKind.CAN_ASSUME,
        f"PIM for Groups eligible {access} of group {group_name}",
        mfa_required=bool(rule and rule.mfa),
        conditions=conditions,
        eligibility_ends=ends,
        access=access,
        **({} if rule else unknown_activation("group")),
    )
