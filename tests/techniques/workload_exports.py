"""Workload inventory export files for tests, in the APIs' own response shapes (botocore's service
models: lambda ListFunctions, ec2 DescribeInstances / DescribeLaunchTemplateVersions, autoscaling
DescribeAutoScalingGroups, cloudformation DescribeStacks, codebuild BatchGetProjects, glue GetDevEndpoints,
sagemaker DescribeNotebookInstance, apprunner DescribeService, bedrock-agentcore-control GetCodeInterpreter).

`write_inventory(folder, account, region, **workloads)` writes one file per kind; every kind not given is
written collected-and-empty, so a test world has a complete inventory unless it leaves kinds out
(`missing=(...)`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from collectors.aws.workloads import KINDS

REGION = "us-east-1"


def function(account: str, name: str, role: str, region: str = REGION) -> dict[str, Any]:
    return {"FunctionName": name, "FunctionArn": f"arn:aws:lambda:{region}:{account}:function:{name}",
            "Runtime": "python3.12", "Role": role, "Handler": "app.handler", "CodeSize": 312,
            "LastModified": "2026-01-01T00:00:00.000+0000", "Version": "$LATEST", "PackageType": "Zip"}


def event_source_mapping(account: str, function_name: str, region: str = REGION) -> dict[str, Any]:
    return {"UUID": "14e0db71-0000-4000-8000-000000000001", "BatchSize": 10,
            "EventSourceArn": f"arn:aws:sqs:{region}:{account}:orders",
            "FunctionArn": f"arn:aws:lambda:{region}:{account}:function:{function_name}", "State": "Enabled"}


def instance(account: str, instance_id: str, profile: str, region: str = REGION) -> dict[str, Any]:
    """One reservation (DescribeInstances' Reservations item) holding one instance."""
    return {"ReservationId": f"r-{instance_id[2:]}", "OwnerId": account, "Instances": [
        {"InstanceId": instance_id, "State": {"Code": 16, "Name": "running"},
         "Placement": {"AvailabilityZone": f"{region}a"},
         "IamInstanceProfile": {"Arn": profile, "Id": "AIPAEXAMPLE"}}]}


def launch_template_version(template_id: str, name: str, profile: str) -> dict[str, Any]:
    return {"LaunchTemplateId": template_id, "LaunchTemplateName": name, "VersionNumber": 1, "DefaultVersion": True,
            "CreateTime": "2026-01-01T00:00:00+00:00",
            "LaunchTemplateData": {"ImageId": "ami-0abcdef1234567890", "InstanceType": "t3.micro",
                                   "IamInstanceProfile": {"Arn": profile}}}


def autoscaling_group(account: str, name: str, template_id: str, region: str = REGION) -> dict[str, Any]:
    return {"AutoScalingGroupName": name, "AutoScalingGroupARN": f"arn:aws:autoscaling:{region}:{account}:"
            f"autoScalingGroup:6d3c9a1e-0000-4000-8000-000000000001:autoScalingGroupName/{name}",
            "LaunchTemplate": {"LaunchTemplateId": template_id, "Version": "$Default"},
            "MinSize": 1, "MaxSize": 2, "DesiredCapacity": 1, "AvailabilityZones": [f"{region}a"]}


def stack(account: str, name: str, role: str, region: str = REGION) -> dict[str, Any]:
    return {"StackId": f"arn:aws:cloudformation:{region}:{account}:stack/{name}/0a1b2c3d-0000-4000-8000-00000000000a",
            "StackName": name, "StackStatus": "CREATE_COMPLETE", "CreationTime": "2026-01-01T00:00:00+00:00",
            "RoleARN": role}


def project(account: str, name: str, role: str, region: str = REGION) -> dict[str, Any]:
    return {"name": name, "arn": f"arn:aws:codebuild:{region}:{account}:project/{name}",
            "source": {"type": "NO_SOURCE", "buildspec": "version: 0.2"}, "serviceRole": role,
            "environment": {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                            "computeType": "BUILD_GENERAL1_SMALL"}}


def dev_endpoint(name: str, role: str, region: str = REGION) -> dict[str, Any]:
    return {"EndpointName": name, "RoleArn": role, "Status": "READY", "AvailabilityZone": f"{region}a",
            "PublicKeys": []}


def notebook(account: str, name: str, role: str, region: str = REGION) -> dict[str, Any]:
    """One DescribeNotebookInstance output."""
    return {"NotebookInstanceArn": f"arn:aws:sagemaker:{region}:{account}:notebook-instance/{name}",
            "NotebookInstanceName": name, "NotebookInstanceStatus": "InService", "InstanceType": "ml.t3.medium",
            "RoleArn": role, "DirectInternetAccess": "Enabled", "RootAccess": "Enabled"}


def apprunner_service(account: str, name: str, role: str, region: str = REGION) -> dict[str, Any]:
    """One DescribeService output."""
    return {"Service": {"ServiceName": name, "ServiceId": "8fe1e10304f84fd2b0df550fe98a71fa",
                        "ServiceArn": f"arn:aws:apprunner:{region}:{account}:service/{name}/"
                                      "8fe1e10304f84fd2b0df550fe98a71fa",
                        "ServiceUrl": "abcdefgh.us-east-1.awsapprunner.com", "Status": "RUNNING",
                        "InstanceConfiguration": {"Cpu": "1024", "Memory": "2048", "InstanceRoleArn": role}}}


def code_interpreter(account: str, name: str, role: str, region: str = REGION) -> dict[str, Any]:
    """One GetCodeInterpreter output."""
    interpreter_id = f"{name}-a1b2c3d4e5"
    return {"codeInterpreterId": interpreter_id, "name": name,
            "codeInterpreterArn": f"arn:aws:bedrock-agentcore:{region}:{account}:code-interpreter-custom/"
                                  f"{interpreter_id}",
            "executionRoleArn": role, "networkConfiguration": {"networkMode": "PUBLIC"}, "status": "READY",
            "createdAt": "2026-01-01T00:00:00+00:00", "lastUpdatedAt": "2026-01-01T00:00:00+00:00"}


def content(kind: str, items: list[Any]) -> Any:
    """A kind's file content holding items (a list of per-item outputs, or a response with the list)."""
    spec = KINDS[kind]
    if spec.per_item:
        return [{spec.key: item} if spec.wrapped and spec.key not in item else item for item in items]
    return {spec.key: items}


def write_inventory(folder: Path, missing: tuple[str, ...] = (), **workloads: list[Any]) -> None:
    """Every inventory kind's file into the account folder: `workloads` by kind (underscores for dashes),
    the other kinds empty; kinds in `missing` not written (not collected)."""
    given = {kind.replace("_", "-"): items for kind, items in workloads.items()}
    assert set(given) <= set(KINDS), set(given) - set(KINDS)
    for kind, spec in KINDS.items():
        if kind in missing:
            (folder / spec.file).unlink(missing_ok=True)
            continue
        (folder / spec.file).write_text(json.dumps(content(kind, given.get(kind, []))))
