"""Role -> access level, and which roles let a member act as a service account.

GCP has ~2,000 predefined roles; exporting their permission lists offline is not
possible with the IAM policy alone, so predefined roles are classified by a small
table plus Google's naming convention (the role id's last word). Custom roles are
classified from their ``includedPermissions``. The table is documented in
docs/collectors/gcp.md; a later issue replaces it with a generated dataset.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from graph.schema import LEVEL_RANK, EdgeKind

BASIC_ROLES: dict[str, str] = {
    "roles/owner": "admin",
    "roles/editor": "write",
    "roles/viewer": "read",
    "roles/browser": "read",
}

# Roles that can change IAM policy (or roles) on the node they are bound to: full control.
IAM_ADMIN_ROLES: frozenset[str] = frozenset(
    {
        "roles/resourcemanager.organizationAdmin",
        "roles/resourcemanager.folderAdmin",
        "roles/resourcemanager.folderIamAdmin",
        "roles/resourcemanager.projectIamAdmin",
        "roles/iam.securityAdmin",
        "roles/iam.roleAdmin",
        "roles/iam.organizationRoleAdmin",
    }
)

# Roles whose power is acting as a service account: modelled as transfer edges to each
# service account the binding covers. On the node itself they only list / get accounts.
SA_TRANSFER_ROLES: dict[str, tuple[EdgeKind, ...]] = {
    "roles/iam.serviceAccountTokenCreator": (EdgeKind.CAN_IMPERSONATE,),
    "roles/iam.serviceAccountUser": (EdgeKind.CAN_RUN_AS,),
    "roles/iam.serviceAccountKeyAdmin": (EdgeKind.CAN_CREATE_CREDENTIAL,),
    "roles/iam.workloadIdentityUser": (),  # federation: handled by the caller
    # setIamPolicy on the account: can grant itself any of the above.
    "roles/iam.serviceAccountAdmin": (EdgeKind.CAN_GRANT,),
    "roles/iam.securityAdmin": (EdgeKind.CAN_GRANT,),
    # Known escalation: basic owner / editor carry iam.serviceAccounts.actAs.
    "roles/owner": (EdgeKind.CAN_RUN_AS,),
    "roles/editor": (EdgeKind.CAN_RUN_AS,),
}
SA_ROLE_LEVELS: dict[str, str] = {
    "roles/iam.serviceAccountTokenCreator": "read",
    "roles/iam.serviceAccountUser": "read",
    "roles/iam.serviceAccountKeyAdmin": "read",
    "roles/iam.workloadIdentityUser": "read",
    "roles/iam.serviceAccountAdmin": "write",
}
WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser"

# Suffix convention of predefined role ids (`roles/<service>.<name>`), checked in order
# on the lower-cased <name>. A service's `admin` role controls that service's resources
# but not the project's IAM policy, so on a project / folder / org it is `write`.
_WRITE_SUFFIXES = (
    "objectadmin", "objectcreator", "dataeditor", "dataowner", "editor", "writer",
    "creator", "developer", "user", "serviceagent", "publisher", "deployer",
)
_READ_SUFFIXES = (
    "objectviewer", "dataviewer", "metadataviewer", "viewer", "reader", "browser", "subscriber", "accessor",
)
_VERSION = re.compile(r"\.v\d+(beta\d*)?$")  # roles/compute.instanceAdmin.v1

# Resource kinds a service's admin role fully controls when bound there (bucket policy).
_SERVICE_RESOURCE = {"storage": "bucket"}

# Custom-role permissions that let a member act as the service accounts the role covers.
_SA_PERMISSION_EDGES: dict[str, EdgeKind] = {
    "iam.serviceAccounts.getAccessToken": EdgeKind.CAN_IMPERSONATE,
    "iam.serviceAccounts.signBlob": EdgeKind.CAN_IMPERSONATE,
    "iam.serviceAccounts.signJwt": EdgeKind.CAN_IMPERSONATE,
    "iam.serviceAccounts.implicitDelegation": EdgeKind.CAN_IMPERSONATE,
    "iam.serviceAccounts.actAs": EdgeKind.CAN_RUN_AS,
    "iam.serviceAccountKeys.create": EdgeKind.CAN_CREATE_CREDENTIAL,
    "iam.serviceAccounts.setIamPolicy": EdgeKind.CAN_GRANT,
}
_READ_VERBS = ("get", "list", "search", "lookup", "query", "read", "export", "analyze", "view")


@dataclass(frozen=True)
class Classification:
    level: str
    known: bool  # False: the level is a guess (unknown role), which coverage must say
    reason: str


def max_level(levels: Iterable[str]) -> str:
    return max(levels, key=lambda level: LEVEL_RANK[level], default="read")


def permission_level(permission: str) -> str:
    """One IAM permission (`service.resource.verb`) -> read / write / admin."""
    verb = permission.rsplit(".", 1)[-1]
    if verb == "setIamPolicy":
        return "admin"
    if verb.startswith(_READ_VERBS):
        return "read"
    # create / update / delete / set* / patch / actAs / getAccessToken-like verbs all change state.
    return "write"


def custom_role_level(permissions: Iterable[str]) -> str:
    return max_level(permission_level(p) for p in permissions)


def classify_role(
    role: str,
    custom_roles: Mapping[str, list[str]] | None = None,
    resource_kind: str = "project",
) -> Classification:
    """The access level a role grants on the node it is bound to."""
    custom_roles = custom_roles or {}
    if role in BASIC_ROLES:
        return Classification(BASIC_ROLES[role], True, "basic role")
    if role in IAM_ADMIN_ROLES:
        return Classification("admin", True, "can change IAM policy")
    if role in SA_ROLE_LEVELS:
        return Classification(SA_ROLE_LEVELS[role], True, "service-account role")
    if role in custom_roles:
        return Classification(custom_role_level(custom_roles[role]), True, "custom role permissions")
    if not role.startswith("roles/") or "." not in role:
        return Classification("read", False, "role definition not exported")
    service, _, name = role[len("roles/"):].partition(".")
    lowered = _VERSION.sub("", name).lower()
    for suffix in _WRITE_SUFFIXES:
        if lowered.endswith(suffix):
            return Classification("write", True, f"predefined role suffix '{suffix}'")
    if lowered.endswith("admin"):
        if _SERVICE_RESOURCE.get(service) == resource_kind:
            return Classification("admin", True, f"{service} admin on its own resource")
        return Classification("write", True, "service admin (no setIamPolicy on the project)")
    for suffix in _READ_SUFFIXES:
        if lowered.endswith(suffix):
            return Classification("read", True, f"predefined role suffix '{suffix}'")
    return Classification("read", False, "unknown predefined role")


def sa_transfer_kinds(role: str, custom_roles: Mapping[str, list[str]] | None = None) -> tuple[EdgeKind, ...]:
    """Transfer edges a role gives over every service account its binding covers."""
    if role in SA_TRANSFER_ROLES:
        return SA_TRANSFER_ROLES[role]
    permissions = (custom_roles or {}).get(role)
    if not permissions:
        return ()
    kinds = {_SA_PERMISSION_EDGES[p] for p in permissions if p in _SA_PERMISSION_EDGES}
    return tuple(sorted(kinds))
