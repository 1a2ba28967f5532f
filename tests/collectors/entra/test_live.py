"""Live Entra collection: the real msgraph-sdk client over HTTP against a local Graph server."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from click.testing import CliRunner

from collectors.entra import collect_offline
from collectors.entra.live import TenantCredential, command, make_credential, run_collection
from collectors.live import LiveRun
from tests.collectors.entra.graph_server import GraphServer, graph_error, too_many_requests

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "samples" / "entra"
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.test-token-never-stored"


class StaticCredential:
    """An azure-core TokenCredential with a fixed token (no Entra sign-in on a test machine)."""

    def __init__(self) -> None:
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.calls += 1
        return AccessToken(TOKEN, int(time.time()) + 3600)


def collect(server: GraphServer, out: Path, credential: Any = None, allow_local_token: bool = False) -> dict:
    run = LiveRun("entra", out, quiet=True)
    return run_collection(
        run,
        credential or StaticCredential(),
        server.base_url,
        allow_token_host=allow_local_token,
        arm_url=server.arm_url,
    )


def comparable(result) -> tuple[list, list]:
    nodes = sorted(json.dumps(n, sort_keys=True) for n in result.nodes)
    edges = sorted(json.dumps(e, sort_keys=True) for e in result.edges)
    return nodes, edges


def test_live_export_reads_back_exactly_like_the_saved_sample(tmp_path: Path) -> None:
    with GraphServer(SAMPLE) as server:
        log = collect(server, tmp_path)
    assert log["problems"] == []
    live = collect_offline(tmp_path / "entra")
    offline = collect_offline(SAMPLE)
    assert comparable(live) == comparable(offline)
    assert live.coverage.status == "complete"
    # users come in two pages: the SDK followed @odata.nextLink and both pages were saved
    assert (tmp_path / "entra" / "users.page2.json").is_file()
    assert len(server.hits("/users")) == 2
    assert log["counts"]["users"] == 10


def test_select_keeps_payloads_small(tmp_path: Path) -> None:
    with GraphServer(SAMPLE) as server:
        collect(server, tmp_path)
    first = server.hits("/users")[0]
    assert "signInActivity" in first.query["$select"][0]
    assert first.query["$top"] == ["999"]
    assert "passwordCredentials" in server.hits("/applications")[0].query["$select"][0]


def test_throttled_request_is_retried_after_retry_after(tmp_path: Path) -> None:
    faults = {"/groups": [too_many_requests(1)]}
    with GraphServer(SAMPLE, faults=faults) as server:
        started = time.monotonic()
        log = collect(server, tmp_path)
        elapsed = time.monotonic() - started
    hits = server.hits("/groups")
    assert len(hits) == 2
    assert hits[1].headers.get("retry-attempt") == "1"  # msgraph's RetryHandler retried it
    assert elapsed >= 1.0
    assert log["problems"] == []
    assert json.loads((tmp_path / "entra" / "groups.json").read_text())["value"]


def test_throttling_beyond_the_retries_is_recorded_as_throttled(tmp_path: Path) -> None:
    faults = {"/roleManagement/directory/roleDefinitions": [too_many_requests(1)] * 4}
    with GraphServer(SAMPLE, faults=faults) as server:
        log = collect(server, tmp_path)
    assert len(server.hits("/roleManagement/directory/roleDefinitions")) == 4  # first try + 3 retries
    assert [(p["kind"], p["call"]) for p in log["problems"]] == [
        ("throttled", "GET /roleManagement/directory/roleDefinitions")
    ]
    assert log["counts"]["roleAssignments"] == 4  # the run went on


def test_denied_endpoint_is_recorded_and_the_run_goes_on(tmp_path: Path) -> None:
    faults = {
        "/identity/conditionalAccess/policies": [
            graph_error(
                403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
            )
        ]
    }
    with GraphServer(SAMPLE, faults=faults) as server:
        log = collect(server, tmp_path)
    assert [(p["kind"], p["call"]) for p in log["problems"]] == [
        ("denied", "GET /identity/conditionalAccess/policies")
    ]
    assert "Authorization_RequestDenied" in log["problems"][0]["error"]
    assert log["problems"][0]["scope"] == "entra:tenant/6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
    result = collect_offline(tmp_path / "entra")
    assert result.coverage.status == "partial"
    assert any("denied: GET /identity/conditionalAccess/policies" in n for n in result.coverage.notes)
    users = [n for n in result.nodes if n["kind"] == "User"]
    assert len(users) == 10 and all(u["mfa"] is None for u in users)  # unknown, never guessed


def test_sign_in_activity_denied_falls_back_to_users_without_it(tmp_path: Path) -> None:
    faults = {
        "/users": [
            graph_error(
                403,
                "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                "Neither tenant is B2C or tenant doesn't have premium license",
            )
        ]
    }
    with GraphServer(SAMPLE, faults=faults) as server:
        log = collect(server, tmp_path)
    assert "signInActivity" not in server.hits("/users")[1].query["$select"][0]
    assert log["counts"]["users"] == 10
    assert [(p["kind"], p["call"]) for p in log["problems"]] == [("denied", "GET /users (signInActivity)")]
    assert log["problems"][0]["error"].endswith("; read again without it")


def test_token_is_sent_but_never_written(tmp_path: Path) -> None:
    credential = StaticCredential()
    with GraphServer(SAMPLE) as server:
        collect(server, tmp_path, credential, allow_local_token=True)
    assert server.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    arm = [seen for seen in server.requests if seen.path.startswith("/subscriptions")]
    assert arm and all(seen.headers["authorization"] == f"Bearer {TOKEN}" for seen in arm)
    assert credential.calls >= 1
    for path in (tmp_path).rglob("*.json"):
        assert "test-token-never-stored" not in path.read_text()


def test_cli_collect_entra_then_offline(tmp_path: Path) -> None:
    with GraphServer(SAMPLE) as server:
        outcome = CliRunner().invoke(
            command,
            ["--graph-url", server.base_url, "--arm-url", server.arm_url, "--out", str(tmp_path), "--quiet"],
        )
    assert outcome.exit_code == 0, outcome.output
    assert "written to" in outcome.output
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert "entra" in manifest["sources"]
    assert (
        collect_offline(tmp_path / "entra").coverage.scopes[0]
        == "entra:tenant/6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
    )


def test_client_secret_auth_needs_the_secret_in_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("AZURE_CLIENT_SECRET", raising=False)
    outcome = CliRunner().invoke(
        command, ["--auth", "client-secret", "--tenant", "t", "--client-id", "c", "--out", str(tmp_path)]
    )
    assert outcome.exit_code == 2
    assert "AZURE_CLIENT_SECRET" in outcome.output


def test_many_pages_of_group_members(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    shutil.copytree(SAMPLE, folder)
    group = "b2000000-0000-4000-8000-000000000001"
    members = json.loads((folder / "group-members" / f"{group}.json").read_text())["value"]
    for number, member in enumerate(members, start=1):
        name = f"{group}.json" if number == 1 else f"{group}.page{number}.json"
        (folder / "group-members" / name).write_text(json.dumps({"value": [member]}))
    with GraphServer(folder) as server:
        collect(server, tmp_path / "out")
    assert len(server.hits(f"/groups/{group}/members")) == len(members) == 3
    edges = [
        e
        for e in collect_offline(tmp_path / "out" / "entra").edges
        if e["kind"] == "MEMBER_OF" and e["target"] == f"entra:{group}"
    ]
    assert len(edges) == 3


# --- Azure RBAC through Azure Resource Manager (azure-core pipeline) ------------------------------

PROD_SUB = "5a1b0000-0000-4000-8000-0000000000a1"
DEV_SUB = "5a1b0000-0000-4000-8000-0000000000d1"


def test_azure_rbac_is_collected_per_subscription(tmp_path: Path) -> None:
    with GraphServer(SAMPLE) as server:
        log = collect(server, tmp_path)
    assert log["counts"]["azure/subscriptions"] == 2 and log["counts"]["azure/roleAssignments"] == 3
    assert {
        seen.query["api-version"][0] for seen in server.requests if seen.path.startswith("/subscriptions")
    } == {"2022-12-01", "2022-04-01", "2020-10-01", "2021-04-01"}  # PIM for Azure resources, resources
    saved = json.loads((tmp_path / "entra" / "azure" / "roleAssignments" / f"{PROD_SUB}.json").read_text())
    assert len(saved["value"]) == 2


def test_arm_throttling_is_retried_and_a_denied_subscription_is_recorded(tmp_path: Path) -> None:
    assignments = f"/subscriptions/{DEV_SUB}/providers/Microsoft.Authorization/roleAssignments"
    faults = {
        "/subscriptions": [too_many_requests(1)],
        assignments: [
            (
                403,
                {},
                {
                    "error": {
                        "code": "AuthorizationFailed",
                        "message": "The client does not have authorization to perform action",
                    }
                },
            )
        ],
    }
    with GraphServer(SAMPLE, faults=faults) as server:
        log = collect(server, tmp_path)
    assert len(server.hits("/subscriptions")) == 2  # azure-core's RetryPolicy waited and retried
    assert [(p["kind"], p["scope"]) for p in log["problems"]] == [("denied", f"subscription {DEV_SUB}")]
    assert "AuthorizationFailed" in log["problems"][0]["error"] or "403" in log["problems"][0]["error"]
    result = collect_offline(tmp_path / "entra")
    assert result.coverage.status == "partial"
    azure_edges = [
        e
        for e in result.edges
        if e["kind"] == "HAS_PERMISSION"
        and e["via"].startswith("Azure role")
        and e["source"].startswith("entra:a1")
    ]
    assert len(azure_edges) == 1  # li.chen's Owner on the prod subscription still came through


def test_no_azure_rbac_option_skips_resource_manager(tmp_path: Path) -> None:
    with GraphServer(SAMPLE) as server:
        outcome = CliRunner().invoke(
            command,
            [
                "--graph-url",
                server.base_url,
                "--arm-url",
                server.arm_url,
                "--no-azure-rbac",
                "--out",
                str(tmp_path),
                "--quiet",
            ],
        )
    assert outcome.exit_code == 0, outcome.output
    assert not any(seen.path.startswith("/subscriptions") for seen in server.requests)
    assert not (tmp_path / "entra" / "azure").exists()


# --- $batch for per-object requests ----------------------------------------------------------------

GROUP = "b2000000-0000-4000-8000-000000000001"


def test_per_object_requests_go_in_batches_of_twenty(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    shutil.copytree(SAMPLE, folder)
    groups = [{"id": f"g{n:03d}", "displayName": f"group {n}"} for n in range(45)]
    (folder / "groups.json").write_text(json.dumps({"value": groups}))
    with GraphServer(folder) as server:
        log = collect(server, tmp_path / "out")
    member_requests = [s for s in server.requests if s.path.endswith("/members")]
    assert len(member_requests) == 45 and all("x-batch-id" in s.headers for s in member_requests)
    batches = server.hits("/$batch")
    # members, owners and PIM for Groups eligibility of 45 groups: 3 + 3 + 3 batches; app owners,
    # SP owners, federated credentials, Graph app role assignments: 1 each
    assert len(batches) == 13
    assert log["counts"]["group-members"] == 0 and log["problems"] == []
    assert len(list((tmp_path / "out" / "entra" / "group-members").glob("*.json"))) == 45


def test_throttled_item_inside_a_batch_is_retried_after_retry_after(tmp_path: Path) -> None:
    faults = {f"/groups/{GROUP}/members": [too_many_requests(1)]}
    with GraphServer(SAMPLE, faults=faults) as server:
        started = time.monotonic()
        log = collect(server, tmp_path)
        elapsed = time.monotonic() - started
    assert len(server.hits(f"/groups/{GROUP}/members")) == 2 and elapsed >= 1.0
    assert log["problems"] == []
    saved = json.loads((tmp_path / "entra" / "group-members" / f"{GROUP}.json").read_text())
    assert len(saved["value"]) == 3


def test_denied_item_inside_a_batch_is_recorded_and_the_others_saved(tmp_path: Path) -> None:
    faults = {
        f"/groups/{GROUP}/owners": [
            graph_error(
                403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
            )
        ]
    }
    with GraphServer(SAMPLE, faults=faults) as server:
        log = collect(server, tmp_path)
    assert [(p["kind"], p["call"], p["scope"].split()[-1]) for p in log["problems"]] == [
        ("denied", "GET /groups/{id}/owners", GROUP)
    ]
    assert "Authorization_RequestDenied" in log["problems"][0]["error"]
    assert len(list((tmp_path / "entra" / "group-owners").glob("*.json"))) == 4  # the other groups


def test_an_endpoint_denied_for_every_group_is_logged_once_with_a_count(tmp_path: Path) -> None:
    no_p2 = graph_error(403, "AadPremiumLicenseRequired", "Entra ID P2 is required for PIM for Groups.")
    faults = {"/identityGovernance/privilegedAccess/group/eligibilitySchedules": [no_p2] * 5}
    with GraphServer(SAMPLE, faults=faults) as server:
        log = collect(server, tmp_path)
    calls = [(p["kind"], p["error"]) for p in log["problems"]]
    assert len(calls) == 2 and calls[1] == ("denied", "4 more object(s) answered the same")
    assert "AadPremiumLicenseRequired" in calls[0][1]
    assert not server.hits("/policies/roleManagementPolicyAssignments")[1:]  # no group had eligibility


def test_tenant_option_asks_the_default_credential_for_that_tenant() -> None:
    class Recording:
        def __init__(self) -> None:
            self.kwargs: dict[str, Any] = {}

        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            self.kwargs = kwargs
            return AccessToken(TOKEN, int(time.time()) + 3600)

    inner = Recording()
    assert TenantCredential(inner, "contoso.onmicrosoft.com").get_token(
        "https://graph.microsoft.com/.default"
    )
    assert inner.kwargs["tenant_id"] == "contoso.onmicrosoft.com"
    assert isinstance(make_credential("default", "contoso.onmicrosoft.com", None, None), TenantCredential)


def test_arm_next_link_to_another_host_is_not_followed(tmp_path: Path) -> None:
    """The bearer token must never travel to a host a response names."""
    from collectors.entra.live import ArmFetcher

    with GraphServer(SAMPLE) as server:
        fetcher = ArmFetcher(StaticCredential(), server.arm_url, allow_token_host=True)
        with pytest.raises(ValueError, match="another host"):
            fetcher.get("https://attacker.example/subscriptions?api-version=2022-12-01")
    assert server.requests == []


def test_cli_stops_at_once_when_the_credential_cannot_sign_in(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from azure.core.exceptions import ClientAuthenticationError

    class NoSignIn:
        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            raise ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token")

    monkeypatch.setattr("collectors.entra.live.make_credential", lambda *args: NoSignIn())
    outcome = CliRunner().invoke(command, ["--out", str(tmp_path), "--quiet"])  # the real Graph URL
    assert outcome.exit_code == 1
    assert "cannot sign in to Microsoft Graph: DefaultAzureCredential failed" in outcome.output
    assert "az login" in outcome.output and not (tmp_path / "entra").exists()


def test_a_throttled_batch_post_is_retried_by_the_sdk(tmp_path: Path) -> None:
    with GraphServer(SAMPLE, faults={"/$batch": [too_many_requests(1)]}) as server:
        log = collect(server, tmp_path)
    batches = server.hits("/$batch")
    assert any(seen.headers.get("retry-attempt") == "1" for seen in batches)  # RetryHandler resent the POST
    assert log["problems"] == [] and log["counts"]["group-members"] == 11


def test_the_documented_live_run_prints_what_the_docs_show(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/collectors/entra.md shows `crosspath collect entra` against this server with the registration
    report denied as in a tenant without Entra ID P1: the same command prints those lines."""
    doc = (Path(__file__).resolve().parents[3] / "docs" / "collectors" / "entra.md").read_text()
    shown = doc.split("$ crosspath collect entra --out exports --quiet\n", 1)[1].split("\n$ ", 1)[0].splitlines()
    faults = {"/reports/authenticationMethods/userRegistrationDetails": [graph_error(
        403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
        "Neither tenant is B2C or tenant doesn't have premium license")]}
    monkeypatch.chdir(tmp_path)
    with GraphServer(SAMPLE, faults=faults) as server:
        outcome = CliRunner().invoke(
            command, ["--graph-url", server.base_url, "--arm-url", server.arm_url, "--out", "exports", "--quiet"])
    assert outcome.exit_code == 0, outcome.output
    assert outcome.output.splitlines() == shown
