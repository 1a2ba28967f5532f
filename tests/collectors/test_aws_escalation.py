"""Escalation techniques, one case each: the edge appears with every required permission and
disappears when any one is missing (policy evaluation itself: test_aws_evaluation.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from collectors.aws import collect_offline
from collectors.aws.escalation import TECHNIQUES
from tests.collectors.test_aws import doc, role_entry, user_entry, write_account

ACCT = "333333333333"
ATTACKER = f"aws:arn:aws:iam::{ACCT}:user/attacker"


def arn(kind: str, name: str) -> str:
    return f"arn:aws:iam::{ACCT}:{kind}/{name}"


def trusting(service: str) -> dict:
    return doc({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})


def allow(actions, resource="*", sid=""):
    statement = {"Effect": "Allow", "Action": list(actions) if isinstance(actions, tuple) else actions,
                 "Resource": resource}
    if sid:
        statement["Sid"] = sid
    return statement


def group_entry(name: str) -> dict:
    return {"Path": "/", "GroupName": name, "GroupId": f"AGPA{name.upper()}", "Arn": arn("group", name),
            "CreateDate": "2026-01-01T00:00:00+00:00", "GroupPolicyList": [], "AttachedManagedPolicies": []}


def admin_role(name: str, service: str, profile: bool = False) -> dict:
    role = role_entry(ACCT, name, trusting(service), allow("s3:*", "arn:aws:s3:::prod-vault"))
    if profile:
        role["InstanceProfileList"] = [{"InstanceProfileName": name, "Arn": f"arn:aws:iam::{ACCT}:instance-profile/{name}",
                                        "Roles": []}]
    return role


# technique -> (statements of the attacker, extra setup, edge kind, target arn)
CASES = {
    "CreateAccessKey": ([allow("iam:CreateAccessKey", arn("user", "victim"))], {}, "CAN_CREATE_CREDENTIAL",
                        arn("user", "victim")),
    "CreateLoginProfile": ([allow("iam:CreateLoginProfile", arn("user", "*"))], {}, "CAN_CREATE_CREDENTIAL",
                           arn("user", "victim")),
    "UpdateLoginProfile": ([allow("iam:UpdateLoginProfile", arn("user", "victim"))], {}, "CAN_CREATE_CREDENTIAL",
                           arn("user", "victim")),
    "PutUserPolicy": ([allow("iam:PutUserPolicy", arn("user", "victim"))], {}, "CAN_GRANT", arn("user", "victim")),
    "AttachUserPolicy": ([allow("iam:AttachUserPolicy", arn("user", "vic*"))], {}, "CAN_GRANT",
                         arn("user", "victim")),
    "PutRolePolicy": ([allow("iam:PutRolePolicy", arn("role", "ops"))], {}, "CAN_GRANT", arn("role", "ops")),
    "AttachRolePolicy": ([allow("iam:AttachRolePolicy", "*")], {}, "CAN_GRANT", arn("role", "ops")),
    "UpdateAssumeRolePolicy": ([allow("iam:UpdateAssumeRolePolicy", arn("role", "ops"))], {}, "CAN_GRANT",
                               arn("role", "ops")),
    "PutGroupPolicy": ([allow("iam:PutGroupPolicy", arn("group", "admins"))], {}, "CAN_GRANT", arn("group", "admins")),
    "AttachGroupPolicy": ([allow("iam:AttachGroupPolicy", arn("group", "admins"))], {}, "CAN_GRANT",
                          arn("group", "admins")),
    "AddUserToGroup": ([allow("iam:AddUserToGroup", arn("group", "admins"))], {}, "CAN_GRANT",
                       arn("group", "admins")),
    "CreatePolicyVersion": ([allow("iam:CreatePolicyVersion", f"arn:aws:iam::{ACCT}:policy/shared-ops")], {},
                            "CAN_GRANT", arn("role", "ops")),
    "SetDefaultPolicyVersion": ([allow("iam:SetDefaultPolicyVersion", f"arn:aws:iam::{ACCT}:policy/shared-ops")], {},
                                "CAN_GRANT", arn("role", "ops")),
    "PassRole:EC2": ([allow("iam:PassRole", arn("role", "ec2-admin")), allow("ec2:RunInstances")], {},
                     "CAN_RUN_AS", arn("role", "ec2-admin")),
    "PassRole:Lambda": ([allow("iam:PassRole", arn("role", "lambda-admin")), allow("lambda:CreateFunction"),
                         allow("lambda:InvokeFunction")], {}, "CAN_RUN_AS", arn("role", "lambda-admin")),
    "PassRole:CloudFormation": ([allow("iam:PassRole", arn("role", "cfn-admin")), allow("cloudformation:CreateStack")],
                                {}, "CAN_RUN_AS", arn("role", "cfn-admin")),
    "PassRole:CodeBuild": ([allow("iam:PassRole", arn("role", "build-admin")), allow("codebuild:CreateProject"),
                            allow("codebuild:StartBuild")], {}, "CAN_RUN_AS", arn("role", "build-admin")),
    "PassRole:SageMaker": ([allow("iam:PassRole", arn("role", "sm-admin")),
                            allow("sagemaker:CreateNotebookInstance")], {}, "CAN_RUN_AS", arn("role", "sm-admin")),
    "PassRole:ECS": ([allow("iam:PassRole", arn("role", "task-admin")), allow("ecs:RegisterTaskDefinition"),
                      allow("ecs:RunTask")], {}, "CAN_RUN_AS", arn("role", "task-admin")),
    "PassRole:Glue": ([allow("iam:PassRole", arn("role", "glue-admin")), allow("glue:CreateJob"),
                       allow("glue:StartJobRun")], {}, "CAN_RUN_AS", arn("role", "glue-admin")),
    "PassRole:DataPipeline": ([allow("iam:PassRole", arn("role", "pipeline-admin")),
                               allow("datapipeline:CreatePipeline"), allow("datapipeline:PutPipelineDefinition")], {},
                              "CAN_RUN_AS", arn("role", "pipeline-admin")),
    "PassRole:AppRunner": ([allow("iam:PassRole", arn("role", "apprunner-admin")), allow("apprunner:CreateService")],
                           {}, "CAN_RUN_AS", arn("role", "apprunner-admin")),
    "PassRole:AutoScaling": ([allow("iam:PassRole", arn("role", "ec2-admin")),
                              allow("autoscaling:CreateLaunchConfiguration"),
                              allow("autoscaling:CreateAutoScalingGroup")], {}, "CAN_RUN_AS", arn("role", "ec2-admin")),
    "UpdateFunctionCode": ([allow("lambda:UpdateFunctionCode", f"arn:aws:lambda:us-east-1:{ACCT}:function:billing")],
                           {"functions": True}, "CAN_RUN_AS", arn("role", "lambda-admin")),
    "SSM:SendCommand": ([allow("ssm:SendCommand", f"arn:aws:ec2:us-east-1:{ACCT}:instance/*")], {"instances": True},
                        "CAN_RUN_AS", arn("role", "ec2-admin")),
    "SSM:StartSession": ([allow("ssm:StartSession")], {"instances": True}, "CAN_RUN_AS", arn("role", "ec2-admin")),
}


def build(folder: Path, statements: list[dict], setup: dict) -> None:
    roles = [role_entry(ACCT, "ops", doc(), allow("s3:PutObject", "arn:aws:s3:::prod-data/*")),
             admin_role("ec2-admin", "ec2.amazonaws.com", profile=True), admin_role("lambda-admin", "lambda.amazonaws.com"),
             admin_role("cfn-admin", "cloudformation.amazonaws.com"), admin_role("build-admin", "codebuild.amazonaws.com"),
             admin_role("sm-admin", "sagemaker.amazonaws.com"), admin_role("task-admin", "ecs-tasks.amazonaws.com"),
             admin_role("glue-admin", "glue.amazonaws.com"), admin_role("pipeline-admin", "datapipeline.amazonaws.com"),
             admin_role("apprunner-admin", "tasks.apprunner.amazonaws.com")]
    roles[0]["AttachedManagedPolicies"] = [{"PolicyName": "shared-ops", "PolicyArn": f"arn:aws:iam::{ACCT}:policy/shared-ops"}]
    policies = [{"PolicyName": "shared-ops", "Arn": f"arn:aws:iam::{ACCT}:policy/shared-ops", "DefaultVersionId": "v2",
                 "PolicyVersionList": [{"VersionId": "v2", "IsDefaultVersion": True,
                                        "Document": doc(allow("s3:GetObject", "arn:aws:s3:::prod-data/*"))},
                                       {"VersionId": "v1", "IsDefaultVersion": False, "Document": doc(allow("*"))}]}]
    write_account(folder, ACCT, users=[user_entry(ACCT, "attacker", *statements) if statements
                                       else user_entry(ACCT, "attacker"), user_entry(ACCT, "victim")],
                  roles=roles, groups=[group_entry("admins")], policies=policies)
    if setup.get("functions"):
        (folder / ACCT / "resource-policies.json").write_text(json.dumps({"ResourcePolicies": [
            {"Service": "lambda", "ResourceArn": f"arn:aws:lambda:us-east-1:{ACCT}:function:billing",
             "ExecutionRole": arn("role", "lambda-admin")}]}))
    if setup.get("instances"):
        (folder / ACCT / "ec2-instances.json").write_text(json.dumps({"Reservations": [{"Instances": [
            {"InstanceId": "i-0abc", "Placement": {"AvailabilityZone": "us-east-1a"},
             "IamInstanceProfile": {"Arn": f"arn:aws:iam::{ACCT}:instance-profile/ec2-admin"}}]}]}))


def transfer_edges(folder: Path, kind: str, target: str) -> list[dict]:
    result = collect_offline(folder)
    assert not result.errors, result.errors
    return [e for e in result.edges if e["source"] == ATTACKER and e["kind"] == kind and e["target"] == f"aws:{target}"]


def test_every_registered_technique_has_a_case():
    assert set(CASES) == {name for name, t in TECHNIQUES.items() if t.find is not None}


@pytest.mark.parametrize("technique", sorted(CASES))
def test_technique_edge_needs_every_permission(technique, tmp_path):
    statements, setup, kind, target = CASES[technique]
    statements = [dict(s, Sid=f"S{i}") for i, s in enumerate(statements)]
    build(tmp_path / "all", statements, setup)
    found = transfer_edges(tmp_path / "all", kind, target)
    assert len(found) == 1, f"{technique}: {found}"
    assert technique in found[0]["techniques"]
    assert "attacker-policy (inline policy on attacker), statement S0" in found[0]["via"]
    for index in range(len(statements)):
        fewer = statements[:index] + statements[index + 1:]
        build(tmp_path / f"without-{index}", fewer, setup)
        assert not transfer_edges(tmp_path / f"without-{index}", kind, target), (
            f"{technique} still drawn without {statements[index]['Action']}")


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
