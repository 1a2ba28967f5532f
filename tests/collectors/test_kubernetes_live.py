"""Kubernetes collector against a real API server (etcd + kube-apiserver + kube-controller-manager, RBAC).

The control plane comes from `.ci/kubernetes.sh` (`make test` runs it first); when its binaries are missing
these tests skip with the command to run, and under CI=true they ERROR instead (tests/servers.py: CI never
goes green by skipping). The manifests in
k8s_manifests/ hold the classic dangerous-RBAC cases; every escalation technique is checked present
with the right and absent without, and effective permissions are checked against the API server's
own SubjectAccessReview answers over a generated matrix.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from collectors.kubernetes import collect_offline
from collectors.kubernetes.effective import Authorizer, service_account_user
from collectors.kubernetes.exports import load_cluster
from collectors.kubernetes.live import collect_live, folder_name
from crosspath.cli import main
from graph.records import RecordOrigin, validate_records
from tests.collectors.kube_cluster import (
    ADMIN_TOKEN,
    CACHE,
    LIMITED_TOKEN,
    READER_TOKEN,
    ControlPlane,
    require_binaries,
    wait_for,
)
from tests.graph_helpers import environments

MANIFESTS = Path(__file__).parent / "k8s_manifests"
READER_ROLE = Path(__file__).resolve().parents[2] / "collectors" / "kubernetes" / "crosspath-reader.yaml"
C = "k8s:test"
SECRET_VALUE = "not-a-real-secret-but-never-recorded"


def _pod(name: str, namespace: str, sa: str, node: str = "node-1", **spec: Any) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "main", "image": "registry.invalid/app:1"}
    if spec.pop("privileged", False):
        container["securityContext"] = {"privileged": True}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
            "spec": {"serviceAccountName": sa, "nodeName": node, "containers": [container], **spec}}


PODS = [
    _pod("web", "team-a", "app"),
    _pod("privileged-debug", "team-a", "debug", privileged=True,
         volumes=[{"name": "host", "hostPath": {"path": "/"}}]),
    _pod("no-token", "team-a", "pod-creator", automountServiceAccountToken=False),
    _pod("legacy-agent", "kube-system", "legacy-bot"),
]


def _apply(api_client: Any) -> None:
    from kubernetes import client, utils
    utils.create_from_yaml(api_client, str(READER_ROLE))
    utils.create_from_yaml(api_client, str(MANIFESTS / "dangerous-rbac.yaml"))
    utils.create_from_yaml(api_client, str(MANIFESTS / "rbac-semantics.yaml"))
    core, rbac = client.CoreV1Api(api_client), client.RbacAuthorizationV1Api(api_client)
    # Controllers work asynchronously: the aggregation controller fills admin / monitoring, the token
    # controller fills legacy tokens and gives every SA the token secret pod admission wants.
    wait_for(lambda: any("*" in (r.resources or []) for r in rbac.read_cluster_role("admin").rules or []),
             "the wildcard role aggregated into admin")
    wait_for(lambda: rbac.read_cluster_role("monitoring").rules, "the monitoring aggregation")
    for name, namespace in (("legacy-bot-token", "kube-system"), ("old-bot-token", "sem-tokens")):
        wait_for(lambda name=name, namespace=namespace: (core.read_namespaced_secret(name, namespace).data or {}
                                                          ).get("token"), "the legacy token controller")
    wait_for(lambda: _every_token_issued(core), "a legacy token secret for every service account")
    for pod in PODS:
        wait_for(lambda pod=pod: core.create_namespaced_pod(pod["metadata"]["namespace"], pod),
                 f"pod {pod['metadata']['name']}")


def _every_token_issued(core: Any) -> bool:
    """The 1.20 token controller has given every service account a token secret holding its token."""
    tokens = {(s.metadata.namespace, s.metadata.name): (s.data or {}).get("token")
              for s in core.list_secret_for_all_namespaces(field_selector="type=kubernetes.io/service-account-token").items}
    accounts = core.list_service_account_for_all_namespaces().items
    return all(any(tokens.get((a.metadata.namespace, ref.name)) for ref in a.secrets or []) for a in accounts) \
        and all(tokens.values())


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory):
    require_binaries()  # a skip naming `.ci/kubernetes.sh` outside CI, an error under CI=true
    control_plane = ControlPlane(tmp_path_factory.mktemp("control-plane"))
    try:
        control_plane.start()  # inside try: a failed start still stops what it started
        _apply(control_plane.api_client(ADMIN_TOKEN))
        yield control_plane
    finally:
        control_plane.stop()


def _collect_cli(plane: ControlPlane, out: Path, token: str, *extra: str) -> Any:
    kubeconfig = plane.kubeconfig(token, "test")
    return CliRunner().invoke(main, ["collect", "kubernetes", "--kubeconfig", str(kubeconfig),
                                     "--context", "test", "--out", str(out), "--quiet", *extra])


@pytest.fixture(scope="module")
def live(plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    out = tmp_path_factory.mktemp("live")
    run = _collect_cli(plane, out, READER_TOKEN, "--read-secret-data")
    assert run.exit_code == 0, run.output
    return out, collect_offline(out / "kubernetes")


def edges_of(result: Any, kind: str, source: str) -> dict[str, dict[str, Any]]:
    return {e["target"]: e for e in result.edges if e["kind"] == kind and e["source"] == source}


def transfers(result: Any, source: str) -> dict[str, dict[str, Any]]:
    kinds = {"CAN_ASSUME", "CAN_RUN_AS", "CAN_CREATE_CREDENTIAL", "CAN_READ_SECRET", "CAN_GRANT"}
    return {e["target"]: e for e in result.edges if e["kind"] in kinds and e["source"] == source}


def sa(ns: str, name: str) -> str:
    return f"{C}/sa/{ns}/{name}"


# --- live collection ----------------------------------------------------------------------------------


def test_live_collection_is_complete_valid_and_written_as_kubectl_lists(live):
    out, result = live
    assert not result.errors
    assert result.coverage.status == "complete", result.coverage.notes
    log = json.loads((out / "kubernetes" / "collection.json").read_text())
    assert log["problems"] == [] and log["scopes"] == [C]
    assert log["counts"]["ClusterRole"] > 50 and log["counts"]["Pod"] == len(PODS)
    rbac = json.loads((out / "kubernetes" / "test" / "rbac.json").read_text())
    assert rbac["kind"] == "List" and {i["kind"] for i in rbac["items"]} >= {
        "ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "Secret"}
    assert (out / "kubernetes" / "test" / "aws-auth.json").is_file()
    assert validate_records(result.nodes, result.edges, RecordOrigin("kubernetes", "live")).errors == []


def test_secret_values_never_reach_the_export_or_the_records(live):
    out, result = live
    exported = "".join(p.read_text() for p in (out / "kubernetes").rglob("*.json"))
    assert SECRET_VALUE not in exported and "bm90LWEtcmVhbC1zZWNyZXQ" not in exported  # nor its base64
    assert SECRET_VALUE not in json.dumps(result.nodes + result.edges)
    token = next(n for n in result.nodes if n["id"] == f"{C}/secret/kube-system/legacy-bot-token")
    assert token["family"] == "Credential" and token["expires"] is None and token["created"]


def test_metadata_only_secrets_still_find_legacy_tokens_but_no_key_ids(plane, tmp_path):
    run = _collect_cli(plane, tmp_path, READER_TOKEN)
    assert run.exit_code == 0, run.output
    result = collect_offline(tmp_path / "kubernetes")
    reads = edges_of(result, "CAN_READ_SECRET", sa("team-b", "secret-lister"))
    assert f"{C}/secret/kube-system/legacy-bot-token" in reads
    assert "aws:access-key/AKIAOLDKEY0000000001" not in reads
    exported = json.loads((tmp_path / "kubernetes" / "test" / "rbac.json").read_text())
    secrets = {i["metadata"]["name"]: i for i in exported["items"] if i["kind"] == "Secret"}
    assert all("data" not in s for s in secrets.values())  # metadata only: no value, not even a token
    assert secrets["old-aws-key"]["type"] == "Opaque"  # types still known, from the Type column
    assert secrets["legacy-bot-token"]["type"] == "kubernetes.io/service-account-token"


def test_denied_lists_are_recorded_and_make_coverage_partial(plane, tmp_path):
    run = _collect_cli(plane, tmp_path, LIMITED_TOKEN)
    assert run.exit_code == 0, run.output
    log = json.loads((tmp_path / "kubernetes" / "collection.json").read_text())
    denied = {p["call"] for p in log["problems"] if p["kind"] == "denied"}
    assert "list /apis/rbac.authorization.k8s.io/v1/clusterrolebindings" in denied
    assert "list /api/v1/secrets" in denied
    result = collect_offline(tmp_path / "kubernetes")
    assert result.coverage.status == "partial"
    assert any("denied: list /api/v1/pods" in note for note in result.coverage.notes)


def test_paging_with_small_pages_yields_the_same_graph(plane, live, tmp_path):
    from kubernetes import config
    api_client = config.new_client_from_config(config_file=str(plane.kubeconfig(READER_TOKEN, "pages")))
    collect_live(tmp_path, [("test", api_client)], read_secret_data=True, quiet=True, page_size=3)
    paged = collect_offline(tmp_path / "kubernetes")
    _, whole = live
    assert {n["id"] for n in paged.nodes} == {n["id"] for n in whole.nodes}
    assert len(paged.edges) == len(whole.edges)


def test_folder_names_from_contexts():
    assert folder_name("arn:aws:eks:eu-west-1:111111111111:cluster/prod-eks") == "prod-eks"
    assert folder_name("gke_lumen_europe-west1_analytics") == "gke_lumen_europe-west1_analytics"
    assert folder_name("../etc") == "etc"


# --- graph: namespaces, identities, cross-stack ----------------------------------------------------


def test_namespaces_carry_environment_from_labels(live):
    _, result = live
    ns = {n["id"]: n for n in result.nodes if n["kind"] == "namespace"}
    env = environments(result.nodes)  # the policy reads the labels the collector passes on as tags
    assert env(ns[f"{C}/ns/team-a"]["id"]) == "prod"
    assert env(ns[f"{C}/ns/team-b"]["id"]) == "nonprod"


def test_workload_identity_and_aws_auth(live):
    _, result = live
    fed = edges_of(result, "FEDERATES_TO", sa("team-a", "app"))
    assert set(fed) == {"aws:arn:aws:iam::111111111111:role/team-a-app",
                        "gcp:serviceAccount/team-a-app@lumen-analytics.iam.gserviceaccount.com",
                        "entra:appId/6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b"}
    user = f"{C}/user/platform-admin:{{{{SessionName}}}}"
    assert user in edges_of(result, "FEDERATES_TO", "aws:arn:aws:iam::111111111111:role/platform-admins")
    assert f"{C}/group/system:masters" in edges_of(result, "MEMBER_OF", user)
    assert edges_of(result, "HAS_PERMISSION", f"{C}/group/system:masters")[C]["level"] == "admin"


def test_pods_are_properties_of_their_service_accounts(live):
    _, result = live
    nodes = {n["id"]: n for n in result.nodes}
    assert nodes[sa("team-a", "app")]["pods"] == ["team-a/web"]
    debug = nodes[sa("team-a", "debug")]
    assert debug["privileged_pods"] == ["team-a/privileged-debug"] == debug["host_path_pods"]


def test_cluster_admin_through_a_rolebinding_is_admin_of_that_namespace_only(live):
    _, result = live
    perms = edges_of(result, "HAS_PERMISSION", f"{C}/user/team-b-admin")
    assert set(perms) == {f"{C}/ns/team-b"} and perms[f"{C}/ns/team-b"]["level"] == "admin"


def test_wildcard_role_aggregated_into_admin_makes_admin_bindings_admin(live):
    _, result = live
    perm = edges_of(result, "HAS_PERMISSION", f"{C}/user/ns-admin")[f"{C}/ns/team-a"]
    assert perm["level"] == "admin" and "* *" in perm["actions"]


# --- escalation techniques: present with the right, absent without ---------------------------------


def test_pod_create_runs_as_every_sa_of_the_namespace_and_get_pods_does_not(live):
    _, result = live
    run_as = edges_of(result, "CAN_RUN_AS", sa("team-a", "pod-creator"))
    assert {sa("team-a", "app"), sa("team-a", "debug")} <= set(run_as)
    assert run_as[sa("team-a", "app")]["techniques"][0] == "k8s.pods.create"
    assert not any(t.startswith(f"{C}/sa/team-b/") for t in run_as)
    assert transfers(result, sa("team-a", "get-pods-only")) == {}


def test_pod_exec_reaches_the_pods_service_accounts_only(live):
    _, result = live
    run_as = edges_of(result, "CAN_RUN_AS", sa("team-a", "exec-user"))
    by_exec = {target for target, e in run_as.items() if e["techniques"][0] == "k8s.pods.exec"}
    assert by_exec == {sa("team-a", "app"), sa("team-a", "debug")}  # the no-token pod mounts nothing
    # It may exec into the privileged pod too, hence every token of that node.
    assert run_as[sa("kube-system", "legacy-bot")]["techniques"][0] == "k8s.nodes.token-steal"
    assert run_as[sa("team-a", "app")]["techniques"][0] == "k8s.pods.exec"
    assert run_as[sa("team-a", "app")]["pod"] == "team-a/web"


def test_pod_patch_and_workload_patch(live):
    _, result = live
    assert set(edges_of(result, "CAN_RUN_AS", sa("team-a", "pod-patcher"))) == {
        sa("team-a", "app"), sa("team-a", "debug")}
    workload = edges_of(result, "CAN_RUN_AS", sa("team-a", "deploy-patcher"))
    assert sa("team-a", "pod-creator") in workload  # any SA: the template can name it
    assert workload[sa("team-a", "pod-creator")]["techniques"][0] == "k8s.workloads.patch"


def test_exec_into_a_privileged_pod_steals_every_token_on_its_node(live):
    _, result = live
    run_as = edges_of(result, "CAN_RUN_AS", sa("team-a", "debug-exec"))
    assert run_as[sa("team-a", "debug")]["techniques"][0] == "k8s.pods.exec"
    assert run_as[sa("kube-system", "legacy-bot")]["techniques"][0] == "k8s.nodes.token-steal"
    assert run_as[sa("team-a", "app")]["techniques"][0] == "k8s.nodes.token-steal"


def test_nodes_proxy_reaches_every_pod_with_a_token(live):
    _, result = live
    run_as = edges_of(result, "CAN_RUN_AS", sa("team-b", "node-proxier"))
    assert set(run_as) == {sa("team-a", "app"), sa("team-a", "debug"), sa("kube-system", "legacy-bot")}
    assert {e["techniques"][0] for e in run_as.values()} == {"k8s.nodes.proxy"}


def test_listing_secrets_in_kube_system_reads_tokens_and_cloud_keys(live):
    _, result = live
    reads = edges_of(result, "CAN_READ_SECRET", sa("team-b", "secret-lister"))
    assert {f"{C}/secret/kube-system/legacy-bot-token", "aws:access-key/AKIAOLDKEY0000000001"} <= set(reads)
    # Everything else it reads is a token the 1.20 token controller made for a kube-system SA.
    assert all(t.startswith(f"{C}/secret/kube-system/") for t in set(reads) - {"aws:access-key/AKIAOLDKEY0000000001"})
    assert reads["aws:access-key/AKIAOLDKEY0000000001"]["secret"] == "kube-system/old-aws-key"
    assert not edges_of(result, "CAN_READ_SECRET", sa("team-a", "exec-user"))


def test_token_request_is_limited_to_the_named_service_account(live):
    _, result = live
    mint = edges_of(result, "CAN_CREATE_CREDENTIAL", sa("team-b", "token-minter"))
    assert set(mint) == {sa("team-a", "app")}


def test_impersonation_of_a_named_user_and_of_service_accounts(live):
    _, result = live
    assert set(edges_of(result, "CAN_ASSUME", f"{C}/user/mallory")) == {f"{C}/user/admin-bob"}
    assumed = edges_of(result, "CAN_ASSUME", sa("team-b", "impersonator"))
    assert sa("team-a", "app") in assumed and not any(t.startswith(f"{C}/sa/team-b/") for t in assumed)


def test_bind_and_escalate_grant_and_creating_bindings_alone_does_not(live):
    _, result = live
    assert f"{C}/ns/team-b" in edges_of(result, "CAN_GRANT", sa("team-b", "binder"))
    assert f"{C}/ns/team-b" in edges_of(result, "CAN_GRANT", sa("team-b", "escalator"))
    assert edges_of(result, "CAN_GRANT", sa("team-b", "binding-writer")) == {}


def test_csr_approval_mints_a_system_masters_certificate(live):
    _, result = live
    mint = edges_of(result, "CAN_CREATE_CREDENTIAL", sa("team-b", "csr-approver"))
    assert mint[f"{C}/group/system:masters"]["techniques"][0] == "k8s.certificates.csr-approve"
    assert edges_of(result, "CAN_CREATE_CREDENTIAL", sa("team-b", "binder")) == {}


# --- what the API server enforces beyond rule matching (issue 14): real requests as each account -------

SEM = "sem-subjects"


def _forbidden(call: Any) -> bool:
    """Run one request; True if the API server refuses it (403), False if it succeeds."""
    from kubernetes.client.rest import ApiException
    try:
        call()
    except ApiException as exc:
        if exc.status == 403:
            return True
        raise
    return False


def _as_service_account(plane: ControlPlane, namespace: str, name: str, **impersonate: str) -> Any:
    """An API client holding a real token of the service account (TokenRequest), optionally impersonating."""
    from kubernetes import client
    core = client.CoreV1Api(plane.api_client(ADMIN_TOKEN))
    request = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=["https://kubernetes.default.svc"], expiration_seconds=600))
    token = core.create_namespaced_service_account_token(name, namespace, request).status.token
    api_client = plane.api_client(token)
    for header, value in impersonate.items():
        api_client.set_default_header(f"Impersonate-{header.capitalize()}", value)
    return api_client


def _binding(name: str, kind: str, role_kind: str, role: str, namespace: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
            "subjects": [{"kind": "User", "name": "crosspath-probe"}]}


WIDEN = {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}
GRANT_HOLDERS = [(SEM, n) for n in ("bind-cr-crb", "bind-cr-rb", "bind-roles-rb", "bind-roles-crb", "bind-named",
                                    "bind-named-missing", "bind-roles-empty-ns", "escalate-cr",
                                    "escalate-kinds-crossed", "escalate-roles", "escalate-create-only", "bind-only",
                                    "escalate-only", "cluster-scoped-in-ns")] + [
    ("team-b", n) for n in ("binder", "binding-writer", "escalator")]


def _server_grants(plane: ControlPlane, namespace: str, name: str) -> set[str]:
    """Where the API server lets this account bind an admin role or widen an existing role (dry runs).

    The cluster: a ClusterRoleBinding to cluster-admin, or any rule added to the ClusterRole sem-editor.
    A namespace: a RoleBinding there to cluster-admin, sem-editor or a Role of that namespace (not a role
    the account is itself bound to: holding a role's rules lets anyone bind it, and that grants nothing
    new), or any rule added to a Role there.
    """
    from kubernetes import client
    admin = client.RbacAuthorizationV1Api(plane.api_client(ADMIN_TOKEN))
    rbac = client.RbacAuthorizationV1Api(_as_service_account(plane, namespace, name))
    namespaces = [n.metadata.name for n in client.CoreV1Api(plane.api_client(ADMIN_TOKEN)).list_namespace().items]
    reached = set()
    cluster_role = admin.read_cluster_role("sem-editor")
    cluster_role.rules = [*cluster_role.rules, WIDEN]
    if not _forbidden(lambda: rbac.create_cluster_role_binding(
            _binding("probe", "ClusterRoleBinding", "ClusterRole", "cluster-admin"), dry_run="All")) or \
            not _forbidden(lambda: rbac.replace_cluster_role("sem-editor", cluster_role, dry_run="All")):
        reached.add(C)
    subject = f"system:serviceaccount:{namespace}:{name}"
    for ns in namespaces:
        own = {b.role_ref.name for b in admin.list_namespaced_role_binding(ns).items
               if any(f"system:serviceaccount:{s.namespace}:{s.name}" == subject for s in b.subjects or [])}
        roles = [r for r in admin.list_namespaced_role(ns).items if r.metadata.name not in own]
        refs = [("ClusterRole", "cluster-admin"), ("ClusterRole", "sem-editor")] + [
            ("Role", r.metadata.name) for r in roles]
        for role_kind, role in refs:
            body = _binding("probe", "RoleBinding", role_kind, role, ns)
            if not _forbidden(lambda ns=ns, body=body: rbac.create_namespaced_role_binding(ns, body, dry_run="All")):
                reached.add(f"{C}/ns/{ns}")
        for role in roles:
            role.rules = [*(role.rules or []), WIDEN]
            if not _forbidden(lambda ns=ns, role=role: rbac.replace_namespaced_role(
                    role.metadata.name, ns, role, dry_run="All")):
                reached.add(f"{C}/ns/{ns}")
    return reached


def test_can_grant_is_exactly_where_the_api_server_lets_a_binding_or_role_escalate(plane, live):
    _, result = live
    namespaces = {n["id"] for n in result.nodes if n["kind"] == "namespace"}
    mismatches = []
    for namespace, name in GRANT_HOLDERS:
        drawn = set(edges_of(result, "CAN_GRANT", sa(namespace, name)))
        if C in drawn:
            drawn |= namespaces  # the cluster holds every namespace
        server = _server_grants(plane, namespace, name)
        if C in server:
            server |= namespaces
        if drawn != server:
            mismatches.append((name, sorted(drawn - server), sorted(server - drawn)))
    assert mismatches == []


def test_impersonation_edges_are_exactly_what_the_api_server_lets_each_account_impersonate(plane, live):
    from kubernetes import client
    _, result = live
    review = client.V1SelfSubjectAccessReview(spec=client.V1SelfSubjectAccessReviewSpec(
        resource_attributes=client.V1ResourceAttributes(verb="list", resource="nodes")))
    targets = {f"{C}/group/system:masters": {"user": "crosspath-probe", "group": "system:masters"},
               f"{C}/user/mallory": {"user": "mallory"}}
    targets.update({sa(ns, n): {"user": f"system:serviceaccount:{ns}:{n}"}
                    for ns, n in (("sem-empty", "target"), ("sem-roles", "target"), ("team-a", "app"))})
    mismatches = []
    for holder in ("imp-star", "imp-all-resources", "imp-wrong-group", "imp-in-namespace"):
        drawn = set(edges_of(result, "CAN_ASSUME", sa(SEM, holder))) & set(targets)
        server = set()
        for target, headers in targets.items():
            authz = client.AuthorizationV1Api(_as_service_account(plane, SEM, holder, **headers))
            if not _forbidden(lambda authz=authz: authz.create_self_subject_access_review(review)):
                server.add(target)
        if drawn != server:
            mismatches.append((holder, sorted(drawn - server), sorted(server - drawn)))
    assert mismatches == []
    assert f"{C}/group/system:masters" in edges_of(result, "CAN_ASSUME", sa(SEM, "imp-star"))


def test_a_role_binding_cannot_reach_cluster_scoped_resources_and_the_graph_agrees(plane, live):
    from kubernetes import client
    _, result = live
    for name, allowed in (("cluster-scoped-in-ns", False), ("cluster-scoped-crb", True)):
        api_client = _as_service_account(plane, SEM, name)
        core, rbac = client.CoreV1Api(api_client), client.RbacAuthorizationV1Api(api_client)
        storage = client.StorageV1Api(api_client)
        storage_class = {"metadata": {"name": "probe"}, "provisioner": "example.com/none"}
        calls = [core.list_node, core.list_persistent_volume, core.list_namespace,
                 partial(storage.create_storage_class, storage_class, dry_run="All"),
                 partial(rbac.create_cluster_role_binding,
                         # a role it already holds (system:authenticated): no bind needed
                         _binding("probe", "ClusterRoleBinding", "ClusterRole", "system:basic-user"), dry_run="All")]
        assert [not _forbidden(call) for call in calls] == [allowed] * len(calls), name
    assert not [e for e in result.edges if e["source"] == sa(SEM, "cluster-scoped-in-ns")
                and e["kind"] not in ("MEMBER_OF",)]
    assert edges_of(result, "HAS_PERMISSION", sa(SEM, "cluster-scoped-crb"))[C]["level"] == "write"
    # A RoleBinding does reach its own Namespace object: get / delete, never list.
    core = client.CoreV1Api(_as_service_account(plane, SEM, "own-namespace"))
    assert not _forbidden(lambda: core.read_namespace("sem-roles"))
    assert not _forbidden(lambda: core.delete_namespace("sem-roles", dry_run="All"))
    assert _forbidden(lambda: core.read_namespace("sem-empty")) and _forbidden(core.list_namespace)
    perm = edges_of(result, "HAS_PERMISSION", sa(SEM, "own-namespace"))
    assert set(perm) == {f"{C}/ns/sem-roles"}
    assert set(perm[f"{C}/ns/sem-roles"]["actions"]) == {"get namespaces", "delete namespaces"}


def test_bind_or_escalate_alone_is_write_not_admin(live):
    _, result = live
    for name in ("bind-only", "escalate-only"):
        assert {t: e["level"] for t, e in edges_of(result, "HAS_PERMISSION", sa(SEM, name)).items()} == {
            f"{C}/ns/sem-roles": "write"}


def test_list_or_watch_on_secrets_reads_every_legacy_token_of_the_namespace(plane, live):
    from kubernetes import client, watch
    _, result = live
    tokens = {n["id"] for n in result.nodes if n["kind"] == "token" and n["id"].startswith(f"{C}/secret/sem-tokens/")}
    owners = {e["target"] for e in result.edges if e["kind"] == "AUTHENTICATES" and e["source"] in tokens}
    assert f"{C}/secret/sem-tokens/old-bot-token" in tokens and sa("sem-tokens", "old-bot") in owners
    for name in ("secret-watcher", "secret-list-only"):
        assert set(edges_of(result, "CAN_READ_SECRET", sa(SEM, name))) == tokens
    lister = client.CoreV1Api(_as_service_account(plane, SEM, "secret-list-only"))
    listed = {s.metadata.name: s for s in lister.list_namespaced_secret("sem-tokens").items}
    assert (listed["old-bot-token"].data or {}).get("token")  # a list carries every value
    watcher = client.CoreV1Api(_as_service_account(plane, SEM, "secret-watcher"))
    seen = {event["object"].metadata.name: event["object"] for event in watch.Watch().stream(
        watcher.list_namespaced_secret, "sem-tokens", timeout_seconds=2)}
    assert (seen["old-bot-token"].data or {}).get("token")  # so does a watch
    getter = client.CoreV1Api(_as_service_account(plane, SEM, "secret-get-other"))
    assert _forbidden(lambda: getter.read_namespaced_secret("old-bot-token", "sem-tokens"))
    assert edges_of(result, "CAN_READ_SECRET", sa(SEM, "secret-get-other")) == {}


# --- oracle: effective permissions == SubjectAccessReview ----------------------------------------

SUBJECTS = [
    *(service_account_user("team-a", n) for n in
      ("app", "pod-creator", "get-pods-only", "exec-user", "pod-patcher", "deploy-patcher", "debug-exec")),
    *(service_account_user("team-b", n) for n in
      ("secret-lister", "token-minter", "impersonator", "binder", "escalator", "node-proxier", "csr-approver")),
    ("mallory", ["system:authenticated"]), ("ns-admin", ["system:authenticated"]),
    ("team-b-admin", ["system:authenticated"]), ("dana", ["dev-team", "system:authenticated"]),
    ("mo", ["monitoring-team", "system:authenticated"]), ("nobody", []),
    ("platform-admin", ["system:masters"]),
]
VERBS = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "impersonate",
         "bind", "escalate", "approve", "*"]
RESOURCES = [("", "pods", None), ("", "pods", "exec"), ("", "secrets", None), ("", "serviceaccounts", None),
             ("", "serviceaccounts", "token"), ("", "configmaps", None), ("", "nodes", None), ("", "nodes", "proxy"),
             ("", "users", None), ("apps", "deployments", None), ("batch", "cronjobs", None),
             ("rbac.authorization.k8s.io", "roles", None), ("rbac.authorization.k8s.io", "rolebindings", None),
             ("rbac.authorization.k8s.io", "clusterroles", None), ("example.com", "widgets", None),
             ("certificates.k8s.io", "certificatesigningrequests", "approval"),
             ("certificates.k8s.io", "signers", None)]
NAMESPACES = ["team-a", "team-b", "kube-system", ""]
NAMES = [None, "app", "privileged-debug", "admin-bob", "kubernetes.io/kube-apiserver-client"]
URLS = [("get", "/metrics"), ("get", "/debug/pprof"), ("post", "/metrics"), ("get", "/healthz"),
        ("get", "/api"), ("get", "/logs")]


AUTH = ["system:authenticated"]
TEAM_B_SA = service_account_user("team-b", "binder")
# Cases every matrix contains, with the answer the manifests intend (wildcard aggregated into admin,
# RoleBinding -> ClusterRole scoping, groups, implicit SA groups, resourceNames, masters).
KNOWN = [
    (("ns-admin", AUTH, "delete", "example.com", "widgets", None, "team-a", None), True),
    (("ns-admin", AUTH, "delete", "example.com", "widgets", None, "team-b", None), False),
    (("team-b-admin", AUTH, "get", "", "secrets", None, "team-b", None), True),
    (("team-b-admin", AUTH, "get", "", "secrets", None, "team-a", None), False),
    (("team-b-admin", AUTH, "get", "", "secrets", None, "", None), False),
    (("dana", ["dev-team", *AUTH], "create", "apps", "deployments", None, "team-a", None), True),
    (("dana", ["dev-team", *AUTH], "create", "apps", "deployments", None, "team-b", None), False),
    (("mo", ["monitoring-team", *AUTH], "list", "", "nodes", None, "", None), True),
    ((TEAM_B_SA[0], TEAM_B_SA[1], "list", "", "pods", None, "team-b", None), True),
    ((TEAM_B_SA[0], TEAM_B_SA[1], "list", "", "pods", None, "team-a", None), False),
    ((*service_account_user("team-b", "token-minter"), "create", "", "serviceaccounts", "token", "team-a", "app"),
     True),
    ((*service_account_user("team-b", "token-minter"), "create", "", "serviceaccounts", "token", "team-a",
      "debug"), False),
    (("platform-admin", ["system:masters"], "*", "*", "*", None, "", None), True),
    (("nobody", [], "get", "", "configmaps", None, "team-a", None), False),
    (("mallory", AUTH, "get", "", "configmaps", None, "team-a", None), True),
]


def _matrix(size: int) -> list[tuple[Any, ...]]:
    rng = random.Random(6)
    cases = set()
    while len(cases) < size:
        user, groups = rng.choice(SUBJECTS)
        cases.add((user, tuple(groups), rng.choice(VERBS), *rng.choice(RESOURCES), rng.choice(NAMESPACES),
                   rng.choice(NAMES)))
    return sorted(cases, key=str)


def _review(authz_api: Any, user: str, groups: tuple[str, ...], **attributes: Any) -> bool:
    from kubernetes import client
    if "path" in attributes:
        spec = client.V1SubjectAccessReviewSpec(user=user, groups=list(groups),
                                                non_resource_attributes=client.V1NonResourceAttributes(**attributes))
    else:
        spec = client.V1SubjectAccessReviewSpec(user=user, groups=list(groups),
                                                resource_attributes=client.V1ResourceAttributes(**attributes))
    return bool(authz_api.create_subject_access_review(client.V1SubjectAccessReview(spec=spec)).status.allowed)


def test_effective_permissions_equal_subject_access_review(plane, live):
    from kubernetes import client
    out, _ = live
    authorizer = Authorizer.from_export(load_cluster(out / "kubernetes" / "test"))
    authz = client.AuthorizationV1Api(plane.api_client(ADMIN_TOKEN))
    for (user, groups, verb, group, resource, sub, namespace, name), intended in KNOWN:
        attributes = {"verb": verb, "group": group, "resource": resource, "subresource": sub,
                      "namespace": namespace or None, "name": name}
        assert _review(authz, user, tuple(groups), **attributes) is intended, (user, attributes)
        assert authorizer.allowed(user, groups, verb, group, resource, namespace, name, sub) is intended
    cases = _matrix(900)
    mismatches, allowed = [], 0
    for user, groups, verb, group, resource, sub, namespace, name in cases:
        expected = _review(authz, user, groups, verb=verb, group=group, resource=resource, subresource=sub,
                           namespace=namespace or None, name=name)
        computed = authorizer.allowed(user, list(groups), verb, group, resource, namespace, name, sub)
        allowed += expected
        if expected != computed:
            mismatches.append((user, verb, group, resource, sub, namespace, name, expected))
    for user, groups in SUBJECTS:
        for verb, path in URLS:
            expected = _review(authz, user, tuple(groups), verb=verb, path=path)
            if expected != authorizer.allowed_url(user, list(groups), verb, path):
                mismatches.append((user, verb, path, expected))
    assert mismatches == [], f"{len(mismatches)} of {len(cases)} differ"
    assert min(allowed, len(cases) - allowed) >= 50  # the matrix exercises both answers


# --- offline: kubectl dumps of the same server give the same graph -------------------------------


def _kubectl() -> str:
    found = CACHE / "bin" / "kubectl"
    if found.is_file():
        return str(found)
    if shutil.which("kubectl"):
        return str(shutil.which("kubectl"))
    raise AssertionError(f"kubectl missing: run .ci/kubernetes.sh (builds it into {CACHE}/bin)")


def test_offline_kubectl_dumps_yield_the_live_graph(plane, live, tmp_path):
    kubectl, kubeconfig = _kubectl(), str(plane.kubeconfig(READER_TOKEN, "kubectl"))
    folder = tmp_path / "kubernetes" / "test"
    folder.mkdir(parents=True)
    for file, what in (("rbac.json", "serviceaccounts,roles,rolebindings,clusterroles,clusterrolebindings,secrets"),
                       ("namespaces.json", "namespaces"), ("workloads.json", "pods,nodes")):
        dump = subprocess.run([kubectl, "--kubeconfig", kubeconfig, "get", what, "-A", "-o", "json"],
                              check=True, capture_output=True, text=True).stdout
        (folder / file).write_text(dump)
    aws_auth = subprocess.run([kubectl, "--kubeconfig", kubeconfig, "get", "configmap", "aws-auth", "-n",
                               "kube-system", "-o", "json"], check=True, capture_output=True, text=True).stdout
    (folder / "aws-auth.json").write_text(aws_auth)
    offline = collect_offline(tmp_path / "kubernetes")
    _, live_result = live
    assert not offline.errors
    key = lambda e: (e["source"], e["target"], e["kind"], e["via"])
    assert {n["id"] for n in offline.nodes} == {n["id"] for n in live_result.nodes}
    assert {key(e) for e in offline.edges} == {key(e) for e in live_result.edges}


def test_several_contexts_in_one_run(plane, tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    ca = plane.folder / "certs" / "apiserver.crt"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "east",
        "clusters": [{"name": "shared", "cluster": {"server": plane.url, "certificate-authority": str(ca)}}],
        "users": [{"name": "reader", "user": {"token": READER_TOKEN}}],
        "contexts": [{"name": n, "context": {"cluster": "shared", "user": "reader"}}
                     for n in ("east", "arn:aws:eks:eu-west-1:111111111111:cluster/west")]}))
    run = CliRunner().invoke(main, ["collect", "kubernetes", "--kubeconfig", str(kubeconfig), "--context", "east",
                                    "--context", "arn:aws:eks:eu-west-1:111111111111:cluster/west",
                                    "--out", str(tmp_path / "out"), "--quiet"])
    assert run.exit_code == 0, run.output
    assert "collected 2 cluster(s)" in run.output
    result = collect_offline(tmp_path / "out" / "kubernetes")
    assert result.coverage.scopes == ["k8s:east", "k8s:west"]
    assert "k8s:west/sa/team-a/app" in {n["id"] for n in result.nodes}


def test_unknown_context_is_a_clear_error(plane, tmp_path):
    run = _collect_cli(plane, tmp_path, READER_TOKEN, "--context", "nope")
    assert run.exit_code != 0 and "cannot load the Kubernetes configuration" in run.output


def test_in_cluster_collection_with_a_service_account_token(plane, tmp_path, monkeypatch):
    """--in-cluster with a real token of a service account bound to the shipped crosspath-reader role.

    Only the two file paths a pod would have (/var/run/secrets/...) and the service env vars are provided
    by the test; config loading, token authentication and RBAC are the real ones.
    """
    from kubernetes import client
    from kubernetes.config import incluster_config
    admin = plane.api_client(ADMIN_TOKEN)
    core, rbac = client.CoreV1Api(admin), client.RbacAuthorizationV1Api(admin)
    core.create_namespaced_service_account("kube-system", {"metadata": {"name": "crosspath"}})
    rbac.create_cluster_role_binding({
        "metadata": {"name": "crosspath-in-cluster"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "crosspath-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "crosspath", "namespace": "kube-system"}]})
    request = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=["https://kubernetes.default.svc"], expiration_seconds=600))
    token = core.create_namespaced_service_account_token("crosspath", "kube-system", request).status.token
    (tmp_path / "token").write_text(token)
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(tmp_path / "token"))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(plane.folder / "certs" / "apiserver.crt"))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(plane.port))
    run = CliRunner().invoke(main, ["collect", "kubernetes", "--in-cluster", "--cluster-name", "inside",
                                    "--out", str(tmp_path / "out"), "--quiet"])
    assert run.exit_code == 0, run.output
    log = json.loads((tmp_path / "out" / "kubernetes" / "collection.json").read_text())
    assert log["problems"] == [] and log["scopes"] == ["k8s:inside"]
    result = collect_offline(tmp_path / "out" / "kubernetes")
    assert "k8s:inside/sa/kube-system/crosspath" in {n["id"] for n in result.nodes}
    assert token not in (tmp_path / "out" / "kubernetes" / "inside" / "rbac.json").read_text()


def test_an_unreachable_cluster_is_recorded_and_the_others_still_collected(plane, tmp_path):
    from tests.collectors.kube_cluster import free_port
    kubeconfig = tmp_path / "kubeconfig"
    ca = str(plane.folder / "certs" / "apiserver.crt")
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "up",
        "clusters": [{"name": "up", "cluster": {"server": plane.url, "certificate-authority": ca}},
                     {"name": "down", "cluster": {"server": f"https://127.0.0.1:{free_port()}",
                                                  "certificate-authority": ca}}],
        "users": [{"name": "reader", "user": {"token": READER_TOKEN}}],
        "contexts": [{"name": n, "context": {"cluster": n, "user": "reader"}} for n in ("up", "down")]}))
    run = CliRunner().invoke(main, ["collect", "kubernetes", "--kubeconfig", str(kubeconfig), "--context", "down",
                                    "--context", "up", "--out", str(tmp_path / "out"), "--quiet"])
    assert run.exit_code == 0, run.output
    log = json.loads((tmp_path / "out" / "kubernetes" / "collection.json").read_text())
    assert [(p["scope"], p["kind"]) for p in log["problems"]] == [("down", "failed")]
    assert "cluster unreachable" in log["problems"][0]["error"]
    result = collect_offline(tmp_path / "out" / "kubernetes")
    assert result.coverage.scopes == ["k8s:up"] and result.coverage.status == "partial"


def _action_attributes(action: str, namespace: str | None) -> dict[str, Any]:
    """'create deployments.apps (web)' / 'get pods/exec' / 'get /debug/*' -> SubjectAccessReview attributes."""
    verb, _, rest = action.partition(" ")
    target, _, names = rest.partition(" (")
    if target.startswith("/"):
        return {"verb": verb, "path": target.replace("*", "x")}
    resource, _, group = target.partition(".") if target != "*" else ("*", "", "*")
    resource, _, sub = resource.partition("/")
    return {"verb": verb, "group": group, "resource": resource, "subresource": sub or None,
            "namespace": namespace, "name": names.rstrip(")").split(", ")[0] if names else None}


def test_every_permission_edge_action_is_allowed_by_the_api_server(plane, live):
    """The graph itself against the server: each sampled action of each HAS_PERMISSION edge, in its scope."""
    from kubernetes import client
    _, result = live
    authz = client.AuthorizationV1Api(plane.api_client(ADMIN_TOKEN))
    checked, denied = 0, []
    for e in result.edges:
        if e["kind"] != "HAS_PERMISSION" or e["source"].endswith("/group/system:masters"):
            continue
        kind, _, name = e["source"].removeprefix(f"{C}/").partition("/")
        if kind == "sa":
            user, groups = service_account_user(*name.split("/", 1))
        elif kind == "user":
            user, groups = name, ["system:authenticated"]
        else:
            user, groups = "crosspath-probe", [name]
        namespace = e["target"].split("/ns/", 1)[1] if "/ns/" in e["target"] else None
        for action in e["actions"]:
            checked += 1
            if not _review(authz, user, tuple(groups), **_action_attributes(action, namespace)):
                denied.append((e["source"], e["target"], action))
    print(f"{checked} sampled permission actions confirmed by SubjectAccessReview")
    assert denied == [] and checked > 200


def _technique_requests(e: dict[str, Any]) -> list[dict[str, Any]]:
    """The requests an escalation edge's `via` says its holder may make, as SubjectAccessReview attributes.

    'RoleBinding team-a/exec -> Role exec: create pods/exec (team-a/web)' -> create pods/exec named web in
    team-a; a ClusterRoleBinding's requests are cluster-wide; ' + ' joins several required requests.
    """
    binding, _, action = e["via"].partition(": ")
    namespace = binding.split(" ", 2)[1].split("/")[0] if binding.startswith("RoleBinding ") else None
    requests = []
    for part in action.split(" + "):
        verb, _, rest = part.partition(" ")
        target, _, detail = rest.partition(" ")
        inside = detail[detail.find("(") + 1:].split(",")[0].split(")")[0] if "(" in detail else ""
        resource, _, group = target.partition(".")
        if resource == "signers":
            name = inside
        elif verb == "create" and not resource.endswith(("/exec", "/attach", "/token")) or inside.startswith("type "):
            name = None
        else:
            name = inside.rsplit("/", 1)[-1] or None
        resource, _, sub = resource.partition("/")
        requests.append({"verb": verb, "group": group, "resource": resource, "subresource": sub or None,
                         "namespace": namespace, "name": name})
    return requests


def test_every_escalation_edge_rests_on_requests_the_api_server_allows(plane, live):
    from kubernetes import client
    _, result = live
    authz = client.AuthorizationV1Api(plane.api_client(ADMIN_TOKEN))
    checked, denied = 0, []
    for e in result.edges:
        if "techniques" not in e or not e["via"].startswith(("RoleBinding ", "ClusterRoleBinding ")):
            continue
        kind, _, name = e["source"].removeprefix(f"{C}/").partition("/")
        if kind == "sa":
            user, groups = service_account_user(*name.split("/", 1))
        elif kind == "user":
            user, groups = name, ["system:authenticated"]
        else:
            user, groups = "crosspath-probe", [name]
        for request in _technique_requests(e):
            checked += 1
            if not _review(authz, user, tuple(groups), **request):
                denied.append((e["source"], e["target"], e["via"], request))
    print(f"{checked} escalation-edge requests confirmed by SubjectAccessReview")
    assert denied == [] and checked > 100
