"""Live GCP collection: the real Google clients against local REST / gRPC servers (gcp_api_fakes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from collectors.gcp import collect_offline
from collectors.gcp.live import collect_live
from collectors.gcp.live_clients import make_clients, make_retry
from collectors.gcp.role_catalogue import bundled_roles
from crosspath.cli import main
from tests.collectors.gcp_api_fakes import start_servers, world_from_sample

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "samples" / "gcp"
ORG = "123456789012"
LEGACY = "legacy-exporter@lumen-data-prod.iam.gserviceaccount.com"


@pytest.fixture
def servers():
    running = start_servers(world_from_sample(SAMPLE))
    yield running
    running.stop()


def collect(servers, tmp_path: Path, organization: str | None = ORG, projects: list[str] | None = None) -> dict:
    from google.auth.credentials import AnonymousCredentials

    clients = make_clients(AnonymousCredentials(), servers.rest_endpoint, servers.grpc_endpoint,
                           servers.rest_endpoint, servers.rest_endpoint,
                           policy_analyzer_endpoint=servers.rest_endpoint)
    return collect_live(tmp_path, organization, projects or [], clients, make_retry(10.0, initial=0.05))


def records(result) -> tuple[set[str], set[tuple[str, str, str]]]:
    return ({n["id"] for n in result.nodes}, {(e["source"], e["target"], e["kind"]) for e in result.edges})


def test_live_export_of_the_sample_org_gives_the_same_graph_as_the_gcloud_export(servers, tmp_path):
    servers.world.throttle_once = {"projects.getIamPolicy", "iam.serviceAccounts.list", "iam.workloadIdentityPools.list"}
    servers.world.throttle_at = {"iam.serviceAccounts.list": 3, "projects.list": 2}  # mid-pagination
    log = collect(servers, tmp_path)
    # every 429 / RESOURCE_EXHAUSTED (first calls and later pages) was retried; the fake's roles API knows only the bundled catalogue
    # (a real one knows every predefined role), so other bound roles come back NOT_FOUND
    assert {p["call"] for p in log["problems"]} == {"iam.roles.get"}
    assert all(p["scope"] not in bundled_roles() and "NotFound" in p["error"] for p in log["problems"])
    assert servers.world.calls["projects.getIamPolicy"] == 3  # two projects + one throttled attempt
    assert servers.world.calls["iam.serviceAccounts.list"] >= 4  # paged one account per page, plus the retry
    live = collect_offline(tmp_path / "gcp")
    offline = collect_offline(SAMPLE)
    assert live.errors == []
    assert records(live) == records(offline)
    assert live.coverage.scopes == offline.coverage.scopes
    assert log["counts"]["service_accounts"] == 7 and log["counts"]["folders"] == 2
    assert log["counts"]["buckets"] == 1 and servers.world.calls["storage.buckets.getIamPolicy"] == 1
    assert log["counts"]["workload_identity_providers"] == 1 and log["counts"]["deny_policies"] == 1
    assert (log["counts"]["user_managed_keys"], log["counts"]["system_managed_keys"]) == (5, 8)
    written = json.loads((tmp_path / "gcp" / "projects.json").read_text())
    assert [p["projectId"] for p in written] == ["lumen-data-prod", "lumen-sandbox"]
    assert written[0]["projectNumber"] == "482910375612" and written[0]["parent"] == {"id": "301234567890",
                                                                                         "type": "folder"}
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert "gcp" in manifest["sources"]


def test_keys_are_listed_without_key_material_and_roles_come_from_the_roles_api(servers, tmp_path):
    collect(servers, tmp_path)
    keys_file = tmp_path / "gcp" / "projects" / "lumen-data-prod" / "service-accounts" / LEGACY / "keys.json"
    keys = json.loads(keys_file.read_text())
    assert {k["keyType"] for k in keys} == {"USER_MANAGED", "SYSTEM_MANAGED"}
    user = next(k for k in keys if k["keyType"] == "USER_MANAGED")
    assert user["validAfterTime"] == "2025-09-27T08:14:31Z" and user["validBeforeTime"].startswith("9999-12-31")
    assert not any("privateKeyData" in k or "publicKeyData" in k for k in keys)
    predefined = json.loads((tmp_path / "gcp" / "roles" / "predefined.json").read_text())
    names = {r["name"] for r in predefined}
    assert {"roles/editor", "roles/iam.serviceAccountTokenCreator", "roles/storage.admin"} <= names
    assert "roles/compute.serviceAgent" not in names  # NOT_FOUND in the fake roles API: logged, not fatal


def test_denied_calls_are_recorded_and_the_rest_still_loads(servers, tmp_path):
    world = servers.world
    world.deny = {("iam.serviceAccountKeys.list", f"projects/lumen-data-prod/serviceAccounts/{LEGACY}"),
                  ("folders.getIamPolicy", "folders/301234567890")}
    log = collect(servers, tmp_path)
    denied = {(p["call"], p["scope"], p["kind"]) for p in log["problems"]}
    assert ("iam.serviceAccountKeys.list", f"projects/lumen-data-prod/serviceAccounts/{LEGACY}", "denied") in denied
    assert ("resourcemanager.folders.getIamPolicy", "folders/301234567890", "denied") in denied
    assert any("PermissionDenied" in p["error"] or "Forbidden" in p["error"] for p in log["problems"])
    result = collect_offline(tmp_path / "gcp")
    assert result.coverage.status == "partial"
    assert any("live collection denied: iam.serviceAccountKeys.list" in n for n in result.coverage.notes)
    ids = {n["id"] for n in result.nodes}
    assert not any(LEGACY in i and "/key/" in i for i in ids)  # its keys are unknown, not absent
    assert "gcp:serviceAccount/fresh-loader@lumen-data-prod.iam.gserviceaccount.com/key/" \
           "1a2b3c4d5e6f708192a3b4c5d6e7f80912345678" in ids


def test_quota_that_never_clears_is_recorded_as_throttled(servers, tmp_path):
    from google.auth.credentials import AnonymousCredentials

    world = servers.world

    class AlwaysThrottled(set):
        def discard(self, _):  # the fake removes a method after one 429; this one never clears
            pass

    world.throttle_once = AlwaysThrottled({"organizations.getIamPolicy"})
    clients = make_clients(AnonymousCredentials(), servers.rest_endpoint, servers.grpc_endpoint,
                           servers.rest_endpoint, servers.rest_endpoint,
                           policy_analyzer_endpoint=servers.rest_endpoint)
    log = collect_live(tmp_path, ORG, [], clients, make_retry(0.5, initial=0.05))
    [problem] = [p for p in log["problems"] if p["call"] == "resourcemanager.organizations.getIamPolicy"]
    assert problem["kind"] == "throttled" and "Quota exceeded" in problem["error"]
    assert world.calls["organizations.getIamPolicy"] >= 2  # retried before giving up


def test_named_projects_without_an_organization(servers, tmp_path):
    log = collect(servers, tmp_path, organization=None, projects=["lumen-sandbox"])
    assert log["scopes"] == ["projects/lumen-sandbox"]
    result = collect_offline(tmp_path / "gcp")
    assert result.errors == []
    assert {n["id"] for n in result.nodes if n["family"] == "Credential"} == {
        "gcp:serviceAccount/build-bot@lumen-sandbox.iam.gserviceaccount.com/key/b0b0b0b0c1c1c1c1d2d2d2d2e3e3e3e3f4f4f4f4",
        "gcp:serviceAccount/report-bot@lumen-sandbox.iam.gserviceaccount.com/key/5e5e5e5e6f6f6f6f7a7a7a7a8b8b8b8b9c9c9c9c"}


def test_cli_collect_gcp_then_scan(servers, tmp_path):
    out = tmp_path / "exports"
    runner = CliRunner()
    collected = runner.invoke(main, ["collect", "gcp", "--organization", ORG, "--out", str(out), "--quiet",
                                     "--anonymous", "--resource-manager-endpoint", servers.rest_endpoint,
                                     "--iam-endpoint", servers.grpc_endpoint,
                                     "--storage-endpoint", servers.rest_endpoint,
                                     "--iam-rest-endpoint", servers.rest_endpoint,
                                     "--policy-analyzer-endpoint", servers.rest_endpoint])
    assert collected.exit_code == 0, collected.output
    assert "service_accounts 7" in collected.output and "folders 2" in collected.output
    assert (out / "gcp" / "collection.json").is_file()


def test_asset_inventory_fast_path_reads_every_policy_in_one_search(servers, tmp_path):
    from google.auth.credentials import AnonymousCredentials

    world = servers.world
    clients = make_clients(AnonymousCredentials(), servers.rest_endpoint, servers.grpc_endpoint,
                           servers.rest_endpoint, servers.rest_endpoint, servers.rest_endpoint,
                           servers.rest_endpoint)
    log = collect_live(tmp_path, ORG, [], clients, make_retry(10.0, initial=0.05), asset_inventory=True)
    # one paged search: 7 non-empty policies, one per page
    assert world.calls["cloudasset.searchAllIamPolicies"] == 7 and log["counts"]["asset_search_results"] == 7
    for per_resource in ("organizations.getIamPolicy", "folders.getIamPolicy", "projects.getIamPolicy",
                         "iam.serviceAccounts.getIamPolicy", "storage.buckets.getIamPolicy"):
        assert world.calls[per_resource] == 0
    assert {p["call"] for p in log["problems"]} == {"iam.roles.get"}
    assert records(collect_offline(tmp_path / "gcp")) == records(collect_offline(SAMPLE))


def test_asset_inventory_denied_falls_back_to_per_resource_calls(servers, tmp_path):
    from google.auth.credentials import AnonymousCredentials

    world = servers.world
    world.deny = {("cloudasset.searchAllIamPolicies", f"organizations/{ORG}")}
    clients = make_clients(AnonymousCredentials(), servers.rest_endpoint, servers.grpc_endpoint,
                           servers.rest_endpoint, servers.rest_endpoint, servers.rest_endpoint,
                           servers.rest_endpoint)
    log = collect_live(tmp_path, ORG, [], clients, make_retry(10.0, initial=0.05), asset_inventory=True)
    assert ("cloudasset.assets.searchAllIamPolicies", f"organizations/{ORG}", "denied") in {
        (p["call"], p["scope"], p["kind"]) for p in log["problems"]}
    assert world.calls["projects.getIamPolicy"] == 2
    assert records(collect_offline(tmp_path / "gcp")) == records(collect_offline(SAMPLE))


def test_impersonation_wraps_application_default_credentials(monkeypatch):
    import google.auth
    from google.auth import impersonated_credentials
    from google.auth.credentials import AnonymousCredentials

    from collectors.gcp.live_clients import SCOPES, credentials

    monkeypatch.setattr(google.auth, "default", lambda scopes=None: (AnonymousCredentials(), "sec-tools"))
    creds = credentials("crosspath-reader@sec-tools.iam.gserviceaccount.com", anonymous=False)
    assert isinstance(creds, impersonated_credentials.Credentials)
    assert creds.service_account_email == "crosspath-reader@sec-tools.iam.gserviceaccount.com"
    assert creds._target_scopes == SCOPES
    assert isinstance(credentials(None, anonymous=False), AnonymousCredentials)  # plain ADC


def test_missing_credentials_is_a_clear_error_and_writes_nothing(monkeypatch, tmp_path):
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    def no_adc(scopes=None):
        raise DefaultCredentialsError("Your default credentials were not found.")

    monkeypatch.setattr(google.auth, "default", no_adc)
    result = CliRunner().invoke(main, ["collect", "gcp", "--project", "p1", "--out", str(tmp_path), "--quiet"])
    assert result.exit_code != 0
    assert "no Google credentials" in result.output and "application-default login" in result.output
    assert not (tmp_path / "gcp").exists()


def test_named_project_without_its_ancestors_says_inheritance_is_unknown(servers, tmp_path):
    collect(servers, tmp_path, organization=None, projects=["lumen-data-prod"])
    notes = collect_offline(tmp_path / "gcp").coverage.notes
    assert "projects/lumen-data-prod: parent folders/301234567890 not exported; bindings inherited from it " \
           "(and above) are unknown" in notes


def test_deleted_custom_roles_are_listed_and_their_bindings_grant_nothing(servers, tmp_path):
    role = {"title": "Release", "stage": "GA", "etag": "BwY=",
            "includedPermissions": ["iam.serviceAccountKeys.create", "resourcemanager.projects.setIamPolicy"]}
    servers.world.custom_roles["projects/lumen-sandbox"] = [
        {**role, "name": "projects/lumen-sandbox/roles/release"},
        {**role, "name": "projects/lumen-sandbox/roles/oldRelease", "deleted": True},
        {**role, "name": "projects/lumen-sandbox/roles/pausedRelease", "stage": "DISABLED"}]
    servers.world.policies["projects/lumen-sandbox"]["bindings"] += [
        {"role": "projects/lumen-sandbox/roles/release", "members": ["user:rel@lumenfreight.com"]},
        {"role": "projects/lumen-sandbox/roles/oldRelease", "members": ["user:old@lumenfreight.com"]},
        {"role": "projects/lumen-sandbox/roles/pausedRelease", "members": ["user:paused@lumenfreight.com"]}]
    collect(servers, tmp_path)
    written = json.loads((tmp_path / "gcp" / "projects" / "lumen-sandbox" / "custom-roles.json").read_text())
    assert {r["name"].rsplit("/", 1)[1]: (r.get("deleted", False), r["stage"]) for r in written} == {
        "release": (False, "GA"), "oldRelease": (True, "GA"), "pausedRelease": (False, "DISABLED")}
    result = collect_offline(tmp_path / "gcp")
    sources = {e["source"] for e in result.edges}
    assert "gcp:user/rel@lumenfreight.com" in sources
    assert not sources & {"gcp:user/old@lumenfreight.com", "gcp:user/paused@lumenfreight.com"}
    assert result.coverage.counts["skipped.inactive_role_bindings"] == 2
