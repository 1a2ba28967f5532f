"""PIM eligibility (MFA on activation), Graph application permissions, federated credentials."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from collectors.entra import collect_offline
from collectors.entra.directory_roles import roles_by_id
from collectors.entra.federation import transform_federated_credentials
from collectors.entra.graph_permissions import level_of, permission_names, transform_app_role_assignment
from collectors.entra.pim import activation_rules, transform_eligibility, transform_group_eligibility

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "samples" / "entra"
USER_ADMIN = "fe930be7-5e62-47db-91af-98c3a49a38b1"
PRA = "e8611ab8-c189-46e8-94e1-60213ab1f814"


def policy(role: str, enabled: list[str], auth_context: bool = False) -> dict:
    return {
        "roleDefinitionId": role,
        "scopeId": "/",
        "scopeType": "DirectoryRole",
        "policy": {
            "rules": [
                {
                    "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyEnablementRule",
                    "id": "Enablement_EndUser_Assignment",
                    "enabledRules": enabled,
                },
                {
                    "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyAuthenticationContextRule",
                    "id": "AuthenticationContext_EndUser_Assignment",
                    "isEnabled": auth_context,
                    "claimValue": "c1",
                },
            ]
        },
    }


SCHEDULE = {
    "id": "e1",
    "principalId": "u1",
    "roleDefinitionId": USER_ADMIN,
    "directoryScopeId": "/",
    "memberType": "Direct",
    "status": "Provisioned",
    "scheduleInfo": {"expiration": {"type": "afterDateTime", "endDateTime": "2027-06-30T00:00:00Z"}},
}


@pytest.mark.parametrize(
    ("rules", "mfa"),
    [
        (["MultiFactorAuthentication", "Justification"], True),
        (["Justification"], False),
        ([], False),
    ],
)
def test_activation_mfa_from_the_role_policy(rules: list[str], mfa: bool) -> None:
    roles = roles_by_id([{"id": USER_ADMIN, "displayName": "User Administrator"}])
    record, role = transform_eligibility(SCHEDULE, roles, activation_rules([policy(USER_ADMIN, rules)]))
    assert (record["kind"], record["source"], record["target"]) == (
        "CAN_ASSUME",
        "entra:u1",
        f"entra:role/{USER_ADMIN}",
    )
    assert record["mfa_required"] is mfa
    assert record["eligibility_ends"] == "2027-06-30T00:00:00Z" and role.level == "admin"


def test_unexported_policy_and_authentication_context_never_count_as_mfa() -> None:
    record, _ = transform_eligibility(SCHEDULE, {}, {})
    # an unexported PIM policy is an assumption (no MFA on activation), not a condition
    assert record["mfa_required"] is False and record["assumed"] is True and "not exported" in record["assumed_reason"]
    assert record["conditions"] == []
    context, _ = transform_eligibility(
        SCHEDULE, {}, activation_rules([policy(USER_ADMIN, [], auth_context=True)])
    )
    assert context["mfa_required"] is False
    assert any("authentication context c1" in c for c in context["conditions"])


def test_sample_eligible_roles_with_and_without_mfa_on_activation() -> None:
    edges = {
        e["source"]: e
        for e in collect_offline(SAMPLE).edges
        if e["kind"] == "CAN_ASSUME" and e["target"].startswith("entra:role/")
    }
    kai, eva = (
        edges["entra:a1000000-0000-4000-8000-000000000009"],
        edges["entra:a1000000-0000-4000-8000-000000000010"],
    )
    assert (kai["target"], kai["mfa_required"]) == (f"entra:role/{USER_ADMIN}", False)
    assert (eva["target"], eva["mfa_required"]) == (f"entra:role/{PRA}", True)


def test_removing_the_eligibility_removes_the_edge(tmp_path: Path) -> None:
    folder = tmp_path / "entra"
    shutil.copytree(SAMPLE, folder)
    data = json.loads((folder / "roleEligibilitySchedules.json").read_text())
    data["value"] = [s for s in data["value"] if s["principalId"] != "a1000000-0000-4000-8000-000000000009"]
    (folder / "roleEligibilitySchedules.json").write_text(json.dumps(data))
    sources = {
        e["source"]
        for e in collect_offline(folder).edges
        if e["kind"] == "CAN_ASSUME" and e["target"].startswith("entra:role/")
    }
    assert sources == {"entra:a1000000-0000-4000-8000-000000000010"}


@pytest.mark.parametrize(
    ("permission", "level"),
    [
        ("RoleManagement.ReadWrite.Directory", "admin"),
        ("AppRoleAssignment.ReadWrite.All", "admin"),
        ("Application.ReadWrite.All", "admin"),
        ("Group.ReadWrite.All", "write"),
        ("Directory.Read.All", "read"),
    ],
)
def test_graph_permission_levels(permission: str, level: str) -> None:
    assert level_of(permission) == level


def test_graph_permission_names_from_the_graph_service_principal_and_well_known_ids() -> None:
    names = permission_names({"appRoles": [{"id": "new-id", "value": "Brand.New.Permission"}]})
    assert names["new-id"] == "Brand.New.Permission"
    assert names["9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8"] == "RoleManagement.ReadWrite.Directory"
    unknown = transform_app_role_assignment({"principalId": "p", "appRoleId": "zzz"}, names, "entra:tenant/t")
    assert unknown["level"] == "read" and unknown["assumed"] is True
    assert "level assumed read" in unknown["assumed_reason"] and unknown["conditions"] == []


def test_sample_graph_admin_permission_on_the_two_year_secret() -> None:
    result = collect_offline(SAMPLE)
    grants = {
        e["source"]: e for e in result.edges if e["via"].startswith("Microsoft Graph application permission")
    }
    hr_sync = grants["entra:c3000000-0000-4000-8000-0000000000b3"]
    assert (hr_sync["level"], hr_sync["actions"]) == ("admin", ["RoleManagement.ReadWrite.Directory"])
    assert grants["entra:c3000000-0000-4000-8000-0000000000b4"]["level"] == "read"
    # RoleManagement.ReadWrite.Directory -> can assign itself Global Administrator
    assert any(
        e["source"] == "entra:c3000000-0000-4000-8000-0000000000b3"
        and e["kind"] == "CAN_GRANT"
        and e["target"] == "entra:role/62e90394-69f5-4237-9190-012177145e10"
        for e in result.edges
    )


def test_federated_credentials_github_and_kubernetes() -> None:
    nodes, edges, k8s = transform_federated_credentials(
        "deployer",
        "entra:sp",
        [
            {
                "name": "gh",
                "issuer": "https://token.actions.githubusercontent.com",
                "subject": "repo:org/infra:environment:prod",
                "audiences": ["api://AzureADTokenExchange"],
            },
            {
                "name": "aks",
                "issuer": "https://westeurope.oic.prod-aks.azure.com/t/c/",
                "subject": "system:serviceaccount:payments:api",
                "audiences": ["api://AzureADTokenExchange"],
            },
        ],
    )
    assert [n["id"] for n in nodes] == [
        "external:oidc/token.actions.githubusercontent.com/repo:org/infra:environment:prod"
    ]
    assert [(e["kind"], e["target"]) for e in edges] == [("FEDERATES_TO", "entra:sp")]
    assert k8s == ["system:serviceaccount:payments:api"]


def test_sample_github_subject_federates_to_terraform_prod() -> None:
    result = collect_offline(SAMPLE)
    edge = next(e for e in result.edges if e["kind"] == "FEDERATES_TO")
    assert (
        edge["source"]
        == "external:oidc/token.actions.githubusercontent.com/repo:lumenfreight/infra:environment:prod"
    )
    assert edge["target"] == "entra:c3000000-0000-4000-8000-0000000000b1"


GROUP = "b2000000-0000-4000-8000-000000000001"  # AWS-Prod-Deployers


def group_policy(access: str, enabled: list[str]) -> dict:
    return {**policy(access, enabled), "scopeId": GROUP, "scopeType": "Group"}


@pytest.mark.parametrize(
    ("rules", "mfa"), [(["MultiFactorAuthentication"], True), (["Justification"], False)]
)
def test_pim_for_groups_eligibility(rules: list[str], mfa: bool) -> None:
    schedule = {
        "id": "g1",
        "principalId": "u1",
        "groupId": GROUP,
        "accessId": "member",
        "status": "Provisioned",
    }
    record = transform_group_eligibility(
        schedule, "AWS-Prod-Deployers", activation_rules([group_policy("member", rules)])
    )
    assert (record["kind"], record["source"], record["target"]) == (
        "CAN_ASSUME",
        "entra:u1",
        f"entra:{GROUP}",
    )
    assert record["mfa_required"] is mfa and record["access"] == "member"
    owner = transform_group_eligibility(
        {**schedule, "accessId": "owner"},
        "AWS-Prod-Deployers",
        activation_rules([group_policy("member", rules)]),
    )
    assert owner["mfa_required"] is False and owner["assumed"] is True  # owner policy not exported
    assert "activation assumed not to require MFA" in owner["assumed_reason"] and owner["conditions"] == []


def test_sample_eva_is_eligible_for_aws_prod_deployers_with_mfa_on_activation(tmp_path: Path) -> None:
    edges = [
        e
        for e in collect_offline(SAMPLE).edges
        if e["kind"] == "CAN_ASSUME" and e["target"] == f"entra:{GROUP}"
    ]
    assert [(e["source"], e["mfa_required"]) for e in edges] == [
        ("entra:a1000000-0000-4000-8000-000000000010", True)
    ]
    folder = tmp_path / "entra"
    shutil.copytree(SAMPLE, folder)
    (folder / "groupEligibilitySchedules" / f"{GROUP}.json").write_text(json.dumps({"value": []}))
    assert not [
        e
        for e in collect_offline(folder).edges
        if e["target"] == f"entra:{GROUP}" and e["kind"] == "CAN_ASSUME"
    ]


def test_broken_pim_file_is_reported_and_the_rest_loads(tmp_path: Path) -> None:
    folder = tmp_path / "entra"
    shutil.copytree(SAMPLE, folder)
    (folder / "groupEligibilitySchedules" / f"{GROUP}.json").write_text('{"value": [')
    result = collect_offline(folder)
    assert [Path(e.file).name for e in result.errors] == [f"{GROUP}.json"]
    assert "invalid JSON" in result.errors[0].message and result.coverage.status == "partial"
    assert len([e for e in result.edges if e["kind"] == "CAN_ASSUME"]) == 3  # the other eligibilities
