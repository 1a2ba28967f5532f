"""Issue 14: conditions evaluated where provable at collection time, kept as text otherwise; edges
drawn on an assumption marked `assumed`. Realistic inputs: authorization-details.json statements,
`gcloud ... get-iam-policy --format=json` bindings with `condition: {title, expression}`.

The collectors write provable time bounds as `time_bounds`; the graph builder, which knows the
collection time, is the one place that evaluates them (so these tests build the graph).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from collectors import technique_catalogue
from collectors.aws import collect_offline as collect_aws
from collectors.entra.abuse import HELPDESK_ADMIN
from collectors.gcp import collect_offline as collect_gcp
from crosspath.pipeline import snapshot_metadata
from graph.builder import build_graph
from graph.stores.rows import graph_rows
from graph.times import bound_holds, describe_bound
from queries.analysis import analyze
from queries.policy import load_policy
from queries.reports import html, markdown
from tests.collectors.entra.test_abuse import build as entra_build
from tests.collectors.entra.test_abuse import tenant as entra_tenant
from tests.collectors.test_aws import doc, role_entry, user_entry, write_account
from tests.collectors.test_aws_escalation import REPORT_HEADER
from tests.collectors.test_gcp import APP, small_export

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
ACCT = "444444444444"
ALICE = f"aws:arn:aws:iam::{ACCT}:user/alice"
ACCOUNT = f"aws:account/{ACCT}"
SCHEMA = json.loads((Path(__file__).resolve().parent.parent / "docs" / "findings.schema.json").read_text())


def _aws(folder: Path, condition: dict | None, *, actions="*", resource="*", roles=()) -> tuple:
    statement = {"Sid": "TempAdmin", "Effect": "Allow", "Action": actions, "Resource": resource}
    if condition is not None:
        statement["Condition"] = condition
    write_account(folder, ACCT, users=[user_entry(ACCT, "alice", statement)], roles=list(roles))
    result = collect_aws(folder)
    return result, build_graph([result], AS_OF)


def _edges(build, source: str, kind: str | None = None) -> list[dict]:
    """Edges the sources drew from source (not the builder's own BELONGS_TO to a Person)."""
    return [data for start, _, data in build.graph.edges(data=True)
            if start == source and data["kind"] != "BELONGS_TO" and (kind is None or data["kind"] == kind)]


def _analysis(build):
    metadata = snapshot_metadata(build, AS_OF, "exports")
    return analyze(build.graph, metadata, load_policy(None), [], AS_OF, techniques=technique_catalogue())


# --- AWS time conditions -------------------------------------------------------------------------

@pytest.mark.parametrize("condition, bound", [
    ({"DateLessThan": {"aws:CurrentTime": "2025-06-30T23:59:59Z"}}, "valid before 2025-06-30T23:59:59Z"),
    ({"DateLessThanEquals": {"aws:CurrentTime": "2026-10-31"}}, "valid until 2026-10-31T00:00:00Z"),
    ({"DateGreaterThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"}}, "valid after 2027-01-01T00:00:00Z"),
    ({"NumericLessThan": {"aws:EpochTime": "1735689600"}}, "valid before 2025-01-01T00:00:00Z"),
    ({"DateGreaterThanEquals": {"aws:EpochTime": "1798761600"}}, "valid from 2027-01-01T00:00:00Z"),
])
def test_aws_grant_outside_its_time_window_draws_no_edge_and_coverage_says_so(tmp_path, condition, bound):
    result, build = _aws(tmp_path, condition)
    assert next(e for e in result.edges if e["source"] == ALICE)["time_bounds"]  # the collector only parses
    assert _edges(build, ALICE) == []
    coverage = build.coverage["aws"]
    assert coverage.counts["skipped.inactive_edges"] == 1
    (note,) = [n for n in coverage.notes if "inactive at the collection time" in n]
    assert "alice-policy (inline policy on alice), statement TempAdmin" in note and bound in note


def test_aws_grant_inside_its_window_is_drawn_with_its_bounds_and_condition_text(tmp_path):
    window = {"DateGreaterThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"},
              "DateLessThan": {"aws:CurrentTime": ["2026-06-01T00:00:00Z", "2027-01-01T00:00:00Z"]}}
    _, build = _aws(tmp_path, window)
    (grant,) = _edges(build, ALICE, "HAS_PERMISSION")
    # several values under one key are alternatives: the loosest bound counts
    assert grant["time_bounds"] == ["< 2027-01-01T00:00:00Z", "> 2026-01-01T00:00:00Z"]
    assert any("aws:CurrentTime" in c for c in grant["conditions"])
    assert "skipped.inactive_edges" not in build.coverage["aws"].counts


@pytest.mark.parametrize("condition", [
    {"DateLessThanIfExists": {"aws:CurrentTime": "2025-01-01T00:00:00Z"}},
    {"DateNotEquals": {"aws:CurrentTime": "2025-01-01T00:00:00Z"}},
    {"ForAnyValue:DateLessThan": {"aws:CurrentTime": "2025-01-01T00:00:00Z"}},
    {"DateLessThan": {"aws:TokenIssueTime": "2025-01-01T00:00:00Z"}},
    {"DateLessThan": {"aws:CurrentTime": "${aws:PrincipalTag/until}"}},
])
def test_aws_condition_that_is_not_provable_keeps_the_edge_with_its_text(tmp_path, condition):
    _, build = _aws(tmp_path, condition)
    (grant,) = _edges(build, ALICE, "HAS_PERMISSION")
    assert grant["level"] == "admin" and "time_bounds" not in grant
    operator, block = next(iter(condition.items()))
    key, value = next(iter(block.items()))
    assert grant["conditions"] == [f"{operator} {key} = {value}"]


def test_aws_expired_grant_draws_no_escalation_edge_either(tmp_path):
    ops = role_entry(ACCT, "ops", doc(), {"Effect": "Allow", "Action": "s3:PutObject",
                                          "Resource": "arn:aws:s3:::prod-ledger/*"})
    expired = {"DateLessThan": {"aws:CurrentTime": "2025-01-01T00:00:00Z"}}
    target = f"aws:arn:aws:iam::{ACCT}:role/ops"
    _, build = _aws(tmp_path / "expired", expired, actions="iam:PutRolePolicy", resource=ops["Arn"], roles=[ops])
    assert _edges(build, ALICE) == []
    assert build.coverage["aws"].counts["skipped.inactive_edges"] == 1  # the CAN_GRANT of aws.iam.put-role-policy
    _, build = _aws(tmp_path / "plain", None, actions="iam:PutRolePolicy", resource=ops["Arn"], roles=[ops])
    (grant,) = _edges(build, ALICE, "CAN_GRANT")
    assert grant["techniques"] == ["aws.iam.put-role-policy"] and "assumed" not in grant
    assert [t for s, t, _ in build.graph.edges(data=True) if s == ALICE and t == target]


def test_aws_expired_trust_statement_draws_no_assume_edge(tmp_path):
    trust = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:user/alice"},
                 "Action": "sts:AssumeRole",
                 "Condition": {"DateLessThan": {"aws:CurrentTime": "2026-03-31T00:00:00Z"}}})
    ops = role_entry(ACCT, "ops", trust, {"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    _, build = _aws(tmp_path, None, actions="s3:GetObject", resource="arn:aws:s3:::docs/*", roles=[ops])
    assert _edges(build, ALICE, "CAN_ASSUME") == []
    assert build.coverage["aws"].counts["skipped.inactive_edges"] == 1
    assert any("via trust policy of role ops: valid before 2026-03-31T00:00:00Z" in n for n in build.coverage["aws"].notes)


# --- GCP IAM Conditions --------------------------------------------------------------------------

CONTRACTOR = "gcp:user/contractor@x.com"


def _gcp(tmp_path: Path, expression: str):
    folder = small_export(tmp_path, {"bindings": [
        {"condition": {"expression": expression, "title": "temporary-access"},
         "members": ["user:contractor@x.com"], "role": "roles/editor"}], "etag": "BwY=", "version": 3})
    result = collect_gcp(folder)
    return result, build_graph([result], AS_OF)


@pytest.mark.parametrize("expression", [
    'request.time < timestamp("2025-01-01T00:00:00Z")',
    'request.time <= timestamp("2026-10-31T23:59:59Z")',
    'request.time > timestamp("2027-01-01T00:00:00Z")',
    'timestamp("2026-12-01T00:00:00Z") <= request.time',
    'resource.name.startsWith("projects/p1") && request.time < timestamp("2025-01-01T00:00:00Z")',
    '(request.time >= timestamp("2026-01-01T00:00:00Z")) && (request.time < timestamp("2026-06-01T00:00:00Z"))',
])
def test_gcp_binding_that_is_provably_inactive_draws_no_edge(tmp_path, expression):
    result, build = _gcp(tmp_path, expression)
    assert any(e["source"] == CONTRACTOR and e.get("time_bounds") for e in result.edges)
    assert _edges(build, CONTRACTOR) == []  # no HAS_PERMISSION, no CAN_RUN_AS through actAs either
    coverage = build.coverage["gcp"]
    assert coverage.counts["skipped.inactive_edges"] >= 2
    (note,) = [n for n in coverage.notes if "inactive at the collection time" in n]
    assert "roles/editor on projects/p1 (conditional)" in note


@pytest.mark.parametrize("expression", [
    'request.time < timestamp("2025-01-01T00:00:00Z") || resource.type == "storage.googleapis.com/Bucket"',
    '!(request.time < timestamp("2025-01-01T00:00:00Z"))',
    'request.time.getFullYear() < 2025',
    'resource.name.startsWith("projects/p1")',
    'request.time >= timestamp("2026-01-01T00:00:00Z")',
])
def test_gcp_binding_that_may_hold_keeps_its_edges_with_the_condition_text(tmp_path, expression):
    _, build = _gcp(tmp_path, expression)
    (grant,) = _edges(build, CONTRACTOR, "HAS_PERMISSION")
    assert grant["conditions"] == [f"temporary-access: {expression}"]
    assert any(e["kind"] == "CAN_RUN_AS" and e["conditions"] for e in _edges(build, CONTRACTOR))
    assert "skipped.inactive_edges" not in build.coverage["gcp"].counts


def test_gcp_note_says_which_conditions_are_evaluated(tmp_path):
    result, _ = _gcp(tmp_path, 'request.time < timestamp("2025-01-01T00:00:00Z")')
    assert any("request.time" in n and "not evaluated" in n for n in result.coverage.notes)


def test_time_bound_helpers():
    assert bound_holds("< 2026-11-01T00:00:00Z", AS_OF) is False
    assert bound_holds("<= 2026-11-01T00:00:00Z", AS_OF) is True
    assert bound_holds(">= 2026-11-01T00:00:00Z", AS_OF) is True
    assert bound_holds("> 2026-11-01T00:00:00Z", AS_OF) is False
    assert bound_holds("soon", AS_OF) is None
    assert describe_bound("> 2027-01-01T00:00:00Z") == "valid after 2027-01-01T00:00:00Z"


# --- findings and reports ------------------------------------------------------------------------

def test_finding_through_a_conditional_edge_says_so_in_explanation_and_reports(tmp_path):
    _, build = _aws(tmp_path, {"DateLessThanIfExists": {"aws:CurrentTime": "2025-01-01T00:00:00Z"}})
    analysis = _analysis(build)
    (finding,) = [f for f in analysis.findings if f.entry["id"] == ALICE]
    step = finding.path[-1]
    assert step.conditions and step.conditional
    (line,) = [x for x in finding.explanation if "is conditional" in x]
    assert line.startswith("Step 1 (alice —HAS_PERMISSION→ ")
    assert "DateLessThanIfExists aws:CurrentTime = 2025-01-01T00:00:00Z" in line
    assert "The path holds only when that condition does." in line
    report = markdown.render(analysis)
    assert "— conditional: DateLessThanIfExists aws:CurrentTime = 2025-01-01T00:00:00Z" in report
    assert "— conditional: DateLessThanIfExists aws:CurrentTime" in html.render(analysis)


def test_finding_through_an_unconditional_edge_has_no_caveat(tmp_path):
    _, build = _aws(tmp_path, None)
    (finding,) = [f for f in _analysis(build).findings if f.entry["id"] == ALICE]
    assert not [x for x in finding.explanation if "conditional" in x or "assumed" in x]


def _reset_org(folder: Path) -> None:
    """alice may reset victim's console password; victim is admin of the account."""
    write_account(folder, ACCT, users=[
        user_entry(ACCT, "alice", {"Effect": "Allow", "Action": "iam:UpdateLoginProfile",
                                   "Resource": f"arn:aws:iam::{ACCT}:user/victim"}),
        user_entry(ACCT, "victim", {"Effect": "Allow", "Action": "*", "Resource": "*"})])


def test_assumed_edge_is_marked_and_the_finding_says_so(tmp_path):
    _reset_org(tmp_path)
    build = build_graph([collect_aws(tmp_path)], AS_OF)
    (reset,) = _edges(build, ALICE, "CAN_CREATE_CREDENTIAL")
    assert reset["assumed"] is True
    assert reset["assumed_reason"] == "No credential report row for victim: assumed to have a console password."
    analysis = _analysis(build)
    (finding,) = [f for f in analysis.findings if f.entry["id"] == ALICE]
    assumed = [step for step in finding.path if step.assumed]
    assert [s.kind for s in assumed] == ["CAN_CREATE_CREDENTIAL"]
    assert any("is assumed, not proven by the collected inventory: No credential report row for victim" in x
               for x in finding.explanation)
    document = json.loads(json.dumps(analysis.to_dict()))
    jsonschema.validate(document, SCHEMA, cls=jsonschema.Draft202012Validator)
    edge = next(e for f in document["findings"] if f["entry"]["id"] == ALICE for e in f["path"]
                if e["kind"] == "CAN_CREATE_CREDENTIAL")
    assert edge["assumed"] is True and edge["assumed_reason"].startswith("No credential report row")
    assert "— assumed: No credential report row for victim" in markdown.render(analysis)
    assert "— assumed: No credential report row for victim" in html.render(analysis)


def test_the_same_edge_is_not_assumed_when_the_credential_report_proves_it(tmp_path):
    _reset_org(tmp_path)
    (tmp_path / ACCT / "credential-report.csv").write_text(
        REPORT_HEADER + f"victim,arn:aws:iam::{ACCT}:user/victim,2025-01-01T00:00:00+00:00,true,N/A,N/A,N/A,"
        "false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A\n")
    (reset,) = _edges(build_graph([collect_aws(tmp_path)], AS_OF), ALICE, "CAN_CREATE_CREDENTIAL")
    assert "assumed" not in reset


def test_create_access_key_is_assumed_only_when_the_key_count_matters_and_is_unknown(tmp_path):
    create = {"Effect": "Allow", "Action": "iam:CreateAccessKey", "Resource": f"arn:aws:iam::{ACCT}:user/victim"}
    delete = dict(create, Action="iam:DeleteAccessKey")
    for name, statements in (("create", [create]), ("both", [create, delete])):
        write_account(tmp_path / name, ACCT, users=[user_entry(ACCT, "alice", *statements),
                                                    user_entry(ACCT, "victim")])
        (edge,) = _edges(build_graph([collect_aws(tmp_path / name)], AS_OF), ALICE, "CAN_CREATE_CREDENTIAL")
        assert edge.get("assumed", False) is (name == "create"), name


def test_entra_reset_of_non_admins_is_assumed_when_role_holding_group_members_are_unknown():
    name = "entra.users.reset-password-by-role"
    known = entra_build(name, entra_tenant(roles={"x": {HELPDESK_ADMIN}}))
    assert [e for e in known if e["kind"] == "CAN_CREATE_CREDENTIAL" and e.get("assumed")] == []
    unknown = entra_build(name, entra_tenant(roles={"x": {HELPDESK_ADMIN}}, admin_groups_unknown=["Tier0"]))
    resets = [e for e in unknown if e["kind"] == "CAN_CREATE_CREDENTIAL"]
    assert resets and all(e["assumed"] is True for e in resets)
    assert "Members of role-holding group(s) Tier0 not exported: u1@t assumed not to be an administrator" in next(
        e["assumed_reason"] for e in resets if e["target"] == "entra:u1")


def test_gcp_sa_policy_condition_reaches_transfer_edges_too(tmp_path):
    folder = small_export(tmp_path, {"etag": "ACAB"}, {"bindings": [
        {"condition": {"title": "until-2025", "expression": 'request.time < timestamp("2025-01-01T00:00:00Z")'},
         "members": ["user:dev@x.com"], "role": "roles/iam.serviceAccountTokenCreator"}], "etag": "BwY=", "version": 3})
    build = build_graph([collect_gcp(folder)], AS_OF)
    assert not [t for s, t, d in build.graph.edges(data=True) if s == "gcp:user/dev@x.com" and t == APP]


def test_assumed_is_a_boolean_column_for_cypher(tmp_path):
    _reset_org(tmp_path)
    rows = graph_rows(build_graph([collect_aws(tmp_path)], AS_OF).graph)
    assert rows.edge_columns["CAN_CREATE_CREDENTIAL"]["assumed"] == "BOOLEAN"
    assert {(r["source"], r["assumed"]) for r in rows.edges["CAN_CREATE_CREDENTIAL"]} == {(ALICE, True)}
    assert {r["assumed"] for r in rows.edges["HAS_PERMISSION"]} == {False}
