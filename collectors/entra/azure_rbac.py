"""Azure RBAC role assignments (Azure Resource Manager) -> HAS_PERMISSION on subscriptions and below.

Files under ``azure/`` in the Entra export folder, as ARM returns them (``{"value": [...], "nextLink"}``):

* ``azure/subscriptions.json``: ``GET /subscriptions?api-version=2022-12-01``;
* ``azure/roleAssignments/<subscriptionId>.json``:
  ``GET /subscriptions/<id>/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01``
  (assignments at the subscription, its resource groups and resources, and inherited ones);
* ``azure/roleDefinitions/<subscriptionId>.json`` (optional, for custom roles):
  ``GET /subscriptions/<id>/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01``;
* ``azure/roleEligibilityScheduleInstances/<subscriptionId>.json`` (optional, PIM for Azure
  resources): ``GET /subscriptions/<id>/providers/Microsoft.Authorization/roleEligibilityScheduleInstances
  ?api-version=2020-10-01`` and ``azure/roleManagementPolicyAssignments/<subscriptionId>.json``
  (``.../roleManagementPolicyAssignments?api-version=2020-10-01``) for MFA on activation.

Scopes become Resource nodes ``entra:azure<scope>`` (subscription, resource group, management
group, resource); the root scope ``/`` is the tenant. Levels: Owner, User Access Administrator,
Role Based Access Control Administrator and custom roles with ``*`` or
``Microsoft.Authorization/roleAssignments/write`` are ``admin`` (they can grant themselves
anything on the scope); Contributor and other writers ``write``; readers ``read``.
"""

from __future__ import annotations

from typing import Any

from collectors.entra.pim import Activation, activation_from_rules, unknown_activation
from graph.records import Record, edge, node
from graph.schema import EdgeKind, Family, Provider

BUILT_IN_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": ("Owner", "admin"),
    "18d7d88d-d35e-4fb5-a5c3-7773c4a72b9d": ("User Access Administrator", "admin"),
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": ("Role Based Access Control Administrator", "admin"),
    "b24988ac-6180-42a0-ab88-20f7382dd24c": ("Contributor", "write"),
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": ("Reader", "read"),
}
GRANTING_ACTIONS = ("*", "microsoft.authorization/*", "microsoft.authorization/roleassignments/write")


def scope_node_id(scope: str, tenant: str) -> str:
    scope = scope.rstrip("/")
    return tenant if not scope else f"entra:azure{scope}"


def _scope_kind(scope: str) -> tuple[str, str]:
    """(kind, name) of an ARM scope path."""
    parts = [p for p in scope.strip("/").split("/") if p]
    lowered = [p.lower() for p in parts]
    if len(parts) == 2 and lowered[0] == "subscriptions":
        return "subscription", parts[1]
    if len(parts) == 4 and lowered[2] == "resourcegroups":
        return "resource_group", parts[3]
    if "managementgroups" in lowered:
        return "management_group", parts[-1]
    return "azure_resource", parts[-1] if parts else "/"


def _parent_scope(scope: str) -> str:
    parts = [p for p in scope.strip("/").split("/") if p]
    if len(parts) > 4 and parts[0].lower() == "subscriptions" and parts[2].lower() == "resourcegroups":
        return "/" + "/".join(parts[:4])
    if len(parts) > 2 and parts[0].lower() == "subscriptions":
        return "/" + "/".join(parts[:2])
    return ""


def _tags(tags: Any) -> list[str]:
    return sorted(f"{k}={v}" for k, v in tags.items()) if isinstance(tags, dict) else []


def transform_subscription(subscription: dict[str, Any], tenant: str) -> Record:
    sub_id = str(subscription["subscriptionId"])
    return node(
        scope_node_id(f"/subscriptions/{sub_id}", tenant),
        Family.RESOURCE,
        "subscription",
        Provider.ENTRA,
        str(subscription.get("displayName") or sub_id),
        tenant,
        subscription_id=sub_id,
        state=subscription.get("state"),
        tags=_tags(subscription.get("tags")),
    )


def scope_node(scope: str, tenant: str, subscription_names: dict[str, str]) -> Record:
    """A node for a scope below (or beside) a subscription, named from its path."""
    kind, name = _scope_kind(scope)
    parent = _parent_scope(scope)
    if kind == "subscription":
        name = subscription_names.get(name.lower(), name)
    return node(
        scope_node_id(scope, tenant),
        Family.RESOURCE,
        kind,
        Provider.ENTRA,
        name,
        scope_node_id(parent, tenant) if parent else tenant,
        arm_scope=scope,
    )


def role_table(definitions: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    """Role definition GUID -> (name, level), built-ins plus the exported (custom) definitions."""
    table = dict(BUILT_IN_ROLES)
    for definition in definitions:
        guid = str(definition.get("name") or "").lower()
        props = definition.get("properties") or {}
        if not guid or not isinstance(props, dict):
            continue
        actions = [
            str(a).lower()
            for p in props.get("permissions") or []
            if isinstance(p, dict)
            for a in p.get("actions") or []
        ]
        name = str(props.get("roleName") or guid)
        if guid in BUILT_IN_ROLES:
            continue
        if any(a in GRANTING_ACTIONS for a in actions):
            level = "admin"
        elif actions and all(a.endswith("/read") for a in actions):
            level = "read"
        else:
            level = "read" if "reader" in name.lower() and not actions else "write"
        table[guid] = (name, level)
    return table


def transform_azure_assignment(
    assignment: dict[str, Any], roles: dict[str, tuple[str, str]], tenant: str
) -> Record:
    """One ARM roleAssignment -> HAS_PERMISSION principal -> scope node (caller checked the fields)."""
    props = assignment["properties"]
    guid = str(props["roleDefinitionId"]).rstrip("/").rsplit("/", 1)[-1].lower()
    name, level = roles.get(guid, (guid, "write"))
    conditions = []
    assumed = {} if guid in roles else {"assumed": True, "assumed_reason": f"Role definition {guid} not "
                                        "exported: level assumed write."}
    if props.get("condition"):
        conditions.append(f"ABAC condition: {props['condition']}")
    scope = str(props.get("scope") or "")
    return edge(
        f"entra:{props['principalId']}",
        scope_node_id(scope, tenant),
        EdgeKind.HAS_PERMISSION,
        f"Azure role {name} on {scope or '/'}",
        level=level,
        actions=[name],
        principal_type=props.get("principalType"),
        arm_scope=scope,
        conditions=conditions,
        **assumed,
    )


def _role_guid(role_definition_id: str) -> str:
    return str(role_definition_id).rstrip("/").rsplit("/", 1)[-1].lower()


def azure_activation_rules(policy_assignments: list[dict[str, Any]]) -> dict[tuple[str, str], Activation]:
    """(scope lower-cased, role GUID) -> what activating that role at that scope demands."""
    found: dict[tuple[str, str], Activation] = {}
    for assignment in policy_assignments:
        props = assignment.get("properties") or {}
        rules = props.get("effectiveRules") if isinstance(props, dict) else None
        if not isinstance(rules, list) or not props.get("roleDefinitionId"):
            continue
        key = (str(props.get("scope") or "").rstrip("/").lower(), _role_guid(props["roleDefinitionId"]))
        found[key] = activation_from_rules(rules)
    return found


def _activation_for(scope: str, guid: str, rules: dict[tuple[str, str], Activation]) -> Activation | None:
    """The policy at the eligibility's scope, else the closest parent scope's."""
    current = scope.rstrip("/").lower()
    while True:
        if (current, guid) in rules:
            return rules[(current, guid)]
        if not current:
            return None
        current = current.rsplit("/", 2)[0] if current.count("/") > 2 else ""


def transform_azure_eligibility(
    instance: dict[str, Any],
    roles: dict[str, tuple[str, str]],
    rules: dict[tuple[str, str], Activation],
    tenant: str,
) -> tuple[Record, Record, Record]:
    """One eligible Azure role assignment -> (role-at-scope node, its HAS_PERMISSION on the scope,
    CAN_ASSUME from the principal with ``mfa_required`` from the scope's PIM policy)."""
    props = instance["properties"]
    guid = _role_guid(props["roleDefinitionId"])
    name, level = roles.get(guid, (guid, "write"))
    scope = str(props.get("scope") or "").rstrip("/")
    role_id = f"{scope_node_id(scope, tenant)}/eligibleRole/{guid}"
    role_node = node(
        role_id,
        Family.IDENTITY,
        "Role",
        Provider.ENTRA,
        f"{name} on {scope or '/'}",
        tenant,
        human=False,
        arm_scope=scope,
        role_definition=guid,
    )
    grant = edge(
        role_id,
        scope_node_id(scope, tenant),
        EdgeKind.HAS_PERMISSION,
        f"Azure role {name} on {scope or '/'}",
        level=level,
        actions=[name],
        arm_scope=scope,
    )
    activation = _activation_for(scope, guid, rules)
    assume = edge(
        f"entra:{props['principalId']}",
        role_id,
        EdgeKind.CAN_ASSUME,
        f"PIM eligible Azure role {name} on {scope or '/'}",
        mfa_required=bool(activation and activation.mfa),
        conditions=list(activation.conditions) if activation else [],
        **({} if activation else unknown_activation("Azure role")),
    )
    return role_node, grant, assume
