"""Kubernetes technique cases on one offline cluster built from the live tests' manifests
(tests/collectors/k8s_manifests/dangerous-rbac.yaml): for each technique, a subject holding the right
reaches its target; a subject holding all but one of the rights does not.

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

MANIFESTS = Path(__file__).parent.parent / "collectors" / "k8s_manifests" / "dangerous-rbac.yaml"
C = "k8s:offline"


def _pod(name: str, ns: str, sa: str, automount: bool | None = None, privileged: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {"serviceAccountName": sa, "nodeName": "node-1",
                            "containers": [{"name": "main", "securityContext": {"privileged": privileged}}]}
    if automount is not None:
        spec["automountServiceAccountToken"] = automount
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns}, "spec": spec}


def _as_export(doc: dict[str, Any]) -> dict[str, Any]:
    if doc.get("kind") == "Secret" and "stringData" in doc:  # what the API server stores
        doc = {**doc, "data": {k: base64.b64encode(v.encode()).decode() for k, v in doc.pop("stringData").items()}}
    return doc


def collect(workdir: Path) -> CollectResult:
    """The manifests plus a few pods, exported as one kubectl List and collected offline."""
    folder = workdir / "offline"
    folder.mkdir(parents=True)
    items = [_as_export(d) for d in yaml.safe_load_all(MANIFESTS.read_text()) if d]
    items += [_pod("web", "team-a", "app"), _pod("privileged-debug", "team-a", "debug", privileged=True),
              _pod("no-token", "team-a", "pod-creator", automount=False), _pod("agent", "kube-system", "legacy-bot")]
    (folder / "rbac.json").write_text(json.dumps({"kind": "List", "items": items}))
    return collect_offline(workdir)


@functools.cache
def _cluster_steps() -> list[Step]:
    return steps_of(collect(Path(tempfile.mkdtemp(prefix="k8s-techniques-"))).edges)


def sa(ns: str, name: str) -> str:
    return f"{C}/sa/{ns}/{name}"


def _case(holder: str, target: str, without: str) -> Case:
    return Case(Probe("cluster", holder, target), (Probe("cluster", without, target),))


# technique -> subject with the right, the target it reaches, a subject lacking one of the rights
CASES: dict[str, Case] = {
    "k8s.rbac.impersonate-serviceaccount": _case(sa("team-b", "impersonator"), sa("team-a", "app"),
                                                 sa("team-b", "binder")),
    "k8s.rbac.impersonate-user-group": _case(f"{C}/user/mallory", f"{C}/user/admin-bob", sa("team-b", "impersonator")),
    "k8s.serviceaccounts.token-create": _case(sa("team-b", "token-minter"), sa("team-a", "app"),
                                              sa("team-a", "get-pods-only")),
    "k8s.pods.create": _case(sa("team-a", "pod-creator"), sa("team-a", "debug"), sa("team-a", "get-pods-only")),
    "k8s.workloads.patch": _case(sa("team-a", "deploy-patcher"), sa("team-a", "pod-creator"),
                                 sa("team-a", "pod-patcher")),
    "k8s.pods.patch": _case(sa("team-a", "pod-patcher"), sa("team-a", "app"), sa("team-a", "get-pods-only")),
    "k8s.pods.exec": _case(sa("team-a", "exec-user"), sa("team-a", "app"), sa("team-a", "get-pods-only")),
    "k8s.nodes.token-steal": _case(sa("team-a", "debug-exec"), sa("kube-system", "legacy-bot"),
                                   sa("team-a", "pod-patcher")),
    "k8s.nodes.proxy": _case(sa("team-b", "node-proxier"), sa("kube-system", "legacy-bot"), sa("team-b", "binder")),
    "k8s.secrets.read": _case(sa("team-b", "secret-lister"), "aws:access-key/AKIAOLDKEY0000000001",
                              sa("team-b", "binder")),
    # binding-writer can write role bindings but lacks `bind`; escalator is checked in the source's tests
    "k8s.rbac.bind": _case(sa("team-b", "binder"), f"{C}/ns/team-b", sa("team-b", "binding-writer")),
    "k8s.certificates.csr-approve": _case(sa("team-b", "csr-approver"), f"{C}/group/system:masters",
                                          sa("team-b", "binder")),
}


def steps(scenario: Any, workdir: Path) -> list[Step]:
    return _cluster_steps()
