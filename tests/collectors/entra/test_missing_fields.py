"""Graph objects with a field left out of the export: kept, and what is unknown stays unknown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from collectors.entra import collect_offline
from collectors.entra.abuse import GROUPS_ADMIN, HELPDESK_ADMIN, PRIVILEGED_ROLE_ADMIN, Tenant
from collectors.entra.conditional_access import Directory, decide_mfa
from collectors.entra.membership import build_memberships
from graph.techniques import CATALOGUE

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "samples" / "entra"
TERRAFORM_SP = "entra:c3000000-0000-4000-8000-0000000000b1"
TERRAFORM_SECRET = "entra:c3000000-0000-4000-8000-000000000001/password/d4000000-0000-4000-8000-000000000001"
TENANT = "entra:tenant/6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"



def edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data["value"])
    path.write_text(json.dumps(data))


def by_id(result) -> dict[str, dict[str, Any]]:
    return {record["id"]: record for record in result.nodes}


# --- service principal without appId ---------------------------------------------------------------


def test_service_principal_without_app_id_is_kept_with_a_note(sample: Path) -> None:
    edit(sample / "servicePrincipals.json", lambda sps: sps[0].pop("appId"))  # terraform-prod's
    result = collect_offline(sample)
    assert result.errors == [] and result.coverage.status == "complete"
    sp = by_id(result)[TERRAFORM_SP]
    assert sp["app_id"] is None and sp["aliases"] == [] and sp["name"] == "terraform-prod"
    # its directory role still holds; the app's secret can no longer be joined by appId
    assert any(e["source"] == TERRAFORM_SP and e["kind"] == "HAS_PERMISSION" and e["target"] == TENANT
               for e in result.edges)
    auth = {e["source"]: e["target"] for e in result.edges if e["kind"] == "AUTHENTICATES"}
    assert auth[TERRAFORM_SECRET] == "entra:appId/c3000000-0000-4000-8000-0000000000a1"
    assert ("1 service principal(s) without appId kept: application credentials and Kubernetes workload identity "
            "(which know only the client id) cannot be joined to them (e.g. terraform-prod)") in result.coverage.notes


def test_service_principals_with_app_id_give_no_note() -> None:
    assert not any("without appId" in note for note in collect_offline(SAMPLE).coverage.notes)


# --- group without isAssignableToRole ----------------------------------------------------------------

LEGACY = "b2000000-0000-4000-8000-0000000000f1"
NO_FIELD = "b2000000-0000-4000-8000-0000000000f2"


def _groups_without_the_field(sample: Path) -> None:
    """Two groups exported without isAssignableToRole; one of them holds Helpdesk Administrator."""
    def add(groups: list[dict]) -> None:
        groups.append({"id": LEGACY, "displayName": "Tier0-Helpdesk", "securityEnabled": True, "mailEnabled": False,
                       "groupTypes": []})
        groups.append({"id": NO_FIELD, "displayName": "Canteen", "securityEnabled": True, "mailEnabled": False,
                       "groupTypes": []})
    edit(sample / "groups.json", add)
    edit(sample / "roleAssignments.json", lambda ras: ras.append(
        {"id": "helpdesk-to-group", "principalId": LEGACY, "directoryScopeId": "/",
         "roleDefinitionId": HELPDESK_ADMIN}))


def test_group_without_the_field_that_holds_a_role_is_role_assignable(sample: Path) -> None:
    _groups_without_the_field(sample)
    result = collect_offline(sample)
    nodes = by_id(result)
    assert nodes[f"entra:{LEGACY}"]["role_assignable"] is True  # only role-assignable groups hold roles
    assert nodes[f"entra:{NO_FIELD}"]["role_assignable"] is None  # unknown, not "false"
    assert nodes["entra:b2000000-0000-4000-8000-000000000001"]["role_assignable"] is False  # exported false
    assert any(note.startswith("1 group(s) without isAssignableToRole and holding no directory role")
               and "(e.g. Canteen)" in note for note in result.coverage.notes)


def _tenant(groups: dict[str, dict], roles: dict[str, set[str]], assignable: dict[str, bool | None]) -> Tenant:
    return Tenant(tenant=TENANT, groups=groups, roles=roles, group_role_assignable=assignable)


def _add_members(tenant: Tenant) -> dict[str, dict]:
    name = "entra.groups.add-members-by-role"
    return {e["target"]: e for e in CATALOGUE[name].derive(tenant, name) if e["source"].startswith("entra:role/")
            and e["target"] != "entra:x"}


def test_groups_administrator_cannot_add_members_to_a_role_holding_group_without_the_field() -> None:
    groups = {LEGACY: {"id": LEGACY, "displayName": "Tier0-Helpdesk"}, NO_FIELD: {"id": NO_FIELD, "displayName": "Canteen"},
              "g-null": {"id": "g-null", "displayName": "Null", "isAssignableToRole": None}}
    roles = {"x": {GROUPS_ADMIN}, LEGACY: {HELPDESK_ADMIN}}
    # as the collector decides (collectors.entra.transform.role_assignable) and as the Tenant infers without it
    for assignable in ({LEGACY: True, NO_FIELD: None, "g-null": False}, {}):
        plain = _add_members(_tenant(groups, roles, assignable))
        group_admin = {t: e for t, e in plain.items() if e["source"] == f"entra:role/{GROUPS_ADMIN}"}
        assert set(group_admin) == {f"entra:{NO_FIELD}", "entra:g-null"}  # not the role-holding group
        assert group_admin[f"entra:{NO_FIELD}"]["assumed"] is True
        assert "isAssignableToRole of group Canteen not exported" in group_admin[f"entra:{NO_FIELD}"]["assumed_reason"]
        assert "assumed" not in group_admin["entra:g-null"]  # null is Graph's default: not role-assignable
        anyone = _add_members(_tenant(groups, {"x": {PRIVILEGED_ROLE_ADMIN}, LEGACY: {HELPDESK_ADMIN}},
                                      assignable))
        assert set(anyone) == {f"entra:{LEGACY}", f"entra:{NO_FIELD}", "entra:g-null"}
        assert not any(e.get("assumed") for e in anyone.values())


# --- user without userType -------------------------------------------------------------------------------


def test_user_without_user_type_is_a_user_of_unknown_type(sample: Path) -> None:
    edit(sample / "users.json", lambda users: users[0].pop("userType"))  # dana.ruiz
    result = collect_offline(sample)
    dana = by_id(result)["entra:a1000000-0000-4000-8000-000000000001"]
    assert dana["user_type"] == "unknown" and dana["human"] is True and dana["kind"] == "User"
    sam = by_id(result)["entra:a1000000-0000-4000-8000-000000000002"]
    assert sam["user_type"] == "member"
    assert any(note.startswith("1 user(s) without userType") and "dana.ruiz@lumenfreight.com" in note
               for note in result.coverage.notes)


def _policy(users: dict) -> dict:
    base = {"includeUsers": ["All"], "excludeUsers": [], "includeGroups": [], "excludeGroups": [], "includeRoles": [],
            "excludeRoles": [], "includeGuestsOrExternalUsers": None, "excludeGuestsOrExternalUsers": None}
    return {"id": "P", "displayName": "Staff MFA", "state": "enabled",
            "conditions": {"clientAppTypes": ["all"], "applications": {"includeApplications": ["All"]},
                           "users": {**base, **users}},
            "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}}


GUESTS = {"guestOrExternalUserTypes": "internalGuest,b2bCollaborationGuest",
          "externalTenants": {"membershipKind": "all"}}
DIRECTORY = Directory(memberships=build_memberships({}, set()))


@pytest.mark.parametrize(("user_type", "mfa"), [("Member", True), ("Guest", False), (None, None)])
def test_guest_exclusion_is_undecidable_without_user_type(user_type: str | None, mfa: bool | None) -> None:
    user = {"id": "u1", "userPrincipalName": "ann@contoso.com", **({"userType": user_type} if user_type else {})}
    decision = decide_mfa(user, [_policy({"excludeGuestsOrExternalUsers": GUESTS})], DIRECTORY)
    assert decision.mfa is mfa
    if user_type is None:
        assert "userType not exported: guest or member unknown" in decision.reason


def test_legacy_guests_value_and_external_upn_without_user_type() -> None:
    legacy = [_policy({"excludeUsers": ["GuestsOrExternalUsers"]})]
    internal = {"id": "u1", "userPrincipalName": "ann@contoso.com"}
    assert decide_mfa(internal, legacy, DIRECTORY).mfa is None  # a member, or an internal guest
    assert decide_mfa({**internal, "userType": "Member"}, legacy, DIRECTORY).mfa is True
    # an #EXT# account is external whatever its userType: excluded either way
    external = {"id": "u2", "userPrincipalName": "eve_fabrikam.com#EXT#@contoso.onmicrosoft.com"}
    assert decide_mfa(external, legacy, DIRECTORY).mfa is False
