"""Privilege-escalation techniques: one registered unit per technique, each drawing transfer edges
(CAN_GRANT, CAN_CREATE_CREDENTIAL, CAN_RUN_AS) from a principal to the identity it can become or
empower.

Every technique reads the principal's evaluated grants (identity policies after Denies,
permissions boundaries and SCPs), so a boundary or SCP that removes one required action removes
the edge. An edge's `via` names each policy and statement that allowed a required action.
Coverage against PMapper is listed in docs/collectors/aws.md ("Escalation techniques").

Role assumption (CAN_ASSUME: trust policy and identity policy both required, cross-account
included) is drawn by collectors.aws.trust; it is listed here so the catalogue is complete.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from collectors.aws.access_levels import canonical
from collectors.aws.policy_documents import Grant, condition_items, matches
from collectors.aws.transform import AccountData, Principal
from graph.records import Record, edge, node
from graph.schema import EdgeKind, Family


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


@dataclass(frozen=True)
class Technique:
    name: str
    kind: EdgeKind
    description: str
    pmapper: str  # the PMapper checker covering the same ground ("" when PMapper has none)
    find: Callable[[Principal, Context], Iterable[Hit]] | None = None
    drawn_by: str = "collectors.aws.escalation"
    # What it can reach: "user", "group", "role" (any role, or one trusting `services`), "policy holder",
    # "function" (a Lambda function's role), "instance" (an EC2 instance's role).
    target: str = "role"
    services: tuple[str, ...] = ()


TECHNIQUES: dict[str, Technique] = {}


def register(name: str, kind: EdgeKind, description: str, pmapper: str = "", target: str = "role",
             services: tuple[str, ...] = ()):
    def wrap(find: Callable[[Principal, Context], Iterable[Hit]]):
        TECHNIQUES[name] = Technique(name, kind, description, pmapper, find, target=target, services=services)
        return find
    return wrap


TECHNIQUES["AssumeRole"] = Technique(
    "AssumeRole", EdgeKind.CAN_ASSUME,
    "sts:AssumeRole where the role's trust policy names the principal (or its account, and then the identity "
    "policy must allow it too); cross-account included", "sts_edges", None, "collectors.aws.trust")


def allowing(principal: Principal, action: str, resource: str,
             accept: Callable[[Grant], bool] | None = None) -> Grant | None:
    """The grant letting principal do action on resource; a grant without an MFA condition wins."""
    found = [g for g in principal.grants if action in g.actions and (g.resource == "*" or matches(g.resource, resource))
             and (accept is None or accept(g))]
    return min(found, key=lambda g: (g.mfa_required, g.via)) if found else None


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


def _simple_technique(name: str, kind: EdgeKind, types: tuple[str, ...], actions: tuple[str, ...],
                      description: str, pmapper: str) -> None:
    register(name, kind, description, pmapper, target=types[0])(_simple(types, *actions))


@register("CreateAccessKey", EdgeKind.CAN_CREATE_CREDENTIAL,
          "mint an access key for another user (a user with two keys needs one deleted first)", "iam_edges",
          target="user")
def _create_access_key(principal: Principal, ctx: Context) -> Iterator[Hit]:
    for hit in _simple(("user",), "iam:createaccesskey")(principal, ctx):
        if ctx.user_facts.get(hit.target.arn, {}).get("keys", 0) >= 2:
            delete = allowing(principal, "iam:deleteaccesskey", hit.target.arn)
            if delete is None:
                continue
            hit.grants.append(("iam:deleteaccesskey", delete))
        yield hit


def _login_profile(action: str, has_password: bool) -> Callable[[Principal, Context], Iterator[Hit]]:
    """CreateLoginProfile only works on a user without a password, UpdateLoginProfile only with one
    (unknown without a credential report: then both are drawn)."""
    def find(principal: Principal, ctx: Context) -> Iterator[Hit]:
        for hit in _simple(("user",), action)(principal, ctx):
            if ctx.user_facts.get(hit.target.arn, {}).get("password", has_password) == has_password:
                yield hit
    return find


register("CreateLoginProfile", EdgeKind.CAN_CREATE_CREDENTIAL, "set a console password for a user who has none",
         "iam_edges", target="user")(_login_profile("iam:createloginprofile", False))
register("UpdateLoginProfile", EdgeKind.CAN_CREATE_CREDENTIAL, "reset another user's console password",
         "iam_edges", target="user")(_login_profile("iam:updateloginprofile", True))
_simple_technique("PutUserPolicy", EdgeKind.CAN_GRANT, ("user",), ("iam:putuserpolicy",),
                  "write an inline policy on another user", "iam_edges")
_simple_technique("AttachUserPolicy", EdgeKind.CAN_GRANT, ("user",), ("iam:attachuserpolicy",),
                  "attach a managed policy (e.g. AdministratorAccess) to another user", "iam_edges")
_simple_technique("PutRolePolicy", EdgeKind.CAN_GRANT, ("role",), ("iam:putrolepolicy",),
                  "write an inline policy on a role", "iam_edges")
_simple_technique("AttachRolePolicy", EdgeKind.CAN_GRANT, ("role",), ("iam:attachrolepolicy",),
                  "attach a managed policy to a role", "iam_edges")
_simple_technique("PutGroupPolicy", EdgeKind.CAN_GRANT, ("group",), ("iam:putgrouppolicy",),
                  "write an inline policy on a group", "iam_edges")
_simple_technique("AttachGroupPolicy", EdgeKind.CAN_GRANT, ("group",), ("iam:attachgrouppolicy",),
                  "attach a managed policy to a group", "iam_edges")
_simple_technique("AddUserToGroup", EdgeKind.CAN_GRANT, ("group",), ("iam:addusertogroup",),
                  "add oneself to a group and inherit its policies", "iam_edges")
# A trust policy naming a principal's ARN lets it assume the role within the account without any
# identity-policy permission, so rewriting the trust policy is enough.
_simple_technique("UpdateAssumeRolePolicy", EdgeKind.CAN_GRANT, ("role",), ("iam:updateassumerolepolicy",),
                  "rewrite a role's trust policy to name oneself, then assume it", "iam_edges")


@register("CreatePolicyVersion", EdgeKind.CAN_GRANT,
          "publish a new default version of a customer-managed policy attached to the target", "iam_edges",
          target="policy holder")
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


@register("SetDefaultPolicyVersion", EdgeKind.CAN_GRANT,
          "make another kept version of a customer-managed policy the default (it may be broader)", "",
          target="policy holder")
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


def _pass_role(name: str, services: tuple[str, ...], ways: tuple[tuple[str, ...], ...], description: str,
               pmapper: str, needs: Callable[[Principal, Principal], list[tuple[str, Grant]] | None] | None = None
               ) -> None:
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
    register(name, EdgeKind.CAN_RUN_AS, description, pmapper, services=services)(find)


def _allowing_any(principal: Principal, action: str) -> Grant | None:
    """A grant for action on any resource (compute actions are usually granted on `*`)."""
    return next((g for g in principal.grants if action in g.actions), None)


def _instance_profile(principal: Principal, role: Principal) -> list[tuple[str, Grant]] | None:
    """EC2 needs the role in an instance profile, or the power to put it in one."""
    if role.raw.get("InstanceProfileList"):
        return []
    create = _allowing_any(principal, "iam:createinstanceprofile")
    add = _allowing_any(principal, "iam:addroletoinstanceprofile")
    if create and add:
        return [("iam:createinstanceprofile", create), ("iam:addroletoinstanceprofile", add)]
    return None


_pass_role("PassRole:EC2", ("ec2.amazonaws.com",), (("ec2:runinstances",), ("ec2:requestspotinstances",)),
           "launch an instance with the role's instance profile", "ec2_edges", _instance_profile)
_pass_role("PassRole:AutoScaling", ("ec2.amazonaws.com",),
           (("autoscaling:createlaunchconfiguration", "autoscaling:createautoscalinggroup"),),
           "create a launch configuration and group whose instances carry the role", "autoscaling_edges",
           _instance_profile)
_pass_role("PassRole:Lambda", ("lambda.amazonaws.com",),
           (("lambda:createfunction", "lambda:invokefunction"), ("lambda:createfunction", "lambda:createeventsourcemapping"),
            ("lambda:createfunction", "lambda:addpermission")),
           "create a function running as the role, then invoke or trigger it", "lambda_edges")
_pass_role("PassRole:CloudFormation", ("cloudformation.amazonaws.com",),
           (("cloudformation:createstack",), ("cloudformation:createstackset", "cloudformation:createstackinstances"),
            ("cloudformation:updatestackset",)),
           "create a stack (or stack set) whose service role provisions anything", "cloudformation_edges")
_pass_role("PassRole:CodeBuild", ("codebuild.amazonaws.com",),
           (("codebuild:createproject", "codebuild:startbuild"), ("codebuild:createproject", "codebuild:startbuildbatch")),
           "create a build project running as the role and start it", "codebuild_edges")
_pass_role("PassRole:SageMaker", ("sagemaker.amazonaws.com",),
           (("sagemaker:createnotebookinstance",), ("sagemaker:createtrainingjob",), ("sagemaker:createprocessingjob",)),
           "create a notebook, training or processing job running as the role", "sagemaker_edges")
_pass_role("PassRole:ECS", ("ecs-tasks.amazonaws.com",),
           (("ecs:registertaskdefinition", "ecs:runtask"), ("ecs:registertaskdefinition", "ecs:starttask"),
            ("ecs:registertaskdefinition", "ecs:createservice")),
           "register a task definition with the role and run it", "")
_pass_role("PassRole:Glue", ("glue.amazonaws.com",),
           (("glue:createdevendpoint",), ("glue:createjob", "glue:startjobrun"), ("glue:createjob", "glue:createtrigger"),
            ("glue:updatejob", "glue:startjobrun"), ("glue:updatejob", "glue:createtrigger")),
           "create a Glue dev endpoint, or a job it then runs, as the role", "")
_pass_role("PassRole:DataPipeline", ("datapipeline.amazonaws.com", "elasticmapreduce.amazonaws.com"),
           (("datapipeline:createpipeline", "datapipeline:putpipelinedefinition"),),
           "create a pipeline whose resources run as the role", "")
_pass_role("PassRole:AppRunner", ("tasks.apprunner.amazonaws.com",), (("apprunner:createservice",),),
           "create an App Runner service whose instances run as the role", "")


@register("UpdateFunctionCode", EdgeKind.CAN_RUN_AS,
          "replace the code of an existing Lambda function and run as its execution role", "lambda_edges",
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


register("SSM:SendCommand", EdgeKind.CAN_RUN_AS, "run commands on an instance and use its role's credentials",
         "ssm_edges", target="instance")(_ssm("ssm:sendcommand"))
register("SSM:StartSession", EdgeKind.CAN_RUN_AS, "open a shell on an instance and use its role's credentials",
         "ssm_edges", target="instance")(_ssm("ssm:startsession"))


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
    return any(g.resource == "*" and not g.mfa_required and _SELF_ADMIN <= g.actions for g in principal.grants)


# From this many targets on, one principal's identical hits go through a shared hub node: the
# principals holding a technique on `*` then cost one edge each instead of one per identity.
HUB_MIN_TARGETS = 25


@dataclass
class EscalationRecords:
    nodes: list[Record] = field(default_factory=list)
    edges: list[Record] = field(default_factory=list)


def _signature(hit: Hit) -> tuple[tuple[str, str, bool], ...]:
    return tuple(sorted((action, grant.via, grant.mfa_required) for action, grant in hit.grants))


def escalation_edges(ctx: Context) -> EscalationRecords:
    """Every registered technique over every collected principal; one edge per (source, target, kind).

    When one principal reaches HUB_MIN_TARGETS or more identities with a technique through the same
    grants (a grant on `*`), the edge goes to a hub node standing for exactly that set of identities,
    and the hub has one edge to each of them; principals reaching the same set share the hub. The
    reachable set and every edge's MFA requirement stay the same; the edge count grows linearly.
    """
    out = EscalationRecords()
    merged: dict[tuple[str, str, EdgeKind], dict[str, Any]] = {}
    hubs: dict[str, list[Principal]] = {}
    for data in ctx.accounts.values():
        for principal in data.principals():
            if not principal.grants or is_account_admin(principal):
                continue
            for technique in TECHNIQUES.values():
                if technique.find is None:
                    continue
                hits = list(technique.find(principal, ctx))
                if len(hits) >= HUB_MIN_TARGETS and len({_signature(h) for h in hits}) == 1:
                    reached = {h.target.node_id: h.target for h in hits}
                    if principal.type == hits[0].target.type:
                        # Holders of the same wildcard reach each other but not themselves; counting
                        # oneself in (a no-op) lets them share one hub.
                        reached[principal.node_id] = principal
                    targets = sorted(reached.items())
                    hub = _hub_id(data.account, technique.name, [t for t, _ in targets])
                    if hub not in hubs:
                        hubs[hub] = [p for _, p in targets]
                        out.nodes.append(node(hub, Family.IDENTITY, "Group", "aws",
                                              f"{len(targets)} identities {technique.name} reaches in {data.account}",
                                              f"aws:account/{data.account}", human=False, hub=True,
                                              technique=technique.name, members=len(targets)))
                        for target_id, _ in targets:
                            out.edges.append(edge(hub, target_id, technique.kind,
                                                  f"{technique.name} reaches every identity of this set",
                                                  mfa_required=False, conditions=[], techniques=[technique.name]))
                    _merge(merged, principal.node_id, hub, technique, hits[0])
                    continue
                for hit in hits:
                    _merge(merged, principal.node_id, hit.target.node_id, technique, hit)
    for (source, target, kind), entry in merged.items():
        via = f"{' / '.join(entry['techniques'])}: {'; '.join(entry['vias'])}"
        out.edges.append(edge(source, target, kind, via, mfa_required=all(entry["mfa"]),
                              conditions=entry["conditions"], actions=entry["actions"][:10],
                              techniques=entry["techniques"]))
    return out


def _hub_id(account: str, technique: str, targets: list[str]) -> str:
    digest = hashlib.sha1("\n".join(targets).encode()).hexdigest()[:12]
    return f"aws:account/{account}/reach/{technique}/{digest}"


def _merge(merged: dict[tuple[str, str, EdgeKind], dict[str, Any]], source: str, target: str, technique: Technique,
           hit: Hit) -> None:
    entry = merged.setdefault((source, target, technique.kind),
                              {"techniques": [], "vias": [], "actions": [], "mfa": [], "conditions": []})
    entry["techniques"].append(technique.name)
    for action, grant in hit.grants:
        if grant.via not in entry["vias"]:
            entry["vias"].append(grant.via)
        if canonical(action) not in entry["actions"]:
            entry["actions"].append(canonical(action))
        entry["conditions"].extend(c for c in grant.conditions if c not in entry["conditions"])
    entry["mfa"].append(any(g.mfa_required for _, g in hit.grants))
