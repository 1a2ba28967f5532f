"""Directory role assignments -> HAS_PERMISSION on the tenant node.

Level:
* ``admin`` for roles that can take over the tenant: the role definition's ``isPrivileged``
  flag (newer Graph responses carry it), any of the well-known template ids below, or a
  custom role whose permissions include an action from ``TAKEOVER_ACTIONS``;
* ``read`` for reader roles (name contains "Reader", or every permission is a read);
* ``write`` for every other role (they change directory or service objects).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graph.records import Record, edge
from graph.schema import EdgeKind

# Template ids of built-in roles that can take over the tenant (directly, or by resetting
# admins' credentials, adding credentials to privileged apps, or changing federation / CA).
TAKEOVER_TEMPLATE_IDS: dict[str, str] = {
    "62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
    "e8611ab8-c189-46e8-94e1-60213ab1f814": "Privileged Role Administrator",
    "7be44c8a-adaf-4e2a-84d6-ab2649e08a13": "Privileged Authentication Administrator",
    "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3": "Application Administrator",
    "158c047a-c907-4556-b7ef-446551a6b5f7": "Cloud Application Administrator",
    "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2": "Hybrid Identity Administrator",
    "194ae4cb-b126-40b2-bd5b-6091b380977d": "Security Administrator",
    "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9": "Conditional Access Administrator",
    "c4e39bd9-1100-46d3-8c65-fb160da0071f": "Authentication Administrator",
    "fe930be7-5e62-47db-91af-98c3a49a38b1": "User Administrator",
    "e00e864a-17c5-4a4b-9c06-f5b95a8d5bd8": "Partner Tier2 Support",
    "d29b2b05-8046-44ba-8758-1e26182fcf32": "Directory Synchronization Accounts",
    "8329153b-31d0-4727-b945-745eb3bc5f31": "Domain Name Administrator",
    "be2f45a1-457d-42af-a067-6ec1fa63bc45": "External Identity Provider Administrator",
    "9360feb5-f418-4baa-8175-e2a00bac4301": "Directory Writers",
    "3a2c62db-5318-420d-8d74-23affee5d9d5": "Intune Administrator",
}

# Custom-role actions that hand over the tenant (mint app credentials, assign roles, reset
# any authentication method, rewrite Conditional Access).
TAKEOVER_ACTIONS = (
    "microsoft.directory/applications/credentials/update",
    "microsoft.directory/applications/allproperties/allTasks",
    "microsoft.directory/serviceprincipals/credentials/update",
    "microsoft.directory/serviceprincipals/allproperties/allTasks",
    "microsoft.directory/roleassignments/",
    "microsoft.directory/users/authenticationmethods/",
    "microsoft.directory/conditionalaccesspolicies/",
    "microsoft.directory/users/password/update",
)

# Template ids Microsoft's security defaults treat as administrators (MFA at every sign-in).
SECURITY_DEFAULTS_ADMIN_IDS = frozenset(
    {
        "62e90394-69f5-4237-9190-012177145e10", "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
        "c4e39bd9-1100-46d3-8c65-fb160da0071f", "b0f54661-2d74-4c50-afa3-1ec803f12efe",
        "158c047a-c907-4556-b7ef-446551a6b5f7", "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",
        "29232cdf-9323-42fd-ade2-1d097af3e4de", "729827e3-9c14-49f7-bb1b-9608f156bbb8",
        "966707d0-3269-4727-9be2-8c3a10f19b9d", "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
        "e8611ab8-c189-46e8-94e1-60213ab1f814", "194ae4cb-b126-40b2-bd5b-6091b380977d",
        "f28a1f50-f6e7-4571-818b-6a12f2af6b6c", "fe930be7-5e62-47db-91af-98c3a49a38b1",
        "0526716b-113d-4c15-b2c8-68e3c22b9f80", "45d8d3c5-c802-45c6-b32a-1d70b5e1e86e",
    }
)


@dataclass(frozen=True)
class RoleInfo:
    """What we know about one role definition."""

    id: str
    template_id: str
    name: str
    level: str
    reason: str
    known: bool = True  # False when the definition was not exported


def _actions(definition: dict[str, Any]) -> list[str]:
    actions: list[str] = []
    for permission in definition.get("rolePermissions") or []:
        if isinstance(permission, dict):
            actions.extend(str(a) for a in permission.get("allowedResourceActions") or [])
    return actions


def _is_read_action(action: str) -> bool:
    # Entra actions end in the verb: .../standard/read, .../allProperties/read, .../update.
    return action.lower().endswith("/read")


def classify_role(definition: dict[str, Any]) -> RoleInfo:
    role_id = str(definition.get("id") or "")
    template_id = str(definition.get("templateId") or role_id)
    name = str(definition.get("displayName") or template_id)
    actions = _actions(definition)
    is_reader = "reader" in name.lower() or (bool(actions) and all(_is_read_action(a) for a in actions))
    if is_reader:
        return RoleInfo(role_id, template_id, name, "read", "reader role")
    if definition.get("isPrivileged") is True:
        return RoleInfo(role_id, template_id, name, "admin", "isPrivileged")
    if template_id in TAKEOVER_TEMPLATE_IDS or role_id in TAKEOVER_TEMPLATE_IDS:
        return RoleInfo(role_id, template_id, name, "admin", "well-known tenant takeover role")
    lowered = [a.lower() for a in actions]
    if any(a.startswith(marker) for a in lowered for marker in TAKEOVER_ACTIONS):
        return RoleInfo(role_id, template_id, name, "admin", "permissions include a tenant takeover action")
    return RoleInfo(role_id, template_id, name, "write", "role that changes directory or service objects")


def unknown_role(role_definition_id: str) -> RoleInfo:
    """A role whose definition was not exported: built-in ids equal template ids, so the
    well-known list still recognises takeover roles; anything else is assumed to write."""
    name = TAKEOVER_TEMPLATE_IDS.get(role_definition_id, role_definition_id)
    level = "admin" if role_definition_id in TAKEOVER_TEMPLATE_IDS else "write"
    return RoleInfo(role_definition_id, role_definition_id, name, level,
                    "definition not exported", known=False)


def roles_by_id(definitions: list[dict[str, Any]]) -> dict[str, RoleInfo]:
    result: dict[str, RoleInfo] = {}
    for definition in definitions:
        info = classify_role(definition)
        if info.id:
            result[info.id] = info
    return result


def role_of(assignment: dict[str, Any], roles: dict[str, RoleInfo]) -> RoleInfo:
    role_id = str(assignment.get("roleDefinitionId") or "")
    return roles.get(role_id) or unknown_role(role_id)


def transform_role_assignment(
    assignment: dict[str, Any], roles: dict[str, RoleInfo], tenant_node_id: str
) -> Record:
    """One roleAssignment -> HAS_PERMISSION principal -> tenant (caller checked the fields)."""
    role = role_of(assignment, roles)
    scope = str(assignment.get("directoryScopeId") or "/")
    app_scope = assignment.get("appScopeId")
    conditions: list[str] = []
    if scope != "/":
        kind = "administrative unit" if scope.startswith("/administrativeUnits/") else "directory object"
        conditions.append(f"scoped to {kind} {scope}, not the whole tenant")
    if app_scope not in (None, "", "/"):
        conditions.append(f"app scope {app_scope}")
    if not role.known:
        conditions.append("role definition not exported; level inferred from the role id")
    return edge(
        f"entra:{assignment['principalId']}",
        tenant_node_id,
        EdgeKind.HAS_PERMISSION,
        f"directory role {role.name}",
        level=role.level,
        actions=[role.name],
        role_template_id=role.template_id,
        directory_scope_id=scope,
        assignment_id=str(assignment.get("id") or ""),
        conditions=conditions,
    )
