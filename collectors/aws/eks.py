"""EKS access entries and Pod Identity associations (eks-clusters.json) -> cross-stack edges.

- An access entry maps an IAM principal to Kubernetes groups: FEDERATES_TO `k8s:<cluster>/group/<g>`
  (the Kubernetes collector's RBAC decides what the group may do). Its associated EKS access
  policies are permissions in their own right: HAS_PERMISSION on the cluster or namespace.
- A Pod Identity association lets a service account run as a role: `k8s:<cluster>/sa/<ns>/<sa>`
  FEDERATES_TO the role.

The aws-auth ConfigMap (the older mapping) lives in the cluster and is read by the Kubernetes
collector.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graph.records import Record, edge
from graph.schema import EdgeKind

# EKS access policy name -> level.
ACCESS_POLICY_LEVELS = {
    "AmazonEKSClusterAdminPolicy": "admin",
    "AmazonEKSAdminPolicy": "admin",
    "AmazonEKSEditPolicy": "write",
    "AmazonEKSViewPolicy": "read",
    "AmazonEKSAdminViewPolicy": "read",
}


@dataclass
class EksRecords:
    edges: list[Record] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def transform_eks(clusters: list[dict[str, Any]], node_id: Callable[[str], str | None]) -> EksRecords:
    out = EksRecords()
    for cluster in clusters:
        name = str(cluster.get("name", ""))
        if not name:
            continue
        for entry in cluster.get("accessEntries") or []:
            arn = str(entry.get("principalArn", ""))
            source = node_id(arn) or f"aws:{arn}"
            for group in entry.get("kubernetesGroups") or []:
                out.edges.append(edge(source, f"k8s:{name}/group/{group}", EdgeKind.FEDERATES_TO,
                                      f"EKS access entry of {arn} on {name} (group {group})", mfa_required=False))
            for association in entry.get("associatedAccessPolicies") or []:
                policy = str(association.get("policyArn", "")).rsplit("/", 1)[-1]
                level = ACCESS_POLICY_LEVELS.get(policy)
                if level is None:
                    out.notes.append(f"EKS access policy {policy} on {name} is not classified; skipped")
                    continue
                scope = association.get("accessScope") or {}
                targets = ([f"k8s:{name}/ns/{ns}" for ns in scope.get("namespaces") or []]
                           if scope.get("type") == "namespace" else [f"k8s:{name}"])
                for target in targets:
                    out.edges.append(edge(source, target, EdgeKind.HAS_PERMISSION,
                                          f"EKS access policy {policy} for {arn} on {name}", level=level,
                                          actions=[policy], mfa_required=False))
        for association in cluster.get("podIdentityAssociations") or []:
            role = str(association.get("roleArn", ""))
            sa = f"k8s:{name}/sa/{association.get('namespace')}/{association.get('serviceAccount')}"
            out.edges.append(edge(sa, node_id(role) or f"aws:{role}", EdgeKind.FEDERATES_TO,
                                  f"EKS Pod Identity association {association.get('associationId', '')} on {name}",
                                  mfa_required=False))
    return out
