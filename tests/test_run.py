"""`crosspath run --config`: the scheduled run end to end (docs/scheduling.md).

The sample organisation twice, the second time three months later with one more exception: new, resolved,
reopened, overdue and per-team output; config errors that name the file and line without repeating a
secret; and a live AWS source through a moto server over HTTP.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner

from crosspath.cli import main
from crosspath.exit_codes import EXIT_FINDINGS, EXIT_NOTIFICATIONS
from crosspath.notify import sign
from tests.moto_server import moto_server
from tests.recording_http import recording_server

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
SVC_CI_DEPLOYER = "CP-9574596654e2"  # AKIA5LUMENCIDEPLOY01, owned by platform-team: excepted in the second run
APP_BILLING = "CP-c828a8450130"  # excepted by EX-2026-003 until 2026-11-12: open again three months later


def _run(config: Path, *args: str) -> tuple[int, list[dict]]:
    result = CliRunner().invoke(main, ["run", "--config", str(config), "--log", "json", *args])
    lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    return result.exit_code, lines


def _step(lines: list[dict], step: str) -> dict:
    return next(line for line in lines if line["step"] == step)


def _config(folder: Path, exports: Path, exceptions: Path, extra: str = "") -> Path:
    path = folder / "crosspath.yaml"
    path.write_text(f"out: out\nexports: {exports}\nexceptions: {exceptions}\nidentities: {SAMPLES / 'identities.yaml'}\n"
                    + extra)
    return path


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("run")
    first_exports = folder / "first"
    shutil.copytree(SAMPLES, first_exports)
    exceptions = folder / "exceptions.yaml"
    shutil.copyfile(SAMPLES / "exceptions.yaml", exceptions)
    config = _config(folder, first_exports, exceptions, "gate: {fail_on_new: true}\n")
    first = _run(config, "--by-owner")
    first_findings = json.loads((folder / "out" / "findings.json").read_text())
    # Three months later: the same organisation, one more exception (for svc-ci-deployer's key).
    later = folder / "later"
    shutil.copytree(SAMPLES, later)
    manifest = json.loads((later / "manifest.json").read_text())
    manifest["collected_at"] = "2027-01-30T00:00:00Z"
    (later / "manifest.json").write_text(json.dumps(manifest))
    exceptions.write_text(exceptions.read_text() + f"""  - id: EX-2027-001
    finding: {SVC_CI_DEPLOYER}
    owner: platform-team
    justification: Replaced by GitHub OIDC in CHG-1300; the key is deleted after the cut-over.
    expires: 2027-03-01
""")
    config = _config(folder, later, exceptions, "gate: {fail_on_new: true}\n")
    second = _run(config, "--by-owner")
    return {"folder": folder, "first": first, "second": second, "first_findings": first_findings,
            "second_findings": json.loads((folder / "out" / "findings.json").read_text())}


def test_a_first_run_scans_reports_and_passes_the_new_findings_gate(two_runs):
    code, lines = two_runs["first"]
    assert code == 0, lines
    scan = _step(lines, "scan")
    assert scan["status"] == "ok" and scan["new"] == scan["open"] == two_runs["first_findings"]["summary"]["open"]
    assert not any(line["step"] == "diff" for line in lines)  # nothing to compare with yet
    assert _step(lines, "done")["exit_code"] == 0


def test_the_second_run_says_what_is_new_resolved_and_overdue(two_runs):
    code, lines = two_runs["second"]
    document = two_runs["second_findings"]
    assert code == EXIT_FINDINGS  # fail_on_new: three months on, young keys have grown old
    diff = _step(lines, "diff")
    new = {f["id"] for f in document["findings"] if f["status"] == "open" and f["new"]}
    assert diff["resolved"] == 1 and diff["new"] == len(new) + 1  # + app_billing, open again (not new to the id)
    assert APP_BILLING not in new
    billing = next(f for f in document["findings"] if f["id"] == APP_BILLING)
    assert billing["status"] == "open" and billing["days_open"] == 90 and billing["overdue"]
    resolved = next(f for f in document["findings"] if f["id"] == SVC_CI_DEPLOYER)
    assert resolved["status"] == "excepted"
    assert document["summary"]["overdue"] == sum(f["overdue"] for f in document["findings"] if f["status"] == "open")
    assert document["summary"]["overdue"] > 0
    assert "overdue (due 2026-12-01)" in (two_runs["folder"] / "out" / "report.md").read_text()


def test_by_owner_writes_each_teams_own_findings(two_runs):
    teams = two_runs["folder"] / "out" / "teams"
    document = two_runs["second_findings"]
    for folder in teams.iterdir():
        owners = {f["owner"] for f in json.loads((folder / "findings.json").read_text())["findings"]}
        assert len(owners) == 1 and folder.name in {o.replace("@", "-") for o in owners}, folder
    platform = json.loads((teams / "platform-team" / "findings.json").read_text())
    assert {f["id"] for f in platform["findings"]} == {f["id"] for f in document["findings"]
                                                        if f["owner"] == "platform-team"}
    assert (teams / "unowned" / "report.md").is_file()


def test_an_inline_webhook_address_is_refused_without_repeating_it(tmp_path):
    config = tmp_path / "crosspath.yaml"
    config.write_text(f"out: out\nexports: {SAMPLES}\nnotifications:\n  - kind: slack\n"
                      "    url: https://hooks.slack.com/services/T000/B000/SECRETTOKEN\n")
    result = CliRunner().invoke(main, ["run", "--config", str(config), "--log", "text"])
    assert result.exit_code == 1
    assert f"{config}: line 5: notification #1 (slack): field 'url' is a secret" in result.output
    assert "SECRETTOKEN" not in result.output


def test_exports_and_sources_together_are_an_error(tmp_path):
    config = tmp_path / "crosspath.yaml"
    config.write_text(f"out: out\nexports: {SAMPLES}\nsources: {{aws: {{profile: x}}}}\n")
    result = CliRunner().invoke(main, ["run", "--config", str(config), "--log", "text"])
    assert result.exit_code == 1 and "give either exports" in result.output


# --- a live source: AWS through a moto server --------------------------------------------------------------

@pytest.fixture
def moto_aws(monkeypatch):
    with moto_server(monkeypatch) as endpoint:
        _bob_without_mfa(endpoint)
        yield endpoint


def _bob_without_mfa(endpoint: str) -> None:
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1")
    iam.create_user(UserName="bob")
    iam.create_login_profile(UserName="bob", Password="Not-A-Real-Pass-2!")
    iam.attach_user_policy(UserName="bob", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")


def test_a_run_collects_a_live_aws_account(moto_aws, tmp_path):
    config = tmp_path / "crosspath.yaml"
    config.write_text(f"out: out\nsources:\n  aws: {{endpoint_url: '{moto_aws}', region: [us-east-1]}}\n"
                      "gate: {fail_on: critical}\n")
    code, lines = _run(config)
    assert _step(lines, "collect")["status"] == "ok", lines
    document = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert document["snapshot"]["coverage"]["aws"]["status"] in ("complete", "partial")
    bob = [f for f in document["findings"] if f["entry"]["name"].endswith("(bob)")]
    assert bob and bob[0]["gap_types"] == ["NO_MFA"] and bob[0]["severity"] == "critical"
    assert code == EXIT_FINDINGS  # fail_on critical
    assert (tmp_path / "out" / "exports" / "aws").is_dir()  # the last run's exports are kept beside OUT


# --- notifications from a run ------------------------------------------------------------------------------

@pytest.fixture
def hook():
    """A local webhook receiver: (the recording server, the address to configure)."""
    with recording_server() as server:
        yield server, f"{server.base}/hook"


def test_a_run_notifies_a_signed_webhook_with_the_new_findings(hook, tmp_path, monkeypatch):
    server, url = hook
    monkeypatch.setenv("HOOK_SECRET", "s3cret-for-tests")
    config = _config(tmp_path, SAMPLES, SAMPLES / "exceptions.yaml",
                     f"report_url: https://reports.example.com/crosspath/\nnotifications:\n"
                     f"  - kind: webhook\n    url: {url}\n    secret: {{env: HOOK_SECRET}}\n")
    code, lines = _run(config)
    assert code == 0, lines
    (request,) = server.to("/hook")
    headers, body = request.headers, request.body
    assert headers["X-Crosspath-Signature"] == sign("s3cret-for-tests", body)
    notice = json.loads(body)
    document = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert notice["counts"]["open"] == document["summary"]["open"]
    assert {f["id"] for f in notice["new"]} == {f["id"] for f in document["findings"] if f["status"] == "open"}
    assert notice["report_url"] == "https://reports.example.com/crosspath/report.html"
    assert "s3cret-for-tests" not in json.dumps(lines)
    assert _step(lines, "notify")["status"] == "ok"


@pytest.mark.parametrize(("flag", "expected"), [("false", 0), ("true", EXIT_NOTIFICATIONS)])
def test_an_undelivered_notice_is_logged_and_fails_the_run_only_when_asked(hook, tmp_path, flag, expected):
    server, url = hook
    server.script["/hook"] = [400]  # refused: not retried
    config = _config(tmp_path, SAMPLES, SAMPLES / "exceptions.yaml",
                     f"notifications:\n  - kind: webhook\n    url: {url}\n"
                     f"gate: {{fail_on_notification_errors: {flag}}}\n")
    code, lines = _run(config)
    assert code == expected
    failed = _step(lines, "notify")
    assert failed["status"] == "error" and "not delivered" in failed["message"]


# --- what a run must not pass off as current -----------------------------------------------------------------

def _dated_copy(folder: Path, name: str, collected_at: str, without: tuple[str, ...] = ()) -> Path:
    copy = folder / name
    shutil.copytree(SAMPLES, copy, ignore=shutil.ignore_patterns(*without))
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["collected_at"] = collected_at
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy


def test_exports_no_newer_than_the_last_run_fail_the_coverage_gate(tmp_path):
    config = _config(tmp_path, SAMPLES, SAMPLES / "exceptions.yaml")
    assert _run(config)[0] == 0
    code, lines = _run(config)  # the same export folder again: nothing new was read
    assert code == 4
    assert "not after the last run's 2026-11-01T00:00:00Z: nothing new was read" in _step(lines, "coverage")["message"]


def test_findings_unseen_in_a_partial_run_are_not_newly_open_when_seen_again(tmp_path):
    exceptions = SAMPLES / "exceptions.yaml"
    runs = [_dated_copy(tmp_path, "full", "2026-11-01T00:00:00Z"),
            _dated_copy(tmp_path, "no-gcp", "2026-11-02T00:00:00Z", without=("gcp",)),
            _dated_copy(tmp_path, "full-again", "2026-11-03T00:00:00Z")]
    results = []
    for exports in runs:
        config = _config(tmp_path, exports, exceptions, "gate: {optional_sources: [gcp]}\n")
        results.append(_run(config))
    partial = _step(results[1][1], "diff")
    assert partial["not_rechecked"] > 0 and partial["resolved"] == 0
    again = _step(results[2][1], "diff")
    assert again["new"] == 0 and again["resolved"] == 0, again  # the unseen ones were open all along


def test_a_failing_live_source_is_logged_and_the_last_exports_stay(tmp_path):
    out = tmp_path / "out"
    (out / "exports" / "aws").mkdir(parents=True)
    (out / "exports" / "aws" / "previous.json").write_text("{}")
    config = tmp_path / "crosspath.yaml"
    config.write_text("out: out\nsources:\n  databases: {dsn: ['postgresql://crosspath@127.0.0.1:1/none']}\n")
    code, lines = _run(config)
    failed = _step(lines, "collect")
    assert failed["status"] == "error" and failed["source"] == "databases"
    assert code == 4  # nothing collected: the scan never passes on data it did not read
    assert "every configured source failed" in _step(lines, "scan")["message"]
    assert (out / "exports" / "aws" / "previous.json").exists()  # the last good exports are kept
    assert not list(out.glob(".collect-*"))  # the failed attempt's folder is removed


def test_a_password_in_a_source_address_is_refused(tmp_path):
    config = tmp_path / "crosspath.yaml"
    config.write_text("out: out\nsources:\n  databases: {dsn: ['postgresql://u:S3CRETPW@db.example.com/orders']}\n")
    result = CliRunner().invoke(main, ["run", "--config", str(config), "--log", "text"])
    assert result.exit_code == 1 and "sources.databases.dsn holds a password" in result.output
    assert "S3CRETPW" not in result.output


def test_a_channel_whose_secret_is_missing_fails_alone(hook, tmp_path, monkeypatch):
    server, url = hook
    monkeypatch.delenv("NO_SUCH_SECRET", raising=False)
    config = _config(tmp_path, SAMPLES, SAMPLES / "exceptions.yaml",
                     f"notifications:\n  - kind: slack\n    url: {{env: NO_SUCH_SECRET}}\n"
                     f"  - kind: webhook\n    url: {url}\n")
    code, lines = _run(config)
    assert code == 0
    notices = [line for line in lines if line["step"] == "notify"]
    assert [line["status"] for line in notices] == ["error", "ok"]
    assert "NO_SUCH_SECRET is not set" in notices[0]["message"]
    (request,) = server.to("/hook")
    notice = request.json()
    assert notice["counts"]["new"] == len(notice["new"])  # a reopened finding is not also counted new


def test_a_run_that_read_nothing_new_says_so_in_its_notice(hook, tmp_path):
    server, url = hook
    config = _config(tmp_path, SAMPLES, SAMPLES / "exceptions.yaml",
                     f"notifications:\n  - kind: webhook\n    url: {url}\n")
    assert _run(config)[0] == 0
    code, _ = _run(config)  # the same exports again: nothing new, and nothing new was read
    assert code == 4
    first, second = (request.json() for request in server.to("/hook"))
    assert first["coverage"] == []
    assert second["new"] == [] and "nothing new was read" in second["coverage"][0]  # sent although quiet
