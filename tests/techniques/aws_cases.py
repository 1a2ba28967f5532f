"""AWS technique cases: the attacker's statements for each technique; each absent case drops one.

The edge must appear with every statement and disappear when any one is missing (the one rule in
tests/techniques/test_present_and_absent.py runs them). Policy evaluation itself:
tests/collectors/test_aws_evaluation.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from collectors.aws import collect_offline
from tests.collectors.test_aws import doc, role_entry, user_entry, write_account
from tests.techniques import workload_exports as wx
from tests.techniques.cases import Case, Probe, Step, steps_of

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


PROFILE = f"arn:aws:iam::{ACCT}:instance-profile/ec2-admin"

# technique -> (statements of the attacker, extra setup, edge kind, target arn)
STATEMENTS = {
    "aws.iam.create-access-key": ([allow("iam:CreateAccessKey", arn("user", "victim"))], {}, "CAN_CREATE_CREDENTIAL",
                        arn("user", "victim")),
    "aws.iam.create-login-profile": ([allow("iam:CreateLoginProfile", arn("user", "*"))], {}, "CAN_CREATE_CREDENTIAL",
                           arn("user", "victim")),
    "aws.iam.update-login-profile": ([allow("iam:UpdateLoginProfile", arn("user", "victim"))], {}, "CAN_CREATE_CREDENTIAL",
                           arn("user", "victim")),
    "aws.iam.put-user-policy": ([allow("iam:PutUserPolicy", arn("user", "victim"))], {}, "CAN_GRANT", arn("user", "victim")),
    "aws.iam.attach-user-policy": ([allow("iam:AttachUserPolicy", arn("user", "vic*"))], {}, "CAN_GRANT",
                         arn("user", "victim")),
    "aws.iam.put-role-policy": ([allow("iam:PutRolePolicy", arn("role", "ops"))], {}, "CAN_GRANT", arn("role", "ops")),
    "aws.iam.attach-role-policy": ([allow("iam:AttachRolePolicy", "*")], {}, "CAN_GRANT", arn("role", "ops")),
    "aws.iam.update-assume-role-policy": ([allow("iam:UpdateAssumeRolePolicy", arn("role", "ops"))], {}, "CAN_GRANT",
                               arn("role", "ops")),
    "aws.iam.put-group-policy": ([allow("iam:PutGroupPolicy", arn("group", "admins"))], {}, "CAN_GRANT", arn("group", "admins")),
    "aws.iam.attach-group-policy": ([allow("iam:AttachGroupPolicy", arn("group", "admins"))], {}, "CAN_GRANT",
                          arn("group", "admins")),
    "aws.iam.add-user-to-group": ([allow("iam:AddUserToGroup", arn("group", "admins"))], {}, "CAN_GRANT",
                       arn("group", "admins")),
    "aws.iam.create-policy-version": ([allow("iam:CreatePolicyVersion", f"arn:aws:iam::{ACCT}:policy/shared-ops")], {},
                            "CAN_GRANT", arn("role", "ops")),
    "aws.iam.set-default-policy-version": ([allow("iam:SetDefaultPolicyVersion", f"arn:aws:iam::{ACCT}:policy/shared-ops")], {},
                                "CAN_GRANT", arn("role", "ops")),
    "aws.ec2.pass-role-run-instances": ([allow("iam:PassRole", arn("role", "ec2-admin")), allow("ec2:RunInstances")], {},
                     "CAN_RUN_AS", arn("role", "ec2-admin")),
    "aws.lambda.pass-role-create-function": ([allow("iam:PassRole", arn("role", "lambda-admin")), allow("lambda:CreateFunction"),
                         allow("lambda:InvokeFunction")], {}, "CAN_RUN_AS", arn("role", "lambda-admin")),
    "aws.cloudformation.pass-role-create-stack": ([allow("iam:PassRole", arn("role", "cfn-admin")), allow("cloudformation:CreateStack")],
                                {}, "CAN_RUN_AS", arn("role", "cfn-admin")),
    "aws.codebuild.pass-role-create-project": ([allow("iam:PassRole", arn("role", "build-admin")), allow("codebuild:CreateProject"),
                            allow("codebuild:StartBuild")], {}, "CAN_RUN_AS", arn("role", "build-admin")),
    "aws.sagemaker.pass-role-create-job": ([allow("iam:PassRole", arn("role", "sm-admin")),
                            allow("sagemaker:CreateNotebookInstance")], {}, "CAN_RUN_AS", arn("role", "sm-admin")),
    "aws.ecs.pass-role-run-task": ([allow("iam:PassRole", arn("role", "task-admin")), allow("ecs:RegisterTaskDefinition"),
                      allow("ecs:RunTask")], {"ecs_cluster": True}, "CAN_RUN_AS", arn("role", "task-admin")),
    "aws.glue.pass-role-create-job": ([allow("iam:PassRole", arn("role", "glue-admin")), allow("glue:CreateJob"),
                       allow("glue:StartJobRun")], {}, "CAN_RUN_AS", arn("role", "glue-admin")),
    "aws.datapipeline.pass-role-create-pipeline": ([allow("iam:PassRole", arn("role", "pipeline-admin")),
                               allow("datapipeline:CreatePipeline"), allow("datapipeline:PutPipelineDefinition"),
                               allow("datapipeline:ActivatePipeline")], {},
                              "CAN_RUN_AS", arn("role", "pipeline-admin")),
    "aws.apprunner.pass-role-create-service": ([allow("iam:PassRole", arn("role", "apprunner-admin")), allow("apprunner:CreateService")],
                           {}, "CAN_RUN_AS", arn("role", "apprunner-admin")),
    "aws.bedrock-agentcore.pass-role-code-interpreter": ([allow("iam:PassRole", arn("role", "agent-admin")),
                                                allow("bedrock-agentcore:CreateCodeInterpreter"),
                                                allow("bedrock-agentcore:StartCodeInterpreterSession"),
                                                allow("bedrock-agentcore:InvokeCodeInterpreter")], {}, "CAN_RUN_AS",
                                               arn("role", "agent-admin")),
    "aws.autoscaling.pass-role-launch-configuration": ([allow("iam:PassRole", arn("role", "ec2-admin")),
                              allow("autoscaling:CreateLaunchConfiguration"),
                              allow("autoscaling:CreateAutoScalingGroup")], {}, "CAN_RUN_AS", arn("role", "ec2-admin")),
    "aws.lambda.update-function-code": ([allow("lambda:UpdateFunctionCode", f"arn:aws:lambda:us-east-1:{ACCT}:function:billing")],
                           {"functions": True}, "CAN_RUN_AS", arn("role", "lambda-admin")),
    # Existing workloads (the inventory is in `workloads`: collectors.aws.workloads kinds -> items).
    "aws.ec2.modify-instance-user-data": ([allow(a, f"arn:aws:ec2:us-east-1:{ACCT}:instance/i-0abc") for a in (
        "ec2:ModifyInstanceAttribute", "ec2:StopInstances", "ec2:StartInstances")], {"instances": True}, "CAN_RUN_AS",
        arn("role", "ec2-admin")),
    "aws.ec2.launch-template-version": ([allow(a, f"arn:aws:ec2:us-east-1:{ACCT}:launch-template/lt-0abc") for a in (
        "ec2:CreateLaunchTemplateVersion", "ec2:ModifyLaunchTemplate")], {"workloads": {
            "launch_template": [wx.launch_template_version("lt-0abc", "web", PROFILE)],
            "autoscaling_group": [wx.autoscaling_group(ACCT, "web", "lt-0abc")]}}, "CAN_RUN_AS", arn("role", "ec2-admin")),
    "aws.ec2-instance-connect.send-ssh-public-key": ([
        allow("ec2-instance-connect:SendSSHPublicKey", f"arn:aws:ec2:us-east-1:{ACCT}:instance/i-0abc"),
        allow("ec2:DescribeInstances")], {"instances": True}, "CAN_RUN_AS", arn("role", "ec2-admin")),
    "aws.apprunner.update-service": ([allow("apprunner:UpdateService", f"arn:aws:apprunner:us-east-1:{ACCT}:service/web/*")],
        {"workloads": {"apprunner_service": [wx.apprunner_service(ACCT, "web", arn("role", "apprunner-admin"))]}},
        "CAN_RUN_AS", arn("role", "apprunner-admin")),
    "aws.cloudformation.update-stack": ([allow("cloudformation:UpdateStack", f"arn:aws:cloudformation:us-east-1:{ACCT}:stack/net/*")],
        {"workloads": {"stack": [wx.stack(ACCT, "net", arn("role", "cfn-admin"))]}}, "CAN_RUN_AS", arn("role", "cfn-admin")),
    "aws.cloudformation.execute-change-set": ([allow(a, f"arn:aws:cloudformation:us-east-1:{ACCT}:stack/net/*") for a in (
        "cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet")],
        {"workloads": {"stack": [wx.stack(ACCT, "net", arn("role", "cfn-admin"))]}}, "CAN_RUN_AS", arn("role", "cfn-admin")),
    "aws.codebuild.start-build": ([allow("codebuild:StartBuild", f"arn:aws:codebuild:us-east-1:{ACCT}:project/release")],
        {"workloads": {"project": [wx.project(ACCT, "release", arn("role", "build-admin"))]}}, "CAN_RUN_AS",
        arn("role", "build-admin")),
    "aws.glue.update-dev-endpoint": ([allow("glue:UpdateDevEndpoint", f"arn:aws:glue:us-east-1:{ACCT}:devEndpoint/etl")],
        {"workloads": {"dev_endpoint": [wx.dev_endpoint("etl", arn("role", "glue-admin"))]}}, "CAN_RUN_AS",
        arn("role", "glue-admin")),
    "aws.sagemaker.presigned-notebook-url": ([allow("sagemaker:CreatePresignedNotebookInstanceUrl",
                                                    f"arn:aws:sagemaker:us-east-1:{ACCT}:notebook-instance/research")],
        {"workloads": {"notebook_instance": [wx.notebook(ACCT, "research", arn("role", "sm-admin"))]}}, "CAN_RUN_AS",
        arn("role", "sm-admin")),
    "aws.sagemaker.notebook-lifecycle-config": ([allow("sagemaker:CreateNotebookInstanceLifecycleConfig")] + [
        allow(a, f"arn:aws:sagemaker:us-east-1:{ACCT}:notebook-instance/research") for a in (
            "sagemaker:StopNotebookInstance", "sagemaker:UpdateNotebookInstance", "sagemaker:StartNotebookInstance")],
        {"workloads": {"notebook_instance": [wx.notebook(ACCT, "research", arn("role", "sm-admin"))]}}, "CAN_RUN_AS",
        arn("role", "sm-admin")),
    "aws.bedrock-agentcore.invoke-code-interpreter": ([allow(a, f"arn:aws:bedrock-agentcore:us-east-1:{ACCT}:"
                                                               "code-interpreter-custom/analyst-*") for a in (
        "bedrock-agentcore:StartCodeInterpreterSession", "bedrock-agentcore:InvokeCodeInterpreter")],
        {"workloads": {"code_interpreter": [wx.code_interpreter(ACCT, "analyst", arn("role", "agent-admin"))]}},
        "CAN_RUN_AS", arn("role", "agent-admin")),
    "aws.ssm.send-command": ([allow("ssm:SendCommand", f"arn:aws:ec2:us-east-1:{ACCT}:instance/*")], {"instances": True},
                        "CAN_RUN_AS", arn("role", "ec2-admin")),
    "aws.ssm.start-session": ([allow("ssm:StartSession")], {"instances": True}, "CAN_RUN_AS", arn("role", "ec2-admin")),
    # The role trusts its account root, so the identity policy must allow sts:AssumeRole too.
    "aws.sts.assume-role": ([allow("sts:AssumeRole", arn("role", "deploy"))], {"account_trust": True}, "CAN_ASSUME",
                            arn("role", "deploy")),
}


def build(folder: Path, statements: list[dict], setup: dict) -> None:
    roles = [role_entry(ACCT, "ops", doc(), allow("s3:PutObject", "arn:aws:s3:::prod-data/*")),
             admin_role("ec2-admin", "ec2.amazonaws.com", profile=True), admin_role("lambda-admin", "lambda.amazonaws.com"),
             admin_role("cfn-admin", "cloudformation.amazonaws.com"), admin_role("build-admin", "codebuild.amazonaws.com"),
             admin_role("sm-admin", "sagemaker.amazonaws.com"), admin_role("task-admin", "ecs-tasks.amazonaws.com"),
             admin_role("glue-admin", "glue.amazonaws.com"), admin_role("pipeline-admin", "datapipeline.amazonaws.com"),
             admin_role("apprunner-admin", "tasks.apprunner.amazonaws.com"),
             admin_role("agent-admin", "bedrock-agentcore.amazonaws.com")]
    if setup.get("account_trust"):
        trust = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "sts:AssumeRole"})
        roles.append(role_entry(ACCT, "deploy", trust, allow("s3:PutObject", "arn:aws:s3:::prod/*")))
    roles[0]["AttachedManagedPolicies"] = [{"PolicyName": "shared-ops", "PolicyArn": f"arn:aws:iam::{ACCT}:policy/shared-ops"}]
    policies = [{"PolicyName": "shared-ops", "Arn": f"arn:aws:iam::{ACCT}:policy/shared-ops", "DefaultVersionId": "v2",
                 "PolicyVersionList": [{"VersionId": "v2", "IsDefaultVersion": True,
                                        "Document": doc(allow("s3:GetObject", "arn:aws:s3:::prod-data/*"))},
                                       {"VersionId": "v1", "IsDefaultVersion": False, "Document": doc(allow("*"))}]}]
    write_account(folder, ACCT, users=[user_entry(ACCT, "attacker", *statements) if statements
                                       else user_entry(ACCT, "attacker"), user_entry(ACCT, "victim")],
                  roles=roles, groups=[group_entry("admins")], policies=policies)
    # The workload inventory is collected (and empty unless the setup lists workloads), so that no
    # existing-workload technique draws assumed edges into another technique's case.
    workloads = dict(setup.get("workloads", {}))
    if setup.get("functions"):  # a function triggered by its own events (an SQS event source mapping)
        workloads["function"] = [wx.function(ACCT, "billing", arn("role", "lambda-admin"))]
        workloads["event_source_mapping"] = [wx.event_source_mapping(ACCT, "billing")]
    wx.write_inventory(folder / ACCT, missing=tuple(setup.get("missing", ())), **workloads)
    if setup.get("instances"):
        (folder / ACCT / "ec2-instances.json").write_text(json.dumps({"Reservations": [{"Instances": [
            {"InstanceId": "i-0abc", "Placement": {"AvailabilityZone": "us-east-1a"},
             "IamInstanceProfile": {"Arn": f"arn:aws:iam::{ACCT}:instance-profile/ec2-admin"}}]}]}))
    if setup.get("ecs_cluster"):  # an existing cluster to run tasks in (aws ecs describe-clusters)
        (folder / ACCT / "ecs-clusters.json").write_text(json.dumps({"clusters": [
            {"clusterArn": f"arn:aws:ecs:us-east-1:{ACCT}:cluster/apps", "clusterName": "apps", "status": "ACTIVE"}]}))


def transfer_edges(folder: Path, kind: str, target: str) -> list[dict]:
    result = collect_offline(folder)
    assert not result.errors, result.errors
    return [e for e in result.edges if e["source"] == ATTACKER and e["kind"] == kind and e["target"] == f"aws:{target}"]


def _with_sids(statements: list[dict]) -> list[dict]:
    return [dict(s, Sid=f"S{i}") for i, s in enumerate(statements)]


def _case(statements: list[dict], setup: dict, target: str) -> Case:
    statements = _with_sids(statements)
    absent = tuple(Probe((statements[:i] + statements[i + 1:], setup), ATTACKER, f"aws:{target}")
                   for i in range(len(statements)))
    return Case(Probe((statements, setup), ATTACKER, f"aws:{target}"), absent)


CASES: dict[str, Case] = {tid: _case(statements, setup, target)
                          for tid, (statements, setup, _kind, target) in STATEMENTS.items()}


def steps(scenario: Any, workdir: Path) -> list[Step]:
    statements, setup = scenario
    build(workdir, statements, setup)
    result = collect_offline(workdir)
    assert not result.errors, result.errors
    return steps_of(result.edges)
