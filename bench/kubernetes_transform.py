"""Benchmark: one large synthetic cluster through the Kubernetes transform; prints time, memory, records.

    python bench/kubernetes_transform.py --namespaces 50 200

Per namespace: 25 service accounts (each with a legacy token secret), 50 pods spread over nodes of 40 pods
(1 in 50 privileged), 10 Roles / RoleBindings mixing the escalation rights (create pods, pods/exec,
patch deployments, get secrets, impersonate, bind, view), and one secret holding an AWS key. Cluster-wide:
the built-in-like roles plus one ClusterRoleBinding per 10 namespaces. Each size runs in its own process.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SAS, PODS, ROLES, PODS_PER_NODE = 25, 50, 10, 40
RULE_MIX = [
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["create", "get"]},
    {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]},
    {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["patch"]},
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]},
    {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["impersonate"]},
    {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"], "verbs": ["create"]},
    {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["bind"]},
    {"apiGroups": ["", "apps"], "resources": ["*"], "verbs": ["get", "list", "watch"]},
]


def _meta(name: str, ns: str | None = None, **extra: Any) -> dict[str, Any]:
    meta = {"name": name, "uid": f"{ns}-{name}", "creationTimestamp": "2023-01-01T00:00:00Z", **extra}
    if ns:
        meta["namespace"] = ns
    return meta


def synthetic_cluster(namespaces: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [
        {"kind": "ClusterRole", "metadata": _meta("cluster-admin"),
         "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]},
        {"kind": "ClusterRole", "metadata": _meta("view"), "rules": [RULE_MIX[-1]]},
    ]
    pod_index = 0
    for n in range(namespaces):
        ns = f"ns{n:04d}"
        items.append({"kind": "Namespace", "metadata": _meta(ns, labels={"env": "prod" if n % 3 else "dev"})})
        for s in range(SAS):
            items.append({"kind": "ServiceAccount", "metadata": _meta(f"sa{s}", ns)})
            items.append({"kind": "Secret", "type": "kubernetes.io/service-account-token", "data": {},
                          "metadata": _meta(f"sa{s}-token", ns,
                                            annotations={"kubernetes.io/service-account.name": f"sa{s}"})})
        items.append({"kind": "Secret", "type": "Opaque", "metadata": _meta("aws", ns),
                      "data": {"AWS_ACCESS_KEY_ID": "QUtJQUJFTkNIMDAwMDAwMDAwMDE="}})
        for p in range(PODS):
            spec: dict[str, Any] = {"serviceAccountName": f"sa{p % SAS}", "nodeName": f"node{pod_index // PODS_PER_NODE}",
                                    "containers": [{"name": "c"}]}
            if pod_index % 50 == 0:
                spec["containers"][0]["securityContext"] = {"privileged": True}
            items.append({"kind": "Pod", "metadata": _meta(f"pod{p}", ns), "spec": spec})
            pod_index += 1
        for r in range(ROLES):
            rules = [RULE_MIX[r % len(RULE_MIX)], RULE_MIX[(r + 3) % len(RULE_MIX)]]
            items.append({"kind": "Role", "metadata": _meta(f"role{r}", ns), "rules": rules})
            items.append({"kind": "RoleBinding", "metadata": _meta(f"rb{r}", ns),
                          "roleRef": {"kind": "Role", "name": f"role{r}"},
                          "subjects": [{"kind": "ServiceAccount", "name": f"sa{r}", "namespace": ns},
                                       {"kind": "User", "name": f"user{n}-{r}@lumen.example"}]})
        if n % 10 == 0:
            items.append({"kind": "ClusterRoleBinding", "metadata": _meta(f"crb{n}"),
                          "roleRef": {"kind": "ClusterRole", "name": "view" if n % 20 else "cluster-admin"},
                          "subjects": [{"kind": "Group", "name": f"team{n}"}]})
    return items


def measure(namespaces: int) -> dict[str, Any]:
    from collectors.kubernetes.exports import ClusterExport, Item
    from collectors.kubernetes.transform import transform_cluster
    objects = synthetic_cluster(namespaces)
    export = ClusterExport(Path(f"bench-{namespaces}"), list_files=["rbac.json"])
    for index, obj in enumerate(objects):
        item = Item("rbac.json", index, obj)
        (export.namespaces if obj["kind"] == "Namespace" else export.items).append(item)
    start = time.perf_counter()
    records = transform_cluster(export)
    seconds = time.perf_counter() - start
    return {"namespaces": namespaces, "objects": len(objects), "service_accounts": namespaces * SAS,
            "pods": namespaces * PODS, "bindings": namespaces * ROLES + namespaces // 10,
            "nodes_out": len(records.nodes), "edges_out": len(records.edges), "seconds": round(seconds, 2),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--namespaces", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure(args.one)))
        return
    for size in args.namespaces:
        out = subprocess.run([sys.executable, __file__, "--one", str(size)], check=True, capture_output=True,
                             text=True).stdout
        print(json.dumps(json.loads(out)))


if __name__ == "__main__":
    main()
