"""The policy owns the environment: a user's rule reclassifies GCP and Kubernetes resources, and
the findings follow; the default policy keeps the sample organisation's environments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from collectors.gcp import collect_offline as collect_gcp
from collectors.kubernetes import collect_offline as collect_k8s
from crosspath.pipeline import collect_folder
from graph.builder import build_graph
from queries.analysis import analyze
from queries.environment import Environments
from queries.policy import load_policy
from queries.yaml_files import ConfigError
from tests.collectors.test_kubernetes import binding, meta, role, sa, sa_subject, token, write_cluster
from tests.graph_helpers import AS_OF

ALPHA, BETA, GAMMA = "gcp:projects/alpha", "gcp:projects/beta", "gcp:projects/gamma"
FOLDER = "gcp:folders/7"


def _write(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


def _policy(tmp_path: Path, body: str | None) -> Path | None:
    if body is None:
        return None
    path = tmp_path / "policy.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def _findings(results, policy_path: Path | None) -> dict[str, Any]:
    build = build_graph(results, AS_OF)
    analysis = analyze(build.graph, {}, load_policy(policy_path), [], AS_OF)
    return {finding.entry["id"]: finding for finding in analysis.findings}


def _environments(results, policy_path: Path | None) -> Environments:
    return Environments.of_graph(build_graph(results, AS_OF).graph, load_policy(policy_path))


# --- GCP -------------------------------------------------------------------------------------------


@pytest.fixture()
def gcp_export(tmp_path: Path) -> Path:
    """alpha (label env=prod) in folder 7; beta (label team=payments) and gamma (no labels) under
    the organization; one editor per project and an editor on the folder."""
    root = tmp_path / "gcp"
    _write(root / "projects.json", [
        {"projectId": "alpha", "labels": {"env": "prod"}, "parent": {"type": "folder", "id": "7"},
         "lifecycleState": "ACTIVE"},
        {"projectId": "beta", "labels": {"team": "payments"}, "parent": {"type": "organization", "id": "1"},
         "lifecycleState": "ACTIVE"},
        {"projectId": "gamma", "parent": {"type": "organization", "id": "1"}, "lifecycleState": "ACTIVE"},
    ])
    _write(root / "folders" / "7" / "folder.json",
           {"displayName": "Workloads", "name": "folders/7", "parent": "organizations/1", "lifecycleState": "ACTIVE"})
    _write(root / "folders" / "7" / "iam-policy.json",
           {"bindings": [{"members": ["user:folder-editor@x.com"], "role": "roles/editor"}], "version": 1})
    for project in ("alpha", "beta", "gamma"):
        _write(root / "projects" / project / "iam-policy.json",
               {"bindings": [{"members": [f"user:{project}-editor@x.com"], "role": "roles/editor"}], "version": 1})
    return root


GCP_POLICY = """
environment:
  nonprod:
    ids: ["gcp:projects/alpha"]
  prod:
    tags: {team: [payments]}
    name_globs: ["gamma*"]
"""


def test_default_policy_reads_gcp_labels_and_the_folder_takes_its_prod_project(gcp_export, tmp_path):
    results = [collect_gcp(gcp_export)]
    env = _environments(results, None)
    assert (env(ALPHA), env(BETA), env(GAMMA), env(FOLDER)) == ("prod", "unknown", "unknown", "prod")
    found = _findings(results, None)
    assert set(found) == {"gcp:user/alpha-editor@x.com", "gcp:user/folder-editor@x.com"}


def test_user_policy_reclassifies_gcp_projects_and_the_findings_follow(gcp_export, tmp_path):
    results = [collect_gcp(gcp_export)]
    policy = _policy(tmp_path, GCP_POLICY)
    env = _environments(results, policy)
    # ids beat the env=prod label; a tag rule and a name rule make the unlabelled projects prod
    assert (env(ALPHA), env(BETA), env(GAMMA)) == ("nonprod", "prod", "prod")
    assert env(FOLDER) == "nonprod"  # derived from the policy's answer on its project, alpha
    found = _findings(results, policy)
    assert set(found) == {"gcp:user/beta-editor@x.com", "gcp:user/gamma-editor@x.com"}
    assert found["gcp:user/beta-editor@x.com"].target["environment"] == "prod"


def test_the_folder_follows_its_projects_reclassified_by_the_policy(gcp_export, tmp_path):
    results = [collect_gcp(gcp_export)]
    policy = _policy(tmp_path, 'environment:\n  nonprod:\n    ids: ["gcp:projects/alpha"]\n')
    env = _environments(results, policy)
    assert (env(ALPHA), env(FOLDER)) == ("nonprod", "nonprod")
    assert _findings(results, policy) == {}  # the folder editor's finding is gone with alpha's
    # ...unless the policy names the folder itself: ids beat what its contents derive
    policy = _policy(tmp_path, 'environment:\n  nonprod:\n    ids: ["gcp:projects/alpha"]\n'
                               '  prod:\n    ids: ["gcp:folders/7"]\n')
    assert set(_findings(results, policy)) == {"gcp:user/folder-editor@x.com"}


# --- Kubernetes --------------------------------------------------------------------------------------


def _writer(ns: str) -> list[dict[str, Any]]:
    """A service account with a legacy token and write (deployments) in its namespace."""
    return [
        sa("app", ns),
        token("app-token", ns, "app"),
        role("writer", ns, [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["create", "update"]}]),
        binding("app-writer", ns, "Role", "writer", [sa_subject("app", ns)]),
    ]


@pytest.fixture()
def k8s_export(tmp_path: Path) -> Path:
    """EKS cluster c1 tagged env=prod; namespace shop unlabelled, namespace lab labelled env=dev."""
    cluster = {"cluster": {"name": "c1", "arn": "arn:aws:eks:us-east-1:111111111111:cluster/c1",
                           "tags": {"env": "prod"}}}
    namespaces = [{"apiVersion": "v1", "kind": "Namespace", "metadata": meta("shop")},
                  {"apiVersion": "v1", "kind": "Namespace", "metadata": meta("lab", labels={"env": "dev"})}]
    return write_cluster(tmp_path / "kubernetes", "c1", _writer("shop") + _writer("lab"), cluster=cluster,
                         namespaces=namespaces).parent


SHOP_KEY, LAB_KEY = "k8s:c1/secret/shop/app-token", "k8s:c1/secret/lab/app-token"


def test_default_policy_reads_cluster_tags_and_namespace_labels(k8s_export):
    results = [collect_k8s(k8s_export)]
    env = _environments(results, None)
    assert (env("k8s:c1"), env("k8s:c1/ns/shop"), env("k8s:c1/ns/lab")) == ("prod", "prod", "nonprod")
    assert set(_findings(results, None)) == {SHOP_KEY}


def test_user_policy_reclassifies_a_cluster_and_a_namespace_and_the_findings_follow(k8s_export, tmp_path):
    results = [collect_k8s(k8s_export)]
    policy = _policy(tmp_path, 'environment:\n  nonprod:\n    ids: ["k8s:c1"]\n  prod:\n    ids: ["k8s:c1/ns/lab"]\n')
    env = _environments(results, policy)
    # the unlabelled namespace inherits the reclassified cluster; ids beat the lab's env=dev label
    assert (env("k8s:c1"), env("k8s:c1/ns/shop"), env("k8s:c1/ns/lab")) == ("nonprod", "nonprod", "prod")
    found = _findings(results, policy)
    assert set(found) == {LAB_KEY}
    assert found[LAB_KEY].gap_types[0] == "LONG_LIVED_NHI_KEY"


def test_a_tag_rule_reclassifies_a_namespace(k8s_export, tmp_path):
    results = [collect_k8s(k8s_export)]
    # env=dev is nonprod by the default words; a policy that moves `dev` to prod makes lab prod
    policy = _policy(tmp_path, "environment:\n  prod:\n    words: [prod, production, dev]\n"
                               "  nonprod:\n    words: [test, staging]\n")
    assert _environments(results, policy)("k8s:c1/ns/lab") == "prod"
    assert set(_findings(results, policy)) == {SHOP_KEY, LAB_KEY}


# --- the sample organisation -------------------------------------------------------------------------

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
# What the engine gave the sample's 46 resources before the policy owned the environment
# (collectors deciding GCP / Kubernetes from labels): every resource not listed here is prod.
SAMPLE_NONPROD = {
    "aws:account/222222222222",
    "aws:arn:aws:s3:::lumen-dev-scratch",
    "entra:azure/subscriptions/5a1b0000-0000-4000-8000-0000000000d1",
    "entra:azure/subscriptions/5a1b0000-0000-4000-8000-0000000000d1/resourceGroups/rg-scratch",
    "gcp:folders/301234567891",
    "gcp:projects/lumen-sandbox",
}
SAMPLE_UNKNOWN = {
    ("entra:azure/subscriptions/5a1b0000-0000-4000-8000-0000000000a1/resourceGroups/rg-payroll/providers/"
     "Microsoft.Compute/virtualMachines/vm-payroll"),
    "entra:tenant/6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f",
}


def test_default_policy_gives_the_sample_organisation_the_same_environments():
    graph = build_graph(collect_folder(SAMPLES), AS_OF).graph
    env = Environments.of_graph(graph, load_policy())
    got = {node: env(node) for node, data in graph.nodes(data=True) if data["family"] == "Resource"}
    assert len(got) == 46
    assert {node for node, value in got.items() if value == "nonprod"} == SAMPLE_NONPROD
    assert {node for node, value in got.items() if value == "unknown"} == SAMPLE_UNKNOWN
    assert {"gcp:organizations/123456789012", "gcp:folders/301234567890", "gcp:buckets/lumen-data-prod-exports",
            "k8s:gke-analytics/ns/default", "mysql:billing-prod/db/billing/table/report_cache"} <= {
        node for node, value in got.items() if value == "prod"}
    # none of them is stated by a GCP or Kubernetes collector any more: the policy read their tags
    assert all(graph.nodes[node].get("environment", "unknown") == "unknown"
               for node in got if node.startswith(("gcp:", "k8s:")))


# --- the one word list ---------------------------------------------------------------------------------


def test_one_word_list_serves_tags_and_names():
    policy = load_policy()
    assert policy.environment_of("x", "lumen-non-prod-db", None) == "nonprod"  # a two-part word, before prod
    assert policy.environment_of("x", "pre-prod-cache", None) == "nonprod"
    assert policy.environment_of("x", "data", ["Environment=Pre-Prod"]) == "nonprod"
    assert policy.environment_of("x", "data", ["stage=live"]) == "prod"
    assert policy.environment_of("x", "data", ["owner=prod"]) == "unknown"  # not an environment tag key
    # the policy's ids and tags override what a source stated; a stated value beats name words
    assert policy.environment_of("x", "dev-box", ["env=prod"], stated="nonprod") == "prod"
    assert policy.environment_of("x", "dev-box", None, stated="prod") == "prod"


def test_a_tag_list_is_decided_once_and_every_resource_with_it_gets_that_answer():
    """Resources share a few tag lists: each is decided once (a memo), and a list that cannot be a key
    (a label that is not a string) is still decided, the same way, without it."""
    policy = load_policy()
    for _ in range(2):
        assert policy.tag_environment(["env=prod", "team=a"]) == "prod"
        assert policy.tag_environment(["env=dev"]) == "nonprod"
        assert policy.tag_environment([]) is None and policy.tag_environment(None) is None
    assert policy.tag_environment(["env=prod", ["not", "a", "string"]]) == "prod"
    assert len(policy._tag_environments) == 3  # the three lists that can be keys, once each


def test_a_word_in_both_lists_is_an_error(tmp_path):
    path = _policy(tmp_path, "environment:\n  prod:\n    words: [prod, dev]\n")
    with pytest.raises(ConfigError, match="share \\['dev'\\]"):
        load_policy(path)
