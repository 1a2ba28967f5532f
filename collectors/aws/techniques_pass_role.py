"""New-PassRole techniques: iam:PassRole on a role a service trusts, plus the actions that make the
service run new compute as that role (pathfinding.cloud new-passrole paths)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from collectors.aws.access_levels import canonical
from collectors.aws.policy_documents import Grant
from collectors.aws.technique_rules import (
    Context,
    Hit,
    allowing,
    allowing_any,
    can_at_all,
    passes_to,
    technique,
    trusted_services,
)
from collectors.aws.transform import Principal
from graph.schema import EdgeKind

_PASS_ROLE_FIX = ("Scope iam:PassRole to the exact roles a deployer needs (never `*`), with an iam:PassedToService "
                  "condition; keep privileged roles out of reach of anyone who can launch compute.")


# One way to make a service run new compute: its actions, and the workload it needs to exist already
# (a workload inventory kind and how to name it), if any.
Way = tuple[tuple[str, ...], tuple[str, str] | None]


def _exists(ctx: Context, account: str, kind: str) -> bool | None:
    """Does the account hold a workload of this inventory kind (collectors.aws.workloads): True or False
    when that kind was collected for the account, None when it was not."""
    if not ctx.collected(account, kind):
        return None
    return bool(ctx.workloads(account, kind))


def _choose(principal: Principal, ctx: Context, ways: tuple[Way, ...]) -> tuple[tuple[str, ...], str] | None:
    """The first way whose actions the principal holds and whose existing workload is known to exist (or
    needs none); failing that, the first one whose workload was not collected, with the assumption."""
    assumed: tuple[tuple[str, ...], str] | None = None
    for actions, existing in ways:
        if not all(can_at_all(principal, a) for a in actions):
            continue
        if existing is None:
            return actions, ""
        kind, label = existing
        found = _exists(ctx, principal.account, kind)
        if found:
            return actions, ""
        if found is None and assumed is None:
            assumed = actions, (f"No {kind} inventory for account {principal.account}: assumed {label} exists "
                                f"({' + '.join(canonical(a) for a in actions)} work on an existing one).")
    return assumed


def _pass_role(technique_id: str, title: str, services: tuple[str, ...], ways: tuple[tuple[str, ...] | Way, ...],
               requires: tuple[str, ...], description: str, *, pathfinding: tuple[str, ...] = (), pmapper: str = "",
               mitre: str = "T1078.004",
               needs: Callable[[Principal, Principal], list[tuple[str, Grant]] | None] | None = None) -> None:
    """iam:PassRole on a role the service trusts, plus every action of one way to make the service run it.
    A way is its actions, or (actions, (inventory kind, label)) when it works only on an existing workload."""
    choices: tuple[Way, ...] = tuple(w if len(w) == 2 and isinstance(w[0], tuple) else (w, None)  # type: ignore[misc]
                                     for w in ways)

    def find(principal: Principal, ctx: Context) -> Iterator[Hit]:
        if not can_at_all(principal, "iam:passrole"):
            return
        chosen = _choose(principal, ctx, choices)
        if chosen is None:
            return
        way, assumed = chosen
        compute = [(a, allowing_any(principal, a)) for a in way]
        for role in ctx.identities(principal, "role"):
            if not trusted_services(role) & set(services):
                continue
            passing = allowing(principal, "iam:passrole", role.arn,
                               lambda g: passes_to(g, services))
            if passing is None:
                continue
            extra = needs(principal, role) if needs else []
            if extra is None:
                continue
            yield Hit(role, [("iam:passrole", passing), *compute, *extra], assumed)  # type: ignore[list-item]
    technique(technique_id, title, EdgeKind.CAN_RUN_AS, ("iam:PassRole", *requires), description, _PASS_ROLE_FIX,
              pathfinding=pathfinding, pmapper=pmapper, mitre=mitre, services=services)(find)



def _instance_profile(principal: Principal, role: Principal) -> list[tuple[str, Grant]] | None:
    """EC2 needs the role in an instance profile, or the power to put it in one."""
    if role.raw.get("InstanceProfileList"):
        return []
    create = allowing_any(principal, "iam:createinstanceprofile")
    add = allowing_any(principal, "iam:addroletoinstanceprofile")
    if create and add:
        return [("iam:createinstanceprofile", create), ("iam:addroletoinstanceprofile", add)]
    return None


_PROFILE = "an instance profile holding the role, or iam:CreateInstanceProfile + iam:AddRoleToInstanceProfile"
_pass_role("aws.ec2.pass-role-run-instances", "Launch an EC2 instance with a role", ("ec2.amazonaws.com",),
           (("ec2:runinstances",), ("ec2:requestspotinstances",)),
           ("ec2:RunInstances | ec2:RequestSpotInstances", _PROFILE),
           "launch an instance with the role's instance profile", pathfinding=("ec2-001", "ec2-003"),
           pmapper="ec2_edges", needs=_instance_profile)
_pass_role("aws.autoscaling.pass-role-launch-configuration", "Create an Auto Scaling group whose instances carry a "
           "role", ("ec2.amazonaws.com",), (("autoscaling:createlaunchconfiguration", "autoscaling:createautoscalinggroup"),),
           ("autoscaling:CreateLaunchConfiguration", "autoscaling:CreateAutoScalingGroup", _PROFILE),
           "create a launch configuration and group whose instances carry the role", pmapper="autoscaling_edges",
           needs=_instance_profile)
_pass_role("aws.lambda.pass-role-create-function", "Create a Lambda function running as a role",
           ("lambda.amazonaws.com",),
           (("lambda:createfunction", "lambda:invokefunction"), ("lambda:createfunction", "lambda:createeventsourcemapping"),
            ("lambda:createfunction", "lambda:addpermission")),
           ("lambda:CreateFunction", "lambda:InvokeFunction | lambda:CreateEventSourceMapping | lambda:AddPermission"),
           "create a function running as the role, then invoke or trigger it",
           pathfinding=("lambda-001", "lambda-002", "lambda-006"), pmapper="lambda_edges", mitre="T1648")
_pass_role("aws.cloudformation.pass-role-create-stack", "Create a CloudFormation stack with a service role",
           ("cloudformation.amazonaws.com",),
           (("cloudformation:createstack",), ("cloudformation:createstackset", "cloudformation:createstackinstances"),
            (("cloudformation:updatestackset",), ("stack-set", "a stack set with stack instances"))),
           (("cloudformation:CreateStack | cloudformation:CreateStackSet + cloudformation:CreateStackInstances | "
            "cloudformation:UpdateStackSet (an existing stack set)"),),
           "create a stack (or stack set) whose service role provisions anything",
           pathfinding=("cloudformation-001", "cloudformation-003", "cloudformation-004"),
           pmapper="cloudformation_edges")
_pass_role("aws.codebuild.pass-role-create-project", "Create a CodeBuild project running as a role",
           ("codebuild.amazonaws.com",),
           (("codebuild:createproject", "codebuild:startbuild"), ("codebuild:createproject", "codebuild:startbuildbatch")),
           ("codebuild:CreateProject", "codebuild:StartBuild | codebuild:StartBuildBatch"),
           "create a build project running as the role and start it", pathfinding=("codebuild-001", "codebuild-004"),
           pmapper="codebuild_edges")
_pass_role("aws.sagemaker.pass-role-create-job", "Create a SageMaker notebook or job running as a role",
           ("sagemaker.amazonaws.com",),
           (("sagemaker:createnotebookinstance",), ("sagemaker:createtrainingjob",), ("sagemaker:createprocessingjob",)),
           ("sagemaker:CreateNotebookInstance | sagemaker:CreateTrainingJob | sagemaker:CreateProcessingJob",),
           "create a notebook, training or processing job running as the role",
           pathfinding=("sagemaker-001", "sagemaker-002", "sagemaker-003"), pmapper="sagemaker_edges")
_CLUSTER = ("ecs-cluster", "an ECS cluster")
_pass_role("aws.ecs.pass-role-run-task", "Register an ECS task definition with a role and run it",
           ("ecs-tasks.amazonaws.com",),
           (("ecs:createcluster", "ecs:registertaskdefinition", "ecs:runtask"),
            ("ecs:createcluster", "ecs:registertaskdefinition", "ecs:createservice"),
            (("ecs:registertaskdefinition", "ecs:runtask"), _CLUSTER),
            (("ecs:registertaskdefinition", "ecs:createservice"), _CLUSTER),
            (("ecs:registertaskdefinition", "ecs:starttask"), ("ecs-cluster", "an ECS cluster with container instances"))),
           ("ecs:RegisterTaskDefinition", "ecs:RunTask | ecs:CreateService | ecs:StartTask",
            "ecs:CreateCluster (when no cluster exists; ecs:StartTask needs an existing cluster's container instances)"),
           "register a task definition with the role and run it",
           pathfinding=("ecs-001", "ecs-002", "ecs-003", "ecs-004", "ecs-005"))
_GLUE_JOB = ("glue-job", "a Glue job")
_pass_role("aws.glue.pass-role-create-job", "Create a Glue dev endpoint or job running as a role",
           ("glue.amazonaws.com",),
           (("glue:createdevendpoint",), ("glue:createjob", "glue:startjobrun"), ("glue:createjob", "glue:createtrigger"),
            (("glue:updatejob", "glue:startjobrun"), _GLUE_JOB), (("glue:updatejob", "glue:createtrigger"), _GLUE_JOB)),
           (("glue:CreateDevEndpoint | glue:CreateJob or glue:UpdateJob (an existing job) + glue:StartJobRun or "
             "glue:CreateTrigger"),),
           "create a Glue dev endpoint, or a job it then runs, as the role",
           pathfinding=("glue-001", "glue-003", "glue-004", "glue-005", "glue-006"))
_pass_role("aws.datapipeline.pass-role-create-pipeline", "Create a Data Pipeline whose resources run as a role",
           ("datapipeline.amazonaws.com", "elasticmapreduce.amazonaws.com"),
           (("datapipeline:createpipeline", "datapipeline:putpipelinedefinition", "datapipeline:activatepipeline"),),
           ("datapipeline:CreatePipeline", "datapipeline:PutPipelineDefinition", "datapipeline:ActivatePipeline"),
           "create a pipeline whose resources run as the role and activate it", pathfinding=("datapipeline-001",))
_pass_role("aws.apprunner.pass-role-create-service", "Create an App Runner service running as a role",
           ("tasks.apprunner.amazonaws.com",), (("apprunner:createservice",),), ("apprunner:CreateService",),
           "create an App Runner service whose instances run as the role", pathfinding=("apprunner-001",))
_pass_role("aws.bedrock-agentcore.pass-role-code-interpreter", "Create a Bedrock AgentCore code interpreter running as a role",
           ("bedrock-agentcore.amazonaws.com",),
           (("bedrock-agentcore:createcodeinterpreter", "bedrock-agentcore:startcodeinterpretersession",
             "bedrock-agentcore:invokecodeinterpreter"),),
           ("bedrock-agentcore:CreateCodeInterpreter", "bedrock-agentcore:StartCodeInterpreterSession",
            "bedrock-agentcore:InvokeCodeInterpreter"),
           "create a code interpreter with the role as its execution role, start a session and run code that "
           "reads the role's credentials from the MicroVM metadata service", pathfinding=("bedrock-001",))
