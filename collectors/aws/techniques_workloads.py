"""Existing-workload techniques: taking over compute that already runs as a role (pathfinding.cloud
existing-passrole paths), read from the workload inventory (collectors.aws.workloads).

Every required action is checked on the workload's own ARN (a grant scoped to other workloads does not
count; an action whose resource the attacker names itself, such as a new lifecycle configuration, on any
resource). The edge goes from the principal to the workload's role, its `via` naming the workload.

Precision: with an inventory of the kind for the account, only the roles of the listed workloads are
reached. Without one (the file was not collected, as opposed to collected and empty), a technique draws
edges to every role trusting the service, marked assumed, and only when the grant covers every workload
of the service in the account (`*`, or `arn:aws:lambda:*:<account>:function:*` and the like).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from collectors.aws.policy_documents import Grant, matches
from collectors.aws.technique_rules import (
    Context,
    Hit,
    allowing,
    allowing_any,
    can_at_all,
    technique,
)
from collectors.aws.transform import Principal
from collectors.aws.workloads import KINDS, Workload
from graph.schema import EdgeKind

# A workload fact check: (does the technique apply, why it stands on an assumption or "").
Check = Callable[[Workload, tuple[str, ...]], tuple[bool, str]]


def _on_workload(principal: Principal, action: str, workload: Workload) -> Grant | None:
    """The grant for action on the workload's ARN; when the export did not say the workload's region, a
    grant naming any region counts (the region is the one thing unknown)."""
    found = allowing(principal, action, workload.arn)
    if found is not None or workload.region_known:
        return found
    parts = workload.arn.split(":")
    regions = {g.resource.split(":")[3] for g in principal.grants
               if action in g.actions and g.resource.count(":") >= 4}
    candidates = [allowing(principal, action, ":".join(parts[:3] + [r] + parts[4:])) for r in sorted(regions)]
    return next((g for g in candidates if g is not None), None)


def _covering_all(principal: Principal, action: str, kind: str) -> Grant | None:
    """A grant for action on every workload of the kind in the principal's account: `*`, or a pattern that
    matches the ARN template with every variable part a wildcard (and so any workload's ARN)."""
    template = KINDS[kind].arn_template
    literal = template.format(region="*", account=principal.account, name="*")
    probe = template.format(region="zz-probe-9", account=principal.account, name="crosspath-probe-Zq7")
    return allowing(principal, action, literal, lambda g: g.resource == "*" or matches(g.resource, probe))


def _role_fits(kind: str, role: Principal) -> bool:
    if kind in ("instance", "launch-template"):
        return bool(role.raw.get("InstanceProfileList"))  # EC2 runs a role only through an instance profile
    return True


def existing_workload(technique_id: str, title: str, kind: str, ways: tuple[tuple[str, ...], ...],
                      requires: tuple[str, ...], description: str, remediation: str, *,
                      pathfinding: tuple[str, ...], pmapper: str = "", mitre: str = "T1078.004",
                      any_resource: frozenset[str] = frozenset(), check: Check | None = None) -> None:
    """Register a technique over the workloads of one kind: every action of one way (lower-case) on the
    workload, plus `check` on the workload's facts."""
    spec = KINDS[kind]

    def grants_for(principal: Principal, way: tuple[str, ...], workload: Workload | None) -> list | None:
        grants = []
        for action in way:
            if action in any_resource:
                grant = allowing_any(principal, action)
            elif workload is None:
                grant = _covering_all(principal, action, kind)
            else:
                grant = _on_workload(principal, action, workload)
            if grant is None:
                return None
            grants.append((action, grant))
        return grants

    def find(principal: Principal, ctx: Context) -> Iterator[Hit]:
        usable = [w for w in ways if all(can_at_all(principal, a) for a in w)]
        if not usable:
            return
        reached: set[str] = set()  # (the principal itself may be among them: the escalation run skips it)
        for workload in ctx.workloads(principal.account, kind):
            if workload.role is None or workload.role.arn in reached:
                continue
            for way in usable:
                grants = grants_for(principal, way, workload)
                if grants is None:
                    continue
                applies, assumed = check(workload, way) if check else (True, "")
                if applies:
                    reached.add(workload.role.arn)
                    yield Hit(workload.role, grants, assumed, via=f"through {workload.label} ({workload.arn})")
                    break
        if ctx.collected(principal.account, kind):
            return
        # The grants covering every workload do not depend on the role: found once, before the roles.
        grants = next((found for way in usable if (found := grants_for(principal, way, None)) is not None), None)
        if grants is None:
            return
        reason = (f"No {spec.label} inventory for account {principal.account}: assumed a {spec.label} runs as "
                  f"each role trusting {' / '.join(spec.trusts)}")
        for role in ctx.roles_trusting(principal.account, spec.trusts):
            if role is not principal and role.arn not in reached and _role_fits(kind, role):
                yield Hit(role, grants, reason)

    technique(technique_id, title, EdgeKind.CAN_RUN_AS, requires, description, remediation, pathfinding=pathfinding,
              pmapper=pmapper, mitre=mitre, target=kind, services=spec.trusts)(find)


def _known(workload: Workload, fact: str, unknown: str) -> tuple[bool, str]:
    """A check on a yes / no fact of the workload; a fact not collected counts as yes, assumed with `unknown`."""
    value = workload.facts.get(fact)
    return (True, unknown) if value is None else (bool(value), "")


# -- Lambda --------------------------------------------------------------------------------------

def _lambda_triggered(workload: Workload, way: tuple[str, ...]) -> tuple[bool, str]:
    """UpdateFunctionCode alone runs the new code only when something else invokes the function (an event
    source mapping, or a resource policy letting a service or another principal call it)."""
    if len(way) > 1:
        return True, ""  # the attacker invokes it, or grants itself the right to
    return _known(workload, "triggered", f"Triggers of {workload.label} not collected (lambda-event-source-"
                  "mappings.json and resource-policies.json): assumed it runs on its own events")


existing_workload(
    "aws.lambda.update-function-code", "Replace the code of a Lambda function", "function",
    (("lambda:updatefunctioncode",), ("lambda:updatefunctioncode", "lambda:invokefunction"),
     ("lambda:updatefunctioncode", "lambda:addpermission")),
    ("lambda:UpdateFunctionCode", "a trigger on the function, or lambda:InvokeFunction | lambda:AddPermission"),
    "replace the code of an existing Lambda function and run as its execution role when it is next invoked "
    "(by its own triggers, or by the attacker: InvokeFunction, or AddPermission granting itself the right)",
    "Allow lambda:UpdateFunctionCode only to the function's deployment pipeline, on named functions; "
    "sign code (Lambda code signing) for functions with privileged roles.",
    pathfinding=("lambda-003", "lambda-004", "lambda-005"), pmapper="lambda_edges", mitre="T1648",
    check=_lambda_triggered)

# -- EC2 -----------------------------------------------------------------------------------------

_EC2_FIX = ("Keep privileged instance profiles off instances whose attributes, keys or launch templates "
            "operators can change; scope EC2 write actions with ec2:ResourceTag conditions.")
existing_workload(
    "aws.ec2.modify-instance-user-data", "Replace an instance's user data and restart it", "instance",
    (("ec2:modifyinstanceattribute", "ec2:stopinstances", "ec2:startinstances"),),
    ("ec2:ModifyInstanceAttribute", "ec2:StopInstances", "ec2:StartInstances"),
    "stop an instance with an instance profile, replace its user data with a script, start it: the script "
    "runs as the instance's role", _EC2_FIX, pathfinding=("ec2-002",), pmapper="ec2_edges")


def _used_by_group(workload: Workload, way: tuple[str, ...]) -> tuple[bool, str]:
    return _known(workload, "in_autoscaling_group", f"No Auto Scaling group inventory: assumed {workload.label} "
                  "is used by an Auto Scaling group that launches instances from its default version")


existing_workload(
    "aws.ec2.launch-template-version", "Make a new default version of a launch template an Auto Scaling group "
    "uses", "launch-template", (("ec2:createlaunchtemplateversion", "ec2:modifylaunchtemplate"),),
    ("ec2:CreateLaunchTemplateVersion", "ec2:ModifyLaunchTemplate"),
    "add a version with attacker user data to a launch template holding an instance profile and make it the "
    "default: the next instance its Auto Scaling group launches runs the code as the role", _EC2_FIX,
    pathfinding=("ec2-004",), pmapper="ec2_edges", check=_used_by_group)
existing_workload(
    "aws.ec2-instance-connect.send-ssh-public-key", "Push an SSH key to an instance with EC2 Instance Connect",
    "instance", (("ec2-instance-connect:sendsshpublickey", "ec2:describeinstances"),),
    ("ec2-instance-connect:SendSSHPublicKey", "ec2:DescribeInstances"),
    "push a one-time SSH key to an instance with an instance profile, log in and use its role's credentials",
    "Scope ec2-instance-connect:SendSSHPublicKey to tagged instances and OS users; keep privileged instance "
    "profiles off instances operators can reach.", pathfinding=("ec2instanceconnect-003",), mitre="T1021.004")

# -- SSM -----------------------------------------------------------------------------------------

_SSM_FIX = ("Scope SSM access to tagged instances (ssm:resourceTag condition) and keep privileged instance "
            "profiles off instances that operators can reach; log sessions and commands.")
existing_workload("aws.ssm.send-command", "Run commands on an instance through SSM", "instance",
                  (("ssm:sendcommand",),), ("ssm:SendCommand",),
                  "run commands on an instance and use its role's credentials", _SSM_FIX, pathfinding=("ssm-002",),
                  pmapper="ssm_edges", mitre="T1651")
existing_workload("aws.ssm.start-session", "Open an SSM session on an instance", "instance", (("ssm:startsession",),),
                  ("ssm:StartSession",), "open a shell on an instance and use its role's credentials", _SSM_FIX,
                  pathfinding=("ssm-001",), pmapper="ssm_edges", mitre="T1651")

# -- App Runner, CloudFormation, CodeBuild, Glue, SageMaker, Bedrock AgentCore ---------------------

existing_workload(
    "aws.apprunner.update-service", "Change the image or code of an App Runner service", "apprunner-service",
    (("apprunner:updateservice",),), ("apprunner:UpdateService",),
    "point an App Runner service with an instance role at attacker code; its instances run as the role",
    "Allow apprunner:UpdateService only to the service's pipeline, on named services; give services roles "
    "no broader than the application needs.", pathfinding=("apprunner-002",))
_CFN_FIX = ("Allow stack updates and change sets only to the stack's pipeline, on named stacks; give stack "
            "service roles only what the template deploys.")
existing_workload(
    "aws.cloudformation.update-stack", "Update a CloudFormation stack that has a service role", "stack",
    (("cloudformation:updatestack",),), ("cloudformation:UpdateStack",),
    "update a stack with a service role to a template creating anything (an IAM user with admin): the role "
    "provisions it", _CFN_FIX, pathfinding=("cloudformation-002",), pmapper="cloudformation_edges")
existing_workload(
    "aws.cloudformation.execute-change-set", "Create and execute a change set on a stack that has a service role",
    "stack", (("cloudformation:createchangeset", "cloudformation:executechangeset"),),
    ("cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet"),
    "create a change set with an attacker template on a stack with a service role and execute it: the role "
    "provisions it", _CFN_FIX, pathfinding=("cloudformation-005",), pmapper="cloudformation_edges")
existing_workload(
    "aws.codebuild.start-build", "Start a build of a CodeBuild project with a buildspec override", "project",
    (("codebuild:startbuild",), ("codebuild:startbuildbatch",)),
    ("codebuild:StartBuild | codebuild:StartBuildBatch",),
    "start a build (or build batch) of an existing project with an attacker buildspec; it runs as the "
    "project's service role",
    "Allow codebuild:StartBuild / StartBuildBatch only on named projects to their pipelines; deny buildspec "
    "overrides (codebuild:buildspecOverride is not a condition key: use a source-controlled buildspec and "
    "least-privilege service roles).", pathfinding=("codebuild-002", "codebuild-003"), pmapper="codebuild_edges")
existing_workload(
    "aws.glue.update-dev-endpoint", "Add an SSH key to a Glue dev endpoint", "dev-endpoint",
    (("glue:updatedevendpoint",),), ("glue:UpdateDevEndpoint",),
    "add an SSH public key to a dev endpoint, log in and use its role's credentials",
    "Retire Glue dev endpoints (interactive sessions replace them); allow glue:UpdateDevEndpoint to no one "
    "who should not hold the endpoint's role.", pathfinding=("glue-002",))
existing_workload(
    "aws.sagemaker.presigned-notebook-url", "Open a SageMaker notebook instance through a presigned URL",
    "notebook-instance", (("sagemaker:createpresignednotebookinstanceurl",),),
    ("sagemaker:CreatePresignedNotebookInstanceUrl",),
    "open the notebook's Jupyter UI and run code as its execution role",
    "Allow sagemaker:CreatePresignedNotebookInstanceUrl only on each user's own notebook (tag conditions).",
    pathfinding=("sagemaker-004",), pmapper="sagemaker_edges")
existing_workload(
    "aws.sagemaker.notebook-lifecycle-config", "Attach a lifecycle configuration to a SageMaker notebook and "
    "restart it", "notebook-instance",
    (("sagemaker:createnotebookinstancelifecycleconfig", "sagemaker:stopnotebookinstance",
      "sagemaker:updatenotebookinstance", "sagemaker:startnotebookinstance"),),
    ("sagemaker:CreateNotebookInstanceLifecycleConfig", "sagemaker:StopNotebookInstance",
     "sagemaker:UpdateNotebookInstance", "sagemaker:StartNotebookInstance"),
    "create a lifecycle configuration with a script, attach it to a stopped notebook and start it: the "
    "script runs as the notebook's execution role",
    "Allow notebook updates and lifecycle configurations only to the platform team; keep notebook roles "
    "least-privilege.", pathfinding=("sagemaker-005",), pmapper="sagemaker_edges",
    any_resource=frozenset({"sagemaker:createnotebookinstancelifecycleconfig"}))
existing_workload(
    "aws.bedrock-agentcore.invoke-code-interpreter", "Run code in an existing Bedrock AgentCore code interpreter",
    "code-interpreter",
    (("bedrock-agentcore:startcodeinterpretersession", "bedrock-agentcore:invokecodeinterpreter"),),
    ("bedrock-agentcore:StartCodeInterpreterSession", "bedrock-agentcore:InvokeCodeInterpreter"),
    "start a session on a code interpreter with an execution role and run code that uses the role's "
    "credentials", "Allow code interpreter sessions only on interpreters whose execution role the caller may "
    "hold; give interpreters least-privilege roles.", pathfinding=("bedrock-002",))
