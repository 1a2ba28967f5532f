"""Kubernetes technique cases on one offline cluster built from the live tests' manifests
(tests/collectors/k8s_manifests/dangerous-rbac.yaml and rbac-semantics.yaml): for each technique, a
subject holding the right reaches its target; a subject holding all but one of the rights, or holding
them where the API server does not honour them, does not.

test_kubernetes_live.py proves the same edges on the real API server.
"""

from __future__ import annotations

import base64
import functools
import json
import tempfile
from pathlib import Path
from typing import Any

import yaml

from collectors.kubernetes import collect_offline
from graph.coverage import CollectResult
from tests.techniques.cases import Case, Probe, Step, steps_of

MANIFEST_DIR = Path(__file__).parent.parent / "collectors" / "k8s_manifests"
MANIFESTS = (MANIFEST_DIR / "dangerous-rbac.yaml", MANIFEST_DIR / "rbac-semantics.yaml")
C = "k8s:offline"


def _pod(name: str, ns: str, sa: str, automount: bool | None = None, privileged: bool = False,
         node: str = "node-1", capabilities: tuple[str, ...] = (), host_paths: tuple[str, ...] = ()) -> dict[str, Any]:
    context: dict[str, Any] = {"privileged": privileged}
    if capabilities:
        context["capabilities"] = {"add": list(capabilities)}
    spec: dict[str, Any] = {"serviceAccountName": sa, "nodeName": node,
                            "containers": [{"name": "main", "securityContext": context}]}
    if host_paths:
        spec["volumes"] = [{"name": f"host-{i}", "hostPath": {"path": path}} for i, path in enumerate(host_paths)]
    if automount is not None:
        spec["automountServiceAccountToken"] = automount
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns}, "spec": spec}


# Offline only (the live cluster keeps its four pods): node-2 holds a pod whose host paths and added
# capability do not escape, node-4 one that escapes through CAP_SYS_ADMIN; each node also runs an agent.
NODE_PODS = [
    _pod("log-shipper", "team-a", "app", node="node-2", capabilities=("SYS_PTRACE", "NET_ADMIN"),
         host_paths=("/tmp/logs", "/var/log", "/var/lib/docker/containers")),
    _pod("agent-2", "kube-system", "node2-agent", node="node-2"),
    _pod("fuse-mounter", "team-a", "app", node="node-4", capabilities=("CAP_SYS_ADMIN",)),
    _pod("agent-4", "kube-system", "node4-agent", node="node-4"),
]


def _as_export(doc: dict[str, Any]) -> dict[str, Any]:
    if doc.get("kind") == "Secret" and "stringData" in doc:  # what the API server stores
        doc = {**doc, "data": {k: base64.b64encode(v.encode()).decode() for k, v in doc.pop("stringData").items()}}
    return doc


def collect(workdir: Path) -> CollectResult:
    """The manifests plus a few pods, exported as one kubectl List and collected offline."""
    folder = workdir / "offline"
    folder.mkdir(parents=True)
    items = [_as_export(d) for path in MANIFESTS for d in yaml.safe_load_all(path.read_text()) if d]
    items += [_pod("web", "team-a", "app"), _pod("privileged-debug", "team-a", "debug", privileged=True),
              _pod("no-token", "team-a", "pod-creator", automount=False), _pod("agent", "kube-system", "legacy-bot"),
              *NODE_PODS]
    (folder / "rbac.json").write_text(json.dumps({"kind": "List", "items": items}))
    return collect_offline(workdir)


@functools.cache
def _cluster_steps() -> list[Step]:
    return steps_of(collect(Path(tempfile.mkdtemp(prefix="k8s-techniques-"))).edges)


def sa(ns: str, name: str) -> str:
    return f"{C}/sa/{ns}/{name}"


def _case(holder: str, target: str, without: str, *more: tuple[str, str]) -> Case:
    """A present probe, the absent probe lacking one right, and more (holder, target) absent probes."""
    absent = (Probe("cluster", without, target), *(Probe("cluster", h, t) for h, t in more))
    return Case(Probe("cluster", holder, target), absent)


def sem(name: str) -> str:
    return sa("sem-subjects", name)


MASTERS = f"{C}/group/system:masters"


# technique -> subject with the right, the target it reaches, a subject lacking one of the rights
CASES: dict[str, Case] = {
    "k8s.rbac.impersonate-serviceaccount": _case(
        sa("team-b", "impersonator"), sa("team-a", "app"), sa("team-b", "binder"),
        (sem("imp-in-namespace"), sa("sem-empty", "target"))),  # its RoleBinding is in sem-roles
    "k8s.rbac.impersonate-user-group": _case(
        f"{C}/user/mallory", f"{C}/user/admin-bob", sa("team-b", "impersonator"),
        (sem("imp-wrong-group"), MASTERS),  # impersonation is in the core group, not apps
        (sem("imp-in-namespace"), MASTERS)),  # `*` on users / groups through a RoleBinding
    "k8s.serviceaccounts.token-create": _case(sa("team-b", "token-minter"), sa("team-a", "app"),
                                              sa("team-a", "get-pods-only")),
    "k8s.pods.create": _case(sa("team-a", "pod-creator"), sa("team-a", "debug"), sa("team-a", "get-pods-only")),
    "k8s.workloads.patch": _case(sa("team-a", "deploy-patcher"), sa("team-a", "pod-creator"),
                                 sa("team-a", "pod-patcher")),
    "k8s.pods.patch": _case(sa("team-a", "pod-patcher"), sa("team-a", "app"), sa("team-a", "get-pods-only")),
    "k8s.pods.exec": _case(sa("team-a", "exec-user"), sa("team-a", "app"), sa("team-a", "get-pods-only")),
    "k8s.nodes.token-steal": _case(
        sa("team-a", "debug-exec"), sa("kube-system", "legacy-bot"), sa("team-a", "pod-patcher"),
        (sa("team-a", "exec-user"), sa("kube-system", "node2-agent"))),  # /tmp/logs, SYS_PTRACE: no escape
    "k8s.nodes.proxy": _case(sa("team-b", "node-proxier"), sa("kube-system", "legacy-bot"), sa("team-b", "binder")),
    "k8s.secrets.read": _case(
        sa("team-b", "secret-lister"), "aws:access-key/AKIAOLDKEY0000000001", sa("team-b", "binder"),
        (sem("secret-get-other"), f"{C}/secret/sem-tokens/old-bot-token")),  # get names another secret
    # binding-writer can write role bindings but lacks `bind`; escalator is checked in the source's tests.
    # The rest hold bind / escalate where the API server's escalation check does not let them reach.
    "k8s.rbac.bind": _case(
        sa("team-b", "binder"), f"{C}/ns/team-b", sa("team-b", "binding-writer"),
        (sem("bind-cr-rb"), C),  # RoleBindings only: every namespace, not the cluster
        (sem("bind-roles-rb"), C), (sem("bind-roles-rb"), f"{C}/ns/sem-empty"),  # a Role must exist there
        (sem("bind-roles-crb"), C),  # a ClusterRoleBinding cannot reference a Role
        (sem("bind-named-missing"), f"{C}/ns/sem-roles"),  # the named role does not exist
        (sem("bind-roles-empty-ns"), f"{C}/ns/sem-empty"),
        (sem("escalate-kinds-crossed"), C), (sem("escalate-kinds-crossed"), f"{C}/ns/sem-roles"),
        (sem("escalate-create-only"), f"{C}/ns/sem-roles"),  # a new role still needs a binding
        (sem("bind-only"), f"{C}/ns/sem-roles"), (sem("escalate-only"), f"{C}/ns/sem-roles")),
    "k8s.certificates.csr-approve": _case(sa("team-b", "csr-approver"), f"{C}/group/system:masters",
                                          sa("team-b", "binder")),
}


def steps(scenario: Any, workdir: Path) -> list[Step]:
    return _cluster_steps()
