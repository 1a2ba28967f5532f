"""Role -> access level and role -> permissions.

Levels: basic roles and IAM-admin roles by table; any role whose permissions are known
(custom roles, the live roles API's `roles/predefined.json`, the bundled catalogue
`predefined_roles.json`) from its permissions, where setIamPolicy is `admin` only on the kind of
node it controls; other predefined roles by Google's naming convention (the role id's last word),
reported in coverage as classified by name. Escalation techniques read the permissions
(collectors/gcp/escalation.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from collectors.gcp.role_catalogue import bundled_roles
from graph.schema import LEVEL_RANK

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

_READ_VERBS = ("get", "list", "search", "lookup", "query", "read", "export", "analyze", "view")


@dataclass(frozen=True)
class Classification:
    level: str
    known: bool  # False: the level is a guess (unknown role), which coverage must say
    reason: str


def max_level(levels: Iterable[str]) -> str:
    return max(levels, key=lambda level: LEVEL_RANK[level], default="read")


# setIamPolicy permission prefix -> the node kinds whose whole policy it controls.
_IAM_CONTROL: dict[str, tuple[str, ...]] = {
    "resourcemanager.organizations": ("organization",),
    "resourcemanager.folders": ("organization", "folder"),
    "resourcemanager.projects": ("organization", "folder", "project"),
    "storage.buckets": ("bucket",),
}


def permission_level(permission: str, resource_kind: str | None = None) -> str:
    """One IAM permission (`service.resource.verb`) -> read / write / admin.

    setIamPolicy is admin; given `resource_kind`, only when it controls that kind of node
    (storage.buckets.setIamPolicy bound on a project governs buckets, not the project).
    """
    prefix, _, verb = permission.rpartition(".")
    if verb == "setIamPolicy":
        if resource_kind is None or resource_kind in _IAM_CONTROL.get(prefix, ()):
            return "admin"
        return "write"
    if verb.startswith(_READ_VERBS):
        return "read"
    # create / update / delete / set* / patch / actAs / getAccessToken-like verbs all change state.
    return "write"


def custom_role_level(permissions: Iterable[str], resource_kind: str | None = None) -> str:
    return max_level(permission_level(p, resource_kind) for p in permissions)


def role_permissions(role: str, known_roles: Mapping[str, list[str]] | None = None) -> list[str] | None:
    """Permissions of a role: exported / live roles first, then the bundled catalogue; None if unknown."""
    if known_roles and role in known_roles:
        return known_roles[role]
    return bundled_roles().get(role)


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
        return Classification(custom_role_level(custom_roles[role], resource_kind), True, "role permissions")
    if role in bundled_roles():
        return Classification(custom_role_level(bundled_roles()[role], resource_kind), True,
                              "predefined role catalogue")
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
