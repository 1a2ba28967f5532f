"""GCP key last use: Policy Analyzer activities (live over HTTP, and the gcloud export) -> last_used -> advice."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from collectors.gcp import collect_offline
from collectors.gcp.live import collect_live
from collectors.gcp.live_clients import make_clients, make_retry
from queries.analysis import analyze
from queries.policy import load_policy
from tests.collectors.gcp_api_fakes import start_servers, world_from_sample
from tests.graph_helpers import AS_OF, Org, by_entry

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "samples" / "gcp"
ORG = "123456789012"
KEY_TYPE = "serviceAccountKeyLastAuthentication"
SA_TYPE = "serviceAccountLastAuthentication"
LEGACY = "legacy-exporter@lumen-data-prod.iam.gserviceaccount.com"
LEGACY_KEY = "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"  # created 2025-09-27, 400 days old on AS_OF
FRESH = "fresh-loader@lumen-data-prod.iam.gserviceaccount.com"
FRESH_KEY = "1a2b3c4d5e6f708192a3b4c5d6e7f80912345678"
BUILD = "build-bot@lumen-sandbox.iam.gserviceaccount.com"
BUILD_KEY = "b0b0b0b0c1c1c1c1d2d2d2d2e3e3e3e3f4f4f4f4"  # 180 days old on AS_OF
DAYS_200_AGO = "2026-04-14T07:00:00Z"  # AS_OF is 2026-11-01T00:00Z; dates are day-precise, T07:00Z
DAYS_10_AGO = "2026-10-21T07:00:00Z"
PERIOD = {"startTime": "2024-03-01T07:00:00Z", "endTime": "2026-10-30T07:00:00Z"}


def key_row(project: str, email: str, key_id: str, last: str | None, period: dict | None = None) -> dict:
    """One activity as the API returns it (docs: View recent usage for service accounts and keys)."""
    name = f"//iam.googleapis.com/projects/{project}/serviceAccounts/{email}/keys/{key_id}"
    activity: dict = {"serviceAccountKey": {"fullResourceName": name, "projectNumber": "482910375612",
                                            "serviceAccountId": "104857362910473829101"}}
    if last is not None:  # the API omits lastAuthenticatedTime for keys that have never been used
        activity["lastAuthenticatedTime"] = last
    return {"fullResourceName": name, "activityType": KEY_TYPE, "observationPeriod": period or PERIOD,
            "activity": activity}


def sa_row(project: str, email: str, last: str) -> dict:
    name = f"//iam.googleapis.com/projects/{project}/serviceAccounts/{email}"
    return {"fullResourceName": name, "activityType": SA_TYPE, "observationPeriod": PERIOD,
            "activity": {"lastAuthenticatedTime": last,
                         "serviceAccount": {"fullResourceName": name, "projectNumber": "482910375612",
                                            "serviceAccountId": "104857362910473829101"}}}


@pytest.fixture
def servers():
    running = start_servers(world_from_sample(SAMPLE))
    yield running
    running.stop()


def collect(servers, tmp_path: Path) -> dict:
    from google.auth.credentials import AnonymousCredentials

    clients = make_clients(AnonymousCredentials(), servers.rest_endpoint, servers.grpc_endpoint,
                           servers.rest_endpoint, servers.rest_endpoint,
                           policy_analyzer_endpoint=servers.rest_endpoint)
    return collect_live(tmp_path, ORG, [], clients, make_retry(10.0, initial=0.05))


def nodes(result) -> dict[str, dict]:
    return {n["id"]: n for n in result.nodes}


def key_id(email: str, key: str) -> str:
    return f"gcp:serviceAccount/{email}/key/{key}"


def findings(result):
    org = Org()
    org.results["gcp"] = result
    return by_entry(analyze(org.build().graph, {}, load_policy(), [], AS_OF))


def test_live_last_use_paged_sets_last_used_and_an_old_key_is_deleted_not_rotated(servers, tmp_path):
    world = servers.world
    world.activities[("lumen-data-prod", KEY_TYPE)] = [
        key_row("lumen-data-prod", LEGACY, LEGACY_KEY, DAYS_200_AGO),
        key_row("lumen-data-prod", FRESH, FRESH_KEY, DAYS_10_AGO),
        key_row("lumen-data-prod", LEGACY, "0" * 40, DAYS_10_AGO)]  # a deleted key: no node to mark
    world.activities[("lumen-sandbox", KEY_TYPE)] = [key_row("lumen-sandbox", BUILD, BUILD_KEY, DAYS_10_AGO)]
    world.activities[("lumen-data-prod", SA_TYPE)] = [sa_row("lumen-data-prod", LEGACY, DAYS_200_AGO)]
    world.throttle_at = {f"policyanalyzer.{KEY_TYPE}.query": 2}  # a 429 on the second page is retried
    log = collect(servers, tmp_path)
    assert {p["call"] for p in log["problems"]} == {"iam.roles.get"}
    assert world.calls[f"policyanalyzer.{KEY_TYPE}.query"] >= 5  # 3 pages + 1 retry for data-prod, 1 for sandbox
    written = json.loads((tmp_path / "gcp/projects/lumen-data-prod/key-last-authentication.json").read_text())
    assert written == world.activities[("lumen-data-prod", KEY_TYPE)]  # every page, gcloud's list shape
    assert log["counts"]["key_last_authentications"] == 4

    result = collect_offline(tmp_path / "gcp")
    assert result.errors == []  # (partial only for the fake roles API's NOT_FOUNDs, as in test_gcp_live)
    found = nodes(result)
    assert found[key_id(LEGACY, LEGACY_KEY)]["last_used"] == DAYS_200_AGO
    assert found[key_id(FRESH, FRESH_KEY)]["last_used"] == DAYS_10_AGO
    assert found[f"gcp:serviceAccount/{LEGACY}"]["last_used"] == DAYS_200_AGO
    assert result.coverage.counts["skipped.key_activity_unmatched"] == 1
    assert not any("key last use not collected" in n for n in result.coverage.notes)

    by = findings(result)
    legacy = by[key_id(LEGACY, LEGACY_KEY)]
    assert legacy.entry["unused"] and legacy.entry["unused_days"] == 200
    assert legacy.remediation[0].startswith(f"Delete credential {LEGACY} key ")
    assert "last used 2026-04-14, 200 days without use" in legacy.remediation[0]
    build = by[key_id(BUILD, BUILD_KEY)]
    assert not build.entry["unused"] and build.entry["unused_days"] == 10
    assert any(line.startswith("Rotate or remove credential") for line in build.remediation)


def test_live_denied_and_api_disabled_are_partial_and_named(servers, tmp_path):
    world = servers.world
    world.deny = {(f"policyanalyzer.{KEY_TYPE}.query", "projects/lumen-data-prod")}
    world.disabled_apis = {"lumen-sandbox"}
    world.activities[("lumen-data-prod", SA_TYPE)] = [sa_row("lumen-data-prod", LEGACY, DAYS_200_AGO)]
    log = collect(servers, tmp_path)
    problems = {(p["call"], p["scope"], p["kind"]): p["error"] for p in log["problems"]}
    key_call = "policyanalyzer.serviceAccountKeyLastAuthenticationActivities.query"
    assert "403" in problems[(key_call, "projects/lumen-data-prod", "denied")]
    disabled = problems[(key_call, "projects/lumen-sandbox", "denied")]
    assert "Policy Analyzer API has not been used in project lumen-sandbox" in disabled
    assert ("policyanalyzer.serviceAccountLastAuthenticationActivities.query", "projects/lumen-sandbox",
            "denied") in problems
    assert not (tmp_path / "gcp/projects/lumen-data-prod/key-last-authentication.json").exists()
    assert (tmp_path / "gcp/projects/lumen-data-prod/service-account-last-authentication.json").exists()

    result = collect_offline(tmp_path / "gcp")
    assert result.coverage.status == "partial"
    notes = result.coverage.notes
    assert any(n.startswith(f"live collection denied: {key_call} on projects/lumen-sandbox: ") and
               "Policy Analyzer API has not been used" in n for n in notes)
    assert any(n.startswith(f"live collection denied: {key_call} on projects/lumen-data-prod: ") for n in notes)
    assert any(n.startswith("key last use not collected for projects/lumen-data-prod, projects/lumen-sandbox")
               for n in notes)
    found = nodes(result)
    assert found[key_id(LEGACY, LEGACY_KEY)]["last_used"] is None
    assert "never_used" not in found[key_id(LEGACY, LEGACY_KEY)]
    assert found[f"gcp:serviceAccount/{LEGACY}"]["last_used"] == DAYS_200_AGO  # the other query still loaded


def test_export_absent_is_a_note_and_last_use_stays_unknown():
    result = collect_offline(SAMPLE)
    assert result.errors == [] and result.coverage.status == "complete"
    assert any(n.startswith("key last use not collected for projects/lumen-data-prod, projects/lumen-sandbox "
                            "(no key-last-authentication.json)") for n in result.coverage.notes)
    keys = [n for n in result.nodes if n["kind"] == "sa_key"]
    assert keys and all(n["last_used"] is None and "never_used" not in n for n in keys)
    legacy = findings(result)[key_id(LEGACY, LEGACY_KEY)]
    assert legacy.entry["unused_days"] is None and not legacy.entry["unused"]


def _copy_sample(tmp_path: Path) -> Path:
    folder = tmp_path / "gcp"
    shutil.copytree(SAMPLE, folder)
    return folder


def test_offline_gcloud_list_shape(tmp_path):
    folder = _copy_sample(tmp_path)
    late = {"startTime": "2026-01-01T07:00:00Z", "endTime": "2026-10-30T07:00:00Z"}  # after LEGACY_KEY was made
    rows = [key_row("lumen-data-prod", LEGACY, LEGACY_KEY, None, late),  # not used since 2026-01-01; before: ?
            key_row("lumen-data-prod", FRESH, FRESH_KEY, None),  # observed since before it was made: never used
            {"fullResourceName": "//iam.googleapis.com/projects/lumen-data-prod/serviceAccounts/x",
             "activityType": KEY_TYPE}]  # names no key: an error, the rest loads
    (folder / "projects/lumen-data-prod/key-last-authentication.json").write_text(json.dumps(rows))
    (folder / "projects/lumen-sandbox/key-last-authentication.json").write_text(
        json.dumps([key_row("lumen-sandbox", BUILD, BUILD_KEY, None)]))
    result = collect_offline(folder)
    [error] = result.errors
    assert error.record == "#2" and error.field == "fullResourceName"
    found = nodes(result)
    legacy, fresh = found[key_id(LEGACY, LEGACY_KEY)], found[key_id(FRESH, FRESH_KEY)]
    assert legacy.get("never_used") is None and legacy["last_used"] is None
    assert legacy["unused_since"] == "2026-01-01T07:00:00Z"
    assert fresh["never_used"] is True and fresh["last_used"] is None
    notes = result.coverage.notes
    assert not any("key last use not collected" in n for n in notes)
    assert any(n.startswith("projects/lumen-sandbox: 1 user-managed key(s) have no row in "
                            "key-last-authentication.json") and "unknown, not 'never'" in n for n in notes)
    assert any(n.startswith("projects/lumen-data-prod: 1 user-managed key(s) have no row") for n in notes)
    assert str(folder / "projects/lumen-data-prod/key-last-authentication.json") in result.coverage.files
    by = findings(result)
    build = by[key_id(BUILD, BUILD_KEY)]
    assert build.entry["unused"] and "(never used, 179 days without use)" in build.remediation[0]
    assert not by[key_id(LEGACY, LEGACY_KEY)].entry["unused"]  # unused since January only: not proven


def test_offline_rest_response_with_a_next_page_token_is_an_error(tmp_path):
    folder = _copy_sample(tmp_path)
    data = {"activities": [key_row("lumen-data-prod", LEGACY, LEGACY_KEY, DAYS_10_AGO)], "nextPageToken": "AVg"}
    (folder / "projects/lumen-data-prod/key-last-authentication.json").write_text(json.dumps(data))
    result = collect_offline(folder)
    assert [e.field for e in result.errors] == ["nextPageToken"]
    assert nodes(result)[key_id(LEGACY, LEGACY_KEY)]["last_used"] == DAYS_10_AGO  # the exported page loads
