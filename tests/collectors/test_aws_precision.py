"""AWS at full escalation depth: no access-level shortcut to admin, and NotResource honoured wherever a
resource is matched. Each rule has a present and an absent case, asserted on what a user sees: the
collector's edges and the path engine's blast radius (what the attacker reaches, at which level).
"""

from __future__ import annotations

import json
from pathlib import Path

from collectors.aws import collect_offline
from collectors.aws.escalation import is_account_admin
from collectors.aws.transform import Principal
from graph.builder import build_graph
from queries.paths import PathEngine
from queries.policy import load_policy
from tests.collectors.test_aws import doc, role_entry, user_entry, write_account
from tests.collectors.test_aws_evaluation import FULL_ACCESS, _boundary_account, _scp, grants
from tests.graph_helpers import AS_OF
from tests.techniques.aws_cases import ACCT, ATTACKER, allow, arn, group_entry, trusting

ACCOUNT = f"aws:account/{ACCT}"
ME = arn("user", "attacker")


def not_resource(actions, *excluded: str) -> dict:
    return {"Effect": "Allow", "Action": actions, "NotResource": list(excluded)}


def deny(actions, resource="*") -> dict:
    return {"Effect": "Deny", "Action": actions, "Resource": resource}


def admin_role(name: str, trust: dict, profile: bool = False) -> dict:
    """A role with every permission (AdministratorAccess-like)."""
    role = role_entry(ACCT, name, trust, allow("*"))
    if profile:
        role["InstanceProfileList"] = [{"InstanceProfileName": name, "Roles": [],
                                        "Arn": f"arn:aws:iam::{ACCT}:instance-profile/{name}"}]
    return role


ROOT_TRUST = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "sts:AssumeRole"})


def collect(folder: Path, *statements: dict, roles=(), groups=(), policies=(), user_groups=(), attached=()):
    """The attacker (with statements as an inline policy, `attached` managed policies and membership of
    user_groups), a victim user, and the given roles, groups and managed policies."""
    attacker = user_entry(ACCT, "attacker", *statements) if statements else user_entry(ACCT, "attacker")
    attacker["GroupList"] = list(user_groups)
    attacker["AttachedManagedPolicies"] = [{"PolicyName": a.rsplit("/", 1)[-1], "PolicyArn": a} for a in attached]
    write_account(folder, ACCT, users=[attacker, user_entry(ACCT, "victim")], roles=roles, groups=groups,
                  policies=policies)
    result = collect_offline(folder)
    assert not result.errors, result.errors
    return result


def reach(result) -> dict[str, dict]:
    """The attacker's blast radius: privileged target -> row (level, path, requires_mfa)."""
    engine = PathEngine(build_graph([result], AS_OF).graph, load_policy())
    return {row["target"]: row for row in engine.blast_radius(ATTACKER)}


def edges(result, kind: str, target: str | None = None, source: str = ATTACKER) -> list[dict]:
    return [e for e in result.edges if e["source"] == source and e["kind"] == kind
            and (target is None or e["target"] == target)]


def is_admin(result) -> bool:
    row = reach(result).get(ACCOUNT)
    return row is not None and row["level"] == "admin"


def managed(name: str, *statements: dict, versions: int = 1) -> dict:
    arn_ = f"arn:aws:iam::{ACCT}:policy/{name}"
    listed = [{"VersionId": "v1", "IsDefaultVersion": True, "Document": doc(*statements)}]
    listed += [{"VersionId": f"v{i + 2}", "IsDefaultVersion": False, "Document": doc(*statements)}
               for i in range(versions - 1)]
    return {"PolicyName": name, "Arn": arn_, "DefaultVersionId": "v1", "PolicyVersionList": listed}


# ------------------------------------------------------------- no access-level shortcut: PassRole


def test_pass_role_on_star_alone_is_not_admin(tmp_path):
    result = collect(tmp_path, allow("iam:PassRole"),
                     roles=[admin_role("ec2-admin", trusting("ec2.amazonaws.com"), profile=True)])
    assert not edges(result, "HAS_PERMISSION"), "iam:PassRole is not a permission on the account"
    assert not edges(result, "CAN_RUN_AS")
    assert reach(result) == {}


def test_pass_role_with_run_instances_reaches_the_admin_role_it_can_launch(tmp_path):
    roles = [admin_role("ec2-admin", trusting("ec2.amazonaws.com"), profile=True)]
    result = collect(tmp_path, allow("iam:PassRole"), allow("ec2:RunInstances"), roles=roles)
    (run_as,) = edges(result, "CAN_RUN_AS", f"aws:{arn('role', 'ec2-admin')}")
    assert run_as["techniques"] == ["aws.ec2.pass-role-run-instances"]
    row = reach(result)[ACCOUNT]
    assert row["level"] == "admin" and [step[2]["kind"] for step in row["path"]] == ["CAN_RUN_AS", "HAS_PERMISSION"]
    # absent: no instance profile holding the role (and no power to make one)
    bare = collect(tmp_path / "no-profile", allow("iam:PassRole"), allow("ec2:RunInstances"),
                   roles=[admin_role("ec2-admin", trusting("ec2.amazonaws.com"))])
    assert not edges(bare, "CAN_RUN_AS") and not is_admin(bare)


def test_passed_to_service_ec2_only_keeps_the_ec2_technique_and_drops_lambda(tmp_path):
    passing = {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
               "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}}
    roles = [admin_role("ec2-admin", trusting("ec2.amazonaws.com"), profile=True),
             admin_role("lambda-admin", trusting("lambda.amazonaws.com"))]
    launch = allow(["ec2:RunInstances", "lambda:CreateFunction", "lambda:InvokeFunction"])
    result = collect(tmp_path, passing, launch, roles=roles)
    assert edges(result, "CAN_RUN_AS", f"aws:{arn('role', 'ec2-admin')}")
    assert not edges(result, "CAN_RUN_AS", f"aws:{arn('role', 'lambda-admin')}")
    # present without the condition
    free = collect(tmp_path / "free", allow("iam:PassRole"), launch, roles=roles)
    assert edges(free, "CAN_RUN_AS", f"aws:{arn('role', 'lambda-admin')}")


# ------------------------------------------------------------- NotResource


def test_not_resource_on_assume_role_does_not_reach_the_excluded_role(tmp_path):
    roles = [admin_role("admin", ROOT_TRUST), role_entry(ACCT, "deploy", ROOT_TRUST, allow("s3:PutObject", "arn:aws:s3:::prod/*"))]
    result = collect(tmp_path, not_resource("sts:AssumeRole", arn("role", "admin")), roles=roles)
    assert edges(result, "CAN_ASSUME", f"aws:{arn('role', 'deploy')}")
    assert not edges(result, "CAN_ASSUME", f"aws:{arn('role', 'admin')}")
    assert not is_admin(result)
    other = collect(tmp_path / "other", not_resource("sts:AssumeRole", arn("role", "deploy")), roles=roles)
    assert edges(other, "CAN_ASSUME", f"aws:{arn('role', 'admin')}") and is_admin(other)


def test_not_resource_on_pass_role_does_not_reach_the_excluded_role(tmp_path):
    roles = [admin_role("ec2-admin", trusting("ec2.amazonaws.com"), profile=True)]
    result = collect(tmp_path, not_resource("iam:PassRole", arn("role", "ec2-admin")), allow("ec2:RunInstances"),
                     roles=roles)
    assert not edges(result, "CAN_RUN_AS") and not is_admin(result)
    other = collect(tmp_path / "other", not_resource("iam:PassRole", arn("role", "other")), allow("ec2:RunInstances"),
                    roles=roles)
    assert edges(other, "CAN_RUN_AS", f"aws:{arn('role', 'ec2-admin')}") and is_admin(other)


def test_not_resource_on_policy_writes_does_not_reach_the_excluded_identity(tmp_path):
    roles = [admin_role("ops", ROOT_TRUST), admin_role("build", ROOT_TRUST)]
    result = collect(tmp_path, not_resource("iam:PutRolePolicy", arn("role", "ops")), roles=roles)
    assert not edges(result, "CAN_GRANT", f"aws:{arn('role', 'ops')}")
    assert edges(result, "CAN_GRANT", f"aws:{arn('role', 'build')}")


def test_not_resource_excluding_oneself_is_no_self_escalation(tmp_path):
    result = collect(tmp_path, not_resource("iam:PutUserPolicy", ME))
    assert not is_admin(result)
    assert edges(result, "CAN_GRANT", f"aws:{arn('user', 'victim')}"), "others' policies stay writable"
    other = collect(tmp_path / "other", not_resource("iam:PutUserPolicy", arn("user", "victim")))
    assert is_admin(other) and not edges(other, "CAN_GRANT", f"aws:{arn('user', 'victim')}")


def test_a_boundary_allowing_not_resource_excludes_too(tmp_path):
    boundary = doc(not_resource("*", arn("role", "ec2-admin")))
    _boundary_account(tmp_path, boundary, [allow("iam:PassRole"), allow("ec2:RunInstances")])
    details = tmp_path / ACCT / "authorization-details.json"
    data = json.loads(details.read_text())
    data["RoleDetailList"] = [admin_role("ec2-admin", trusting("ec2.amazonaws.com"), profile=True),
                              admin_role("ec2-other", trusting("ec2.amazonaws.com"), profile=True)]
    details.write_text(json.dumps(data))
    result = collect_offline(tmp_path)
    assert not edges(result, "CAN_RUN_AS", f"aws:{arn('role', 'ec2-admin')}")
    assert edges(result, "CAN_RUN_AS", f"aws:{arn('role', 'ec2-other')}")


def test_scps_exclude_with_not_resource_and_with_a_deny_on_one_role(tmp_path):
    roles = [admin_role("ec2-admin", trusting("ec2.amazonaws.com"), profile=True),
             admin_role("ec2-other", trusting("ec2.amazonaws.com"), profile=True)]
    statements = (allow("iam:PassRole"), allow("ec2:RunInstances"))
    admin, other = f"aws:{arn('role', 'ec2-admin')}", f"aws:{arn('role', 'ec2-other')}"
    for name, scp in (("not-resource", doc(not_resource("*", arn("role", "ec2-admin")))),
                      ("deny", doc(allow("*"), deny("iam:PassRole", arn("role", "ec2-admin"))))):
        folder = tmp_path / name
        collect(folder, *statements, roles=roles)
        _scp(folder, [FULL_ACCESS], [scp])
        result = collect_offline(folder)
        assert not edges(result, "CAN_RUN_AS", admin), name
        assert edges(result, "CAN_RUN_AS", other), name
        _scp(folder, [FULL_ACCESS], [FULL_ACCESS])
        assert edges(collect_offline(folder), "CAN_RUN_AS", admin), name


def test_not_resource_grant_covers_everything_but_the_excluded():
    (grant,) = grants(not_resource("iam:PassRole", arn("role", "admin*")))
    assert grant.excluded == (arn("role", "admin*"),)
    assert grant.covers(arn("role", "deploy")) and not grant.covers(arn("role", "admin-prod"))
    (capped,) = grants(allow("iam:PassRole"), boundary=[not_resource("iam:*", arn("role", "admin"))])
    assert capped.covers(arn("role", "deploy")) and not capped.covers(arn("role", "admin"))
    assert not grants(allow("iam:PassRole", arn("role", "admin")), boundary=[not_resource("iam:*", arn("role", "admin"))])


# ------------------------------------------------------------- self-escalation, resource-scoped


def test_put_user_policy_on_ones_own_arn_is_admin(tmp_path):
    result = collect(tmp_path, allow("iam:PutUserPolicy", ME))
    (edge,) = edges(result, "HAS_PERMISSION", ACCOUNT)
    assert edge["level"] == "admin" and edge["actions"] == ["iam:PutUserPolicy"]
    assert is_admin(result)


def test_put_user_policy_on_another_users_arn_is_only_can_grant_to_that_user(tmp_path):
    result = collect(tmp_path, allow("iam:PutUserPolicy", arn("user", "victim")))
    assert not edges(result, "HAS_PERMISSION") and not is_admin(result)
    (grant,) = edges(result, "CAN_GRANT")
    assert grant["target"] == f"aws:{arn('user', 'victim')}" and grant["techniques"] == ["aws.iam.put-user-policy"]


def test_put_group_policy_on_ones_own_group_is_admin(tmp_path):
    groups = [group_entry("devs"), group_entry("admins")]
    mine = collect(tmp_path, allow("iam:PutGroupPolicy", arn("group", "devs")), groups=groups, user_groups=["devs"])
    assert edges(mine, "HAS_PERMISSION", ACCOUNT)[0]["level"] == "admin" and is_admin(mine)
    other = collect(tmp_path / "other", allow("iam:PutGroupPolicy", arn("group", "admins")), groups=groups,
                    user_groups=["devs"])
    assert not is_admin(other) and edges(other, "CAN_GRANT", f"aws:{arn('group', 'admins')}")


def test_a_groups_own_policy_write_makes_its_members_admin(tmp_path):
    devs = group_entry("devs")
    devs["GroupPolicyList"] = [{"PolicyName": "self-service", "PolicyDocument": doc(allow("iam:PutGroupPolicy",
                                                                                          arn("group", "devs")))}]
    result = collect(tmp_path, groups=[devs], user_groups=["devs"])
    group_edge = edges(result, "HAS_PERMISSION", ACCOUNT, source=f"aws:{arn('group', 'devs')}")
    assert group_edge and group_edge[0]["level"] == "admin"
    assert is_admin(result), "the member reaches it through MEMBER_OF"


def test_a_groups_grant_on_its_members_user_arns_makes_each_member_admin(tmp_path):
    devs = group_entry("devs")
    devs["GroupPolicyList"] = [{"PolicyName": "own-user", "PolicyDocument": doc(allow(
        "iam:PutUserPolicy", f"arn:aws:iam::{ACCT}:user/${{aws:username}}"))}]
    result = collect(tmp_path, groups=[devs], user_groups=["devs"])
    (edge,) = edges(result, "HAS_PERMISSION", ACCOUNT)
    assert edge["level"] == "admin" and "own-user (inline policy on devs)" in edge["via"]
    assert is_admin(result)


def test_create_policy_version_on_a_policy_attached_to_oneself_is_admin(tmp_path):
    policy = f"arn:aws:iam::{ACCT}:policy/team"
    policies = [managed("team", allow("s3:GetObject", "arn:aws:s3:::reports/*")), managed("other", allow("s3:ListAllMyBuckets"))]
    mine = collect(tmp_path, allow("iam:CreatePolicyVersion", policy), policies=policies, attached=[policy])
    assert is_admin(mine)
    assert edges(mine, "HAS_PERMISSION", ACCOUNT)[0]["actions"] == ["iam:CreatePolicyVersion"]
    not_mine = collect(tmp_path / "other", allow("iam:CreatePolicyVersion", policy), policies=policies,
                       attached=[f"arn:aws:iam::{ACCT}:policy/other"])
    assert not is_admin(not_mine)
    (on_policy,) = edges(not_mine, "HAS_PERMISSION", f"aws:{policy}")
    assert on_policy["level"] == "write", "permissions management on a policy is write, not admin by its level"


def test_set_default_policy_version_on_ones_own_policy_needs_another_kept_version(tmp_path):
    policy = f"arn:aws:iam::{ACCT}:policy/team"
    kept = collect(tmp_path, allow("iam:SetDefaultPolicyVersion", policy),
                   policies=[managed("team", allow("s3:GetObject", "arn:aws:s3:::r/*"), versions=2)], attached=[policy])
    assert is_admin(kept)
    single = collect(tmp_path / "single", allow("iam:SetDefaultPolicyVersion", policy),
                     policies=[managed("team", allow("s3:GetObject", "arn:aws:s3:::r/*"))], attached=[policy])
    assert not is_admin(single)


def test_a_role_writing_role_star_is_admin_and_a_user_is_not(tmp_path):
    role = role_entry(ACCT, "automation", ROOT_TRUST, allow("iam:PutRolePolicy", arn("role", "*")))
    result = collect(tmp_path, allow("sts:AssumeRole", arn("role", "automation")), roles=[role])
    auto = f"aws:{arn('role', 'automation')}"
    assert edges(result, "HAS_PERMISSION", ACCOUNT, source=auto)[0]["level"] == "admin"
    assert is_admin(result), "the attacker assumes the role, which can rewrite its own policy"
    user_only = collect(tmp_path / "user", allow("iam:PutRolePolicy", arn("role", "*")), roles=[admin_role("ops", trusting("ec2.amazonaws.com"))])
    assert [e["level"] for e in edges(user_only, "HAS_PERMISSION", ACCOUNT)] == ["write"]
    assert not is_admin(user_only) and edges(user_only, "CAN_GRANT", f"aws:{arn('role', 'ops')}")


# ------------------------------------------------------------- Denies, boundaries, SCPs, time


def test_a_deny_in_a_second_policy_removes_the_self_escalation(tmp_path):
    denial = f"arn:aws:iam::{ACCT}:policy/no-self-write"
    policies = [managed("no-self-write", deny("iam:PutUserPolicy", ME))]
    denied = collect(tmp_path, allow("iam:PutUserPolicy", ME), policies=policies, attached=[denial])
    assert not edges(denied, "HAS_PERMISSION") and not is_admin(denied)
    elsewhere = collect(tmp_path / "elsewhere", allow("iam:PutUserPolicy", ME),
                        policies=[managed("no-self-write", deny("iam:PutUserPolicy", arn("user", "victim")))],
                        attached=[denial])
    assert is_admin(elsewhere)


def test_a_deny_on_one_role_in_a_second_policy_removes_only_that_pass_role(tmp_path):
    denial = f"arn:aws:iam::{ACCT}:policy/no-admin-pass"
    roles = [admin_role("ec2-admin", trusting("ec2.amazonaws.com"), profile=True),
             admin_role("ec2-other", trusting("ec2.amazonaws.com"), profile=True)]
    result = collect(tmp_path, allow(["iam:PassRole", "ec2:RunInstances"]), roles=roles,
                     policies=[managed("no-admin-pass", deny("iam:PassRole", arn("role", "ec2-admin")))],
                     attached=[denial])
    assert not edges(result, "CAN_RUN_AS", f"aws:{arn('role', 'ec2-admin')}")
    assert edges(result, "CAN_RUN_AS", f"aws:{arn('role', 'ec2-other')}")


def test_a_boundary_caps_self_escalation_and_says_so(tmp_path):
    statements = [allow("iam:PutUserPolicy", ME)]
    _boundary_account(tmp_path, doc(allow(["iam:PutUserPolicy", "s3:GetObject"])), statements)
    result = collect_offline(tmp_path)
    (edge,) = edges(result, "HAS_PERMISSION", ACCOUNT)
    assert edge["level"] == "write"
    assert any("capped by permissions boundary dev-boundary: not admin over the account" in c for c in edge["conditions"])
    assert not is_admin(result)
    _boundary_account(tmp_path / "blocks", doc(allow("s3:GetObject")), statements)
    assert not edges(collect_offline(tmp_path / "blocks"), "HAS_PERMISSION")


def test_a_bounded_holder_of_policy_writes_on_star_keeps_its_escalation_edges(tmp_path):
    _boundary_account(tmp_path, FULL_ACCESS | {"Statement": [allow("iam:*"), deny("iam:DeleteUserPermissionsBoundary")]},
                      [allow("iam:*")])
    result = collect_offline(tmp_path)
    (own,) = edges(result, "HAS_PERMISSION", ACCOUNT)
    assert own["level"] == "write", "its own rights stay capped"
    victim = f"aws:{arn('user', 'victim')}"
    assert edges(result, "CAN_GRANT", victim) and edges(result, "CAN_CREATE_CREDENTIAL", victim)
    # ... but not what it can rewrite: a key for the unbounded victim plus a policy write on it is admin
    row = reach(result)[ACCOUNT]
    assert row["level"] == "admin" and "can change the permissions of victim" in row["path"][-1][2]["via"]


def test_an_scp_deny_removes_the_self_escalation(tmp_path):
    collect(tmp_path, allow("iam:PutUserPolicy", ME))
    _scp(tmp_path, [FULL_ACCESS, doc(deny("iam:PutUserPolicy"))])
    result = collect_offline(tmp_path)
    assert not edges(result, "HAS_PERMISSION") and not is_admin(result)
    _scp(tmp_path, [FULL_ACCESS])
    assert is_admin(collect_offline(tmp_path))


def test_a_lapsed_time_condition_removes_the_self_escalation(tmp_path):
    def until(when: str) -> dict:
        return allow("iam:PutUserPolicy", ME) | {"Condition": {"DateLessThan": {"aws:CurrentTime": when}}}
    assert not is_admin(collect(tmp_path / "past", until("2026-01-01T00:00:00Z")))
    assert is_admin(collect(tmp_path / "future", until("2027-01-01T00:00:00Z")))


# ------------------------------------------------------------- is_account_admin


def _principal(*statements: dict, boundary: bool = False) -> Principal:
    raw = {"PermissionsBoundary": {"PermissionsBoundaryArn": "arn:aws:iam::1:policy/b"}} if boundary else {}
    return Principal(ME, "attacker", "user", ACCT, "AIDA", raw, grants=grants(*statements))


def test_is_account_admin_only_for_unbounded_policy_writes_on_everything():
    assert is_account_admin(_principal(allow("*")))
    assert is_account_admin(_principal(allow("iam:*")))
    assert not is_account_admin(_principal(allow("iam:PassRole")))
    assert not is_account_admin(_principal(allow("*"), boundary=True))
    assert not is_account_admin(_principal(not_resource("*", arn("role", "admin"))))
    assert not is_account_admin(_principal(allow("*"), deny("iam:PutRolePolicy", arn("role", "admin"))))
