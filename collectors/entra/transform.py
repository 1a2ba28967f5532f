"""Pure transforms: Graph objects (as the API returns them) -> Crosspath records.

Each function takes the raw objects of one export and returns records; a record that
lacks a field the graph cannot do without raises ``SourceFileError`` for that one object,
which the caller reports while the rest of the file still loads.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from collectors.base import SourceFileError
from collectors.entra.conditional_access import MfaDecision
from collectors.entra.membership import member_kind
from graph.records import Record, RecordError, edge, node
from graph.schema import EdgeKind, Family, Provider
from graph.techniques import References, Technique, register
from graph.times import iso, parse_time

SOURCE = "entra"
MEMBERSHIP_VIA = "Entra group membership"
# Microsoft's own tenant: service principals it owns are first-party apps.
MICROSOFT_TENANT_ID = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"


def tenant_node_id(tenant_id: str) -> str:
    return f"entra:tenant/{tenant_id}"


def object_node_id(object_id: str) -> str:
    return f"entra:{object_id}"


def app_alias(app_id: str) -> str:
    """Kubernetes workload identity and other sources know an app only by its client id."""
    return f"entra:appId/{app_id}"


def need(obj: dict[str, Any], key: str, file: str, record: str, *, kind: type = str) -> Any:
    """obj[key] if present, non-empty and of the right type, else SourceFileError for this record."""
    value = obj.get(key)
    if not isinstance(value, kind) or (isinstance(value, str) and not value):
        message = "required field is missing" if key not in obj else f"must be a {kind.__name__}, got {value!r}"
        raise SourceFileError(
            RecordError(SOURCE, file, record, key, message,
                        "re-export with the $select in docs/collectors/entra.md")
        )
    return value


def record_label(obj: dict[str, Any], index: int) -> str:
    for key in ("userPrincipalName", "displayName", "id"):
        if isinstance(obj.get(key), str) and obj[key]:
            return f"#{index} ({obj[key]})"
    return f"#{index}"


def transform_tenant(organization: dict[str, Any], file: str) -> Record:
    tenant_id = need(organization, "id", file, record_label(organization, 0))
    domains = [d for d in organization.get("verifiedDomains") or [] if isinstance(d, dict)]
    default = next((d.get("name") for d in domains if d.get("isDefault")), None)
    return node(
        tenant_node_id(tenant_id),
        Family.RESOURCE,
        "tenant",
        Provider.ENTRA,
        str(organization.get("displayName") or tenant_id),
        "",
        tenant_id=tenant_id,
        verified_domains=sorted(str(d.get("name")) for d in domains if d.get("name")),
        default_domain=default,
        environment="unknown",
    )


def _last_sign_in(user: dict[str, Any]) -> str | None:
    activity = user.get("signInActivity")
    if not isinstance(activity, dict):
        return None
    times = [
        parse_time(activity.get(key))
        for key in ("lastSignInDateTime", "lastNonInteractiveSignInDateTime", "lastSuccessfulSignInDateTime")
    ]
    known = [t for t in times if t is not None]
    return iso(max(known)) if known else None


def transform_user(
    user: dict[str, Any],
    file: str,
    index: int,
    tenant: str,
    decision: MfaDecision,
    registration: dict[str, Any] | None,
) -> Record:
    label = record_label(user, index)
    object_id = need(user, "id", file, label)
    upn = need(user, "userPrincipalName", file, label)
    # Graph's userType is Member or Guest; without it the account is still a user (human), but neither is
    # assumed: "unknown" (Conditional Access guest conditions are then undecidable for it).
    user_type = str(user.get("userType") or "").lower()
    if user_type not in ("member", "guest"):
        user_type = "unknown"
    enabled = user.get("accountEnabled")
    return node(
        object_node_id(object_id),
        Family.IDENTITY,
        "User",
        Provider.ENTRA,
        str(user.get("displayName") or upn),
        tenant,
        human=True,
        enabled=enabled if isinstance(enabled, bool) else None,
        email=str(user.get("mail") or upn),
        upn=upn,
        user_type=user_type,
        on_premises_synced=user.get("onPremisesSyncEnabled") is True,
        created=iso(parse_time(user.get("createdDateTime"))),
        last_used=_last_sign_in(user),
        mfa=decision.mfa,
        mfa_reason=decision.reason,
        mfa_registered=_registered(registration),
        mfa_methods=_methods(registration),
    )


def _registered(registration: dict[str, Any] | None) -> bool | None:
    if registration is None:
        return None
    value = registration.get("isMfaRegistered")
    return value if isinstance(value, bool) else None


def _methods(registration: dict[str, Any] | None) -> list[str] | None:
    if registration is None:
        return None
    return [str(m) for m in registration.get("methodsRegistered") or []]


def role_assignable(group: dict[str, Any], holds_role: bool) -> bool | None:
    """Can the group hold directory roles? `isAssignableToRole` when exported (null is Graph's default:
    false). Without the field, a group that holds a directory role (active or eligible) is role-assignable,
    since Entra lets only role-assignable groups hold one; any other group is unknown (None)."""
    if "isAssignableToRole" in group:
        return group["isAssignableToRole"] is True
    return True if holds_role else None


def transform_group(group: dict[str, Any], file: str, index: int, tenant: str, members_known: bool,
                    holds_role: bool = False) -> Record:
    label = record_label(group, index)
    object_id = need(group, "id", file, label)
    return node(
        object_node_id(object_id),
        Family.IDENTITY,
        "Group",
        Provider.ENTRA,
        str(group.get("displayName") or object_id),
        tenant,
        human=False,
        security_enabled=group.get("securityEnabled") if isinstance(group.get("securityEnabled"), bool) else None,
        mail_enabled=group.get("mailEnabled") if isinstance(group.get("mailEnabled"), bool) else None,
        role_assignable=role_assignable(group, holds_role),
        members_known=members_known,
    )


def transform_group_members(group_id: str, members: list[dict[str, Any]]) -> tuple[list[Record], list[str]]:
    """MEMBER_OF from each user / group / service principal member to the group.

    Returns (edges, notes); devices and contacts cannot act, so they are only counted."""
    edges: list[Record] = []
    skipped: dict[str, int] = {}
    for member in members:
        kind = member_kind(member)
        member_id = member.get("id")
        if kind in ("user", "group", "servicePrincipal") and isinstance(member_id, str) and member_id:
            edges.append(
                edge(object_node_id(member_id), object_node_id(group_id), EdgeKind.MEMBER_OF,
                     MEMBERSHIP_VIA, mfa_required=False, member_type=kind)
            )
        else:
            label = str(member.get("@odata.type") or "object without @odata.type")
            skipped[label] = skipped.get(label, 0) + 1
    notes = [f"group {group_id}: {count} member(s) of type {label} skipped" for label, count in skipped.items()]
    return edges, notes


def transform_service_principal(sp: dict[str, Any], file: str, index: int, tenant: str) -> Record:
    """A service principal. Without `appId` (left out of `$select`, or a trimmed export) it is kept: its
    roles, memberships and owners still hold; only what joins by client id (application credentials,
    Kubernetes workload identity) cannot reach it. `app_id` is then None and there is no alias."""
    label = record_label(sp, index)
    object_id = need(sp, "id", file, label)
    app_id = sp.get("appId") if isinstance(sp.get("appId"), str) and sp.get("appId") else None
    enabled = sp.get("accountEnabled")
    owner_tenant = sp.get("appOwnerOrganizationId")
    return node(
        object_node_id(object_id),
        Family.IDENTITY,
        "ServiceIdentity",
        Provider.ENTRA,
        str(sp.get("displayName") or app_id or object_id),
        tenant,
        human=False,
        enabled=enabled if isinstance(enabled, bool) else None,
        app_id=app_id,
        service_principal_type=str(sp.get("servicePrincipalType") or "Application"),
        app_owner_tenant_id=str(owner_tenant) if owner_tenant else None,
        first_party=owner_tenant == MICROSOFT_TENANT_ID,
        aliases=[app_alias(app_id)] if app_id else [],
    )


def _thumbprint(custom_key_identifier: Any) -> str | None:
    """Certificates carry their SHA-1 thumbprint base64-encoded in customKeyIdentifier."""
    if not isinstance(custom_key_identifier, str) or not custom_key_identifier:
        return None
    try:
        raw = base64.b64decode(custom_key_identifier, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex().upper() if len(raw) == 20 else None


def transform_credentials(
    owner: dict[str, Any],
    owner_kind: str,
    file: str,
    index: int,
    tenant: str,
    target_id: str,
) -> tuple[list[Record], list[Record]]:
    """Secrets and certificates of an application (or a service principal) -> Credential nodes
    and AUTHENTICATES edges to the service principal that signs in with them.

    Only ids, dates, names and thumbprints are copied: never secretText, never the key."""
    label = record_label(owner, index)
    object_id = need(owner, "id", file, label)
    owner_name = str(owner.get("displayName") or object_id)
    nodes: list[Record] = []
    edges: list[Record] = []
    for field_name, kind, segment in (
        ("passwordCredentials", "client_secret", "password"),
        ("keyCredentials", "certificate", "certificate"),
    ):
        entries = owner.get(field_name) or []
        if not isinstance(entries, list):
            raise SourceFileError(
                RecordError(SOURCE, file, label, field_name, "must be a list", "re-export the object")
            )
        for position, credential in enumerate(entries):
            where = f"{label} {field_name}[{position}]"
            if not isinstance(credential, dict):
                raise SourceFileError(RecordError(SOURCE, file, where, "", "must be an object", "re-export"))
            key_id = need(credential, "keyId", file, where)
            if kind == "certificate" and str(credential.get("usage") or "Verify") != "Verify":
                # "Sign" keys sign SAML tokens; they are not a way to sign in as the app.
                continue
            hint = credential.get("hint")
            name = credential.get("displayName") or (f"secret {hint}..." if hint else None) or key_id
            credential_id = f"entra:{object_id}/{segment}/{key_id}"
            nodes.append(
                node(
                    credential_id,
                    Family.CREDENTIAL,
                    kind,
                    Provider.ENTRA,
                    str(name),
                    tenant,
                    key_id=key_id,
                    created=iso(parse_time(credential.get("startDateTime"))),
                    expires=iso(parse_time(credential.get("endDateTime"))),
                    enabled=True,
                    fingerprint=_thumbprint(credential.get("customKeyIdentifier")) if kind == "certificate" else None,
                    held_by=owner_kind,
                    owner_object_id=object_id,
                    owner_name=owner_name,
                    app_id=str(owner.get("appId") or "") or None,
                )
            )
            label_kind = "client secret" if kind == "client_secret" else "certificate"
            edges.append(
                edge(credential_id, target_id, EdgeKind.AUTHENTICATES,
                     f"{label_kind} of {owner_kind} {owner_name}", mfa=False)
            )
    return nodes, edges


ADD_SECRET_AS_OWNER = register(Technique(
    "entra.applications.add-secret-by-owner", "Add a secret to an owned application or service principal",
    "entra", EdgeKind.CAN_CREATE_CREDENTIAL, ("owner of the application or service principal",),
    "an owner of an application or service principal can add a client secret or certificate to it and sign "
    "in as its service principal",
    "Remove user owners from applications with privileged permissions (assign application administrators "
    "through PIM instead) and alert on credentials added to service principals.",
    References(bloodhound="AZOwns, AZAddSecret", mitre="T1098.001")))


def transform_owners(
    owned_name: str, owned_kind: str, target_sp_id: str, owners: list[dict[str, Any]]
) -> list[Record]:
    """Owners of an application / service principal can add a secret to it and sign in as it."""
    edges: list[Record] = []
    for owner in owners:
        owner_id = owner.get("id")
        if member_kind(owner) in ("user", "servicePrincipal") and isinstance(owner_id, str) and owner_id:
            edges.append(
                edge(object_node_id(owner_id), target_sp_id, EdgeKind.CAN_CREATE_CREDENTIAL,
                     f"owner of {owned_kind} {owned_name}", mfa_required=False,
                     techniques=[ADD_SECRET_AS_OWNER.id])
            )
    return edges
