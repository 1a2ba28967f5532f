"""Azure compute resources with managed identities -> who can run code as those identities.

``azure/resources/<subscriptionId>.json`` is ARM's resource list
(``GET /subscriptions/<id>/resources?api-version=2021-04-01``), whose items carry ``identity``:
a system-assigned ``principalId`` and ``userAssignedIdentities`` (each with its ``principalId``).
Whoever can write a compute resource can make it run their code, which then signs in as the
resource's managed identity (BloodHound's AZVMContributor / AZExecuteCommand,
AZWebsiteContributor, AZAutomationContributor, AZLogicAppContributor ...). So every Azure role
assignment at ``write`` or ``admin`` level whose scope contains such a resource gives
``CAN_RUN_AS`` principal -> the identity's service principal ``entra:<principalId>``.
"""

from __future__ import annotations

from typing import Any

from collectors.entra.azure_rbac import scope_node, scope_node_id
from graph.records import Record, edge
from graph.schema import EdgeKind
from graph.techniques import References, Technique, register

# Resource types whose writers can run code as the resource's managed identity, and how.
RUN_AS_TYPES = {
    "microsoft.compute/virtualmachines": "run a command on virtual machine",
    "microsoft.compute/virtualmachinescalesets": "run a command on scale set",
    "microsoft.web/sites": "deploy code to app / function",
    "microsoft.automation/automationaccounts": "run a runbook in automation account",
    "microsoft.logic/workflows": "edit logic app",
    "microsoft.containerinstance/containergroups": "run a container in container group",
    "microsoft.app/containerapps": "deploy a container app revision to",
    "microsoft.datafactory/factories": "run a pipeline in data factory",
}


RUN_AS_MANAGED_IDENTITY = register(Technique(
    "entra.managed-identities.run-as-by-azure-role", "Run code as a resource's managed identity", "entra",
    EdgeKind.CAN_RUN_AS,
    ("an Azure role at write or admin level on a scope containing a compute resource with a managed identity "
     "(" + ", ".join(sorted(RUN_AS_TYPES)) + ")",),
    "whoever can write a virtual machine, app, automation account, logic app, container or data factory makes "
    "it run their code, which signs in as the resource's managed identity",
    "Give compute resources that carry privileged managed identities their own resource group with few "
    "writers, and grant those identities only what the workload needs.",
    References(bloodhound="AZVMContributor, AZExecuteCommand, AZWebsiteContributor, AZAutomationContributor, "
                          "AZLogicAppContributor", mitre="T1078.004")))


def identities_of(resource: dict[str, Any]) -> list[tuple[str, str]]:
    """(principalId, "system-assigned" | "user-assigned <name>") of a resource's managed identities."""
    identity = resource.get("identity")
    if not isinstance(identity, dict):
        return []
    found: list[tuple[str, str]] = []
    if identity.get("principalId"):
        found.append((str(identity["principalId"]), "system-assigned"))
    for resource_id, assigned in (identity.get("userAssignedIdentities") or {}).items():
        if isinstance(assigned, dict) and assigned.get("principalId"):
            found.append(
                (str(assigned["principalId"]), f"user-assigned {str(resource_id).rsplit('/', 1)[-1]}")
            )
    return found


def _contains(scope: str, resource_id: str) -> bool:
    scope = scope.rstrip("/").lower()
    return not scope or resource_id.lower() == scope or resource_id.lower().startswith(scope + "/")


def run_as_edges(
    resources: list[dict[str, Any]], writers: list[tuple[str, str, str]], tenant: str, names: dict[str, str]
) -> tuple[list[Record], list[Record]]:
    """(resource nodes, CAN_RUN_AS edges). ``writers`` = (principal node id, ARM scope, role name)
    of role assignments at write / admin level (active, or an eligible role's node)."""
    nodes: list[Record] = []
    edges: list[Record] = []
    for resource in resources:
        resource_id = str(resource.get("id") or "")
        how = RUN_AS_TYPES.get(str(resource.get("type") or "").lower())
        identities = identities_of(resource)
        if not resource_id or not how or not identities:
            continue
        record = scope_node(resource_id, tenant, names)
        record["resource_type"] = str(resource.get("type"))
        record["managed_identities"] = sorted(principal for principal, _ in identities)
        nodes.append(record)
        name = str(resource.get("name") or resource_id.rsplit("/", 1)[-1])
        for principal, role_name, scope in ((p, r, s) for p, s, r in writers if _contains(s, resource_id)):
            for identity, kind in identities:
                edges.append(
                    edge(
                        principal,
                        f"entra:{identity}",
                        EdgeKind.CAN_RUN_AS,
                        f"Azure role {role_name} on {scope or '/'}: can {how} {name} and act as its {kind} "
                        "managed identity",
                        mfa_required=False,
                        resource=scope_node_id(resource_id, tenant),
                        techniques=[RUN_AS_MANAGED_IDENTITY.id],
                    )
                )
    return nodes, edges
