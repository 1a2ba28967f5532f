"""IAM deny policies take permissions away from grants below their attachment point."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from collectors.gcp import collect_offline
from collectors.gcp.deny import v1_permission

ME = "gcp:user/me@x.com"
SA = "gcp:serviceAccount/app@p1.iam.gserviceaccount.com"
P1 = "gcp:projects/p1"


def write(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


def export(tmp_path: Path, role: str, deny: list[dict] | None, where: str = "folders/9") -> Path:
    write(tmp_path / "folders" / "9" / "folder.json", {"name": "folders/9", "parent": "organizations/1"})
    write(tmp_path / "folders" / "9" / "iam-policy.json", {"etag": "ACAB"})
    write(tmp_path / "projects.json", [{"projectId": "p1", "projectNumber": "111", "lifecycleState": "ACTIVE",
                                        "labels": {"env": "prod"}, "parent": {"type": "folder", "id": "9"}}])
    write(tmp_path / "projects" / "p1" / "iam-policy.json",
          {"bindings": [{"role": role, "members": ["user:me@x.com"]}], "etag": "BwY="})
    write(tmp_path / "projects" / "p1" / "service-accounts.json", [{"email": "app@p1.iam.gserviceaccount.com"}])
    if deny is not None:
        write(tmp_path / where / "deny-policies.json", deny)
    return tmp_path


def deny_policy(permissions: list[str], principals: list[str], **extra: Any) -> dict:
    return {"name": "policies/cloudresourcemanager.googleapis.com%2Ffolders%2F9/denypolicies/no-keys",
            "kind": "DenyPolicy", "displayName": "No SA keys", "etag": "MTc=",
            "rules": [{"denyRule": {"deniedPrincipals": principals, "deniedPermissions": permissions, **extra}}]}


def my_edges(result) -> set[tuple[str, str]]:
    return {(e["kind"], e["target"]) for e in result.edges if e["source"] == ME}


def test_permission_names_convert_from_v2_to_v1():
    assert v1_permission("iam.googleapis.com/serviceAccountKeys.create") == "iam.serviceAccountKeys.create"
    assert v1_permission("cloudresourcemanager.googleapis.com/projects.setIamPolicy") == \
        "resourcemanager.projects.setIamPolicy"


def test_folder_deny_on_key_creation_removes_that_escalation_only(tmp_path):
    without = collect_offline(export(tmp_path / "a", "roles/editor", None))
    assert ("CAN_CREATE_CREDENTIAL", SA) in my_edges(without)
    denied = collect_offline(export(tmp_path / "b", "roles/editor", [deny_policy(
        ["iam.googleapis.com/serviceAccountKeys.create"], ["principalSet://goog/public:all"])]))
    assert denied.errors == []
    edges = my_edges(denied)
    assert ("CAN_CREATE_CREDENTIAL", SA) not in edges and ("CAN_RUN_AS", SA) in edges
    perm = next(e for e in denied.edges if e["kind"] == "HAS_PERMISSION" and e["source"] == ME)
    assert perm["level"] == "write" and perm["denied_permissions"] == ["iam.serviceAccountKeys.create"]
    assert perm["via"] == "roles/editor on projects/p1 (deny no-keys removes 1 permission)"
    assert denied.coverage.counts["deny.rules"] == 1 and denied.coverage.counts["deny.narrowed_grants"] == 1


def test_deny_on_set_iam_policy_makes_an_owner_write_not_admin(tmp_path):
    result = collect_offline(export(tmp_path, "roles/owner", [deny_policy(
        ["cloudresourcemanager.googleapis.com/projects.setIamPolicy", "iam.googleapis.com/serviceAccounts.*"],
        ["principal://goog/subject/me@x.com"])], where="projects/p1"))
    perm = next(e for e in result.edges if e["kind"] == "HAS_PERMISSION" and e["source"] == ME)
    assert perm["level"] == "write"
    edges = my_edges(result)
    techniques = {t for e in result.edges if e["source"] == ME for t in e.get("techniques", ())}
    assert "gcp.resourcemanager.set-iam-policy" not in techniques
    assert "gcp.iam.service-account-set-iam-policy" not in techniques
    assert "gcp.iam.custom-role-update" in techniques  # iam.roles.update was not denied
    assert ("CAN_GRANT", SA) not in edges  # the wildcard took iam.serviceAccounts.setIamPolicy
    assert ("CAN_RUN_AS", SA) not in edges  # ... and actAs
    assert ("CAN_CREATE_CREDENTIAL", SA) in edges


def test_exception_principals_and_other_principals_keep_their_permissions(tmp_path):
    excepted = collect_offline(export(tmp_path / "a", "roles/editor", [deny_policy(
        ["iam.googleapis.com/serviceAccountKeys.create"], ["principalSet://goog/public:all"],
        exceptionPrincipals=["principal://goog/subject/me@x.com"])]))
    assert ("CAN_CREATE_CREDENTIAL", SA) in my_edges(excepted)
    other = collect_offline(export(tmp_path / "b", "roles/editor", [deny_policy(
        ["iam.googleapis.com/serviceAccountKeys.create"], ["principal://goog/subject/someone@x.com"])]))
    assert ("CAN_CREATE_CREDENTIAL", SA) in my_edges(other)


def test_conditional_deny_is_not_evaluated_and_noted(tmp_path):
    result = collect_offline(export(tmp_path, "roles/editor", [deny_policy(
        ["iam.googleapis.com/serviceAccountKeys.create"], ["principalSet://goog/public:all"],
        denialCondition={"title": "only prod-tagged", "expression": "resource.matchTag('1/env', 'prod')"})]))
    assert ("CAN_CREATE_CREDENTIAL", SA) in my_edges(result)
    assert any("denialCondition (not evaluated)" in note for note in result.coverage.notes)


def test_deny_policy_list_output_without_rules_is_a_clear_error(tmp_path):
    result = collect_offline(export(tmp_path, "roles/editor", [{"name": "policies/x/denypolicies/no-keys"}]))
    assert [(e.field, e.record) for e in result.errors] == [("rules", "policies/x/denypolicies/no-keys")]
    assert "gcloud iam policies get" in result.errors[0].fix
    assert ("CAN_CREATE_CREDENTIAL", SA) in my_edges(result)  # everything else still loads
