"""Kubernetes escalation techniques: one registered unit each, turning a Grant into transfer edges.

Each technique is registered in the catalogue (graph.techniques) with the KubeHound edge it
corresponds to, the Crosspath edge kind it emits and its requirements; its function yields (target
id, action text, extra properties) for a grant. The transform merges several techniques that reach
the same target into one edge (strongest kind first; `techniques` lists every id, `actions` every
way). Catalogue: docs/techniques.md; rationale: docs/collectors/kubernetes.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from collectors.kubernetes.rbac import CORE, RBAC_GROUP, READ_VERBS, WORKLOAD_CREATE, Grant, _qualified
from collectors.kubernetes.secrets import SecretInfo
from graph.schema import EdgeKind
from graph.techniques import CATALOGUE, References, Technique, register

CERTIFICATES = "certificates.k8s.io"
CLIENT_SIGNERS = ("kubernetes.io/kube-apiserver-client", "kubernetes.io/legacy-unknown")
EXEC_SUBRESOURCES = ("pods/exec", "pods/attach")
MUTATE_VERBS = ("patch", "update")
# Strongest first: becoming an identity outright beats minting its credential beats running code as it.
EDGE_ORDER = (EdgeKind.CAN_ASSUME, EdgeKind.CAN_CREATE_CREDENTIAL, EdgeKind.CAN_RUN_AS,
              EdgeKind.CAN_READ_SECRET, EdgeKind.CAN_GRANT)


@dataclass(frozen=True)
class ServiceAccountRef:
    namespace: str
    name: str
    id: str


@dataclass(frozen=True)
class PodInfo:
    namespace: str
    name: str
    service_account: str
    sa_id: str
    token_mounted: bool
    node: str | None
    privileged: bool = False
    host_path: bool = False
    host_pid: bool = False

    @property
    def escapes_to_node(self) -> bool:
        """A shell in this pod reaches the node's filesystem, hence every token mounted on the node."""
        return self.privileged or self.host_path or self.host_pid


@dataclass
class Scope:
    """What one cluster holds that a grant can reach, indexed by namespace and node.

    A RoleBinding only ever reaches its own namespace, so techniques look there instead of scanning
    the whole cluster for every grant.
    """

    cluster_id: str
    masters_group_id: str
    service_accounts: list[ServiceAccountRef] = field(default_factory=list)
    pods: list[PodInfo] = field(default_factory=list)
    secrets: list[SecretInfo] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_namespace: dict[str, dict[str, list[Any]]] = {"sa": {}, "pod": {}, "secret": {}}
        for kind, items in (("sa", self.service_accounts), ("pod", self.pods), ("secret", self.secrets)):
            for item in items:
                self._by_namespace[kind].setdefault(item.namespace, []).append(item)
        self.pods_on_node: dict[str, list[PodInfo]] = {}
        for pod in self.pods:
            if pod.node:
                self.pods_on_node.setdefault(pod.node, []).append(pod)

    def _of(self, kind: str, grant: Grant) -> list[Any]:
        if grant.namespace is None:
            return {"sa": self.service_accounts, "pod": self.pods, "secret": self.secrets}[kind]
        return self._by_namespace[kind].get(grant.namespace, [])

    def service_accounts_for(self, grant: Grant) -> list[ServiceAccountRef]:
        return self._of("sa", grant)

    def pods_for(self, grant: Grant) -> list[PodInfo]:
        return self._of("pod", grant)

    def secrets_for(self, grant: Grant) -> list[SecretInfo]:
        return self._of("secret", grant)


Reach = tuple[str, str, dict[str, Any]]  # (target id, action, extra edge properties)
OWNER = "_owner"  # a Reach property, not an edge property: the identity that gains nothing from it


def technique(technique_id: str, title: str, kubehound: str, edge: EdgeKind, requires: tuple[str, ...],
              description: str, remediation: str, mitre: str):
    """Register one Kubernetes technique in the catalogue; the decorated function is its `derive`:
    `(grant, scope) -> (target id, action text, extra edge properties)` for each target it reaches."""
    def wrap(function: Callable[[Grant, Scope], Iterator[Reach]]):
        register(Technique(technique_id, title, "kubernetes", edge, requires, description, remediation,
                           References(kubehound=kubehound, mitre=mitre), derive=function))
        return function
    return wrap


def techniques() -> list[Technique]:
    return CATALOGUE.of("kubernetes")


def _first(grant: Grant, verbs: tuple[str, ...], pairs: tuple[tuple[str, str], ...],
           name: str | None = None) -> str | None:
    for group, resource in pairs:
        for verb in verbs:
            if grant.allows(verb, group, resource, name):
                return f"{verb} {_qualified(group, resource)}"
    return None


def _may(grant: Grant, verbs: tuple[str, ...], pairs: tuple[tuple[str, str], ...]) -> bool:
    """Could any name be allowed? (resourceNames ignored) A cheap test before looping over pods."""
    return any(rule.has_verb(verb) and rule.matches_resource(group, resource)
               for rule in grant.rules for verb in verbs for group, resource in pairs)


EXEC_PAIRS = tuple((CORE, s) for s in EXEC_SUBRESOURCES)
EXEC_VERBS = ("create", "get")  # exec is a POST (create); older clients upgrade a GET


def _pod_path(pod: PodInfo) -> str:
    return f"{pod.namespace}/{pod.name}"


# --- becoming a service account ------------------------------------------------------------------


@technique("k8s.rbac.impersonate-serviceaccount", "Impersonate a service account", "IDENTITY_IMPERSONATE",
           EdgeKind.CAN_ASSUME, ("impersonate serviceaccounts",),
           "impersonate on serviceaccounts: send requests as the service account",
           "Remove `impersonate` from roles held by people and workloads; where a tool needs it, name the one "
           "service account in resourceNames.", "T1078")
def _impersonate_sa(grant: Grant, scope: Scope) -> Iterator[Reach]:
    for sa in scope.service_accounts_for(grant):
        if grant.can_impersonate_sa(sa.name):
            yield sa.id, f"impersonate serviceaccounts ({sa.namespace}/{sa.name})", {}


@technique("k8s.rbac.impersonate-user-group", "Impersonate a named user or group", "IDENTITY_IMPERSONATE",
           EdgeKind.CAN_ASSUME, ("impersonate users | impersonate groups (ClusterRoleBinding)",),
           "impersonate on named users / groups (cluster-wide only); unrestricted impersonation is admin",
           "Remove `impersonate` on users and groups from everyone but the API gateway or proxy that needs it, "
           "and never on system:masters.", "T1078")
def _impersonate_named(grant: Grant, scope: Scope) -> Iterator[Reach]:
    unrestricted, named = grant.impersonable()
    if unrestricted:
        return
    for resource, name in named:
        kind = "user" if resource == "users" else "group"
        yield f"{scope.cluster_id}/{kind}/{name}", f"impersonate {resource} ({name})", {}


@technique("k8s.serviceaccounts.token-create", "Mint a token for a service account", "",
           EdgeKind.CAN_CREATE_CREDENTIAL,
           ("create serviceaccounts/token | create secrets (type kubernetes.io/service-account-token)",),
           "create serviceaccounts/token (TokenRequest) or a service-account-token secret for the account",
           "Do not grant `create` on serviceaccounts/token or on secrets to workloads; bound tokens from the "
           "kubelet are all a pod needs.", "T1528")
def _token_mint(grant: Grant, scope: Scope) -> Iterator[Reach]:
    for sa in scope.service_accounts_for(grant):
        action = grant.token_mint(sa.name)
        if action:
            yield sa.id, f"{action} ({sa.namespace}/{sa.name})", {}


@technique("k8s.pods.create", "Create a pod that runs as a service account", "POD_CREATE", EdgeKind.CAN_RUN_AS,
           (("create pods | create a pod controller (deployments, daemonsets, statefulsets, replicasets, jobs, "
            "cronjobs, replicationcontrollers)"),),
           "create pods or any pod controller: a pod may name any service account of its namespace",
           "Keep powerful service accounts in namespaces where only their owners can create workloads; "
           "restrict serviceAccountName with an admission policy.", "T1610")
def _pod_create(grant: Grant, scope: Scope) -> Iterator[Reach]:
    action = grant.workload_create()
    if not action:
        return
    for sa in scope.service_accounts_for(grant):
        yield sa.id, f"{action} running as the service account ({sa.namespace}/{sa.name})", {}


@technique("k8s.workloads.patch", "Patch a pod controller to run as another service account", "POD_PATCH",
           EdgeKind.CAN_RUN_AS, ("patch | update a pod controller (deployments, daemonsets, statefulsets, ...)",),
           "patch / update a pod controller: its template's serviceAccountName can be changed to any SA",
           "Limit who can patch workloads in namespaces holding powerful service accounts; pin "
           "serviceAccountName with an admission policy.", "T1610")
def _workload_patch(grant: Grant, scope: Scope) -> Iterator[Reach]:
    controllers = tuple(pair for pair in WORKLOAD_CREATE if pair != (CORE, "pods"))
    action = _first(grant, MUTATE_VERBS, controllers)
    if not action:
        return
    for sa in scope.service_accounts_for(grant):
        yield sa.id, f"{action} to run as the service account ({sa.namespace}/{sa.name})", {}


@technique("k8s.pods.patch", "Patch a running pod's image", "POD_PATCH", EdgeKind.CAN_RUN_AS,
           ("patch | update pods",),
           "patch / update a running pod: its image can be replaced, keeping the pod's service account",
           "Do not grant patch / update on pods; changes go through the controller that owns the pod.", "T1610")
def _pod_patch(grant: Grant, scope: Scope) -> Iterator[Reach]:
    yield from _pods_reached(grant, scope, MUTATE_VERBS, ((CORE, "pods"),))


@technique("k8s.pods.exec", "Exec into a pod and use its token", "POD_EXEC, IDENTITY_ASSUME", EdgeKind.CAN_RUN_AS,
           ("create | get pods/exec | pods/attach",),
           "create pods/exec or pods/attach: a shell in a pod holds its mounted service-account token",
           "Grant pods/exec only for debugging, time-boxed; set automountServiceAccountToken: false on pods "
           "that do not call the API.", "T1609")
def _pod_exec(grant: Grant, scope: Scope) -> Iterator[Reach]:
    yield from _pods_reached(grant, scope, EXEC_VERBS, EXEC_PAIRS)


def _pods_reached(grant: Grant, scope: Scope, verbs: tuple[str, ...], pairs: tuple[tuple[str, str], ...]
                  ) -> Iterator[Reach]:
    """The service account of each pod in scope that mounts its token and that the grant may act on."""
    if not _may(grant, verbs, pairs):
        return
    for pod in scope.pods_for(grant):
        if pod.token_mounted:
            action = _first(grant, verbs, pairs, pod.name)
            if action:
                yield pod.sa_id, f"{action} ({_pod_path(pod)})", {"pod": _pod_path(pod)}


@technique("k8s.nodes.token-steal", "Escape to the node and read its pods' tokens", "TOKEN_STEAL",
           EdgeKind.CAN_RUN_AS, ("create | get pods/exec on a privileged / hostPath / hostPID pod",),
           "exec into a privileged / hostPath / hostPID pod: read every token mounted on its node",
           "Forbid privileged, hostPath and hostPID pods (Pod Security Admission `restricted` or `baseline`), "
           "and keep exec away from the ones that must exist.", "T1611")
def _node_token_steal(grant: Grant, scope: Scope) -> Iterator[Reach]:
    if not _may(grant, EXEC_VERBS, EXEC_PAIRS):
        return
    for escape in scope.pods_for(grant):
        if not (escape.escapes_to_node and escape.node):
            continue
        action = _first(grant, EXEC_VERBS, EXEC_PAIRS, escape.name)
        if not action:
            continue
        for pod in scope.pods_on_node[escape.node]:
            if pod.token_mounted and pod is not escape:
                yield pod.sa_id, (f"{action} ({_pod_path(escape)}, escapes to node {escape.node}) and reads "
                                  f"the token of {_pod_path(pod)}"), {"pod": _pod_path(pod), "node": pod.node}


@technique("k8s.nodes.proxy", "Run commands through the kubelet API", "", EdgeKind.CAN_RUN_AS,
           ("create | get nodes/proxy (ClusterRoleBinding)",),
           "get / create nodes/proxy: the kubelet API runs commands in any pod of the node",
           "Grant nodes/proxy only to monitoring that needs it, and prefer the metrics API; it bypasses "
           "pods/exec authorization and audit.", "T1609")
def _nodes_proxy(grant: Grant, scope: Scope) -> Iterator[Reach]:
    if grant.namespace is not None or not _may(grant, ("create", "get"), ((CORE, "nodes/proxy"),)):
        return  # nodes are cluster-scoped: only a ClusterRoleBinding grants nodes/proxy
    for pod in scope.pods:
        if pod.token_mounted and pod.node:
            action = _first(grant, ("create", "get"), ((CORE, "nodes/proxy"),), pod.node)
            if action:
                yield pod.sa_id, f"{action} ({pod.node}) exec into {_pod_path(pod)}", {"pod": _pod_path(pod)}


# --- reading stored credentials ------------------------------------------------------------------


@technique("k8s.secrets.read", "Read a secret holding a credential", "TOKEN_LIST, TOKEN_BRUTEFORCE",
           EdgeKind.CAN_READ_SECRET, ("get | list | watch secrets | create a pod that mounts the secret",),
           "get / list / watch secrets (get alone: names can be guessed), or mount them in a new pod",
           "Grant secret reads by resourceNames, never list / watch on all secrets; keep cloud keys out of "
           "secrets with workload identity (IRSA, Pod Identity, GKE or Azure workload identity).", "T1552.007")
def _secret_read(grant: Grant, scope: Scope) -> Iterator[Reach]:
    workload = grant.workload_create()
    if not workload and not _may(grant, READ_VERBS, ((CORE, "secrets"),)):
        return
    for info in scope.secrets_for(grant):
        verb = grant.secret_read_verb(info.name)
        action = f"{verb} secrets" if verb else (f"{workload} mounting the secret" if workload else None)
        if action is None:
            continue
        where = f"{info.namespace}/{info.name}"
        props: dict[str, Any] = {"secret": where}
        for held in info.held:
            yield held.target, f"{action} ({where})", props
        if info.is_token:  # the owner reading its own token gains nothing
            owner = f"{scope.cluster_id}/sa/{info.namespace}/{info.service_account}"
            yield f"{scope.cluster_id}/secret/{where}", f"{action} ({where})", {**props, OWNER: owner}


# --- changing permissions ------------------------------------------------------------------------


@technique("k8s.rbac.bind", "Grant oneself a role", "ROLE_BIND", EdgeKind.CAN_GRANT,
           ("bind roles | clusterroles + create | update | patch rolebindings (clusterrolebindings cluster-wide)",
            "or: escalate + create | update | patch roles | clusterroles"),
           "bind + create / update / patch role bindings, or escalate + create / update / patch roles: "
           "grant any permission in the scope",
           "Grant `bind` and `escalate` only to cluster operators, and with resourceNames naming the roles a "
           "delegated admin may hand out.", "T1098.006")
def _role_bind(grant: Grant, scope: Scope) -> Iterator[Reach]:
    cluster_wide = grant.namespace is None
    role_kinds = ("roles", "clusterroles")
    binding_kinds = ("rolebindings", "clusterrolebindings") if cluster_wide else ("rolebindings",)
    target = scope.cluster_id if cluster_wide else f"{scope.cluster_id}/ns/{grant.namespace}"
    bind = _first(grant, ("bind",), tuple((RBAC_GROUP, r) for r in role_kinds))
    write_binding = _first(grant, ("create", "update", "patch"), tuple((RBAC_GROUP, r) for r in binding_kinds))
    if bind and write_binding:
        yield target, f"{write_binding} + {bind}", {}
    escalate = _first(grant, ("escalate",), tuple((RBAC_GROUP, r) for r in role_kinds))
    write_role = _first(grant, ("create", "update", "patch"), tuple((RBAC_GROUP, r) for r in role_kinds))
    if escalate and write_role:
        yield target, f"{write_role} + {escalate}", {}


@technique("k8s.certificates.csr-approve", "Issue a client certificate for system:masters", "",
           EdgeKind.CAN_CREATE_CREDENTIAL,
           ("create certificatesigningrequests", "update certificatesigningrequests/approval",
            "approve signers (kubernetes.io/kube-apiserver-client | kubernetes.io/legacy-unknown)"),
           "create and approve a client CertificateSigningRequest: a certificate for group system:masters",
           "Leave CSR approval to the controller manager; never grant approve on the kube-apiserver-client "
           "signer to people or workloads.", "T1649")
def _csr_approve(grant: Grant, scope: Scope) -> Iterator[Reach]:
    if grant.namespace is not None:
        return
    create = grant.allows("create", CERTIFICATES, "certificatesigningrequests")
    approve = grant.allows("update", CERTIFICATES, "certificatesigningrequests/approval")
    signer = next((s for s in CLIENT_SIGNERS if grant.allows("approve", CERTIFICATES, "signers", s)), None)
    if create and approve and signer:
        csr = _qualified(CERTIFICATES, "certificatesigningrequests")
        approval = _qualified(CERTIFICATES, "certificatesigningrequests/approval")
        yield scope.masters_group_id, (f"create {csr} + update {approval} + approve "
                                       f"{_qualified(CERTIFICATES, 'signers')} ({signer})"), {}


def reaches(grant: Grant, scope: Scope) -> dict[str, list[tuple[Technique, str, dict[str, Any]]]]:
    """Every target a grant reaches, with each technique that reaches it."""
    found: dict[str, list[tuple[Technique, str, dict[str, Any]]]] = {}
    for item in techniques():
        for target, action, props in item.derive(grant, scope):
            found.setdefault(target, []).append((item, action, props))
    return found
