"""Azure RBAC role assignments from ARM responses: levels, scope nodes, custom roles, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from collectors.entra import collect_offline
from collectors.entra.azure_rbac import (
    azure_activation_rules,
    role_table,
    scope_node,
    transform_azure_assignment,
    transform_azure_eligibility,
)
from collectors.entra.managed_identities import run_as_edges

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "samples" / "entra"
TENANT = "entra:tenant/t1"
SUB = "/subscriptions/11111111-2222-3333-4444-555555555555"


def assignment(role: str, scope: str = SUB, principal: str = "p1", condition: str | None = None) -> dict:
    return {
        "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/x",
        "name": "x",
        "properties": {
            "roleDefinitionId": f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role}",
            "principalId": principal,
            "principalType": "User",
            "scope": scope,
            "condition": condition,
        },
    }


@pytest.mark.parametrize(
    ("role", "name", "level"),
    [
        ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner", "admin"),
        ("18d7d88d-d35e-4fb5-a5c3-7773c4a72b9d", "User Access Administrator", "admin"),
        ("b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor", "write"),
        ("acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader", "read"),
    ],
)
def test_built_in_role_levels(role: str, name: str, level: str) -> None:
    record = transform_azure_assignment(assignment(role), role_table([]), TENANT)
    assert (record["kind"], record["source"], record["level"], record["actions"]) == (
        "HAS_PERMISSION",
        "entra:p1",
        level,
        [name],
    )
    assert record["target"] == f"entra:azure{SUB}"


def test_custom_role_that_writes_role_assignments_is_admin() -> None:
    roles = role_table(
        [
            {
                "name": "c1",
                "properties": {
                    "roleName": "Access Granter",
                    "permissions": [{"actions": ["Microsoft.Authorization/roleAssignments/write"]}],
                },
            },
            {
                "name": "c2",
                "properties": {
                    "roleName": "VM Reader",
                    "permissions": [{"actions": ["Microsoft.Compute/virtualMachines/read"]}],
                },
            },
        ]
    )
    assert roles["c1"] == ("Access Granter", "admin") and roles["c2"] == ("VM Reader", "read")
    unknown = transform_azure_assignment(assignment("zz"), roles, TENANT)
    assert unknown["level"] == "write" and unknown["assumed"] is True and "not exported" in unknown["assumed_reason"]


def test_condition_is_kept() -> None:
    record = transform_azure_assignment(
        assignment("acdd72a7-3385-48ef-bd42-f606fba81ae7", condition="@Resource[...] StringEquals 'x'"),
        role_table([]),
        TENANT,
    )
    assert record["conditions"] == ["ABAC condition: @Resource[...] StringEquals 'x'"]


def test_scope_nodes() -> None:
    rg = scope_node(f"{SUB}/resourceGroups/rg-app", TENANT, {})
    assert (rg["kind"], rg["name"], rg["scope"]) == ("resource_group", "rg-app", f"entra:azure{SUB}")
    vault = scope_node(f"{SUB}/resourceGroups/rg-app/providers/Microsoft.KeyVault/vaults/kv-prod", TENANT, {})
    assert (vault["kind"], vault["name"], vault["scope"]) == (
        "azure_resource",
        "kv-prod",
        f"entra:azure{SUB}/resourceGroups/rg-app",
    )
    group = scope_node("/providers/Microsoft.Management/managementGroups/mg-root", TENANT, {})
    assert (group["kind"], group["scope"]) == ("management_group", TENANT)
    root = transform_azure_assignment(
        assignment("18d7d88d-d35e-4fb5-a5c3-7773c4a72b9d", scope="/"), role_table([]), TENANT
    )
    assert root["target"] == TENANT  # elevated access at the root scope: the whole tenant


def test_sample_subscriptions_and_inherited_duplicates(tmp_path: Path) -> None:
    folder = tmp_path / "entra"
    shutil.copytree(SAMPLE, folder)
    prod = folder / "azure" / "roleAssignments" / "5a1b0000-0000-4000-8000-0000000000a1.json"
    dev = folder / "azure" / "roleAssignments" / "5a1b0000-0000-4000-8000-0000000000d1.json"
    inherited = assignment(
        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        scope="/providers/Microsoft.Management/managementGroups/lumen",
        principal="mg-admin",
    )
    for path in (prod, dev):  # ARM lists an inherited assignment under every subscription
        data = json.loads(path.read_text())
        data["value"].append(inherited)
        path.write_text(json.dumps(data))
    result = collect_offline(folder)
    from_group = [e for e in result.edges if e["source"] == "entra:mg-admin"]
    assert len(from_group) == 1 and from_group[0]["target"] == (
        "entra:azure/providers/Microsoft.Management/managementGroups/lumen"
    )
    prod_node = next(
        n for n in result.nodes if n["id"] == "entra:azure/subscriptions/5a1b0000-0000-4000-8000-0000000000a1"
    )
    assert prod_node["tags"] == ["env=prod"] and prod_node["name"] == "lumen-prod"


def test_assignment_without_principal_is_reported(tmp_path: Path) -> None:
    folder = tmp_path / "entra"
    shutil.copytree(SAMPLE, folder)
    path = folder / "azure" / "roleAssignments" / "5a1b0000-0000-4000-8000-0000000000d1.json"
    data = json.loads(path.read_text())
    del data["value"][0]["properties"]["principalId"]
    path.write_text(json.dumps(data))
    result = collect_offline(folder)
    assert [(e.field, Path(e.file).name) for e in result.errors] == [
        ("principalId", "5a1b0000-0000-4000-8000-0000000000d1.json")
    ]
    assert result.coverage.status == "partial"
    assigned = [
        e
        for e in result.edges
        if e["kind"] == "HAS_PERMISSION"
        and e["via"].startswith("Azure role")
        and not e["source"].startswith("entra:azure")
    ]
    assert len(assigned) == 2


OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"


def eligibility(scope: str) -> dict:
    return {
        "id": "e1",
        "properties": {
            "scope": scope,
            "principalId": "u1",
            "status": "Provisioned",
            "roleDefinitionId": f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/{OWNER}",
        },
    }


def policy(scope: str, enabled: list[str]) -> dict:
    return {
        "properties": {
            "scope": scope,
            "roleDefinitionId": f"{scope}/providers/Microsoft.Authorization/roleDefinitions/{OWNER}",
            "effectiveRules": [
                {
                    "id": "Enablement_EndUser_Assignment",
                    "ruleType": "RoleManagementPolicyEnablementRule",
                    "enabledRules": enabled,
                }
            ],
        }
    }


@pytest.mark.parametrize(
    ("enabled", "mfa"), [(["MultiFactorAuthentication", "Justification"], True), (["Justification"], False)]
)
def test_pim_for_azure_resources(enabled: list[str], mfa: bool) -> None:
    rules = azure_activation_rules([policy(SUB, enabled)])
    role, grant, assume = transform_azure_eligibility(eligibility(SUB), role_table([]), rules, TENANT)
    assert (role["kind"], role["name"]) == ("Role", f"Owner on {SUB}")
    assert (grant["source"], grant["target"], grant["level"]) == (role["id"], f"entra:azure{SUB}", "admin")
    assert (assume["kind"], assume["source"], assume["target"], assume["mfa_required"]) == (
        "CAN_ASSUME",
        "entra:u1",
        role["id"],
        mfa,
    )


def test_resource_group_eligibility_falls_back_to_the_subscription_policy() -> None:
    rules = azure_activation_rules([policy(SUB, ["MultiFactorAuthentication"])])
    _, _, assume = transform_azure_eligibility(
        eligibility(f"{SUB}/resourceGroups/rg-app"), role_table([]), rules, TENANT
    )
    assert assume["mfa_required"] is True
    _, _, unknown = transform_azure_eligibility(eligibility(SUB), role_table([]), {}, TENANT)
    assert unknown["mfa_required"] is False and unknown["assumed"] is True and unknown["conditions"] == []


def test_sample_eva_is_eligible_owner_of_lumen_prod_with_mfa() -> None:
    result = collect_offline(SAMPLE)
    assume = [e for e in result.edges if e["kind"] == "CAN_ASSUME" and "Azure role" in e["via"]]
    assert [(e["source"], e["mfa_required"]) for e in assume] == [
        ("entra:a1000000-0000-4000-8000-000000000010", True)
    ]


VM = f"{SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm1"


def vm(identity: dict | None) -> dict:
    return {"id": VM, "name": "vm1", "type": "Microsoft.Compute/virtualMachines", "identity": identity}


def test_writers_of_a_vm_can_run_as_its_managed_identities() -> None:
    identity = {
        "type": "SystemAssigned, UserAssigned",
        "principalId": "mi-system",
        "userAssignedIdentities": {
            f"{SUB}/resourceGroups/rg-id/providers/Microsoft.ManagedIdentity/"
            "userAssignedIdentities/id-deployer": {"principalId": "mi-user"}
        },
    }
    writers = [
        ("entra:rg-writer", f"{SUB}/resourceGroups/rg-app", "Contributor"),
        ("entra:other-rg", f"{SUB}/resourceGroups/rg-other", "Contributor"),
        ("entra:sub-owner", SUB, "Owner"),
    ]
    nodes, edges = run_as_edges([vm(identity)], writers, TENANT, {})
    assert [(n["id"], n["kind"], n["managed_identities"]) for n in nodes] == [
        (f"entra:azure{VM}", "azure_resource", ["mi-system", "mi-user"])
    ]
    assert {(e["kind"], e["source"], e["target"]) for e in edges} == {
        ("CAN_RUN_AS", "entra:rg-writer", "entra:mi-system"),
        ("CAN_RUN_AS", "entra:rg-writer", "entra:mi-user"),
        ("CAN_RUN_AS", "entra:sub-owner", "entra:mi-system"),
        ("CAN_RUN_AS", "entra:sub-owner", "entra:mi-user"),
    }
    assert "user-assigned id-deployer" in next(e["via"] for e in edges if e["target"] == "entra:mi-user")


def test_no_identity_or_no_run_as_type_gives_no_edge() -> None:
    writers = [("entra:w", SUB, "Contributor")]
    assert run_as_edges([vm(None)], writers, TENANT, {}) == ([], [])
    vault = {
        "id": f"{SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv",
        "name": "kv",
        "type": "Microsoft.KeyVault/vaults",
        "identity": {"principalId": "mi"},
    }
    assert run_as_edges([vault], writers, TENANT, {}) == ([], [])


def test_sample_vm_identity_reachable_from_subscription_owners() -> None:
    run_as = {e["source"] for e in collect_offline(SAMPLE).edges if e["kind"] == "CAN_RUN_AS"}
    assert (
        run_as
        == {
            "entra:a1000000-0000-4000-8000-000000000003",  # li.chen, Owner of lumen-prod
            "entra:c3000000-0000-4000-8000-0000000000b1",  # terraform-prod, User Access Administrator
            f"entra:azure/subscriptions/5a1b0000-0000-4000-8000-0000000000a1/eligibleRole/{OWNER}",  # eva, eligible
        }
    )
