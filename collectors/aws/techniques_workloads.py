"""Existing-workload techniques: taking over compute that already runs as a role (pathfinding.cloud
existing-passrole paths)."""

from __future__ import annotations

from collections.abc import Iterator

from collectors.aws.technique_rules import Context, Hit, allowing, can_at_all, technique
from collectors.aws.transform import Principal
from graph.schema import EdgeKind


@technique("aws.lambda.update-function-code", "Replace the code of a Lambda function", EdgeKind.CAN_RUN_AS,
           ("lambda:UpdateFunctionCode",),
           "replace the code of an existing Lambda function and run as its execution role",
           "Allow lambda:UpdateFunctionCode only to the function's deployment pipeline, on named functions; "
           "sign code (Lambda code signing) for functions with privileged roles.",
           pathfinding=("lambda-003", "lambda-004", "lambda-005"), pmapper="lambda_edges", mitre="T1648",
           target="function")
def _update_function_code(principal: Principal, ctx: Context) -> Iterator[Hit]:
    if not can_at_all(principal, "lambda:updatefunctioncode"):
        return
    for function in ctx.functions.get(principal.account, []):
        grant = allowing(principal, "lambda:updatefunctioncode", function.arn)
        if grant and function.role is not principal:
            yield Hit(function.role, [("lambda:updatefunctioncode", grant)])


def _ssm(action: str):
    def find(principal: Principal, ctx: Context) -> Iterator[Hit]:
        if not can_at_all(principal, action):
            return
        seen: set[str] = set()
        for instance in ctx.instances.get(principal.account, []):
            grant = allowing(principal, action, instance.arn)
            if grant and instance.role.arn not in seen and instance.role is not principal:
                seen.add(instance.role.arn)
                yield Hit(instance.role, [(action, grant)])
    return find


_SSM_FIX = ("Scope SSM access to tagged instances (ssm:resourceTag condition) and keep privileged instance "
            "profiles off instances that operators can reach; log sessions and commands.")
technique("aws.ssm.send-command", "Run commands on an instance through SSM", EdgeKind.CAN_RUN_AS,
          ("ssm:SendCommand",), "run commands on an instance and use its role's credentials", _SSM_FIX,
          pathfinding=("ssm-002",), pmapper="ssm_edges", mitre="T1651", target="instance")(_ssm("ssm:sendcommand"))
technique("aws.ssm.start-session", "Open an SSM session on an instance", EdgeKind.CAN_RUN_AS, ("ssm:StartSession",),
          "open a shell on an instance and use its role's credentials", _SSM_FIX, pathfinding=("ssm-001",),
          pmapper="ssm_edges", mitre="T1651", target="instance")(_ssm("ssm:startsession"))
