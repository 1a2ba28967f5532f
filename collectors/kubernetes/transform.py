"""One cluster's export -> records (pure: no file or network access).

Order matters only for node ownership: identities projected from outside the cluster (aws-auth
users, AKS Entra object ids) are created before binding subjects, so they keep `human=False`
and are not counted as a second interactive entry for the same person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from collectors.base import UNEXPECTED, looks_like_service_account, unexpected
from collectors.kubernetes import escalations
from collectors.kubernetes.escalations import BindingRef, PodInfo, Scope, ServiceAccountRef
from collectors.kubernetes.exports import (
    SOURCE,
    ClusterExport,
    ClusterInfo,
    Item,
    cluster_info,
)
from collectors.kubernetes.pods import host_paths, node_escape
from collectors.kubernetes.rbac import (
    Grant,
    RoleDef,
    Rule,
    RuleError,
    classify,
    parse_rules,
    resolve_cluster_roles,
)
from collectors.kubernetes.secrets import SecretInfo, inspect_secret
from collectors.kubernetes.workload_identity import (
    AZURE,
    GKE,
    IRSA,
    AwsAuthError,
    federation_edges,
    is_guid,
    oidc_subject,
    parse_aws_auth,
    parse_eks_access,
)
from graph.records import Record, RecordError, edge, node
from graph.schema import EdgeKind, Family, Provider
from graph.times import iso, parse_time

MASTERS = "system:masters"
_EMAIL = re.compile(r"^[^@\s:]+@[^@\s:]+\.[^@\s:]+$")
_SUPERUSER_RULES = [Rule(verbs=frozenset({"*"}), api_groups=frozenset({"*"}), resources=frozenset({"*"})),
                    Rule(verbs=frozenset({"*"}), non_resource_urls=frozenset({"*"}))]


@dataclass
class ClusterRecords:
    info: ClusterInfo
    batches: dict[str, tuple[list[Record], list[Record]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)

    @property
    def nodes(self) -> list[Record]:
        return [n for nodes, _ in self.batches.values() for n in nodes]

    @property
    def edges(self) -> list[Record]:
        return [e for _, edges in self.batches.values() for e in edges]


@dataclass
class _ServiceAccount:
    namespace: str
    name: str
    id: str


class _Builder:
    """Collects records per origin file, first node with an id wins, duplicate edges dropped."""

    def __init__(self, info: ClusterInfo, default_file: str):
        self.info = info
        self.cid = info.id
        self.default_file = default_file
        self.out = ClusterRecords(info)
        self._node_ids: dict[str, Record] = {}
        self._edge_keys: set[tuple[str, str, str, str]] = set()
        self.service_accounts: dict[str, _ServiceAccount] = {}

    def note(self, text: str) -> None:
        if text not in self.out.notes:
            self.out.notes.append(text)

    def error(self, file: str, record: str, fld: str, message: str, fix: str) -> None:
        self.out.errors.append(RecordError(SOURCE, file, record, fld, message, fix))

    def _batch(self, file: str | None) -> tuple[list[Record], list[Record]]:
        return self.out.batches.setdefault(file or self.default_file, ([], []))

    def has(self, node_id: str) -> bool:
        return node_id in self._node_ids

    def add_node(self, record: Record, file: str | None = None) -> str:
        if record["id"] not in self._node_ids:
            self._node_ids[record["id"]] = record
            self._batch(file)[0].append(record)
        return record["id"]

    def add_edge(self, record: Record, file: str | None = None) -> None:
        key = (record["source"], record["target"], record["kind"], record["via"])
        if key not in self._edge_keys:
            self._edge_keys.add(key)
            self._batch(file)[1].append(record)

    def node_record(self, node_id: str) -> Record:
        return self._node_ids[node_id]

    def nodes_of(self, prefix: str) -> list[Record]:
        return [n for i, n in self._node_ids.items() if i.startswith(prefix)]

    # --- node factories ---

    def namespace(self, name: str, labels: dict[str, Any] | None = None, file: str | None = None,
                  created: Any = None) -> str:
        return self.add_node(node(
            f"{self.cid}/ns/{name}", Family.RESOURCE, "namespace", Provider.K8S, name, self.cid,
            # Labels are tags for the policy (env=prod); an unlabelled namespace inherits its
            # cluster's environment through its scope.
            environment="unknown",
            tags=[f"{k}={v}" for k, v in sorted((labels or {}).items())],
            created=iso(parse_time(created)),
        ), file)

    def service_account(self, namespace: str, name: str, file: str | None = None,
                        meta: dict[str, Any] | None = None, obj: dict[str, Any] | None = None) -> str:
        sa_id = f"{self.cid}/sa/{namespace}/{name}"
        if self.has(sa_id):
            return sa_id
        self.namespace(namespace)
        annotations = (meta or {}).get("annotations") or {}
        props: dict[str, Any] = {
            "human": False,
            "mfa": False,  # a service account has no interactive sign-in to protect
            "enabled": True,
            "namespace": namespace,
            "oidc_subject": oidc_subject(namespace, name),
            "created": iso(parse_time((meta or {}).get("creationTimestamp"))),
            "in_export": meta is not None,
        }
        if obj is not None and "automountServiceAccountToken" in obj:
            props["automount_token"] = bool(obj["automountServiceAccountToken"])
        for key, prop in ((IRSA, "aws_role_arn"), (GKE, "gcp_service_account"), (AZURE, "azure_client_id")):
            if isinstance(annotations.get(key), str):
                props[prop] = annotations[key]
        if self.info.workload_pool:
            # The GCP collector's id for the IAM member `serviceAccount:<pool>[<ns>/<name>]`, so its
            # edges that name this KSA join here.
            props["aliases"] = [f"gcp:workloadIdentity/{self.info.workload_pool}/{namespace}/{name}"]
        self.add_node(node(sa_id, Family.IDENTITY, "ServiceIdentity", Provider.K8S,
                           f"{namespace}/{name}", self.cid, **props), file)
        self.service_accounts[sa_id] = _ServiceAccount(namespace, name, sa_id)
        return sa_id

    def user(self, name: str, file: str | None = None, signs_in_via: str | None = None) -> str:
        user_id = f"{self.cid}/user/{name}"
        if self.has(user_id):
            return user_id
        if signs_in_via is None and self.info.platform == "aks" and is_guid(name):
            signs_in_via = "Entra ID"
        props: dict[str, Any] = {"enabled": True, "mfa": None}
        if signs_in_via:
            # Reached only through the outside identity, which is the real entry for the path engine.
            props.update(human=False, signs_in_via=signs_in_via)
        else:
            # OIDC sign-in (Entra ID, Google) names users by email, often behind --oidc-username-prefix
            # ("oidc:alice@lumenfreight.com"); that email correlates the user to its Person.
            prefix, _, rest = name.rpartition(":")
            oidc_email = bool(prefix) and not name.startswith("system:") and _EMAIL.match(rest) is not None
            machine = not oidc_email and (
                name.startswith("system:") or ":" in name or looks_like_service_account(name))
            props["human"] = not machine
            if not machine and "@" in name:
                props["email"] = rest.lower()
                if oidc_email:
                    props["oidc_prefix"] = f"{prefix}:"
        return self.add_node(node(user_id, Family.IDENTITY, "User", Provider.K8S, name, self.cid, **props), file)

    def group(self, name: str, file: str | None = None) -> str:
        props: dict[str, Any] = {"human": False}
        if self.info.platform == "aks" and is_guid(name):
            props["entra_object_id"] = name.lower()
        return self.add_node(node(f"{self.cid}/group/{name}", Family.IDENTITY, "Group", Provider.K8S, name,
                                  self.cid, **props), file)


# --- steps ---------------------------------------------------------------------------------------


def _cluster_node(b: _Builder, file: str) -> None:
    info = b.info
    props: dict[str, Any] = {"environment": "unknown", "platform": info.platform, "tags": info.tags}
    for key, value in (("arn", info.arn), ("cloud_scope", info.cloud_scope), ("oidc_issuer", info.oidc_issuer),
                       ("workload_pool", info.workload_pool), ("azure_subscription", info.azure_subscription),
                       ("entra_tenant", info.entra_tenant)):
        if value:
            props[key] = value
    if info.platform == "aks":
        props["entra_integrated"] = info.entra_integrated
    if info.arn:
        props["aliases"] = [f"aws:{info.arn}"]  # AWS policies name the cluster by ARN (eks:*)
    b.add_node(node(info.id, Family.RESOURCE, "cluster", Provider.K8S, info.name, "", **props), file)


def _namespaces(b: _Builder, items: list[Item]) -> None:
    for item in items:
        if item.kind != "Namespace":
            continue
        b.namespace(item.meta["name"], item.meta.get("labels"), item.file, item.meta.get("creationTimestamp"))


@dataclass
class _Parsed:
    service_accounts: list[Item] = field(default_factory=list)
    roles: dict[tuple[str, str], RoleDef] = field(default_factory=dict)
    cluster_roles: dict[str, RoleDef] = field(default_factory=dict)
    bindings: list[Item] = field(default_factory=list)
    secrets: list[tuple[Item, SecretInfo]] = field(default_factory=list)
    pod_items: list[Item] = field(default_factory=list)
    pods: list[PodInfo] = field(default_factory=list)
    broken_roles: set[str] = field(default_factory=set)


def _parse_items(b: _Builder, items: list[Item]) -> _Parsed:
    parsed = _Parsed()
    for item in items:
        kind, meta = item.kind, item.meta
        if kind == "ServiceAccount":
            parsed.service_accounts.append(item)
        elif kind in ("Role", "ClusterRole"):
            namespace = meta.get("namespace") if kind == "Role" else None
            if kind == "Role" and not namespace:
                b.error(item.file, item.label, "metadata.namespace", "a Role needs a namespace",
                        "export with -A so namespaced objects keep their namespace")
                continue
            try:
                rules = parse_rules(item.obj.get("rules"))
            except RuleError as exc:
                b.error(item.file, item.label, "rules", str(exc), "re-export the role with kubectl -o json")
                parsed.broken_roles.add(f"{kind} {namespace or ''}/{meta['name']}")
                continue
            selectors = ((item.obj.get("aggregationRule") or {}).get("clusterRoleSelectors") or [])
            role = RoleDef(kind, meta["name"], namespace, rules, dict(meta.get("labels") or {}),
                           [s for s in selectors if isinstance(s, dict)])
            if kind == "Role":
                parsed.roles[(namespace, meta["name"])] = role
            else:
                parsed.cluster_roles[meta["name"]] = role
        elif kind in ("RoleBinding", "ClusterRoleBinding"):
            parsed.bindings.append(item)
        elif kind == "Secret":
            parsed.secrets.append((item, inspect_secret(item.obj)))
        elif kind == "Pod":
            parsed.pod_items.append(item)
    return parsed


def _service_accounts(b: _Builder, parsed: _Parsed) -> None:
    for item in parsed.service_accounts:
        meta = item.meta
        namespace = meta.get("namespace")
        if not namespace:
            b.error(item.file, item.label, "metadata.namespace", "a ServiceAccount needs a namespace",
                    "export with -A so namespaced objects keep their namespace")
            continue
        sa_id = b.service_account(namespace, meta["name"], item.file, meta, item.obj)
        edges, notes = federation_edges(sa_id, namespace, meta["name"], meta.get("annotations") or {},
                                        b.info.workload_pool)
        for record in edges:
            b.add_edge(record, item.file)
        for text in notes:
            b.note(f"{b.info.name}: {text}")


MAX_POD_NAMES = 20


def _pods(b: _Builder, parsed: _Parsed) -> None:
    """Which service account each pod runs as, whether its token is mounted, and node-escape flags.

    The flags land on the service account node (`pods`, `privileged_pods`, `host_path_pods` (any
    hostPath), `host_pid_pods`, `node_escape_pods` (pods.node_escape), bounded lists of `<ns>/<pod>`) and
    feed the exec / patch / token-steal techniques.
    """
    sa_automount = {(i.meta.get("namespace"), i.meta["name"]): i.obj.get("automountServiceAccountToken")
                    for i in parsed.service_accounts}
    for item in parsed.pod_items:
        namespace, spec = item.meta.get("namespace"), item.obj.get("spec") or {}
        if not namespace or not isinstance(spec, dict):
            b.error(item.file, item.label, "metadata.namespace / spec", "a Pod needs a namespace and a spec",
                    "export pods with `kubectl get pods -A -o json`")
            continue
        sa_name = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
        automount = spec.get("automountServiceAccountToken")
        if automount is None:
            automount = sa_automount.get((namespace, sa_name))
        escape = node_escape(spec)
        pod = PodInfo(
            namespace=namespace, name=item.meta["name"], service_account=sa_name,
            sa_id=b.service_account(namespace, sa_name, item.file),
            token_mounted=automount is not False, node=spec.get("nodeName") or None,
            privileged="privileged" in escape, host_path=bool(host_paths(spec)),
            host_pid=spec.get("hostPID") is True, escape=escape,
        )
        parsed.pods.append(pod)
        record = b.node_record(pod.sa_id)
        path = f"{namespace}/{pod.name}"
        for prop, flag in (("pods", True), ("privileged_pods", pod.privileged),
                           ("host_path_pods", pod.host_path), ("host_pid_pods", pod.host_pid),
                           ("node_escape_pods", pod.escapes_to_node)):
            if flag and len(record.setdefault(prop, [])) < MAX_POD_NAMES:
                record[prop].append(path)


def _secrets(b: _Builder, parsed: _Parsed) -> None:
    for item, info in parsed.secrets:
        where = f"{info.namespace}/{info.name}"
        if info.is_token:
            if not info.service_account:
                b.error(item.file, item.label, "metadata.annotations.kubernetes.io/service-account.name",
                        "service-account token secret names no service account",
                        "re-export the secret; the token controller sets this annotation")
                continue
            sa_id = f"{b.cid}/sa/{info.namespace}/{info.service_account}"
            if not b.has(sa_id):
                b.note(f"{b.info.name}: token secret {where} belongs to service account "
                       f"{info.namespace}/{info.service_account}, which is not in the export")
                b.service_account(info.namespace, info.service_account, item.file)
            cred_id = f"{b.cid}/secret/{info.namespace}/{info.name}"
            b.add_node(node(cred_id, Family.CREDENTIAL, "token", Provider.K8S, where, b.cid,
                            created=iso(parse_time(info.created)),
                            expires=None,  # legacy token secrets never expire
                            last_used=None, enabled=True, key_id=info.uid, namespace=info.namespace,
                            secret_type=info.type), item.file)
            b.add_edge(edge(cred_id, sa_id, EdgeKind.AUTHENTICATES,
                            f"legacy service-account token secret {where}", mfa=False), item.file)
            continue
        b.namespace(info.namespace)
        for client_id in info.entra_client_ids:
            b.note(f"{b.info.name}: secret {where} holds a client secret of entra:appId/{client_id} "
                   "(holds_entra_client_id); not linked because the Entra credential id needs its keyId")
        for key in info.problems:
            b.note(f"{b.info.name}: secret {where} key {key} is not an AWS access key id; ignored")


def _aws_auth(b: _Builder, item: Item | None) -> None:
    if item is None:
        return
    try:
        mappings, notes = parse_aws_auth(item.obj)
    except AwsAuthError as exc:
        b.error(item.file, item.label, str(exc).split(" ", 1)[0], str(exc),
                "re-export with `kubectl get configmap aws-auth -n kube-system -o json`")
        return
    except UNEXPECTED as exc:
        b.out.errors.append(unexpected(SOURCE, item.file, item.label, exc))
        return
    for text in notes:
        b.note(f"{b.info.name}: {text}")
    for mapping in mappings:
        user_id = b.user(mapping.username, item.file, signs_in_via="aws-auth")
        via = f"aws-auth {mapping.source} (kube-system/aws-auth)"
        b.add_edge(edge(f"aws:{mapping.arn}", user_id, EdgeKind.FEDERATES_TO, via, mfa_required=False),
                   item.file)
        for group in mapping.groups:
            group_id = b.group(group, item.file)
            b.add_edge(edge(user_id, group_id, EdgeKind.MEMBER_OF, f"{via} groups", mfa_required=False),
                       item.file)


def _eks_access(b: _Builder, export: ClusterExport, parsed: _Parsed) -> list[tuple[Grant, str]]:
    """Access entries (IAM principal -> K8s user, groups, access policies) and Pod Identity associations."""
    if export.eks_access is None:
        return []
    file = export.eks_access_file
    entries, pods, notes = parse_eks_access(export.eks_access)
    for text in notes:
        b.note(f"{b.info.name}: {text}")
    for pod in pods:
        sa_id = b.service_account(pod.namespace, pod.service_account, file)
        b.add_edge(edge(sa_id, f"aws:{pod.role_arn}", EdgeKind.FEDERATES_TO,
                        f"EKS Pod Identity association {pod.association_id}".strip(), mfa_required=False), file)
    cluster_rules = resolve_cluster_roles(parsed.cluster_roles)
    grants: list[tuple[Grant, str]] = []
    for entry in entries:
        user_id = b.user(entry.username, file, signs_in_via="EKS access entry")
        via = f"EKS access entry {entry.principal_arn}"
        b.add_edge(edge(f"aws:{entry.principal_arn}", user_id, EdgeKind.FEDERATES_TO, via, mfa_required=False),
                   file)
        for group in entry.groups:
            b.add_edge(edge(user_id, b.group(group, file), EdgeKind.MEMBER_OF, f"{via} kubernetesGroups",
                            mfa_required=False), file)
        subject = [{"kind": "User", "name": entry.username}]
        for role, namespaces, policy in entry.policies:
            rules = cluster_rules.get(role) or (_SUPERUSER_RULES if role == "cluster-admin" else None)
            if rules is None:
                b.note(f"{b.info.name}: {policy} maps to ClusterRole {role}, which is not in the export")
                continue
            for namespace in namespaces if namespaces is not None else [None]:
                grants.append((Grant(f"EKS access policy {policy}", f"ClusterRole {role}", namespace, subject,
                                     rules), file))
    return grants


def _grants(b: _Builder, parsed: _Parsed) -> list[tuple[Grant, str]]:
    """Every binding resolved to its role's effective rules, with the file it came from."""
    cluster_rules = resolve_cluster_roles(parsed.cluster_roles)
    grants: list[tuple[Grant, str]] = []
    for item in parsed.bindings:
        meta, obj = item.meta, item.obj
        ref = obj.get("roleRef")
        if not isinstance(ref, dict) or not ref.get("name") or ref.get("kind") not in ("Role", "ClusterRole"):
            b.error(item.file, item.label, "roleRef", "roleRef must name a Role or ClusterRole",
                    "re-export the binding with kubectl -o json")
            continue
        subjects = obj.get("subjects") or []
        if not isinstance(subjects, list):
            b.error(item.file, item.label, "subjects", "subjects must be a list", "re-export the binding")
            continue
        namespace = meta.get("namespace") if item.kind == "RoleBinding" else None
        if item.kind == "RoleBinding" and not namespace:
            b.error(item.file, item.label, "metadata.namespace", "a RoleBinding needs a namespace",
                    "export with -A so namespaced objects keep their namespace")
            continue
        if item.kind == "ClusterRoleBinding" and ref["kind"] != "ClusterRole":
            b.error(item.file, item.label, "roleRef.kind", "a ClusterRoleBinding can only reference a "
                    "ClusterRole", "re-export the binding")
            continue
        role_name = ref["name"]
        if ref["kind"] == "Role":
            role = parsed.roles.get((namespace, role_name))
            rules = role.rules if role else None
        else:
            rules = cluster_rules.get(role_name)
        binding = f"{item.kind} {namespace}/{meta['name']}" if namespace else f"{item.kind} {meta['name']}"
        if rules is None:
            broken = f"{ref['kind']} {namespace if ref['kind'] == 'Role' else ''}/{role_name}"
            reason = "is unreadable" if broken in parsed.broken_roles else "is not in the export"
            b.note(f"{b.info.name}: {binding} references {ref['kind']} {role_name}, which {reason}; "
                   "it grants nothing until that role exists")
            continue
        grants.append((Grant(binding, f"{ref['kind']} {role_name}", namespace, subjects, rules), item.file))
    return grants


def _superuser_grants(b: _Builder, grants: list[tuple[Grant, str]]) -> list[tuple[Grant, str]]:
    """system:masters and AKS admin groups hold cluster-admin without (or beside) a binding."""
    admins_by_binding: set[tuple[str, str]] = set()
    for grant, _ in grants:
        if grant.namespace is None and classify(grant.rules, True)[0] == "admin":
            admins_by_binding.update((s.get("kind"), s.get("name")) for s in grant.subjects)
    extra: list[tuple[Grant, str]] = []
    referenced_masters = b.has(f"{b.cid}/group/{MASTERS}") or any(
        s.get("kind") == "Group" and s.get("name") == MASTERS for g, _ in grants for s in g.subjects)
    if referenced_masters and ("Group", MASTERS) not in admins_by_binding:
        extra.append((Grant(f"group {MASTERS}", "built-in superuser (bypasses RBAC)", None,
                            [{"kind": "Group", "name": MASTERS}], _SUPERUSER_RULES), b.default_file))
    aks_groups = [g for g in b.info.admin_group_object_ids if ("Group", g) not in admins_by_binding]
    if aks_groups:
        extra.append((Grant("AKS aadProfile.adminGroupObjectIDs", "ClusterRole cluster-admin", None,
                            [{"kind": "Group", "name": g} for g in aks_groups], _SUPERUSER_RULES),
                      b.default_file))
    return extra


def _subject_id(b: _Builder, grant: Grant, subject: Any, file: str) -> str | None:
    if not isinstance(subject, dict) or not isinstance(subject.get("name"), str) or not subject["name"]:
        b.error(file, grant.binding, "subjects", "a subject has no name", "re-export the binding")
        return None
    kind, name = subject.get("kind"), subject["name"]
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or grant.namespace
        if not namespace:
            b.error(file, grant.binding, "subjects.namespace", f"service account subject {name} has no "
                    "namespace", "set the subject's namespace")
            return None
        return b.service_account(namespace, name, file)
    if kind == "User":
        return b.user(name, file)
    if kind == "Group":
        return b.group(name, file)
    b.error(file, grant.binding, "subjects.kind", f"unknown subject kind {kind!r}",
            "use ServiceAccount, User or Group")
    return None


def _scope(b: _Builder, parsed: _Parsed) -> Scope:
    roles: dict[str, list[str]] = {}
    for namespace, name in parsed.roles:
        roles.setdefault(namespace, []).append(name)
    bindings = []
    for item in parsed.bindings:
        ref = item.obj.get("roleRef")
        if isinstance(ref, dict) and ref.get("kind") in ("Role", "ClusterRole") and isinstance(ref.get("name"), str):
            namespace = item.meta.get("namespace") if item.kind == "RoleBinding" else None
            bindings.append(BindingRef(namespace, item.meta["name"], ref["kind"], ref["name"]))
    return Scope(
        cluster_id=b.cid,
        masters_group_id=f"{b.cid}/group/{MASTERS}",
        service_accounts=[ServiceAccountRef(sa.namespace, sa.name, sa.id) for sa in b.service_accounts.values()],
        pods=parsed.pods,
        secrets=[info for _, info in parsed.secrets],
        namespaces=sorted(n["name"] for n in b.nodes_of(f"{b.cid}/ns/")),
        roles=roles,
        cluster_roles=sorted(parsed.cluster_roles),
        bindings=bindings,
        users=sorted(n["id"] for n in b.nodes_of(f"{b.cid}/user/")),
    )


def _grant_edges(b: _Builder, grant: Grant, subject_ids: list[str], file: str, scope: Scope) -> None:
    cluster_scope = grant.namespace is None
    level, actions = classify(grant.rules, cluster_scope)
    target = b.cid if cluster_scope else b.namespace(grant.namespace)
    reached = escalations.reaches(grant, scope)
    for sid in subject_ids:
        if level is not None:
            b.add_edge(edge(sid, target, EdgeKind.HAS_PERMISSION, grant.via, level=level, actions=actions), file)
        for other, ways in reached.items():
            ways = [w for w in ways if other != sid and w[2].get(escalations.OWNER) != sid]
            if not ways:
                continue
            # One edge per (subject, target) of the strongest technique's kind; `techniques` and `actions`
            # list every way, strongest first.
            ways.sort(key=lambda w: escalations.EDGE_ORDER.index(w[0].edge_kind))
            first, action, props = ways[0]
            if other.startswith(f"{b.cid}/user/"):
                b.user(other.split("/user/", 1)[1], file)
            elif other.startswith(f"{b.cid}/group/"):
                b.group(other.split("/group/", 1)[1], file)
            extra = {k: v for k, v in props.items() if not k.startswith("_")}
            extra.update(mfa_required=False, techniques=list(dict.fromkeys(item.id for item, _, _ in ways)))
            if len(ways) > 1:
                extra["actions"] = [text for _, text, _ in ways]
            b.add_edge(edge(sid, other, first.edge_kind, f"{grant.via}: {action}", **extra), file)


def _system_groups(b: _Builder, grants: list[tuple[Grant, str]]) -> None:
    """Groups the API server adds implicitly; only those bound to something matter."""
    bound = {s.get("name") for g, _ in grants for s in g.subjects
             if isinstance(s, dict) and s.get("kind") == "Group"}
    sas = list(b.service_accounts.values())
    for name in sorted(n for n in bound if isinstance(n, str)):
        group_id = f"{b.cid}/group/{name}"
        members: list[str] = []
        if name == "system:serviceaccounts":
            members = [sa.id for sa in sas]
        elif name.startswith("system:serviceaccounts:"):
            ns = name.split(":", 2)[2]
            members = [sa.id for sa in sas if sa.namespace == ns]
        elif name == "system:authenticated":
            members = [sa.id for sa in sas] + [n["id"] for n in b.nodes_of(f"{b.cid}/user/")]
        elif name == "system:unauthenticated":
            b.note(f"{b.info.name}: group system:unauthenticated is bound: anonymous requests get "
                   "those permissions")
        for member in members:
            b.add_edge(edge(member, group_id, EdgeKind.MEMBER_OF, f"implicit group {name}", mfa_required=False))


def _outside_groups(b: _Builder) -> None:
    """Outside groups as K8s groups: Entra ID object ids (AKS integration, or any cluster's OIDC groups
    claim) and, on GKE, Google Groups for RBAC (group emails).

    Entra's groups claim carries group object ids (GUIDs), possibly behind --oidc-groups-prefix
    ("oidc:<guid>"), so a GUID-named group on any cluster is that Entra group.
    """
    aks, gke = b.info.platform == "aks", b.info.platform == "gke"
    via = "AKS Entra ID integration" if aks else "OIDC groups claim (Entra ID group object id)"
    for group in b.nodes_of(f"{b.cid}/group/"):
        object_id = group["name"].rpartition(":")[2]
        if is_guid(object_id):
            b.add_edge(edge(f"entra:{object_id.lower()}", group["id"], EdgeKind.MEMBER_OF, via,
                            mfa_required=False))
        elif gke and _EMAIL.match(group["name"]):
            # Google Groups for RBAC: the subject is the Google group's email (the GCP collector's id).
            b.add_edge(edge(f"gcp:group/{group['name'].lower()}", group["id"], EdgeKind.MEMBER_OF,
                            "GKE Google Groups for RBAC", mfa_required=False))
    if not aks:
        return
    for user in b.nodes_of(f"{b.cid}/user/"):
        if is_guid(user["name"]):
            b.add_edge(edge(f"entra:{user['name'].lower()}", user["id"], EdgeKind.FEDERATES_TO,
                            "AKS Entra ID integration", mfa_required=False))


def cluster_grants(export: ClusterExport) -> list[Grant]:
    """Every binding of the export resolved to its role's effective rules (for effective permissions)."""
    info = cluster_info(export.cluster_doc, export.folder.name)
    b = _Builder(info, str(export.folder / "rbac.json"))
    return [grant for grant, _ in _grants(b, _parse_items(b, export.items))]


def transform_cluster(export: ClusterExport) -> ClusterRecords:
    """All records of one cluster folder; errors and notes travel with them."""
    info = cluster_info(export.cluster_doc, export.folder.name)
    default_file = export.list_files[0] if export.list_files else str(export.folder / "rbac.json")
    b = _Builder(info, default_file)
    b.out.errors.extend(export.errors)
    for text in info.notes:
        b.note(text)
    if info.platform == "eks" and export.eks_access is None:
        b.note(f"{info.name}: no eks-access.json: EKS access entries and Pod Identity associations are not "
               "in these exports (docs/collectors/kubernetes.md)")
    _cluster_node(b, export.cluster_file or default_file)
    _namespaces(b, export.namespaces)
    parsed = _parse_items(b, export.items)
    _service_accounts(b, parsed)
    _pods(b, parsed)
    _secrets(b, parsed)
    _aws_auth(b, export.aws_auth)
    grants = _grants(b, parsed) + _eks_access(b, export, parsed)
    grants += _superuser_grants(b, grants)
    # Subjects first, so every grant sees every service account it could become.
    subjects = [[sid for s in grant.subjects if (sid := _subject_id(b, grant, s, file))]
                for grant, file in grants]
    scope = _scope(b, parsed)
    for (grant, file), subject_ids in zip(grants, subjects, strict=True):
        _grant_edges(b, grant, subject_ids, file, scope)
    # A technique may reach system:masters (CSR approval) without any binding naming it.
    done = {g.via for g, _ in grants}
    for grant, file in _superuser_grants(b, grants):
        if grant.via not in done:
            ids = [sid for s in grant.subjects if (sid := _subject_id(b, grant, s, file))]
            _grant_edges(b, grant, ids, file, scope)
    _system_groups(b, grants)
    _outside_groups(b)
    pods_exported = any(i.kind == "Pod" for i in export.items) or any(
        f.endswith("/workloads.json") for f in export.list_files)
    if not pods_exported:
        b.note(f"{info.name}: pods not exported (workloads.json): pods/exec, pod patching, nodes/proxy and "
               "node token theft are not turned into CAN_RUN_AS because which service account each pod "
               "runs as is unknown")
    return b.out

