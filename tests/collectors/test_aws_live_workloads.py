"""Live collection of the workload inventory, then the offline collector and techniques on its output.

moto (5.x) over HTTP (a ThreadedMotoServer, as in test_aws_live.py) answers Lambda (ListFunctions,
ListEventSourceMappings), EC2 (DescribeLaunchTemplateVersions), Auto Scaling, ECS (ListClusters,
DescribeClusters, ListServices, DescribeServices, DescribeTaskDefinition), CloudFormation (DescribeStacks,
ListStackSets, DescribeStackSet), CodeBuild (ListProjects, BatchGetProjects), Glue (GetDevEndpoints,
GetJobs) and SageMaker (ListNotebookInstances, DescribeNotebookInstance). It does not implement App Runner
nor Bedrock AgentCore's code interpreters, and never denies a call: those paths run on botocore's Stubber
with responses in the real API's shape (botocore's service models: apprunner ListServices /
DescribeService, bedrock-agentcore-control ListCodeInterpreters / GetCodeInterpreter).
"""

from __future__ import annotations

import json

import boto3
import pytest
from click.testing import CliRunner

from collectors.aws import collect_offline
from crosspath.cli import main
from tests.moto_server import moto_server

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/"
PROFILE = f"arn:aws:iam::{ACCOUNT}:instance-profile/ec2-admin"


def _doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture(scope="module")
def endpoint():
    mp = pytest.MonkeyPatch()
    # moto answers the APIs it does not implement with HTTP 500, which botocore retries with backoff: one
    # attempt is enough here (retries themselves are proven in test_aws_live.py).
    mp.setattr("collectors.aws.live.RETRY_CONFIG", {"retries": {"mode": "standard", "max_attempts": 1}})
    with moto_server(mp, managed_policies=False, leave_out_unimplemented=False) as url:
        yield url
    mp.undo()


def _client(endpoint: str, service: str):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")


@pytest.fixture(scope="module")
def workload_account(endpoint):
    """Roles trusting each service (read-only but for an admin policy), workloads running as them, and an
    operator holding each existing-workload technique's actions on `*`."""
    iam = _client(endpoint, "iam")
    for name, service in (("lambda-admin", "lambda"), ("ec2-admin", "ec2"), ("task-admin", "ecs-tasks"),
                          ("cfn-admin", "cloudformation"), ("build-admin", "codebuild"), ("glue-admin", "glue"),
                          ("sm-admin", "sagemaker")):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=_doc(
            {"Effect": "Allow", "Principal": {"Service": f"{service}.amazonaws.com"}, "Action": "sts:AssumeRole"}))
        iam.put_role_policy(RoleName=name, PolicyName="vault", PolicyDocument=_doc(
            {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::vault"}))
    iam.create_instance_profile(InstanceProfileName="ec2-admin")
    iam.add_role_to_instance_profile(InstanceProfileName="ec2-admin", RoleName="ec2-admin")
    iam.create_user(UserName="operator")
    iam.put_user_policy(UserName="operator", PolicyName="ops", PolicyDocument=_doc(
        {"Sid": "Workloads", "Effect": "Allow", "Resource": "*", "Action": [
            "lambda:UpdateFunctionCode", "ec2:CreateLaunchTemplateVersion", "ec2:ModifyLaunchTemplate",
            "cloudformation:UpdateStack", "codebuild:StartBuild", "glue:UpdateDevEndpoint",
            "sagemaker:CreatePresignedNotebookInstanceUrl"]}))

    sqs = _client(endpoint, "sqs")
    queue = sqs.create_queue(QueueName="orders")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    functions = _client(endpoint, "lambda")
    functions.create_function(FunctionName="billing", Runtime="python3.12", Role=ROLE + "lambda-admin",
                              Handler="app.handler", Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18})
    functions.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName="billing")

    ec2 = _client(endpoint, "ec2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    template = ec2.create_launch_template(LaunchTemplateName="web", LaunchTemplateData={
        "ImageId": image, "InstanceType": "t3.micro", "IamInstanceProfile": {"Arn": PROFILE}})["LaunchTemplate"]
    _client(endpoint, "autoscaling").create_auto_scaling_group(
        AutoScalingGroupName="web", MinSize=0, MaxSize=1, AvailabilityZones=["us-east-1a"],
        LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"], "Version": "$Default"})

    ecs = _client(endpoint, "ecs")
    ecs.create_cluster(clusterName="prod")
    task = ecs.register_task_definition(family="api", taskRoleArn=ROLE + "task-admin", containerDefinitions=[
        {"name": "api", "image": "nginx", "memory": 128}])["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster="prod", serviceName="api", taskDefinition=task, desiredCount=0)

    template_body = json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})
    cfn = _client(endpoint, "cloudformation")
    cfn.create_stack(StackName="network", TemplateBody=template_body, RoleARN=ROLE + "cfn-admin")
    cfn.create_stack_set(StackSetName="baseline", TemplateBody=template_body,
                         AdministrationRoleARN=ROLE + "cfn-admin")

    _client(endpoint, "codebuild").create_project(
        name="release", source={"type": "S3", "location": "artifacts/source.zip"}, artifacts={"type": "NO_ARTIFACTS"},
        environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                     "computeType": "BUILD_GENERAL1_SMALL"}, serviceRole=ROLE + "build-admin")
    glue = _client(endpoint, "glue")
    glue.create_dev_endpoint(EndpointName="etl", RoleArn=ROLE + "glue-admin")
    glue.create_job(Name="nightly", Role=ROLE + "glue-admin", Command={"Name": "glueetl", "ScriptLocation": "s3://x/y.py"})
    _client(endpoint, "sagemaker").create_notebook_instance(
        NotebookInstanceName="research", InstanceType="ml.t3.medium", RoleArn=ROLE + "sm-admin")
    return endpoint


@pytest.fixture(scope="module")
def collected(workload_account, tmp_path_factory):
    out = tmp_path_factory.mktemp("live-workloads")
    result = CliRunner().invoke(main, ["collect", "aws", "--endpoint-url", workload_account, "--region", "us-east-1",
                                       "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    return out / "aws"


def test_the_inventory_files_are_written_in_the_apis_shapes(collected):
    folder = collected / ACCOUNT
    functions = json.loads((folder / "lambda-functions.json").read_text())["Functions"]
    assert [(f["FunctionName"], f["Role"]) for f in functions] == [("billing", ROLE + "lambda-admin")]
    assert len(json.loads((folder / "lambda-event-source-mappings.json").read_text())["EventSourceMappings"]) == 1
    versions = json.loads((folder / "ec2-launch-template-versions.json").read_text())["LaunchTemplateVersions"]
    assert {v["LaunchTemplateData"]["IamInstanceProfile"]["Arn"] for v in versions} == {PROFILE}
    assert json.loads((folder / "autoscaling-groups.json").read_text())["AutoScalingGroups"][0]["LaunchTemplate"]
    assert json.loads((folder / "ecs-clusters.json").read_text())["clusters"][0]["clusterName"] == "prod"
    services = json.loads((folder / "ecs-services.json").read_text())["services"]
    assert services[0]["serviceName"] == "api"
    (task,) = json.loads((folder / "ecs-task-definitions.json").read_text())
    assert task["taskDefinition"]["taskRoleArn"] == ROLE + "task-admin"
    assert json.loads((folder / "cloudformation-stacks.json").read_text())["Stacks"][0]["RoleARN"] == ROLE + "cfn-admin"
    (stack_set,) = json.loads((folder / "cloudformation-stack-sets.json").read_text())
    assert stack_set["StackSet"]["AdministrationRoleARN"] == ROLE + "cfn-admin"
    assert json.loads((folder / "codebuild-projects.json").read_text())["projects"][0]["serviceRole"] == ROLE + "build-admin"
    assert json.loads((folder / "glue-dev-endpoints.json").read_text())["DevEndpoints"][0]["EndpointName"] == "etl"
    assert json.loads((folder / "glue-jobs.json").read_text())["Jobs"][0]["Name"] == "nightly"
    (notebook,) = json.loads((folder / "sagemaker-notebook-instances.json").read_text())
    assert notebook["RoleArn"] == ROLE + "sm-admin"
    log = json.loads((collected / "collection.json").read_text())
    assert log["counts"]["Lambda functions"] == 1 and log["counts"]["CodeBuild projects"] == 1


def test_kinds_whose_calls_failed_are_not_written_and_are_in_coverage(collected):
    """moto does not implement App Runner nor AgentCore code interpreters: their calls fail, are logged,
    and their files are not written (the inventory is not collected, rather than collected and empty)."""
    log = json.loads((collected / "collection.json").read_text())
    calls = {p["call"] for p in log["problems"]}
    assert "apprunner:ListServices" in calls
    assert not (collected / ACCOUNT / "apprunner-services.json").exists()


def test_the_offline_collector_reaches_each_workloads_role(collected):
    result = collect_offline(collected)
    assert not result.errors, result.errors
    operator = f"aws:arn:aws:iam::{ACCOUNT}:user/operator"
    run_as = {e["target"]: e for e in result.edges if e["source"] == operator and e["kind"] == "CAN_RUN_AS"}
    expected = {"lambda-admin": "aws.lambda.update-function-code", "ec2-admin": "aws.ec2.launch-template-version",
                "cfn-admin": "aws.cloudformation.update-stack", "build-admin": "aws.codebuild.start-build",
                "glue-admin": "aws.glue.update-dev-endpoint", "sm-admin": "aws.sagemaker.presigned-notebook-url"}
    for role, technique in expected.items():
        edge = run_as[f"aws:{ROLE}{role}"]
        assert technique in edge["techniques"] and not edge.get("assumed"), (role, edge)
    assert "Lambda function billing" in run_as[f"aws:{ROLE}lambda-admin"]["via"]
    assert f"aws:{ROLE}task-admin" not in run_as, "no ECS technique on existing services"


# ----------------------------------------------------------------------------------------------
# Stubber: App Runner and AgentCore code interpreters (not in moto), and denied calls.

def _stubbed(tmp_path, services):
    from tests.collectors.test_aws_live import _stubbed_collector

    return _stubbed_collector(tmp_path, services)


def test_app_runner_services_follow_next_token_and_are_described(tmp_path):
    collector, _run, stubs = _stubbed(tmp_path, ["apprunner"])
    from collectors.aws.live import _apprunner_services

    arn = f"arn:aws:apprunner:us-east-1:{ACCOUNT}:service/web-app/8fe1e10304f84fd2b0df550fe98a71fa"
    summary = {"ServiceName": "web-app", "ServiceId": "8fe1e10304f84fd2b0df550fe98a71fa", "ServiceArn": arn,
               "ServiceUrl": "abc.us-east-1.awsapprunner.com", "Status": "RUNNING"}
    stubs["apprunner"].add_response("list_services", {"ServiceSummaryList": [], "NextToken": "t2"}, {})
    stubs["apprunner"].add_response("list_services", {"ServiceSummaryList": [summary]}, {"NextToken": "t2"})
    service = dict(summary, CreatedAt="2026-01-01T00:00:00Z", UpdatedAt="2026-01-01T00:00:00Z",
                   SourceConfiguration={}, InstanceConfiguration={"Cpu": "1024", "Memory": "2048",
                                                                  "InstanceRoleArn": ROLE + "apprunner-admin"},
                   AutoScalingConfigurationSummary={}, NetworkConfiguration={"EgressConfiguration": {"EgressType": "DEFAULT"}})
    stubs["apprunner"].add_response("describe_service", {"Service": service},
                                    {"ServiceArn": arn})
    (described,) = _apprunner_services(collector)
    assert described["Service"]["InstanceConfiguration"]["InstanceRoleArn"] == ROLE + "apprunner-admin"
    stubs["apprunner"].assert_no_pending_responses()


def test_code_interpreters_are_listed_and_described(tmp_path):
    collector, _run, stubs = _stubbed(tmp_path, ["bedrock-agentcore-control"])
    from collectors.aws.live import _code_interpreters

    stub = stubs["bedrock-agentcore-control"]
    arn = f"arn:aws:bedrock-agentcore:us-east-1:{ACCOUNT}:code-interpreter-custom/analyst-a1b2c3d4e5"
    stub.add_response("list_code_interpreters", {"codeInterpreterSummaries": [
        {"codeInterpreterId": "analyst-a1b2c3d4e5", "codeInterpreterArn": arn, "name": "analyst",
         "status": "READY", "createdAt": "2026-01-01T00:00:00Z"}]}, {})
    stub.add_response("get_code_interpreter", {
        "codeInterpreterId": "analyst-a1b2c3d4e5", "codeInterpreterArn": arn, "name": "analyst",
        "executionRoleArn": ROLE + "agent-admin", "networkConfiguration": {"networkMode": "PUBLIC"},
        "status": "READY", "createdAt": "2026-01-01T00:00:00Z", "lastUpdatedAt": "2026-01-01T00:00:00Z"},
        {"codeInterpreterId": "analyst-a1b2c3d4e5"})
    (described,) = _code_interpreters(collector)
    assert described["executionRoleArn"] == ROLE + "agent-admin"


def test_a_denied_inventory_call_is_in_coverage_and_its_kind_is_not_written(tmp_path):
    from collectors.aws import live

    collector, run, stubs = _stubbed(tmp_path, ["codebuild"])
    stubs["codebuild"].add_client_error("list_projects", "AccessDeniedException", "not authorized", 400)
    calls: list[str] = []

    def readers():
        for kind, reader in live._WORKLOAD_READERS:
            if kind == "project":
                yield kind, reader
            else:
                yield kind, lambda c, k=kind: calls.append(k) or []

    mp = pytest.MonkeyPatch()
    mp.setattr(live, "_WORKLOAD_READERS", list(readers()))
    try:
        collector.workloads(run.progress().__enter__())
    finally:
        mp.undo()
    log = run.finish()
    (problem,) = log["problems"]
    assert (problem["call"], problem["kind"]) == ("codebuild:ListProjects", "denied")
    folder = tmp_path / "aws" / ACCOUNT
    assert not (folder / "codebuild-projects.json").exists()
    assert json.loads((folder / "lambda-functions.json").read_text()) == {"Functions": []}, "the others are written"
    assert json.loads((folder / "sagemaker-notebook-instances.json").read_text()) == []


def test_a_denied_describe_leaves_the_kind_uncollected(tmp_path):
    """A notebook listed but not described would be missing from the inventory: the kind is not written."""
    from collectors.aws.live import _notebooks

    collector, run, stubs = _stubbed(tmp_path, ["sagemaker"])
    stubs["sagemaker"].add_response("list_notebook_instances", {"NotebookInstances": [
        {"NotebookInstanceName": "research", "NotebookInstanceArn":
         f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:notebook-instance/research"}]}, {})
    stubs["sagemaker"].add_client_error("describe_notebook_instance", "AccessDeniedException", "no", 400)
    before = collector.failures
    assert _notebooks(collector) == []
    assert collector.failures == before + 1
    assert [p.call for p in run.problems] == ["sagemaker:DescribeNotebookInstance"]
