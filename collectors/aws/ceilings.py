"""Permissions boundaries and service control policies: ceilings on what identity policies grant.

A ceiling never grants anything. A principal's effective grants are its identity-policy grants
narrowed by its permissions boundary (when it has one), then by the SCPs of every level of the
organization above its account (account, each OU, root: an action must be allowed at every level).
The organization's management account is not subject to SCPs, nor are service-linked roles.
"""

from __future__ import annotations

from typing import Any

from collectors.aws.policy_documents import Statement, apply_ceiling, evaluate, parse_statements
from collectors.aws.transform import AccountData

SERVICE_LINKED_PATH = "/aws-service-role/"


def apply_boundaries(data: AccountData) -> list[str]:
    """Narrow every principal with a permissions boundary; returns coverage notes."""
    notes = []
    for principal in data.principals():
        boundary = (principal.raw.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        if not boundary:
            continue
        if boundary not in data.managed:
            notes.append(f"{data.account}: permissions boundary {boundary} of {principal.name} is not in the "
                         "exported Policies list; the boundary is not applied")
            continue
        name, statements = data.managed[boundary]
        if principal.type == "user" and principal.raw.get("GroupList"):
            # The boundary caps what the user gets through its groups too.
            groups = [data.groups[str(g)] for g in principal.raw["GroupList"] if str(g) in data.groups]
            policies = [*principal.policies, *(p for group in groups for p in group.policies)]
            principal.grants = evaluate(policies, principal.variables)
            principal.groups_folded = True
        principal.grants = apply_ceiling(principal.grants, statements, f"permissions boundary {name}",
                                         principal.variables)
    return notes


def parse_scp_levels(document: dict[str, Any]) -> list[tuple[str, list[tuple[str, list[Statement]]]]]:
    """(target id, [(policy name, statements)]) per level of service-control-policies.json."""
    levels = []
    for level in document.get("ServiceControlPolicyLevels") or []:
        policies = []
        for policy in level.get("Policies") or []:
            summary = policy.get("PolicySummary") or {}
            policies.append((str(summary.get("Name") or summary.get("Id") or "SCP"),
                             parse_statements(policy.get("Content") or {})))
        levels.append((str(level.get("TargetId", "")), policies))
    return levels


def apply_scps(data: AccountData, levels: list[tuple[str, list[tuple[str, list[Statement]]]]],
               management_account: str | None) -> list[str]:
    if data.account == management_account:
        return [f"{data.account} is the organization's management account: SCPs do not apply to it"]
    for principal in data.principals():
        if principal.type == "role" and str(principal.raw.get("Path", "")).startswith(SERVICE_LINKED_PATH):
            continue
        for target, policies in levels:
            statements = [s for _, pol in policies for s in pol]
            names = ", ".join(name for name, _ in policies) or "none"
            principal.grants = apply_ceiling(principal.grants, statements, f"SCPs on {target} ({names})",
                                             principal.variables)
    return []
