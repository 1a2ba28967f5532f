"""Policy evaluation the edges rest on, on real-shape exports: permissions boundaries, SCPs,
NotResource, conditions, acting on oneself, SAML federation, machine users, EKS access, resource policies.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from collectors.aws import collect_offline
from collectors.aws.policy_documents import (
    AttachedPolicy,
    PolicyRef,
    apply_ceiling,
    evaluate,
    parse_statements,
)
from tests.collectors.test_aws import doc, role_entry, user_entry, write_account
from tests.collectors.test_aws_escalation import REPORT_HEADER
from tests.techniques.aws_cases import ACCT, ATTACKER, allow, arn, build, transfer_edges, trusting

# ------------------------------------------------------------- boundaries, SCPs, conditions


def _boundary_account(folder: Path, boundary_doc: dict, statements: list[dict]) -> None:
    victim_policy = f"arn:aws:iam::{ACCT}:policy/dev-boundary"
    attacker = user_entry(ACCT, "attacker", *statements)
    attacker["PermissionsBoundary"] = {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": victim_policy}
    write_account(folder, ACCT, users=[attacker, user_entry(ACCT, "victim")], policies=[
        {"PolicyName": "dev-boundary", "Arn": victim_policy, "DefaultVersionId": "v1",
         "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": True, "Document": boundary_doc}]}])


def test_permissions_boundary_caps_identity_policy_and_blocks_escalation(tmp_path):
    boundary = doc(allow(["s3:Get*", "s3:List*"]))
    _boundary_account(tmp_path, boundary, [allow("*")])
    result = collect_offline(tmp_path)
    mine = [e for e in result.edges if e["source"] == ATTACKER]
    assert {(e["kind"], e["level"]) for e in mine} == {("HAS_PERMISSION", "read")}


def test_boundary_allowing_the_action_keeps_the_edge(tmp_path):
    boundary = doc(allow("iam:CreateAccessKey", arn("user", "*")))
    _boundary_account(tmp_path, boundary, [allow("iam:CreateAccessKey", arn("user", "victim"))])
    assert transfer_edges(tmp_path, "CAN_CREATE_CREDENTIAL", arn("user", "victim"))


def test_boundary_narrows_a_star_grant_to_the_boundary_resource(tmp_path):
    boundary = doc(allow("s3:*", "arn:aws:s3:::team-bucket/*"))
    _boundary_account(tmp_path, boundary, [allow("s3:PutObject")])
    result = collect_offline(tmp_path)
    targets = {e["target"] for e in result.edges if e["source"] == ATTACKER}
    assert targets == {"aws:arn:aws:s3:::team-bucket"}


def _scp(folder: Path, *levels: list[dict]) -> None:
    (folder / ACCT / "service-control-policies.json").write_text(json.dumps({
        "AccountId": ACCT, "ServiceControlPolicyLevels": [
            {"TargetId": target, "Policies": [{"PolicySummary": {"Name": f"scp-{i}-{j}"}, "Content": json.dumps(p)}
                                              for j, p in enumerate(policies)]}
            for i, (target, policies) in enumerate(zip([ACCT, "ou-ab12-prod", "r-ab12"], levels, strict=False))]}))


FULL_ACCESS = doc(allow("*"))


def test_scp_deny_removes_the_escalation_edge(tmp_path):
    statements = [allow("iam:CreateAccessKey", arn("user", "victim"))]
    build(tmp_path, statements, {})
    _scp(tmp_path, [FULL_ACCESS], [FULL_ACCESS, doc({"Effect": "Deny", "Action": "iam:CreateAccessKey",
                                                     "Resource": "*"})], [FULL_ACCESS])
    assert not transfer_edges(tmp_path, "CAN_CREATE_CREDENTIAL", arn("user", "victim"))


def test_scp_allow_list_must_allow_at_every_level(tmp_path):
    statements = [allow("iam:CreateAccessKey", arn("user", "victim")), allow("s3:PutObject", "arn:aws:s3:::b/*")]
    build(tmp_path, statements, {})
    _scp(tmp_path, [FULL_ACCESS], [doc(allow("s3:*"))], [FULL_ACCESS])
    assert not transfer_edges(tmp_path, "CAN_CREATE_CREDENTIAL", arn("user", "victim"))
    result = collect_offline(tmp_path)
    assert [e["target"] for e in result.edges if e["source"] == ATTACKER] == ["aws:arn:aws:s3:::b"]


def test_management_account_is_not_subject_to_scps(tmp_path):
    build(tmp_path, [allow("iam:CreateAccessKey", arn("user", "victim"))], {})
    _scp(tmp_path, [doc({"Effect": "Deny", "Action": "*", "Resource": "*"})])
    assert not transfer_edges(tmp_path, "CAN_CREATE_CREDENTIAL", arn("user", "victim"))
    (tmp_path / "organization.json").write_text(json.dumps({"Organization": {
        "Id": "o-abc123", "MasterAccountId": ACCT, "MasterAccountArn": f"arn:aws:organizations::{ACCT}:account/o-abc123/{ACCT}"}}))
    assert transfer_edges(tmp_path, "CAN_CREATE_CREDENTIAL", arn("user", "victim"))


def grants(*statements, boundary=None):
    result = evaluate([AttachedPolicy(PolicyRef("p", "inline", "u"), parse_statements(doc(*statements)))])
    if boundary is not None:
        result = apply_ceiling(result, parse_statements(doc(*boundary)), "boundary")
    return result


def test_not_resource_grants_everything_but_the_excluded_resources():
    (grant,) = grants({"Effect": "Allow", "Action": "s3:PutObject", "NotResource": "arn:aws:s3:::audit/*"})
    assert grant.resource == "*" and any("NotResource" in c for c in grant.conditions)
    assert grant.excluded == ("arn:aws:s3:::audit/*",)
    assert grant.covers("arn:aws:s3:::reports/x") and not grant.covers("arn:aws:s3:::audit/x")


@pytest.mark.parametrize("condition, text", [
    ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, "aws:SourceIp = 203.0.113.0/24"),
    ({"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}, "aws:PrincipalOrgID = o-abc123"),
    ({"StringEquals": {"sts:ExternalId": "partner-42"}}, "sts:ExternalId = partner-42"),
])
def test_conditions_are_kept_on_the_grant(condition, text):
    (grant,) = grants({"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*", "Condition": condition})
    assert any(text in c for c in grant.conditions) and not grant.mfa_required


def test_external_id_in_a_trust_policy_reaches_the_edge(tmp_path):
    trust = doc({"Effect": "Allow", "Principal": {"AWS": arn("user", "attacker")}, "Action": "sts:AssumeRole",
                 "Condition": {"StringEquals": {"sts:ExternalId": "partner-42"}}})
    write_account(tmp_path, ACCT, users=[user_entry(ACCT, "attacker")], roles=[role_entry(ACCT, "partner", trust)])
    (edge,) = transfer_edges(tmp_path, "CAN_ASSUME", arn("role", "partner"))
    assert edge["conditions"] == ["StringEquals sts:ExternalId = partner-42"]


def test_ceiling_with_mfa_condition_makes_the_grant_need_mfa():
    (grant,) = grants(allow("s3:PutObject"), boundary=[{"Effect": "Allow", "Action": "*", "Resource": "*",
                                                        "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}])
    assert grant.mfa_required


def test_wildcard_actions_and_deny_override_in_the_ceiling():
    (grant,) = grants(allow("s3:*"), boundary=[allow("*"), {"Effect": "Deny", "Action": "s3:Delete*", "Resource": "*"}])
    assert "s3:putobject" in grant.actions and not any(a.startswith("s3:delete") for a in grant.actions)


def test_writing_ones_own_policy_is_admin_of_the_account(tmp_path):
    write_account(tmp_path, ACCT, users=[user_entry(ACCT, "attacker", allow(
        ["iam:PutUserPolicy", "iam:GetUserPolicy"], f"arn:aws:iam::{ACCT}:user/${{aws:username}}"))])
    result = collect_offline(tmp_path)
    (edge,) = [e for e in result.edges if e["source"] == ATTACKER]
    assert (edge["kind"], edge["target"], edge["level"]) == ("HAS_PERMISSION", f"aws:account/{ACCT}", "admin")


def test_reading_ones_own_user_is_not_admin(tmp_path):
    write_account(tmp_path, ACCT, users=[user_entry(ACCT, "attacker", allow(
        ["iam:GetUser", "iam:ListAccessKeys"], f"arn:aws:iam::{ACCT}:user/${{aws:username}}"))])
    assert not [e for e in collect_offline(tmp_path).edges if e["source"] == ATTACKER]


def test_external_saml_provider_users_federate_to_the_role(tmp_path):
    provider = f"arn:aws:iam::{ACCT}:saml-provider/okta"
    trust = doc({"Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithSAML",
                 "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}})
    write_account(tmp_path, ACCT, roles=[role_entry(ACCT, "okta-admins", trust, allow("s3:PutObject", "arn:aws:s3:::prod/*"))])
    result = collect_offline(tmp_path)
    (edge,) = [e for e in result.edges if e["kind"] == "FEDERATES_TO"]
    assert (edge["source"], edge["target"]) == (f"external:saml/{ACCT}/okta", f"aws:{arn('role', 'okta-admins')}")
    assert edge["conditions"] == ["StringEquals SAML:aud = https://signin.aws.amazon.com/saml"]
    group = next(n for n in result.nodes if n["id"] == edge["source"])
    assert (group["kind"], group["human"]) == ("Group", False)


@pytest.mark.parametrize("tags, kind", [((), "ServiceIdentity"), ((("human", "true"),), "User")])
def test_a_user_with_keys_and_no_console_password_is_a_machine_unless_tagged_human(tmp_path, tags, kind):
    write_account(tmp_path, ACCT, users=[user_entry(ACCT, "dana", tags=tags)])
    row = (f"dana,{arn('user', 'dana')},2025-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,"
           "true,2025-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A\n")
    (tmp_path / ACCT / "credential-report.csv").write_text(REPORT_HEADER + row)
    dana = next(n for n in collect_offline(tmp_path).nodes if n["id"] == f"aws:{arn('user', 'dana')}")
    assert dana["kind"] == kind


# ------------------------------------------------------------- EKS access and resource policies


def test_eks_access_entries_and_pod_identity_become_cross_stack_edges(tmp_path):
    write_account(tmp_path, ACCT, users=[user_entry(ACCT, "attacker")],
                  roles=[role_entry(ACCT, "payments", trusting("pods.eks.amazonaws.com"))])
    (tmp_path / ACCT / "eks-clusters.json").write_text(json.dumps({"EksClusters": [{
        "name": "prod-eks", "region": "us-east-1",
        "accessEntries": [{"principalArn": arn("user", "attacker"), "kubernetesGroups": ["deployers"],
                           "associatedAccessPolicies": [
                               {"policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
                                "accessScope": {"type": "cluster", "namespaces": []}},
                               {"policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
                                "accessScope": {"type": "namespace", "namespaces": ["payments"]}}]}],
        "podIdentityAssociations": [{"associationId": "a-1", "namespace": "payments", "serviceAccount": "api",
                                     "roleArn": arn("role", "payments"), "clusterName": "prod-eks"}]}]}))
    result = collect_offline(tmp_path)
    mine = {(e["kind"], e["target"]): e for e in result.edges if e["source"] == ATTACKER}
    assert ("FEDERATES_TO", "k8s:prod-eks/group/deployers") in mine
    assert mine[("HAS_PERMISSION", "k8s:prod-eks")]["level"] == "admin"
    assert mine[("HAS_PERMISSION", "k8s:prod-eks/ns/payments")]["level"] == "write"
    pod = [e for e in result.edges if e["source"] == "k8s:prod-eks/sa/payments/api"]
    assert [(e["kind"], e["target"]) for e in pod] == [("FEDERATES_TO", f"aws:{arn('role', 'payments')}")]


def _bucket_policy(folder: Path, *statements: dict) -> None:
    (folder / ACCT / "resource-policies.json").write_text(json.dumps({"ResourcePolicies": [
        {"Service": "s3", "ResourceArn": "arn:aws:s3:::prod-vault", "Policy": json.dumps(doc(*statements))}]}))


def test_resource_policy_to_a_collected_account_needs_its_identity_policy(tmp_path):
    other = "555555555555"
    write_account(tmp_path, ACCT, users=[user_entry(ACCT, "owner")])
    write_account(tmp_path, other, users=[
        user_entry(other, "writer", allow("s3:PutObject", "arn:aws:s3:::prod-vault/*")), user_entry(other, "reader")])
    _bucket_policy(tmp_path, {"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{other}:root"},
                              "Action": "s3:PutObject", "Resource": "arn:aws:s3:::prod-vault/*"})
    result = collect_offline(tmp_path)
    sources = {e["source"] for e in result.edges if e["target"] == "aws:arn:aws:s3:::prod-vault"
               and "s3 policy" in e["via"]}
    assert sources == {f"aws:arn:aws:iam::{other}:user/writer"}


def test_resource_policy_same_account_root_and_public_grants_draw_no_edge(tmp_path):
    write_account(tmp_path, ACCT, users=[user_entry(ACCT, "owner")])
    _bucket_policy(tmp_path,
                   {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "s3:*",
                    "Resource": "arn:aws:s3:::prod-vault/*"},
                   {"Sid": "Anyone", "Effect": "Allow", "Principal": "*", "Action": "s3:PutObject",
                    "Resource": "arn:aws:s3:::prod-vault/*"})
    result = collect_offline(tmp_path)
    assert not [e for e in result.edges if "s3 policy" in e["via"]]
    assert any("lets any AWS principal write (public)" in n for n in result.coverage.notes)


def test_resource_policy_naming_a_principal_directly(tmp_path):
    write_account(tmp_path, ACCT, users=[user_entry(ACCT, "attacker")])
    _bucket_policy(tmp_path, {"Sid": "Direct", "Effect": "Allow", "Principal": {"AWS": arn("user", "attacker")},
                              "Action": ["s3:PutObject", "s3:GetObject"], "Resource": "arn:aws:s3:::prod-vault/*",
                              "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}})
    (edge,) = [e for e in collect_offline(tmp_path).edges if e["source"] == ATTACKER]
    assert (edge["target"], edge["level"]) == ("aws:arn:aws:s3:::prod-vault", "write")
    assert edge["conditions"] == ["IpAddress aws:SourceIp = 10.0.0.0/8"] and "statement Direct" in edge["via"]


def test_boundary_caps_what_a_user_gets_through_its_groups(tmp_path):
    group = {"Path": "/", "GroupName": "admins", "GroupId": "AGPAADMINS", "Arn": arn("group", "admins"),
             "CreateDate": "2026-01-01T00:00:00+00:00", "AttachedManagedPolicies": [],
             "GroupPolicyList": [{"PolicyName": "all", "PolicyDocument": doc(allow("*"))}]}
    _boundary_account(tmp_path, doc(allow("s3:GetObject", "arn:aws:s3:::reports/*")), [])
    details = tmp_path / ACCT / "authorization-details.json"
    data = json.loads(details.read_text())
    data["UserDetailList"][0]["GroupList"] = ["admins"]
    data["GroupDetailList"] = [group]
    details.write_text(json.dumps(data))
    result = collect_offline(tmp_path)
    mine = [e for e in result.edges if e["source"] == ATTACKER]
    assert [(e["kind"], e["target"], e["level"]) for e in mine] == [
        ("HAS_PERMISSION", "aws:arn:aws:s3:::reports", "read")], "no MEMBER_OF around the boundary"
    assert "all (inline policy on admins)" in mine[0]["via"]
