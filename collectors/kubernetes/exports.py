"""Reading one cluster's export folder: kubectl List files and the cloud's cluster description.

Layout (see docs/collectors/kubernetes.md): `kubernetes/<cluster>/rbac.json` (any number of
kubectl `List` files), optional `namespaces.json`, `aws-auth.json`, `cluster.json`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collectors.base import (
    UNEXPECTED,
    SourceFileError,
    checked,
    json_type,
    list_exports,
    merge_duplicates,
    read_json,
    shape_problem,
    unexpected,
    wrong_top_level,
)
from collectors.kubernetes.workload_identity import parse_eks_access
from graph.records import RecordError

SOURCE = "kubernetes"
NAMESPACES_FILE = "namespaces.json"
AWS_AUTH_FILE = "aws-auth.json"
CLUSTER_FILE = "cluster.json"
EKS_ACCESS_FILE = "eks-access.json"
METADATA_FILES = frozenset({NAMESPACES_FILE, AWS_AUTH_FILE, CLUSTER_FILE, EKS_ACCESS_FILE})
RE_EXPORT = "re-export with `kubectl get serviceaccounts,roles,rolebindings,clusterroles," \
    "clusterrolebindings,secrets -A -o json`"

_ACCOUNT = re.compile(r"^arn:aws[\w-]*:eks:[\w-]+:(\d{12}):cluster/")
_SUBSCRIPTION = re.compile(r"^/subscriptions/([^/]+)/", re.IGNORECASE)
_GKE_PROJECT = re.compile(r"/projects/([^/]+)/")


@dataclass
class Item:
    """One object of a List file, with where it came from (for error messages)."""

    file: str
    index: int
    obj: dict[str, Any]

    @property
    def kind(self) -> str:
        return self.obj.get("kind") or ""

    @property
    def meta(self) -> dict[str, Any]:
        return self.obj.get("metadata") or {}

    @property
    def label(self) -> str:
        ns = self.meta.get("namespace")
        name = self.meta.get("name") or f"items[{self.index}]"
        return f"{self.kind} {ns}/{name}" if ns else f"{self.kind} {name}"


@dataclass
class ClusterExport:
    folder: Path
    items: list[Item] = field(default_factory=list)
    list_files: list[str] = field(default_factory=list)
    namespaces: list[Item] = field(default_factory=list)
    aws_auth: Item | None = None
    cluster_doc: dict[str, Any] | None = None
    cluster_file: str | None = None
    eks_access: dict[str, Any] | None = None  # access entries + Pod Identity associations (AWS CLI)
    eks_access_file: str | None = None
    files: list[str] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)


@dataclass
class ClusterInfo:
    name: str
    platform: str  # eks | aks | gke | unknown
    # EKS / AKS tags and GKE resourceLabels as "key=value". None of the three describe outputs has
    # a field for the environment, so an `env` tag is read by the policy, never decided here.
    tags: list[str] = field(default_factory=list)
    arn: str | None = None
    cloud_scope: str | None = None  # aws:account/... or gcp:projects/... the cluster runs in
    azure_subscription: str | None = None
    oidc_issuer: str | None = None
    workload_pool: str | None = None
    entra_integrated: bool = False
    entra_tenant: str | None = None
    admin_group_object_ids: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"k8s:{self.name}"


def _error(file: str, record: str, fld: str, message: str, fix: str = RE_EXPORT) -> RecordError:
    return RecordError(SOURCE, file, record, fld, message, fix)


def read_list(path: Path) -> list[Item]:
    """Items of a kubectl `-o json` file: a `List`, or a single object (`kubectl get X NAME`)."""
    doc = read_json(path, SOURCE)
    file = str(path)
    if not isinstance(doc, dict):
        raise wrong_top_level(path, SOURCE, "a kubectl JSON object (kind List, with an items list)", doc,
                              RE_EXPORT)
    if "items" not in doc:
        if doc.get("kind") and isinstance(doc.get("metadata"), dict):
            return [Item(file, 0, doc)]
        raise SourceFileError(_error(file, "", "items", "not a kubectl List: no 'items' array"))
    items = doc["items"]
    if not isinstance(items, list):
        raise SourceFileError(_error(file, "", "items", "'items' must be an array"))
    return [Item(file, index, obj) for index, obj in enumerate(items)]


# The JSON types of the fields the transform reads, per object kind (absent or null is always fine);
# base.shape_problem reads these.
_METADATA = {"name": str, "namespace": str, "labels": dict, "annotations": dict, "creationTimestamp": str,
             "uid": str}
_BINDING = {"roleRef": {"kind": str, "name": str, "apiGroup": str},
            "subjects": [{"kind": str, "name": str, "namespace": str}]}
_CONTAINER = {"securityContext": {"privileged": bool, "capabilities": {"add": list}}}
_SHAPES: dict[str, dict[str, Any]] = {
    "ServiceAccount": {"automountServiceAccountToken": bool},
    "Role": {"rules": [dict]},
    "ClusterRole": {"rules": [dict], "aggregationRule": {"clusterRoleSelectors": [
        {"matchLabels": dict, "matchExpressions": [{"key": str, "operator": str, "values": list}]}]}},
    "RoleBinding": _BINDING,
    "ClusterRoleBinding": _BINDING,
    "Secret": {"type": str, "data": dict},
    "Pod": {"spec": {"serviceAccountName": str, "serviceAccount": str, "nodeName": str,
                     "automountServiceAccountToken": bool, "hostPID": bool, "containers": [_CONTAINER],
                     "initContainers": [_CONTAINER], "ephemeralContainers": [_CONTAINER],
                     "volumes": [{"hostPath": {"path": str}}]}},
    "ConfigMap": {"data": dict},
}


def _shape_problem(item: Item) -> SourceFileError | None:
    """The first field of the item with a JSON type the transform cannot use, as an error to report."""
    obj, label, file = item.obj, item.label, item.file
    problem = shape_problem(obj, {"metadata": _METADATA, **_SHAPES.get(item.kind, {})})
    if problem is None:
        for key in ("labels", "annotations"):
            for name, value in (obj["metadata"].get(key) or {}).items():
                if not isinstance(value, str):
                    problem = f"metadata.{key}.{name}", f"expected a string, got {json_type(value)}"
                    break
    return SourceFileError(_error(file, label, *problem)) if problem is not None else None


def valid_item(item: Item, errors: list[RecordError]) -> bool:
    """An item needs a kind, metadata.name and fields of the types kubectl writes; anything else is
    reported (file, item, field) and skipped."""
    obj = item.obj
    if not isinstance(obj, dict) or not isinstance(obj.get("kind"), str):
        errors.append(_error(item.file, f"items[{item.index}]", "kind", "item has no kind"))
        return False
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
        errors.append(_error(item.file, f"items[{item.index}] ({obj['kind']})", "metadata.name",
                             "item has no metadata.name"))
        return False
    problem = _shape_problem(item)
    if problem is not None:
        errors.append(problem.error)
        return False
    return True


def _identity(item: Item) -> tuple[str, str, str]:
    return item.kind, item.meta.get("namespace") or "", item.meta["name"]


def _same_role(first: Item, second: Item) -> bool:
    """Bindings merge only when they name the same role: otherwise both are kept (both grants count)."""
    return first.obj.get("roleRef") == second.obj.get("roleRef") or first.kind not in (
        "RoleBinding", "ClusterRoleBinding")


def merge_duplicate_items(items: list[Item], errors: list[RecordError]) -> list[Item]:
    """One item per kind / namespace / name across the cluster's files (base.merge_duplicates: the
    first copy's values win, the second fills gaps, rules and subjects are united)."""
    return merge_duplicates(items, _identity, lambda item: (item.file, f"items[{item.index}]"),
                            lambda item: item.obj, SOURCE, "object", errors.append, "metadata.name",
                            can_merge=_same_role)


def load_cluster(folder: Path, paths: list[Path] | None = None) -> ClusterExport:
    """Read every file of one cluster folder (`paths`: its regular `*.json` files, as the source's
    listing found them); a bad file is an error, the rest still load."""
    export = ClusterExport(folder)
    if paths is None:
        paths = [p for p in list_exports(folder).files if p.parent == folder]
    for path, _ in checked(paths, lambda path: _read_file(path, export), export.errors.append):
        export.files.append(str(path))
    if not any(p.name not in METADATA_FILES for p in paths):
        export.errors.append(_error(str(folder / "rbac.json"), "", "", "no RBAC export in the cluster folder"))
    export.items = merge_duplicate_items(export.items, export.errors)
    export.namespaces = merge_duplicate_items(export.namespaces, export.errors)
    return export


def _read_file(path: Path, export: ClusterExport) -> None:
    """File one export of the cluster folder under what it holds; SourceFileError if it is unusable."""
    if path.name == CLUSTER_FILE:
        doc = read_json(path, SOURCE)
        if not isinstance(doc, dict):
            raise wrong_top_level(path, SOURCE, "the cloud CLI's JSON object (aws eks describe-cluster, az aks "
                                  "show or gcloud container clusters describe)", doc,
                                  "re-export with the command in docs/collectors/kubernetes.md")
        try:
            cluster_info(doc, folder_name=path.parent.name)
        except UNEXPECTED as exc:
            raise SourceFileError(unexpected(SOURCE, str(path), "", exc)) from exc
        export.cluster_doc, export.cluster_file = doc, str(path)
    elif path.name == EKS_ACCESS_FILE:
        doc = read_json(path, SOURCE)
        if not isinstance(doc, dict):
            raise wrong_top_level(path, SOURCE, "an object with accessEntries and podIdentityAssociations", doc,
                                  "re-export with the commands in docs/collectors/kubernetes.md")
        try:
            parse_eks_access(doc)
        except UNEXPECTED as exc:
            raise SourceFileError(unexpected(SOURCE, str(path), "", exc)) from exc
        export.eks_access, export.eks_access_file = doc, str(path)
    elif path.name == NAMESPACES_FILE:
        export.namespaces.extend(i for i in read_list(path) if valid_item(i, export.errors))
    elif path.name == AWS_AUTH_FILE:
        items = [i for i in read_list(path) if valid_item(i, export.errors)]
        export.aws_auth = next((i for i in items if i.kind == "ConfigMap"), None)
    else:
        items = [i for i in read_list(path) if valid_item(i, export.errors)]
        export.list_files.append(str(path))
        for item in items:
            if item.kind == "Namespace":
                export.namespaces.append(item)
            elif item.kind == "ConfigMap" and item.meta.get("name") == "aws-auth":
                export.aws_auth = item
            else:
                export.items.append(item)


# --- cluster metadata --------------------------------------------------------------------------


def _tag_list(tags: dict[str, Any] | None) -> list[str]:
    return [f"{k}={v}" for k, v in sorted((tags or {}).items())]


def _aks_profile(doc: dict[str, Any]) -> dict[str, Any]:
    profile = doc.get("aadProfile") or (doc.get("properties") or {}).get("aadProfile") or {}
    return profile if isinstance(profile, dict) else {}


def cluster_info(doc: dict[str, Any] | None, folder_name: str) -> ClusterInfo:
    """Platform, name, tags and identity settings from the cloud's describe output."""
    if not doc:
        return ClusterInfo(folder_name, "unknown",
                           notes=[f"{folder_name}: no cluster.json, platform and cluster tags unknown"])
    if isinstance(doc.get("cluster"), dict) and str(doc["cluster"].get("arn", "")).find(":eks:") > 0:
        eks = doc["cluster"]
        arn = eks.get("arn")
        account = _ACCOUNT.match(arn or "")
        info = ClusterInfo(
            name=eks.get("name") or folder_name,
            platform="eks",
            tags=_tag_list(eks.get("tags")),
            arn=arn,
            cloud_scope=f"aws:account/{account.group(1)}" if account else None,
            oidc_issuer=((eks.get("identity") or {}).get("oidc") or {}).get("issuer"),
        )
        mode = (eks.get("accessConfig") or {}).get("authenticationMode")
        if mode == "API":
            info.notes.append(f"{info.name}: authenticationMode API, aws-auth is ignored by the cluster")
        info.notes.append(f"{info.name}: the EKS cluster creator's implicit admin is not in these exports")
        return info
    if "aadProfile" in doc or str(doc.get("type", "")).lower() == "microsoft.containerservice/managedclusters":
        profile = _aks_profile(doc)
        sub = _SUBSCRIPTION.match(doc.get("id") or "")
        info = ClusterInfo(
            name=doc.get("name") or folder_name,
            platform="aks",
            tags=_tag_list(doc.get("tags")),
            azure_subscription=sub.group(1) if sub else None,
            oidc_issuer=(doc.get("oidcIssuerProfile") or {}).get("issuerUrl"),
            entra_integrated=bool(profile),
            entra_tenant=profile.get("tenantId") or profile.get("tenantID"),
            admin_group_object_ids=[
                g.lower() for g in (profile.get("adminGroupObjectIDs") or profile.get("adminGroupObjectIds") or [])
                if isinstance(g, str)
            ],
        )
        if profile.get("enableAzureRbac") or profile.get("enableAzureRBAC"):
            info.notes.append(f"{info.name}: Azure RBAC for Kubernetes is on; its role assignments live "
                              "in Azure, not in these exports")
        if doc.get("disableLocalAccounts") is False:
            info.notes.append(f"{info.name}: local accounts enabled: the clusterAdmin certificate "
                              "(system:masters) bypasses Entra ID")
        return info
    if "workloadIdentityConfig" in doc or "container.googleapis.com" in str(doc.get("selfLink", "")):
        pool = (doc.get("workloadIdentityConfig") or {}).get("workloadPool")
        project = _GKE_PROJECT.search(doc.get("selfLink") or "")
        project_id = project.group(1) if project else (pool[: -len(".svc.id.goog")] if pool else None)
        info = ClusterInfo(
            name=doc.get("name") or folder_name,
            platform="gke",
            tags=_tag_list(doc.get("resourceLabels")),
            cloud_scope=f"gcp:projects/{project_id}" if project_id else None,
            workload_pool=pool,
        )
        info.notes.append(f"{info.name}: GKE also grants cluster access through GCP IAM roles "
                          "(roles/container.*), which the GCP collector reads")
        return info
    tags = doc.get("tags") if isinstance(doc.get("tags"), dict) else None
    return ClusterInfo(doc.get("name") or folder_name, "unknown", tags=_tag_list(tags),
                       notes=[f"{folder_name}: cluster.json is not an EKS, AKS or GKE describe output"])
