"""Each registered GCP escalation technique: present with its permission, absent without."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from collectors.gcp import collect_offline
from collectors.gcp.escalation import Scope, escalations, techniques
from collectors.gcp.role_catalogue import bundled_roles, parse_roles, partial_roles
from collectors.gcp.roles import classify_role

ME = "gcp:user/me@x.com"
SA_A = "gcp:serviceAccount/a@p1.iam.gserviceaccount.com"
SA_B = "gcp:serviceAccount/b@p1.iam.gserviceaccount.com"
AGENT = "gcp:serviceAccount/111@cloudservices.gserviceaccount.com"
PROJECT_SCOPE = Scope("gcp:projects/p1", "project", [SA_A, SA_B], {"bucket": ["gcp:buckets/b1"]}, [AGENT])


def found(permissions: list[str], scope: Scope = PROJECT_SCOPE, can_run: bool = False) -> set[tuple[str, str, str]]:
    return {(e.technique.id, str(e.technique.edge_kind), e.target) for e in escalations(ME, permissions, scope, can_run)}


@pytest.mark.parametrize("permission", ["iam.serviceAccounts.getAccessToken", "iam.serviceAccounts.signBlob",
                                        "iam.serviceAccounts.signJwt", "iam.serviceAccounts.implicitDelegation"])
def test_token_creator_permissions_impersonate_every_covered_sa(permission):
    assert found([permission]) == {("gcp.iam.service-account-token-creator", "CAN_IMPERSONATE", SA_A),
                                   ("gcp.iam.service-account-token-creator", "CAN_IMPERSONATE", SA_B)}
    assert found(["iam.serviceAccounts.getOpenIdToken", "iam.serviceAccounts.get"]) == set()


def test_act_as_needs_a_service_that_runs_code():
    assert found(["iam.serviceAccounts.actAs"], can_run=False) == set()
    assert found(["iam.serviceAccounts.actAs"], can_run=True) == {
        ("gcp.iam.act-as-with-compute", "CAN_RUN_AS", SA_A), ("gcp.iam.act-as-with-compute", "CAN_RUN_AS", SA_B)}


def test_key_create_mints_a_credential():
    assert found(["iam.serviceAccountKeys.create"]) == {("gcp.iam.service-account-key-create", "CAN_CREATE_CREDENTIAL", SA_A),
                                                         ("gcp.iam.service-account-key-create", "CAN_CREATE_CREDENTIAL", SA_B)}
    assert found(["iam.serviceAccountKeys.list", "iam.serviceAccountKeys.delete"]) == set()


def test_sa_set_iam_policy_can_grant_on_the_account():
    assert ("gcp.iam.service-account-set-iam-policy", "CAN_GRANT", SA_A) in found(["iam.serviceAccounts.setIamPolicy"])
    assert found(["iam.serviceAccounts.getIamPolicy"]) == set()


def test_resource_set_iam_policy_targets_the_node_kind_it_controls():
    assert found(["resourcemanager.projects.setIamPolicy"]) == {
        ("gcp.resourcemanager.set-iam-policy", "CAN_GRANT", "gcp:projects/p1")}
    # bucket setIamPolicy bound on a project governs its buckets, not the project policy
    assert found(["storage.buckets.setIamPolicy"]) == {("gcp.resourcemanager.set-iam-policy", "CAN_GRANT", "gcp:buckets/b1")}
    org = Scope("gcp:organizations/1", "organization", [], {"folder": ["gcp:folders/9"],
                                                            "project": ["gcp:projects/p1"]})
    assert found(["resourcemanager.projects.setIamPolicy"], org) == {
        ("gcp.resourcemanager.set-iam-policy", "CAN_GRANT", "gcp:projects/p1")}
    assert found(["resourcemanager.organizations.setIamPolicy"], org) == {
        ("gcp.resourcemanager.set-iam-policy", "CAN_GRANT", "gcp:organizations/1")}
    assert found(["resourcemanager.projects.getIamPolicy"], org) == set()


def test_custom_role_update_can_grant_where_the_roles_live():
    assert found(["iam.roles.update"]) == {("gcp.iam.custom-role-update", "CAN_GRANT", "gcp:projects/p1")}
    assert found(["iam.roles.get", "iam.roles.list"]) == set()
    folder = Scope("gcp:folders/9", "folder")
    assert found(["iam.roles.update"], folder) == set()  # custom roles live in orgs and projects only


def test_deployment_manager_runs_as_the_google_apis_service_agent():
    assert found(["deploymentmanager.deployments.create"]) == {("gcp.deploymentmanager.create-deployment", "CAN_RUN_AS", AGENT)}
    assert found(["deploymentmanager.deployments.list"]) == set()


def test_never_an_edge_to_oneself():
    me_scope = Scope(ME, "serviceAccount", [ME])
    assert found(["iam.serviceAccountKeys.create"], me_scope) == set()


def test_every_technique_is_registered_with_a_reference():
    assert {t.id for t in techniques()} == {"gcp.iam.service-account-token-creator", "gcp.iam.act-as-with-compute", "gcp.iam.service-account-key-create", "gcp.iam.service-account-set-iam-policy",
                               "gcp.resourcemanager.set-iam-policy", "gcp.iam.custom-role-update", "gcp.deploymentmanager.create-deployment"}
    assert all(t.references.links[0].startswith("https://") and t.description for t in techniques())


# --- the role catalogue ------------------------------------------------------------------------------


def test_catalogue_has_basic_and_escalation_roles_with_real_permissions():
    roles = bundled_roles()
    assert "iam.serviceAccounts.getAccessToken" in roles["roles/iam.serviceAccountTokenCreator"]
    assert roles["roles/iam.serviceAccountUser"][0] == "iam.serviceAccounts.actAs"
    assert "storage.buckets.setIamPolicy" in roles["roles/storage.admin"]
    assert {"roles/owner", "roles/editor", "roles/viewer"} <= partial_roles()
    assert "roles/storage.admin" not in partial_roles()


@pytest.mark.parametrize(("role", "kind", "level"), [
    ("roles/owner", "project", "admin"), ("roles/editor", "project", "write"), ("roles/viewer", "project", "read"),
    ("roles/storage.admin", "project", "write"), ("roles/storage.admin", "bucket", "admin"),
    ("roles/resourcemanager.projectIamAdmin", "project", "admin"), ("roles/cloudsql.client", "project", "write"),
    ("roles/bigquery.dataEditor", "project", "write"), ("roles/browser", "organization", "read"),
])
def test_catalogue_roles_classify(role, kind, level):
    assert classify_role(role, {}, kind).level == level


def test_roles_list_page_and_describe_output_both_parse():
    page = {"roles": [{"name": "roles/x.viewer", "includedPermissions": ["x.things.get"]},
                      {"name": "roles/x.admin"}], "nextPageToken": "abc"}
    roles, problems = parse_roles(page)
    assert roles == {"roles/x.viewer": ["x.things.get"]}
    assert [(p.record, p.field) for p in problems] == [("#1 (roles/x.admin)", "includedPermissions")]
    assert "view=FULL" in problems[0].message


# --- end to end on exports --------------------------------------------------------------------------


def write(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


def export(tmp_path: Path, project_bindings: list[dict], custom: list[dict] | None = None) -> Path:
    write(tmp_path / "projects.json", [{"projectId": "p1", "projectNumber": "111", "labels": {"env": "prod"},
                                        "lifecycleState": "ACTIVE"}])
    write(tmp_path / "projects" / "p1" / "iam-policy.json", {"bindings": project_bindings, "etag": "BwY="})
    write(tmp_path / "projects" / "p1" / "service-accounts.json", [
        {"email": "a@p1.iam.gserviceaccount.com", "projectId": "p1"},
        {"email": "b@p1.iam.gserviceaccount.com", "projectId": "p1"}])
    if custom is not None:
        write(tmp_path / "projects" / "p1" / "custom-roles.json", custom)
    return tmp_path


def test_service_account_user_plus_a_compute_role_elsewhere_runs_as(tmp_path):
    folder = export(tmp_path, [
        {"role": "roles/iam.serviceAccountUser", "members": ["user:me@x.com"]},
        {"role": "projects/p1/roles/vmLauncher", "members": ["user:me@x.com"]}],
        [{"name": "projects/p1/roles/vmLauncher", "includedPermissions": ["compute.instances.create"]}])
    result = collect_offline(folder)
    run_as = [e for e in result.edges if e["kind"] == "CAN_RUN_AS" and e["source"] == ME]
    assert {e["target"] for e in run_as} == {SA_A, SA_B}
    assert run_as[0]["techniques"] == ["gcp.iam.act-as-with-compute"]
    assert "projects/p1/roles/vmLauncher on projects/p1 (can run code)" in run_as[0]["via"]
    assert result.coverage.counts["escalation.gcp.iam.act-as-with-compute"] == 2


def test_token_creator_chain_through_a_service_account(tmp_path):
    folder = export(tmp_path, [{"role": "roles/viewer", "members": ["user:me@x.com"]}])
    write(folder / "projects" / "p1" / "service-accounts" / "a@p1.iam.gserviceaccount.com" / "iam-policy.json",
          {"bindings": [{"role": "roles/iam.serviceAccountTokenCreator", "members": ["user:me@x.com"]}]})
    write(folder / "projects" / "p1" / "service-accounts" / "b@p1.iam.gserviceaccount.com" / "iam-policy.json",
          {"bindings": [{"role": "roles/iam.serviceAccountTokenCreator",
                         "members": ["serviceAccount:a@p1.iam.gserviceaccount.com"]}]})
    result = collect_offline(folder)
    chain = {(e["source"], e["target"]) for e in result.edges if e["kind"] == "CAN_IMPERSONATE"}
    assert chain == {(ME, SA_A), (SA_A, SA_B)}


def test_custom_role_update_and_key_create_from_custom_role(tmp_path):
    folder = export(tmp_path, [{"role": "projects/p1/roles/roleTweaker", "members": ["user:me@x.com"]}],
                    [{"name": "projects/p1/roles/roleTweaker",
                      "includedPermissions": ["iam.roles.update", "iam.serviceAccountKeys.create"]}])
    result = collect_offline(folder)
    kinds = {(e["kind"], e["target"]) for e in result.edges if e["source"] == ME and e["kind"] != "HAS_PERMISSION"}
    assert kinds == {("CAN_GRANT", "gcp:projects/p1"), ("CAN_CREATE_CREDENTIAL", SA_A),
                     ("CAN_CREATE_CREDENTIAL", SA_B)}


def test_custom_roles_from_a_plain_list_are_reported_and_the_good_ones_still_count(tmp_path):
    folder = export(tmp_path, [{"role": "projects/p1/roles/keyMaker", "members": ["user:me@x.com"]}],
                    [{"name": "projects/p1/roles/keyMaker", "includedPermissions": ["iam.serviceAccountKeys.create"]},
                     {"name": "projects/p1/roles/listedOnly", "title": "from `roles list`, no permissions"}])
    result = collect_offline(folder)
    [error] = result.errors
    assert error.file.endswith("projects/p1/custom-roles.json")
    assert (error.record, error.field) == ("#1 (projects/p1/roles/listedOnly)", "includedPermissions")
    assert "gcloud iam roles describe" in error.fix
    assert {e["target"] for e in result.edges if e["kind"] == "CAN_CREATE_CREDENTIAL"} == {SA_A, SA_B}
