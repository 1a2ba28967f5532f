"""Workload Identity Federation members -> the AWS / Entra / OIDC identity behind them."""

from __future__ import annotations

import json
from pathlib import Path

from collectors.gcp import collect_offline
from collectors.gcp.federation import parse_provider, resolve_member

POOLS = "principal://iam.googleapis.com/projects/111/locations/global/workloadIdentityPools"
SETS = "principalSet://iam.googleapis.com/projects/111/locations/global/workloadIdentityPools"
AWS = {"name": "projects/111/locations/global/workloadIdentityPools/aws-pool/providers/aws", "state": "ACTIVE",
       "aws": {"accountId": "111111111111"},
       "attributeMapping": {"google.subject": "assertion.arn", "attribute.aws_role": "assertion.arn"}}
ENTRA = {"name": "projects/111/locations/global/workloadIdentityPools/azure/providers/entra", "state": "ACTIVE",
         "oidc": {"issuerUri": "https://sts.windows.net/0f1e2d3c-0000-4000-8000-000000000001/"}}
GITHUB = {"name": "projects/111/locations/global/workloadIdentityPools/github/providers/gh", "state": "ACTIVE",
          "oidc": {"issuerUri": "https://token.actions.githubusercontent.com"}}


def providers(*entries: tuple[str, dict]) -> dict:
    found: dict = {}
    for pool, data in entries:
        found.setdefault(("111", pool), []).append(parse_provider(pool, data))
    return found


def test_aws_assumed_role_becomes_the_aws_role_node():
    known = providers(("aws-pool", AWS))
    raw = f"{POOLS}/aws-pool/subject/arn:aws:sts::111111111111:assumed-role/reporting-etl/i-0abc"
    assert resolve_member(raw, known).ids == ["aws:arn:aws:iam::111111111111:role/reporting-etl"]
    by_role = resolve_member(f"{SETS}/aws-pool/attribute.aws_role/arn:aws:sts::111111111111:assumed-role/ci", known)
    assert by_role.ids == ["aws:arn:aws:iam::111111111111:role/ci"] and by_role.nodes == []  # AWS emits it


def test_entra_subject_is_the_entra_object():
    known = providers(("azure", ENTRA))
    raw = f"{POOLS}/azure/subject/C3000000-0000-4000-8000-000000000009"
    assert resolve_member(raw, known).ids == ["entra:c3000000-0000-4000-8000-000000000009"]


def test_github_subject_and_repository_become_oidc_identities():
    known = providers(("github", GITHUB))
    sub = resolve_member(f"{POOLS}/github/subject/repo:lumen/app:ref:refs/heads/main", known)
    assert sub.ids == ["external:oidc/token.actions.githubusercontent.com/repo:lumen/app:ref:refs/heads/main"]
    assert sub.nodes[0]["issuer"] == "https://token.actions.githubusercontent.com"
    repo = resolve_member(f"{SETS}/github/attribute.repository/lumen/app", known)
    assert repo.ids == ["external:oidc/token.actions.githubusercontent.com/repo:lumen/app:*"]


def test_unknown_or_disabled_pools_stay_one_external_identity_with_a_note():
    raw = f"{SETS}/github/*"
    unknown = resolve_member(raw, {})
    assert unknown.ids == [f"external:{raw}"] and "not exported" in unknown.note
    disabled = resolve_member(f"{POOLS}/github/subject/x", providers(("github", {**GITHUB, "disabled": True})))
    assert "disabled" in disabled.note
    assert resolve_member("serviceAccount:a@b.iam.gserviceaccount.com", {}) is None
    gke = f"{POOLS}/p.svc.id.goog/subject/ns/a/sa/b"
    assert resolve_member(gke, {}) is None  # GKE members are Kubernetes service accounts


def test_aws_role_federates_to_a_service_account_end_to_end(tmp_path: Path):
    def write(path: Path, data) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data), encoding="utf-8")

    write(tmp_path / "projects.json", [{"projectId": "p1", "projectNumber": "111", "lifecycleState": "ACTIVE"}])
    write(tmp_path / "projects" / "p1" / "iam-policy.json", {"etag": "ACAB"})
    write(tmp_path / "projects" / "p1" / "service-accounts.json", [{"email": "x@p1.iam.gserviceaccount.com"}])
    write(tmp_path / "projects" / "p1" / "workload-identity-pools" / "aws-pool" / "providers.json", [AWS])
    write(tmp_path / "projects" / "p1" / "service-accounts" / "x@p1.iam.gserviceaccount.com" / "iam-policy.json",
          {"bindings": [{"role": "roles/iam.workloadIdentityUser", "members": [
              f"{SETS}/aws-pool/attribute.aws_role/arn:aws:sts::111111111111:assumed-role/reporting-etl"]}]})
    result = collect_offline(tmp_path)
    assert result.errors == []
    [edge] = [e for e in result.edges if e["kind"] == "FEDERATES_TO"]
    assert (edge["source"], edge["target"]) == ("aws:arn:aws:iam::111111111111:role/reporting-etl",
                                                "gcp:serviceAccount/x@p1.iam.gserviceaccount.com")
    assert not any(n["id"].startswith("aws:") for n in result.nodes)  # the AWS collector owns that node
    assert result.coverage.counts["read.workload_identity_providers"] == 1


def test_workforce_pool_subject_is_a_person_and_other_principals_get_a_node(tmp_path: Path):
    def write(path: Path, data) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data), encoding="utf-8")

    workforce = ("principal://iam.googleapis.com/locations/global/workforcePools/entra-staff/subject/"
                 "Dana.Ruiz@lumenfreight.com")
    workforce_set = "principalSet://iam.googleapis.com/locations/global/workforcePools/entra-staff/group/ops"
    write(tmp_path / "projects.json", [{"projectId": "p1", "projectNumber": "111", "lifecycleState": "ACTIVE"}])
    write(tmp_path / "projects" / "p1" / "iam-policy.json", {"bindings": [
        {"role": "roles/editor", "members": [workforce, workforce_set]}]})
    result = collect_offline(tmp_path)
    assert result.errors == []
    nodes = {n["id"]: n for n in result.nodes}
    person = nodes[f"external:{workforce}"]
    assert (person["kind"], person["human"], person["mfa"]) == ("User", True, None)
    assert person["email"] == "dana.ruiz@lumenfreight.com"  # the builder joins it to the same Person
    assert nodes[f"external:{workforce_set}"]["kind"] == "Group"
    sources = {e["source"] for e in result.edges if e["kind"] == "HAS_PERMISSION"}
    assert sources == {f"external:{workforce}", f"external:{workforce_set}"}  # every edge has its node
