"""Each registered abuse technique: the edge is there when the right is held, gone when it is removed."""

from __future__ import annotations

import pytest

from collectors.entra.abuse import (
    APPLICATION_ADMIN,
    AUTHENTICATION_ADMIN,
    CLOUD_APPLICATION_ADMIN,
    GLOBAL_ADMIN,
    GROUPS_ADMIN,
    HELPDESK_ADMIN,
    PRIVILEGED_AUTH_ADMIN,
    PRIVILEGED_ROLE_ADMIN,
    Tenant,
    abuse_edges,
    techniques,
)
from graph.techniques import CATALOGUE
from tests.techniques.entra_cases import tenant

TENANT = "entra:tenant/t1"
ADMIN_ROLE_NODE = "entra:role/62e90394-69f5-4237-9190-012177145e10"


def from_x(edges):
    """What x reaches in one technique step: directly, or through a role node it is MEMBER_OF."""
    sources = {"entra:x"} | {
        e["target"] for e in edges if e["source"] == "entra:x" and e["kind"] == "MEMBER_OF"
    }
    return {(e["kind"], e["target"]) for e in edges if e["source"] in sources and e["kind"] != "MEMBER_OF"}


def steps(edges):
    return [e for e in edges if e["kind"] != "MEMBER_OF"]


def build(name: str, t: Tenant):
    """One technique's edges plus the role-holder edges that lead to its role nodes."""
    holders = "entra.roles.active-assignment"
    return CATALOGUE[name].derive(t, name) + CATALOGUE[holders].derive(t, holders)


@pytest.mark.parametrize("role", [APPLICATION_ADMIN, CLOUD_APPLICATION_ADMIN, GLOBAL_ADMIN])
def test_add_secret_by_role(role: str) -> None:
    with_role = build("entra.applications.add-secret-by-role", tenant(roles={"x": {role}}))
    assert from_x(with_role) == {("CAN_CREATE_CREDENTIAL", "entra:sp1")}
    assert from_x(build("entra.applications.add-secret-by-role", tenant(roles={"x": {GROUPS_ADMIN}}))) == set()


def test_add_secret_by_graph_permission() -> None:
    edges = build(
        "entra.applications.add-secret-by-graph-permission", tenant(graph_permissions={"x": {"Application.ReadWrite.All"}})
    )
    assert from_x(edges) == {("CAN_CREATE_CREDENTIAL", "entra:sp1")}
    assert "Application.ReadWrite.All: can add a secret to payroll" in edges[0]["via"]
    assert (
        steps(
            build("entra.applications.add-secret-by-graph-permission", tenant(graph_permissions={"x": {"Directory.Read.All"}}))
        )
        == []
    )


def test_service_principal_does_not_target_itself() -> None:
    edges = build(
        "entra.applications.add-secret-by-graph-permission", tenant(graph_permissions={"sp1": {"Application.ReadWrite.All"}})
    )
    assert steps(edges) == []


def test_role_edges_start_at_the_role_node_once_whatever_the_number_of_holders() -> None:
    edges = build(
        "entra.users.reset-password-by-role",
        tenant(
            roles={"x": {HELPDESK_ADMIN}, "y": {HELPDESK_ADMIN}},
            users={f"u{i}": {"id": f"u{i}"} for i in range(100)},
        ),
    )
    resets = [e for e in edges if e["kind"] == "CAN_CREATE_CREDENTIAL"]
    assert len(resets) == 100 and {e["source"] for e in resets} == {f"entra:role/{HELPDESK_ADMIN}"}
    holders = {(e["source"], e["target"]) for e in edges if e["kind"] == "MEMBER_OF"}
    assert holders == {
        ("entra:x", f"entra:role/{HELPDESK_ADMIN}"),
        ("entra:y", f"entra:role/{HELPDESK_ADMIN}"),
    }


def test_group_owner_adds_members() -> None:
    owners = {"g-plain": [{"@odata.type": "#microsoft.graph.user", "id": "x"}]}
    assert from_x(build("entra.groups.add-members-by-owner", tenant(group_owners=owners))) == {
        ("CAN_GRANT", "entra:g-plain")
    }
    assert from_x(build("entra.groups.add-members-by-owner", tenant(group_owners={"g-plain": []}))) == set()


def test_groups_administrator_cannot_touch_role_assignable_groups() -> None:
    groups_admin = from_x(build("entra.groups.add-members-by-role", tenant(roles={"x": {GROUPS_ADMIN}})))
    assert groups_admin == {("CAN_GRANT", "entra:g-plain")}
    role_admin = from_x(build("entra.groups.add-members-by-role", tenant(roles={"x": {PRIVILEGED_ROLE_ADMIN}})))
    assert role_admin == {("CAN_GRANT", "entra:g-plain"), ("CAN_GRANT", "entra:g-tier0")}
    assert from_x(build("entra.groups.add-members-by-role", tenant(roles={"x": {HELPDESK_ADMIN}}))) == set()


def test_add_members_by_graph_permission() -> None:
    plain = build(
        "entra.groups.add-members-by-graph-permission", tenant(graph_permissions={"x": {"GroupMember.ReadWrite.All"}})
    )
    assert from_x(plain) == {("CAN_GRANT", "entra:g-plain")}
    rbac = build(
        "entra.groups.add-members-by-graph-permission",
        tenant(graph_permissions={"x": {"RoleManagement.ReadWrite.Directory"}}),
    )
    assert from_x(rbac) == {("CAN_GRANT", "entra:g-plain"), ("CAN_GRANT", "entra:g-tier0")}
    assert (
        steps(build("entra.groups.add-members-by-graph-permission", tenant(graph_permissions={"x": {"Group.Read.All"}})))
        == []
    )


def test_helpdesk_resets_only_non_admins_and_meets_their_mfa() -> None:
    edges = build("entra.users.reset-password-by-role", tenant(roles={"x": {HELPDESK_ADMIN}}))
    resets = {e["target"]: e for e in edges if e["kind"] == "CAN_CREATE_CREDENTIAL"}
    assert set(resets) == {"entra:u1"}  # not the admin, not the disabled account, not itself
    assert resets["entra:u1"]["mfa_required"] is True  # the new password still meets u1's MFA


def test_authentication_admin_resets_methods_of_non_admins() -> None:
    resets = {
        e["target"]: e
        for e in build("entra.users.reset-password-by-role", tenant(roles={"x": {AUTHENTICATION_ADMIN}}))
        if e["kind"] == "CAN_CREATE_CREDENTIAL"
    }
    assert set(resets) == {"entra:u1"} and resets["entra:u1"]["mfa_required"] is False


def test_privileged_authentication_admin_resets_everyone() -> None:
    resets = {
        e["target"]: e
        for e in build("entra.users.reset-password-by-role", tenant(roles={"x": {PRIVILEGED_AUTH_ADMIN}}))
        if e["kind"] == "CAN_CREATE_CREDENTIAL"
    }
    assert set(resets) == {"entra:u1", "entra:adm", "entra:x"}
    assert all(e["mfa_required"] is False and e["kind"] == "CAN_CREATE_CREDENTIAL" for e in resets.values())
    assert from_x(build("entra.users.reset-password-by-role", tenant(roles={"x": set()}))) == set()


def test_reset_by_graph_permission() -> None:
    methods = build(
        "entra.users.reset-password-by-graph-permission",
        tenant(graph_permissions={"x": {"UserAuthenticationMethod.ReadWrite.All"}}),
    )
    assert {e["target"] for e in methods if e["source"] == "entra:x"} == {"entra:u1", "entra:adm"}
    password = build(
        "entra.users.reset-password-by-graph-permission",
        tenant(graph_permissions={"x": {"User-PasswordProfile.ReadWrite.All"}}),
    )
    assert {e["target"]: e["mfa_required"] for e in password if e["source"] == "entra:x"} == {
        "entra:u1": True,
        "entra:adm": True,
    }
    assert (
        steps(build("entra.users.reset-password-by-graph-permission", tenant(graph_permissions={"x": {"User.Read.All"}})))
        == []
    )


@pytest.mark.parametrize(
    ("roles", "permissions"),
    [
        ({"x": {PRIVILEGED_ROLE_ADMIN}}, {}),
        ({}, {"x": {"RoleManagement.ReadWrite.Directory"}}),
        ({}, {"x": {"AppRoleAssignment.ReadWrite.All"}}),
    ],
)
def test_assign_global_admin(roles: dict, permissions: dict) -> None:
    edges = build("entra.roles.assign-global-admin", tenant(roles=roles, graph_permissions=permissions))
    assert from_x(edges) == {("CAN_GRANT", ADMIN_ROLE_NODE)}


def test_assign_global_admin_absent_without_the_right_and_for_global_admins() -> None:
    assert (
        from_x(build("entra.roles.assign-global-admin", tenant(graph_permissions={"x": {"Directory.Read.All"}}))) == set()
    )
    holder = tenant(roles={}, graph_permissions={"adm": {"RoleManagement.ReadWrite.Directory"}})
    holder.roles = {"adm": {GLOBAL_ADMIN}}
    assert [e for e in build("entra.roles.assign-global-admin", holder) if e["kind"] == "CAN_GRANT"] == []


def test_eligible_role_node_abuses_like_the_role() -> None:
    edges = abuse_edges(tenant(roles={f"role/{HELPDESK_ADMIN}": {HELPDESK_ADMIN}}))
    assert {(e["source"], e["target"]) for e in edges} == {
        (f"entra:role/{HELPDESK_ADMIN}", "entra:u1"),
        (f"entra:role/{HELPDESK_ADMIN}", "entra:x"),
    }


def test_every_edge_names_its_technique_and_is_explainable() -> None:
    edges = abuse_edges(
        tenant(roles={"x": {GLOBAL_ADMIN}}, graph_permissions={"x": {"Application.ReadWrite.All"}})
    )
    assert edges and all(e["via"] and e["techniques"][0] in {t.id for t in techniques()} for e in edges)
    assert all(isinstance(e["mfa_required"], bool) for e in edges)


def test_managed_identities_get_no_secret_edges() -> None:
    sps = {"sp1": {"id": "sp1", "displayName": "payroll"},
           "mi1": {"id": "mi1", "displayName": "vm-identity", "servicePrincipalType": "ManagedIdentity"}}
    edges = build("entra.applications.add-secret-by-role", tenant(roles={"x": {APPLICATION_ADMIN}}, service_principals=sps))
    assert from_x(edges) == {("CAN_CREATE_CREDENTIAL", "entra:sp1")}
