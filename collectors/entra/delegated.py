"""OAuth2 delegated permission grants (`oauth2PermissionGrants.json`) -> the client acts as the consenting users.

Graph shape (`GET /oauth2PermissionGrants`): `{"id", "clientId", "consentType", "principalId", "resourceId",
"scope"}`. `clientId` is the object id of the client application's service principal, `resourceId` the
object id of the API's service principal (Microsoft Graph, almost always), `scope` the space-separated
delegated permissions. `consentType` `AllPrincipals` is an admin's consent for every user of the tenant
(`principalId` null); `Principal` is one user's consent for themself (`principalId`).

**What a delegated grant gives.** The application acts *as the signed-in user*: a delegated token carries
the intersection of the granted scopes and the user's own rights. So the model is an edge from the client
service principal to each consenting user (`CAN_IMPERSONATE`: the app obtains the user's tokens and acts
as them, which Azure itself calls `user_impersonation`; `CAN_ASSUME` is for taking up an identity or role
that trusts the taker, which consent is not), and the user's own rights carry the path on: through an
admin user, Directory.ReadWrite.All reaches what that admin can do; through a user with no rights, nothing.
A tenant-wide (AllPrincipals) consent of a takeover scope is therefore not drawn as admin on the tenant
from the client: it is a privileged path exactly when some consenting user is privileged, and the path
then names that user. Holding the client's credential (client secret or certificate: `AUTHENTICATES`
into the service principal) is what makes tokens the app holds usable (a confidential client must
present its credential to redeem a refresh token), so the credential's holder reaches those users' rights.

What the path overstates, said on each edge as a condition: the token works only against the granted
API with the granted scopes, so the user's rights reached through other doors (signing in to AWS or GCP
through federation, Azure RBAC without the ARM scope) are not really in reach; a data scope (Mail, Files,
Sites) reaches the user's data, not the user's roles.

Only scopes that let the client *write* something that matters draw an edge (`WRITE_SCOPES`, per API);
read scopes (User.Read, Directory.Read.All, openid, offline_access ...) draw nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from graph.records import Record, edge
from graph.schema import EdgeKind

MICROSOFT_GRAPH = "00000003-0000-0000-c000-000000000000"
AZURE_AD_GRAPH = "00000002-0000-0000-c000-000000000000"  # retired API, same scope names as Microsoft Graph
AZURE_SERVICE_MANAGEMENT = "797f4846-ba00-4fd7-ba43-dac1f8f63013"  # Azure Resource Manager
EXCHANGE_ONLINE = "00000002-0000-0ff1-ce00-000000000000"
SHAREPOINT_ONLINE = "00000003-0000-0ff1-ce00-000000000000"

# Microsoft Graph delegated scopes that, used as an administrator, take the tenant over: assign roles,
# grant app roles or consents, write applications' credentials, authentication methods or policies.
TAKEOVER_SCOPES: frozenset[str] = frozenset({
    "Directory.ReadWrite.All", "Directory.AccessAsUser.All", "RoleManagement.ReadWrite.Directory",
    "AppRoleAssignment.ReadWrite.All", "Application.ReadWrite.All", "DelegatedPermissionGrant.ReadWrite.All",
    "RoleAssignmentSchedule.ReadWrite.Directory", "RoleEligibilitySchedule.ReadWrite.Directory",
    "PrivilegedAccess.ReadWrite.AzureADGroup", "Policy.ReadWrite.ConditionalAccess",
    "Policy.ReadWrite.AuthenticationMethod", "Policy.ReadWrite.PermissionGrant", "UserAuthenticationMethod.ReadWrite.All",
    "Domain.ReadWrite.All",
})
# Microsoft Graph delegated scopes that write identities (users, groups and their members).
IDENTITY_SCOPES: frozenset[str] = frozenset({"User.ReadWrite.All", "Group.ReadWrite.All", "GroupMember.ReadWrite.All"})
# Delegated scopes that write a user's data (mail, files, sites), per API.
DATA_SCOPES: frozenset[str] = frozenset({"Mail.ReadWrite", "Mail.Send", "Files.ReadWrite.All", "Sites.ReadWrite.All",
                                         "Sites.Manage.All", "Sites.FullControl.All"})

# API (resource appId) -> its delegated scopes that matter -> what they reach through the user.
WRITE_SCOPES: dict[str, dict[str, str]] = {
    MICROSOFT_GRAPH: {**dict.fromkeys(TAKEOVER_SCOPES, "directory"), **dict.fromkeys(IDENTITY_SCOPES, "directory"),
                      **dict.fromkeys(DATA_SCOPES, "data")},
    AZURE_AD_GRAPH: {"Directory.ReadWrite.All": "directory", "Directory.AccessAsUser.All": "directory"},
    AZURE_SERVICE_MANAGEMENT: {"user_impersonation": "azure"},
    EXCHANGE_ONLINE: {"EWS.AccessAsUser.All": "data", "Mail.ReadWrite": "data", "Mail.Send": "data"},
    SHAREPOINT_ONLINE: {"AllSites.FullControl": "data", "AllSites.Write": "data", "AllSites.Manage": "data",
                        "MyFiles.Write": "data"},
}
API_NAMES = {MICROSOFT_GRAPH: "Microsoft Graph", AZURE_AD_GRAPH: "Azure AD Graph",
             AZURE_SERVICE_MANAGEMENT: "Azure Service Management", EXCHANGE_ONLINE: "Office 365 Exchange Online",
             SHAREPOINT_ONLINE: "Office 365 SharePoint Online"}
_REACH = {"directory": "the user's directory rights", "azure": "the user's Azure RBAC rights",
          "data": "the user's data (mail, files, sites)"}


def scope_catalogue() -> str:
    """The scopes that draw an edge, per API, for the technique's `requires`."""
    return " | ".join(f"{API_NAMES[app]} {' / '.join(sorted(scopes))}" for app, scopes in WRITE_SCOPES.items())


def scope_names(scope: Any) -> list[str]:
    """`"openid  User.Read Mail.ReadWrite"` -> ["openid", "User.Read", "Mail.ReadWrite"]."""
    return [name for name in str(scope or "").split() if name]


def write_scopes(resource_app_id: str | None, scopes: Iterable[str]) -> dict[str, str]:
    """The granted scopes that matter -> what they reach. A resource that was not exported (`None`) is read
    as Microsoft Graph, whose scope names are distinctive; any other API's scopes (custom APIs) do not count."""
    table = WRITE_SCOPES.get(resource_app_id or MICROSOFT_GRAPH, {})
    return {name: table[name] for name in scopes if name in table}


@dataclass
class _Consent:
    """What one client may do as one user, over every grant that covers the pair."""

    scopes: dict[str, str] = field(default_factory=dict)  # "<scope> (<API>)" -> reach
    consent_types: set[str] = field(default_factory=set)
    grants: list[str] = field(default_factory=list)


def consent_edges(grants: list[dict[str, Any]], users: dict[str, dict[str, Any]],
                  service_principals: dict[str, dict[str, Any]], technique: str) -> list[Record]:
    """CAN_IMPERSONATE client service principal -> each enabled user a write-scope grant covers.

    `grants`: valid oauth2PermissionGrants; `users`: object id -> Graph user; `service_principals`: object
    id -> Graph service principal (every one, other tenants' included: clients and APIs)."""
    pairs: dict[tuple[str, str], _Consent] = {}
    for grant in grants:
        client = str(grant.get("clientId") or "")
        resource = service_principals.get(str(grant.get("resourceId") or ""))
        resource_app = (str(resource.get("appId") or "") or None) if resource else None
        api = API_NAMES.get(resource_app or MICROSOFT_GRAPH) or str((resource or {}).get("displayName") or "")
        matter = write_scopes(resource_app, scope_names(grant.get("scope")))
        if not matter or client not in service_principals:
            continue
        if grant.get("consentType") == "AllPrincipals":
            covered = [user_id for user_id in users]
        else:
            covered = [str(grant.get("principalId"))] if str(grant.get("principalId")) in users else []
        for user_id in covered:
            if users[user_id].get("accountEnabled") is False:
                continue  # cannot sign in: no token to act with
            consent = pairs.setdefault((client, user_id), _Consent())
            consent.scopes.update({f"{name} ({api})": reach for name, reach in matter.items()})
            consent.consent_types.add(str(grant.get("consentType")))
            consent.grants.append(str(grant.get("id") or ""))
    edges: list[Record] = []
    for (client, user_id), consent in sorted(pairs.items()):
        sp = service_principals[client]
        user = users[user_id]
        app = sp.get("displayName") or client
        name = user.get("userPrincipalName") or user_id
        who = "admin consent for all users" if "AllPrincipals" in consent.consent_types else f"{name}'s own consent"
        scopes = sorted(consent.scopes)
        reaches = sorted({_REACH[reach] for reach in consent.scopes.values()})
        edges.append(edge(
            f"entra:{client}", f"entra:{user_id}", EdgeKind.CAN_IMPERSONATE,
            f"delegated permission grant ({who}) to {app}: {', '.join(scopes)}; acts as {name}",
            mfa_required=False,
            techniques=[technique],
            scopes=scopes,
            consent_types=sorted(consent.consent_types),
            grant_ids=sorted(g for g in consent.grants if g),
            conditions=[(f"delegated: acts as {name} only through {', '.join(scopes)}, i.e. with "
                         f"{' and '.join(reaches)}, not the user's other rights (sign-ins to other clouds, "
                         "other APIs); needs a token the user obtained through the app")],
        ))
    return edges
