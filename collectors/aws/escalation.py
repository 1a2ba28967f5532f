"""Privilege-escalation techniques: one registered unit per technique, each drawing transfer edges
(CAN_GRANT, CAN_CREATE_CREDENTIAL, CAN_RUN_AS) from a principal to the identity it can become or
empower.

Every technique reads the principal's evaluated grants (identity policies after Denies,
permissions boundaries and SCPs), so a boundary or SCP that removes one required action removes
the edge. An edge's `via` names each policy and statement that allowed a required action.
Coverage against PMapper is listed in docs/collectors/aws.md ("Escalation techniques").

Role assumption (CAN_ASSUME: trust policy and identity policy both required, cross-account
included) is drawn and registered by collectors.aws.trust.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from collectors.aws.access_levels import canonical
from collectors.aws.policy_documents import Grant, bound_properties, condition_items, matches
from collectors.aws.transform import AccountData, Principal
from graph.records import Record, edge, node
from graph.schema import EdgeKind, Family
from graph.techniques import CATALOGUE, References, Technique, register


@dataclass
class Instance:
    """An EC2 instance running with a role (SSM targets)."""

    arn: str
    role: Principal


@dataclass
class Function:
    """A Lambda function and its execution role."""

    arn: str
    role: Principal


@dataclass
class Context:
    """What techniques may look at besides the principal: its account's identities and workloads."""

    accounts: dict[str, AccountData]
    instances: dict[str, list[Instance]] = field(default_factory=dict)  # account -> instances
    functions: dict[str, list[Function]] = field(default_factory=dict)  # account -> functions
    # user ARN -> {"keys": number of access keys, "password": console password?} (credential report)
    user_facts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def identities(self, principal: Principal, *types: str) -> Iterator[Principal]:
        data = self.accounts[principal.account]
        for kind in types:
            for target in {"user": data.users, "group": data.groups, "role": data.roles}[kind].values():
                if target is not principal:
                    yield target


@dataclass
class Hit:
    """One way a principal reaches a target: the grants (one per required action) that allow it."""

    target: Principal
    grants: list[tuple[str, Grant]]  # (action, grant)
    # Why the hit stands on an assumption (inventory that would prove it was not collected); "" when proven.
    assumed: str = ""

    @property
    def bounds(self) -> tuple[str, ...]:
        """The time bounds of every grant the hit needs (all must hold)."""
        return tuple(sorted({bound for _, grant in self.grants for bound in grant.bounds}))


@dataclass(frozen=True)
class Rule:
    """How an AWS technique finds its targets: the catalogue entry's `derive`."""

    find: Callable[[Principal, Context], Iterable[Hit]]
    # What it can reach: "user", "group", "role" (any role, or one trusting `services`), "policy holder",
    # "function" (a Lambda function's role), "instance" (an EC2 instance's role).
    target: str = "role"
    services: tuple[str, ...] = ()


def technique(technique_id: str, title: str, kind: EdgeKind, requires: tuple[str, ...], description: str,
              remediation: str, *, pathfinding: tuple[str, ...] = (), pmapper: str = "", mitre: str = "",
              target: str = "role", services: tuple[str, ...] = (), changes_permissions: bool = False):
    """Register one AWS technique in the catalogue, its finder beside its metadata."""
    def wrap(find: Callable[[Principal, Context], Iterable[Hit]]):
        register(Technique(technique_id, title, "aws", kind, requires, description, remediation,
                           References(pathfinding=pathfinding, pmapper=pmapper, mitre=mitre),
                           changes_permissions, derive=Rule(find, target, services)))
        return find
    return wrap


def techniques() -> list[Technique]:
    """The AWS techniques this module draws (role assumption is drawn by collectors.aws.trust)."""
    return [t for t in CATALOGUE.of("aws") if t.derive is not None]


def allowing(principal: Principal, action: str, resource: str,
             accept: Callable[[Grant], bool] | None = None) -> Grant | None:
    """The grant letting principal do action on resource; a grant without an MFA condition wins, then one
    without time bounds (which may have lapsed by the collection time)."""
    found = [g for g in principal.grants if action in g.actions and (g.resource == "*" or matches(g.resource, resource))
             and (accept is None or accept(g))]
    return min(found, key=lambda g: (g.mfa_required, bool(g.bounds), g.via)) if found else None


def passes_to(grant: Grant, services: tuple[str, ...]) -> bool:
    """Does an `iam:PassedToService` condition on a PassRole grant let the role go to one of services?"""
    for operator, key, values in condition_items(grant.condition):
        op = operator.lower().split(":")[-1]
        if key.lower() != "iam:passedtoservice" or not op.startswith("string"):
            continue
        hit = any(matches(v, s, case_sensitive=False) for v in values for s in services)
        if hit == ("not" in op):
            return False
    return True


def _can_at_all(principal: Principal, action: str) -> bool:
    return any(action in g.actions for g in principal.grants)


def _simple(types: tuple[str, ...], *actions: str) -> Callable[[Principal, Context], Iterator[Hit]]:
    """Every one of actions on the target identity's ARN."""
    def find(principal: Principal, ctx: Context) -> Iterator[Hit]:
        if not all(_can_at_all(principal, a) for a in actions):
            return
        for target in ctx.identities(principal, *types):
            grants = [(a, allowing(principal, a, target.arn)) for a in actions]
            if all(g for _, g in grants):
                yield Hit(target, grants)  # type: ignore[arg-type]
    return find


_POLICY_WRITE_FIX = ("Allow IAM policy writes only to administrators, scope them to named resources (never `*`), "
                     "and cap delegated administrators with a permissions boundary that denies policy writes "
                     "outside their own path.")


def _simple_technique(technique_id: str, title: str, kind: EdgeKind, types: tuple[str, ...], action: str,
                      description: str, remediation: str, *, pathfinding: tuple[str, ...], pmapper: str = "",
                      mitre: str = "T1098.003", changes_permissions: bool = True) -> None:
    """One IAM action on the target identity's ARN is the whole technique (by default a policy write)."""
    technique(technique_id, title, kind, (action,), description, remediation, pathfinding=pathfinding,
              pmapper=pmapper, mitre=mitre, target=types[0],
              changes_permissions=changes_permissions)(_simple(types, action.lower()))


@technique("aws.iam.create-access-key", "Create an access key for another user", EdgeKind.CAN_CREATE_CREDENTIAL,
           ("iam:CreateAccessKey", "iam:DeleteAccessKey (when the user already has two keys)"),
           "mint an access key for another user (a user with two keys needs one deleted first)",
           "Restrict iam:CreateAccessKey to the caller's own user (arn:aws:iam::*:user/${aws:username}); "
           "alert on CreateAccessKey for another user.",
           pathfinding=("iam-002", "iam-003"), pmapper="iam_edges", mitre="T1098.001", target="user")
def _create_access_key(principal: Principal, ctx: Context) -> Iterator[Hit]:
    for hit in _simple(("user",), "iam:createaccesskey")(principal, ctx):
        keys = ctx.user_facts.get(hit.target.arn, {}).get("keys")
        if keys is not None and keys >= 2:
            delete = allowing(principal, "iam:deleteaccesskey", hit.target.arn)
            if delete is None:
                continue
            hit.grants.append(("iam:deleteaccesskey", delete))
        elif keys is None and allowing(principal, "iam:deleteaccesskey", hit.target.arn) is None:
            hit.assumed = (f"No credential report row for {hit.target.name}: assumed to have fewer than two "
                           "access keys (with two, iam:DeleteAccessKey is needed first).")
        yield hit


def _login_profile(action: str, has_password: bool) -> Callable[[Principal, Context], Iterator[Hit]]:
    """CreateLoginProfile only works on a user without a password, UpdateLoginProfile only with one
    (unknown without a credential report: then both are drawn)."""
    def find(principal: Principal, ctx: Context) -> Iterator[Hit]:
        for hit in _simple(("user",), action)(principal, ctx):
            password = ctx.user_facts.get(hit.target.arn, {}).get("password")
            if password is None:
                hit.assumed = (f"No credential report row for {hit.target.name}: assumed to "
                               f"{'have a' if has_password else 'have no'} console password.")
            if password in (None, has_password):
                yield hit
    return find


_LOGIN_FIX = ("Restrict console-password management to the caller's own user and to identity administrators; "
              "require MFA for console sign-in so a set password alone is not enough.")
technique("aws.iam.create-login-profile", "Set a console password for a user who has none",
          EdgeKind.CAN_CREATE_CREDENTIAL, ("iam:CreateLoginProfile",),
          "set a console password for a user who has none", _LOGIN_FIX, pathfinding=("iam-004",),
          pmapper="iam_edges", mitre="T1098.001", target="user")(_login_profile("iam:createloginprofile", False))
technique("aws.iam.update-login-profile", "Reset another user's console password", EdgeKind.CAN_CREATE_CREDENTIAL,
          ("iam:UpdateLoginProfile",), "reset another user's console password", _LOGIN_FIX,
          pathfinding=("iam-006",), pmapper="iam_edges", mitre="T1098.001",
          target="user")(_login_profile("iam:updateloginprofile", True))
_simple_technique("aws.iam.put-user-policy", "Write an inline policy on another user", EdgeKind.CAN_GRANT, ("user",),
                  "iam:PutUserPolicy", "write an inline policy on another user", _POLICY_WRITE_FIX,
                  pathfinding=("iam-007",), pmapper="iam_edges")
_simple_technique("aws.iam.attach-user-policy", "Attach a managed policy to another user", EdgeKind.CAN_GRANT,
                  ("user",), "iam:AttachUserPolicy",
                  "attach a managed policy (e.g. AdministratorAccess) to another user", _POLICY_WRITE_FIX,
                  pathfinding=("iam-008",), pmapper="iam_edges")
_simple_technique("aws.iam.put-role-policy", "Write an inline policy on a role", EdgeKind.CAN_GRANT, ("role",),
                  "iam:PutRolePolicy", "write an inline policy on a role", _POLICY_WRITE_FIX,
                  pathfinding=("iam-005",), pmapper="iam_edges")
_simple_technique("aws.iam.attach-role-policy", "Attach a managed policy to a role", EdgeKind.CAN_GRANT, ("role",),
                  "iam:AttachRolePolicy", "attach a managed policy to a role", _POLICY_WRITE_FIX,
                  pathfinding=("iam-009",), pmapper="iam_edges")
_simple_technique("aws.iam.put-group-policy", "Write an inline policy on a group", EdgeKind.CAN_GRANT, ("group",),
                  "iam:PutGroupPolicy", "write an inline policy on a group", _POLICY_WRITE_FIX,
                  pathfinding=("iam-011",), pmapper="iam_edges")
_simple_technique("aws.iam.attach-group-policy", "Attach a managed policy to a group", EdgeKind.CAN_GRANT,
                  ("group",), "iam:AttachGroupPolicy", "attach a managed policy to a group", _POLICY_WRITE_FIX,
                  pathfinding=("iam-010",), pmapper="iam_edges")
_simple_technique("aws.iam.add-user-to-group", "Add oneself to a group", EdgeKind.CAN_GRANT, ("group",),
                  "iam:AddUserToGroup", "add oneself to a group and inherit its policies",
                  "Grant iam:AddUserToGroup only to identity administrators and only on the groups they own; "
                  "alert on membership changes of privileged groups.",
                  pathfinding=("iam-013",), pmapper="iam_edges", changes_permissions=False)
# A trust policy naming a principal's ARN lets it assume the role within the account without any
# identity-policy permission, so rewriting the trust policy is enough.
_simple_technique("aws.iam.update-assume-role-policy", "Rewrite a role's trust policy", EdgeKind.CAN_GRANT,
                  ("role",), "iam:UpdateAssumeRolePolicy", "rewrite a role's trust policy to name oneself, then "
                  "assume it", "Allow iam:UpdateAssumeRolePolicy only to identity administrators, on named roles; "
                  "alert on trust-policy changes of privileged roles.", pathfinding=("iam-012",),
                  pmapper="iam_edges", changes_permissions=False)


@technique("aws.iam.create-policy-version", "Publish a new default version of a managed policy", EdgeKind.CAN_GRANT,
           ("iam:CreatePolicyVersion",),
           "publish a new default version of a customer-managed policy attached to the target",
           "Allow iam:CreatePolicyVersion only to the policy's owners, on named policy ARNs; a permissions "
           "boundary can deny it everywhere else.", pathfinding=("iam-001",), pmapper="iam_edges",
           mitre="T1098.003", target="policy holder", changes_permissions=True)
def _create_policy_version(principal: Principal, ctx: Context) -> Iterator[Hit]:
    if not _can_at_all(principal, "iam:createpolicyversion"):
        return
    for member in ctx.accounts[principal.account].principals():
        for policy in member.policies:
            arn = policy.ref.arn
            if policy.ref.origin != "managed" or ":aws:policy/" in arn or member is principal:
                continue  # AWS managed policies cannot be versioned by customers
            grant = allowing(principal, "iam:createpolicyversion", arn)
            if grant:
                yield Hit(member, [("iam:createpolicyversion", grant)])


@technique("aws.iam.set-default-policy-version", "Switch a managed policy to another kept version",
           EdgeKind.CAN_GRANT, ("iam:SetDefaultPolicyVersion",),
           "make another kept version of a customer-managed policy the default (it may be broader)",
           "Delete old policy versions that grant more than the current one, and restrict "
           "iam:SetDefaultPolicyVersion to the policy's owners.", mitre="T1098.003", target="policy holder",
           changes_permissions=True)
def _set_default_policy_version(principal: Principal, ctx: Context) -> Iterator[Hit]:
    if not _can_at_all(principal, "iam:setdefaultpolicyversion"):
        return
    data = ctx.accounts[principal.account]
    for member in data.principals():
        for policy in member.policies:
            arn = policy.ref.arn
            if policy.ref.origin != "managed" or member is principal or data.policy_versions.get(arn, 0) < 2:
                continue  # only a policy with another version to switch to
            grant = allowing(principal, "iam:setdefaultpolicyversion", arn)
            if grant:
                yield Hit(member, [("iam:setdefaultpolicyversion", grant)])


_PASS_ROLE_FIX = ("Scope iam:PassRole to the exact roles a deployer needs (never `*`), with an iam:PassedToService "
                  "condition; keep privileged roles out of reach of anyone who can launch compute.")


def _pass_role(technique_id: str, title: str, services: tuple[str, ...], ways: tuple[tuple[str, ...], ...],
               requires: tuple[str, ...], description: str, *, pathfinding: tuple[str, ...] = (), pmapper: str = "",
               mitre: str = "T1078.004",
               needs: Callable[[Principal, Principal], list[tuple[str, Grant]] | None] | None = None) -> None:
    """iam:PassRole on a role the service trusts, plus every action of one way to make the service run it."""
    def find(principal: Principal, ctx: Context) -> Iterator[Hit]:
        if not _can_at_all(principal, "iam:passrole"):
            return
        way = next((w for w in ways if all(_can_at_all(principal, a) for a in w)), None)
        if way is None:
            return
        compute = [(a, _allowing_any(principal, a)) for a in way]
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


def _allowing_any(principal: Principal, action: str) -> Grant | None:
    """A grant for action on any resource (compute actions are usually granted on `*`); one without time
    bounds first."""
    found = [g for g in principal.grants if action in g.actions]
    return min(found, key=lambda g: bool(g.bounds)) if found else None


def _instance_profile(principal: Principal, role: Principal) -> list[tuple[str, Grant]] | None:
    """EC2 needs the role in an instance profile, or the power to put it in one."""
    if role.raw.get("InstanceProfileList"):
        return []
    create = _allowing_any(principal, "iam:createinstanceprofile")
    add = _allowing_any(principal, "iam:addroletoinstanceprofile")
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
           (("datapipeline:createpipeline", "datapipeline:putpipelinedefinition"),),
           ("datapipeline:CreatePipeline", "datapipeline:PutPipelineDefinition"),
           "create a pipeline whose resources run as the role", pathfinding=("datapipeline-001",))
_pass_role("aws.apprunner.pass-role-create-service", "Create an App Runner service running as a role",
           ("tasks.apprunner.amazonaws.com",), (("apprunner:createservice",),), ("apprunner:CreateService",),
           "create an App Runner service whose instances run as the role", pathfinding=("apprunner-001",))


@technique("aws.lambda.update-function-code", "Replace the code of a Lambda function", EdgeKind.CAN_RUN_AS,
           ("lambda:UpdateFunctionCode",),
           "replace the code of an existing Lambda function and run as its execution role",
           "Allow lambda:UpdateFunctionCode only to the function's deployment pipeline, on named functions; "
           "sign code (Lambda code signing) for functions with privileged roles.",
           pathfinding=("lambda-003", "lambda-004", "lambda-005"), pmapper="lambda_edges", mitre="T1648",
           target="function")
def _update_function_code(principal: Principal, ctx: Context) -> Iterator[Hit]:
    if not _can_at_all(principal, "lambda:updatefunctioncode"):
        return
    for function in ctx.functions.get(principal.account, []):
        grant = allowing(principal, "lambda:updatefunctioncode", function.arn)
        if grant and function.role is not principal:
            yield Hit(function.role, [("lambda:updatefunctioncode", grant)])


def _ssm(action: str):
    def find(principal: Principal, ctx: Context) -> Iterator[Hit]:
        if not _can_at_all(principal, action):
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


def trusted_services(role: Principal) -> set[str]:
    services: set[str] = set()
    for statement in role.trust:
        if statement.effect != "Allow" or not isinstance(statement.principal, dict):
            continue
        value: Any = statement.principal.get("Service", [])
        services.update([value] if isinstance(value, str) else value)
    return services


_SELF_ADMIN = frozenset({"iam:attachuserpolicy", "iam:attachrolepolicy", "iam:putuserpolicy", "iam:putrolepolicy"})


def is_account_admin(principal: Principal) -> bool:
    """Can write any identity's policies on `*` (AdministratorAccess, IAMFullAccess, ...) without MFA.

    Such a principal already holds admin over its account (HAS_PERMISSION), so, as PMapper does,
    no escalation edges are drawn from it: they would add nothing but noise.
    """
    return any(g.resource == "*" and not g.mfa_required and not g.bounds and _SELF_ADMIN <= g.actions
               for g in principal.grants)


# From this many targets on, one principal's identical hits go through a shared hub node: the
# principals holding a technique on `*` then cost one edge each instead of one per identity.
HUB_MIN_TARGETS = 25


@dataclass
class EscalationRecords:
    nodes: list[Record] = field(default_factory=list)
    edges: list[Record] = field(default_factory=list)


def _signature(hit: Hit) -> tuple[tuple[str, str, bool], ...]:
    return tuple(sorted((action, grant.via, grant.mfa_required) for action, grant in hit.grants)) + (
        (hit.assumed, "", False),)


def escalation_edges(ctx: Context) -> EscalationRecords:
    """Every registered technique over every collected principal; one edge per (source, target, kind).

    When one principal reaches HUB_MIN_TARGETS or more identities with a technique through the same
    grants (a grant on `*`), the edge goes to a hub node standing for exactly that set of identities,
    and the hub has one edge to each of them; principals reaching the same set share the hub. The
    reachable set and every edge's MFA requirement stay the same; the edge count grows linearly.
    """
    out = EscalationRecords()
    merged: dict[tuple[str, str, EdgeKind, bool, tuple[str, ...]], dict[str, Any]] = {}
    hubs: dict[str, list[Principal]] = {}
    catalogue = techniques()
    for data in ctx.accounts.values():
        for principal in data.principals():
            if not principal.grants or is_account_admin(principal):
                continue
            for item in catalogue:
                hits = list(item.derive.find(principal, ctx))
                if len(hits) >= HUB_MIN_TARGETS and len({_signature(h) for h in hits}) == 1:
                    reached = {h.target.node_id: h.target for h in hits}
                    if principal.type == hits[0].target.type:
                        # Holders of the same wildcard reach each other but not themselves; counting
                        # oneself in (a no-op) lets them share one hub.
                        reached[principal.node_id] = principal
                    targets = sorted(reached.items())
                    hub = _hub_id(data.account, item.id, [t for t, _ in targets])
                    if hub not in hubs:
                        hubs[hub] = [p for _, p in targets]
                        out.nodes.append(node(hub, Family.IDENTITY, "Group", "aws",
                                              f"{len(targets)} identities {item.id} reaches in {data.account}",
                                              f"aws:account/{data.account}", human=False, hub=True,
                                              techniques=[item.id], members=len(targets)))
                        for target_id, _ in targets:
                            out.edges.append(edge(hub, target_id, item.edge_kind,
                                                  f"{item.id} reaches every identity of this set",
                                                  mfa_required=False, conditions=[], techniques=[item.id],
                                                  **_grant_scope(item, data.account)))
                    _merge(merged, principal.node_id, hub, item, hits[0], data.account)
                    continue
                for hit in hits:
                    _merge(merged, principal.node_id, hit.target.node_id, item, hit, data.account)
    for (source, target, kind, _, bounds), entry in merged.items():
        via = f"{' / '.join(entry['techniques'])}: {'; '.join(entry['vias'])}"
        out.edges.append(edge(source, target, kind, via, mfa_required=all(entry["mfa"]),
                              conditions=entry["conditions"], actions=entry["actions"][:10],
                              techniques=entry["techniques"], **entry["grant_scope"], **bound_properties(bounds),
                              **assumed_properties(entry["assumed"])))
    return out


def _grant_scope(item: Technique, account: str) -> dict[str, str]:
    """A policy write confers admin over the target's account, to whoever can also act as the target."""
    return {"grant_scope": f"aws:account/{account}"} if item.changes_permissions else {}


def _hub_id(account: str, technique: str, targets: list[str]) -> str:
    digest = hashlib.sha1("\n".join(targets).encode()).hexdigest()[:12]
    return f"aws:account/{account}/reach/{technique}/{digest}"


def assumed_properties(reasons: list[str]) -> dict[str, Any]:
    """`assumed` / `assumed_reason` for an edge that every one of its hits draws on an assumption."""
    if not reasons or not all(reasons):
        return {}
    return {"assumed": True, "assumed_reason": " ".join(dict.fromkeys(reasons))}


def _merge(merged: dict[tuple[str, str, EdgeKind, bool, tuple[str, ...]], dict[str, Any]], source: str,
           target: str, item: Technique, hit: Hit, account: str) -> None:
    """Hits of one edge kind between the same two nodes become one edge, apart for techniques that change
    the target's permissions (they confer nothing on their own, see `_grant_scope`) and for grants whose
    time bounds differ: each window gets its own edge, so the graph builder can drop exactly the lapsed ones."""
    entry = merged.setdefault((source, target, item.edge_kind, item.changes_permissions, hit.bounds),
                              {"techniques": [], "vias": [], "actions": [], "mfa": [], "conditions": [],
                               "assumed": [], "grant_scope": _grant_scope(item, account)})
    entry["techniques"].append(item.id)
    entry["assumed"].append(hit.assumed)
    for action, grant in hit.grants:
        if grant.via not in entry["vias"]:
            entry["vias"].append(grant.via)
        if canonical(action) not in entry["actions"]:
            entry["actions"].append(canonical(action))
        entry["conditions"].extend(c for c in grant.conditions if c not in entry["conditions"])
    entry["mfa"].append(any(g.mfa_required for _, g in hit.grants))
