"""AWS escalation techniques beyond present / absent (tests/techniques runs that rule for every
technique): preconditions, hubs, explanations. Policy evaluation itself: test_aws_evaluation.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from collectors.aws import collect_offline
from tests.collectors.test_aws import doc, role_entry, user_entry, write_account
from tests.techniques.aws_cases import (
    ACCT,
    ATTACKER,
    STATEMENTS,
    admin_role,
    allow,
    arn,
    build,
    transfer_edges,
)


@pytest.mark.parametrize("technique", sorted(STATEMENTS))
def test_technique_edge_names_the_statements_that_allow_it(technique, tmp_path):
    """Present / absent for every technique: tests/techniques/test_present_and_absent.py."""
    statements, setup, kind, target = STATEMENTS[technique]
    build(tmp_path, [dict(s, Sid=f"S{i}") for i, s in enumerate(statements)], setup)
    (found,) = transfer_edges(tmp_path, kind, target)
    assert technique in found["techniques"]
    assert "attacker-policy (inline policy on attacker), statement S0" in found["via"]


def test_compute_technique_needs_a_role_the_service_trusts(tmp_path):
    statements = [allow("iam:PassRole", arn("role", "cfn-admin")), allow("lambda:CreateFunction"),
                  allow("lambda:InvokeFunction")]
    build(tmp_path, statements, {})
    assert not transfer_edges(tmp_path, "CAN_RUN_AS", arn("role", "cfn-admin")), "cfn-admin trusts CloudFormation only"


def test_ec2_without_instance_profile_needs_the_power_to_make_one(tmp_path):
    statements = [allow("iam:PassRole", arn("role", "lambda-admin")), allow("ec2:RunInstances")]
    build(tmp_path / "a", statements, {})
    assert not transfer_edges(tmp_path / "a", "CAN_RUN_AS", arn("role", "lambda-admin"))


def test_admins_draw_no_escalation_edges(tmp_path):
    build(tmp_path, [allow("*")], {})
    result = collect_offline(tmp_path)
    assert not [e for e in result.edges if e["source"] == ATTACKER and e["kind"] in ("CAN_GRANT", "CAN_RUN_AS")]
    admin = [e for e in result.edges if e["source"] == ATTACKER and e["kind"] == "HAS_PERMISSION"]
    assert [e["level"] for e in admin] == ["admin"]


def test_assume_role_needs_trust_and_identity_policy(tmp_path):
    trust = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "sts:AssumeRole"})

    def run(folder: Path, statements) -> list[dict]:
        write_account(folder, ACCT, users=[user_entry(ACCT, "attacker", *statements) if statements
                                           else user_entry(ACCT, "attacker")],
                      roles=[role_entry(ACCT, "deploy", trust, allow("s3:PutObject", "arn:aws:s3:::prod/*"))])
        return transfer_edges(folder, "CAN_ASSUME", arn("role", "deploy"))

    assert len(run(tmp_path / "both", [allow("sts:AssumeRole", arn("role", "deploy"))])) == 1
    assert not run(tmp_path / "trust-only", [])


REPORT_HEADER = ("user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
                 "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
                 "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
                 "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
                 "access_key_2_last_used_region,access_key_2_last_used_service\n")


def _victim_report(folder: Path, password: bool, keys: int) -> None:
    rotated = ["2025-01-01T00:00:00+00:00" if n < keys else "N/A" for n in range(2)]
    row = (f"victim,{arn('user', 'victim')},2025-01-01T00:00:00+00:00,{str(password).lower()},N/A,N/A,N/A,false,"
           f"{str(keys > 0).lower()},{rotated[0]},N/A,N/A,N/A,{str(keys > 1).lower()},{rotated[1]},N/A,N/A,N/A\n")
    (folder / ACCT / "credential-report.csv").write_text(REPORT_HEADER + row)


def test_create_access_key_on_a_user_with_two_keys_needs_delete_access_key(tmp_path):
    statements = [allow("iam:CreateAccessKey", arn("user", "victim"))]
    build(tmp_path / "two", statements, {})
    _victim_report(tmp_path / "two", password=False, keys=2)
    assert not transfer_edges(tmp_path / "two", "CAN_CREATE_CREDENTIAL", arn("user", "victim"))
    build(tmp_path / "delete", [*statements, allow("iam:DeleteAccessKey", arn("user", "victim"))], {})
    _victim_report(tmp_path / "delete", password=False, keys=2)
    (edge,) = transfer_edges(tmp_path / "delete", "CAN_CREATE_CREDENTIAL", arn("user", "victim"))
    assert edge["actions"] == ["iam:CreateAccessKey", "iam:DeleteAccessKey"]


@pytest.mark.parametrize("action, password, drawn", [
    ("iam:CreateLoginProfile", False, True), ("iam:CreateLoginProfile", True, False),
    ("iam:UpdateLoginProfile", True, True), ("iam:UpdateLoginProfile", False, False),
])
def test_login_profile_techniques_follow_whether_the_user_has_a_password(tmp_path, action, password, drawn):
    build(tmp_path, [allow(action, arn("user", "victim"))], {})
    _victim_report(tmp_path, password=password, keys=0)
    assert bool(transfer_edges(tmp_path, "CAN_CREATE_CREDENTIAL", arn("user", "victim"))) is drawn


@pytest.mark.parametrize("service, drawn", [("lambda.amazonaws.com", True), ("ec2.amazonaws.com", False),
                                            ("lambda.*", True)])
def test_pass_role_respects_passed_to_service(tmp_path, service, drawn):
    passing = dict(allow("iam:PassRole", arn("role", "lambda-admin")),
                   Condition={"StringLike" if "*" in service else "StringEquals": {"iam:PassedToService": service}})
    build(tmp_path, [passing, allow(["lambda:CreateFunction", "lambda:InvokeFunction"])], {})
    assert bool(transfer_edges(tmp_path, "CAN_RUN_AS", arn("role", "lambda-admin"))) is drawn


def _crowd(folder: Path, attackers: int, roles: int = 30) -> None:
    """Holders of ssm:StartSession on `*`, and many instances running with roles; one role is admin.

    (SSM, because IAM actions on `*` already make their holder admin of the account.)"""
    users = [user_entry(ACCT, f"attacker{i}" if i else "attacker", allow("ssm:StartSession"))
             for i in range(attackers)]
    crowd = [admin_role(f"fn{i}", "ec2.amazonaws.com", profile=True) for i in range(roles - 1)]
    for role in crowd:
        role["RolePolicyList"] = []
    admin = admin_role("fn-admin", "ec2.amazonaws.com", profile=True)
    admin["AttachedManagedPolicies"] = [{"PolicyName": "AdministratorAccess",
                                         "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}]
    write_account(folder / "aws", ACCT, users=users, roles=[*crowd, admin], policies=[
        {"PolicyName": "AdministratorAccess", "Arn": "arn:aws:iam::aws:policy/AdministratorAccess",
         "DefaultVersionId": "v1", "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": True,
                                                          "Document": doc(allow("*"))}]}])
    instances = [{"InstanceId": f"i-{r['RoleName']}", "Placement": {"AvailabilityZone": "us-east-1a"},
                  "IamInstanceProfile": {"Arn": r["InstanceProfileList"][0]["Arn"]}} for r in [*crowd, admin]]
    (folder / "aws" / ACCT / "ec2-instances.json").write_text(json.dumps({"Reservations": [{"Instances": instances}]}))
    row = (f"attacker,{arn('user', 'attacker')},2025-01-01T00:00:00+00:00,true,N/A,N/A,N/A,false,"
           "false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A\n")
    (folder / "aws" / ACCT / "credential-report.csv").write_text(REPORT_HEADER + row)
    # A sandbox account: plain writes in it are not privileged, admin over it is.
    (folder / "aws" / "organizations-accounts.json").write_text(json.dumps({"Accounts": [
        {"Id": ACCT, "Name": "sandbox", "Status": "ACTIVE"}]}))


def test_many_wildcard_holders_share_one_hub_and_the_path_still_reaches_the_admin(tmp_path):
    from crosspath.pipeline import scan

    _crowd(tmp_path, attackers=3)
    result = collect_offline(tmp_path / "aws")
    run_as = [e for e in result.edges if e["kind"] == "CAN_RUN_AS"]
    hubs = {e["target"] for e in run_as if e["source"].endswith(("attacker", "attacker1", "attacker2"))}
    assert len(hubs) == 1, "the three holders of StartSession on * reach the same set of roles"
    (hub,) = hubs
    members = {e["target"] for e in run_as if e["source"] == hub}
    assert f"aws:{arn('role', 'fn-admin')}" in members and len(members) == 30
    assert len(run_as) == 3 + 30, "linear: one edge per holder and one per role, not one per (holder, role)"
    findings = scan(tmp_path, tmp_path / "out").analysis.findings
    (finding,) = [f for f in findings if f.entry["id"] == f"aws:password/{arn('user', 'attacker')}"]
    assert [step.kind for step in finding.path] == ["AUTHENTICATES", "CAN_RUN_AS", "CAN_RUN_AS", "HAS_PERMISSION"]
    assert finding.path[2].target == f"aws:{arn('role', 'fn-admin')}" and finding.gap_types == ["NO_MFA"]


def test_below_the_hub_threshold_edges_stay_direct(tmp_path):
    _crowd(tmp_path, attackers=2, roles=5)
    run_as = [e for e in collect_offline(tmp_path / "aws").edges if e["kind"] == "CAN_RUN_AS"]
    assert len(run_as) == 2 * 5 and all(e["target"].startswith("aws:arn:") for e in run_as)


def test_account_root_trust_to_many_roles_goes_through_a_hub(tmp_path):
    root = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "sts:AssumeRole"}
    roles = [role_entry(ACCT, f"r{i}", doc(root)) for i in range(29)]
    roles.append(role_entry(ACCT, "guarded", doc(dict(root, Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}))))
    users = [user_entry(ACCT, name, allow("sts:AssumeRole", f"arn:aws:iam::{ACCT}:role/*")) for name in ("a", "b")]
    write_account(tmp_path, ACCT, users=users, roles=roles)
    assume = [e for e in collect_offline(tmp_path).edges if e["kind"] == "CAN_ASSUME"]
    hubs = {e["target"] for e in assume if e["source"].endswith(("user/a", "user/b"))}
    assert len(hubs) == 1 and len(assume) == 2 + 30
    (hub,) = hubs
    guarded = next(e for e in assume if e["source"] == hub and e["target"].endswith("role/guarded"))
    assert guarded["mfa_required"] is True
    assert not next(e for e in assume if e["source"] == hub and e["target"].endswith("role/r0"))["mfa_required"]


def test_set_default_policy_version_needs_another_version(tmp_path):
    build(tmp_path, [allow("iam:SetDefaultPolicyVersion")], {})
    details = tmp_path / ACCT / "authorization-details.json"
    data = json.loads(details.read_text())
    data["Policies"][0]["PolicyVersionList"] = data["Policies"][0]["PolicyVersionList"][:1]
    details.write_text(json.dumps(data))
    assert not transfer_edges(tmp_path, "CAN_GRANT", arn("role", "ops"))
