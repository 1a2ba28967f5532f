"""Live AWS collection against a real moto server over HTTP, then the offline transform on its output.

moto (5.x) answers IAM, STS, Organizations, S3, KMS, Secrets Manager, SQS, SNS, Lambda, EC2 and EKS
over HTTP like AWS does. Where it falls short it is said next to the test that covers that path
with botocore's Stubber instead: it returns get_account_authorization_details / list_users in one
page (no Marker), so paging is proven with recorded real-shape pages.
"""

from __future__ import annotations

import json
import re

import boto3
import pytest
from click.testing import CliRunner

from collectors.aws import collect_offline
from crosspath.cli import main
from tests.collectors.aws_throttle import ThrottlingProxy
from tests.moto_server import moto_server

ACCOUNT = "123456789012"
OIDC_HOST = "oidc.eks.us-east-1.amazonaws.com/id/ABCDEF0123456789"


@pytest.fixture(scope="module")
def moto_endpoint():
    mp = pytest.MonkeyPatch()
    with moto_server(mp) as url:
        yield url
    mp.undo()


def _client(endpoint: str, service: str):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")


def _doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture(scope="module")
def lumen_account(moto_endpoint):
    """A small account built with boto3 through the server, the way an admin would."""
    iam = _client(moto_endpoint, "iam")
    iam.create_user(UserName="alice", Tags=[{"Key": "email", "Value": "alice@example.com"}])
    iam.create_login_profile(UserName="alice", Password="Not-A-Real-Pass-1!")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice")["VirtualMFADevice"]
    iam.enable_mfa_device(UserName="alice", SerialNumber=device["SerialNumber"],
                          AuthenticationCode1="123456", AuthenticationCode2="654321")
    iam.create_user(UserName="bob")
    iam.create_login_profile(UserName="bob", Password="Not-A-Real-Pass-2!")
    iam.create_user(UserName="svc-deployer")
    iam.create_access_key(UserName="svc-deployer")
    iam.create_access_key(UserName="svc-deployer")

    iam.create_group(GroupName="admins")
    iam.attach_group_policy(GroupName="admins", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    iam.add_user_to_group(GroupName="admins", UserName="bob")

    iam.put_user_policy(UserName="svc-deployer", PolicyName="deploy", PolicyDocument=_doc(
        {"Sid": "Artifacts", "Effect": "Allow", "Action": ["s3:PutObject"], "Resource": "arn:aws:s3:::prod-artifacts/*"},
        {"Sid": "PassDeployRole", "Effect": "Allow", "Action": "iam:PassRole",
         "Resource": f"arn:aws:iam::{ACCOUNT}:role/lambda-admin"},
        {"Sid": "Functions", "Effect": "Allow", "Action": ["lambda:CreateFunction", "lambda:InvokeFunction"], "Resource": "*"},
    ))
    boundary = iam.create_policy(PolicyName="only-s3-read", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}))["Policy"]["Arn"]
    iam.create_user(UserName="carol", PermissionsBoundary=boundary)
    iam.attach_user_policy(UserName="carol", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")

    iam.create_role(RoleName="breakglass", AssumeRolePolicyDocument=_doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/alice"}, "Action": "sts:AssumeRole",
         "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}))
    iam.attach_role_policy(RoleName="breakglass", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    iam.create_role(RoleName="lambda-admin", AssumeRolePolicyDocument=_doc(
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}))
    iam.attach_role_policy(RoleName="lambda-admin", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    provider = iam.create_open_id_connect_provider(Url=f"https://{OIDC_HOST}", ClientIDList=["sts.amazonaws.com"],
                                                   ThumbprintList=["a" * 40])["OpenIDConnectProviderArn"]
    iam.create_role(RoleName="orders-irsa", AssumeRolePolicyDocument=_doc(
        {"Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithWebIdentity",
         "Condition": {"StringEquals": {f"{OIDC_HOST}:sub": "system:serviceaccount:orders:api"}}}))
    iam.put_role_policy(RoleName="orders-irsa", PolicyName="orders-table", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": "dynamodb:PutItem",
         "Resource": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders"}))

    iam.create_role(RoleName="ec2-admin", AssumeRolePolicyDocument=_doc(
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}))
    iam.attach_role_policy(RoleName="ec2-admin", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    iam.create_instance_profile(InstanceProfileName="ec2-admin")
    iam.add_role_to_instance_profile(InstanceProfileName="ec2-admin", RoleName="ec2-admin")
    iam.create_user(UserName="ops-helper")
    iam.put_user_policy(UserName="ops-helper", PolicyName="ops", PolicyDocument=_doc(
        {"Sid": "Shell", "Effect": "Allow", "Action": "ssm:StartSession", "Resource": "*"},
        {"Sid": "Patch", "Effect": "Allow", "Action": ["lambda:UpdateFunctionCode", "lambda:InvokeFunction"],
         "Resource": "*"}))
    ec2 = _client(moto_endpoint, "ec2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, IamInstanceProfile={"Name": "ec2-admin"})
    _client(moto_endpoint, "lambda").create_function(
        FunctionName="billing", Runtime="python3.12", Role=f"arn:aws:iam::{ACCOUNT}:role/lambda-admin",
        Handler="app.handler", Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18})

    org = _client(moto_endpoint, "organizations")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    scp = org.create_policy(Name="deny-leaving", Type="SERVICE_CONTROL_POLICY", Description="",
                            Content=_doc({"Effect": "Deny", "Action": "organizations:LeaveOrganization",
                                          "Resource": "*"}))["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=scp, TargetId=root)

    sqs = boto3.client("sqs", endpoint_url=moto_endpoint, region_name="eu-west-1")
    queue = sqs.create_queue(QueueName="eu-orders")["QueueUrl"]
    queue_arn = f"arn:aws:sqs:eu-west-1:{ACCOUNT}:eu-orders"
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"Policy": _doc(
        {"Sid": "PartnerSends", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::888888888888:root"},
         "Action": "sqs:SendMessage", "Resource": queue_arn})})

    # Identity Center: moto has one instance. It does not provision the AWSReservedSSO_* role nor list
    # provisioned accounts, so the role is created by hand and the collector asks its own account.
    sso = _client(moto_endpoint, "sso-admin")
    instance = sso.list_instances()["Instances"][0]
    group = _client(moto_endpoint, "identitystore").create_group(
        IdentityStoreId=instance["IdentityStoreId"], DisplayName="Prod-Deployers")["GroupId"]
    permission_set = sso.create_permission_set(InstanceArn=instance["InstanceArn"],
                                               Name="ProdDeployer")["PermissionSet"]["PermissionSetArn"]
    sso.create_account_assignment(InstanceArn=instance["InstanceArn"], TargetId=ACCOUNT, TargetType="AWS_ACCOUNT",
                                  PermissionSetArn=permission_set, PrincipalType="GROUP", PrincipalId=group)
    iam.create_role(RoleName="AWSReservedSSO_ProdDeployer_0a1b2c3d4e5f6a7b", Path="/aws-reserved/sso.amazonaws.com/",
                    AssumeRolePolicyDocument=_doc({"Effect": "Allow", "Principal": {
                        "Federated": f"arn:aws:iam::{ACCOUNT}:saml-provider/AWSSSO_0a1b2c3d_DO_NOT_DELETE"},
                        "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"]}))

    s3 = _client(moto_endpoint, "s3")
    s3.create_bucket(Bucket="prod-artifacts")
    s3.put_bucket_policy(Bucket="prod-artifacts", Policy=_doc(
        {"Sid": "PartnerWrites", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
         "Action": "s3:PutObject", "Resource": "arn:aws:s3:::prod-artifacts/*"}))
    return moto_endpoint


@pytest.fixture(scope="module")
def collected(lumen_account, tmp_path_factory):
    out = tmp_path_factory.mktemp("live")
    result = CliRunner().invoke(main, ["collect", "aws", "--endpoint-url", lumen_account, "--region", "us-east-1",
                                       "--region", "eu-west-1", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_live_run_writes_the_export_files_the_offline_collector_reads(collected):
    out, output = collected
    folder = out / "aws" / ACCOUNT
    for name in ("authorization-details.json", "credential-report.csv", "access-keys.json", "mfa-devices.json",
                 "resource-policies.json"):
        assert (folder / name).is_file(), name
    assert "collected 1 account(s)" in output
    log = json.loads((out / "aws" / "collection.json").read_text())
    assert log["scopes"] == [f"aws:account/{ACCOUNT}"]
    assert log["counts"]["access keys"] == 2
    assert json.loads((out / "manifest.json").read_text())["sources"]["aws"]


def test_role_arn_collects_through_an_assumed_audit_role(lumen_account, tmp_path):
    audit = f"arn:aws:iam::{ACCOUNT}:role/breakglass"
    result = CliRunner().invoke(main, ["collect", "aws", "--endpoint-url", lumen_account, "--role-arn", audit,
                                       "--out", str(tmp_path), "--quiet"])
    assert result.exit_code == 0, result.output
    log = json.loads((tmp_path / "aws" / "collection.json").read_text())
    assert log["scopes"] == [f"aws:account/{ACCOUNT}"] and log["counts"]["UserDetailList"] >= 5
    for path in (tmp_path / "aws").rglob("*.*"):
        text = path.read_text()
        assert not re.search(r'"(SecretAccessKey|SessionToken)"\s*:', text), f"credential material in {path}"


def test_live_exports_give_identities_credentials_and_mfa(collected):
    out, _ = collected
    result = collect_offline(out / "aws")
    assert not result.errors, result.errors
    nodes = {n["id"]: n for n in result.nodes}
    alice = nodes[f"aws:arn:aws:iam::{ACCOUNT}:user/alice"]
    bob = nodes[f"aws:arn:aws:iam::{ACCOUNT}:user/bob"]
    assert (alice["mfa"], bob["mfa"]) == (True, False)
    assert nodes[f"aws:arn:aws:iam::{ACCOUNT}:user/svc-deployer"]["kind"] == "ServiceIdentity"
    keys = [n for n in result.nodes if n["kind"] == "access_key" and "svc-deployer" in n["owner"]]
    assert len(keys) == 2 and all(k["key_id"].startswith(("AKIA", "ASIA")) for k in keys)
    password = {e["source"]: e for e in result.edges if e["kind"] == "AUTHENTICATES"}
    assert password[f"aws:password/arn:aws:iam::{ACCOUNT}:user/bob"]["mfa"] is False
    assert password[f"aws:password/arn:aws:iam::{ACCOUNT}:user/alice"]["mfa"] is True


def test_live_exports_give_trust_federation_and_group_admin(collected):
    out, _ = collected
    result = collect_offline(out / "aws")
    edges = {(e["source"], e["target"], e["kind"]): e for e in result.edges}
    user = f"aws:arn:aws:iam::{ACCOUNT}:user/"
    role = f"aws:arn:aws:iam::{ACCOUNT}:role/"
    assume = edges[(user + "alice", role + "breakglass", "CAN_ASSUME")]
    assert assume["mfa_required"] is True
    group_admin = edges[(f"aws:arn:aws:iam::{ACCOUNT}:group/admins", f"aws:account/{ACCOUNT}", "HAS_PERMISSION")]
    assert group_admin["level"] == "admin"
    irsa = next(n for n in result.nodes if n["id"] == role + "orders-irsa")
    assert irsa["federated_subjects"] == ["system:serviceaccount:orders:api"]
    run_as = edges[(user + "svc-deployer", role + "lambda-admin", "CAN_RUN_AS")]
    assert "lambda:CreateFunction" in " ".join(run_as["actions"]) and "PassDeployRole" in run_as["via"]


def test_live_exports_give_ssm_and_function_code_escalation(collected):
    out, _ = collected
    result = collect_offline(out / "aws")
    helper = f"aws:arn:aws:iam::{ACCOUNT}:user/ops-helper"
    run_as = {e["target"]: e for e in result.edges if e["source"] == helper and e["kind"] == "CAN_RUN_AS"}
    assert "aws.ssm.start-session" in run_as[f"aws:arn:aws:iam::{ACCOUNT}:role/ec2-admin"]["techniques"]
    assert "aws.lambda.update-function-code" in run_as[f"aws:arn:aws:iam::{ACCOUNT}:role/lambda-admin"]["techniques"]


def test_live_organization_export_names_the_management_account(collected):
    out, _ = collected
    levels = json.loads((out / "aws" / ACCOUNT / "service-control-policies.json").read_text())
    names = [p["PolicySummary"]["Name"] for level in levels["ServiceControlPolicyLevels"] for p in level["Policies"]]
    assert "deny-leaving" in names and "FullAWSAccess" in names
    result = collect_offline(out / "aws")
    assert any("management account" in n for n in result.coverage.notes)


def test_identity_center_assignment_reaches_the_reserved_sso_role(collected):
    out, _ = collected
    result = collect_offline(out / "aws")
    (edge,) = [e for e in result.edges if e["kind"] == "CAN_ASSUME" and "AWSReservedSSO_ProdDeployer" in e["target"]]
    assert edge["source"].startswith("aws:identitystore/") and "/group/" in edge["source"]
    assert edge["via"] == f"IAM Identity Center assignment ProdDeployer in {ACCOUNT}"


def test_every_requested_region_is_collected(collected):
    out, _ = collected
    result = collect_offline(out / "aws")
    grant = next(e for e in result.edges if e["target"] == f"aws:arn:aws:sqs:eu-west-1:{ACCOUNT}:eu-orders")
    assert (grant["source"], grant["level"]) == ("aws:arn:aws:iam::888888888888:root", "write")
    assert "PartnerSends" in grant["via"]


def test_boundary_is_in_the_export_even_where_moto_leaves_it_out(collected):
    """moto 5 omits PermissionsBoundary from get_account_authorization_details (AWS includes it), so
    boundary evaluation is proven on real-shape exports in test_aws_evaluation.py; here only that the
    boundary policy itself is exported for it."""
    out, _ = collected
    pages = json.loads((out / "aws" / ACCOUNT / "authorization-details.json").read_text())
    arns = {p["Arn"] for page in pages for p in page["Policies"]}
    assert f"arn:aws:iam::{ACCOUNT}:policy/only-s3-read" in arns


def test_bucket_policy_from_live_export_grants_the_other_account(collected):
    out, _ = collected
    result = collect_offline(out / "aws")
    grant = next(e for e in result.edges if e["target"] == "aws:arn:aws:s3:::prod-artifacts"
                 and e["source"] == "aws:arn:aws:iam::999999999999:root")
    assert grant["level"] == "write" and "PartnerWrites" in grant["via"]


# ----------------------------------------------------------------------------------------------
# Where moto falls short: it answers get_account_authorization_details and list_access_keys in one
# page (no IsTruncated / Marker), never says a report is still being generated and never denies a
# call. Those paths run on botocore's Stubber with responses in the real API's shape.

def _stubbed_collector(tmp_path, services):
    import boto3
    from botocore.stub import Stubber

    from collectors.aws.live import Collector
    from collectors.live import LiveRun

    run = LiveRun("aws", tmp_path, quiet=True)
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    collector = Collector(session, run)
    collector.account = ACCOUNT
    stubs = {}
    for service in services:
        client = session.client(service, region_name="us-east-1")
        collector.use_client(service, client)
        stubs[service] = Stubber(client)
        stubs[service].activate()
    return collector, run, stubs


def _user(name: str) -> dict:
    return {"Path": "/", "UserName": name, "UserId": f"AIDA{name.upper():0<17}"[:21],
            "Arn": f"arn:aws:iam::{ACCOUNT}:user/{name}", "CreateDate": "2025-01-01T00:00:00Z",
            "UserPolicyList": [], "GroupList": [], "AttachedManagedPolicies": [], "Tags": []}


def test_authorization_details_and_access_keys_follow_every_page(tmp_path):
    collector, run, stubs = _stubbed_collector(tmp_path, ["iam"])
    iam = stubs["iam"]
    iam.add_response("get_account_authorization_details",
                     {"UserDetailList": [_user("ann")], "GroupDetailList": [], "RoleDetailList": [], "Policies": [],
                      "IsTruncated": True, "Marker": "page-2"}, {})
    iam.add_response("get_account_authorization_details",
                     {"UserDetailList": [_user("ben")], "GroupDetailList": [], "RoleDetailList": [], "Policies": [],
                      "IsTruncated": False}, {"Marker": "page-2"})
    key = {"UserName": "ben", "Status": "Active", "CreateDate": "2024-01-01T00:00:00Z"}
    iam.add_response("list_access_keys", {"AccessKeyMetadata": [], "IsTruncated": False}, {"UserName": "ann"})
    iam.add_response("list_mfa_devices", {"MFADevices": [], "IsTruncated": False}, {"UserName": "ann"})
    # ben's keys come on two pages
    iam.add_response("list_access_keys", {"AccessKeyMetadata": [dict(key, AccessKeyId="AKIAPAGEONE000000001")],
                                          "IsTruncated": True, "Marker": "k2"}, {"UserName": "ben"})
    iam.add_response("list_access_keys", {"AccessKeyMetadata": [dict(key, AccessKeyId="AKIAPAGETWO000000002")],
                                          "IsTruncated": False}, {"UserName": "ben", "Marker": "k2"})
    iam.add_response("list_mfa_devices", {"MFADevices": [], "IsTruncated": False}, {"UserName": "ben"})

    with run.progress() as bar:
        pages = collector.authorization_details()
        collector.per_user([u["UserName"] for p in pages for u in p["UserDetailList"]], bar)
    iam.assert_no_pending_responses()
    result = collect_offline(tmp_path / "aws")
    ids = {n["id"] for n in result.nodes}
    assert {f"aws:arn:aws:iam::{ACCOUNT}:user/ann", f"aws:arn:aws:iam::{ACCOUNT}:user/ben"} <= ids
    assert {"aws:access-key/AKIAPAGEONE000000001", "aws:access-key/AKIAPAGETWO000000002"} <= ids


def test_credential_report_is_awaited_until_complete(tmp_path, monkeypatch):
    monkeypatch.setattr("collectors.aws.live.time.sleep", lambda _: None)
    collector, _, stubs = _stubbed_collector(tmp_path, ["iam"])
    iam = stubs["iam"]
    iam.add_response("generate_credential_report", {"State": "STARTED", "Description": "No report exists."}, {})
    iam.add_response("generate_credential_report", {"State": "INPROGRESS"}, {})
    iam.add_response("generate_credential_report", {"State": "COMPLETE"}, {})
    csv = ("user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
           "password_next_rotation,mfa_active\n"
           f"ann,arn:aws:iam::{ACCOUNT}:user/ann,2025-01-01T00:00:00+00:00,true,N/A,N/A,N/A,false\n")
    iam.add_response("get_credential_report", {"Content": csv.encode(), "ReportFormat": "text/csv",
                                               "GeneratedTime": "2026-11-01T00:00:00Z"}, {})
    collector.credential_report()
    iam.assert_no_pending_responses()
    assert (tmp_path / "aws" / ACCOUNT / "credential-report.csv").read_text() == csv


def test_a_denied_call_is_logged_and_the_run_goes_on(tmp_path):
    collector, run, stubs = _stubbed_collector(tmp_path, ["organizations", "sso-admin"])
    stubs["organizations"].add_response("describe_organization", {"Organization": {
        "Id": "o-abc123", "MasterAccountId": ACCOUNT, "FeatureSet": "ALL"}}, {})
    stubs["organizations"].add_client_error("list_accounts", "AccessDeniedException",
                                            "User is not authorized to perform: organizations:ListAccounts")
    stubs["organizations"].add_client_error("list_policies_for_target", "AccessDeniedException",
                                            "User is not authorized to perform: organizations:ListPoliciesForTarget")
    stubs["sso-admin"].add_response("list_instances", {"Instances": []}, {})
    collector.organization()
    collector.identity_center()
    stubs["organizations"].assert_no_pending_responses()
    stubs["sso-admin"].assert_no_pending_responses()
    assert [(p.call, p.kind) for p in run.problems] == [("organizations:ListAccounts", "denied"),
                                                        ("organizations:ListPoliciesForTarget", "denied")]
    run.finish()
    (tmp_path / "aws" / ACCOUNT).mkdir(parents=True, exist_ok=True)
    (tmp_path / "aws" / ACCOUNT / "authorization-details.json").write_text(json.dumps(
        {"UserDetailList": [_user("ann")], "GroupDetailList": [], "RoleDetailList": [], "Policies": []}))
    result = collect_offline(tmp_path / "aws")
    assert result.coverage.status == "partial"
    assert any("live collection denied: organizations:ListAccounts" in n for n in result.coverage.notes)


def test_a_standalone_account_says_no_scp_applies(tmp_path):
    collector, run, stubs = _stubbed_collector(tmp_path, ["organizations"])
    stubs["organizations"].add_client_error("describe_organization", "AWSOrganizationsNotInUseException",
                                            "Your account is not a member of an organization.")
    collector.organization()
    assert run.problems == []
    written = json.loads((tmp_path / "aws" / ACCOUNT / "service-control-policies.json").read_text())
    assert written["NotInOrganization"] is True and written["ServiceControlPolicyLevels"] == []


def test_a_call_denied_for_every_user_is_logged_once(tmp_path):
    collector, run, stubs = _stubbed_collector(tmp_path, ["iam"])
    for user in ("ann", "ben", "cy"):
        stubs["iam"].add_client_error("list_access_keys", "AccessDenied", "not authorized", expected_params={
            "UserName": user})
        stubs["iam"].add_response("list_mfa_devices", {"MFADevices": [], "IsTruncated": False}, {"UserName": user})
    with run.progress() as bar:
        collector.per_user(["ann", "ben", "cy"], bar)
    stubs["iam"].assert_no_pending_responses()
    assert [(p.call, p.kind) for p in run.problems] == [("iam:ListAccessKeys", "denied")]


# --- throttling: botocore's retry (adaptive mode) against real throttled HTTP answers ---------------


@pytest.fixture
def throttling(lumen_account):
    proxy = ThrottlingProxy(lumen_account).start()
    yield proxy
    proxy.stop()


def _collect_through(proxy: ThrottlingProxy, out) -> dict:
    result = CliRunner().invoke(main, ["collect", "aws", "--endpoint-url", proxy.url, "--region", "us-east-1",
                                       "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    return json.loads((out / "aws" / "collection.json").read_text())


def test_throttling_then_success_is_retried_by_botocore_and_the_collection_is_whole(throttling, collected, tmp_path):
    """`Throttling` (IAM's XML) and `ThrottlingException` (Organizations' JSON) answers, then success."""
    wanted = {"GetAccountAuthorizationDetails": 2, "ListAccessKeys": 1, "DescribeOrganization": 1}
    throttling.throttle.update(wanted)
    log = _collect_through(throttling, tmp_path)
    assert log["problems"] == []
    assert dict(throttling.throttled) == wanted  # each was throttled as asked ...
    assert throttling.calls["GetAccountAuthorizationDetails"] == 3 and throttling.calls["DescribeOrganization"] == 2
    unthrottled, _ = collected  # ... and the export holds what an unthrottled run's does
    for name in (f"{ACCOUNT}/access-keys.json", f"{ACCOUNT}/mfa-devices.json", "organization.json"):
        assert json.loads((tmp_path / "aws" / name).read_text()) == json.loads((unthrottled / "aws" / name).read_text())
    assert _principals(tmp_path) == _principals(unthrottled)
    assert collect_offline(tmp_path / "aws").coverage.status == "complete"


def _principals(out) -> dict[str, set[str]]:
    """Who authorization-details.json lists (the last-used times of roles change between runs)."""
    pages = json.loads((out / "aws" / ACCOUNT / "authorization-details.json").read_text())
    return {key: {item.get("Arn") for page in pages for item in page.get(key, [])}
            for key in ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")}


def test_throttling_that_never_clears_is_recorded_as_throttled_after_max_attempts(throttling, tmp_path,
                                                                                  monkeypatch):
    from botocore.retries import bucket
    from botocore.retries.standard import ExponentialBackoff

    from collectors.aws.live import RETRY_CONFIG, Collector
    from collectors.live import LiveRun

    # Both of botocore's waits are seen but made instant, so the test shows them without taking minutes:
    # the retry backoff (asked once per retry) and adaptive mode's client-side rate limiter (its token
    # bucket, consulted before each send once a throttle was seen; standard mode has none).
    backoffs: list[int] = []
    monkeypatch.setattr(ExponentialBackoff, "delay_amount",
                        lambda self, context: backoffs.append(context.attempt_number) or 0)
    rate_limited: list[int] = []
    monkeypatch.setattr(bucket.TokenBucket, "acquire",
                        lambda self, amount=1, block=True: rate_limited.append(amount) or True)
    throttling.throttle["ListAccounts"] = 10**6
    run = LiveRun("aws", tmp_path, quiet=True)
    collector = Collector(boto3.Session(region_name="us-east-1"), run, endpoint_url=throttling.url)
    assert collector.identify() == ACCOUNT
    collector.organization()
    collector.identity_center()
    retries = RETRY_CONFIG["retries"]["max_attempts"]
    assert RETRY_CONFIG["retries"]["mode"] == "adaptive"
    assert throttling.calls["ListAccounts"] == retries + 1  # the first call and 10 retries, then given up
    assert backoffs == list(range(1, retries + 1))
    assert len(rate_limited) >= retries  # adaptive mode's rate limiter held every resend after a throttle
    assert [(p.call, p.kind) for p in run.problems] == [("organizations:ListAccounts", "throttled")]
    assert "ThrottlingException" in run.problems[0].error
    assert (tmp_path / "aws" / "organization.json").is_file()  # the calls before and after went on
    assert (tmp_path / "aws" / "identity-center" / "sso-instances.json").is_file()
    run.finish()
    (tmp_path / "aws" / ACCOUNT / "authorization-details.json").write_text(json.dumps(
        {"UserDetailList": [_user("ann")], "GroupDetailList": [], "RoleDetailList": [], "Policies": []}))
    result = collect_offline(tmp_path / "aws")
    assert result.coverage.status == "partial"
    assert any("live collection throttled: organizations:ListAccounts" in n for n in result.coverage.notes)


def test_collect_without_credentials_says_why_and_scan_says_the_collection_failed(tmp_path, monkeypatch):
    for key in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    out = tmp_path / "exports"
    collect = CliRunner().invoke(main, ["collect", "aws", "--region", "us-east-1", "--out", str(out), "--quiet"])
    assert collect.exit_code != 0
    assert "collected 0 account(s)" not in collect.output
    assert "no AWS credentials found: set AWS_PROFILE" in collect.output
    assert "NoCredentialsError" in collect.output

    scan = CliRunner().invoke(main, ["scan", str(out), "--out", str(tmp_path / "out")])
    assert scan.exit_code == 4
    assert "not a recognised AWS export" not in scan.output
    assert "aws: collection failed: the live collection failed and collected nothing: no AWS credentials found" \
        in scan.output
