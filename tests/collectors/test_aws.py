"""AWS IAM offline collector: sample organisation, policy evaluation, trust edge cases, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest

from collectors.aws import collect_offline
from collectors.aws.access_levels import action_level, expand_action
from collectors.aws.policy_documents import AttachedPolicy, PolicyRef, evaluate, parse_statements
from collectors.aws.resources import resolve_target
from graph.records import RecordOrigin, validate_records

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "samples" / "aws"
PROD = "111111111111"
DEV = "222222222222"


def arn_id(resource: str, account: str = PROD) -> str:
    return f"aws:arn:aws:iam::{account}:{resource}"


BOB = arn_id("user/bob.martin")
OPS = arn_id("user/ops-oncall")
CI = arn_id("user/svc-ci-deployer")
METRICS = arn_id("user/svc-metrics")
ETL = arn_id("user/etl-runner")
BREAKGLASS = arn_id("role/prod-breakglass")
REPORTING = arn_id("role/reporting-etl")
IRSA = arn_id("role/payments-irsa")
SSO_PROD = arn_id("role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_ProdDeployer_7a1b2c3d4e5f6a7b")
SSO_DEV = arn_id("role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_DevWriter_1f2e3d4c5b6a7988", DEV)


@pytest.fixture(scope="module")
def sample():
    return collect_offline(SAMPLE)


def nodes_by_id(result) -> dict:
    return {n["id"]: n for n in result.nodes}


def edges_of(result, kind: str, source: str | None = None, target: str | None = None) -> list[dict]:
    return [e for e in result.edges if e["kind"] == kind and (source is None or e["source"] == source)
            and (target is None or e["target"] == target)]


def one_edge(result, kind: str, source: str, target: str) -> dict:
    found = edges_of(result, kind, source, target)
    assert len(found) == 1, f"expected one {kind} {source} -> {target}, got {found}"
    return found[0]


# ---------------------------------------------------------------- the sample organisation


def test_sample_loads_cleanly_and_every_record_validates(sample):
    assert sample.errors == []
    assert sample.coverage.status == "complete"
    checked = validate_records(sample.nodes, sample.edges, RecordOrigin("aws"))
    assert checked.errors == []
    ids = [n["id"] for n in sample.nodes]
    assert len(ids) == len(set(ids)), "node ids must be unique"


def test_coverage_names_files_scopes_counts_and_limits(sample):
    cov = sample.coverage
    assert cov.scopes == [f"aws:account/{PROD}", f"aws:account/{DEV}"]
    assert any(f.endswith(f"{PROD}/authorization-details.json") for f in cov.files)
    assert any(f.endswith("sso-account-assignments.json") for f in cov.files)
    assert cov.counts["nodes.access_key"] == 7
    assert cov.counts["edges.HAS_PERMISSION"] == sum(e["kind"] == "HAS_PERMISSION" for e in sample.edges)
    assert any("scps are not applied" in note.lower() for note in cov.notes)


def test_accounts_take_their_names_from_organizations(sample):
    nodes = nodes_by_id(sample)
    assert nodes[f"aws:account/{PROD}"]["name"] == "lumen-prod"
    assert nodes[f"aws:account/{DEV}"]["name"] == "lumen-dev"
    assert nodes[f"aws:account/{PROD}"]["kind"] == "account"
    assert nodes[f"aws:account/{PROD}"]["scope"] == ""


def test_users_are_split_into_humans_and_machines(sample):
    nodes = nodes_by_id(sample)
    bob = nodes[BOB]
    assert (bob["kind"], bob["human"], bob["mfa"]) == ("User", True, False)
    assert bob["email"] == "bob.martin@lumenfreight.com"
    assert bob["scope"] == f"aws:account/{PROD}"
    assert (nodes[OPS]["kind"], nodes[OPS]["human"], nodes[OPS]["mfa"]) == ("User", True, False)
    for machine in (CI, METRICS, ETL):
        assert nodes[machine]["kind"] == "ServiceIdentity"
        assert nodes[machine]["human"] is False
    assert nodes[arn_id("group/billing-viewers")]["kind"] == "Group"
    assert nodes[BREAKGLASS]["kind"] == "Role" and nodes[BREAKGLASS]["human"] is False


def test_access_keys_come_from_list_access_keys_with_report_usage(sample):
    nodes = nodes_by_id(sample)
    key = nodes["aws:access-key/AKIA5LUMENCIDEPLOY01"]
    assert key["family"] == "Credential" and key["kind"] == "access_key"
    assert key["created"] == "2025-03-11T09:00:00Z"
    assert key["last_used"] == "2026-10-31T22:05:00Z"
    assert key["enabled"] is True and key["expires"] is None
    assert key["key_id"] == "AKIA5LUMENCIDEPLOY01"
    assert nodes["aws:access-key/AKIA5LUMENSVCMETRIC1"]["created"] == "2026-10-22T08:00:00Z"
    assert nodes["aws:access-key/AKIA5LUMENETLRUNNER1"]["created"] == "2026-04-15T00:00:00Z"
    auth = one_edge(sample, "AUTHENTICATES", "aws:access-key/AKIA5LUMENCIDEPLOY01", CI)
    assert auth["mfa"] is False


def test_console_passwords_authenticate_with_the_users_mfa(sample):
    nodes = nodes_by_id(sample)
    for user in (BOB, OPS):
        cred_id = f"aws:password/{user[4:]}"
        assert nodes[cred_id]["kind"] == "password"
        assert one_edge(sample, "AUTHENTICATES", cred_id, user)["mfa"] is False
    assert nodes[f"aws:password/arn:aws:iam::{PROD}:user/bob.martin"]["created"] == "2025-11-20T09:03:12Z"
    assert f"aws:password/{CI[4:]}" not in nodes, "machine users without a console password get none"
    root = f"arn:aws:iam::{PROD}:root"
    assert one_edge(sample, "AUTHENTICATES", f"aws:password/{root}", f"aws:{root}")["mfa"] is True


def test_identity_policies_become_permissions_on_the_most_specific_resource(sample):
    nodes = nodes_by_id(sample)
    artifacts = "aws:arn:aws:s3:::lumen-prod-artifacts"
    grant = one_edge(sample, "HAS_PERMISSION", CI, artifacts)
    assert grant["level"] == "write"
    assert set(grant["actions"]) == {"s3:PutObject", "s3:DeleteObject", "s3:ListBucket"}
    assert grant["via"] == ("ci-deploy-artifacts (inline policy on svc-ci-deployer), statement WriteArtifacts, "
                            "statement ListArtifacts")
    assert grant["mfa_required"] is False
    bucket = nodes[artifacts]
    assert (bucket["kind"], bucket["scope"], bucket["environment"]) == ("bucket", f"aws:account/{PROD}", "unknown")
    table = "aws:arn:aws:dynamodb:us-east-1:111111111111:table/payments-ledger"
    assert one_edge(sample, "HAS_PERMISSION", IRSA, table)["level"] == "write"
    assert nodes[table]["kind"] == "table"
    assert one_edge(sample, "HAS_PERMISSION", SSO_PROD, "aws:arn:aws:s3:::lumen-prod-invoices")["level"] == "write"
    assert one_edge(sample, "HAS_PERMISSION", SSO_DEV, "aws:arn:aws:s3:::lumen-dev-scratch")["level"] == "write"
    assert nodes["aws:arn:aws:s3:::lumen-dev-scratch"]["scope"] == f"aws:account/{DEV}"


def test_star_grants_land_on_the_account_node(sample):
    account = f"aws:account/{PROD}"
    admin = one_edge(sample, "HAS_PERMISSION", BOB, account)
    assert admin["level"] == "admin"
    assert admin["via"] == "AdministratorAccess (managed policy on bob.martin), statement #1"
    assert one_edge(sample, "HAS_PERMISSION", BREAKGLASS, account)["level"] == "admin"
    metrics = one_edge(sample, "HAS_PERMISSION", METRICS, account)
    assert (metrics["level"], metrics["actions"]) == ("write", ["cloudwatch:PutMetricData"])


def test_group_permissions_stay_on_the_group(sample):
    group = arn_id("group/billing-viewers")
    one_edge(sample, "MEMBER_OF", BOB, group)
    read = one_edge(sample, "HAS_PERMISSION", group, f"aws:account/{PROD}")
    assert read["level"] == "read"
    assert read["via"] == "lumen-billing-read (managed policy on billing-viewers), statement CostExplorerRead"
    assert not [e for e in edges_of(sample, "HAS_PERMISSION", BOB) if "billing" in e["via"]]


def test_account_root_trust_needs_an_identity_policy_and_keeps_the_mfa_condition(sample):
    edge = one_edge(sample, "CAN_ASSUME", OPS, BREAKGLASS)
    assert edge["mfa_required"] is True
    assert "Bool aws:MultiFactorAuthPresent = true" in edge["conditions"]
    assert "assume-prod-breakglass (inline policy on ops-oncall)" in edge["via"]
    sources = {e["source"] for e in edges_of(sample, "CAN_ASSUME", target=BREAKGLASS)}
    assert CI not in sources and METRICS not in sources, "no sts:AssumeRole permission, no edge"
    assert BREAKGLASS not in sources


def test_trust_naming_a_principal_directly_gives_an_edge(sample):
    assert one_edge(sample, "CAN_ASSUME", ETL, REPORTING)["mfa_required"] is False
    a, b = arn_id("role/ops-automation-a"), arn_id("role/ops-automation-b")
    one_edge(sample, "CAN_ASSUME", a, b)
    one_edge(sample, "CAN_ASSUME", b, a)


def test_eks_oidc_trust_becomes_federated_subjects_not_an_edge(sample):
    role = nodes_by_id(sample)[IRSA]
    assert role["federated_subjects"] == ["system:serviceaccount:payments:payments-api"]
    assert role["federated_providers"] == [
        "arn:aws:iam::111111111111:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/5C1E0FA4B7D04E2A9F3C"]
    assert [e for e in sample.edges if e["target"] == IRSA] == []


def test_identity_center_assignments_start_at_the_entra_groups(sample):
    prod = one_edge(sample, "CAN_ASSUME", "entra:b2000000-0000-4000-8000-000000000001", SSO_PROD)
    assert prod["mfa_required"] is False
    assert prod["via"] == "IAM Identity Center assignment ProdDeployer in 111111111111"
    one_edge(sample, "CAN_ASSUME", "entra:b2000000-0000-4000-8000-000000000003", SSO_DEV)
    assert not [n for n in sample.nodes if n["id"].startswith("aws:identitystore/")]


def test_rds_db_connect_federates_to_the_database_user(sample):
    dbuser = "aws:arn:aws:rds-db:us-east-1:111111111111:dbuser:db-ORDERSPROD7K2Q/reporting_app"
    edge = one_edge(sample, "FEDERATES_TO", REPORTING, dbuser)
    assert edge["via"] == "rds-iam-connect (inline policy on reporting-etl), statement ConnectAsReportingApp"
    assert not edges_of(sample, "HAS_PERMISSION", REPORTING), "the database collector owns the grants"


def test_no_secret_material_reaches_any_record(tmp_path):
    folder = tmp_path / "aws"
    shutil.copytree(SAMPLE, folder)
    keys = folder / PROD / "access-keys.json"
    data = json.loads(keys.read_text())
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    data[1]["AccessKeyMetadata"][0]["SecretAccessKey"] = secret  # as create-access-key would print it
    keys.write_text(json.dumps(data))
    result = collect_offline(folder)
    text = json.dumps([result.nodes, result.edges])
    assert "AKIA5LUMENETLRUNNER1" in text
    assert secret not in text and "SecretAccessKey" not in text
    assert not any(key.lower() in ("secret", "secretaccesskey", "password_value") for n in result.nodes for key in n)


# ---------------------------------------------------------------- bad input


def test_malformed_account_file_is_an_error_and_the_other_account_still_loads(tmp_path):
    folder = tmp_path / "aws"
    shutil.copytree(SAMPLE, folder)
    broken = folder / DEV / "authorization-details.json"
    broken.write_text('{"UserDetailList": [], "RoleDetailList": [ {"RoleName": ')
    result = collect_offline(folder)
    assert len(result.errors) == 1
    error = result.errors[0]
    assert error.source == "aws" and error.file == str(broken)
    assert "invalid JSON" in error.message and error.fix
    assert result.coverage.status == "partial"
    nodes = nodes_by_id(result)
    assert BOB in nodes and SSO_DEV not in nodes
    assert result.coverage.scopes == [f"aws:account/{PROD}"]
    assert any("DevWriter" in note for note in result.coverage.notes)


def test_wrong_shape_and_bad_entries_are_named_field_by_field(tmp_path):
    folder = tmp_path / "aws"
    shutil.copytree(SAMPLE, folder)
    (folder / DEV / "authorization-details.json").write_text(json.dumps({"UserDetailList": "oops"}))
    prod_file = folder / PROD / "authorization-details.json"
    details = json.loads(prod_file.read_text())
    del details["UserDetailList"][0]["Arn"]  # bob.martin
    details["UserDetailList"][1]["UserPolicyList"][0]["PolicyDocument"] = {"Statement": [{"Effect": "Maybe"}]}
    prod_file.write_text(json.dumps(details))
    result = collect_offline(folder)
    by_field = {e.field: e for e in result.errors}
    assert by_field["UserDetailList"].file.endswith(f"{DEV}/authorization-details.json")
    assert by_field["Arn"].record == "user bob.martin"
    assert "Effect" in by_field["UserPolicyList.assume-reporting-etl.PolicyDocument"].message
    nodes = nodes_by_id(result)
    assert BOB not in nodes and ETL in nodes and CI in nodes
    assert validate_records(result.nodes, result.edges, RecordOrigin("aws")).errors == []


def test_missing_folder_is_reported_not_raised(tmp_path):
    result = collect_offline(tmp_path / "nowhere")
    assert result.coverage.status == "missing" and result.errors


# ---------------------------------------------------------------- policy evaluation


def grants_of(*statements, name="p"):
    policy = AttachedPolicy(PolicyRef(name, "inline", "alice"),
                            parse_statements({"Version": "2012-10-17", "Statement": list(statements)}))
    return evaluate([policy], {"aws:username": "alice"})


def test_action_levels_come_from_policy_sentry():
    assert action_level("s3:getobject") == "read"
    assert action_level("s3:listbucket") == "read"
    assert action_level("s3:putobject") == "write"
    assert action_level("iam:tagrole") == "write"
    # permissions management is write: admin only from full control or from changing one's own permissions
    assert action_level("iam:attachrolepolicy") == "write"
    assert action_level("iam:passrole") == "write"
    assert action_level("s3:putbucketpolicy") == "write"
    assert "s3:putobject" in expand_action("s3:Put*") and "s3:getobject" not in expand_action("s3:Put*")
    assert expand_action("madeup:DoThing") == frozenset({"madeup:dothing"})


def test_not_action_allows_everything_else():
    (grant,) = grants_of({"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"})
    assert "s3:putobject" in grant.actions and "ec2:runinstances" in grant.actions
    assert not any(a.startswith(("iam:", "organizations:")) for a in grant.actions)


def test_explicit_deny_removes_covered_actions():
    grants = grants_of(
        {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::data/*"},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::logs/*"},
        {"Effect": "Deny", "Action": ["s3:Delete*"], "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::logs/*"},
    )
    assert len(grants) == 1, "the logs grant is fully denied"
    assert "s3:deleteobject" not in grants[0].actions and "s3:putobject" in grants[0].actions
    assert grants[0].reduced_by_deny


def test_conditional_or_narrower_deny_is_kept_as_a_condition():
    (grant,) = grants_of(
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::vault/*"},
        {"Effect": "Deny", "Action": "s3:*", "Resource": "*",
         "Condition": {"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}}},
    )
    assert "s3:putobject" in grant.actions
    assert any("part of the resources" in c for c in grant.conditions)
    assert any("aws:RequestedRegion" in c for c in grant.conditions)
    # the unconditional narrower Deny is an exclusion: the grant no longer reaches the vault
    assert grant.covers("arn:aws:s3:::data/x") and not grant.covers("arn:aws:s3:::vault/x")


@pytest.mark.parametrize(("condition", "required"), [
    ({"Bool": {"aws:MultiFactorAuthPresent": "true"}}, True),
    ({"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}, True),
    ({"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}}, False),  # access keys pass IfExists
    ({"NumericLessThanIfExists": {"aws:MultiFactorAuthAge": "3600"}}, False),
    ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, False),
])
def test_mfa_conditions_set_mfa_required(condition, required):
    (grant,) = grants_of({"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*", "Condition": condition})
    assert grant.mfa_required is required
    assert grant.conditions


def test_deny_unless_mfa_makes_the_grant_require_mfa():
    (grant,) = grants_of(
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::data/*"},
        {"Effect": "Deny", "NotAction": ["iam:*MFADevice", "sts:GetSessionToken"], "Resource": "*",
         "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}},
    )
    assert grant.mfa_required is True and "s3:putobject" in grant.actions


def test_policy_variables_are_substituted():
    (grant,) = grants_of({"Effect": "Allow", "Action": "s3:PutObject",
                          "Resource": "arn:aws:s3:::home/${aws:username}/*"})
    assert grant.resource == "arn:aws:s3:::home/alice/*"


@pytest.mark.parametrize(("resource", "node_id", "kind"), [
    ("*", "aws:account/111111111111", "account"),
    ("arn:aws:s3:::lumen-prod-invoices/2026/*", "aws:arn:aws:s3:::lumen-prod-invoices", "bucket"),
    ("arn:aws:s3:::*", "aws:account/111111111111", "account"),
    ("arn:aws:dynamodb:us-east-1:333333333333:table/orders/index/*",
     "aws:arn:aws:dynamodb:us-east-1:333333333333:table/orders", "table"),
    ("arn:aws:kms:us-east-1:111111111111:key/*", "aws:account/111111111111", "account"),
    ("arn:aws:lambda:us-east-1:111111111111:function:billing:*",
     "aws:arn:aws:lambda:us-east-1:111111111111:function:billing", "function"),
    ("arn:aws:secretsmanager:us-east-1:111111111111:secret:prod/db-AbCdEf",
     "aws:arn:aws:secretsmanager:us-east-1:111111111111:secret:prod/db-AbCdEf", "secret"),
    ("arn:aws:sqs:us-east-1:111111111111:orders", "aws:arn:aws:sqs:us-east-1:111111111111:orders", "queue"),
])
def test_resources_resolve_to_the_most_specific_node(resource, node_id, kind):
    target = resolve_target(resource, PROD)
    assert (target.node_id, target.kind) == (node_id, kind)


# ---------------------------------------------------------------- synthetic accounts: trust and IAM targets


def write_account(folder: Path, account: str, users=(), roles=(), groups=(), policies=()) -> Path:
    path = folder / account / "authorization-details.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"UserDetailList": list(users), "GroupDetailList": list(groups),
                                "RoleDetailList": list(roles), "Policies": list(policies)}))
    return path


def doc(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def user_entry(account, name, *statements, tags=()):
    return {"Path": "/", "UserName": name, "UserId": f"AIDA{name.upper()}", "Arn": f"arn:aws:iam::{account}:user/{name}",
            "CreateDate": "2026-01-01T00:00:00+00:00", "GroupList": [], "AttachedManagedPolicies": [],
            "UserPolicyList": [{"PolicyName": f"{name}-policy", "PolicyDocument": doc(*statements)}] if statements
            else [], "Tags": [{"Key": k, "Value": v} for k, v in tags]}


def role_entry(account, name, trust, *statements):
    return {"Path": "/", "RoleName": name, "RoleId": f"AROA{name.upper()}", "Arn": f"arn:aws:iam::{account}:role/{name}",
            "CreateDate": "2026-01-01T00:00:00+00:00", "AssumeRolePolicyDocument": trust,
            "InstanceProfileList": [], "AttachedManagedPolicies": [], "Tags": [], "RoleLastUsed": {},
            "RolePolicyList": [{"PolicyName": f"{name}-policy", "PolicyDocument": doc(*statements)}] if statements
            else []}


ACCT = "333333333333"


def test_trust_edge_cases(tmp_path):
    assume_all = {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}
    roles = [
        role_entry(ACCT, "cross", doc({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
                                       "Action": "sts:AssumeRole"})),
        role_entry(ACCT, "bare", doc({"Effect": "Allow", "Principal": {"AWS": ACCT}, "Action": "sts:AssumeRole"})),
        role_entry(ACCT, "lambda-fn", doc({"Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com"]},
                                           "Action": "sts:AssumeRole"})),
        role_entry(ACCT, "gha", doc({"Effect": "Allow", "Principal": {
            "Federated": f"arn:aws:iam::{ACCT}:oidc-provider/token.actions.githubusercontent.com"},
            "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringLike": {
                "token.actions.githubusercontent.com:sub": "repo:lumen/deploy:ref:refs/heads/main"}}})),
        role_entry(ACCT, "orphan", doc({"Effect": "Allow", "Principal": {"AWS": "AROADELETEDROLE123456"},
                                        "Action": "sts:AssumeRole"})),
    ]
    write_account(tmp_path, ACCT, users=[user_entry(ACCT, "alice", assume_all), user_entry(ACCT, "carol")],
                  roles=roles)
    result = collect_offline(tmp_path)
    assert result.errors == []
    nodes = nodes_by_id(result)
    alice, carol = f"aws:arn:aws:iam::{ACCT}:user/alice", f"aws:arn:aws:iam::{ACCT}:user/carol"
    bare = f"aws:arn:aws:iam::{ACCT}:role/bare"
    assert one_edge(result, "CAN_ASSUME", alice, bare)["mfa_required"] is False
    assert not edges_of(result, "CAN_ASSUME", carol), "carol has no sts:AssumeRole permission"
    assert not edges_of(result, "CAN_ASSUME", target=f"aws:arn:aws:iam::{ACCT}:role/cross")
    assert any("999999999999" in n and "not collected" in n for n in result.coverage.notes)
    assert nodes[f"aws:arn:aws:iam::{ACCT}:role/lambda-fn"]["trusted_services"] == ["lambda.amazonaws.com"]
    assert not edges_of(result, "CAN_ASSUME", target=f"aws:arn:aws:iam::{ACCT}:role/lambda-fn")
    gha = "external:oidc/token.actions.githubusercontent.com/repo:lumen/deploy:ref:refs/heads/main"
    assert nodes[gha]["provider"] == "external" and nodes[gha]["human"] is False
    one_edge(result, "FEDERATES_TO", gha, f"aws:arn:aws:iam::{ACCT}:role/gha")
    assert any("AROADELETEDROLE123456" in n for n in result.coverage.notes)
    assert validate_records(result.nodes, result.edges, RecordOrigin("aws")).errors == []


def test_cross_account_root_trust_of_a_collected_account(tmp_path):
    write_account(tmp_path, ACCT, roles=[role_entry(ACCT, "shared", doc(
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444444444444:root"}, "Action": "sts:AssumeRole"}))])
    write_account(tmp_path, "444444444444", users=[user_entry("444444444444", "dave", {
        "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{ACCT}:role/shared",
        "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}})])
    result = collect_offline(tmp_path)
    edge = one_edge(result, "CAN_ASSUME", "aws:arn:aws:iam::444444444444:user/dave",
                    f"aws:arn:aws:iam::{ACCT}:role/shared")
    assert edge["mfa_required"] is True, "the identity policy's MFA condition carries over"


def test_iam_actions_on_named_identities_become_transfer_edges(tmp_path):
    write_account(tmp_path, ACCT, users=[
        user_entry(ACCT, "admin-lite",
                   {"Effect": "Allow", "Action": "iam:PassRole", "Resource": f"arn:aws:iam::{ACCT}:role/app"},
                   {"Effect": "Allow", "Action": ["lambda:CreateFunction", "lambda:InvokeFunction"],
                    "Resource": "*"},
                   {"Effect": "Allow", "Action": "iam:CreateAccessKey", "Resource": f"arn:aws:iam::{ACCT}:user/bot"},
                   {"Effect": "Allow", "Action": "iam:PutRolePolicy", "Resource": f"arn:aws:iam::{ACCT}:role/app"},
                   {"Effect": "Allow", "Action": "iam:AttachUserPolicy", "Resource": f"arn:aws:iam::{ACCT}:user/*"},
                   {"Effect": "Allow", "Action": "rds-db:connect",
                    "Resource": f"arn:aws:rds-db:us-east-1:{ACCT}:dbuser:db-ABC/*"}),
        user_entry(ACCT, "bot")],
        roles=[role_entry(ACCT, "app", doc({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                            "Action": "sts:AssumeRole"}))])
    result = collect_offline(tmp_path)
    me, app, bot = (f"aws:arn:aws:iam::{ACCT}:{r}" for r in ("user/admin-lite", "role/app", "user/bot"))
    one_edge(result, "CAN_RUN_AS", me, app)
    one_edge(result, "CAN_GRANT", me, app)
    one_edge(result, "CAN_CREATE_CREDENTIAL", me, bot)
    assert one_edge(result, "HAS_PERMISSION", me, f"aws:account/{ACCT}")["level"] == "admin"
    assert not edges_of(result, "FEDERATES_TO", me)
    assert any("rds-db:connect" in n and "wildcard" in n for n in result.coverage.notes)


def test_full_service_wildcard_is_admin_of_the_resource_but_not_of_its_objects(tmp_path):
    write_account(tmp_path, ACCT, users=[user_entry(
        ACCT, "ops", {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::vault"},
        {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::drop/*"},
        {"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::logs/*"})])
    result = collect_offline(tmp_path)
    me = f"aws:arn:aws:iam::{ACCT}:user/ops"
    assert one_edge(result, "HAS_PERMISSION", me, "aws:arn:aws:s3:::vault")["level"] == "admin"
    assert one_edge(result, "HAS_PERMISSION", me, "aws:arn:aws:s3:::drop")["level"] == "write"
    assert one_edge(result, "HAS_PERMISSION", me, "aws:arn:aws:s3:::logs")["level"] == "read"


def test_paged_and_url_encoded_exports_are_accepted(tmp_path):
    statement = doc({"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::x/*"})
    entry = user_entry(ACCT, "paged")
    entry["UserPolicyList"] = [{"PolicyName": "enc", "PolicyDocument": quote(json.dumps(statement))}]
    pages = [{"UserDetailList": [entry], "GroupDetailList": [], "RoleDetailList": [], "Policies": [],
              "IsTruncated": True, "Marker": "abc"},
             {"UserDetailList": [user_entry(ACCT, "second")], "GroupDetailList": [], "RoleDetailList": [],
              "Policies": [], "IsTruncated": False}]
    (tmp_path / "details.json").write_text(json.dumps(pages))
    result = collect_offline(tmp_path)
    assert result.errors == []
    nodes = nodes_by_id(result)
    assert f"aws:arn:aws:iam::{ACCT}:user/second" in nodes
    one_edge(result, "HAS_PERMISSION", f"aws:arn:aws:iam::{ACCT}:user/paged", "aws:arn:aws:s3:::x")
    assert any("no credential report" in n for n in result.coverage.notes)
    assert nodes[f"aws:arn:aws:iam::{ACCT}:user/paged"]["mfa"] is None, "unknown without a report"


def test_without_list_access_keys_ids_are_synthesised_from_the_report(tmp_path):
    folder = tmp_path / "aws"
    shutil.copytree(SAMPLE, folder)
    (folder / PROD / "access-keys.json").unlink()
    result = collect_offline(folder)
    nodes = nodes_by_id(result)
    key_id = f"aws:access-key/arn:aws:iam::{PROD}:user/svc-ci-deployer#1"
    assert nodes[key_id]["created"] == "2025-03-11T09:00:00Z" and nodes[key_id]["key_id"] is None
    one_edge(result, "AUTHENTICATES", key_id, CI)
    assert "aws:access-key/AKIA5LUMENCIDEPLOY01" not in nodes
    assert any("list-access-keys" in n for n in result.coverage.notes)


def test_identity_center_groups_not_from_entra_get_their_own_node(tmp_path):
    folder = tmp_path / "aws"
    shutil.copytree(SAMPLE, folder)
    groups = folder / "identity-center" / "identitystore-groups.json"
    data = json.loads(groups.read_text())
    data["Groups"][0]["ExternalIds"] = [{"Issuer": "https://scim.aws.com/x", "Id": "00g1a2b3c4OktaId"}]
    groups.write_text(json.dumps(data))
    result = collect_offline(folder)
    group_id = "aws:identitystore/d-9067a1b2c3/group/90671234-aaaa-bbbb-cccc-000000000001"
    assert nodes_by_id(result)[group_id]["kind"] == "Group"
    one_edge(result, "CAN_ASSUME", group_id, SSO_PROD)
    assert not edges_of(result, "CAN_ASSUME", "entra:b2000000-0000-4000-8000-000000000001")


REPORT_HEADER = ("user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
                 "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
                 "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
                 "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
                 "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
                 "cert_1_last_rotated,cert_2_active,cert_2_last_rotated")


def test_two_keys_are_matched_to_report_slots_by_creation_time(tmp_path):
    path = write_account(tmp_path, ACCT, users=[user_entry(ACCT, "deploy-bot", tags=[("type", "service")])])
    arn = f"arn:aws:iam::{ACCT}:user/deploy-bot"
    cells = ["deploy-bot", arn, "2024-01-01T00:00:00+00:00", "false", "N/A", "N/A", "N/A", "false",
             "false", "2024-01-02T00:00:00+00:00", "2024-06-01T00:00:00+00:00", "us-east-1", "s3",
             "true", "2026-09-01T00:00:00+00:00", "2026-10-30T00:00:00+00:00", "eu-west-1", "sqs",
             "false", "N/A", "false", "N/A"]
    (path.parent / "credential-report.csv").write_text(f"{REPORT_HEADER}\n{','.join(cells)}\n")
    (path.parent / "access-keys.json").write_text(json.dumps({"AccessKeyMetadata": [
        {"UserName": "deploy-bot", "AccessKeyId": "AKIANEWER00000000002", "Status": "Active",
         "CreateDate": "2026-09-01T00:00:00+00:00"},
        {"UserName": "deploy-bot", "AccessKeyId": "AKIAOLDER00000000001", "Status": "Inactive",
         "CreateDate": "2024-01-02T00:00:00+00:00"}]}))
    result = collect_offline(tmp_path)
    nodes = nodes_by_id(result)
    old, new = nodes["aws:access-key/AKIAOLDER00000000001"], nodes["aws:access-key/AKIANEWER00000000002"]
    assert (old["enabled"], old["last_used"]) == (False, "2024-06-01T00:00:00Z")
    assert (new["enabled"], new["last_used"], new["last_used_service"]) == (True, "2026-10-30T00:00:00Z", "sqs")
    assert nodes[f"aws:{arn}"]["kind"] == "ServiceIdentity"
    assert f"aws:password/{arn}" not in nodes


def test_pure_transforms_on_single_sample_files():
    """Each file's transform works on its own, without the collect_offline wiring."""
    from collectors.aws.credentials import index_report, sign_in_facts
    from collectors.aws.exports import Exports, classify
    from collectors.aws.identity_center import transform_identity_center
    from collectors.aws.transform import load_account, transform_user
    from collectors.base import read_csv, read_json

    exports = Exports()
    path = SAMPLE / PROD / "authorization-details.json"
    classify(path, read_json(path, "aws"), exports)
    data = load_account(exports.authorization_details[0], None)
    assert data.account == PROD and data.errors == []
    assert sorted(data.users) == ["bob.martin", "etl-runner", "jenna.kim", "ops-oncall", "svc-ci-deployer",
                                  "svc-lambda-deployer", "svc-metrics", "svc-policy-sync", "svc-release-bot",
                                  "svc-report-builder"]
    assert sorted(data.roles) == ["AWSReservedSSO_ProdDeployer_7a1b2c3d4e5f6a7b", "billing-api-irsa", "github-deploy",
                                  "ops-automation-a", "ops-automation-b", "payments-irsa", "prod-breakglass",
                                  "prod-lambda-admin", "release-approver", "release-deployer", "reporting-etl"]
    report, errors = index_report(read_csv(SAMPLE / PROD / "credential-report.csv", "aws"), SAMPLE)
    assert errors == [] and len(report) == 11
    ops = transform_user(data.users["ops-oncall"], sign_in_facts(report[data.users["ops-oncall"].arn]))
    assert (ops["kind"], ops["mfa"], ops["console_access"]) == ("User", False, True)

    center = Exports()
    for file in sorted((SAMPLE / "identity-center").glob("*.json")):
        classify(file, read_json(file, "aws"), center)
    records = transform_identity_center(center.identity_center, {PROD: data.roles})
    assert [(e["source"], e["target"]) for e in records.edges] == [
        ("entra:b2000000-0000-4000-8000-000000000001", SSO_PROD)]
    assert any("222222222222" in note and "not collected" in note for note in records.notes)


# ---------------------------------------------------------------- escalation and federation in the sample

def test_sample_escalations_are_drawn(sample):
    run_as = one_edge(sample, "CAN_RUN_AS", arn_id("user/svc-lambda-deployer"), arn_id("role/prod-lambda-admin"))
    assert run_as["techniques"] == ["aws.lambda.pass-role-create-function"] and "statement PassLambdaAdmin" in run_as["via"]
    key = one_edge(sample, "CAN_CREATE_CREDENTIAL", arn_id("user/jenna.kim"), BOB)
    assert key["actions"] == ["iam:CreateAccessKey"]
    one_edge(sample, "CAN_GRANT", arn_id("user/svc-policy-sync"), arn_id("role/release-deployer"))


def test_sample_boundary_and_scp_block_their_escalations(sample):
    assert not edges_of(sample, "CAN_RUN_AS", arn_id("user/svc-report-builder"))
    assert not edges_of(sample, "HAS_PERMISSION", arn_id("user/svc-report-builder")), "the boundary leaves nothing"
    assert not edges_of(sample, "CAN_CREATE_CREDENTIAL", arn_id("user/lee.park", DEV))


def test_sample_github_actions_and_billing_irsa_federation(sample):
    github = "external:oidc/token.actions.githubusercontent.com/repo:lumen/deploy:*"
    one_edge(sample, "FEDERATES_TO", github, arn_id("role/github-deploy"))
    billing = nodes_by_id(sample)[arn_id("role/billing-api-irsa")]
    assert billing["federated_subjects"] == ["system:serviceaccount:billing:billing-api"]
    one_edge(sample, "FEDERATES_TO", arn_id("role/billing-api-irsa"),
             "aws:arn:aws:rds-db:us-east-1:111111111111:dbuser:db-BILLINGPROD4M8X/billing_api")
