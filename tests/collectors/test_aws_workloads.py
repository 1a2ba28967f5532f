"""The AWS workload inventory (collectors/aws/workloads.py) and the existing-workload techniques that read
it (collectors/aws/techniques_workloads.py): precision with an inventory, assumed edges without one, and
record-by-record errors that lose nothing else."""

from __future__ import annotations

import json

import pytest

from collectors.aws import collect_offline
from collectors.aws.workloads import KINDS
from tests.techniques import workload_exports as wx
from tests.techniques.aws_cases import ACCT, ATTACKER, STATEMENTS, admin_role, allow, arn, build

# Existing-workload technique -> the inventory kind it reads.
WORKLOAD_TECHNIQUES = {
    "aws.lambda.update-function-code": "function", "aws.ec2.modify-instance-user-data": "instance",
    "aws.ec2.launch-template-version": "launch-template", "aws.ec2-instance-connect.send-ssh-public-key": "instance",
    "aws.ssm.send-command": "instance", "aws.ssm.start-session": "instance",
    "aws.apprunner.update-service": "apprunner-service", "aws.cloudformation.update-stack": "stack",
    "aws.cloudformation.execute-change-set": "stack", "aws.codebuild.start-build": "project",
    "aws.glue.update-dev-endpoint": "dev-endpoint", "aws.sagemaker.presigned-notebook-url": "notebook-instance",
    "aws.sagemaker.notebook-lifecycle-config": "notebook-instance",
    "aws.bedrock-agentcore.invoke-code-interpreter": "code-interpreter",
}


def _run_as(folder, target=None):
    result = collect_offline(folder)
    edges = [e for e in result.edges if e["source"] == ATTACKER and e["kind"] == "CAN_RUN_AS"
             and (target is None or e["target"] == f"aws:{target}")]
    return result, edges


def _on_everything(technique: str) -> list[dict]:
    """The technique's statements with every resource `*`."""
    return [dict(s, Resource="*") for s in STATEMENTS[technique][0]]


@pytest.mark.parametrize("technique", sorted(WORKLOAD_TECHNIQUES))
def test_without_an_inventory_a_grant_on_every_workload_draws_assumed_edges(tmp_path, technique):
    kind = WORKLOAD_TECHNIQUES[technique]
    target = STATEMENTS[technique][3]
    build(tmp_path, _on_everything(technique), {"missing": (kind,)})
    result, edges = _run_as(tmp_path, target)
    assert not result.errors, result.errors
    (edge,) = edges
    assert technique in edge["techniques"] and edge["assumed"] is True
    assert f"No {KINDS[kind].label} inventory for account {ACCT}" in edge["assumed_reason"]


@pytest.mark.parametrize("technique", sorted(WORKLOAD_TECHNIQUES))
def test_a_collected_empty_inventory_draws_nothing(tmp_path, technique):
    build(tmp_path, _on_everything(technique), {})
    _, edges = _run_as(tmp_path)
    assert [e for e in edges if technique in e["techniques"]] == []


@pytest.mark.parametrize("resource, drawn", [
    ("*", True), (f"arn:aws:codebuild:*:{ACCT}:project/*", True), ("arn:aws:codebuild:*:*:*", True),
    (f"arn:aws:codebuild:us-east-1:{ACCT}:project/*", False),  # one region: not every project
    (f"arn:aws:codebuild:*:{ACCT}:project/prod-*", False),  # some projects only
])
def test_assumed_edges_need_a_grant_covering_every_workload(tmp_path, resource, drawn):
    build(tmp_path, [allow("codebuild:StartBuild", resource)], {"missing": ("project",)})
    _, edges = _run_as(tmp_path, arn("role", "build-admin"))
    assert bool(edges) is drawn


def test_with_an_inventory_only_the_workloads_roles_are_reached_and_the_edge_names_the_workload(tmp_path):
    project = wx.project(ACCT, "release", arn("role", "build-admin"))
    build(tmp_path, [allow("codebuild:StartBuild", "*", sid="Builds")], {"workloads": {"project": [project]}})
    # A second role trusting CodeBuild, which no project runs as.
    path = tmp_path / ACCT / "authorization-details.json"
    details = json.loads(path.read_text())
    details["RoleDetailList"].append(admin_role("spare-build", "codebuild.amazonaws.com"))
    path.write_text(json.dumps(details))
    _, edges = _run_as(tmp_path)
    (edge,) = edges
    assert edge["target"] == f"aws:{arn('role', 'build-admin')}" and not edge.get("assumed")
    assert "CodeBuild project release" in edge["via"] and "Builds" in edge["via"]


def test_a_grant_on_another_workload_does_not_reach_this_one(tmp_path):
    project = wx.project(ACCT, "release", arn("role", "build-admin"))
    build(tmp_path, [allow("codebuild:StartBuild", f"arn:aws:codebuild:us-east-1:{ACCT}:project/docs")],
          {"workloads": {"project": [project]}})
    assert _run_as(tmp_path)[1] == []


def test_a_workload_whose_role_is_not_collected_gives_no_edge_and_a_note(tmp_path):
    project = wx.project(ACCT, "release", arn("role", "gone"))
    build(tmp_path, [allow("codebuild:StartBuild")], {"workloads": {"project": [project]}})
    result, edges = _run_as(tmp_path)
    assert edges == [] and not result.errors
    assert any("CodeBuild project release runs as role" in n and "gone" in n for n in result.coverage.notes)


def test_a_stack_without_a_service_role_gives_no_edge(tmp_path):
    stack = wx.stack(ACCT, "net", "")
    del stack["RoleARN"]
    build(tmp_path, [allow("cloudformation:UpdateStack")], {"workloads": {"stack": [stack]}})
    assert _run_as(tmp_path)[1] == []


@pytest.mark.parametrize("mappings, policy, expected", [
    ([wx.event_source_mapping(ACCT, "billing")], False, "proven"),  # triggered by its own events
    ([], True, "proven"),  # a resource policy lets something invoke it
    ([], False, None),  # nothing invokes it: UpdateFunctionCode alone does not run the code
    (None, False, "assumed"),  # event source mappings not collected: assumed triggered
])
def test_update_function_code_alone_needs_a_trigger(tmp_path, mappings, policy, expected):
    function = wx.function(ACCT, "billing", arn("role", "lambda-admin"))
    setup = {"workloads": {"function": [function]}}
    if mappings is None:
        setup["missing"] = ("event-source-mapping",)
    else:
        setup["workloads"]["event_source_mapping"] = mappings
    build(tmp_path, [allow("lambda:UpdateFunctionCode", function["FunctionArn"])], setup)
    entries = [{"Service": "lambda", "ResourceArn": function["FunctionArn"], "Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
                                               "Action": "lambda:InvokeFunction", "Resource": function["FunctionArn"]}]})}]
    (tmp_path / ACCT / "resource-policies.json").write_text(json.dumps({"ResourcePolicies": entries if policy else []}))
    result, edges = _run_as(tmp_path, arn("role", "lambda-admin"))
    assert not result.errors, result.errors
    if expected is None:
        assert edges == []
    else:
        (edge,) = edges
        assert bool(edge.get("assumed")) is (expected == "assumed")
        if expected == "assumed":
            assert "Triggers of Lambda function billing not collected" in edge["assumed_reason"]


@pytest.mark.parametrize("groups, expected", [("uses", "proven"), ("other", None), ("missing", "assumed")])
def test_launch_template_needs_an_autoscaling_group_using_it(tmp_path, groups, expected):
    profile = f"arn:aws:iam::{ACCT}:instance-profile/ec2-admin"
    setup: dict = {"workloads": {"launch_template": [wx.launch_template_version("lt-0abc", "web", profile)]}}
    if groups == "missing":
        setup["missing"] = ("autoscaling-group",)
    else:
        setup["workloads"]["autoscaling_group"] = [wx.autoscaling_group(ACCT, "web", "lt-0abc" if groups == "uses"
                                                                        else "lt-0other")]
    build(tmp_path, STATEMENTS["aws.ec2.launch-template-version"][0], setup)
    _, edges = _run_as(tmp_path, arn("role", "ec2-admin"))
    if expected is None:
        assert edges == []
    else:
        (edge,) = edges
        assert bool(edge.get("assumed")) is (expected == "assumed")


def test_a_workload_without_a_region_matches_a_grant_naming_its_region(tmp_path):
    """get-dev-endpoints without an AvailabilityZone does not say the region; a grant naming one counts."""
    endpoint = wx.dev_endpoint("etl", arn("role", "glue-admin"))
    del endpoint["AvailabilityZone"]
    build(tmp_path, [allow("glue:UpdateDevEndpoint", f"arn:aws:glue:eu-west-1:{ACCT}:devEndpoint/etl")],
          {"workloads": {"dev_endpoint": [endpoint]}})
    assert len(_run_as(tmp_path, arn("role", "glue-admin"))[1]) == 1


# -- parse errors --------------------------------------------------------------------------------

def test_a_bad_record_is_an_error_naming_file_record_and_field_and_the_others_load(tmp_path):
    good = wx.project(ACCT, "release", arn("role", "build-admin"))
    bad = wx.project(ACCT, "docs", arn("role", "sm-admin"))
    del bad["serviceRole"]
    build(tmp_path, [allow("codebuild:StartBuild")], {"workloads": {"project": [bad, "not an object", good]}})
    result, edges = _run_as(tmp_path)
    errors = {(e.record, e.field): e for e in result.errors}
    error = errors[("projects[0] (docs)", "serviceRole")]
    assert error.file.endswith("codebuild-projects.json") and "batch-get-projects" in error.fix
    assert ("projects[1]", "") in errors
    assert [e["target"] for e in edges] == [f"aws:{arn('role', 'build-admin')}"]
    assert not any(e.get("assumed") for e in edges), "the kind was collected: no assumed edges"


def test_a_bad_nested_field_names_its_path(tmp_path):
    service = wx.apprunner_service(ACCT, "web", arn("role", "apprunner-admin"))
    service["Service"]["InstanceConfiguration"] = "1024"
    build(tmp_path, [], {"workloads": {"apprunner_service": [service]}})
    (error,) = collect_offline(tmp_path).errors
    assert (error.record, error.field) == ("#0 (web)", "InstanceConfiguration.InstanceRoleArn")


def test_an_instance_without_an_id_is_named_inside_its_reservation(tmp_path):
    reservation = wx.instance(ACCT, "i-0abc", f"arn:aws:iam::{ACCT}:instance-profile/ec2-admin")
    reservation["Instances"].append({"State": {"Name": "running"}})
    build(tmp_path, [allow("ssm:StartSession")], {"workloads": {"instance": [reservation]}})
    result, edges = _run_as(tmp_path)
    (error,) = result.errors
    assert error.field == "Instances[1].InstanceId" and error.record.startswith("Reservations[0]")
    assert edges == [], "the whole reservation is skipped, so the instance is not guessed"


def test_a_file_whose_list_is_not_a_list_is_an_error_and_other_files_load(tmp_path):
    build(tmp_path, [allow("codebuild:StartBuild"), allow("glue:UpdateDevEndpoint")],
          {"workloads": {"dev_endpoint": [wx.dev_endpoint("etl", arn("role", "glue-admin"))]}})
    (tmp_path / ACCT / "codebuild-projects.json").write_text(json.dumps({"projects": {"name": "x"}}))
    result, edges = _run_as(tmp_path)
    (error,) = result.errors
    assert error.file.endswith("codebuild-projects.json") and error.field == "projects"
    targets = {e["target"] for e in edges}
    assert f"aws:{arn('role', 'glue-admin')}" in targets
    # The unreadable file is not an inventory: CodeBuild projects were not collected.
    assert any(e.get("assumed") for e in edges if e["target"] == f"aws:{arn('role', 'build-admin')}")


def test_an_empty_per_item_file_is_a_collected_empty_inventory(tmp_path):
    build(tmp_path, [allow("sagemaker:CreatePresignedNotebookInstanceUrl")], {})
    assert json.loads((tmp_path / ACCT / "sagemaker-notebook-instances.json").read_text()) == []
    result, edges = _run_as(tmp_path)
    assert not result.errors and edges == []


def test_a_documented_inventory_file_with_another_shape_is_an_error(tmp_path):
    build(tmp_path, [], {})
    (tmp_path / ACCT / "lambda-functions.json").write_text(json.dumps({"Functionz": []}))
    (error,) = collect_offline(tmp_path).errors
    assert error.file.endswith("lambda-functions.json") and "Functions" in error.message


def test_ecs_services_take_their_task_definitions_role(tmp_path):
    from collectors.aws.exports import read_exports
    from collectors.aws.offline import _workloads
    from collectors.aws.technique_rules import Context

    build(tmp_path, [], {})
    task = f"arn:aws:ecs:us-east-1:{ACCT}:task-definition/api:3"
    (tmp_path / ACCT / "ecs-task-definitions.json").write_text(json.dumps([
        {"taskDefinition": {"taskDefinitionArn": task, "family": "api", "revision": 3,
                            "taskRoleArn": arn("role", "task-admin"), "containerDefinitions": []}}]))
    (tmp_path / ACCT / "ecs-services.json").write_text(json.dumps([{"services": [
        {"serviceArn": f"arn:aws:ecs:us-east-1:{ACCT}:service/prod/api", "serviceName": "api",
         "clusterArn": f"arn:aws:ecs:us-east-1:{ACCT}:cluster/prod", "taskDefinition": task}], "failures": []}]))
    result = collect_offline(tmp_path)
    assert not result.errors, result.errors
    from collectors.aws.offline import _load_accounts, _Principals
    exports = read_exports(tmp_path)
    accounts = _load_accounts(exports, tmp_path, result)
    context = Context(accounts)
    _workloads(exports, tmp_path, accounts, _Principals(accounts), context, result)
    (service,) = context.workloads(ACCT, "ecs-service")
    assert service.role is not None and service.role.name == "task-admin"
    assert context.collected(ACCT, "ecs-service") and not context.collected("999999999999", "ecs-service")


def test_a_per_item_output_without_its_key_is_that_records_error(tmp_path):
    good = wx.notebook(ACCT, "research", arn("role", "sm-admin"))
    bad = {k: v for k, v in wx.notebook(ACCT, "scratch", arn("role", "sm-admin")).items() if k != "NotebookInstanceArn"}
    build(tmp_path, [allow("sagemaker:CreatePresignedNotebookInstanceUrl")],
          {"workloads": {"notebook_instance": [bad, good]}})
    result, edges = _run_as(tmp_path)
    (error,) = result.errors
    assert (error.record, error.field) == ("#0 (scratch)", "NotebookInstanceArn")
    assert [e["target"] for e in edges] == [f"aws:{arn('role', 'sm-admin')}"]


def test_kinds_not_collected_are_a_coverage_note(tmp_path):
    build(tmp_path, [], {"missing": ("project", "stack")})
    notes = [n for n in collect_offline(tmp_path).coverage.notes if "workload inventory not collected" in n]
    assert notes == [(f"{ACCT}: workload inventory not collected (cloudformation-stacks.json, codebuild-projects.json); "
                      "existing-workload techniques draw assumed edges for grants on every workload of those kinds")]
