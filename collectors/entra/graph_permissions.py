"""Microsoft Graph application permissions (app role assignments on the Graph service principal).

``appRoleAssignedTo/<Microsoft Graph servicePrincipal id>.json`` lists who holds which Graph
application permission (``appRoleId``). The permission's name comes from the Graph service
principal's ``appRoles`` when exported, else from the well-known ids below (the same in every
tenant). Each assignment becomes ``HAS_PERMISSION`` holder -> tenant: ``admin`` for permissions
that hand over the tenant, ``write`` for other ``ReadWrite`` ones, ``read`` otherwise.
"""

from __future__ import annotations

from typing import Any

from graph.records import Record, edge
from graph.schema import EdgeKind

MICROSOFT_GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"

# Application-permission ids of Microsoft Graph (identical in every tenant).
WELL_KNOWN = {
    "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8": "RoleManagement.ReadWrite.Directory",
    "06b708a9-e830-4db3-a914-8e69da51d44f": "AppRoleAssignment.ReadWrite.All",
    "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9": "Application.ReadWrite.All",
    "18a4783c-866b-4cc7-a460-3d5e5662c884": "Application.ReadWrite.OwnedBy",
    "dd199f4a-f148-40a4-a2ec-f0069cc799ec": "RoleAssignmentSchedule.ReadWrite.Directory",
    "fee28b28-e1f3-4841-818e-2704dc62245f": "RoleEligibilitySchedule.ReadWrite.Directory",
    "2f6817f8-7b12-4f0f-bc18-eeaf60705a9e": "PrivilegedAccess.ReadWrite.AzureADGroup",
    "41202f2c-f7ab-45be-b001-85c9728b9d69": "PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup",
    "7e05723c-0bb0-42da-be95-ae9f08a6e53c": "Domain.ReadWrite.All",
    "31e08e0a-d3f7-4ca2-ac39-7343fb83e8ad": "RoleManagementPolicy.ReadWrite.Directory",
    "01c0a623-fc9b-48e9-b794-0756f8e8f067": "Policy.ReadWrite.ConditionalAccess",
    "29c18626-4985-4dcd-85c0-193eef327366": "Policy.ReadWrite.AuthenticationMethod",
    "a402ca1c-2696-4531-972d-6e5ee4aa11ea": "Policy.ReadWrite.PermissionGrant",
    "8e8e4742-1d95-4f68-9d56-6ee75648c72a": "DelegatedPermissionGrant.ReadWrite.All",
    "19dbc75e-c2e2-444c-a770-ec69d8559fc7": "Directory.ReadWrite.All",
    "62a82d76-70ea-41e2-9197-370581804d09": "Group.ReadWrite.All",
    "dbaae8cf-10b5-4b86-a4a1-f871c94c6695": "GroupMember.ReadWrite.All",
    "50483e42-d915-4231-9639-7fdb7fd190e5": "UserAuthenticationMethod.ReadWrite.All",
    "56760768-b641-451f-8906-e1b8ab31bca7": "User-PasswordProfile.ReadWrite.All",
    "741f803b-c850-494e-b5df-cde7c675a1ca": "User.ReadWrite.All",
    "7ab1d382-f21e-4acd-a863-ba3e13f7da61": "Directory.Read.All",
    "df021288-bdef-4463-88db-98f22de89214": "User.Read.All",
    "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30": "Application.Read.All",
}

# Permissions with which an app can make itself (or anyone) tenant admin.
TAKEOVER = frozenset(
    {
        "RoleManagement.ReadWrite.Directory",
        "AppRoleAssignment.ReadWrite.All",
        "Application.ReadWrite.All",
        "RoleAssignmentSchedule.ReadWrite.Directory",
        "RoleEligibilitySchedule.ReadWrite.Directory",
        "PrivilegedAccess.ReadWrite.AzureADGroup",
        "PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup",
        "Domain.ReadWrite.All",
        "RoleManagementPolicy.ReadWrite.Directory",
        "Policy.ReadWrite.ConditionalAccess",
        "Policy.ReadWrite.AuthenticationMethod",
        "UserAuthenticationMethod.ReadWrite.All",
        "User-PasswordProfile.ReadWrite.All",
        "Policy.ReadWrite.PermissionGrant",
    }
)


def permission_names(graph_sp: dict[str, Any] | None) -> dict[str, str]:
    """appRoleId -> permission name, from the exported Graph SP's appRoles over the well-known ids."""
    names = dict(WELL_KNOWN)
    for role in (graph_sp or {}).get("appRoles") or []:
        if isinstance(role, dict) and role.get("id") and role.get("value"):
            names[str(role["id"])] = str(role["value"])
    return names


def level_of(permission: str) -> str:
    if permission in TAKEOVER:
        return "admin"
    return "write" if ".ReadWrite" in permission or ".Write" in permission else "read"


def held_permissions(assignments: list[dict[str, Any]], names: dict[str, str]) -> dict[str, set[str]]:
    """Principal object id -> Graph application permission names it holds."""
    held: dict[str, set[str]] = {}
    for assignment in assignments:
        principal = assignment.get("principalId")
        role_id = str(assignment.get("appRoleId") or "")
        if principal and role_id:
            held.setdefault(str(principal), set()).add(names.get(role_id, role_id))
    return held


def transform_app_role_assignment(assignment: dict[str, Any], names: dict[str, str], tenant: str) -> Record:
    """One appRoleAssignment on Microsoft Graph -> HAS_PERMISSION holder -> tenant (fields checked)."""
    role_id = str(assignment["appRoleId"])
    permission = names.get(role_id, role_id)
    assumed = {} if role_id in names else {"assumed": True, "assumed_reason": f"Graph permission id {role_id} "
                                           "unknown (not in the Microsoft Graph service principal's app roles): "
                                           "level assumed read."}
    return edge(
        f"entra:{assignment['principalId']}",
        tenant,
        EdgeKind.HAS_PERMISSION,
        f"Microsoft Graph application permission {permission}",
        level=level_of(permission) if role_id in names else "read",
        actions=[permission],
        app_role_id=role_id,
        granted=str(assignment.get("createdDateTime") or "") or None,
        conditions=[],
        **assumed,
    )
