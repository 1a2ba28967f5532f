"""Kubernetes RBAC collector: sample organisation, RBAC semantics, secrets, workload identity, bad input."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from collectors.kubernetes import collect_offline
from collectors.kubernetes.rbac import Rule, classify
from graph.records import RecordOrigin, validate_records
from tests.graph_helpers import environments

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples" / "kubernetes"
RBAC = "rbac.authorization.k8s.io/v1"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def meta(name: str, ns: str | None = None, **extra: Any) -> dict[str, Any]:
    m: dict[str, Any] = {"name": name, "uid": f"uid-{ns}-{name}", "creationTimestamp": "2024-01-02T03:04:05Z"}
    if ns:
        m["namespace"] = ns
    m.update(extra)
    return m


def sa(name: str, ns: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(name, ns, annotations=annotations or {})}


def role(name: str, ns: str | None, rules: list[dict[str, Any]] | None, **extra: Any) -> dict[str, Any]:
    kind = "Role" if ns else "ClusterRole"
    obj = {"apiVersion": RBAC, "kind": kind, "metadata": meta(name, ns, labels=extra.pop("labels", {})),
           "rules": rules}
    obj.update(extra)
    return obj


def binding(name: str, ns: str | None, role_kind: str, role_name: str, subjects: list[dict[str, Any]]):
    return {"apiVersion": RBAC, "kind": "RoleBinding" if ns else "ClusterRoleBinding",
            "metadata": meta(name, ns),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name},
            "subjects": subjects}


def sa_subject(name: str, ns: str) -> dict[str, str]:
    return {"kind": "ServiceAccount", "name": name, "namespace": ns}


def secret(name: str, ns: str, data: dict[str, str], type_: str = "Opaque", **annotations: str):
    return {"apiVersion": "v1", "kind": "Secret", "type": type_, "data": {k: b64(v) for k, v in data.items()},
            "metadata": meta(name, ns, annotations=annotations)}


def token(name: str, ns: str, sa_name: str) -> dict[str, Any]:
    return secret(name, ns, {"token": f"FAKE-JWT-{name}", "namespace": ns, "ca.crt": "FAKE-CA"},
                  "kubernetes.io/service-account-token", **{"kubernetes.io/service-account.name": sa_name})


def write_cluster(root: Path, name: str, items: list[dict[str, Any]], cluster: dict | None = None,
                  aws_auth: dict | None = None, namespaces: list[dict] | None = None) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "rbac.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items,
                                                  "metadata": {"resourceVersion": ""}}))
    if cluster is not None:
        (folder / "cluster.json").write_text(json.dumps(cluster))
    if aws_auth is not None:
        (folder / "aws-auth.json").write_text(json.dumps(aws_auth))
    if namespaces is not None:
        (folder / "namespaces.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List",
                                                            "items": namespaces}))
    return folder


def collect(root: Path):
    result = collect_offline(root)
    checked = validate_records(result.nodes, result.edges, RecordOrigin("kubernetes"))
    assert checked.errors == [], [str(e) for e in checked.errors]
    return result


def edges_of(result, kind: str, source: str | None = None, target: str | None = None) -> list[dict]:
    return [e for e in result.edges if e["kind"] == kind and (source is None or e["source"] == source)
            and (target is None or e["target"] == target)]


def node_of(result, node_id: str) -> dict:
    matches = [n for n in result.nodes if n["id"] == node_id]
    assert matches, f"no node {node_id}"
    return matches[0]


# --- the sample organisation ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample():
    return collect(SAMPLES)


def test_sample_clusters_platforms_and_environments(sample):
    assert sample.errors == []
    assert sample.coverage.status == "complete"
    assert sample.coverage.scopes == ["k8s:aks-prod", "k8s:gke-analytics", "k8s:prod-eks"]
    clusters = {n["id"]: n for n in sample.nodes if n["kind"] == "cluster"}
    env = environments(sample.nodes)  # the policy reads the cluster tags / labels
    assert {c: (n["platform"], env(c)) for c, n in clusters.items()} == {
        "k8s:prod-eks": ("eks", "prod"), "k8s:aks-prod": ("aks", "prod"), "k8s:gke-analytics": ("gke", "prod")}
    assert clusters["k8s:prod-eks"]["oidc_issuer"] == \
        "https://oidc.eks.us-east-1.amazonaws.com/id/5C1E0FA4B7D04E2A9F3C"
    assert clusters["k8s:gke-analytics"]["workload_pool"] == "lumen-data-prod.svc.id.goog"
    ns = node_of(sample, "k8s:prod-eks/ns/payments")
    assert (ns["kind"], ns["scope"], env(ns["id"])) == ("namespace", "k8s:prod-eks", "prod")
    assert sample.coverage.counts["nodes.token"] == 5


def test_sample_service_accounts_and_tokens(sample):
    api = node_of(sample, "k8s:prod-eks/sa/payments/payments-api")
    assert api["human"] is False and api["kind"] == "ServiceIdentity"
    assert api["oidc_subject"] == "system:serviceaccount:payments:payments-api"
    tokens = {n["id"]: n for n in sample.nodes if n["family"] == "Credential"}
    assert set(tokens) == {
        "k8s:prod-eks/secret/payments/payments-api-token", "k8s:prod-eks/secret/ci/gitlab-runner-token",
        "k8s:prod-eks/secret/default/legacy-app-token", "k8s:gke-analytics/secret/analytics/etl-worker-token",
        "k8s:prod-eks/secret/billing/billing-api-token"}
    runner_token = tokens["k8s:prod-eks/secret/ci/gitlab-runner-token"]
    assert runner_token["kind"] == "token" and runner_token["created"] == "2023-02-14T08:03:41Z"
    assert runner_token["expires"] is None
    assert tokens["k8s:prod-eks/secret/payments/payments-api-token"]["created"].startswith("2022-06-01")
    auth = edges_of(sample, "AUTHENTICATES", "k8s:prod-eks/secret/default/legacy-app-token")
    assert [(e["target"], e["mfa"]) for e in auth] == [("k8s:prod-eks/sa/default/legacy-app", False)]


def test_sample_billing_api_irsa_and_its_legacy_token(sample):
    token = node_of(sample, "k8s:prod-eks/secret/billing/billing-api-token")
    assert (token["created"], token["expires"]) == ("2023-05-02T00:00:00Z", None)
    assert environments(sample.nodes)(node_of(sample, "k8s:prod-eks/ns/billing")["id"]) == "prod"
    fed = edges_of(sample, "FEDERATES_TO", "k8s:prod-eks/sa/billing/billing-api")
    assert [e["target"] for e in fed] == ["aws:arn:aws:iam::111111111111:role/billing-api-irsa"]


def test_sample_wildcard_role_aggregated_into_admin(sample):
    perm = edges_of(sample, "HAS_PERMISSION", "k8s:gke-analytics/sa/analytics/notebook")
    assert [(e["target"], e["level"]) for e in perm] == [("k8s:gke-analytics/ns/analytics", "admin")]
    assert perm[0]["actions"][0] == "* *"  # from analytics-crds-all, aggregated into admin


def test_sample_ci_runner_can_read_the_aws_deploy_key(sample):
    reads = edges_of(sample, "CAN_READ_SECRET", "k8s:prod-eks/sa/ci/gitlab-runner")
    assert [e["target"] for e in reads] == ["aws:access-key/AKIA5LUMENCIDEPLOY01"]
    assert reads[0]["via"] == ("RoleBinding ci/gitlab-runner-secrets -> Role secret-reader: "
                               "get secrets (ci/aws-deploy-creds)")
    perm = edges_of(sample, "HAS_PERMISSION", "k8s:prod-eks/sa/ci/gitlab-runner")
    assert [(e["target"], e["level"]) for e in perm] == [("k8s:prod-eks/ns/ci", "read")]


def test_sample_payments_worker_edit_is_write_in_payments_only(sample):
    perm = edges_of(sample, "HAS_PERMISSION", "k8s:prod-eks/sa/payments/payments-worker")
    assert [(e["target"], e["level"]) for e in perm] == [("k8s:prod-eks/ns/payments", "write")]
    assert perm[0]["via"] == "RoleBinding payments/payments-worker-edit -> ClusterRole edit"
    assert "create pods" in perm[0]["actions"] and len(perm[0]["actions"]) <= 10
    reads = edges_of(sample, "CAN_READ_SECRET", "k8s:prod-eks/sa/payments/payments-worker")
    assert [e["target"] for e in reads] == ["k8s:prod-eks/secret/payments/payments-api-token"]
    becomes = [e for e in sample.edges if e["source"] == "k8s:prod-eks/sa/payments/payments-worker"
               and e["kind"] in ("CAN_ASSUME", "CAN_RUN_AS", "CAN_CREATE_CREDENTIAL")]
    assert [e["target"] for e in becomes] == ["k8s:prod-eks/sa/payments/payments-api"]


def test_sample_workload_identity_and_aks_entra(sample):
    fed = {(e["source"], e["target"]) for e in edges_of(sample, "FEDERATES_TO")}
    assert fed == {
        ("k8s:prod-eks/sa/payments/payments-api", "aws:arn:aws:iam::111111111111:role/payments-irsa"),
        ("k8s:prod-eks/sa/default/legacy-app", "aws:arn:aws:iam::111111111111:role/payments-irsa"),
        ("k8s:prod-eks/sa/billing/billing-api", "aws:arn:aws:iam::111111111111:role/billing-api-irsa"),
        ("k8s:gke-analytics/sa/analytics/etl-worker",
         "gcp:serviceAccount/etl-runner@lumen-data-prod.iam.gserviceaccount.com"),
    }
    legacy = edges_of(sample, "FEDERATES_TO", "k8s:prod-eks/sa/default/legacy-app")[0]
    assert legacy["via"] == "IRSA annotation on default/legacy-app"
    assert legacy["oidc_subject"] == "system:serviceaccount:default:legacy-app"
    group = "k8s:aks-prod/group/b2000000-0000-4000-8000-000000000002"
    member = edges_of(sample, "MEMBER_OF", target=group)
    assert [(e["source"], e["via"]) for e in member] == [
        ("entra:b2000000-0000-4000-8000-000000000002", "AKS Entra ID integration")]
    admin = edges_of(sample, "HAS_PERMISSION", group)
    assert [(e["target"], e["level"], e["via"]) for e in admin] == [
        ("k8s:aks-prod", "admin", "ClusterRoleBinding aks-prod-admins -> ClusterRole cluster-admin")]


def test_sample_never_stores_secret_values(sample):
    rbac = json.loads((SAMPLES / "prod-eks" / "rbac.json").read_text())
    values = [v for item in rbac["items"] if item["kind"] == "Secret" for k, v in item["data"].items()
              if k in ("token", "ca.crt", "AWS_SECRET_ACCESS_KEY")]
    assert len(values) == 9
    dumped = json.dumps([sample.nodes, sample.edges, sample.coverage.to_dict()])
    for value in values:
        assert value not in dumped
        assert base64.b64decode(value).decode() not in dumped
    assert "FAKEsampleSECRET" not in dumped and "FAKE-SAMPLE-TOKEN" not in dumped
    assert "last-applied-configuration" not in dumped


# --- RBAC semantics --------------------------------------------------------------------------------


def rules(*raw: dict[str, Any]) -> list[Rule]:
    return [Rule.parse(r) for r in raw]


@pytest.mark.parametrize(
    ("raw", "cluster_scope", "level"),
    [
        ({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, True, "admin"),
        ({"apiGroups": [""], "resources": ["*"], "verbs": ["*"]}, False, "admin"),
        ({"apiGroups": [""], "resources": ["configmaps"], "verbs": ["*"]}, False, "write"),
        # bind or escalate alone changes nothing: admin only with the write it pairs with (test_rbac_pair_levels)
        ({"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["escalate"]},
         True, "write"),
        ({"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["bind"]}, False, "write"),
        ({"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["*"], "verbs": ["*"]}, False, "admin"),
        ({"apiGroups": [""], "resources": ["users", "groups"], "verbs": ["impersonate"]}, True, "admin"),
        # user impersonation is authorised cluster-wide only: a RoleBinding grants nothing
        ({"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"]}, False, None),
        ({"apiGroups": [""], "resources": ["groups"], "verbs": ["impersonate"],
          "resourceNames": ["system:masters"]}, True, "admin"),
        ({"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]}, False, "write"),
        ({"apiGroups": [""], "resources": ["pods/attach"], "verbs": ["create"]}, False, "write"),
        ({"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["patch"],
          "resourceNames": ["api"]}, False, "write"),
        ({"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list", "watch"]}, False, "read"),
        ({"nonResourceURLs": ["/metrics"], "verbs": ["get"]}, True, "read"),
        ({"nonResourceURLs": ["*"], "verbs": ["*"]}, False, None),  # ignored under a RoleBinding
    ],
)
def test_rule_levels(raw, cluster_scope, level):
    assert classify(rules(raw), cluster_scope)[0] == level


def test_actions_sample_is_bounded_and_highest_first():
    level, actions = classify(rules(
        {"apiGroups": [""], "resources": ["pods", "services", "configmaps", "secrets"],
         "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["create", "delete"]},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "resourceNames": ["db-creds"]},
    ), False)
    assert level == "write"
    assert actions[0] in ("create deployments.apps", "delete deployments.apps")
    assert "get secrets (db-creds)" in actions
    assert len(actions) == 10


def test_rule_matching_wildcards_subresources_and_resource_names():
    rule = Rule.parse({"apiGroups": [""], "resources": ["*/exec", "secrets"], "verbs": ["get"],
                       "resourceNames": ["a"]})
    assert rule.allows("get", "", "pods/exec", "a")
    assert not rule.allows("get", "", "pods/log", "a")
    assert not rule.allows("get", "", "secrets")  # a list-all request carries no name
    assert not rule.allows("get", "apps", "secrets", "a")


def test_aggregated_cluster_role_and_cluster_role_bound_in_a_namespace(tmp_path):
    items = [
        sa("ops", "team-a", None),
        role("team-admin", None, None, aggregationRule={"clusterRoleSelectors": [
            {"matchLabels": {"lumen.io/aggregate-to-team-admin": "true"}}]}),
        role("team-admin-apps", None, [{"apiGroups": ["apps"], "resources": ["deployments"],
                                        "verbs": ["create", "update"]}],
             labels={"lumen.io/aggregate-to-team-admin": "true"}),
        role("unrelated", None, [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
             labels={"lumen.io/aggregate-to-team-admin": "false"}),
        binding("ops-team-admin", "team-a", "ClusterRole", "team-admin", [sa_subject("ops", "team-a")]),
        binding("ops-admin", "team-b", "ClusterRole", "cluster-admin-like", [sa_subject("ops", "team-a")]),
        role("cluster-admin-like", None, [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]),
    ]
    result = collect(write_cluster(tmp_path, "c1", items).parent)
    perms = {(e["target"], e["level"]) for e in edges_of(result, "HAS_PERMISSION", "k8s:c1/sa/team-a/ops")}
    # the aggregated role picks up only the selected role's rules; the cluster role bound by a
    # RoleBinding is admin of that namespace, never of the cluster
    assert perms == {("k8s:c1/ns/team-a", "write"), ("k8s:c1/ns/team-b", "admin")}
    via = edges_of(result, "HAS_PERMISSION", "k8s:c1/sa/team-a/ops", "k8s:c1/ns/team-b")[0]["via"]
    assert via == "RoleBinding team-b/ops-admin -> ClusterRole cluster-admin-like"


def test_binding_to_a_missing_role_grants_nothing_and_says_so(tmp_path):
    items = [sa("x", "n", None), binding("b", "n", "Role", "ghost", [sa_subject("x", "n")])]
    result = collect(write_cluster(tmp_path, "c1", items).parent)
    assert edges_of(result, "HAS_PERMISSION") == []
    assert any("RoleBinding n/b references Role ghost" in n for n in result.coverage.notes)


def test_create_pods_runs_as_other_service_accounts_of_the_namespace_only(tmp_path):
    items = [
        sa("deployer", "apps", None), sa("api", "apps", {"eks.amazonaws.com/role-arn":
                                                          "arn:aws:iam::111111111111:role/api"}),
        sa("other", "elsewhere", None),
        role("deploy", "apps", [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["create"]}]),
        binding("deployer", "apps", "Role", "deploy", [sa_subject("deployer", "apps")]),
    ]
    result = collect(write_cluster(tmp_path, "c1", items).parent)
    run_as = edges_of(result, "CAN_RUN_AS", "k8s:c1/sa/apps/deployer")
    assert [e["target"] for e in run_as] == ["k8s:c1/sa/apps/api"]
    assert run_as[0]["via"].startswith("RoleBinding apps/deployer -> Role deploy: create deployments.apps")


# --- groups, system:masters, aws-auth -----------------------------------------------------------


def test_system_masters_is_cluster_admin_and_aws_auth_maps_into_it(tmp_path):
    aws_auth = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("aws-auth", "kube-system"), "data": {
        "mapRoles": "- rolearn: arn:aws:iam::111111111111:role/platform-admin\n  username: platform-admin\n"
                    "  groups:\n    - system:masters\n"
                    "- rolearn: arn:aws:iam::111111111111:role/eks-node\n"
                    "  username: system:node:{{EC2PrivateDNSName}}\n"
                    "  groups:\n    - system:bootstrappers\n    - system:nodes\n",
        "mapUsers": "- userarn: arn:aws:iam::111111111111:user/bob.martin\n  username: bob\n"
                    "  groups:\n    - viewers\n",
    }}
    cluster = {"cluster": {"name": "c1", "arn": "arn:aws:eks:us-east-1:111111111111:cluster/c1",
                           "tags": {"Environment": "Production"},
                           "identity": {"oidc": {"issuer": "https://oidc.example/id/1"}}}}
    result = collect(write_cluster(tmp_path, "c1", [sa("x", "n", None)], cluster=cluster,
                                   aws_auth=aws_auth).parent)
    assert environments(result.nodes)(node_of(result, "k8s:c1")["id"]) == "prod"
    fed = edges_of(result, "FEDERATES_TO", "aws:arn:aws:iam::111111111111:role/platform-admin")
    assert [e["target"] for e in fed] == ["k8s:c1/user/platform-admin"]
    assert node_of(result, "k8s:c1/user/platform-admin")["human"] is False  # reached only through AWS
    member = edges_of(result, "MEMBER_OF", "k8s:c1/user/platform-admin")
    assert [e["target"] for e in member] == ["k8s:c1/group/system:masters"]
    admin = edges_of(result, "HAS_PERMISSION", "k8s:c1/group/system:masters")
    assert [(e["target"], e["level"]) for e in admin] == [("k8s:c1", "admin")]
    assert {e["target"] for e in edges_of(result, "MEMBER_OF", "k8s:c1/user/system:node:{{EC2PrivateDNSName}}")} \
        == {"k8s:c1/group/system:bootstrappers", "k8s:c1/group/system:nodes"}
    assert [e["target"] for e in edges_of(result, "FEDERATES_TO",
                                          "aws:arn:aws:iam::111111111111:user/bob.martin")] == ["k8s:c1/user/bob"]
    assert edges_of(result, "HAS_PERMISSION", "k8s:c1/group/system:nodes") == []


def test_malformed_aws_auth_is_an_error_for_that_file_only(tmp_path):
    aws_auth = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("aws-auth", "kube-system"),
                "data": {"mapRoles": "- rolearn: [unclosed"}}
    result = collect_offline(write_cluster(tmp_path, "c1", [sa("x", "n", None)], aws_auth=aws_auth).parent)
    assert len(result.errors) == 1 and result.errors[0].file.endswith("aws-auth.json")
    assert "mapRoles" in str(result.errors[0])
    assert node_of(result, "k8s:c1/sa/n/x")


def test_implicit_service_account_groups_only_when_bound(tmp_path):
    items = [
        sa("a", "n1", None), sa("b", "n2", None),
        role("reader", None, [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]),
        binding("all-sas", None, "ClusterRole", "reader", [{"kind": "Group", "name": "system:serviceaccounts:n1"}]),
        binding("humans", None, "ClusterRole", "reader", [{"kind": "User", "name": "alice@lumenfreight.com"},
                                                           {"kind": "User", "name": "system:kube-proxy"}]),
    ]
    result = collect(write_cluster(tmp_path, "c1", items).parent)
    member = edges_of(result, "MEMBER_OF")
    assert [(e["source"], e["target"]) for e in member] == [
        ("k8s:c1/sa/n1/a", "k8s:c1/group/system:serviceaccounts:n1")]
    alice = node_of(result, "k8s:c1/user/alice@lumenfreight.com")
    assert alice["human"] is True and alice["email"] == "alice@lumenfreight.com" and alice["mfa"] is None
    assert node_of(result, "k8s:c1/user/system:kube-proxy")["human"] is False


# --- secrets -----------------------------------------------------------------------------------------

FAKE_AWS_SECRET = "FAKEawsSECRETvalueNEVERstore0000000000000"
FAKE_INI_SECRET = "FAKEiniSECRETvalueNEVERstore000000000000"
FAKE_GCP_PRIVATE_KEY = "-----BEGIN PRIVATE KEY-----\nFAKEgcpPRIVATEkeyNEVERstore\n-----END PRIVATE KEY-----\n"
FAKE_AZURE_SECRET = "FAKE~azureCLIENTsecretNEVERstore"
GCP_KEY_JSON = json.dumps({
    "type": "service_account", "project_id": "lumen-data-prod",
    "private_key_id": "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432", "private_key": FAKE_GCP_PRIVATE_KEY,
    "client_email": "legacy-exporter@lumen-data-prod.iam.gserviceaccount.com", "client_id": "1234567890",
    "token_uri": "https://oauth2.googleapis.com/token"})


GCP_KEY_TARGET = ("gcp:serviceAccount/legacy-exporter@lumen-data-prod.iam.gserviceaccount.com/key/"
                  "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432")


def secret_items() -> list[dict[str, Any]]:
    return [
        sa("reader", "apps", None), sa("named-reader", "apps", None), sa("app", "apps", None),
        sa("outsider", "other", None),
        secret("env-creds", "apps", {"AWS_ACCESS_KEY_ID": "AKIA5LUMENSVCMETRIC1",
                                     "AWS_SECRET_ACCESS_KEY": FAKE_AWS_SECRET}),
        secret("ini-creds", "apps", {"credentials": "[default]\naws_access_key_id = AKIA5LUMENETLRUNNER1\n"
                                                    f"aws_secret_access_key = {FAKE_INI_SECRET}\n"}),
        secret("gcp-key", "apps", {"key.json": GCP_KEY_JSON}),
        secret("gcp-odd-name", "apps", {"GOOGLE_CREDENTIALS": GCP_KEY_JSON}),
        secret("azure", "apps", {"AZURE_CLIENT_ID": "c3000000-0000-4000-8000-0000000000a1",
                                 "AZURE_CLIENT_SECRET": FAKE_AZURE_SECRET}),
        token("app-token", "apps", "app"),
        role("read-all", "apps", [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]),
        role("read-one", "apps", [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"],
                                   "resourceNames": ["gcp-key"]}]),
        binding("reader", "apps", "Role", "read-all", [sa_subject("reader", "apps")]),
        binding("named-reader", "apps", "Role", "read-one", [sa_subject("named-reader", "apps")]),
        role("read-all", "other", [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]),
        binding("outsider", "other", "Role", "read-all", [sa_subject("outsider", "other")]),
    ]


def test_cloud_key_ids_are_extracted_and_no_secret_value_is_recorded(tmp_path):
    result = collect(write_cluster(tmp_path, "c1", secret_items()).parent)
    reads = {e["target"] for e in edges_of(result, "CAN_READ_SECRET", "k8s:c1/sa/apps/reader")}
    assert reads == {
        "aws:access-key/AKIA5LUMENSVCMETRIC1",
        "aws:access-key/AKIA5LUMENETLRUNNER1",
        GCP_KEY_TARGET,
        "k8s:c1/secret/apps/app-token",
    }
    assert any("holds a client secret of entra:appId/c3000000-0000-4000-8000-0000000000a1" in n
               for n in result.coverage.notes)
    dumped = json.dumps([result.nodes, result.edges, result.coverage.to_dict(),
                         [e.to_dict() for e in result.errors]])
    for fake in (FAKE_AWS_SECRET, FAKE_INI_SECRET, "FAKEgcpPRIVATEkeyNEVERstore", FAKE_AZURE_SECRET,
                 "FAKE-JWT-app-token", "FAKE-CA", b64(FAKE_AWS_SECRET), b64(GCP_KEY_JSON)):
        assert fake not in dumped


def test_can_read_secret_respects_namespace_and_resource_names(tmp_path):
    result = collect(write_cluster(tmp_path, "c1", secret_items()).parent)
    named = edges_of(result, "CAN_READ_SECRET", "k8s:c1/sa/apps/named-reader")
    assert [e["target"] for e in named] == [
        GCP_KEY_TARGET]
    assert named[0]["via"] == "RoleBinding apps/named-reader -> Role read-one: get secrets (apps/gcp-key)"
    assert edges_of(result, "CAN_READ_SECRET", "k8s:c1/sa/other/outsider") == []
    # a service account's own token is not an escalation
    assert edges_of(result, "CAN_READ_SECRET", "k8s:c1/sa/apps/app") == []


def test_token_secret_without_service_account_annotation_is_an_error(tmp_path):
    bad = secret("orphan", "apps", {"token": "FAKE"}, "kubernetes.io/service-account-token")
    result = collect_offline(write_cluster(tmp_path, "c1", [sa("app", "apps", None), bad,
                                                            token("ok-token", "apps", "app")]).parent)
    assert [e.record for e in result.errors] == ["Secret apps/orphan"]
    assert "service-account.name" in result.errors[0].field
    assert node_of(result, "k8s:c1/secret/apps/ok-token")["kind"] == "token"
    assert result.coverage.status == "partial"


# --- workload identity and AKS --------------------------------------------------------------------


def test_workload_identity_annotations(tmp_path):
    items = [
        sa("irsa", "n", {"eks.amazonaws.com/role-arn": "arn:aws:iam::111111111111:role/path/app-role"}),
        sa("gke", "n", {"iam.gke.io/gcp-service-account": "loader@lumen-data-prod.iam.gserviceaccount.com"}),
        sa("azure", "n", {"azure.workload.identity/client-id": "C3000000-0000-4000-8000-0000000000A2"}),
        sa("broken", "n", {"eks.amazonaws.com/role-arn": "payments-irsa"}),
    ]
    cluster = {"name": "gke1", "selfLink": "https://container.googleapis.com/v1/projects/p1/locations/x/"
               "clusters/gke1", "workloadIdentityConfig": {"workloadPool": "p1.svc.id.goog"},
               "resourceLabels": {"env": "dev"}}
    result = collect(write_cluster(tmp_path, "gke1", items, cluster=cluster).parent)
    fed = {e["source"]: e for e in edges_of(result, "FEDERATES_TO")}
    assert fed["k8s:gke1/sa/n/irsa"]["target"] == "aws:arn:aws:iam::111111111111:role/path/app-role"
    assert fed["k8s:gke1/sa/n/irsa"]["via"] == "IRSA annotation on n/irsa"
    assert fed["k8s:gke1/sa/n/gke"]["target"] == "gcp:serviceAccount/loader@lumen-data-prod.iam.gserviceaccount.com"
    assert fed["k8s:gke1/sa/n/gke"]["workload_identity_member"] == "serviceAccount:p1.svc.id.goog[n/gke]"
    assert fed["k8s:gke1/sa/n/azure"]["target"] == "entra:appId/c3000000-0000-4000-8000-0000000000a2"
    assert fed["k8s:gke1/sa/n/azure"]["oidc_subject"] == "system:serviceaccount:n:azure"
    assert "k8s:gke1/sa/n/broken" not in fed
    assert any("n/broken" in n and "not an IAM role ARN" in n for n in result.coverage.notes)
    cluster_node = node_of(result, "k8s:gke1")
    assert (cluster_node["platform"], environments(result.nodes)(cluster_node["id"])) == ("gke", "nonprod")
    assert node_of(result, "k8s:gke1/sa/n/gke")["aliases"] == ["gcp:workloadIdentity/p1.svc.id.goog/n/gke"]


def test_aks_entra_groups_users_and_admin_group_object_ids(tmp_path):
    group_guid, user_guid, admin_guid = ("b2000000-0000-4000-8000-000000000009",
                                         "a1000000-0000-4000-8000-000000000003",
                                         "b2000000-0000-4000-8000-000000000002")
    items = [
        role("view", None, [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]),
        binding("readers", None, "ClusterRole", "view", [{"kind": "Group", "name": group_guid},
                                                        {"kind": "User", "name": user_guid}]),
    ]
    cluster = {"name": "aks1", "type": "Microsoft.ContainerService/ManagedClusters", "tags": {"env": "prod"},
               "id": "/subscriptions/s1/resourcegroups/rg/providers/Microsoft.ContainerService/managedClusters/aks1",
               "aadProfile": {"managed": True, "adminGroupObjectIDs": [admin_guid], "tenantId": "t1",
                              "enableAzureRbac": False}, "disableLocalAccounts": False}
    result = collect(write_cluster(tmp_path, "aks1", items, cluster=cluster).parent)
    assert [e["source"] for e in edges_of(result, "MEMBER_OF", target=f"k8s:aks1/group/{group_guid}")] == [
        f"entra:{group_guid}"]
    assert [e["source"] for e in edges_of(result, "FEDERATES_TO", target=f"k8s:aks1/user/{user_guid}")] == [
        f"entra:{user_guid}"]
    assert node_of(result, f"k8s:aks1/user/{user_guid}")["human"] is False  # the Entra user is the entry
    admin = edges_of(result, "HAS_PERMISSION", f"k8s:aks1/group/{admin_guid}")
    assert [(e["target"], e["level"], e["via"]) for e in admin] == [
        ("k8s:aks1", "admin", "AKS aadProfile.adminGroupObjectIDs -> ClusterRole cluster-admin")]
    assert edges_of(result, "MEMBER_OF", f"entra:{admin_guid}")
    assert any("local accounts enabled" in n for n in result.coverage.notes)


# --- bad input ---------------------------------------------------------------------------------------


def test_malformed_rbac_json_fails_that_cluster_only(tmp_path):
    write_cluster(tmp_path, "good", [sa("app", "n", None), token("app-token", "n", "app")])
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "rbac.json").write_text('{"apiVersion": "v1", "kind": "List", "items": [')
    (bad / "cluster.json").write_text(json.dumps({"cluster": {
        "name": "bad", "arn": "arn:aws:eks:us-east-1:111111111111:cluster/bad", "tags": {"env": "prod"}}}))
    result = collect(tmp_path)
    assert result.coverage.status == "partial"
    assert len(result.errors) == 1
    error = result.errors[0]
    assert error.file.endswith("bad/rbac.json") and "invalid JSON" in error.message
    assert node_of(result, "k8s:good/secret/n/app-token")
    assert environments(result.nodes)(node_of(result, "k8s:bad")["id"]) == "prod"  # what could be read still loads
    assert set(result.coverage.scopes) == {"k8s:good", "k8s:bad"}


def test_bad_items_are_reported_and_skipped(tmp_path):
    items = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"namespace": "n"}},
        sa("ok", "n", None),
        role("broken", "n", [{"apiGroups": [""], "resources": ["pods"], "verbs": "get"}]),
        binding("to-broken", "n", "Role", "broken", [sa_subject("ok", "n")]),
    ]
    result = collect_offline(write_cluster(tmp_path, "c1", items).parent)
    fields = sorted((e.record, e.field) for e in result.errors)
    assert fields == [("Role n/broken", "rules"), ("items[0] (ServiceAccount)", "metadata.name")]
    assert node_of(result, "k8s:c1/sa/n/ok")
    assert any("which is unreadable" in n for n in result.coverage.notes)


def test_not_a_kubectl_list_and_missing_folder(tmp_path):
    folder = tmp_path / "c1"
    folder.mkdir()
    (folder / "rbac.json").write_text(json.dumps({"serviceaccounts": []}))
    result = collect_offline(tmp_path)
    assert result.errors[0].field == "items" and result.errors[0].file.endswith("rbac.json")
    missing = collect_offline(tmp_path / "nope")
    assert missing.coverage.status == "missing" and missing.errors


def test_eks_access_entries_and_pod_identity_associations(tmp_path):
    folder = write_cluster(tmp_path, "eks1", [sa("api", "shop"), role("view", None, [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}])])
    admin_role, viewer = "arn:aws:iam::111111111111:role/eks-admins", "arn:aws:iam::111111111111:role/viewers"
    (folder / "eks-access.json").write_text(json.dumps({
        "accessEntries": [
            {"accessEntry": {"clusterName": "eks1", "principalArn": admin_role, "kubernetesGroups": [],
                             "username": f"{admin_role}", "type": "STANDARD"},
             "associatedAccessPolicies": [{"policyArn": "arn:aws:eks::aws:cluster-access-policy/"
                                           "AmazonEKSClusterAdminPolicy", "accessScope": {"type": "cluster"}}]},
            {"clusterName": "eks1", "principalArn": viewer, "kubernetesGroups": ["readers"],
             "username": "viewer:{{SessionName}}", "type": "STANDARD",
             "associatedAccessPolicies": [{"policyArn": "arn:aws:eks::aws:cluster-access-policy/"
                                           "AmazonEKSViewPolicy",
                                           "accessScope": {"type": "namespace", "namespaces": ["shop"]}}]},
            {"accessEntry": {"principalArn": "not-an-arn"}},
        ],
        "podIdentityAssociations": [
            {"association": {"clusterName": "eks1", "namespace": "shop", "serviceAccount": "api",
                             "roleArn": "arn:aws:iam::111111111111:role/shop-api", "associationId": "a-1"}},
            {"association": {"clusterName": "eks1", "namespace": "shop", "serviceAccount": "api"}},
        ]}))
    result = collect(tmp_path)
    admin_user = f"k8s:eks1/user/{admin_role}"
    assert edges_of(result, "FEDERATES_TO", f"aws:{admin_role}")[0]["target"] == admin_user
    assert [(e["target"], e["level"]) for e in edges_of(result, "HAS_PERMISSION", admin_user)] == [
        ("k8s:eks1", "admin")]
    viewer_user = "k8s:eks1/user/viewer:{{SessionName}}"
    assert [(e["target"], e["level"]) for e in edges_of(result, "HAS_PERMISSION", viewer_user)] == [
        ("k8s:eks1/ns/shop", "read")]
    assert edges_of(result, "MEMBER_OF", viewer_user)[0]["target"] == "k8s:eks1/group/readers"
    pod_identity = edges_of(result, "FEDERATES_TO", "k8s:eks1/sa/shop/api")
    assert [(e["target"], e["via"]) for e in pod_identity] == [
        ("aws:arn:aws:iam::111111111111:role/shop-api", "EKS Pod Identity association a-1")]
    notes = " ".join(result.coverage.notes)
    assert "accessEntries[2]: no usable principalArn" in notes and "roleArn" in notes


def test_oidc_users_keep_their_email_behind_a_username_prefix(tmp_path):
    write_cluster(tmp_path, "c1", [binding("devs", "apps", "ClusterRole", "view", [
        {"kind": "User", "name": "oidc:Alice@LumenFreight.com"}, {"kind": "User", "name": "bob@lumenfreight.com"},
        {"kind": "User", "name": "system:kube-scheduler"}, {"kind": "User", "name": "ci:deployer"}]),
        role("view", None, [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}])])
    result = collect(tmp_path)
    alice = node_of(result, "k8s:c1/user/oidc:Alice@LumenFreight.com")
    assert (alice["human"], alice["email"], alice["oidc_prefix"]) == (True, "alice@lumenfreight.com", "oidc:")
    assert node_of(result, "k8s:c1/user/bob@lumenfreight.com")["email"] == "bob@lumenfreight.com"
    for machine in ("system:kube-scheduler", "ci:deployer"):
        user = node_of(result, f"k8s:c1/user/{machine}")
        assert user["human"] is False and "email" not in user


def test_entra_group_object_ids_in_an_oidc_groups_claim_on_any_cluster(tmp_path):
    guid = "c3000000-0000-4000-8000-000000000003"
    write_cluster(tmp_path, "eks2", [binding("ops", "apps", "ClusterRole", "edit", [
        {"kind": "Group", "name": f"oidc:{guid}"}, {"kind": "Group", "name": "ops-team"}]),
        role("edit", None, [{"apiGroups": [""], "resources": ["pods"], "verbs": ["create"]}])])
    result = collect(tmp_path)
    member = edges_of(result, "MEMBER_OF", target=f"k8s:eks2/group/oidc:{guid}")
    assert [(e["source"], e["via"]) for e in member] == [
        (f"entra:{guid}", "OIDC groups claim (Entra ID group object id)")]
    assert edges_of(result, "MEMBER_OF", target="k8s:eks2/group/ops-team") == []


def test_bad_pods_and_eks_access_file_are_errors_naming_file_and_field(tmp_path):
    folder = write_cluster(tmp_path, "c1", [sa("api", "shop"),
                                            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "stray"},
                                             "spec": {"serviceAccountName": "api"}}])
    (folder / "eks-access.json").write_text("[]")
    result = collect_offline(tmp_path)
    messages = {(Path(e.file).name, e.field) for e in result.errors}
    assert ("rbac.json", "metadata.namespace / spec") in messages
    assert ("eks-access.json", "") in messages
    assert result.coverage.status == "partial"
    assert node_of(result, "k8s:c1/sa/shop/api")  # the rest still loads


def test_gke_google_groups_for_rbac(tmp_path):
    gke = {"name": "g1", "selfLink": "https://container.googleapis.com/v1/projects/p1/locations/x/clusters/g1",
           "workloadIdentityConfig": {"workloadPool": "p1.svc.id.goog"}, "resourceLabels": {"env": "prod"}}
    write_cluster(tmp_path, "g1", [binding("ops", "apps", "ClusterRole", "edit", [
        {"kind": "Group", "name": "Data-Eng@LumenFreight.com"}]),
        role("edit", None, [{"apiGroups": [""], "resources": ["pods"], "verbs": ["create"]}])], cluster=gke)
    result = collect(tmp_path)
    member = edges_of(result, "MEMBER_OF", target="k8s:g1/group/Data-Eng@LumenFreight.com")
    assert [(e["source"], e["via"]) for e in member] == [
        ("gcp:group/data-eng@lumenfreight.com", "GKE Google Groups for RBAC")]
