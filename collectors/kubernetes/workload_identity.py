"""Identities that cross the cluster boundary: workload identity annotations, aws-auth, AKS Entra ID.

Edges go in the direction rights flow: a K8s service account FEDERATES_TO the cloud identity it
may become; an AWS role / Entra object FEDERATES_TO (or is MEMBER_OF) the K8s user / group it
signs in as. The builder checks a workload identity edge against the target's `federated_subjects`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from graph.records import Record, edge
from graph.schema import EdgeKind

IRSA = "eks.amazonaws.com/role-arn"
GKE = "iam.gke.io/gcp-service-account"
AZURE = "azure.workload.identity/client-id"
_ROLE_ARN = re.compile(r"^arn:aws[\w-]*:iam::\d{12}:role/\S+$")
_IAM_ARN = re.compile(r"^arn:aws[\w-]*:(iam|sts)::\d{12}:\S+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def oidc_subject(namespace: str, name: str) -> str:
    return f"system:serviceaccount:{namespace}:{name}"


def federation_edges(
    sa_id: str, namespace: str, name: str, annotations: dict[str, Any], workload_pool: str | None
) -> tuple[list[Record], list[str]]:
    """FEDERATES_TO edges from one service account's annotations, and notes on unusable values."""
    edges: list[Record] = []
    notes: list[str] = []
    subject = oidc_subject(namespace, name)
    where = f"{namespace}/{name}"
    role_arn = annotations.get(IRSA)
    if role_arn is not None:
        if isinstance(role_arn, str) and _ROLE_ARN.match(role_arn.strip()):
            edges.append(edge(sa_id, f"aws:{role_arn.strip()}", EdgeKind.FEDERATES_TO,
                              f"IRSA annotation on {where}", mfa_required=False, oidc_subject=subject))
        else:
            notes.append(f"{where}: {IRSA} is not an IAM role ARN: {role_arn!r}")
    email = annotations.get(GKE)
    if email is not None:
        if isinstance(email, str) and _EMAIL.match(email.strip()):
            props: dict[str, Any] = {"mfa_required": False, "oidc_subject": subject}
            if workload_pool:
                props["workload_identity_member"] = f"serviceAccount:{workload_pool}[{namespace}/{name}]"
            edges.append(edge(sa_id, f"gcp:serviceAccount/{email.strip()}", EdgeKind.FEDERATES_TO,
                              f"GKE Workload Identity annotation on {where}", **props))
        else:
            notes.append(f"{where}: {GKE} is not a service-account email: {email!r}")
    client_id = annotations.get(AZURE)
    if client_id is not None:
        if isinstance(client_id, str) and GUID.match(client_id.strip()):
            edges.append(edge(sa_id, f"entra:appId/{client_id.strip().lower()}", EdgeKind.FEDERATES_TO,
                              f"Azure Workload Identity annotation on {where}",
                              mfa_required=False, oidc_subject=subject))
        else:
            notes.append(f"{where}: {AZURE} is not a client id (GUID): {client_id!r}")
    return edges, notes


# --- aws-auth ----------------------------------------------------------------------------------


@dataclass
class AwsAuthMapping:
    arn: str
    username: str
    groups: list[str] = field(default_factory=list)
    source: str = "mapRoles"


class AwsAuthError(ValueError):
    """aws-auth content that cannot be read; the message names the key."""


def parse_aws_auth(configmap: dict[str, Any]) -> tuple[list[AwsAuthMapping], list[str]]:
    """mapRoles / mapUsers entries; data values are YAML strings inside the ConfigMap."""
    data = configmap.get("data") or {}
    mappings: list[AwsAuthMapping] = []
    notes: list[str] = []
    for key, arn_key in (("mapRoles", "rolearn"), ("mapUsers", "userarn")):
        text = data.get(key)
        if not text:
            continue
        try:
            entries = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise AwsAuthError(f"data.{key} is not valid YAML: {exc}") from None
        if entries is None:
            continue
        if not isinstance(entries, list):
            raise AwsAuthError(f"data.{key} must be a YAML list")
        for index, entry in enumerate(entries):
            arn = entry.get(arn_key) if isinstance(entry, dict) else None
            if not isinstance(arn, str) or not _IAM_ARN.match(arn.strip()):
                notes.append(f"aws-auth {key}[{index}]: no usable {arn_key}, skipped")
                continue
            groups = entry.get("groups") or []
            mappings.append(AwsAuthMapping(
                arn=arn.strip(),
                # EKS uses the ARN as the Kubernetes username when none is mapped.
                username=str(entry.get("username") or arn.strip()),
                groups=[str(g) for g in groups if isinstance(g, str | int)],
                source=key,
            ))
    if data.get("mapAccounts"):
        notes.append("aws-auth mapAccounts maps every IAM identity of the listed accounts by ARN; "
                     "not modelled")
    return mappings, notes


def is_guid(value: str) -> bool:
    return bool(GUID.match(value))


# --- EKS access entries and Pod Identity associations ------------------------------------------

# EKS access policies and the Kubernetes ClusterRole each one is equivalent to.
EKS_ACCESS_POLICIES = {
    "AmazonEKSClusterAdminPolicy": "cluster-admin",
    "AmazonEKSAdminPolicy": "admin",
    "AmazonEKSEditPolicy": "edit",
    "AmazonEKSViewPolicy": "view",
}


@dataclass
class AccessEntry:
    principal_arn: str
    username: str
    groups: list[str] = field(default_factory=list)
    # (ClusterRole name, namespaces or None for the whole cluster, policy name)
    policies: list[tuple[str, list[str] | None, str]] = field(default_factory=list)


@dataclass
class PodIdentity:
    namespace: str
    service_account: str
    role_arn: str
    association_id: str


def _unwrap(entries: Any, key: str) -> list[dict[str, Any]]:
    """Items of a list whose entries may be the CLI's describe wrapper ({"accessEntry": {...}})."""
    if not isinstance(entries, list):
        return []
    items = []
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get(key, entry), dict):
            # Siblings of the wrapper (associatedAccessPolicies from another call) join the entry.
            items.append({**entry.get(key, entry), **{k: v for k, v in entry.items() if k != key}})
    return items


def parse_eks_access(doc: dict[str, Any]) -> tuple[list[AccessEntry], list[PodIdentity], list[str]]:
    """`eks-access.json`: {"accessEntries": [describe-access-entry (+ associatedAccessPolicies)],
    "podIdentityAssociations": [describe-pod-identity-association]} (docs/collectors/kubernetes.md)."""
    notes: list[str] = []
    entries: list[AccessEntry] = []
    for index, raw in enumerate(_unwrap(doc.get("accessEntries"), "accessEntry")):
        arn = raw.get("principalArn")
        if not isinstance(arn, str) or not _IAM_ARN.match(arn.strip()):
            notes.append(f"eks-access accessEntries[{index}]: no usable principalArn, skipped")
            continue
        entry = AccessEntry(arn.strip(), str(raw.get("username") or arn.strip()),
                            [g for g in raw.get("kubernetesGroups") or [] if isinstance(g, str)])
        for policy in raw.get("associatedAccessPolicies") or []:
            name = str((policy or {}).get("policyArn", "")).rsplit("/", 1)[-1]
            role = EKS_ACCESS_POLICIES.get(name)
            if role is None:
                notes.append(f"eks-access {arn}: access policy {name or '?'} is not modelled")
                continue
            scope = (policy.get("accessScope") or {})
            namespaces = scope.get("namespaces") if scope.get("type") == "namespace" else None
            entry.policies.append((role, [n for n in namespaces or [] if isinstance(n, str)]
                                   if namespaces is not None else None, name))
        entries.append(entry)
    pods: list[PodIdentity] = []
    for index, raw in enumerate(_unwrap(doc.get("podIdentityAssociations"), "association")):
        role_arn, ns, sa = raw.get("roleArn"), raw.get("namespace"), raw.get("serviceAccount")
        if not (isinstance(role_arn, str) and _ROLE_ARN.match(role_arn) and isinstance(ns, str)
                and isinstance(sa, str)):
            notes.append(f"eks-access podIdentityAssociations[{index}]: needs namespace, serviceAccount and "
                         "roleArn (use describe-pod-identity-association; list omits roleArn), skipped")
            continue
        pods.append(PodIdentity(ns, sa, role_arn, str(raw.get("associationId") or "")))
    return entries, pods, notes
