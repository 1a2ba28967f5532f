"""Entra ID offline collector: sample tenant, MFA truth, paging, credentials, roles, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from collectors.entra import collect_offline
from collectors.entra.conditional_access import Directory, decide_mfa
from collectors.entra.directory_roles import classify_role, roles_by_id, transform_role_assignment
from collectors.entra.exports import load_collection
from collectors.entra.membership import build_memberships
from graph.records import RecordOrigin, validate_records

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "samples" / "entra"
TENANT = "entra:tenant/6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
CONTRACTORS = "b2000000-0000-4000-8000-000000000005"


def user_id(n: int) -> str:
    return f"a1000000-0000-4000-8000-{n:012d}"


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    folder = tmp_path / "entra"
    shutil.copytree(SAMPLE, folder)
    return folder


def load(path: Path) -> Any:
    return json.loads(path.read_text())


def save(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data))


def nodes_by_id(result) -> dict[str, dict[str, Any]]:
    return {record["id"]: record for record in result.nodes}


def users(result) -> dict[str, dict[str, Any]]:
    return {r["id"].removeprefix("entra:"): r for r in result.nodes if r["kind"] == "User"}


# --- the sample tenant --------------------------------------------------------------------------

SAMPLE_MFA = [
    (1, False, False, "excluded from 'Require MFA for all users' via group Contractors"),
    (2, False, True, "excluded from 'Require MFA for all users' by name"),
    (3, True, True, "'Require MFA for all users' requires MFA"),
    (4, False, False, "via group Contractors"),
    (5, True, True, "'Require MFA for all users' requires MFA"),
    (6, True, True, "'Require MFA for all users' requires MFA"),
    (7, False, False, "excluded from 'Require MFA for all users' by name"),
    (8, False, False, "via group Contractors"),
    (9, False, False, "via group Contractors"),
    # registered for MFA, but no policy enforces it: registration alone is not MFA
    (10, False, True, "via group Contractors"),
]


@pytest.mark.parametrize(("n", "mfa", "registered", "reason"), SAMPLE_MFA)
def test_sample_users_mfa_truth_table(n: int, mfa: bool, registered: bool, reason: str) -> None:
    user = users(collect_offline(SAMPLE))[user_id(n)]
    assert user["mfa"] is mfa
    assert user["mfa_registered"] is registered
    assert reason in user["mfa_reason"]


def test_sample_records_are_valid_and_complete() -> None:
    result = collect_offline(SAMPLE)
    checked = validate_records(result.nodes, result.edges, RecordOrigin("entra"))
    assert checked.errors == [] and result.errors == []
    assert result.coverage.status == "complete"
    assert result.coverage.scopes == [TENANT, "entra:azure/subscriptions/5a1b0000-0000-4000-8000-0000000000a1",
                                      "entra:azure/subscriptions/5a1b0000-0000-4000-8000-0000000000d1"]
    counts = result.coverage.counts
    assert {kind: counts[kind] for kind in ("nodes.User", "nodes.Group", "nodes.ServiceIdentity", "nodes.Role",
                                            "nodes.client_secret", "nodes.tenant", "edges.MEMBER_OF",
                                            "edges.HAS_PERMISSION", "edges.AUTHENTICATES", "edges.CAN_ASSUME",
                                            "edges.CAN_IMPERSONATE")} == {
        # 4 directory role nodes, 1 eligible Azure role (Owner on lumen-prod)
        "nodes.User": 10, "nodes.Group": 5, "nodes.ServiceIdentity": 9, "nodes.Role": 5, "nodes.client_secret": 5,
        "nodes.tenant": 1,
        # 4 directory roles + 2 Graph application permissions + 4 role nodes' grants + 3 Azure roles
        # + 1 eligible Azure role's grant
        "edges.HAS_PERMISSION": 14, "edges.AUTHENTICATES": 5,
        # delegated consents: brightdesk-crm-sync acts as all 10 users, docs-indexer as tom.baker
        "edges.CAN_IMPERSONATE": 11,
        # 2 PIM eligible directory roles + 1 PIM for Groups + 1 PIM for Azure resources
        "edges.CAN_ASSUME": 4,
        # 11 group memberships + 4 active holders of roles with abuse techniques -> role nodes
        "edges.MEMBER_OF": 15,
    }
    assert counts["nodes.ServiceIdentity"] == 9  # 5 own SPs, 2 Microsoft SPs, 1 VM managed identity, 1 GitHub subject
    assert "users.page2.json" in result.coverage.files
    tenant = nodes_by_id(result)[TENANT]
    assert (tenant["kind"], tenant["name"], tenant["scope"]) == ("tenant", "Lumen Freight", "")


def test_sample_user_properties() -> None:
    by_id = users(collect_offline(SAMPLE))
    dana = by_id[user_id(1)]
    assert dana["human"] is True and dana["enabled"] is True
    assert dana["email"] == "dana.ruiz@lumenfreight.com" and dana["user_type"] == "member"
    assert dana["scope"] == TENANT
    assert dana["last_used"] == "2026-10-31T08:02:11Z"
    # breakglass has no mailbox: the UPN is the email used for correlation
    assert by_id[user_id(7)]["email"] == "breakglass@lumenfreight.onmicrosoft.com"


def test_sample_report_only_policy_is_mentioned_never_counted() -> None:
    dana = users(collect_offline(SAMPLE))[user_id(1)]
    assert dana["mfa"] is False
    assert "'Report-only MFA for contractors' is report-only" in dana["mfa_reason"]


def test_sample_nested_group_membership_is_an_edge() -> None:
    edges = collect_offline(SAMPLE).edges
    nested = [e for e in edges if e["kind"] == "MEMBER_OF" and e["target"] == "entra:b2000000-0000-4000-8000-000000000002"]
    assert [(e["source"], e["via"]) for e in nested] == [
        ("entra:b2000000-0000-4000-8000-000000000004", "Entra group membership")
    ]
    sam_in = {e["target"] for e in edges if e["kind"] == "MEMBER_OF" and e["source"] == f"entra:{user_id(2)}"}
    assert sam_in == {"entra:b2000000-0000-4000-8000-000000000004"}


# --- Conditional Access decisions on hand-made tenants ------------------------------------------

def policy(name: str = "P", state: str = "enabled", users: dict | None = None, **conditions: Any) -> dict:
    grant = conditions.pop("grantControls", {"operator": "OR", "builtInControls": ["mfa"],
                                             "customAuthenticationFactors": [], "termsOfUse": [],
                                             "authenticationStrength": None})
    base = {
        "userRiskLevels": [], "signInRiskLevels": [], "clientAppTypes": ["all"], "platforms": None,
        "locations": None, "devices": None,
        "applications": {"includeApplications": ["All"], "excludeApplications": []},
        "users": {"includeUsers": ["All"], "excludeUsers": [], "includeGroups": [], "excludeGroups": [],
                  "includeRoles": [], "excludeRoles": [], "includeGuestsOrExternalUsers": None,
                  "excludeGuestsOrExternalUsers": None, **(users or {})},
    }
    base.update(conditions)
    return {"id": name, "displayName": name, "state": state, "conditions": base, "grantControls": grant}


def directory(members: dict[str, list[dict]] | None = None, roles: dict[str, set[str]] | None = None,
              groups: set[str] | None = None) -> Directory:
    members = members or {}
    return Directory(
        memberships=build_memberships(members, groups if groups is not None else set(members)),
        group_names={"outer": "Outer", "inner": "Inner", "admins": "Admins"},
        principal_roles=roles or {},
        role_names={"62e90394-69f5-4237-9190-012177145e10": "Global Administrator"},
    )


MEMBER = {"id": "u1", "userPrincipalName": "ann@contoso.com", "userType": "Member"}
GUEST = {"id": "g1", "userPrincipalName": "eve_fabrikam.com#EXT#@contoso.onmicrosoft.com", "userType": "Guest"}


def test_report_only_policy_never_enforces() -> None:
    decision = decide_mfa(MEMBER, [policy(state="enabledForReportingButNotEnforced")], directory(),
                          {"isEnabled": False})
    assert decision.mfa is False
    assert "report-only" in decision.reason


def test_disabled_and_report_only_next_to_enforcing_policy() -> None:
    policies = [policy("Off", state="disabled"), policy("Report", state="enabledForReportingButNotEnforced")]
    assert decide_mfa(MEMBER, policies + [policy("Real")], directory()).mfa is True


def test_nested_group_exclusion() -> None:
    group = {"@odata.type": "#microsoft.graph.group", "id": "inner"}
    user = {"@odata.type": "#microsoft.graph.user", "id": "u1"}
    tenant = directory({"outer": [group], "inner": [user]})
    decision = decide_mfa(MEMBER, [policy("Baseline", users={"excludeGroups": ["outer"]})], tenant)
    assert decision.mfa is False
    assert "excluded from 'Baseline' via group Outer (nested: Inner -> Outer)" in decision.reason


def test_group_with_unexported_members_makes_mfa_unknown() -> None:
    # Outer's members are known and hold Inner, whose members were not exported.
    tenant = directory({"outer": [{"@odata.type": "#microsoft.graph.group", "id": "inner"}]},
                       groups={"outer", "inner"})
    decision = decide_mfa(MEMBER, [policy("Baseline", users={"excludeGroups": ["outer"]})], tenant)
    assert decision.mfa is None
    assert "Inner were not exported" in decision.reason


def test_guest_exclusion() -> None:
    spec = {"guestOrExternalUserTypes": "internalGuest,b2bCollaborationGuest",
            "externalTenants": {"@odata.type": "#microsoft.graph.conditionalAccessAllExternalTenants",
                                "membershipKind": "all"}}
    policies = [policy("Staff MFA", users={"excludeGuestsOrExternalUsers": spec})]
    guest = decide_mfa(GUEST, policies, directory())
    assert guest.mfa is False and "excluded from 'Staff MFA' as a guest" in guest.reason
    assert decide_mfa(MEMBER, policies, directory()).mfa is True


def test_guest_exclusion_for_enumerated_tenants_is_unknown() -> None:
    spec = {"guestOrExternalUserTypes": "b2bCollaborationGuest",
            "externalTenants": {"membershipKind": "enumerated", "members": ["0000aaaa-0000-0000-0000-000000000000"]}}
    decision = decide_mfa(GUEST, [policy(users={"excludeGuestsOrExternalUsers": spec})], directory())
    assert decision.mfa is None


def test_include_by_group_and_by_role() -> None:
    members = {"admins": [{"@odata.type": "#microsoft.graph.user", "id": "u1"}]}
    by_group = policy("Admins MFA", users={"includeUsers": [], "includeGroups": ["admins"]})
    assert decide_mfa(MEMBER, [by_group], directory(members)).mfa is True
    assert decide_mfa({**MEMBER, "id": "u2"}, [by_group], directory(members)).mfa is False

    ga = "62e90394-69f5-4237-9190-012177145e10"
    by_role = policy("GA MFA", users={"includeUsers": [], "includeRoles": [ga]})
    held_via_group = directory(members, roles={"admins": {ga}})
    decision = decide_mfa(MEMBER, [by_role], held_via_group)
    assert decision.mfa is True and "Global Administrator" in decision.reason
    assert decide_mfa(MEMBER, [by_role], directory(members)).mfa is False


@pytest.mark.parametrize(
    ("conditions", "fragment"),
    [
        ({"locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}}, "excluded locations"),
        ({"platforms": {"includePlatforms": ["android", "iOS"], "excludePlatforms": []}}, "only on platforms"),
        ({"clientAppTypes": ["browser", "mobileAppsAndDesktopClients"]}, "client app types"),
        ({"signInRiskLevels": ["high", "medium"]}, "sign-in risk"),
        ({"applications": {"includeApplications": ["797f4846-ba00-4fd7-ba43-dac1f8f63013"]}}, "selected applications"),
        ({"grantControls": {"operator": "OR", "builtInControls": ["mfa", "compliantDevice"]}}, "MFA or compliantDevice"),
    ],
)
def test_limited_policy_gives_unknown_unless_another_enforces(conditions: dict, fragment: str) -> None:
    limited = policy("Limited", **conditions)
    alone = decide_mfa(MEMBER, [limited], directory())
    assert alone.mfa is None
    assert fragment in alone.reason
    assert decide_mfa(MEMBER, [limited, policy("Full")], directory()).mfa is True


def test_authentication_strength_counts_as_mfa_and_block_does_not() -> None:
    strength = {"operator": "AND", "builtInControls": [], "authenticationStrength": {"id": "00000000-0000-0000-0000-000000000002"}}
    assert decide_mfa(MEMBER, [policy(grantControls=strength)], directory()).mfa is True
    block = {"operator": "OR", "builtInControls": ["block"]}
    assert decide_mfa(MEMBER, [policy(grantControls=block)], directory()).mfa is False


def test_no_enabled_policy_uses_security_defaults() -> None:
    ga = "62e90394-69f5-4237-9190-012177145e10"
    tenant = directory(roles={"u1": {ga}})
    assert decide_mfa(MEMBER, [], tenant, {"isEnabled": True}).mfa is True
    assert decide_mfa({**MEMBER, "id": "u2"}, [], tenant, {"isEnabled": True}).mfa is None
    assert decide_mfa(MEMBER, [], tenant, {"isEnabled": False}).mfa is False
    assert decide_mfa(MEMBER, [], tenant, None).mfa is None


def test_missing_ca_file_makes_every_user_unknown(sample: Path) -> None:
    (sample / "conditionalAccessPolicies.json").unlink()
    result = collect_offline(sample)
    assert {u["mfa"] for u in users(result).values()} == {None}
    assert all("not exported" in u["mfa_reason"] for u in users(result).values())
    assert any(note.startswith("conditionalAccessPolicies.json missing") for note in result.coverage.notes)
    assert result.coverage.status == "partial"


def test_sample_with_baseline_switched_to_report_only(sample: Path) -> None:
    path = sample / "conditionalAccessPolicies.json"
    data = load(path)
    data["value"][0]["state"] = "enabledForReportingButNotEnforced"
    save(path, data)
    li = users(collect_offline(sample))[user_id(3)]
    assert li["mfa"] is False
    assert "'Require MFA for all users' is report-only" in li["mfa_reason"]


# --- paging ---------------------------------------------------------------------------------------

def test_paging_with_page_files_and_with_a_list_of_pages(sample: Path) -> None:
    page1, page2 = load(sample / "users.json"), load(sample / "users.page2.json")
    assert "@odata.nextLink" in page1 and len(page1["value"]) == 5
    (sample / "users.page2.json").unlink()
    save(sample / "users.json", [page1, page2])
    result = collect_offline(sample)
    assert len(users(result)) == 10
    assert result.coverage.status == "complete"
    assert not any("nextLink" in note for note in result.coverage.notes)


def test_bare_list_of_objects_and_numeric_page_order(tmp_path: Path) -> None:
    save(tmp_path / "groups.json", [{"id": "g1"}])
    for number in (2, 10, 3):
        save(tmp_path / f"groups.page{number}.json", {"value": [{"id": f"g{number}"}]})
    collection = load_collection(tmp_path, "groups")
    assert [item.data["id"] for item in collection.items] == ["g1", "g2", "g3", "g10"]
    assert not collection.incomplete


def test_missing_last_page_is_reported(sample: Path) -> None:
    (sample / "users.page2.json").unlink()
    result = collect_offline(sample)
    assert len(users(result)) == 5
    assert result.coverage.status == "partial"
    assert any("@odata.nextLink" in note and "users.page2.json" in note for note in result.coverage.notes)


# --- credentials, service principals, owners ------------------------------------------------------

def test_application_secrets_ids_dates_and_target() -> None:
    result = collect_offline(SAMPLE)
    by_id = nodes_by_id(result)
    terraform = by_id["entra:c3000000-0000-4000-8000-000000000001/password/d4000000-0000-4000-8000-000000000001"]
    assert terraform["kind"] == "client_secret"
    assert terraform["created"] == "2026-01-05T00:00:00Z" and terraform["expires"] == "2028-01-05T00:00:00Z"
    assert terraform["key_id"] == "d4000000-0000-4000-8000-000000000001"
    notifier = by_id["entra:c3000000-0000-4000-8000-000000000002/password/d4000000-0000-4000-8000-000000000002"]
    assert notifier["created"] == "2026-10-22T00:00:00Z" and notifier["expires"] == "2027-04-22T00:00:00Z"
    auth = {(e["source"], e["target"], e["mfa"]) for e in result.edges if e["kind"] == "AUTHENTICATES"}
    assert {(source, target, mfa) for source, target, mfa in auth if target.endswith(("b1", "b2"))} == {
        (terraform["id"], "entra:c3000000-0000-4000-8000-0000000000b1", False),
        (notifier["id"], "entra:c3000000-0000-4000-8000-0000000000b2", False),
    }
    hr_sync = by_id["entra:c3000000-0000-4000-8000-000000000003/password/d4000000-0000-4000-8000-000000000003"]
    assert hr_sync["expires"] == "2028-11-01T00:00:00Z"  # two years after the export


def test_service_principal_alias_and_type() -> None:
    sp = nodes_by_id(collect_offline(SAMPLE))["entra:c3000000-0000-4000-8000-0000000000b1"]
    assert sp["kind"] == "ServiceIdentity" and sp["human"] is False and sp["enabled"] is True
    assert sp["app_id"] == "c3000000-0000-4000-8000-0000000000a1"
    assert sp["aliases"] == ["entra:appId/c3000000-0000-4000-8000-0000000000a1"]
    assert sp["service_principal_type"] == "Application"
    graph_sp = nodes_by_id(collect_offline(SAMPLE))["entra:7f3e9a2c-51d8-4b6e-9c0a-3d2f1e8b7a64"]
    assert graph_sp["first_party"] is True


def test_certificates_keep_the_thumbprint_and_skip_signing_keys(sample: Path) -> None:
    path = sample / "applications.json"
    data = load(path)
    data["value"][0]["keyCredentials"] = [
        {"customKeyIdentifier": "q83vEjRWeJCrze8SNFZ4kKvN7xI=", "displayName": "CN=terraform-prod",
         "endDateTime": "2027-02-01T00:00:00Z", "key": "MIIC2jCCAcKgAwIBAgIQ...", "keyId": "e5000000-0000-4000-8000-000000000001",
         "startDateTime": "2026-02-01T00:00:00Z", "type": "AsymmetricX509Cert", "usage": "Verify"},
        {"customKeyIdentifier": None, "displayName": "CN=saml", "endDateTime": "2027-02-01T00:00:00Z",
         "keyId": "e5000000-0000-4000-8000-000000000002", "startDateTime": "2026-02-01T00:00:00Z",
         "type": "AsymmetricX509Cert", "usage": "Sign"},
    ]
    save(path, data)
    by_id = nodes_by_id(collect_offline(sample))
    cert = by_id["entra:c3000000-0000-4000-8000-000000000001/certificate/e5000000-0000-4000-8000-000000000001"]
    assert cert["kind"] == "certificate" and cert["name"] == "CN=terraform-prod"
    assert cert["fingerprint"] == "ABCDEF1234567890ABCDEF1234567890ABCDEF12"
    assert "entra:c3000000-0000-4000-8000-000000000001/certificate/e5000000-0000-4000-8000-000000000002" not in by_id


def test_no_secret_value_in_any_record(sample: Path) -> None:
    path = sample / "applications.json"
    data = load(path)
    data["value"][0]["passwordCredentials"][0]["secretText"] = "Xk8Q~s3cr3tValueThatMustNeverLeak"
    data["value"][0]["passwordCredentials"][0]["displayName"] = None
    data["value"][0]["keyCredentials"] = [{"keyId": "e5000000-0000-4000-8000-000000000003",
                                           "key": "UFJJVkFURUtFWU1BVEVSSUFM", "usage": "Verify"}]
    save(path, data)
    result = collect_offline(sample)
    text = json.dumps([result.nodes, result.edges])
    assert "s3cr3tValue" not in text and "UFJJVkFURUtFWU1BVEVSSUFM" not in text
    secret = nodes_by_id(result)[
        "entra:c3000000-0000-4000-8000-000000000001/password/d4000000-0000-4000-8000-000000000001"]
    assert secret["name"] == "secret Tq7..."  # the portal's 3-character hint when there is no name


def test_service_principal_credentials_and_missing_sp(sample: Path) -> None:
    sps = load(sample / "servicePrincipals.json")
    sps["value"][1]["passwordCredentials"] = [
        {"keyId": "f6000000-0000-4000-8000-000000000001", "displayName": "sp-only secret",
         "startDateTime": "2025-01-01T00:00:00Z", "endDateTime": None, "secretText": None}]
    del sps["value"][0]  # terraform-prod's SP not exported
    save(sample / "servicePrincipals.json", sps)
    result = collect_offline(sample)
    by_id = nodes_by_id(result)
    sp_secret = by_id["entra:c3000000-0000-4000-8000-0000000000b2/password/f6000000-0000-4000-8000-000000000001"]
    assert sp_secret["expires"] is None
    targets = {e["source"]: e["target"] for e in result.edges if e["kind"] == "AUTHENTICATES"}
    assert targets[sp_secret["id"]] == "entra:c3000000-0000-4000-8000-0000000000b2"
    terraform_secret = "entra:c3000000-0000-4000-8000-000000000001/password/d4000000-0000-4000-8000-000000000001"
    assert targets[terraform_secret] == "entra:appId/c3000000-0000-4000-8000-0000000000a1"
    assert any("no service principal" in note for note in result.coverage.notes)


def test_application_owner_can_create_credential(sample: Path) -> None:
    save(sample / "application-owners" / "c3000000-0000-4000-8000-000000000001.json", {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects",
        "value": [{"@odata.type": "#microsoft.graph.user", "id": user_id(4),
                   "userPrincipalName": "tom.baker@lumenfreight.com"}]})
    edges = [e for e in collect_offline(sample).edges if e["kind"] == "CAN_CREATE_CREDENTIAL"
             and e["via"].startswith("owner of")]
    assert sorted((e["source"], e["target"], e["via"]) for e in edges) == [
        (f"entra:{user_id(3)}", "entra:c3000000-0000-4000-8000-0000000000b3", "owner of application hr-sync"),
        (f"entra:{user_id(4)}", "entra:c3000000-0000-4000-8000-0000000000b1", "owner of application terraform-prod"),
    ]  # li.chen owns hr-sync in the sample; tom.baker is added here


# --- directory roles ------------------------------------------------------------------------------

def test_sample_role_assignment_levels() -> None:
    perms = {(e["source"], e["via"]): e for e in collect_offline(SAMPLE).edges
             if e["kind"] == "HAS_PERMISSION" and e["via"].startswith("directory role")
             and not e["source"].startswith("entra:role/")}
    assert {key: e["level"] for key, e in perms.items()} == {
        (f"entra:{user_id(3)}", "directory role Global Administrator"): "admin",
        (f"entra:{user_id(7)}", "directory role Global Administrator"): "admin",
        ("entra:c3000000-0000-4000-8000-0000000000b1", "directory role Privileged Role Administrator"): "admin",
        ("entra:c3000000-0000-4000-8000-0000000000b2", "directory role Application Administrator"): "admin",
    }
    assert all(e["target"] == TENANT and e["actions"] == [e["via"].removeprefix("directory role ")]
               for e in perms.values())


@pytest.mark.parametrize(
    ("definition", "level"),
    [
        ({"id": "62e90394-69f5-4237-9190-012177145e10", "displayName": "Global Administrator"}, "admin"),
        ({"id": "x", "templateId": "fe930be7-5e62-47db-91af-98c3a49a38b1", "displayName": "User Administrator",
          "isPrivileged": False}, "admin"),
        ({"id": "f2ef992c-3afb-46b9-b7cf-a126ee74c451", "displayName": "Global Reader", "isPrivileged": True}, "read"),
        ({"id": "fdd7a751-b60b-444a-984c-02652fe8fa1c", "displayName": "Groups Administrator",
          "isPrivileged": False}, "write"),
        ({"id": "c1", "displayName": "Helpdesk Lite", "isBuiltIn": False, "rolePermissions": [
            {"allowedResourceActions": ["microsoft.directory/users/standard/read"]}]}, "read"),
        ({"id": "c2", "displayName": "App Key Rotator", "isBuiltIn": False, "rolePermissions": [
            {"allowedResourceActions": ["microsoft.directory/applications/credentials/update"]}]}, "admin"),
        ({"id": "c3", "displayName": "Bookings Editor", "isPrivileged": True}, "admin"),
    ],
)
def test_role_levels(definition: dict, level: str) -> None:
    assert classify_role(definition).level == level


def test_scoped_assignment_keeps_level_and_says_scope() -> None:
    roles = roles_by_id([{"id": "fe930be7-5e62-47db-91af-98c3a49a38b1", "displayName": "User Administrator"}])
    record = transform_role_assignment(
        {"principalId": "u1", "roleDefinitionId": "fe930be7-5e62-47db-91af-98c3a49a38b1",
         "directoryScopeId": "/administrativeUnits/5d1b-au"}, roles, TENANT)
    assert record["level"] == "admin"
    assert record["conditions"] == ["scoped to administrative unit /administrativeUnits/5d1b-au, not the whole tenant"]


def test_unexported_role_definitions_fall_back_to_template_ids(sample: Path) -> None:
    (sample / "roleDefinitions.json").unlink()
    perms = [e for e in collect_offline(sample).edges if e["kind"] == "HAS_PERMISSION"
             and e["via"].startswith("directory role")]
    assert {e["level"] for e in perms} == {"admin"}
    assert any(e["via"] == "directory role Global Administrator" for e in perms)


# --- bad input ------------------------------------------------------------------------------------

def test_malformed_users_page_is_reported_and_the_rest_loads(sample: Path) -> None:
    save(sample / "users.page2.json", {"@odata.context": "x", "value": {"id": "not-a-list"}})
    result = collect_offline(sample)
    assert len(result.errors) == 1
    error = result.errors[0]
    assert error.file.endswith("users.page2.json") and error.field == "value"
    assert len(users(result)) == 5
    assert len([n for n in result.nodes if n["kind"] == "Group"]) == 5
    assert result.coverage.status == "partial"


def test_user_without_upn_is_reported_and_skipped(sample: Path) -> None:
    data = load(sample / "users.json")
    del data["value"][1]["userPrincipalName"]
    save(sample / "users.json", data)
    result = collect_offline(sample)
    assert [(e.field, e.file.endswith("users.json")) for e in result.errors] == [("userPrincipalName", True)]
    assert "#1" in result.errors[0].record
    assert len(users(result)) == 9


def test_invalid_json_file_does_not_stop_other_files(sample: Path) -> None:
    (sample / "groups.json").write_text('{"value": [')
    result = collect_offline(sample)
    assert result.errors and result.errors[0].file.endswith("groups.json")
    assert "invalid JSON" in result.errors[0].message
    assert len(users(result)) == 10


def test_empty_folder_is_missing(tmp_path: Path) -> None:
    result = collect_offline(tmp_path)
    assert result.coverage.status == "missing" and result.nodes == []



def test_missing_organization_infers_tenant_from_own_apps(sample: Path) -> None:
    (sample / "organization.json").unlink()
    result = collect_offline(sample)
    assert result.coverage.scopes == [TENANT, "entra:azure/subscriptions/5a1b0000-0000-4000-8000-0000000000a1",
                                      "entra:azure/subscriptions/5a1b0000-0000-4000-8000-0000000000d1"]
    assert TENANT in nodes_by_id(result)
    assert any("appOwnerOrganizationId" in note for note in result.coverage.notes)
    assert {u["scope"] for u in users(result).values()} == {TENANT}
