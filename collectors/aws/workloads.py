"""The AWS workload inventory: compute that already runs as a role (Lambda functions, EC2 instances and
launch templates, Auto Scaling groups, ECS, CloudFormation, CodeBuild, Glue, SageMaker, App Runner,
Bedrock AgentCore), parsed from the export files (one per service, in the API's own response shape,
docs/collectors/aws.md) into typed `Workload`s that the existing-workload techniques read.

The inventory also records which kinds were collected for which account: a kind whose file was read
(even with no item in it) is known to hold exactly the workloads listed; a kind whose file is absent is
unknown, and the techniques may then draw assumed edges (collectors.aws.techniques_workloads).

A record that cannot be read is an error naming its file, record, field and fix; the other records of
the file still load.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from collectors.aws.resources import account_of
from graph.records import RecordError

if TYPE_CHECKING:  # transform reads exports, which reads this module
    from collectors.aws.transform import Principal

SOURCE = "aws"


@dataclass
class Workload:
    """One workload and the role it runs as (None: it has none, or the role is not in the collected
    authorization details). `arn` has `*` as its region when the export does not say the region."""

    service: str  # "lambda", "ec2", "cloudformation" ...
    kind: str  # a KINDS key: "function", "instance", "launch-template" ...
    arn: str
    name: str
    role: Principal | None
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{KINDS[self.kind].label} {self.name}"

    @property
    def region_known(self) -> bool:
        parts = self.arn.split(":")
        return len(parts) > 3 and parts[3] != "*"


@dataclass(frozen=True)
class Kind:
    """One inventory kind: where it comes from and which service's roles it runs as."""

    kind: str
    service: str
    label: str
    file: str  # documented file name
    key: str  # the key the API response (or each per-item describe output) holds
    command: str  # the CLI command producing the file
    arn_template: str  # "{region}", "{account}", "{name}"
    trusts: tuple[str, ...] = ()  # service principals its role trusts; () for kinds without a role
    per_item: bool = False  # the file is a JSON list of per-item describe outputs
    wrapped: bool = False  # each describe output wraps the item in `key` ({"Service": {...}})


KINDS: dict[str, Kind] = {k.kind: k for k in (
    Kind("function", "lambda", "Lambda function", "lambda-functions.json", "Functions",
         "aws lambda list-functions --output json", "arn:aws:lambda:{region}:{account}:function:{name}",
         ("lambda.amazonaws.com",)),
    Kind("event-source-mapping", "lambda", "Lambda event source mapping", "lambda-event-source-mappings.json",
         "EventSourceMappings", "aws lambda list-event-source-mappings --output json",
         "arn:aws:lambda:{region}:{account}:event-source-mapping:{name}"),
    Kind("instance", "ec2", "EC2 instance", "ec2-instances.json", "Reservations",
         "aws ec2 describe-instances --output json", "arn:aws:ec2:{region}:{account}:instance/{name}",
         ("ec2.amazonaws.com",)),
    Kind("launch-template", "ec2", "EC2 launch template", "ec2-launch-template-versions.json",
         "LaunchTemplateVersions",
         "aws ec2 describe-launch-template-versions --versions '$Latest' '$Default' --output json",
         "arn:aws:ec2:{region}:{account}:launch-template/{name}", ("ec2.amazonaws.com",)),
    Kind("autoscaling-group", "autoscaling", "Auto Scaling group", "autoscaling-groups.json", "AutoScalingGroups",
         "aws autoscaling describe-auto-scaling-groups --output json",
         "arn:aws:autoscaling:{region}:{account}:autoScalingGroup:*:autoScalingGroupName/{name}"),
    Kind("ecs-cluster", "ecs", "ECS cluster", "ecs-clusters.json", "clusters",
         "aws ecs describe-clusters --clusters $(aws ecs list-clusters --query clusterArns --output text) "
         "--output json", "arn:aws:ecs:{region}:{account}:cluster/{name}"),
    Kind("ecs-service", "ecs", "ECS service", "ecs-services.json", "services",
         "aws ecs describe-services --cluster CLUSTER --services ... --output json (one output per cluster, "
         "or a JSON list of them)", "arn:aws:ecs:{region}:{account}:service/{name}", ("ecs-tasks.amazonaws.com",)),
    Kind("ecs-task-definition", "ecs", "ECS task definition", "ecs-task-definitions.json", "taskDefinition",
         "aws ecs describe-task-definition --task-definition ARN --output json (one output per task "
         "definition, as a JSON list)", "arn:aws:ecs:{region}:{account}:task-definition/{name}",
         ("ecs-tasks.amazonaws.com",), per_item=True, wrapped=True),
    Kind("stack", "cloudformation", "CloudFormation stack", "cloudformation-stacks.json", "Stacks",
         "aws cloudformation describe-stacks --output json",
         "arn:aws:cloudformation:{region}:{account}:stack/{name}/{name}", ("cloudformation.amazonaws.com",)),
    Kind("stack-set", "cloudformation", "CloudFormation stack set", "cloudformation-stack-sets.json", "StackSet",
         "aws cloudformation describe-stack-set --stack-set-name NAME --output json (one output per stack "
         "set of list-stack-sets, as a JSON list)", "arn:aws:cloudformation:{region}:{account}:stackset/{name}",
         ("cloudformation.amazonaws.com",), per_item=True, wrapped=True),
    Kind("project", "codebuild", "CodeBuild project", "codebuild-projects.json", "projects",
         "aws codebuild batch-get-projects --names $(aws codebuild list-projects --query projects "
         "--output text) --output json", "arn:aws:codebuild:{region}:{account}:project/{name}",
         ("codebuild.amazonaws.com",)),
    Kind("dev-endpoint", "glue", "Glue dev endpoint", "glue-dev-endpoints.json", "DevEndpoints",
         "aws glue get-dev-endpoints --output json", "arn:aws:glue:{region}:{account}:devEndpoint/{name}",
         ("glue.amazonaws.com",)),
    Kind("glue-job", "glue", "Glue job", "glue-jobs.json", "Jobs", "aws glue get-jobs --output json",
         "arn:aws:glue:{region}:{account}:job/{name}", ("glue.amazonaws.com",)),
    Kind("notebook-instance", "sagemaker", "SageMaker notebook instance", "sagemaker-notebook-instances.json",
         "NotebookInstanceArn", "aws sagemaker describe-notebook-instance --notebook-instance-name NAME "
         "--output json (one output per instance of list-notebook-instances, as a JSON list)",
         "arn:aws:sagemaker:{region}:{account}:notebook-instance/{name}", ("sagemaker.amazonaws.com",),
         per_item=True),
    Kind("apprunner-service", "apprunner", "App Runner service", "apprunner-services.json", "Service",
         "aws apprunner describe-service --service-arn ARN --output json (one output per service of "
         "list-services, as a JSON list)", "arn:aws:apprunner:{region}:{account}:service/{name}/{name}",
         ("tasks.apprunner.amazonaws.com",), per_item=True, wrapped=True),
    Kind("code-interpreter", "bedrock-agentcore", "Bedrock AgentCore code interpreter",
         "bedrock-agentcore-code-interpreters.json", "codeInterpreterArn",
         "aws bedrock-agentcore-control get-code-interpreter --code-interpreter-id ID --output json (one output "
         "per interpreter of list-code-interpreters, as a JSON list)",
         "arn:aws:bedrock-agentcore:{region}:{account}:code-interpreter-custom/{name}",
         ("bedrock-agentcore.amazonaws.com",), per_item=True),
)}
# Response keys that name a kind (exports.classify): list keys first, then per-item keys.
KIND_OF_KEY = {k.key: k.kind for k in KINDS.values()}


def fix_for(kind: str) -> str:
    return f"re-run `{KINDS[kind].command}` (docs/collectors/aws.md), or `crosspath collect aws`"


def items_of(kind: str, pages: list[dict[str, Any]]) -> list[Any]:
    """The items of one kind's file: the list under its key, merged over pages, or the per-item outputs."""
    spec = KINDS[kind]
    if spec.per_item:
        return [page.get(spec.key) if spec.wrapped else page for page in pages]
    merged: list[Any] = []
    for page in pages:
        merged.extend(page.get(spec.key) or [])
    return merged


@dataclass
class Inventory:
    """Workloads per (account, kind), and which (account, kind) pairs were collected."""

    items: dict[tuple[str, str], list[Workload]] = field(default_factory=dict)
    collected_kinds: set[tuple[str, str]] = field(default_factory=set)

    def add(self, account: str, workload: Workload) -> None:
        self.items.setdefault((account, workload.kind), []).append(workload)

    def mark(self, account: str, kind: str) -> None:
        self.collected_kinds.add((account, kind))

    def workloads(self, account: str, kind: str) -> list[Workload]:
        return self.items.get((account, kind), [])

    def collected(self, account: str, kind: str) -> bool:
        return (account, kind) in self.collected_kinds


class _Bad(Exception):
    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name
        self.message = message


def _get(item: dict[str, Any], path: str, required: bool = True) -> str:
    value: Any = item
    for part in path.split("."):
        if value is None:
            break
        if not isinstance(value, dict):
            raise _Bad(path, f"{part!r} must be inside an object, got {type(value).__name__}")
        value = value.get(part)
    if value is None or value == "":
        if required:
            raise _Bad(path, "missing")
        return ""
    if not isinstance(value, str):
        raise _Bad(path, f"must be a string, got {type(value).__name__}")
    return value


def _region_of_zone(zone: str) -> str:
    return zone[:-1] if zone and zone[-1].isalpha() else zone or "*"


def _region_of_arn(arn: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else "*"


# One parsed record: (arn, name, role reference, facts). A role reference is ("role", arn), ("profile", arn
# or name) or None.
Parsed = tuple[str, str, tuple[str, str] | None, dict[str, Any]]


def _arn(kind: str, account: str, name: str, region: str = "*") -> str:
    return KINDS[kind].arn_template.format(region=region or "*", account=account, name=name)


def _role(value: str) -> tuple[str, str] | None:
    return ("role", value) if value else None


def _function(item: dict, account: str) -> list[Parsed]:
    arn = _get(item, "FunctionArn")
    return [(arn, _get(item, "FunctionName", False) or arn.rsplit(":", 1)[-1], _role(_get(item, "Role")), {})]


def _mapping(item: dict, account: str) -> list[Parsed]:
    uuid = _get(item, "UUID")
    return [(_get(item, "EventSourceMappingArn", False) or _arn("event-source-mapping", account, uuid), uuid, None,
             {"function": _get(item, "FunctionArn"), "state": _get(item, "State", False)})]


def _reservation(item: dict, account: str) -> list[Parsed]:
    instances = item.get("Instances") or []
    if not isinstance(instances, list):
        raise _Bad("Instances", "must be a list")
    out: list[Parsed] = []
    for index, instance in enumerate(instances):
        if not isinstance(instance, dict):
            raise _Bad(f"Instances[{index}]", "must be an object")
        try:
            instance_id = _get(instance, "InstanceId")
            region = _region_of_zone(_get(instance, "Placement.AvailabilityZone", False))
            profile = _get(instance, "IamInstanceProfile.Arn", False)
            state = _get(instance, "State.Name", False)
        except _Bad as bad:
            raise _Bad(f"Instances[{index}].{bad.field}", bad.message) from None
        out.append((_arn("instance", account, instance_id, region), instance_id,
                    ("profile", profile) if profile else None, {"state": state}))
    return out


def _launch_template_version(item: dict, account: str) -> list[Parsed]:
    template_id = _get(item, "LaunchTemplateId")
    profile = (_get(item, "LaunchTemplateData.IamInstanceProfile.Arn", False)
               or _get(item, "LaunchTemplateData.IamInstanceProfile.Name", False))
    return [(_arn("launch-template", account, template_id), _get(item, "LaunchTemplateName", False) or template_id,
             ("profile", profile) if profile else None,
             {"id": template_id, "version": item.get("VersionNumber"), "default": item.get("DefaultVersion")})]


def _autoscaling_group(item: dict, account: str) -> list[Parsed]:
    name = _get(item, "AutoScalingGroupName")
    templates = [t for t in (_get(item, "LaunchTemplate.LaunchTemplateId", False),
                             _get(item, "LaunchTemplate.LaunchTemplateName", False),
                             _get(item, "MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification."
                                  "LaunchTemplateId", False),
                             _get(item, "MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification."
                                  "LaunchTemplateName", False)) if t]
    return [(_get(item, "AutoScalingGroupARN", False) or _arn("autoscaling-group", account, name), name, None,
             {"launch_templates": templates})]


def _ecs_cluster(item: dict, account: str) -> list[Parsed]:
    arn = _get(item, "clusterArn")
    return [(arn, _get(item, "clusterName", False) or arn.rsplit("/", 1)[-1], None, {})]


def _ecs_service(item: dict, account: str) -> list[Parsed]:
    arn = _get(item, "serviceArn")
    return [(arn, _get(item, "serviceName", False) or arn.rsplit("/", 1)[-1], None,
             {"task_definition": _get(item, "taskDefinition", False), "cluster": _get(item, "clusterArn", False)})]


def _task_definition(item: dict, account: str) -> list[Parsed]:
    arn = _get(item, "taskDefinitionArn")
    return [(arn, arn.rsplit("/", 1)[-1], _role(_get(item, "taskRoleArn", False)),
             {"execution_role": _get(item, "executionRoleArn", False)})]


def _stack(item: dict, account: str) -> list[Parsed]:
    return [(_get(item, "StackId"), _get(item, "StackName"), _role(_get(item, "RoleARN", False)),
             {"status": _get(item, "StackStatus", False)})]


def _stack_set(item: dict, account: str) -> list[Parsed]:
    return [(_get(item, "StackSetARN"), _get(item, "StackSetName"), _role(_get(item, "AdministrationRoleARN", False)),
             {"execution_role_name": _get(item, "ExecutionRoleName", False)})]


def _project(item: dict, account: str) -> list[Parsed]:
    return [(_get(item, "arn"), _get(item, "name"), _role(_get(item, "serviceRole")), {})]


def _dev_endpoint(item: dict, account: str) -> list[Parsed]:
    name = _get(item, "EndpointName")
    region = _region_of_zone(_get(item, "AvailabilityZone", False))
    return [(_arn("dev-endpoint", account, name, region), name, _role(_get(item, "RoleArn")), {})]


def _glue_job(item: dict, account: str) -> list[Parsed]:
    name = _get(item, "Name")
    return [(_arn("glue-job", account, name), name, _role(_get(item, "Role")), {})]


def _notebook(item: dict, account: str) -> list[Parsed]:
    return [(_get(item, "NotebookInstanceArn"), _get(item, "NotebookInstanceName", False)
             or _get(item, "NotebookInstanceArn").rsplit("/", 1)[-1], _role(_get(item, "RoleArn")),
             {"status": _get(item, "NotebookInstanceStatus", False)})]


def _apprunner(item: dict, account: str) -> list[Parsed]:
    return [(_get(item, "ServiceArn"), _get(item, "ServiceName"),
             _role(_get(item, "InstanceConfiguration.InstanceRoleArn", False)), {"status": _get(item, "Status", False)})]


def _code_interpreter(item: dict, account: str) -> list[Parsed]:
    arn = _get(item, "codeInterpreterArn")
    return [(arn, _get(item, "name", False) or arn.rsplit("/", 1)[-1], _role(_get(item, "executionRoleArn", False)),
             {"status": _get(item, "status", False)})]


_PARSERS: dict[str, Callable[[dict, str], list[Parsed]]] = {
    "function": _function, "event-source-mapping": _mapping, "instance": _reservation,
    "launch-template": _launch_template_version, "autoscaling-group": _autoscaling_group, "ecs-cluster": _ecs_cluster,
    "ecs-service": _ecs_service, "ecs-task-definition": _task_definition, "stack": _stack, "stack-set": _stack_set,
    "project": _project, "dev-endpoint": _dev_endpoint, "glue-job": _glue_job, "notebook-instance": _notebook,
    "apprunner-service": _apprunner, "code-interpreter": _code_interpreter,
}
assert set(_PARSERS) == set(KINDS)


@dataclass
class ParsedFile:
    workloads: list[Workload] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _record_label(kind: str, index: int, item: Any) -> str:
    spec = KINDS[kind]
    label = f"#{index}" if spec.per_item else f"{spec.key}[{index}]"
    if isinstance(item, dict):
        for key in ("FunctionName", "InstanceId", "ReservationId", "LaunchTemplateName", "AutoScalingGroupName",
                    "clusterName", "serviceName", "taskDefinitionArn", "StackName", "StackSetName", "name",
                    "EndpointName", "Name", "NotebookInstanceName", "ServiceName", "UUID"):
            if isinstance(item.get(key), str):
                return f"{label} ({item[key]})"
    return label


def parse_kind(kind: str, items: list[Any], path: Path, account: str,
               find_role: Callable[[str], Principal | None],
               find_profile: Callable[[str, str], Principal | None]) -> ParsedFile:
    """One file's workloads. A record that cannot be read is an error naming file, record and field; the
    others are kept. A role (or instance profile) not in the collected authorization details is a note,
    and the workload is kept without a role."""
    spec = KINDS[kind]
    out = ParsedFile()
    for index, item in enumerate(items):
        record = _record_label(kind, index, item)
        if not isinstance(item, dict):
            out.errors.append(RecordError(SOURCE, str(path), record, spec.key if spec.wrapped else "",
                                          f"a {spec.label} must be an object, got {type(item).__name__}",
                                          fix_for(kind)))
            continue
        try:
            parsed = _PARSERS[kind](item, account)
        except _Bad as bad:
            out.errors.append(RecordError(SOURCE, str(path), record, bad.field, f"{spec.label}: {bad.message}; "
                                          "this record is skipped", fix_for(kind)))
            continue
        for arn, name, reference, facts in parsed:
            owner = account_of(arn) or account
            role = None
            if reference is not None:
                how, value = reference
                role = find_role(value) if how == "role" else find_profile(value, owner)
                if role is None:
                    what = "role" if how == "role" else "instance profile"
                    out.notes.append(f"{path}: {spec.label} {name} runs as {what} {value}, which is not in the "
                                     "collected authorization details")
            if reference is not None:
                facts = {**facts, "role_reference": reference[1]}
            out.workloads.append(Workload(spec.service, kind, arn, name, role, facts))
    return out


def link(inventory: Inventory, policies_known: set[str]) -> None:
    """Facts that need more than one kind: an ECS service's role (its task definition's task role), whether
    a Lambda function is triggered by its own events (an event source mapping, or a resource policy letting
    something invoke it; None when the inventory that would say is missing), whether a launch template is
    used by an Auto Scaling group (None when the groups were not collected)."""
    accounts = {account for account, _ in inventory.items} | {account for account, _ in inventory.collected_kinds}
    for account in accounts:
        tasks = {w.arn: w for w in inventory.workloads(account, "ecs-task-definition")}
        for service in inventory.workloads(account, "ecs-service"):
            task = tasks.get(str(service.facts.get("task_definition")))
            if task is not None and service.role is None:
                service.role = task.role
        mapped = {str(m.facts.get("function")) for m in inventory.workloads(account, "event-source-mapping")}
        mapped |= {f.rsplit(":", 1)[-1] for f in mapped}  # FunctionArn may carry a qualifier or be a name
        mappings_known = inventory.collected(account, "event-source-mapping")
        for function in inventory.workloads(account, "function"):
            base = function.arn.split(":function:")[0] + ":function:" + function.name
            if function.arn in mapped or base in mapped or function.facts.get("policy"):
                function.facts["triggered"] = True
            elif mappings_known and account in policies_known:
                function.facts["triggered"] = False
            else:
                function.facts.setdefault("triggered", None)
        groups_known = inventory.collected(account, "autoscaling-group")
        used = {t for g in inventory.workloads(account, "autoscaling-group") for t in g.facts["launch_templates"]}
        for template in inventory.workloads(account, "launch-template"):
            in_use = template.facts.get("id") in used or template.name in used
            template.facts["in_autoscaling_group"] = True if in_use else (False if groups_known else None)
