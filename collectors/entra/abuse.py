"""Entra abuse edges: one registered technique per way to take over another identity.

Each technique is a small function ``(Tenant, technique id) -> list[Record]`` registered in the
technique catalogue (graph.techniques) with its metadata, and has its present / absent cases in
tests/techniques/entra_cases.py. They
cover BloodHound's Entra set (AZAddSecret, AZAddMembers, AZResetPassword, AZPrivilegedRoleAdmin,
AZPrivilegedAuthAdmin, AZGlobalAdmin, AZMGAddSecret, AZMGGrantAppRoles, AZMGGrantRole,
AZMGAddMember, AZOwns / AZAddOwner) with the edge kinds of the shared schema:

* add a secret / certificate to an application or service principal -> ``CAN_CREATE_CREDENTIAL``
  holder -> service principal (adding an owner first ends the same way, so it is folded in);
* add members to a group -> ``CAN_GRANT`` holder -> group (it can grant itself membership);
* reset a password -> ``CAN_CREATE_CREDENTIAL`` holder -> user; ``mfa_required`` is the target's
  ``mfa`` when the technique cannot also reset the target's authentication methods;
* assign any directory role -> ``CAN_GRANT`` holder -> the Global Administrator role node.

Role-based techniques start at the role node ``entra:role/<templateId>``; its active holders
(user, role-assignable group, service principal) are ``MEMBER_OF`` it and eligible (PIM) holders
``CAN_ASSUME`` it. So a tenant with 100,000 users and 200 helpdesk admins gets one set of reset
edges per role, not one per admin. Graph-permission techniques start at the holding principal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from collectors.entra.delegated import consent_edges, scope_catalogue
from collectors.entra.directory_roles import RoleInfo
from collectors.entra.pim import role_node_id
from collectors.entra.transform import role_assignable
from graph.records import Record, edge
from graph.schema import EdgeKind
from graph.techniques import CATALOGUE, References, Technique, register

GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
PRIVILEGED_ROLE_ADMIN = "e8611ab8-c189-46e8-94e1-60213ab1f814"
PRIVILEGED_AUTH_ADMIN = "7be44c8a-adaf-4e2a-84d6-ab2649e08a13"
APPLICATION_ADMIN = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
CLOUD_APPLICATION_ADMIN = "158c047a-c907-4556-b7ef-446551a6b5f7"
GROUPS_ADMIN = "fdd7a751-b60b-444a-984c-02652fe8fa1c"
USER_ADMIN = "fe930be7-5e62-47db-91af-98c3a49a38b1"
DIRECTORY_WRITERS = "9360feb5-f418-4baa-8175-e2a00bac4301"
HELPDESK_ADMIN = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
PASSWORD_ADMIN = "966707d0-3269-4727-9be2-8c3a10f19b9d"
AUTHENTICATION_ADMIN = "c4e39bd9-1100-46d3-8c65-fb160da0071f"


@dataclass
class Tenant:
    """What the techniques read: directory objects and who holds which role or permission."""

    tenant: str
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # object id -> Graph user
    user_mfa: dict[str, bool | None] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    service_principals: dict[str, dict[str, Any]] = field(
        default_factory=dict
    )  # own tenant's, not Microsoft's
    roles: dict[str, set[str]] = field(default_factory=dict)  # principal -> active role template ids
    role_infos: dict[str, RoleInfo] = field(default_factory=dict)  # template id -> RoleInfo
    admins: set[str] = field(default_factory=set)  # users holding any directory role, also via groups
    # Names of groups holding a directory role whose members were not exported: any user may be in
    # them, so "not an administrator" is then an assumption.
    admin_groups_unknown: list[str] = field(default_factory=list)
    graph_permissions: dict[str, set[str]] = field(default_factory=dict)  # principal -> permission names
    group_owners: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # group id -> role-assignable (True / False / None unknown), as the collector decided it (transform.
    # role_assignable: a group without isAssignableToRole that holds a directory role is role-assignable)
    group_role_assignable: dict[str, bool | None] = field(default_factory=dict)
    # OAuth2 delegated permission grants (oauth2PermissionGrants.json, valid ones), and every service
    # principal by object id (clients and APIs of other tenants included) to name clients and APIs.
    delegated_grants: list[dict[str, Any]] = field(default_factory=list)
    all_service_principals: dict[str, dict[str, Any]] = field(default_factory=dict)

    def assignable(self, group_id: str) -> bool | None:
        if group_id in self.group_role_assignable:
            return self.group_role_assignable[group_id]
        return role_assignable(self.groups.get(group_id, {}), bool(self.roles.get(group_id)))

    def role_sources(self, templates: set[str]) -> dict[str, str]:
        """Role node id -> role name, for the templates someone holds (actively or eligibly)."""
        held = set().union(*self.roles.values()) if self.roles else set()
        found: dict[str, str] = {}
        for template in sorted(held & templates):
            info = self.role_infos.get(template)
            found[role_node_id(template)] = info.name if info else template
        return found

    def holders_of_permissions(self, permissions: set[str]) -> dict[str, str]:
        """Principal node id -> the first matching Graph permission."""
        found: dict[str, str] = {}
        for principal, held in sorted(self.graph_permissions.items()):
            match = sorted(held & permissions)
            if match:
                found[_entra(principal)] = match[0]
        return found


def _entra(object_id: str) -> str:
    return f"entra:{object_id}"


def _to_service_principals(holders: dict[str, str], tenant: Tenant, via: str, technique: str) -> list[Record]:
    edges = []
    for holder, why in holders.items():
        for sp_id, sp in sorted(tenant.service_principals.items()):
            # Azure holds a managed identity's credentials; Graph refuses to add one to it.
            if _entra(sp_id) != holder and sp.get("servicePrincipalType") != "ManagedIdentity":
                edges.append(
                    edge(
                        holder,
                        _entra(sp_id),
                        EdgeKind.CAN_CREATE_CREDENTIAL,
                        f"{why}: {via} {sp.get('displayName') or sp_id}",
                        mfa_required=False,
                        techniques=[technique],
                    )
                )
    return edges


def add_secret_by_role(tenant: Tenant, technique: str) -> list[Record]:
    holders = tenant.role_sources({GLOBAL_ADMIN, APPLICATION_ADMIN, CLOUD_APPLICATION_ADMIN})
    return _to_service_principals(holders, tenant, "can add a secret to", technique)


def add_secret_by_graph_permission(tenant: Tenant, technique: str) -> list[Record]:
    holders = tenant.holders_of_permissions({"Application.ReadWrite.All", "Directory.ReadWrite.All"})
    return _to_service_principals(holders, tenant, "can add a secret to", technique)


def _to_groups(
    holders: dict[str, str], tenant: Tenant, role_assignable: bool | None, technique: str
) -> list[Record]:
    edges = []
    for holder, why in holders.items():
        for group_id, group in sorted(tenant.groups.items()):
            assignable = tenant.assignable(group_id)
            if role_assignable is not None and (assignable is True) != role_assignable:
                continue
            name = group.get("displayName") or group_id
            assumed: dict[str, Any] = {}
            if role_assignable is False and assignable is None:
                assumed = {"assumed": True, "assumed_reason": f"isAssignableToRole of group {name} not exported: "
                           "assumed not role-assignable (this right cannot add members to role-assignable groups)."}
            if _entra(group_id) != holder:
                edges.append(
                    edge(
                        holder,
                        _entra(group_id),
                        EdgeKind.CAN_GRANT,
                        f"{why}: can add members to group {name}",
                        mfa_required=False,
                        techniques=[technique],
                        **assumed,
                    )
                )
    return edges


def add_members_by_owner(tenant: Tenant, technique: str) -> list[Record]:
    edges = []
    for group_id, owners in sorted(tenant.group_owners.items()):
        group = tenant.groups.get(group_id, {})
        for owner in owners:
            owner_id = owner.get("id")
            if isinstance(owner_id, str) and owner_id:
                edges.append(
                    edge(
                        _entra(owner_id),
                        _entra(group_id),
                        EdgeKind.CAN_GRANT,
                        f"owner of group {group.get('displayName') or group_id}: can add members",
                        mfa_required=False,
                        techniques=[technique],
                    )
                )
    return edges


def add_members_by_role(tenant: Tenant, technique: str) -> list[Record]:
    # Only Global / Privileged Role Administrators manage role-assignable groups' members.
    any_group = tenant.role_sources({GLOBAL_ADMIN, PRIVILEGED_ROLE_ADMIN})
    plain = tenant.role_sources({GROUPS_ADMIN, USER_ADMIN, DIRECTORY_WRITERS})
    return _to_groups(any_group, tenant, None, technique) + _to_groups(
        plain, tenant, False, technique
    )


def add_members_by_graph_permission(tenant: Tenant, technique: str) -> list[Record]:
    any_group = tenant.holders_of_permissions({"RoleManagement.ReadWrite.Directory"})
    plain = tenant.holders_of_permissions(
        {"GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All"}
    )
    plain = {k: v for k, v in plain.items() if k not in any_group}
    return _to_groups(any_group, tenant, None, technique) + _to_groups(
        plain, tenant, False, technique
    )


def _resets(
    holders: dict[str, str], tenant: Tenant, admins_too: bool, methods_too: bool, technique: str
) -> list[Record]:
    edges = []
    for holder, why in holders.items():
        for user_id, user in sorted(tenant.users.items()):
            if _entra(user_id) == holder or user.get("accountEnabled") is False:
                continue
            if not admins_too and user_id in tenant.admins:
                continue
            # Without resetting the methods too, the new password still meets the target's MFA.
            needs_mfa = not methods_too and tenant.user_mfa.get(user_id) is True
            what = (
                "reset the password and authentication methods of" if methods_too else "reset the password of"
            )
            name = user.get("userPrincipalName") or user_id
            assumed: dict[str, Any] = {}
            if not admins_too and tenant.admin_groups_unknown:
                groups = ", ".join(tenant.admin_groups_unknown[:3])
                assumed = {"assumed": True, "assumed_reason": f"Members of role-holding group(s) {groups} not "
                           f"exported: {name} assumed not to be an administrator (whom this role cannot reset)."}
            edges.append(
                edge(
                    holder,
                    _entra(user_id),
                    EdgeKind.CAN_CREATE_CREDENTIAL,
                    f"{why}: can {what} {name}",
                    mfa_required=needs_mfa,
                    techniques=[technique],
                    **assumed,
                )
            )
    return edges


def reset_password_by_role(tenant: Tenant, technique: str) -> list[Record]:
    """Microsoft's hierarchy: Global and Privileged Authentication Administrators reset anyone
    (methods too); Authentication Administrators reset non-admins' methods; Helpdesk, Password
    and User Administrators reset non-admins' passwords."""
    everyone = tenant.role_sources({GLOBAL_ADMIN, PRIVILEGED_AUTH_ADMIN})
    methods = tenant.role_sources({AUTHENTICATION_ADMIN})
    passwords = tenant.role_sources({HELPDESK_ADMIN, PASSWORD_ADMIN, USER_ADMIN})
    return (
        _resets(everyone, tenant, True, True, technique)
        + _resets(methods, tenant, False, True, technique)
        + _resets(passwords, tenant, False, False, technique)
    )


def reset_password_by_graph_permission(tenant: Tenant, technique: str) -> list[Record]:
    methods = tenant.holders_of_permissions({"UserAuthenticationMethod.ReadWrite.All"})
    passwords = {
        k: v
        for k, v in tenant.holders_of_permissions({"User-PasswordProfile.ReadWrite.All"}).items()
        if k not in methods
    }
    return _resets(methods, tenant, True, True, technique) + _resets(
        passwords, tenant, True, False, technique
    )


def assign_global_admin(tenant: Tenant, technique: str) -> list[Record]:
    """Whoever can assign directory roles (or grant itself the permission to) can become Global
    Administrator: Privileged Role Administrator, RoleManagement.ReadWrite.Directory,
    RoleAssignmentSchedule.ReadWrite.Directory, AppRoleAssignment.ReadWrite.All (grants itself
    RoleManagement.ReadWrite.Directory first)."""
    holders = dict(tenant.role_sources({PRIVILEGED_ROLE_ADMIN}))
    holders.update(
        tenant.holders_of_permissions(
            {
                "RoleManagement.ReadWrite.Directory",
                "RoleAssignmentSchedule.ReadWrite.Directory",
                "AppRoleAssignment.ReadWrite.All",
                "RoleEligibilitySchedule.ReadWrite.Directory",
            }
        )
    )
    return [
        edge(
            holder,
            role_node_id(GLOBAL_ADMIN),
            EdgeKind.CAN_GRANT,
            f"{why}: can assign itself Global Administrator",
            mfa_required=False,
            techniques=[technique],
        )
        for holder, why in holders.items()
        if GLOBAL_ADMIN not in tenant.roles.get(holder.removeprefix("entra:"), set())
    ]


ABUSE_ROLES = frozenset(
    {
        GLOBAL_ADMIN,
        PRIVILEGED_ROLE_ADMIN,
        PRIVILEGED_AUTH_ADMIN,
        APPLICATION_ADMIN,
        CLOUD_APPLICATION_ADMIN,
        GROUPS_ADMIN,
        USER_ADMIN,
        DIRECTORY_WRITERS,
        HELPDESK_ADMIN,
        PASSWORD_ADMIN,
        AUTHENTICATION_ADMIN,
    }
)


def role_holders(tenant: Tenant, technique: str) -> list[Record]:
    """Active holders of a role with techniques are MEMBER_OF its role node (eligible holders
    already CAN_ASSUME it)."""
    edges = []
    for principal, held in sorted(tenant.roles.items()):
        if principal.startswith("role/"):
            continue
        for template in sorted(held & ABUSE_ROLES):
            info = tenant.role_infos.get(template)
            edges.append(
                edge(
                    _entra(principal),
                    role_node_id(template),
                    EdgeKind.MEMBER_OF,
                    f"active assignment of directory role {info.name if info else template}",
                    mfa_required=False,
                    techniques=[technique],
                )
            )
    return edges


def delegated_consent(tenant: Tenant, technique: str) -> list[Record]:
    """A client application with a delegated permission grant of a write scope acts as the consenting users
    (collectors/entra/delegated.py): every enabled user for an admin consent, the one user otherwise."""
    return consent_edges(tenant.delegated_grants, tenant.users, tenant.all_service_principals, technique)


def _register(technique_id: str, title: str, build: Callable[[Tenant, str], list[Record]], kind: EdgeKind,
              requires: tuple[str, ...], description: str, remediation: str, bloodhound: str, mitre: str,
              links: tuple[str, ...] = ()) -> None:
    """One Entra technique: its metadata and `build(tenant, technique_id)`, the function drawing its edges."""
    register(Technique(technique_id, title, "entra", kind, requires, description, remediation,
                       References(bloodhound=bloodhound, mitre=mitre, links=links), derive=build))


_ROLE_FIX = ("Hold the role through PIM (eligible, MFA on activation, time-bound) rather than as a standing "
             "assignment, and keep few holders; scope it to an administrative unit where the role allows.")
_GRAPH_FIX = ("Replace the tenant-wide application permission with a narrower one (or a scoped RBAC for "
              "applications assignment), and protect the app's credentials: no long-lived secrets.")
_register("entra.roles.active-assignment", "Act through an active directory role", role_holders, EdgeKind.MEMBER_OF,
          ("an active assignment of a directory role that has abuse techniques",),
          "active holders of a directory role act through its role node",
          _ROLE_FIX, "AZHasRole", "T1078.004")
_register("entra.applications.add-secret-by-role", "Add a secret to any service principal (admin role)",
          add_secret_by_role, EdgeKind.CAN_CREATE_CREDENTIAL,
          ("Global Administrator | Application Administrator | Cloud Application Administrator",),
          "Global / Application / Cloud Application Administrators add a secret to any service principal",
          _ROLE_FIX + " Alert on credentials added to service principals.", "AZAddSecret", "T1098.001")
_register("entra.applications.add-secret-by-graph-permission", "Add a secret to any service principal (Graph "
          "permission)", add_secret_by_graph_permission, EdgeKind.CAN_CREATE_CREDENTIAL,
          ("Application.ReadWrite.All | Directory.ReadWrite.All (application permission)",),
          "Application.ReadWrite.All (or Directory.ReadWrite.All) adds a secret to any service principal",
          _GRAPH_FIX, "AZMGAddSecret", "T1098.001")
_register("entra.groups.add-members-by-owner", "Add members to an owned group", add_members_by_owner,
          EdgeKind.CAN_GRANT, ("owner of the group",), "a group owner adds members (itself) to the group",
          "Give privileged groups no owners (role-assignable groups are managed by Privileged Role "
          "Administrators), or owners who are themselves as protected as the group.", "AZAddMembers", "T1098.003")
_register("entra.groups.add-members-by-role", "Add members to a group (admin role)", add_members_by_role,
          EdgeKind.CAN_GRANT,
          (("Groups Administrator | User Administrator | Directory Writers (not role-assignable groups) | "
           "Global Administrator | Privileged Role Administrator (any group)"),),
          "Groups / User Administrators and Directory Writers manage non-role-assignable groups; Global and "
          "Privileged Role Administrators any group",
          _ROLE_FIX + " Make groups that grant privileged access role-assignable.", "AZAddMembers", "T1098.003")
_register("entra.groups.add-members-by-graph-permission", "Add members to a group (Graph permission)",
          add_members_by_graph_permission, EdgeKind.CAN_GRANT,
          (("GroupMember.ReadWrite.All | Group.ReadWrite.All | Directory.ReadWrite.All (not role-assignable "
           "groups) | RoleManagement.ReadWrite.Directory (any group)"),),
          "GroupMember / Group / Directory.ReadWrite.All (non-role-assignable groups); "
          "RoleManagement.ReadWrite.Directory (any group)", _GRAPH_FIX, "AZMGAddMember", "T1098.003")
_register("entra.users.reset-password-by-role", "Reset a user's password (admin role)", reset_password_by_role,
          EdgeKind.CAN_CREATE_CREDENTIAL,
          (("Global Administrator | Privileged Authentication Administrator (anyone) | Authentication "
           "Administrator | Helpdesk Administrator | Password Administrator | User Administrator (non-admins)"),),
          "password reset following Microsoft's admin hierarchy",
          _ROLE_FIX + " Enforce MFA for every user so a reset password alone does not sign in.",
          "AZResetPassword", "T1098")
_register("entra.users.reset-password-by-graph-permission", "Reset a user's password (Graph permission)",
          reset_password_by_graph_permission, EdgeKind.CAN_CREATE_CREDENTIAL,
          ("UserAuthenticationMethod.ReadWrite.All | User-PasswordProfile.ReadWrite.All (application permission)",),
          "UserAuthenticationMethod.ReadWrite.All / User-PasswordProfile.ReadWrite.All reset sign-in",
          _GRAPH_FIX, "AZResetPassword", "T1098")
_register("entra.roles.assign-global-admin", "Assign oneself Global Administrator", assign_global_admin,
          EdgeKind.CAN_GRANT,
          (("Privileged Role Administrator | RoleManagement.ReadWrite.Directory | "
           "RoleAssignmentSchedule.ReadWrite.Directory | RoleEligibilitySchedule.ReadWrite.Directory | "
           "AppRoleAssignment.ReadWrite.All"),),
          "Privileged Role Administrator, RoleManagement.ReadWrite.Directory, AppRoleAssignment.ReadWrite.All "
          "assign Global Administrator", _ROLE_FIX + " " + _GRAPH_FIX,
          "AZPrivilegedRoleAdmin, AZMGGrantRole, AZMGGrantAppRoles", "T1098.003")


_register("entra.applications.delegated-consent", "Act as the users who consented to an application",
          delegated_consent, EdgeKind.CAN_IMPERSONATE,
          ("a delegated permission grant (oauth2PermissionGrant) to the client application, by an admin for all "
           "users (AllPrincipals) or by one user (Principal), of a write scope: " + scope_catalogue(),
           "the client application's credential (client secret or certificate) to use the tokens the app holds"),
          "an application with a delegated grant of a write scope acts as each consenting user through the granted "
          "API, with that user's own rights (a token is the intersection of scope and user rights): an admin "
          "consent of Directory.ReadWrite.All, RoleManagement.ReadWrite.Directory or AppRoleAssignment.ReadWrite.All "
          "takes the tenant over through any administrator among the users. Whoever holds the app's secret "
          "and the tokens it keeps (a refresh token is redeemed with the client credential) acts as those users. "
          "Read-only scopes (User.Read, Directory.Read.All, openid, offline_access) draw nothing",
          "Review admin consents (consentType AllPrincipals) and remove write scopes the integration does not need, "
          "or replace the tenant-wide consent by consent of the few users who use it; allow user consent only for "
          "verified publishers and low-risk permissions (or require admin consent workflow); rotate the app's "
          "client secret and prefer a certificate or workload identity federation to a long-lived secret.",
          "", "T1550.001",
          links=("https://learn.microsoft.com/en-us/graph/api/resources/oauth2permissiongrant",
                 "https://learn.microsoft.com/en-us/defender-office-365/detect-and-remediate-illicit-consent-grants"))


def techniques() -> list[Technique]:
    """The Entra techniques drawn from the tenant's roles and permissions (owners and managed identities
    are drawn by their own modules)."""
    return [t for t in CATALOGUE.of("entra") if t.derive is not None]


def abuse_edges(tenant: Tenant) -> list[Record]:
    edges: list[Record] = []
    for item in techniques():
        edges.extend(item.derive(tenant, item.id))
    return edges

