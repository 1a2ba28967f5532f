"""pathfinding.cloud's paths through existing workloads as PathCases (tests/techniques/pathfinding.py):
each case's `extra` writes the workload inventory the path needs into the account folder (real-shape
API responses, tests/techniques/workload_exports.py). Every action is granted on the workload's own ARN,
so a technique checking it on the wrong resource fails the absent cases."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.techniques import workload_exports as wx
from tests.techniques.pathfinding import ACCT, PathCase, arn, service_role

REGION = wx.REGION
LAMBDA_FUNCTION = f"arn:aws:lambda:{REGION}:{ACCT}:function:billing"
INSTANCE = f"arn:aws:ec2:{REGION}:{ACCT}:instance/i-0abc1234"
PROFILE = arn("instance-profile", "service-admin-ec2")
TEMPLATE = f"arn:aws:ec2:{REGION}:{ACCT}:launch-template/lt-0abc1234"
SERVICE = f"arn:aws:apprunner:{REGION}:{ACCT}:service/web/8fe1e10304f84fd2b0df550fe98a71fa"
STACK = f"arn:aws:cloudformation:{REGION}:{ACCT}:stack/network/*"
PROJECT = f"arn:aws:codebuild:{REGION}:{ACCT}:project/release"
ENDPOINT = f"arn:aws:glue:{REGION}:{ACCT}:devEndpoint/etl"
NOTEBOOK = f"arn:aws:sagemaker:{REGION}:{ACCT}:notebook-instance/research"
INTERPRETER = f"arn:aws:bedrock-agentcore:{REGION}:{ACCT}:code-interpreter-custom/analyst-a1b2c3d4e5"


def inventory(**workloads: list[Any]) -> Callable[[Path], None]:
    """`extra` writing the given workloads (the other kinds stay collected and empty)."""
    def extra(folder: Path) -> None:
        wx.write_inventory(folder, **workloads)
    return extra


def lambda_function(triggered: bool) -> Callable[[Path], None]:
    """The function `billing` running as the Lambda admin role; with `triggered`, an SQS event source mapping
    invokes it, else nothing does (no mapping, no resource policy)."""
    def extra(folder: Path) -> None:
        wx.write_inventory(folder, function=[wx.function(ACCT, "billing", service_role("lambda"))],
                           event_source_mapping=[wx.event_source_mapping(ACCT, "billing")] if triggered else [])
        (folder / "resource-policies.json").write_text(json.dumps({"ResourcePolicies": []}))
    return extra


INSTANCES = inventory(instance=[wx.instance(ACCT, "i-0abc1234", PROFILE)])

WORKLOAD_PATHS: dict[str, PathCase] = {
    "lambda-003": PathCase("aws.lambda.update-function-code", (("lambda:UpdateFunctionCode", LAMBDA_FUNCTION),),
                           extra=lambda_function(triggered=True)),
    "lambda-004": PathCase("aws.lambda.update-function-code", (("lambda:UpdateFunctionCode", LAMBDA_FUNCTION),
                                                               ("lambda:InvokeFunction", LAMBDA_FUNCTION)),
                           extra=lambda_function(triggered=False)),
    "lambda-005": PathCase("aws.lambda.update-function-code", (("lambda:UpdateFunctionCode", LAMBDA_FUNCTION),
                                                               ("lambda:AddPermission", LAMBDA_FUNCTION)),
                           extra=lambda_function(triggered=False)),
    "ec2-002": PathCase("aws.ec2.modify-instance-user-data", (("ec2:ModifyInstanceAttribute", INSTANCE),
                                                              ("ec2:StopInstances", INSTANCE),
                                                              ("ec2:StartInstances", INSTANCE)), extra=INSTANCES),
    "ec2-004": PathCase("aws.ec2.launch-template-version", (("ec2:CreateLaunchTemplateVersion", TEMPLATE),
                                                            ("ec2:ModifyLaunchTemplate", TEMPLATE)),
                        extra=inventory(launch_template=[wx.launch_template_version("lt-0abc1234", "web", PROFILE)],
                                        autoscaling_group=[wx.autoscaling_group(ACCT, "web", "lt-0abc1234")])),
    "ec2instanceconnect-003": PathCase("aws.ec2-instance-connect.send-ssh-public-key", (
        ("ec2-instance-connect:SendSSHPublicKey", INSTANCE), ("ec2:DescribeInstances", "*")), extra=INSTANCES),
    "ssm-001": PathCase("aws.ssm.start-session", (("ssm:StartSession", INSTANCE),), extra=INSTANCES),
    "ssm-002": PathCase("aws.ssm.send-command", (("ssm:SendCommand", INSTANCE),), extra=INSTANCES),
    "apprunner-002": PathCase("aws.apprunner.update-service", (("apprunner:UpdateService", SERVICE),),
                              extra=inventory(apprunner_service=[
                                  wx.apprunner_service(ACCT, "web", service_role("tasks.apprunner"))])),
    "cloudformation-002": PathCase("aws.cloudformation.update-stack", (("cloudformation:UpdateStack", STACK),),
                                   extra=inventory(stack=[wx.stack(ACCT, "network", service_role("cloudformation"))])),
    "cloudformation-005": PathCase("aws.cloudformation.execute-change-set", (
        ("cloudformation:CreateChangeSet", STACK), ("cloudformation:ExecuteChangeSet", STACK)),
        extra=inventory(stack=[wx.stack(ACCT, "network", service_role("cloudformation"))])),
    "codebuild-002": PathCase("aws.codebuild.start-build", (("codebuild:StartBuild", PROJECT),),
                              extra=inventory(project=[wx.project(ACCT, "release", service_role("codebuild"))])),
    "codebuild-003": PathCase("aws.codebuild.start-build", (("codebuild:StartBuildBatch", PROJECT),),
                              extra=inventory(project=[wx.project(ACCT, "release", service_role("codebuild"))])),
    "glue-002": PathCase("aws.glue.update-dev-endpoint", (("glue:UpdateDevEndpoint", ENDPOINT),),
                         extra=inventory(dev_endpoint=[wx.dev_endpoint("etl", service_role("glue"))])),
    "sagemaker-004": PathCase("aws.sagemaker.presigned-notebook-url", (
        ("sagemaker:CreatePresignedNotebookInstanceUrl", NOTEBOOK),),
        extra=inventory(notebook_instance=[wx.notebook(ACCT, "research", service_role("sagemaker"))])),
    "sagemaker-005": PathCase("aws.sagemaker.notebook-lifecycle-config", (
        ("sagemaker:CreateNotebookInstanceLifecycleConfig",
         f"arn:aws:sagemaker:{REGION}:{ACCT}:notebook-instance-lifecycle-config/*"),
        ("sagemaker:StopNotebookInstance", NOTEBOOK), ("sagemaker:UpdateNotebookInstance", NOTEBOOK),
        ("sagemaker:StartNotebookInstance", NOTEBOOK)),
        extra=inventory(notebook_instance=[wx.notebook(ACCT, "research", service_role("sagemaker"))])),
    "bedrock-002": PathCase("aws.bedrock-agentcore.invoke-code-interpreter", (
        ("bedrock-agentcore:StartCodeInterpreterSession", INTERPRETER),
        ("bedrock-agentcore:InvokeCodeInterpreter", INTERPRETER)),
        extra=inventory(code_interpreter=[wx.code_interpreter(ACCT, "analyst", service_role("bedrock-agentcore"))])),
}
