"""What the API server enforces beyond rule matching (issue 14), present and absent, offline.

The cluster is the techniques' offline cluster (k8s_manifests/dangerous-rbac.yaml + rbac-semantics.yaml,
kubectl List JSON); test_kubernetes_live.py checks the same manifests against the real API server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from collectors.kubernetes.pods import escaping_host_path, node_escape
from collectors.kubernetes.rbac import Rule, classify, is_cluster_scoped
from tests.collectors.test_kubernetes import binding, collect, role, sa, sa_subject, token, write_cluster
from tests.techniques import kubernetes_cases
from tests.techniques.kubernetes_cases import C

RBAC = "rbac.authorization.k8s.io"


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory):
    return kubernetes_cases.collect(tmp_path_factory.mktemp("semantics"))


def sem(name: str) -> str:
    return f"{C}/sa/sem-subjects/{name}"


def ns(name: str) -> str:
    return f"{C}/ns/{name}"


def out(result: Any, source: str, kind: str) -> dict[str, dict[str, Any]]:
    return {e["target"]: e for e in result.edges if e["source"] == source and e["kind"] == kind}


def levels(result: Any, source: str) -> dict[str, str]:
    return {target: e["level"] for target, e in out(result, source, "HAS_PERMISSION").items()}


def rules(*raw: dict[str, Any]) -> list[Rule]:
    return [Rule.parse(r) for r in raw]


def rbac_rule(resources: list[str], verbs: list[str], **extra: Any) -> dict[str, Any]:
    return {"apiGroups": [RBAC], "resources": resources, "verbs": verbs, **extra}


# --- 1. `*` on users / groups / serviceaccounts (or on `*`) is impersonation ----------------------------


@pytest.mark.parametrize("holder", ["imp-star", "imp-all-resources"])
def test_star_verbs_or_star_resources_impersonate_users_groups_and_service_accounts(result, holder):
    assume = out(result, sem(holder), "CAN_ASSUME")
    assert assume[f"{C}/group/system:masters"]["techniques"] == ["k8s.rbac.impersonate-user-group"]
    assert assume[f"{C}/user/mallory"]["techniques"] == ["k8s.rbac.impersonate-user-group"]  # any user
    for target in (f"{C}/sa/sem-empty/target", f"{C}/sa/team-a/app"):
        assert assume[target]["techniques"][0] == "k8s.rbac.impersonate-serviceaccount"
    assert levels(result, sem(holder)) == {C: "admin"}  # any group is system:masters


def test_impersonation_needs_the_core_group_and_a_cluster_role_binding(result):
    assert out(result, sem("imp-wrong-group"), "CAN_ASSUME") == {}
    assert levels(result, sem("imp-wrong-group")) == {}
    # `*` on users, groups and serviceaccounts through a RoleBinding in sem-roles: its service accounts only
    in_namespace = out(result, sem("imp-in-namespace"), "CAN_ASSUME")
    assert set(in_namespace) == {f"{C}/sa/sem-roles/target"}
    assert levels(result, sem("imp-in-namespace")) == {ns("sem-roles"): "write"}  # create / delete SAs


@pytest.mark.parametrize(
    ("raw", "cluster_scope", "level"),
    [
        ({"apiGroups": [""], "resources": ["users", "groups"], "verbs": ["*"]}, True, "admin"),
        ({"apiGroups": [""], "resources": ["groups"], "verbs": ["*"]}, True, "admin"),
        ({"apiGroups": ["*"], "resources": ["*"], "verbs": ["impersonate"]}, True, "admin"),
        ({"apiGroups": [""], "resources": ["users"], "verbs": ["*"], "resourceNames": ["bob"]}, True, None),
        ({"apiGroups": [""], "resources": ["users", "groups"], "verbs": ["*"]}, False, None),
        ({"apiGroups": ["apps"], "resources": ["*"], "verbs": ["impersonate"]}, True, None),
        ({"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["*"]}, False, "write"),
    ],
)
def test_impersonation_levels(raw, cluster_scope, level):
    assert classify(rules(raw), cluster_scope)[0] == level


# --- 2. bind / escalate reach what the API server's escalation check lets them bind or widen ----------


def namespaces(result: Any) -> set[str]:
    return {n["id"] for n in result.nodes if n["kind"] == "namespace" and n["id"].startswith(f"{C}/")}


def with_roles(result: Any) -> set[str]:
    """Namespaces holding a Role in the manifests."""
    return {ns(n) for n in ("team-a", "team-b", "sem-roles", "sem-tokens")}


def test_bind_and_escalate_reach_per_role_kind(result):
    every = namespaces(result)
    assert {ns("sem-empty"), ns("sem-subjects")} <= every - with_roles(result)
    expected = {
        "bind-cr-crb": {C},  # ClusterRoleBinding to any ClusterRole: the cluster
        "bind-cr-rb": every,  # RoleBindings to any ClusterRole, in any namespace: each namespace
        "bind-roles-rb": with_roles(result),  # a RoleBinding references a Role of its own namespace
        "bind-roles-crb": set(),  # a ClusterRoleBinding cannot reference a Role
        "bind-named": every,  # the named ClusterRole exists
        "bind-named-missing": set(),
        "bind-roles-empty-ns": set(),  # bound in sem-empty, which has no Role
        "escalate-cr": {C},
        "escalate-kinds-crossed": set(),  # escalate on roles, update on clusterroles
        "escalate-roles": with_roles(result),  # widen an existing Role
        "escalate-create-only": set(),  # a new Role would still need a binding (bind)
        "bind-only": set(), "escalate-only": set(),
    }
    drawn = {name: set(out(result, sem(name), "CAN_GRANT")) for name in expected}
    assert drawn == expected
    assert all(e["techniques"] == ["k8s.rbac.bind"] for name in expected
               for e in out(result, sem(name), "CAN_GRANT").values())
    team_b = f"{C}/sa/team-b"
    assert set(out(result, f"{team_b}/binder", "CAN_GRANT")) == {ns("team-b")}
    assert set(out(result, f"{team_b}/escalator", "CAN_GRANT")) == {ns("team-b")}


def test_rbac_levels_follow_the_scope_the_pair_reaches(result):
    assert levels(result, sem("bind-cr-crb")) == {C: "admin"}
    assert levels(result, sem("escalate-cr")) == {C: "admin"}
    # RoleBindings in every namespace (CAN_GRANT edges), not the cluster's own objects
    assert levels(result, sem("bind-cr-rb")) == {C: "write"}
    assert levels(result, sem("bind-roles-rb")) == {C: "write"}
    assert levels(result, sem("escalate-roles")) == {C: "write"}
    assert levels(result, sem("escalate-kinds-crossed")) == {C: "write"}
    assert levels(result, sem("escalate-create-only")) == {ns("sem-roles"): "write"}
    assert levels(result, f"{C}/sa/team-b/binder") == {ns("team-b"): "admin"}


def test_changing_an_existing_binding_needs_bind_on_its_role(tmp_path):
    items = [
        sa("ops", "apps"), sa("api", "apps"),
        role("deployer", "apps", [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["*"]}]),
        role("reader", "apps", [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]),
        binding("api-deployer", "apps", "Role", "deployer", [sa_subject("api", "apps")]),
        binding("api-reader", "apps", "Role", "reader", [sa_subject("api", "apps")]),
        role("rebinder", "apps", [rbac_rule(["rolebindings"], ["patch"], resourceNames=["api-deployer"]),
                                  rbac_rule(["roles"], ["bind"], resourceNames=["deployer"])]),
        binding("ops-rebinder", "apps", "Role", "rebinder", [sa_subject("ops", "apps")]),
        role("wrong-binding", "apps", [rbac_rule(["rolebindings"], ["patch"], resourceNames=["api-reader"]),
                                       rbac_rule(["roles"], ["bind"], resourceNames=["deployer"])]),
        binding("api-wrong", "apps", "Role", "wrong-binding", [sa_subject("api", "apps")]),
    ]
    result = collect(write_cluster(tmp_path, "c1", items).parent)
    grant = {(e["source"], e["target"]): e for e in result.edges if e["kind"] == "CAN_GRANT"}
    edge = grant[("k8s:c1/sa/apps/ops", "k8s:c1/ns/apps")]
    assert edge["via"].endswith("patch rolebindings.rbac.authorization.k8s.io (apps/api-deployer) + "
                                "bind roles.rbac.authorization.k8s.io (apps/deployer)")
    # may patch api-reader, but may bind only deployer: the binding's roleRef cannot change
    assert ("k8s:c1/sa/apps/api", "k8s:c1/ns/apps") not in grant


@pytest.mark.parametrize(
    ("raw", "cluster_scope", "level"),
    [
        ((rbac_rule(["roles"], ["bind"]), rbac_rule(["rolebindings"], ["create"])), False, "admin"),
        ((rbac_rule(["clusterroles"], ["bind"]), rbac_rule(["rolebindings"], ["update"])), False, "admin"),
        ((rbac_rule(["clusterroles"], ["bind"]), rbac_rule(["clusterrolebindings"], ["create"])), True, "admin"),
        ((rbac_rule(["clusterroles"], ["bind"]), rbac_rule(["rolebindings"], ["create"])), True, "write"),
        ((rbac_rule(["roles"], ["bind"]), rbac_rule(["clusterrolebindings"], ["create"])), True, "write"),
        ((rbac_rule(["clusterroles"], ["bind"], resourceNames=["view"]), rbac_rule(["rolebindings"], ["create"])),
         False, "write"),
        ((rbac_rule(["clusterroles"], ["escalate", "update"]),), True, "admin"),
        ((rbac_rule(["roles"], ["escalate", "patch"]),), False, "admin"),
        ((rbac_rule(["roles"], ["escalate", "create"]),), False, "write"),
        ((rbac_rule(["roles"], ["escalate"]), rbac_rule(["clusterroles"], ["update"])), True, "write"),
        ((rbac_rule(["clusterroles"], ["escalate", "update"]),), False, None),  # cluster-scoped: nothing
        ((rbac_rule(["*"], ["*"]),), False, "admin"),
    ],
)
def test_rbac_pair_levels(raw, cluster_scope, level):
    assert classify(rules(*raw), cluster_scope)[0] == level


# --- 3. a RoleBinding cannot authorise cluster-scoped resources ---------------------------------------


def test_cluster_scoped_rules_grant_nothing_through_a_role_binding(result):
    holder = sem("cluster-scoped-in-ns")
    assert [e["kind"] for e in result.edges if e["source"] == holder] == ["MEMBER_OF"]  # system:authenticated
    perm = out(result, sem("cluster-scoped-crb"), "HAS_PERMISSION")[C]  # the same ClusterRole, cluster-wide
    assert perm["level"] == "write"
    assert {"create clusterroles.rbac.authorization.k8s.io", "create customresourcedefinitions.apiextensions.k8s.io",
            "create storageclasses.storage.k8s.io", "* persistentvolumes", "create namespaces"} <= set(perm["actions"])


def test_a_role_binding_reaches_its_own_namespace_object_but_cannot_list_namespaces(result):
    perm = out(result, sem("own-namespace"), "HAS_PERMISSION")
    assert set(perm) == {ns("sem-roles")}
    assert perm[ns("sem-roles")]["level"] == "write"
    assert set(perm[ns("sem-roles")]["actions"]) == {"delete namespaces", "get namespaces"}


def test_bind_on_cluster_roles_is_honoured_in_a_role_binding_namespace(result):
    perm = out(result, sem("bind-only"), "HAS_PERMISSION")[ns("sem-roles")]
    assert set(perm["actions"]) == {"bind roles.rbac.authorization.k8s.io",
                                    "bind clusterroles.rbac.authorization.k8s.io"}


@pytest.mark.parametrize(
    ("raw", "level", "actions"),
    [
        ({"apiGroups": [""], "resources": ["nodes", "persistentvolumes"], "verbs": ["get", "list"]}, None, []),
        ({"apiGroups": [""], "resources": ["pods", "nodes"], "verbs": ["get"]}, "read", ["get pods"]),
        ({"apiGroups": ["*"], "resources": ["nodes/proxy"], "verbs": ["*"]}, None, []),
        ({"apiGroups": ["certificates.k8s.io"], "resources": ["certificatesigningrequests/approval"],
          "verbs": ["update"]}, None, []),
        ({"apiGroups": [RBAC], "resources": ["clusterroles"], "verbs": ["*"]}, "write",
         ["bind clusterroles.rbac.authorization.k8s.io"]),
        ({"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list", "watch", "create"]}, None, []),
        ({"apiGroups": ["policy"], "resources": ["podsecuritypolicies"], "verbs": ["*"]}, "read",
         ["use podsecuritypolicies.policy"]),
        ({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, "admin", ["* *"]),
    ],
)
def test_cluster_scoped_levels_under_a_role_binding(raw, level, actions):
    assert classify(rules(raw), False) == (level, actions)


def test_cluster_scoped_resources():
    assert is_cluster_scoped("", "nodes") and is_cluster_scoped("", "nodes/proxy")
    assert is_cluster_scoped("*", "persistentvolumes") and is_cluster_scoped(RBAC, "clusterrolebindings")
    assert is_cluster_scoped("admissionregistration.k8s.io", "validatingwebhookconfigurations")
    assert not is_cluster_scoped("", "pods") and not is_cluster_scoped(RBAC, "rolebindings")
    assert not is_cluster_scoped("example.com", "nodes") and not is_cluster_scoped("*", "*")


# --- 4. bind or escalate alone is not admin ------------------------------------------------------------


def test_bind_alone_and_escalate_alone_are_write_and_grant_nothing(result):
    for name in ("bind-only", "escalate-only"):
        assert levels(result, sem(name)) == {ns("sem-roles"): "write"}
        assert out(result, sem(name), "CAN_GRANT") == {}


# --- 5. which pods escape to their node ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "escapes"),
    [
        ("/", True), ("/var/lib/kubelet", True), ("/var/lib/kubelet/pods", True), ("/var/lib/kubelet/", True),
        ("/var", True), ("/var/lib", True), ("/etc", True), ("/etc/kubernetes/pki", True),
        ("/run/containerd/containerd.sock", True), ("/var/run/docker.sock", True), ("/var/lib/docker", True),
        ("/var/lib/containerd", True), ("/run/crio/crio.sock", True), ("/proc", True),
        ("/tmp/logs", False), ("/var/log", False), ("/var/lib/docker/containers", False), ("/proc/cpuinfo", False),
        ("/data", False), ("/var/lib/kubeletx", False), ("/etc/ssl/certs", False), ("/sys/fs/cgroup", False),
    ],
)
def test_escaping_host_paths(path, escapes):
    assert escaping_host_path(path) is escapes


def _spec(*, privileged: bool = False, capabilities: tuple[str, ...] = (), host_pid: bool = False,
          paths: tuple[str, ...] = ()) -> dict[str, Any]:
    context: dict[str, Any] = {"privileged": privileged, "capabilities": {"add": list(capabilities)}}
    return {"hostPID": host_pid, "containers": [{"name": "c", "securityContext": context}],
            "volumes": [{"name": f"v{i}", "hostPath": {"path": p}} for i, p in enumerate(paths)]}


@pytest.mark.parametrize(
    ("spec", "reasons"),
    [
        (_spec(privileged=True), ("privileged",)),
        (_spec(host_pid=True), ("hostPID",)),
        (_spec(capabilities=("SYS_ADMIN",)), ("capability SYS_ADMIN",)),
        (_spec(capabilities=("CAP_SYS_MODULE",)), ("capability SYS_MODULE",)),
        (_spec(capabilities=("ALL",)), ("capability SYS_ADMIN", "capability SYS_MODULE")),
        (_spec(capabilities=("SYS_PTRACE",), host_pid=True), ("hostPID with SYS_PTRACE",)),
        (_spec(paths=("/var/lib/kubelet/pods", "/tmp/logs")), ("hostPath /var/lib/kubelet/pods",)),
        (_spec(capabilities=("SYS_PTRACE", "NET_ADMIN", "NET_RAW")), ()),  # own processes only
        (_spec(paths=("/tmp/logs", "/var/log")), ()),
        (_spec(), ()),
    ],
)
def test_node_escape(spec, reasons):
    assert node_escape(spec) == reasons


def test_token_steal_needs_a_pod_that_escapes(result):
    steal = out(result, f"{C}/sa/team-a/exec-user", "CAN_RUN_AS")
    via_sys_admin = steal[f"{C}/sa/kube-system/node4-agent"]
    assert via_sys_admin["techniques"] == ["k8s.nodes.token-steal"]
    assert "team-a/fuse-mounter, escapes to node node-4 through capability SYS_ADMIN" in via_sys_admin["via"]
    assert f"{C}/sa/kube-system/node2-agent" not in steal  # /tmp/logs, /var/log, SYS_PTRACE: no escape
    app = next(n for n in result.nodes if n["id"] == f"{C}/sa/team-a/app")
    assert app["node_escape_pods"] == ["team-a/fuse-mounter"]
    assert app["host_path_pods"] == ["team-a/log-shipper"]  # any hostPath, escaping or not


# --- 6. list / watch on secrets reads the namespace's legacy tokens ------------------------------------


@pytest.mark.parametrize("holder", ["secret-watcher", "secret-list-only"])
def test_list_or_watch_on_secrets_reaches_the_service_account_of_each_token(result, holder):
    cred = f"{C}/secret/sem-tokens/old-bot-token"
    read = out(result, sem(holder), "CAN_READ_SECRET")
    assert set(read) == {cred} and read[cred]["techniques"] == ["k8s.secrets.read"]
    assert set(out(result, cred, "AUTHENTICATES")) == {f"{C}/sa/sem-tokens/old-bot"}
    assert out(result, sem("secret-get-other"), "CAN_READ_SECRET") == {}


def test_projected_tokens_only_no_token_secret_no_edge_but_exec_still_reaches(tmp_path: Path):
    """1.24+: no service-account-token secret unless one is created by hand; pods mount projected tokens."""
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "worker", "namespace": "jobs"},
           "spec": {"serviceAccountName": "worker", "nodeName": "n1", "containers": [{"name": "c"}]}}
    items = [
        sa("worker", "jobs"), sa("reader", "jobs"), sa("legacy", "jobs"), pod,
        role("secrets-and-exec", "jobs", [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list", "watch"]},
                                          {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]}]),
        binding("reader", "jobs", "Role", "secrets-and-exec", [sa_subject("reader", "jobs")]),
        token("legacy-token", "jobs", "legacy"),  # created by hand: still a readable legacy token
    ]
    result = collect(write_cluster(tmp_path, "c124", items).parent)
    reader = "k8s:c124/sa/jobs/reader"
    reads = {e["target"] for e in result.edges if e["source"] == reader and e["kind"] == "CAN_READ_SECRET"}
    assert reads == {"k8s:c124/secret/jobs/legacy-token"}
    assert not any(e["target"] == "k8s:c124/sa/jobs/worker" and e["kind"] == "AUTHENTICATES" for e in result.edges)
    run_as = {e["target"]: e for e in result.edges if e["source"] == reader and e["kind"] == "CAN_RUN_AS"}
    assert run_as["k8s:c124/sa/jobs/worker"]["techniques"] == ["k8s.pods.exec"]
