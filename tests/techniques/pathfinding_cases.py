"""pathfinding.cloud's IAM, STS and new-PassRole paths as PathCases (tests/techniques/pathfinding.py).

Resources are as narrow as the path allows, so that a technique that over-reaches (draws its edge
on the wrong resource) fails the absent cases: the target's own ARN for IAM actions, the passed
role's ARN for iam:PassRole, `*` only for launch actions that take no role resource.
Self-escalation paths act on the attacker's own identity, group or policy; principal-access paths
write another principal's policy (or trust) and then act as it, which the path engine composes
(the case names the policy-write technique).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.collectors.test_aws import REPORT_HEADER
from tests.techniques.pathfinding import (
    ACCT,
    ADMIN_GROUP,
    ADMIN_USER,
    LOCKED_ROLE,
    OWN_POLICY,
    PLAIN_POLICY,
    PLAIN_ROLE,
    PLAIN_USER,
    TEAM_GROUP,
    TRUSTING_ROLE,
    PathCase,
    arn,
    service_role,
)

OWN_USER = arn("user", "attacker")
OWN_ROLE = arn("role", "attacker")


def _admin_user_report(*, password: bool, keys: int):
    """A credential report row for the administrator user: console password and active access keys."""
    def write(folder: Path) -> None:
        key = ["true", "2025-01-01T00:00:00+00:00", "N/A", "N/A", "N/A"]
        no_key = ["false", "N/A", "N/A", "N/A", "N/A"]
        cells = ["admin-user", ADMIN_USER, "2024-01-01T00:00:00+00:00", str(password).lower(), "N/A", "N/A", "N/A",
                 "false", *(key if keys >= 1 else no_key), *(key if keys >= 2 else no_key),
                 "false", "N/A", "false", "N/A"]
        (folder / "credential-report.csv").write_text(f"{REPORT_HEADER}\n{','.join(cells)}\n")
    return write


def _inventory(file: str, content: Any) -> Callable[[Path], None]:
    """One workload inventory file (collectors.aws.workloads: the API's own response shape)."""
    def write(folder: Path) -> None:
        (folder / file).write_text(json.dumps(content))
    return write


# The workloads a path works on without creating them (their own roles are read-only: the path passes
# another role). Without an inventory a technique assumes them; with a collected, empty one it does not.
_NO_ECS_CLUSTER = _inventory("ecs-clusters.json", {"clusters": [], "failures": []})
_ECS_CLUSTER = _inventory("ecs-clusters.json", {"clusters": [
    {"clusterArn": f"arn:aws:ecs:us-east-1:{ACCT}:cluster/apps", "clusterName": "apps", "status": "ACTIVE",
     "registeredContainerInstancesCount": 1, "runningTasksCount": 0}], "failures": []})
_GLUE_JOB = _inventory("glue-jobs.json", {"Jobs": [
    {"Name": "nightly-etl", "Role": PLAIN_ROLE, "Command": {"Name": "glueetl", "ScriptLocation": "s3://etl/job.py"}}]})
_STACK_SET = _inventory("cloudformation-stack-sets.json", [{"StackSet": {
    "StackSetName": "baseline", "StackSetId": "baseline:0a1b2c3d-0000-4000-8000-00000000000b", "Status": "ACTIVE",
    "StackSetARN": f"arn:aws:cloudformation:us-east-1:{ACCT}:stackset/baseline:0a1b2c3d-0000-4000-8000-00000000000b",
    "AdministrationRoleARN": PLAIN_ROLE, "ExecutionRoleName": "AWSCloudFormationStackSetExecutionRole",
    "PermissionModel": "SELF_MANAGED"}}])


def _pass(prefix: str, technique: str, *actions: str, extra: Callable[[Path], None] | None = None) -> PathCase:
    """iam:PassRole on the administrator role trusting `<prefix>.amazonaws.com`, then actions on `*`."""
    return PathCase(technique, (("iam:PassRole", service_role(prefix)), *((a, "*") for a in actions)), extra=extra)


PATHS: dict[str, PathCase] = {
    # --- principal access: credentials, trust, role assumption
    "sts-001": PathCase("aws.sts.assume-role", (("sts:AssumeRole", TRUSTING_ROLE),)),
    "iam-002": PathCase("aws.iam.create-access-key", (("iam:CreateAccessKey", ADMIN_USER),)),
    "iam-003": PathCase("aws.iam.create-access-key", (("iam:CreateAccessKey", ADMIN_USER),
                                                      ("iam:DeleteAccessKey", ADMIN_USER)),
                        extra=_admin_user_report(password=True, keys=2)),
    "iam-004": PathCase("aws.iam.create-login-profile", (("iam:CreateLoginProfile", ADMIN_USER),),
                        extra=_admin_user_report(password=False, keys=0)),
    "iam-006": PathCase("aws.iam.update-login-profile", (("iam:UpdateLoginProfile", ADMIN_USER),),
                        extra=_admin_user_report(password=True, keys=0)),
    "iam-012": PathCase("aws.iam.update-assume-role-policy", (("iam:UpdateAssumeRolePolicy", LOCKED_ROLE),)),
    # --- self-escalation: the attacker's own identity, group or policy
    "iam-001": PathCase("aws.iam.create-policy-version", (("iam:CreatePolicyVersion", OWN_POLICY),)),
    "iam-005": PathCase("aws.iam.put-role-policy", (("iam:PutRolePolicy", OWN_ROLE),), attacker="role"),
    "iam-007": PathCase("aws.iam.put-user-policy", (("iam:PutUserPolicy", OWN_USER),)),
    "iam-008": PathCase("aws.iam.attach-user-policy", (("iam:AttachUserPolicy", OWN_USER),)),
    "iam-009": PathCase("aws.iam.attach-role-policy", (("iam:AttachRolePolicy", OWN_ROLE),), attacker="role"),
    "iam-010": PathCase("aws.iam.attach-group-policy", (("iam:AttachGroupPolicy", TEAM_GROUP),)),
    "iam-011": PathCase("aws.iam.put-group-policy", (("iam:PutGroupPolicy", TEAM_GROUP),)),
    "iam-013": PathCase("aws.iam.add-user-to-group", (("iam:AddUserToGroup", ADMIN_GROUP),)),
    # --- principal access: write another principal's permissions, then act as it (composition)
    "iam-014": PathCase("aws.iam.attach-role-policy", (("iam:AttachRolePolicy", PLAIN_ROLE),
                                                       ("sts:AssumeRole", PLAIN_ROLE))),
    "iam-015": PathCase("aws.iam.attach-user-policy", (("iam:AttachUserPolicy", PLAIN_USER),
                                                       ("iam:CreateAccessKey", PLAIN_USER))),
    "iam-016": PathCase("aws.iam.create-policy-version", (("iam:CreatePolicyVersion", PLAIN_POLICY),
                                                          ("sts:AssumeRole", PLAIN_ROLE))),
    "iam-017": PathCase("aws.iam.put-role-policy", (("iam:PutRolePolicy", PLAIN_ROLE),
                                                    ("sts:AssumeRole", PLAIN_ROLE))),
    "iam-018": PathCase("aws.iam.put-user-policy", (("iam:PutUserPolicy", PLAIN_USER),
                                                    ("iam:CreateAccessKey", PLAIN_USER))),
    "iam-019": PathCase("aws.iam.attach-role-policy", (("iam:AttachRolePolicy", PLAIN_ROLE),
                                                       ("iam:UpdateAssumeRolePolicy", PLAIN_ROLE))),
    "iam-020": PathCase("aws.iam.create-policy-version", (("iam:CreatePolicyVersion", PLAIN_POLICY),
                                                          ("iam:UpdateAssumeRolePolicy", PLAIN_ROLE))),
    "iam-021": PathCase("aws.iam.put-role-policy", (("iam:PutRolePolicy", PLAIN_ROLE),
                                                    ("iam:UpdateAssumeRolePolicy", PLAIN_ROLE))),
    # --- new PassRole: new compute running as a passed administrator role
    "apprunner-001": _pass("tasks.apprunner", "aws.apprunner.pass-role-create-service", "apprunner:CreateService"),
    "bedrock-001": _pass("bedrock-agentcore", "aws.bedrock-agentcore.pass-role-code-interpreter",
                         "bedrock-agentcore:CreateCodeInterpreter", "bedrock-agentcore:StartCodeInterpreterSession",
                         "bedrock-agentcore:InvokeCodeInterpreter"),
    "cloudformation-001": _pass("cloudformation", "aws.cloudformation.pass-role-create-stack",
                                "cloudformation:CreateStack"),
    "cloudformation-003": _pass("cloudformation", "aws.cloudformation.pass-role-create-stack",
                                "cloudformation:CreateStackSet", "cloudformation:CreateStackInstances"),
    "cloudformation-004": _pass("cloudformation", "aws.cloudformation.pass-role-create-stack",
                                "cloudformation:UpdateStackSet", extra=_STACK_SET),
    "codebuild-001": _pass("codebuild", "aws.codebuild.pass-role-create-project", "codebuild:CreateProject",
                           "codebuild:StartBuild"),
    "codebuild-004": _pass("codebuild", "aws.codebuild.pass-role-create-project", "codebuild:CreateProject",
                           "codebuild:StartBuildBatch"),
    "datapipeline-001": _pass("datapipeline", "aws.datapipeline.pass-role-create-pipeline",
                              "datapipeline:CreatePipeline", "datapipeline:PutPipelineDefinition",
                              "datapipeline:ActivatePipeline"),
    "ec2-001": _pass("ec2", "aws.ec2.pass-role-run-instances", "ec2:RunInstances"),
    "ec2-003": _pass("ec2", "aws.ec2.pass-role-run-instances", "ec2:RequestSpotInstances"),
    # ecs-001/002 create the cluster (the inventory says there is none); ecs-003/004/005 use an existing
    # one (without an ECS inventory the technique assumes one: the edge is drawn assumed, with the reason).
    "ecs-001": _pass("ecs-tasks", "aws.ecs.pass-role-run-task", "ecs:CreateCluster", "ecs:RegisterTaskDefinition",
                     "ecs:CreateService", extra=_NO_ECS_CLUSTER),
    "ecs-002": _pass("ecs-tasks", "aws.ecs.pass-role-run-task", "ecs:CreateCluster", "ecs:RegisterTaskDefinition",
                     "ecs:RunTask", extra=_NO_ECS_CLUSTER),
    "ecs-003": _pass("ecs-tasks", "aws.ecs.pass-role-run-task", "ecs:RegisterTaskDefinition", "ecs:CreateService",
                     extra=_ECS_CLUSTER),
    "ecs-004": _pass("ecs-tasks", "aws.ecs.pass-role-run-task", "ecs:RegisterTaskDefinition", "ecs:RunTask",
                     extra=_ECS_CLUSTER),
    "ecs-005": _pass("ecs-tasks", "aws.ecs.pass-role-run-task", "ecs:RegisterTaskDefinition", "ecs:StartTask",
                     extra=_ECS_CLUSTER),
    "glue-001": _pass("glue", "aws.glue.pass-role-create-job", "glue:CreateDevEndpoint"),
    "glue-003": _pass("glue", "aws.glue.pass-role-create-job", "glue:CreateJob", "glue:StartJobRun"),
    "glue-004": _pass("glue", "aws.glue.pass-role-create-job", "glue:CreateJob", "glue:CreateTrigger"),
    "glue-005": _pass("glue", "aws.glue.pass-role-create-job", "glue:UpdateJob", "glue:StartJobRun", extra=_GLUE_JOB),
    "glue-006": _pass("glue", "aws.glue.pass-role-create-job", "glue:UpdateJob", "glue:CreateTrigger",
                      extra=_GLUE_JOB),
    "lambda-001": _pass("lambda", "aws.lambda.pass-role-create-function", "lambda:CreateFunction",
                        "lambda:InvokeFunction"),
    "lambda-002": _pass("lambda", "aws.lambda.pass-role-create-function", "lambda:CreateFunction",
                        "lambda:CreateEventSourceMapping"),
    "lambda-006": _pass("lambda", "aws.lambda.pass-role-create-function", "lambda:CreateFunction",
                        "lambda:AddPermission"),
    "sagemaker-001": _pass("sagemaker", "aws.sagemaker.pass-role-create-job", "sagemaker:CreateNotebookInstance"),
    "sagemaker-002": _pass("sagemaker", "aws.sagemaker.pass-role-create-job", "sagemaker:CreateTrainingJob"),
    "sagemaker-003": _pass("sagemaker", "aws.sagemaker.pass-role-create-job", "sagemaker:CreateProcessingJob"),
}

# pathfinding.cloud path id -> why Crosspath does not detect it. (The existing-workload paths are
# pathfinding_workload_cases.py's.)
NOT_DETECTED: dict[str, str] = {}
