"""New-PassRole techniques: iam:PassRole on a role a service trusts, plus the actions that make the
service run new compute as that role (pathfinding.cloud new-passrole paths)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

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


def _pass_role(technique_id: str, title: str, services: tuple[str, ...], ways: tuple[tuple[str, ...], ...],
               requires: tuple[str, ...], description: str, *, pathfinding: tuple[str, ...] = (), pmapper: str = "",
               mitre: str = "T1078.004",
               needs: Callable[[Principal, Principal], list[tuple[str, Grant]] | None] | None = None) -> None:
    """iam:PassRole on a role the service trusts, plus every action of one way to make the service run it."""
    def find(principal: Principal, ctx: Context) -> Iterator[Hit]:
        if not can_at_all(principal, "iam:passrole"):
            return
        way = next((w for w in ways if all(can_at_all(principal, a) for a in w)), None)
        if way is None:
            return
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
            yield Hit(role, [("iam:passrole", passing), *compute, *extra])  # type: ignore[list-item]
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
            ("cloudformation:updatestackset",)),
           (("cloudformation:CreateStack | cloudformation:CreateStackSet + cloudformation:CreateStackInstances | "
            "cloudformation:UpdateStackSet"),),
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
_pass_role("aws.ecs.pass-role-run-task", "Register an ECS task definition with a role and run it",
           ("ecs-tasks.amazonaws.com",),
           (("ecs:registertaskdefinition", "ecs:runtask"), ("ecs:registertaskdefinition", "ecs:starttask"),
            ("ecs:registertaskdefinition", "ecs:createservice")),
           ("ecs:RegisterTaskDefinition", "ecs:RunTask | ecs:StartTask | ecs:CreateService"),
           "register a task definition with the role and run it",
           pathfinding=("ecs-001", "ecs-002", "ecs-003", "ecs-004", "ecs-005"))
_pass_role("aws.glue.pass-role-create-job", "Create a Glue dev endpoint or job running as a role",
           ("glue.amazonaws.com",),
           (("glue:createdevendpoint",), ("glue:createjob", "glue:startjobrun"), ("glue:createjob", "glue:createtrigger"),
            ("glue:updatejob", "glue:startjobrun"), ("glue:updatejob", "glue:createtrigger")),
           ("glue:CreateDevEndpoint | glue:CreateJob or glue:UpdateJob + glue:StartJobRun or glue:CreateTrigger",),
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
_pass_role("aws.bedrock.pass-role-code-interpreter", "Create a Bedrock AgentCore code interpreter running as a role",
           ("bedrock-agentcore.amazonaws.com",),
           (("bedrock-agentcore:createcodeinterpreter", "bedrock-agentcore:startcodeinterpretersession",
             "bedrock-agentcore:invokecodeinterpreter"),),
           ("bedrock-agentcore:CreateCodeInterpreter", "bedrock-agentcore:StartCodeInterpreterSession",
            "bedrock-agentcore:InvokeCodeInterpreter"),
           "create a code interpreter with the role as its execution role, start a session and run code that "
           "reads the role's credentials from the MicroVM metadata service", pathfinding=("bedrock-001",))
