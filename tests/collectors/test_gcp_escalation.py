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


# --- disabled and deleted custom roles grant nothing ------------------------------------------------------------

# A custom role that could take the project over: setIamPolicy, actAs + a service that runs code, key creation.
POWERFUL = ["iam.serviceAccountKeys.create", "iam.serviceAccounts.actAs", "resourcemanager.projects.setIamPolicy",
            "run.services.update"]


def custom_role(name: str, **state: Any) -> dict:
    """A role as `gcloud iam roles describe --format=json` prints it."""
    return {"name": f"projects/p1/roles/{name}", "title": name, "stage": "GA", "etag": "BwY=",
            "includedPermissions": POWERFUL, **state}


def test_disabled_or_deleted_custom_role_grants_nothing_and_a_note_counts_its_bindings(tmp_path):
    folder = export(tmp_path, [
        {"role": "projects/p1/roles/live", "members": ["user:me@x.com"]},
        {"role": "projects/p1/roles/paused", "members": ["user:paused@x.com", "group:ops@x.com"]},
        {"role": "projects/p1/roles/removed", "members": ["user:gone@x.com"]}],
        [custom_role("live"), custom_role("paused", stage="DISABLED"), custom_role("removed", deleted=True)])
    result = collect_offline(folder)
    by_source: dict[str, set[tuple[str, str]]] = {}
    for e in result.edges:
        by_source.setdefault(e["source"], set()).add((e["kind"], e["target"]))
    # present: the GA role is admin of the project and escalates to every service account
    assert ("HAS_PERMISSION", "gcp:projects/p1") in by_source[ME]
    assert {("CAN_RUN_AS", SA_A), ("CAN_CREATE_CREDENTIAL", SA_B), ("CAN_GRANT", "gcp:projects/p1")} <= by_source[ME]
    assert next(e for e in result.edges if e["source"] == ME and e["kind"] == "HAS_PERMISSION")["level"] == "admin"
    # absent: the same permissions in a DISABLED or deleted role draw nothing at all
    for member in ("gcp:user/paused@x.com", "gcp:group/ops@x.com", "gcp:user/gone@x.com"):
        assert member not in by_source
    assert result.errors == [] and result.coverage.counts["skipped.inactive_role_bindings"] == 2
    assert ("2 bindings named a disabled or deleted custom role and grant nothing (no edge drawn), e.g. "
            "projects/p1/roles/paused on projects/p1 (stage DISABLED)") in result.coverage.notes


def test_a_deleted_org_custom_role_bound_on_a_project_grants_nothing(tmp_path):
    folder = export(tmp_path, [{"role": "organizations/1/roles/removed", "members": ["user:gone@x.com"]}])
    write(tmp_path / "organizations" / "1" / "custom-roles.json",  # the roles.list page shape, with showDeleted
          {"roles": [{**custom_role("x"), "name": "organizations/1/roles/removed", "deleted": True}]})
    result = collect_offline(folder)
    assert not any(e["source"] == "gcp:user/gone@x.com" for e in result.edges)
    assert any("1 binding named a disabled or deleted custom role and grants nothing" in note and
               "organizations/1/roles/removed on projects/p1 (deleted)" in note for note in result.coverage.notes)


def test_without_inactive_roles_there_is_no_note(tmp_path):
    result = collect_offline(export(tmp_path, [{"role": "projects/p1/roles/live", "members": ["user:me@x.com"]}],
                                    [custom_role("live")]))
    assert "skipped.inactive_role_bindings" not in result.coverage.counts
    assert not any("disabled or deleted custom role" in note for note in result.coverage.notes)


# --- the owner / editor actAs note ------------------------------------------------------------------------------


def test_owner_and_editor_act_as_note_only_when_such_edges_are_drawn(tmp_path):
    from collectors.gcp.transform import ACT_AS_NOTE

    editor = collect_offline(export(tmp_path / "editor", [{"role": "roles/editor", "members": ["user:me@x.com"]}]))
    assert {SA_A, SA_B} <= {e["target"] for e in editor.edges if e["kind"] == "CAN_RUN_AS" and e["source"] == ME}
    assert ACT_AS_NOTE in editor.coverage.notes
    viewer = collect_offline(export(tmp_path / "viewer", [{"role": "roles/viewer", "members": ["user:me@x.com"]}]))
    assert ACT_AS_NOTE not in viewer.coverage.notes
    # a custom role with actAs draws CAN_RUN_AS too, but the note is about owner / editor only
    custom = collect_offline(export(tmp_path / "custom", [{"role": "projects/p1/roles/live", "members": ["user:me@x.com"]}],
                                    [custom_role("live")]))
    assert any(e["kind"] == "CAN_RUN_AS" for e in custom.edges) and ACT_AS_NOTE not in custom.coverage.notes
