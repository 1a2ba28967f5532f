"""IAM Identity Center exports -> CAN_ASSUME from SSO groups / users to the AWSReservedSSO_* roles.

An account assignment (principal, permission set, account) materialises in that account as a role
named `AWSReservedSSO_<PermissionSetName>_<suffix>` trusted by the AWSSSO SAML provider. Groups and
users provisioned by SCIM from Entra ID carry the Entra objectId as their external id, so the edge
starts at the Entra node itself and joins the Entra graph without any correlation step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collectors.aws.transform import Principal
from graph.records import Record, edge, node
from graph.schema import EdgeKind, Family

_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
SSO_ROLE_PREFIX = "AWSReservedSSO_"

Items = list[tuple[Path, list[dict[str, Any]]]]


@dataclass
class IdentityCenterRecords:
    nodes: list[Record] = field(default_factory=list)
    edges: list[Record] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def entra_object_id(entity: dict[str, Any]) -> str | None:
    """The Entra objectId of a SCIM-provisioned group / user, if Entra provisioned it.

    The issuer is AWS's SCIM endpoint whatever the IdP; Entra's provisioning sends the
    objectId (a GUID) as externalId, while Okta and Google send their own id formats.
    """
    for external in entity.get("ExternalIds") or []:
        if not isinstance(external, dict):
            continue
        issuer = str(external.get("Issuer", "")).lower()
        value = str(external.get("Id", ""))
        if "scim" in issuer and _GUID.match(value):
            return value.lower()
    return None


def _all(parts: dict[str, Items], kind: str) -> list[dict[str, Any]]:
    return [item for _, items in parts.get(kind, []) for item in items if isinstance(item, dict)]


def _primary_email(user: dict[str, Any]) -> str | None:
    emails = [e for e in user.get("Emails") or [] if isinstance(e, dict) and e.get("Value")]
    primary = next((e for e in emails if e.get("Primary")), emails[0] if emails else None)
    return str(primary["Value"]) if primary else None


def transform_identity_center(parts: dict[str, Items],
                              roles_by_account: dict[str, dict[str, Principal]]) -> IdentityCenterRecords:
    out = IdentityCenterRecords()
    out.files = sorted({str(path) for items in parts.values() for path, _ in items})
    instances = _all(parts, "instances")
    default_store = next((str(i["IdentityStoreId"]) for i in instances if i.get("IdentityStoreId")), "unknown")
    owner = next((str(i["OwnerAccountId"]) for i in instances if i.get("OwnerAccountId")), "")
    scope = f"aws:account/{owner}" if owner else ""

    principal_ids: dict[tuple[str, str], str] = {}
    for group in _all(parts, "groups"):
        group_id = str(group.get("GroupId", ""))
        store = str(group.get("IdentityStoreId") or default_store)
        entra = entra_object_id(group)
        if entra:
            principal_ids[("GROUP", group_id)] = f"entra:{entra}"
            continue
        node_id = f"aws:identitystore/{store}/group/{group_id}"
        principal_ids[("GROUP", group_id)] = node_id
        out.nodes.append(node(node_id, Family.IDENTITY, "Group", "aws", str(group.get("DisplayName") or group_id),
                              scope, human=False, identity_store=store, description=group.get("Description")))
    for user in _all(parts, "users"):
        user_id = str(user.get("UserId", ""))
        store = str(user.get("IdentityStoreId") or default_store)
        entra = entra_object_id(user)
        if entra:
            principal_ids[("USER", user_id)] = f"entra:{entra}"
            continue
        node_id = f"aws:identitystore/{store}/user/{user_id}"
        principal_ids[("USER", user_id)] = node_id
        out.nodes.append(node(node_id, Family.IDENTITY, "User", "aws", str(user.get("UserName") or user_id),
                              scope, human=True, mfa=None, enabled=True, email=_primary_email(user),
                              identity_store=store))
    for membership in _all(parts, "memberships"):
        group_id = principal_ids.get(("GROUP", str(membership.get("GroupId", ""))))
        member = (membership.get("MemberId") or {}).get("UserId")
        user_id = principal_ids.get(("USER", str(member)))
        if group_id and user_id and not group_id.startswith("entra:"):
            out.edges.append(edge(user_id, group_id, EdgeKind.MEMBER_OF, "IAM Identity Center group membership"))

    names = {str(ps.get("PermissionSetArn")): str(ps.get("Name")) for ps in _all(parts, "permission_sets")
             if ps.get("PermissionSetArn") and ps.get("Name")}
    seen: set[tuple[str, str]] = set()
    for assignment in _all(parts, "assignments"):
        _assignment(assignment, names, principal_ids, roles_by_account, default_store, seen, out)
    return out


def _assignment(assignment: dict[str, Any], names: dict[str, str], principal_ids: dict[tuple[str, str], str],
                roles_by_account: dict[str, dict[str, Principal]], store: str, seen: set[tuple[str, str]],
                out: IdentityCenterRecords) -> None:
    account = str(assignment.get("AccountId", ""))
    ps_arn = str(assignment.get("PermissionSetArn", ""))
    ptype = str(assignment.get("PrincipalType", "")).upper()
    pid = str(assignment.get("PrincipalId", ""))
    name = names.get(ps_arn)
    if name is None:
        out.notes.append(f"Identity Center: permission set {ps_arn} has no describe-permission-set output; "
                         f"assignment in {account} skipped")
        return
    source = principal_ids.get((ptype, pid))
    if source is None:
        kind = "group" if ptype == "GROUP" else "user"
        source = f"aws:identitystore/{store}/{kind}/{pid}"
        out.notes.append(f"Identity Center: {kind} {pid} assigned {name} in {account} is not in the identity "
                         "store exports; edge drawn from its identity-store id")
    roles = roles_by_account.get(account)
    if roles is None:
        out.notes.append(f"Identity Center: {name} is assigned in account {account}, which was not collected")
        return
    prefix = f"{SSO_ROLE_PREFIX}{name}_"
    role = next((r for role_name, r in sorted(roles.items()) if role_name.startswith(prefix)), None)
    if role is None:
        out.notes.append(f"Identity Center: no role {prefix}* in account {account} for permission set {name} "
                         "(not provisioned yet, or the export predates it)")
        return
    if (source, role.node_id) in seen:
        return
    seen.add((source, role.node_id))
    out.edges.append(edge(source, role.node_id, EdgeKind.CAN_ASSUME,
                          f"IAM Identity Center assignment {name} in {account}",
                          mfa_required=False, conditions=[]))
