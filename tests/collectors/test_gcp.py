"""GCP offline collector: gcloud JSON exports -> records."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from collectors.gcp import collect_offline
from collectors.gcp.members import parse_member
from collectors.gcp.resources import transform_project
from collectors.gcp.roles import classify_role, custom_role_level
from collectors.gcp.service_accounts import transform_keys
from graph.records import RecordOrigin, validate_records
from tests.graph_helpers import environments

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "samples" / "gcp"
PROD = "gcp:projects/lumen-data-prod"
ORG = "gcp:organizations/123456789012"
PROD_FOLDER = "gcp:folders/301234567890"
SANDBOX = "lumen-sandbox"


def sa(name: str, project: str = "lumen-data-prod") -> str:
    return f"gcp:serviceAccount/{name}@{project}.iam.gserviceaccount.com"


def write(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def nodes_by_id(result) -> dict[str, dict]:
    return {record["id"]: record for record in result.nodes}


def edges_of(result, kind: str) -> list[dict]:
    return [record for record in result.edges if record["kind"] == kind]


def key(email: str, key_id: str, key_type: str, after: str, before: str, **extra: Any) -> dict:
    return {"keyAlgorithm": "KEY_ALG_RSA_2048", "keyOrigin": "GOOGLE_PROVIDED", "keyType": key_type,
            "name": f"projects/p1/serviceAccounts/{email}/keys/{key_id}",
            "validAfterTime": after, "validBeforeTime": before, **extra}


@pytest.fixture(scope="module")
def sample():
    return collect_offline(SAMPLE)


# --- the sample organisation -------------------------------------------------------------


def test_sample_loads_cleanly_and_every_record_validates(sample):
    assert sample.errors == []
    assert sample.coverage.status == "complete"
    checked = validate_records(sample.nodes, sample.edges, RecordOrigin("gcp"))
    assert checked.errors == []
    assert len(checked.nodes) == len(sample.nodes) and len(checked.edges) == len(sample.edges)
    assert sample.coverage.scopes == [PROD_FOLDER, "gcp:folders/301234567891", ORG, PROD, "gcp:projects/lumen-sandbox"]
    assert any(f.endswith("projects/lumen-data-prod/iam-policy.json") for f in sample.coverage.files)


def test_sample_projects_take_environment_from_labels(sample):
    nodes = nodes_by_id(sample)
    env = environments(sample.nodes)  # the policy decides from the labels the collector passes on
    assert env(PROD) == "prod"
    assert nodes[PROD]["labels"] == ["env=prod", "team=data"]
    assert nodes[PROD]["scope"] == PROD_FOLDER and nodes[PROD_FOLDER]["scope"] == ORG
    assert nodes[PROD_FOLDER]["name"] == "Production" and env(PROD_FOLDER) == "prod"
    assert env("gcp:folders/301234567891") == "nonprod"
    assert "gcp:projects/482910375612" in nodes[PROD]["aliases"]
    assert env("gcp:projects/lumen-sandbox") == "nonprod"
    # org-level write reaches every project, so an org holding a prod project is prod
    assert env(ORG) == "prod"
    assert nodes[ORG]["name"] == "lumenfreight.com"


def test_sample_keys_only_user_managed_become_credentials(sample):
    nodes = nodes_by_id(sample)
    keys = {r["id"]: r for r in sample.nodes if r["family"] == "Credential"}
    assert set(keys) == {
        sa("legacy-exporter") + "/key/9f8e7d6c5b4a39281706f5e4d3c2b1a098765432",
        sa("fresh-loader") + "/key/1a2b3c4d5e6f708192a3b4c5d6e7f80912345678",
        sa("archiver") + "/key/0badc0de0badc0de0badc0de0badc0de0badc0de",
        sa("build-bot", SANDBOX) + "/key/b0b0b0b0c1c1c1c1d2d2d2d2e3e3e3e3f4f4f4f4",
        sa("report-bot", SANDBOX) + "/key/5e5e5e5e6f6f6f6f7a7a7a7a8b8b8b8b9c9c9c9c",
    }
    legacy = keys[sa("legacy-exporter") + "/key/9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"]
    assert legacy["kind"] == "sa_key"
    assert legacy["expires"] is None and legacy["enabled"] is True
    assert legacy["created"] == "2025-09-27T08:14:31Z"
    archiver = keys[sa("archiver") + "/key/0badc0de0badc0de0badc0de0badc0de0badc0de"]
    assert archiver["enabled"] is False
    assert sample.coverage.counts["skipped.system_managed_keys"] == 8
    assert sample.coverage.counts["read.user_managed_keys"] == 5
    auth = edges_of(sample, "AUTHENTICATES")
    assert {(e["source"], e["target"]) for e in auth} == {(k, k.rsplit("/key/", 1)[0]) for k in keys}
    assert all(e["mfa"] is False for e in auth)
    assert not any("etl-runner" in k for k in keys)  # etl-runner has only system-managed keys
    assert nodes[sa("etl-runner")]["human"] is False


def test_sample_workload_identity_sets_federated_subjects_without_edges(sample):
    runner = nodes_by_id(sample)[sa("etl-runner")]
    assert runner["federated_subjects"] == ["system:serviceaccount:analytics:etl-worker"]
    assert runner["workload_identity_pools"] == ["lumen-data-prod.svc.id.goog"]
    # GKE: the Kubernetes side emits FEDERATES_TO; only the GitHub pool principal federates from here
    [github] = edges_of(sample, "FEDERATES_TO")
    assert github["source"] == "external:oidc/token.actions.githubusercontent.com/repo:lumenfreight/infra:*"
    assert github["target"] == sa("deploy-relay")
    repo = nodes_by_id(sample)[github["source"]]
    assert repo["provider"] == "external" and repo["oidc_subject"] == "repo:lumenfreight/infra:*"
    # the KSA's direct grant points at its alias; no second node for the workload
    assert not any(r["id"].startswith("gcp:workloadIdentity/") for r in sample.nodes)
    direct = next(e for e in edges_of(sample, "HAS_PERMISSION") if e["role"] == "roles/storage.objectViewer")
    assert direct["source"] == "gcp:workloadIdentity/lumen-data-prod.svc.id.goog/analytics/etl-worker"


def test_sample_permissions_and_levels(sample):
    perms = {(e["source"], e["target"]): e for e in edges_of(sample, "HAS_PERMISSION")}
    priya = perms[("gcp:user/priya.nair@lumenfreight.com", PROD)]
    assert priya["level"] == "admin"
    # the organization's deny policy no-sa-keys takes iam.serviceAccountKeys.create away from everyone
    assert priya["via"] == "roles/owner on projects/lumen-data-prod (deny no-sa-keys removes 1 permission)"
    assert priya["denied_permissions"] == ["iam.serviceAccountKeys.create"]
    assert not any(e["kind"] == "CAN_CREATE_CREDENTIAL" for e in sample.edges)
    assert priya["actions"] == ["roles/owner"]
    assert perms[(sa("etl-runner"), PROD)]["level"] == "write"
    assert perms[(sa("legacy-exporter"), PROD)]["level"] == "write"  # editor
    assert perms[(sa("fresh-loader"), "gcp:buckets/lumen-data-prod-exports")]["level"] == "admin"
    assert perms[(sa("fresh-loader"), PROD)]["level"] == "write"
    assert perms[(sa("archiver"), PROD)]["level"] == "write"
    assert perms[("gcp:group/analysts@lumenfreight.com", PROD)]["level"] == "read"
    assert perms[("gcp:group/gcp-org-admins@lumenfreight.com", ORG)]["level"] == "admin"
    assert perms[("gcp:user/tom.baker@lumenfreight.com", "gcp:projects/lumen-sandbox")]["level"] == "write"


def test_sample_users_have_unknown_mfa_and_a_coverage_note(sample):
    priya = nodes_by_id(sample)["gcp:user/priya.nair@lumenfreight.com"]
    assert priya["kind"] == "User" and priya["human"] is True
    assert priya["mfa"] is None and priya["email"] == "priya.nair@lumenfreight.com"
    assert any("2-Step Verification" in note for note in sample.coverage.notes)
    assert any("group membership" in note for note in sample.coverage.notes)


def test_sample_project_editors_and_owners_can_run_as_every_project_sa(sample):
    run_as = {(e["source"], e["target"]) for e in edges_of(sample, "CAN_RUN_AS")}
    others = {sa("legacy-exporter"), sa("fresh-loader"), sa("archiver"), sa("deploy-relay")}
    agent = "gcp:serviceAccount/482910375612@cloudservices.gserviceaccount.com"
    # never to itself; editor's deploymentmanager.deployments.create runs as the Google APIs agent
    assert {t for s, t in run_as if s == sa("etl-runner")} == others | {agent}
    assert {t for s, t in run_as if s == "gcp:user/priya.nair@lumenfreight.com"} == others | {sa("etl-runner"), agent}
    # Google's own service agent is editor too, but nobody can drive it
    assert not any("cloudservices" in s for s, _ in run_as)
    edge = next(e for e in edges_of(sample, "CAN_RUN_AS") if e["source"] == sa("etl-runner"))
    assert "roles/editor on projects/lumen-data-prod" in edge["via"] and edge["mfa_required"] is False


def test_sample_service_agents_are_scoped_to_their_project(sample):
    agent = nodes_by_id(sample)["gcp:serviceAccount/482910375612@cloudservices.gserviceaccount.com"]
    assert agent["google_managed"] is True and agent["scope"] == PROD


# --- members, roles, labels ------------------------------------------------------------------


GITHUB_PRINCIPAL = ("principal://iam.googleapis.com/projects/482910375612/locations/global/workloadIdentityPools/"
                    "github/subject/repo:lumen/app:ref:refs/heads/main")
GITHUB_REPO_SET = ("principalSet://iam.googleapis.com/projects/111/locations/global/workloadIdentityPools/gh/"
                   "attribute.repository/lumen/app")


@pytest.mark.parametrize(
    ("raw", "kind", "node_id"),
    [
        ("user:Priya.Nair@lumenfreight.com", "user", "gcp:user/priya.nair@lumenfreight.com"),
        ("group:analysts@lumenfreight.com", "group", "gcp:group/analysts@lumenfreight.com"),
        ("serviceAccount:etl-runner@lumen-data-prod.iam.gserviceaccount.com", "serviceAccount",
         sa("etl-runner")),
        ("domain:lumenfreight.com", "domain", "gcp:domain/lumenfreight.com"),
        ("allUsers", "public", "gcp:allUsers"),
        ("allAuthenticatedUsers", "public", "gcp:allAuthenticatedUsers"),
        ("deleted:user:old.admin@lumenfreight.com?uid=123456789012345678901", "deleted", None),
        ("deleted:serviceAccount:gone@p.iam.gserviceaccount.com?uid=1", "deleted", None),
        ("projectEditor:lumen-data-prod", "convenience", None),
        (GITHUB_PRINCIPAL, "external", f"external:{GITHUB_PRINCIPAL}"),
        ("principalSet://iam.googleapis.com/locations/global/workforcePools/contractors/group/eng", "external",
         "external:principalSet://iam.googleapis.com/locations/global/workforcePools/contractors/group/eng"),
        ("serviceAccount:lumen-data-prod.svc.id.goog[analytics/etl-worker]", "gke_workload",
         "gcp:workloadIdentity/lumen-data-prod.svc.id.goog/analytics/etl-worker"),
        ("bogus:thing", "unknown", None),
        ("justtext", "unknown", None),
    ],
)
def test_parse_member_every_type(raw, kind, node_id):
    member = parse_member(raw)
    assert member.type == kind
    assert member.node_id == node_id
    if node_id is None:
        assert member.note  # skipped members are always explained


def test_parse_member_gke_principal_forms_give_kubernetes_subjects():
    single = parse_member("principal://iam.googleapis.com/projects/482910375612/locations/global/"
                          "workloadIdentityPools/lumen-data-prod.svc.id.goog/subject/ns/analytics/sa/etl-worker")
    assert single.type == "gke_workload"
    assert single.k8s_subject == "system:serviceaccount:analytics:etl-worker"
    namespace = parse_member("principalSet://iam.googleapis.com/projects/482910375612/locations/global/"
                             "workloadIdentityPools/lumen-data-prod.svc.id.goog/namespace/analytics")
    assert namespace.k8s_subject == "system:serviceaccount:analytics:*"


@pytest.mark.parametrize(
    ("role", "resource_kind", "level"),
    [
        ("roles/owner", "project", "admin"),
        ("roles/editor", "project", "write"),
        ("roles/viewer", "project", "read"),
        ("roles/resourcemanager.organizationAdmin", "organization", "admin"),
        ("roles/resourcemanager.projectIamAdmin", "project", "admin"),
        ("roles/resourcemanager.folderAdmin", "folder", "admin"),
        ("roles/iam.securityAdmin", "project", "admin"),
        ("roles/iam.roleAdmin", "project", "admin"),
        ("roles/storage.admin", "project", "write"),
        ("roles/storage.admin", "bucket", "admin"),
        ("roles/compute.instanceAdmin.v1", "project", "write"),
        ("roles/secretmanager.secretAccessor", "project", "read"),
        ("roles/cloudsql.admin", "project", "write"),
        ("roles/storage.objectAdmin", "bucket", "write"),
        ("roles/storage.objectCreator", "project", "write"),
        ("roles/bigquery.dataEditor", "project", "write"),
        ("roles/pubsub.editor", "project", "write"),
        ("roles/artifactregistry.writer", "project", "write"),
        ("roles/cloudfunctions.developer", "project", "write"),
        ("roles/bigquery.user", "project", "write"),
        ("roles/storage.objectViewer", "project", "read"),
        ("roles/bigquery.dataViewer", "project", "read"),
        ("roles/artifactregistry.reader", "project", "read"),
        ("roles/logging.viewer", "project", "read"),
        ("roles/iam.serviceAccountTokenCreator", "project", "read"),
    ],
)
def test_role_level_table(role, resource_kind, level):
    assert classify_role(role, {}, resource_kind).level == level


def test_unknown_roles_are_read_and_flagged_unknown():
    result = classify_role("roles/run.invoker")
    assert (result.level, result.known) == ("read", False)
    assert classify_role("projects/p1/roles/notExported").known is False
    assert classify_role("roles/storage.admin").known is True


def test_custom_roles_are_classified_from_permissions():
    assert custom_role_level(["storage.buckets.get", "storage.objects.list"]) == "read"
    assert custom_role_level(["storage.objects.get", "storage.objects.create"]) == "write"
    assert custom_role_level(["bigquery.tables.updateData"]) == "write"
    assert custom_role_level(["resourcemanager.projects.setIamPolicy", "storage.objects.get"]) == "admin"
    roles = {"organizations/1/roles/deployer": ["run.services.update", "iam.serviceAccounts.actAs"]}
    assert classify_role("organizations/1/roles/deployer", roles).level == "write"


@pytest.mark.parametrize(
    ("labels", "environment"),
    [
        ({"env": "prod"}, "prod"),
        ({"environment": "Production"}, "prod"),
        ({"env": "dev"}, "nonprod"),
        ({"env": "test"}, "nonprod"),
        ({"environment": "staging"}, "nonprod"),
        ({"env": "sandbox"}, "nonprod"),
        ({"team": "data"}, "unknown"),
        ({"env": "shared"}, "unknown"),
        (None, "unknown"),
    ],
)
def test_labels_to_environment(labels, environment):
    project = transform_project({"projectId": "p1", **({"labels": labels} if labels is not None else {})})
    assert environments([project])("gcp:projects/p1") == environment


# --- keys ----------------------------------------------------------------------------------------


def test_transform_keys_filters_and_dates():
    email = "app@p1.iam.gserviceaccount.com"
    keys = [
        key(email, "a" * 40, "USER_MANAGED", "2026-01-01T00:00:00Z", "9999-12-31T23:59:59Z"),
        key(email, "b" * 40, "USER_MANAGED", "2026-01-01T00:00:00Z", "2026-04-01T00:00:00Z",
            disabled=True, disableReason="SERVICE_ACCOUNT_KEY_DISABLE_REASON_USER_INITIATED"),
        key(email, "c" * 40, "SYSTEM_MANAGED", "2026-10-20T00:00:00Z", "2026-11-05T00:00:00Z"),
        {"keyType": "USER_MANAGED"},  # no name: reported, the rest still loads
    ]
    result = transform_keys(email, keys, "gcp:projects/p1", "keys.json")
    by_id = {r["key_id"]: r for r in result.nodes}
    assert set(by_id) == {"a" * 40, "b" * 40}
    assert by_id["a" * 40]["expires"] is None and by_id["a" * 40]["enabled"] is True
    assert by_id["b" * 40]["expires"] == "2026-04-01T00:00:00Z" and by_id["b" * 40]["enabled"] is False
    assert result.system_managed == 1 and result.user_managed == 2
    assert len(result.errors) == 1 and result.errors[0].field == "name" and result.errors[0].file == "keys.json"
    assert all(e["target"] == "gcp:serviceAccount/app@p1.iam.gserviceaccount.com" for e in result.edges)


# --- transfer edges, conditions, hierarchy, buckets ---------------------------------------------------------


def small_export(tmp_path: Path, project_policy: dict, sa_policy: dict | None = None) -> Path:
    write(tmp_path / "projects.json", [
        {"labels": {"env": "prod"}, "lifecycleState": "ACTIVE", "name": "p1", "parent": {"id": "9", "type": "folder"},
         "projectId": "p1", "projectNumber": "111"}])
    write(tmp_path / "folders" / "9" / "folder.json",
          {"displayName": "prod", "lifecycleState": "ACTIVE", "name": "folders/9", "parent": "organizations/1"})
    write(tmp_path / "folders" / "9" / "iam-policy.json",
          {"bindings": [{"members": ["user:folder.owner@x.com"], "role": "roles/owner"}], "etag": "BwX=", "version": 1})
    write(tmp_path / "projects" / "p1" / "iam-policy.json", project_policy)
    write(tmp_path / "projects" / "p1" / "service-accounts.json", [
        {"email": "app@p1.iam.gserviceaccount.com", "name": "projects/p1/serviceAccounts/app@p1.iam.gserviceaccount.com",
         "projectId": "p1", "uniqueId": "1"},
        {"disabled": True, "email": "old@p1.iam.gserviceaccount.com",
         "name": "projects/p1/serviceAccounts/old@p1.iam.gserviceaccount.com", "projectId": "p1", "uniqueId": "2"}])
    if sa_policy is not None:
        write(tmp_path / "projects" / "p1" / "service-accounts" / "app@p1.iam.gserviceaccount.com" / "iam-policy.json",
              sa_policy)
    return tmp_path


APP = "gcp:serviceAccount/app@p1.iam.gserviceaccount.com"
OLD = "gcp:serviceAccount/old@p1.iam.gserviceaccount.com"


def test_sa_policy_roles_become_transfer_edges(tmp_path):
    folder = small_export(tmp_path, {"etag": "ACAB"}, {
        "bindings": [
            {"members": ["user:dev@x.com"], "role": "roles/iam.serviceAccountTokenCreator"},
            {"members": ["group:ci@x.com"], "role": "roles/iam.serviceAccountUser"},
            {"members": ["serviceAccount:old@p1.iam.gserviceaccount.com"], "role": "roles/iam.serviceAccountKeyAdmin"},
            {"members": [GITHUB_REPO_SET], "role": "roles/iam.workloadIdentityUser"},
        ], "etag": "BwY=", "version": 1})
    result = collect_offline(folder)
    assert result.errors == []
    got = {(e["kind"], e["source"], e["target"]) for e in result.edges if e["kind"] != "HAS_PERMISSION"}
    assert ("CAN_IMPERSONATE", "gcp:user/dev@x.com", APP) in got
    assert ("CAN_RUN_AS", "gcp:group/ci@x.com", APP) not in got  # actAs alone: nothing to run code in
    assert ("CAN_CREATE_CREDENTIAL", OLD, APP) in got
    federates = edges_of(result, "FEDERATES_TO")
    assert len(federates) == 1 and federates[0]["target"] == APP
    assert nodes_by_id(result)[federates[0]["source"]]["provider"] == "external"
    impersonate = next(e for e in result.edges if e["kind"] == "CAN_IMPERSONATE")
    assert impersonate["via"] == "roles/iam.serviceAccountTokenCreator on serviceAccounts/app@p1.iam.gserviceaccount.com"
    # a service account's own policy is not a resource: no HAS_PERMISSION into it
    assert not any(e["target"] == APP for e in edges_of(result, "HAS_PERMISSION"))
    assert nodes_by_id(result)[OLD]["enabled"] is False


def test_project_level_token_creator_covers_every_sa_and_folder_owner_is_inherited(tmp_path):
    folder = small_export(tmp_path, {"bindings": [
        {"members": ["user:ops@x.com"], "role": "roles/iam.serviceAccountTokenCreator"}], "etag": "BwY=", "version": 1})
    result = collect_offline(folder)
    impersonate = {(e["source"], e["target"]) for e in edges_of(result, "CAN_IMPERSONATE")}
    assert impersonate == {("gcp:user/ops@x.com", APP), ("gcp:user/ops@x.com", OLD)}
    run_as = {(e["source"], e["target"]) for e in edges_of(result, "CAN_RUN_AS")}
    assert run_as == {("gcp:user/folder.owner@x.com", APP), ("gcp:user/folder.owner@x.com", OLD),
                      ("gcp:user/folder.owner@x.com", "gcp:serviceAccount/111@cloudservices.gserviceaccount.com")}
    folder_edge = next(e for e in edges_of(result, "HAS_PERMISSION") if e["target"] == "gcp:folders/9")
    assert folder_edge["level"] == "admin"
    nodes = nodes_by_id(result)
    assert environments(result.nodes)("gcp:folders/9") == "prod"  # holds the prod project p1
    assert nodes["gcp:projects/p1"]["scope"] == "gcp:folders/9"


def test_condition_is_kept_and_noted(tmp_path):
    folder = small_export(tmp_path, {"bindings": [
        {"condition": {"expression": "request.time < timestamp(\"2026-12-01T00:00:00Z\")",
                       "title": "temporary-access"},
         "members": ["user:contractor@x.com"], "role": "roles/editor"}], "etag": "BwY=", "version": 3})
    result = collect_offline(folder)
    edge = next(e for e in edges_of(result, "HAS_PERMISSION") if e["source"] == "gcp:user/contractor@x.com")
    assert edge["conditions"] == ['temporary-access: request.time < timestamp("2026-12-01T00:00:00Z")']
    assert edge["level"] == "write" and "(conditional)" in edge["via"]
    assert result.coverage.counts["read.conditional_bindings"] == 1
    assert any("not evaluated" in note for note in result.coverage.notes)
    assert validate_records(result.nodes, result.edges, RecordOrigin("gcp")).errors == []


def test_public_and_deleted_members_are_noted(tmp_path):
    folder = small_export(tmp_path, {"bindings": [
        {"members": ["allUsers", "deleted:user:gone@x.com?uid=123"], "role": "roles/viewer"}],
        "etag": "BwY=", "version": 1})
    result = collect_offline(folder)
    assert nodes_by_id(result)["gcp:allUsers"]["public"] is True
    assert not any("gone@x.com" in r["id"] for r in result.nodes)
    assert any("deleted principal" in note for note in result.coverage.notes)
    assert any("allUsers" in note for note in result.coverage.notes)


def test_bucket_policy_storage_admin_is_admin_of_the_bucket(tmp_path):
    folder = small_export(tmp_path, {"etag": "ACAB"})
    write(folder / "projects" / "p1" / "buckets" / "lumen-exports" / "iam-policy.json",
          {"bindings": [{"members": ["serviceAccount:app@p1.iam.gserviceaccount.com"], "role": "roles/storage.admin"},
                        {"members": ["projectViewer:p1"], "role": "roles/storage.legacyBucketReader"}],
           "etag": "CAE=", "version": 1})
    result = collect_offline(folder)
    bucket = nodes_by_id(result)["gcp:buckets/lumen-exports"]
    assert environments(result.nodes)(bucket["id"]) == "prod" and bucket["scope"] == "gcp:projects/p1"
    edge = next(e for e in edges_of(result, "HAS_PERMISSION") if e["target"] == "gcp:buckets/lumen-exports")
    assert edge["source"] == APP and edge["level"] == "admin"


def test_custom_role_with_act_as_gives_run_as(tmp_path):
    folder = small_export(tmp_path, {"bindings": [
        {"members": ["user:deployer@x.com"], "role": "projects/p1/roles/deployer"}], "etag": "BwY=", "version": 1})
    write(folder / "projects" / "p1" / "custom-roles.json", [
        {"etag": "BwY=", "includedPermissions": ["iam.serviceAccounts.actAs", "run.services.update"],
         "name": "projects/p1/roles/deployer", "stage": "GA", "title": "Deployer"}])
    result = collect_offline(folder)
    perm = next(e for e in edges_of(result, "HAS_PERMISSION") if e["source"] == "gcp:user/deployer@x.com")
    assert perm["level"] == "write"
    assert {e["target"] for e in edges_of(result, "CAN_RUN_AS") if e["source"] == "gcp:user/deployer@x.com"} == {APP, OLD}


# --- bad input -----------------------------------------------------------------------------------


def test_malformed_project_policy_is_reported_and_the_other_project_still_loads(tmp_path):
    folder = tmp_path / "gcp"
    shutil.copytree(SAMPLE, folder)
    bad = folder / "projects" / "lumen-sandbox" / "iam-policy.json"
    bad.write_text('{"bindings": [{"role": "roles/editor", "members": [', encoding="utf-8")
    result = collect_offline(folder)
    assert result.coverage.status == "partial"
    assert len(result.errors) == 1
    assert result.errors[0].file == str(bad)
    assert "invalid JSON" in result.errors[0].message
    perms = {(e["source"], e["target"]) for e in edges_of(result, "HAS_PERMISSION")}
    assert ("gcp:user/priya.nair@lumenfreight.com", PROD) in perms
    assert not any(target == "gcp:projects/lumen-sandbox" for _, target in perms)
    assert "gcp:projects/lumen-sandbox" in nodes_by_id(result)  # the project itself is still known


def test_bad_binding_is_reported_and_the_rest_of_the_policy_loads(tmp_path):
    folder = small_export(tmp_path, {"bindings": [
        {"members": ["user:a@x.com"]},
        {"members": "user:b@x.com", "role": "roles/viewer"},
        {"members": ["user:c@x.com"], "role": "roles/editor"}], "etag": "BwY=", "version": 1})
    result = collect_offline(folder)
    assert [(e.field, e.record) for e in result.errors] == [("role", "binding #0"),
                                                            ("members", "binding #1 (roles/viewer)")]
    assert all(e.file.endswith("projects/p1/iam-policy.json") for e in result.errors)
    assert any(e["source"] == "gcp:user/c@x.com" for e in edges_of(result, "HAS_PERMISSION"))


def test_policy_that_is_not_an_object_is_reported(tmp_path):
    folder = small_export(tmp_path, [{"role": "roles/owner"}])
    result = collect_offline(folder)
    assert len(result.errors) == 1 and "JSON object" in result.errors[0].message


def test_missing_folder_is_missing_not_a_crash(tmp_path):
    result = collect_offline(tmp_path / "nope")
    assert result.coverage.status == "missing"
    assert result.errors and result.nodes == []


def test_sample_gke_workload_grant_joins_the_kubernetes_service_account_in_the_graph(sample):
    from datetime import UTC, datetime

    from collectors.kubernetes import collect_offline as collect_kubernetes
    from graph.builder import build_graph

    built = build_graph([sample, collect_kubernetes(SAMPLE.parent / "kubernetes")], datetime(2026, 11, 1, tzinfo=UTC))
    graph = built.graph
    ksa = "k8s:gke-analytics/sa/analytics/etl-worker"
    assert not any(str(n).startswith("gcp:workloadIdentity/") for n in graph.nodes)
    grants = [(t, d["level"]) for _, t, d in graph.out_edges(ksa, data=True) if d["kind"] == "HAS_PERMISSION"]
    assert grants == [(PROD, "read")]
    assert any(d["kind"] == "FEDERATES_TO" and t == sa("etl-runner") for _, t, d in graph.out_edges(ksa, data=True))


def test_sample_google_users_correlate_to_the_same_person_as_their_entra_account(sample):
    from datetime import UTC, datetime

    from collectors.entra import collect_offline as collect_entra
    from graph.builder import build_graph

    graph = build_graph([sample, collect_entra(SAMPLE.parent / "entra")], datetime(2026, 11, 1, tzinfo=UTC)).graph
    person = "person:tom.baker@lumenfreight.com"
    accounts = {s for s, _, d in graph.in_edges(person, data=True) if d["kind"] == "BELONGS_TO"}
    assert "gcp:user/tom.baker@lumenfreight.com" in accounts
    assert any(a.startswith("entra:") for a in accounts)
    # groups are not people, even with an email
    assert not any(d["kind"] == "BELONGS_TO" for _, _, d in graph.out_edges("gcp:group/analysts@lumenfreight.com",
                                                                               data=True))


def test_sample_every_edge_endpoint_is_a_gcp_node_or_a_documented_cross_stack_id(sample):
    ids = {n["id"] for n in sample.nodes}
    dangling = {end for e in sample.edges for end in (e["source"], e["target"]) if end not in ids}
    # the only ids GCP points at without emitting: the KSA's alias (joined by the builder)
    assert dangling == {"gcp:workloadIdentity/lumen-data-prod.svc.id.goog/analytics/etl-worker"}


# --- REST response shapes of service accounts and keys ----------------------------------------------------


def _accounts() -> list[dict]:
    return [{"email": "app@p1.iam.gserviceaccount.com", "name": "projects/p1/serviceAccounts/app@p1.iam.gserviceaccount.com",
             "projectId": "p1", "uniqueId": "1"},
            {"disabled": True, "email": "old@p1.iam.gserviceaccount.com",
             "name": "projects/p1/serviceAccounts/old@p1.iam.gserviceaccount.com", "projectId": "p1", "uniqueId": "2"}]


def _app_keys() -> list[dict]:
    email = "app@p1.iam.gserviceaccount.com"
    return [key(email, "a" * 40, "USER_MANAGED", "2026-01-01T00:00:00Z", "9999-12-31T23:59:59Z"),
            key(email, "c" * 40, "SYSTEM_MANAGED", "2026-10-20T00:00:00Z", "2026-11-05T00:00:00Z")]


def _with_lists(tmp_path: Path, accounts: Any, app_keys: Any, old_keys: Any) -> Path:
    folder = small_export(tmp_path, {"etag": "ACAB"})
    write(folder / "projects" / "p1" / "service-accounts.json", accounts)
    base = folder / "projects" / "p1" / "service-accounts"
    write(base / "app@p1.iam.gserviceaccount.com" / "keys.json", app_keys)
    write(base / "old@p1.iam.gserviceaccount.com" / "keys.json", old_keys)
    return folder


def _identities_and_keys(result) -> tuple[set, set, set]:
    return ({(r["id"], r["enabled"]) for r in result.nodes if r["kind"] == "ServiceIdentity"},
            {r["id"] for r in result.nodes if r["kind"] == "sa_key"},
            {(e["source"], e["target"]) for e in edges_of(result, "AUTHENTICATES")})


def test_rest_list_responses_read_like_gcloud_lists(tmp_path):
    gcloud = collect_offline(_with_lists(tmp_path / "gcloud", _accounts(), _app_keys(), []))
    # serviceAccounts.list {"accounts": [...]}, serviceAccounts.keys.list {"keys": [...]}; an empty REST list is {}
    rest = collect_offline(_with_lists(tmp_path / "rest", {"accounts": _accounts()}, {"keys": _app_keys()}, {}))
    assert gcloud.errors == [] and rest.errors == []
    assert _identities_and_keys(rest) == _identities_and_keys(gcloud)
    accounts, keys, auth = _identities_and_keys(rest)
    assert (APP, True) in accounts and (OLD, False) in accounts
    assert keys == {f"{APP}/key/{'a' * 40}"} and auth == {(f"{APP}/key/{'a' * 40}", APP)}
    assert rest.coverage.counts["skipped.system_managed_keys"] == 1


def test_rest_page_with_a_next_page_token_loads_and_says_pages_are_missing(tmp_path):
    result = collect_offline(_with_lists(tmp_path, {"accounts": _accounts()[:1], "nextPageToken": "Cg1wYWdlMg"},
                                         _app_keys(), []))
    [error] = result.errors
    assert error.file.endswith("projects/p1/service-accounts.json") and error.field == "nextPageToken"
    assert result.coverage.status == "partial"
    assert (APP, True) in _identities_and_keys(result)[0]


@pytest.mark.parametrize("what", ["accounts", "keys"])
def test_unknown_list_shape_is_an_error_naming_the_file_and_the_expected_shapes(tmp_path, what):
    wrong = {"serviceAccounts": _accounts()} if what == "accounts" else {"items": _app_keys()}
    folder = _with_lists(tmp_path, wrong if what == "accounts" else _accounts(),
                         wrong if what == "keys" else _app_keys(), [])
    result = collect_offline(folder)
    [error] = result.errors
    expected_file = "service-accounts.json" if what == "accounts" else "app@p1.iam.gserviceaccount.com/keys.json"
    assert error.file.endswith(expected_file)
    shape = '{"accounts": [...]}' if what == "accounts" else '{"keys": [...]}'
    assert "a JSON list of" in error.message and shape in error.message
    assert result.coverage.status == "partial"
