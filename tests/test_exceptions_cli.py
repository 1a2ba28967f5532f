"""`crosspath exceptions review`, `--fail-on-exception-issues` and the sample's exception in each state,
end to end on the sample organisation (docs/exceptions.md)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from crosspath.cli import main
from crosspath.cli_exceptions import EXIT_EXCEPTION_ISSUES

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
SAMPLE_STATES = {"EX-2026-001": ["in_force"], "EX-2026-002": ["expired"], "EX-2026-003": ["in_force", "expiring"],
                 "EX-2025-014": ["stale"], "EX-2026-005": ["outgrown"]}
OUTGROWN = "CP-f4b5b39dbbee"  # svc-lambda-deployer's key: reached release-* a week earlier, now account admin


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory) -> Path:
    """`crosspath demo`: the sample a week earlier (recording the approvals), then the sample now."""
    out = tmp_path_factory.mktemp("demo")
    code, output = _run("demo", "--out", str(out))
    assert code == 0, output
    return out


def _findings(out: Path) -> dict:
    return json.loads((out / "findings.json").read_text())


def test_the_sample_shows_one_exception_in_each_state(demo_out):
    document = _findings(demo_out)
    states = {review["id"]: review["states"] for review in document["exception_review"]}
    assert states == SAMPLE_STATES
    report = (demo_out / "report.md").read_text()
    for exception_id in SAMPLE_STATES:
        assert re.search(rf"\| {exception_id} \| [^|]+ \| [a-z, ]+ \|", report), exception_id
    assert "EX-2026-005 | release-engineering | outgrown" in report


def test_the_outgrown_finding_is_open_with_its_reason(demo_out):
    finding = next(f for f in _findings(demo_out)["findings"] if f["id"] == OUTGROWN)
    assert finding["status"] == "open"
    assert finding["exception"]["state"] == "outgrown"
    assert finding["exception"]["reason"].startswith(
        "outgrew its exception EX-2026-005: was 1 target, now 2; severity was high, now critical")


def test_review_lists_each_exception_with_what_to_do(demo_out):
    code, output = _run("exceptions", "review", "--snapshot", str(demo_out / "snapshot.arrow"))
    assert code == 0, output
    assert output.splitlines()[0] == "5 exceptions: 2 in force · 1 expiring · 1 expired · 1 stale · 1 outgrown"
    assert "EX-2025-014 (platform-team): stale, hides 0 findings\n  - matches no finding: remove it\n" in output
    assert f"{demo_out / 'exceptions.yaml'}: line 40" in output  # the scan's own file, found from the snapshot


def test_review_json_and_its_gate(demo_out):
    code, output = _run("exceptions", "review", "--snapshot", str(demo_out / "snapshot.arrow"), "--json",
                        "--fail-on-issues")
    assert code == EXIT_EXCEPTION_ISSUES
    document = json.loads(output[:output.rindex("}") + 1])
    assert document["summary"]["stale"] == 1 and len(document["exceptions"]) == 5


def test_reapproval_closes_the_outgrown_finding_again(demo_out, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(demo_out, out)
    exceptions = out / "exceptions.yaml"
    text = exceptions.read_text()
    approved = "    approved_at: 2026-10-20\n    ticket: https://jira.lumenfreight.com/browse/SEC-402\n"
    assert approved in text
    exceptions.write_text(text.replace(approved, approved.replace("2026-10-20", "2026-11-01")))
    code, output = _run("scan", str(SAMPLES), "--out", str(out), "--exceptions", str(exceptions), "--quiet")
    assert code == 0, output
    finding = next(f for f in _findings(out)["findings"] if f["id"] == OUTGROWN)
    assert finding["status"] == "excepted" and finding["exception"]["state"] == "in_force"


def test_fail_on_exception_issues_gates_a_scan(tmp_path):
    clean = tmp_path / "clean.yaml"
    clean.write_text("exceptions:\n  - id: EX-1\n    finding: CP-c828a8450130\n    owner: dba\n"
                     "    justification: rotation planned\n    expires: 2027-01-31\n")
    code, output = _run("scan", str(SAMPLES), "--out", str(tmp_path / "a"), "--exceptions", str(clean),
                        "--fail-on-exception-issues", "--quiet")
    assert code == 0, output
    code, output = _run("scan", str(SAMPLES), "--out", str(tmp_path / "b"), "--exceptions",
                        str(SAMPLES / "exceptions.yaml"), "--fail-on-exception-issues", "--quiet")
    assert code == EXIT_EXCEPTION_ISSUES
    assert "3 exception(s) need review: EX-2026-002, EX-2026-003, EX-2025-014" in output


def test_fail_on_wins_over_exception_issues(tmp_path):
    code, _ = _run("scan", str(SAMPLES), "--out", str(tmp_path), "--exceptions", str(SAMPLES / "exceptions.yaml"),
                   "--fail-on-exception-issues", "--fail-on", "high", "--quiet")
    assert code == 3


def test_review_without_an_exceptions_file_says_so(tmp_path):
    code, _ = _run("scan", str(SAMPLES), "--out", str(tmp_path), "--quiet")
    assert code == 0
    code, output = _run("exceptions", "review", "--snapshot", str(tmp_path / "snapshot.arrow"))
    assert code == 1 and "was scanned without one; pass --exceptions FILE" in output


def test_review_says_when_the_scans_exceptions_file_changed_or_is_gone(tmp_path):
    exceptions = tmp_path / "exceptions.yaml"
    shutil.copyfile(SAMPLES / "exceptions.yaml", exceptions)
    assert _run("scan", str(SAMPLES), "--out", str(tmp_path / "out"), "--exceptions", str(exceptions),
                "--quiet")[0] == 0
    snapshot = str(tmp_path / "out" / "snapshot.arrow")
    exceptions.write_text(exceptions.read_text() + "notes: edited after the scan\n")
    code, output = _run("exceptions", "review", "--snapshot", snapshot)
    assert code == 0 and "has changed since the scan: reviewing it as it is now" in output
    exceptions.unlink()
    code, output = _run("exceptions", "review", "--snapshot", snapshot)
    assert code == 1 and "which is gone: reviewing without it" in output and "pass --exceptions FILE" in output
