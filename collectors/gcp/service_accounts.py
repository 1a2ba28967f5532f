"""Service accounts, their user-managed keys, and who can act as them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from collectors.gcp.bindings import Grant, bound_properties
from collectors.gcp.escalation import RUN_PERMISSIONS, Scope, escalations
from collectors.gcp.members import is_google_managed_sa
from collectors.gcp.roles import WORKLOAD_IDENTITY_USER, role_permissions
from graph.records import Record, RecordError, edge, node
from graph.schema import EdgeKind, Family, Provider
from graph.times import iso, parse_time

SOURCE = "gcp"
NEVER = "9999-12-31"  # validBeforeTime of a key that never expires


def sa_node_id(email: str) -> str:
    return f"gcp:serviceAccount/{email.lower()}"


def key_node_id(email: str, key_id: str) -> str:
    return f"gcp:serviceAccount/{email.lower()}/key/{key_id}"


ACCOUNTS_SHAPES = ("a JSON list of service accounts (`gcloud iam service-accounts list --format=json`) or a "
                   "serviceAccounts.list response {\"accounts\": [...]}")
KEYS_SHAPES = ("a JSON list of keys (`gcloud iam service-accounts keys list --format=json`) or a "
               "serviceAccounts.keys.list response {\"keys\": [...]}")


def listed_items(data: Any, key: str, shapes: str, fix: str, file: str) -> tuple[list[Any] | None, list[RecordError]]:
    """gcloud's plain list, or the REST API's response object `{key: [...]}` (which omits `key` when the list is
    empty: `{}`). A `nextPageToken` means later pages were not exported: an error, and this page still loads.
    Any other shape: None and an error naming the expected shapes."""
    if isinstance(data, list):
        return data, []
    if isinstance(data, dict) and set(data) <= {key, "nextPageToken"} and isinstance(data.get(key, []), list):
        errors = []
        if data.get("nextPageToken"):
            errors.append(RecordError(SOURCE, file, "", "nextPageToken", "later pages were not exported: their "
                                      "entries are unknown", "export every page (gcloud follows the pages itself)"))
        return list(data.get(key, [])), errors
    return None, [RecordError(SOURCE, file, "", "", f"expected {shapes}", fix)]


def transform_service_accounts(
    accounts: Any, project: str, file: str
) -> tuple[list[Record], list[RecordError]]:
    """`gcloud iam service-accounts list --format=json` (or the REST `serviceAccounts.list` response)
    -> ServiceIdentity nodes."""
    items, errors = listed_items(accounts, "accounts", ACCOUNTS_SHAPES,
                                 "re-export with `gcloud iam service-accounts list --format=json`", file)
    if items is None:
        return [], errors
    accounts = items
    nodes: list[Record] = []
    for index, account in enumerate(accounts):
        email = account.get("email") if isinstance(account, dict) else None
        if not isinstance(email, str) or "@" not in email:
            errors.append(RecordError(SOURCE, file, f"#{index}", "email", "is missing or not an email",
                                      "re-export the service-account list"))
            continue
        email = email.lower()
        nodes.append(node(
            sa_node_id(email), Family.IDENTITY, "ServiceIdentity", Provider.GCP, email,
            f"gcp:projects/{account.get('projectId') or project}",
            human=False, mfa=False, email=email,
            enabled=not bool(account.get("disabled", False)),
            unique_id=account.get("uniqueId"),
            display_name=account.get("displayName"),
            description=account.get("description"),
            google_managed=is_google_managed_sa(email),
        ))
    return nodes, errors


@dataclass
class KeyResult:
    nodes: list[Record] = field(default_factory=list)
    edges: list[Record] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    user_managed: int = 0
    system_managed: int = 0


def transform_keys(email: str, keys: Any, scope: str, file: str) -> KeyResult:
    """`gcloud iam service-accounts keys list --format=json` (or the REST `serviceAccounts.keys.list`
    response) -> sa_key Credentials.

    Only USER_MANAGED keys become credentials: SYSTEM_MANAGED keys are Google's, rotated
    by Google and never downloadable, so nobody can steal them from a laptop or a repo.
    """
    result = KeyResult()
    items, result.errors = listed_items(keys, "keys", KEYS_SHAPES,
                                        "re-export with `gcloud iam service-accounts keys list --format=json`", file)
    if items is None:
        return result
    keys = items
    email = email.lower()
    for index, key in enumerate(keys):
        name = key.get("name") if isinstance(key, dict) else None
        if not isinstance(name, str) or "/keys/" not in name:
            result.errors.append(RecordError(SOURCE, file, f"#{index}", "name",
                                             "is missing or not projects/P/serviceAccounts/EMAIL/keys/ID",
                                             "re-export the key list"))
            continue
        key_id = name.rsplit("/", 1)[-1]
        key_type = key.get("keyType")
        if key_type == "SYSTEM_MANAGED":
            result.system_managed += 1
            continue
        if key_type != "USER_MANAGED":
            result.errors.append(RecordError(SOURCE, file, f"#{index} ({key_id})", "keyType",
                                             f"expected USER_MANAGED or SYSTEM_MANAGED, got {key_type!r}",
                                             "re-export the key list"))
            continue
        result.user_managed += 1
        valid_before = str(key.get("validBeforeTime") or "")
        expires = None if not valid_before or valid_before.startswith(NEVER) else iso(parse_time(valid_before))
        credential = key_node_id(email, key_id)
        result.nodes.append(node(
            credential, Family.CREDENTIAL, "sa_key", Provider.GCP, f"{email} key {key_id[:12]}", scope,
            key_id=key_id,
            created=iso(parse_time(key.get("validAfterTime"))),
            expires=expires,
            enabled=not bool(key.get("disabled", False)),
            disable_reason=key.get("disableReason"),
            key_origin=key.get("keyOrigin"),
            key_algorithm=key.get("keyAlgorithm"),
            last_used=None,  # set by transform._last_use from key-last-authentication.json (Policy Analyzer)
        ))
        result.edges.append(edge(credential, sa_node_id(email), EdgeKind.AUTHENTICATES,
                                 f"user-managed key {key_id} of {email}", mfa=False))
    return result


@dataclass
class TransferResult:
    edges: list[Record] = field(default_factory=list)
    nodes: list[Record] = field(default_factory=list)  # external federated principals
    # service-account node id -> Kubernetes subjects / pools allowed to federate to it
    subjects: dict[str, list[str]] = field(default_factory=dict)
    pools: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def transfer_edges(
    grants: list[Grant],
    scope: Scope,
    known_roles: Mapping[str, list[str]],
    run_grants: Mapping[str, Grant],
    scope_note: str = "",
) -> TransferResult:
    """Escalation edges (collectors/gcp/escalation.py) from each grant's member over `scope`.

    `run_grants`: member node id -> a grant that lets the member run code (compute, functions,
    run, dataflow, cloudbuild ...), which actAs needs. `scope_note` explains why a grant on a
    project / folder / org covers these accounts.
    """
    result = TransferResult()
    for grant in grants:
        if grant.role == WORKLOAD_IDENTITY_USER:
            _federation(grant, scope.service_accounts, result)
            continue
        # Service agents act only on Google's behalf; no person or key can drive them.
        if grant.member.node_id is None or is_google_managed_sa(grant.member.email):
            continue
        permissions = grant.permissions if grant.permissions is not None else role_permissions(grant.role,
                                                                                                known_roles)
        if not permissions:
            continue
        runs_itself = bool(RUN_PERMISSIONS.intersection(permissions))
        run_grant = None if runs_itself else run_grants.get(grant.member.node_id)
        via = grant.via + (f" ({scope_note})" if scope_note else "")
        for found in escalations(grant.member.node_id, permissions, scope, runs_itself or run_grant is not None):
            technique = found.technique
            text = via
            bounds = grant.bounds
            if technique.derive.needs_run_permission and run_grant is not None:
                text += f" + {run_grant.via} (can run code)"
                bounds += run_grant.bounds
            properties: dict[str, Any] = {"mfa_required": False, "role": grant.role,
                                          "techniques": [technique.id], "permissions": found.permissions[:10],
                                          **bound_properties(bounds)}
            if grant.conditions:
                properties["conditions"] = grant.conditions
            result.edges.append(edge(grant.member.node_id, found.target, technique.edge_kind, text, **properties))
    return result


def can_run_code(grant: Grant, known_roles: Mapping[str, list[str]]) -> bool:
    """Does the grant (after deny policies) let its member run code as a chosen service account?"""
    permissions = grant.permissions if grant.permissions is not None else role_permissions(grant.role, known_roles)
    return bool(RUN_PERMISSIONS.intersection(permissions or ()))


def _federation(grant: Grant, targets: list[str], result: TransferResult) -> None:
    member = grant.member
    if member.type == "gke_workload":
        # The Kubernetes collector emits FEDERATES_TO from the KSA; the SA only says whom it trusts.
        for target in targets:
            _append_unique(result.subjects.setdefault(target, []), member.k8s_subject)
            _append_unique(result.pools.setdefault(target, []), member.pool)
        return
    if member.type == "external":  # node emitted by the transform (collectors/gcp/federation.py)
        for target in targets:
            properties: dict[str, Any] = {"mfa_required": False, "role": grant.role,
                                          **bound_properties(grant.bounds)}
            if grant.conditions:
                properties["conditions"] = grant.conditions
            result.edges.append(edge(member.node_id, target, EdgeKind.FEDERATES_TO, grant.via, **properties))
        return
    result.notes.append(f"{grant.holder_label}: {WORKLOAD_IDENTITY_USER} granted to {member.raw}, "
                        "which is not a workload identity; ignored")


def _append_unique(items: list[str], value: str) -> None:
    if value not in items:
        items.append(value)
