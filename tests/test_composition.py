"""Composition: changing an identity's permissions and acting as it is admin over its scope; either
alone is not (a policy write on a role one cannot assume gives nothing, not the role's rights)."""

from __future__ import annotations

from pathlib import Path

from collectors.aws import collect_offline
from graph.builder import build_graph
from queries.paths import PathEngine
from queries.policy import load_policy
from tests.collectors.test_aws import doc, role_entry, user_entry, write_account
from tests.graph_helpers import AS_OF, Org
from tests.techniques.aws_cases import ACCT, ATTACKER, allow, arn

ACCOUNT = f"aws:account/{ACCT}"
DEPLOY = arn("role", "deploy")
PROD_BUCKET = "aws:arn:aws:s3:::prod"
ROOT_TRUST = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "sts:AssumeRole"})


def _engine(folder: Path, statements: list[dict], group_statements: list[dict] = ()) -> PathEngine:
    attacker = user_entry(ACCT, "attacker", *statements) if statements else user_entry(ACCT, "attacker")
    groups = []
    if group_statements:
        attacker["GroupList"] = ["deployers"]
        groups = [{"Path": "/", "GroupName": "deployers", "GroupId": "AGPADEPLOYERS", "Arn": arn("group", "deployers"),
                   "CreateDate": "2026-01-01T00:00:00+00:00", "AttachedManagedPolicies": [],
                   "GroupPolicyList": [{"PolicyName": "deployers-policy", "PolicyDocument": doc(*group_statements)}]}]
    write_account(folder, ACCT, users=[attacker], groups=groups, roles=[
        role_entry(ACCT, "deploy", ROOT_TRUST, allow("s3:PutObject", "arn:aws:s3:::prod/*"))])
    result = collect_offline(folder)
    assert not result.errors, result.errors
    return PathEngine(build_graph([result], AS_OF).graph, load_policy())


def _reach(engine: PathEngine) -> dict[str, dict]:
    return {item["target"]: item for item in engine.blast_radius(ATTACKER)}


def test_policy_write_plus_assume_is_admin_over_the_account(tmp_path):
    reach = _reach(_engine(tmp_path, [allow("iam:PutRolePolicy", DEPLOY), allow("sts:AssumeRole", DEPLOY)]))
    assert reach[ACCOUNT]["level"] == "admin" and not reach[ACCOUNT]["requires_mfa"]
    final = reach[ACCOUNT]["path"][-1][2]
    assert final["composed"] is True and final["techniques"] == ["aws.iam.put-role-policy"]
    assert "can change the permissions of deploy" in final["via"] and "held by itself" in final["via"]


def test_policy_write_without_acting_as_the_role_gives_nothing(tmp_path):
    reach = _reach(_engine(tmp_path, [allow("iam:PutRolePolicy", DEPLOY)]))
    assert ACCOUNT not in reach
    assert PROD_BUCKET not in reach, "writing a role's policy does not give the role's own rights"


def test_assume_without_policy_write_gives_only_the_roles_rights(tmp_path):
    reach = _reach(_engine(tmp_path, [allow("sts:AssumeRole", DEPLOY)]))
    assert ACCOUNT not in reach
    assert reach[PROD_BUCKET]["level"] == "write"


def test_the_grant_may_come_from_a_group_the_entry_belongs_to(tmp_path):
    engine = _engine(tmp_path, [allow("sts:AssumeRole", DEPLOY)], group_statements=[allow("iam:AttachRolePolicy", DEPLOY)])
    reach = _reach(engine)
    assert reach[ACCOUNT]["level"] == "admin"
    assert "grant held by deployers" in reach[ACCOUNT]["path"][-1][2]["via"]
    absent = _reach(_engine(tmp_path / "absent", [allow("sts:AssumeRole", DEPLOY)],
                            group_statements=[allow("iam:GetRole", DEPLOY)]))
    assert ACCOUNT not in absent


def _hub_org(assume: bool) -> PathEngine:
    """attacker -(policy write on a set of 30 roles, through a hub)-> roles; maybe assumes one of them.
    (Built by hand: the hub mechanism is the AWS collector's; here only the composition through it counts.)"""
    org = Org()
    org.human("aws:user/attacker", mfa=False)
    org.resource(ACCOUNT, kind="account")
    org.identity("aws:hub", kind="Group", hub=True)
    scope = {"grant_scope": ACCOUNT, "techniques": ["aws.iam.put-role-policy"]}
    org.link("aws:user/attacker", "aws:hub", "CAN_GRANT", **scope)
    for i in range(30):
        org.identity(f"aws:role/r{i}")
        org.link("aws:hub", f"aws:role/r{i}", "CAN_GRANT", **scope)
    if assume:
        org.link("aws:user/attacker", "aws:role/r7")
    return PathEngine(org.build().graph, load_policy())


def test_a_grant_on_a_set_of_roles_through_a_hub_composes_too():
    reach = {item["target"]: item for item in _hub_org(assume=True).blast_radius("aws:user/attacker")}
    assert reach[ACCOUNT]["level"] == "admin" and "permissions of r7" in reach[ACCOUNT]["path"][-1][2]["via"]
    assert _hub_org(assume=False).blast_radius("aws:user/attacker") == []


def _scope_grant(mfa_required: bool) -> list[dict]:
    org = Org()
    org.identity("k8s:c1/sa/ci/deployer", kind="ServiceIdentity")
    org.resource("k8s:c1/ns/payments", kind="namespace")
    org.link("k8s:c1/sa/ci/deployer", "k8s:c1/ns/payments", "CAN_GRANT", mfa_required=mfa_required,
             techniques=["k8s.rbac.bind"])
    return PathEngine(org.build().graph, load_policy()).blast_radius("k8s:c1/sa/ci/deployer")


def test_the_power_to_grant_any_role_on_a_scope_is_admin_over_it():
    (reach,) = _scope_grant(mfa_required=False)
    assert (reach["target"], reach["level"], reach["requires_mfa"]) == ("k8s:c1/ns/payments", "admin", False)
    step = reach["path"][-1][2]
    assert step["kind"] == "HAS_PERMISSION" and step["granted_by"] == "CAN_GRANT"
    assert step["techniques"] == ["k8s.rbac.bind"] and "can grant itself any role there" in step["via"]
    # as for a HAS_PERMISSION that demands MFA, a grant behind MFA is no gap
    assert _scope_grant(mfa_required=True) == []
