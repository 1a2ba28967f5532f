"""Entra technique cases: attacker `x` holds a directory role, a Graph application permission or a
group ownership (present), or one that does not carry the technique (absent)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from collectors.entra.abuse import (
    APPLICATION_ADMIN,
    GLOBAL_ADMIN,
    GROUPS_ADMIN,
    HELPDESK_ADMIN,
    PRIVILEGED_ROLE_ADMIN,
    Tenant,
    abuse_edges,
)
from collectors.entra.managed_identities import run_as_edges
from collectors.entra.transform import transform_owners
from tests.techniques.cases import Case, Probe, Step, steps_of

X = "entra:x"
ADMIN_ROLE_NODE = f"entra:role/{GLOBAL_ADMIN}"


def tenant(**changes: Any) -> Tenant:
    """attacker `x`, a plain user `u1` (MFA enforced), an admin user `adm`, SP `sp1`,
    groups `g-plain` and `g-tier0` (role-assignable)."""
    base = Tenant(
        tenant="entra:tenant/t1",
        users={"x": {"id": "x", "userPrincipalName": "x@t"}, "u1": {"id": "u1", "userPrincipalName": "u1@t"},
               "adm": {"id": "adm", "userPrincipalName": "adm@t"},
               "off": {"id": "off", "userPrincipalName": "off@t", "accountEnabled": False}},
        user_mfa={"x": False, "u1": True, "adm": True},
        groups={"g-plain": {"id": "g-plain", "displayName": "Plain"},
                "g-tier0": {"id": "g-tier0", "displayName": "Tier0", "isAssignableToRole": True}},
        service_principals={"sp1": {"id": "sp1", "displayName": "payroll"}},
        roles={"adm": {GLOBAL_ADMIN}},
    )
    for key, value in changes.items():
        setattr(base, key, value)
    if "admins" not in changes:  # as the collector computes it: users holding any directory role
        base.admins = {"adm"} | {user for user in base.users if base.roles.get(user)}
    return base


def _case(target: str, present: dict[str, Any], *absent: dict[str, Any]) -> Case:
    """A tenant changed by `present` (attacker holds the right) and by each of `absent`."""
    return Case(Probe(("tenant", present), X, target), tuple(Probe(("tenant", changes), X, target)
                                                              for changes in absent))


SUBSCRIPTION = "/subscriptions/00000000-0000-0000-0000-000000000001"
VM = {"id": f"{SUBSCRIPTION}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm1", "name": "vm1",
      "type": "Microsoft.Compute/virtualMachines", "identity": {"type": "SystemAssigned", "principalId": "mi1"}}
USER_OWNER = {"@odata.type": "#microsoft.graph.user", "id": "x"}


OWNS_PLAIN = {"g-plain": [{"@odata.type": "#microsoft.graph.user", "id": "x"}]}
GRAPH_SP = {"id": "graph", "appId": "00000003-0000-0000-c000-000000000000", "displayName": "Microsoft Graph"}
APPS = {"sp1": {"id": "sp1", "displayName": "payroll"}, "graph": GRAPH_SP}


def consent(consent_type: str, scope: str, principal: str | None = None) -> dict[str, Any]:
    """One oauth2PermissionGrant of sp1 on Microsoft Graph, in Graph's shape."""
    return {"id": f"grant-{consent_type}-{principal}", "clientId": "sp1", "consentType": consent_type,
            "principalId": principal, "resourceId": "graph", "scope": scope}


CASES: dict[str, Case] = {
    "entra.roles.active-assignment": _case(f"entra:role/{HELPDESK_ADMIN}", {"roles": {"x": {HELPDESK_ADMIN}}},
                                           {"roles": {}}),
    "entra.applications.add-secret-by-role": _case("entra:sp1", {"roles": {"x": {APPLICATION_ADMIN}}},
                                                   {"roles": {"x": {GROUPS_ADMIN}}}),
    "entra.applications.add-secret-by-graph-permission": _case(
        "entra:sp1", {"graph_permissions": {"x": {"Application.ReadWrite.All"}}},
        {"graph_permissions": {"x": {"Application.Read.All"}}}),
    "entra.groups.add-members-by-owner": _case("entra:g-plain", {"group_owners": OWNS_PLAIN},
                                               {"group_owners": {"g-plain": []}}),
    "entra.groups.add-members-by-role": _case("entra:g-tier0", {"roles": {"x": {PRIVILEGED_ROLE_ADMIN}}},
                                              {"roles": {"x": {GROUPS_ADMIN}}}),  # not role-assignable groups
    "entra.groups.add-members-by-graph-permission": _case(
        "entra:g-plain", {"graph_permissions": {"x": {"GroupMember.ReadWrite.All"}}},
        {"graph_permissions": {"x": {"Group.Read.All"}}}),
    "entra.users.reset-password-by-role": _case("entra:u1", {"roles": {"x": {HELPDESK_ADMIN}}},
                                                {"roles": {"x": {GROUPS_ADMIN}}}),
    "entra.users.reset-password-by-graph-permission": _case(
        "entra:u1", {"graph_permissions": {"x": {"User-PasswordProfile.ReadWrite.All"}}},
        {"graph_permissions": {"x": {"User.Read.All"}}}),
    "entra.roles.assign-global-admin": _case(ADMIN_ROLE_NODE, {"roles": {"x": {PRIVILEGED_ROLE_ADMIN}}},
                                             {"graph_permissions": {"x": {"Directory.Read.All"}}}),
    # sp1 acts as u1: an admin consent (all users) of a write scope (present); a read-only consent, or a
    # write consent of another user only (absent)
    "entra.applications.delegated-consent": Case(
        Probe(("tenant", {"delegated_grants": [consent("AllPrincipals", "openid offline_access Directory.ReadWrite.All")],
                          "all_service_principals": APPS}), "entra:sp1", "entra:u1"),
        (Probe(("tenant", {"delegated_grants": [consent("AllPrincipals", "openid User.Read Directory.Read.All")],
                           "all_service_principals": APPS}), "entra:sp1", "entra:u1"),
         Probe(("tenant", {"delegated_grants": [consent("Principal", "Directory.ReadWrite.All", "adm")],
                           "all_service_principals": APPS}), "entra:sp1", "entra:u1"))),
    "entra.applications.add-secret-by-owner": Case(Probe(("owners", [USER_OWNER]), X, "entra:sp1"),
                                                    (Probe(("owners", []), X, "entra:sp1"),)),
    # Contributor on the VM's resource group (present) or on another resource group (absent)
    "entra.managed-identities.run-as-by-azure-role": Case(
        Probe(("writers", [(X, f"{SUBSCRIPTION}/resourceGroups/rg-app", "Contributor")]), X, "entra:mi1"),
        (Probe(("writers", [(X, f"{SUBSCRIPTION}/resourceGroups/rg-other", "Contributor")]), X, "entra:mi1"),)),
}


def steps(scenario: Any, workdir: Path) -> list[Step]:
    """One technique step from each principal: directly, or through the role node it is MEMBER_OF."""
    what, data = scenario
    if what == "owners":
        return steps_of(transform_owners("payroll", "application", "entra:sp1", data))
    if what == "writers":
        return steps_of(run_as_edges([VM], data, "entra:tenant/t1", {})[1])
    drawn = steps_of(abuse_edges(tenant(**data)))
    members = [step for step in drawn if step.kind == "MEMBER_OF"]
    return drawn + [Step(member.source, step.target, step.kind, step.techniques)
                    for member in members for step in drawn if step.source == member.target]
