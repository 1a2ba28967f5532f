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

from collectors.kubernetes.rbac import (
    CORE,
    RBAC_GROUP,
    READ_VERBS,
    WORKLOAD_CREATE,
    WRITE_ROLE,
    Grant,
    _qualified,
)
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
    host_path: bool = False  # any hostPath volume, escaping or not
    host_pid: bool = False
    escape: tuple[str, ...] = ()  # why a shell here reaches the node (collectors/kubernetes/pods.py)

    @property
    def escapes_to_node(self) -> bool:
        """A shell in this pod reaches the node, hence every token mounted on the node."""
        return bool(self.escape)


@dataclass(frozen=True)
class BindingRef:
    """An existing RoleBinding / ClusterRoleBinding: its subjects can be changed, its roleRef cannot."""

    namespace: str | None  # None: a ClusterRoleBinding
    name: str
    role_kind: str  # Role | ClusterRole
    role_name: str


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
    namespaces: list[str] = field(default_factory=list)
    roles: dict[str, list[str]] = field(default_factory=dict)  # namespace -> names of its Roles
    cluster_roles: list[str] = field(default_factory=list)
    bindings: list[BindingRef] = field(default_factory=list)
    users: list[str] = field(default_factory=list)  # ids of the users the export names

    def __post_init__(self) -> None:
        self._by_namespace: dict[str, dict[str, list[Any]]] = {"sa": {}, "pod": {}, "secret": {}}
        for kind, items in (("sa", self.service_accounts), ("pod", self.pods), ("secret", self.secrets)):
            for item in items:
                self._by_namespace[kind].setdefault(item.namespace, []).append(item)
        self._bindings: dict[str | None, list[BindingRef]] = {}
        for binding in self.bindings:
            self._bindings.setdefault(binding.namespace, []).append(binding)
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

    def bindings_in(self, namespace: str | None) -> list[BindingRef]:
        """The RoleBindings of a namespace; None: the ClusterRoleBindings."""
        return self._bindings.get(namespace, [])

    def namespaces_for(self, grant: Grant) -> list[str]:
        """The namespaces a grant's rules apply in: its own, or every one for a ClusterRoleBinding."""
        return self.namespaces if grant.namespace is None else [grant.namespace]

    def namespace_id(self, namespace: str) -> str:
        return f"{self.cluster_id}/ns/{namespace}"


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


@technique("k8s.rbac.impersonate-user-group", "Impersonate a user or group", "IDENTITY_IMPERSONATE",
           EdgeKind.CAN_ASSUME, ("impersonate | * on users | groups | * (ClusterRoleBinding)",),
           "impersonate (or `*`) on users / groups, cluster-wide only: each named one; any group is "
           "system:masters; any user is every user the cluster names",
           "Remove `impersonate` on users and groups from everyone but the API gateway or proxy that needs it, "
           "and never on system:masters.", "T1078")
def _impersonate_named(grant: Grant, scope: Scope) -> Iterator[Reach]:
    unrestricted, named = grant.impersonable()
    if grant.allows("*", "*", "*"):
        unrestricted = set()  # a superuser already holds what any user or group holds
    if "groups" in unrestricted:  # Impersonate-Group: system:masters
        yield scope.masters_group_id, f"impersonate groups ({scope.masters_group_id.rsplit('/', 1)[1]})", {}
    if "users" in unrestricted:
        for user in scope.users:
            yield user, f"impersonate users ({user.split('/user/', 1)[1]})", {}
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
           EdgeKind.CAN_RUN_AS,
           (("create | get pods/exec on a pod that escapes to its node: privileged, hostPID, added capability "
             "SYS_ADMIN | SYS_MODULE, or a hostPath of /, /var/lib/kubelet, /etc/kubernetes, a container runtime's "
             "directory or socket (a directory above one of them counts)"),),
           "exec into a pod that escapes to its node: read every service-account token mounted on that node",
           "Forbid privileged, hostPID, added-capability and hostPath pods (Pod Security Admission `baseline` or "
           "`restricted`), and keep exec away from the ones that must exist.", "T1611")
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
                yield pod.sa_id, (f"{action} ({_pod_path(escape)}, escapes to node {escape.node} through "
                                  f"{', '.join(escape.escape)}) and reads the token of {_pod_path(pod)}"), \
                    {"pod": _pod_path(pod), "node": pod.node}


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
           ("bind clusterroles + create | update | patch clusterrolebindings (ClusterRoleBinding): the cluster",
            ("or: bind clusterroles | roles + create | update | patch rolebindings: that namespace, or every "
             "namespace through a ClusterRoleBinding (a Role: only where one exists)"),
            "or: escalate + update | patch on an existing role of the same kind (roles: its namespace)"),
           "bind a role through a new or changed binding, or widen a role that exists with escalate: any "
           "permission in the scope the API server's escalation check lets that binding or role cover",
           "Grant `bind` and `escalate` only to cluster operators, and with resourceNames naming the roles a "
           "delegated admin may hand out.", "T1098.006")
def _role_bind(grant: Grant, scope: Scope) -> Iterator[Reach]:
    routes = []
    if _may(grant, ("bind",), ROLE_PAIRS):
        routes.append(_binding_route)
    if _may(grant, ("escalate",), ROLE_PAIRS):
        routes.append(_escalate_route)
    for route in routes:
        cluster = grant.namespace is None and route(grant, scope, None)
        if cluster:  # the whole cluster, which holds every namespace
            yield scope.cluster_id, cluster, {}
            continue
        for namespace in scope.namespaces_for(grant):
            action = route(grant, scope, namespace)
            if action:
                yield scope.namespace_id(namespace), action, {}


ROLE_PAIRS = ((RBAC_GROUP, "roles"), (RBAC_GROUP, "clusterroles"))
ROLE_RESOURCE = {"Role": "roles", "ClusterRole": "clusterroles"}
CHANGE_BINDING = ("update", "patch")  # an existing binding: its subjects can change, its roleRef cannot


def _bind_action(grant: Grant, kind: str, name: str | None, namespace: str | None) -> str | None:
    """`bind <kind> [(<name>)]` if a binding may reference this role (the API server's bind check)."""
    if not grant.allows("bind", RBAC_GROUP, kind, name):
        return None
    text = f"bind {_qualified(RBAC_GROUP, kind)}"
    if name is None:
        return text
    return f"{text} ({namespace}/{name})" if namespace else f"{text} ({name})"


def _bindable_role(grant: Grant, scope: Scope, namespace: str | None) -> str | None:
    """A role that a new binding in this namespace (None: a ClusterRoleBinding) may reference, as its action.

    ClusterRoles: any, when `bind` names none (every cluster has the built-in admin roles), else a named
    ClusterRole that exists. Roles (RoleBindings only, in their own namespace): a Role that exists there.
    """
    candidates = [("clusterroles", None, None)] + [("clusterroles", n, None) for n in sorted(scope.cluster_roles)]
    if namespace is not None:  # a ClusterRoleBinding can reference only a ClusterRole
        candidates += [("roles", n, namespace) for n in sorted(scope.roles.get(namespace, []))]
    return next((a for kind, name, ns in candidates if (a := _bind_action(grant, kind, name, ns))), None)


def _binding_route(grant: Grant, scope: Scope, namespace: str | None) -> str | None:
    """Create a binding to a bindable role, or add oneself to an existing binding of a bindable role."""
    kind = "rolebindings" if namespace is not None else "clusterrolebindings"
    written = _qualified(RBAC_GROUP, kind)
    if grant.allows("create", RBAC_GROUP, kind):
        bind = _bindable_role(grant, scope, namespace)
        if bind:
            return f"create {written} + {bind}"
    if not _may(grant, CHANGE_BINDING, ((RBAC_GROUP, kind),)):
        return None
    for binding in scope.bindings_in(namespace):
        write = next((v for v in CHANGE_BINDING if grant.allows(v, RBAC_GROUP, kind, binding.name)), None)
        role_ns = namespace if binding.role_kind == "Role" else None
        bind = write and _bind_action(grant, ROLE_RESOURCE[binding.role_kind], binding.role_name, role_ns)
        if bind:
            where = f"{namespace}/{binding.name}" if namespace else binding.name
            return f"{write} {written} ({where}) + {bind}"
    return None


def _escalate_route(grant: Grant, scope: Scope, namespace: str | None) -> str | None:
    """Widen an existing role with `escalate` and `update` / `patch` on that role kind.

    ClusterRoles (a ClusterRoleBinding): any, when neither names one (the built-in system:basic-user is bound
    to system:authenticated), else a named ClusterRole that exists. Roles: one that exists in the namespace.
    """
    kind = "roles" if namespace is not None else "clusterroles"
    qualified = _qualified(RBAC_GROUP, kind)
    if namespace is None:
        names: list[str | None] = [None, *sorted(scope.cluster_roles)]
    else:
        names = sorted(scope.roles.get(namespace, []))
    for name in names:
        write = next((v for v in WRITE_ROLE if grant.allows(v, RBAC_GROUP, kind, name)), None)
        if write and grant.allows("escalate", RBAC_GROUP, kind, name):
            if name is None:
                return f"{write} {qualified} + escalate {qualified}"
            where = f"{namespace}/{name}" if namespace else name
            return f"{write} {qualified} ({where}) + escalate {qualified} ({where})"
    return None


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
