"""`crosspath collect aws`: live, read-only collection with boto3 into the export files the
offline collector reads (docs/collectors/aws.md), under OUT/aws/<account-id>/.

One session per account: the standard credential chain (`--profile`, SSO, env vars, instance
role), optionally an audit role per account (`--role-arn`, repeatable). botocore retries in
adaptive mode (client-side rate limiting on throttling); a denied call is logged in
collection.json and the run goes on. Every call is a List / Get / Describe (plus
GenerateCredentialReport, which only asks IAM to build the report).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any

import click

from collectors.aws.workloads import KINDS
from collectors.live import LOG_NAME, LiveRun, failure_reason, out_option, quiet_option

SOURCE = "aws"
RETRY_CONFIG = {"retries": {"mode": "adaptive", "max_attempts": 10}}  # 10 retries: 11 attempts in all
_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError",
           "AWSOrganizationsNotInUseException", "AccessDeniedForDependencyException"}
_ABSENT = {"NoSuchBucketPolicy", "ResourceNotFoundException", "NoSuchEntity"}
REPORT_WAIT_SECONDS = 60


class Collector:
    """Collects one account with one boto3 session."""

    def __init__(self, session: Any, run: LiveRun, endpoint_url: str | None = None,
                 regions: list[str] | tuple[str, ...] | None = None):
        self.session = session
        self.run = run
        self.endpoint_url = endpoint_url
        self.regions = list(regions or [session.region_name or "us-east-1"])
        self.region = self.regions[0]  # the region regional calls go to right now
        self.config = retry_config()
        self.account = ""
        self._clients: dict[str, Any] = {}
        self._refused: set[tuple[str, str]] = set()  # (call, error code) already logged
        self.failures = 0  # calls denied or failed so far (an inventory read with none is complete)
        self.cache: dict[tuple[str, str], Any] = {}  # (what, region) -> a read shared by two inventory kinds

    def client(self, service: str) -> Any:
        key = service if service in _GLOBAL else f"{service}@{self.region}"
        if key not in self._clients:
            self._clients[key] = self.session.client(service, region_name=self.region,
                                                     endpoint_url=self.endpoint_url, config=self.config)
        return self._clients[key]

    def use_client(self, service: str, client: Any) -> None:
        """Use a prepared client for service in the current region (e.g. one wrapped in botocore's Stubber)."""
        self._clients[service if service in _GLOBAL else f"{service}@{self.region}"] = client

    def call(self, name: str, fn: Callable[[], Any], scope: str | None = None) -> Any:
        """Run one API call; a denied or failed call is recorded and returns None."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _ABSENT:
                return None
            self.failures += 1
            kind = "denied" if code in _DENIED or "AccessDenied" in code else (
                "throttled" if "Throttl" in code else "failed")
            # A per-user or per-resource call denied once is denied for all: log it once.
            if (name, code) not in self._refused:
                self._refused.add((name, code))
                self.run.denied(name, scope or f"aws:account/{self.account}", exc, kind)
        except BotoCoreError as exc:
            self.failures += 1
            self.run.denied(name, scope or f"aws:account/{self.account}", exc, "failed")
        return None

    def pages(self, service: str, operation: str, **kwargs: Any) -> list[dict[str, Any]] | None:
        """Every page of a paginated call (None when denied)."""
        def fetch() -> list[dict[str, Any]]:
            paginator = self.client(service).get_paginator(operation)
            return [_clean(page) for page in paginator.paginate(**kwargs)]
        return self.call(f"{service}:{_api_name(operation)}", fetch)

    # -- per area ------------------------------------------------------------------------------

    def identify(self) -> str | None:
        identity = self.call("sts:GetCallerIdentity", lambda: self.client("sts").get_caller_identity(),
                             scope="aws")
        if identity:
            self.account = str(identity["Account"])
        return self.account or None

    def authorization_details(self) -> list[dict[str, Any]] | None:
        pages = self.pages("iam", "get_account_authorization_details")
        if pages is not None:
            self.run.write(f"{self.account}/authorization-details.json", pages)
            for key in ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"):
                self.run.count(key, sum(len(p.get(key, [])) for p in pages))
        return pages

    def credential_report(self) -> None:
        iam = self.client("iam")
        deadline = time.monotonic() + REPORT_WAIT_SECONDS
        while True:
            state = self.call("iam:GenerateCredentialReport", iam.generate_credential_report)
            if state is None:
                return
            if state.get("State") == "COMPLETE" or time.monotonic() > deadline:
                break
            time.sleep(2)
        report = self.call("iam:GetCredentialReport", iam.get_credential_report)
        if report is None:
            return
        content = report["Content"]
        text = content.decode("utf-8") if isinstance(content, bytes) else base64.b64decode(content).decode()
        self.run.write(f"{self.account}/credential-report.csv", text if text.endswith("\n") else text + "\n")
        self.run.count("credential report rows", max(0, len(text.strip().splitlines()) - 1))

    def per_user(self, users: list[str], bar: Any) -> None:
        """Access key ids and MFA devices (no batch API for either; the report carries usage)."""
        keys: list[dict[str, Any]] = []
        devices: list[dict[str, Any]] = []
        for user in self.run.track(users, f"{self.account}: access keys, MFA devices", bar):
            listed = self.pages("iam", "list_access_keys", UserName=user)
            if listed is not None:
                keys.extend(listed)
            mfa = self.pages("iam", "list_mfa_devices", UserName=user)
            if mfa is not None:
                devices.extend(mfa)
        self.run.write(f"{self.account}/access-keys.json", keys or {"AccessKeyMetadata": []})
        self.run.write(f"{self.account}/mfa-devices.json", devices or {"MFADevices": []})
        self.run.count("access keys", sum(len(p.get("AccessKeyMetadata", [])) for p in keys))
        self.run.count("MFA devices", sum(len(p.get("MFADevices", [])) for p in devices))

    def organization(self) -> None:
        """Accounts and the service control policies in force on this account, level by level."""
        from botocore.exceptions import ClientError

        org = self.client("organizations")
        standalone = False

        def describe() -> Any:
            nonlocal standalone
            try:
                return org.describe_organization()
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "AWSOrganizationsNotInUseException":
                    raise
                standalone = True
                return None

        described = self.call("organizations:DescribeOrganization", describe)
        if standalone:
            # A standalone account: no SCP can apply, which is worth saying explicitly.
            self.run.write(f"{self.account}/service-control-policies.json",
                           {"AccountId": self.account, "ServiceControlPolicyLevels": [], "NotInOrganization": True})
            return
        if described:
            self.run.write("organization.json", _clean(described))
        accounts = self.pages("organizations", "list_accounts")
        if accounts is not None:
            self.run.write("organizations-accounts.json", accounts)
        levels: list[dict[str, Any]] = []
        target = self.account
        for _ in range(7):  # the account, up to five OU levels, the root
            documents = self._scps_on(target)
            if documents is None:
                return
            levels.append({"TargetId": target, "Policies": documents})
            parents = self.call("organizations:ListParents", lambda t=target: org.list_parents(ChildId=t))
            if not parents or not parents.get("Parents"):
                break
            parent = parents["Parents"][0]
            target = parent["Id"]
            if parent.get("Type") == "ROOT":
                documents = self._scps_on(target)
                if documents is None:
                    return
                levels.append({"TargetId": target, "Policies": documents})
                break
        self.run.write(f"{self.account}/service-control-policies.json",
                       {"AccountId": self.account, "ServiceControlPolicyLevels": levels})
        self.run.count("SCP levels", len(levels))

    def _scps_on(self, target: str) -> list[dict[str, Any]] | None:
        org = self.client("organizations")
        pages = self.pages("organizations", "list_policies_for_target", TargetId=target,
                           Filter="SERVICE_CONTROL_POLICY")
        if pages is None:
            return None
        documents = []
        for summary in (p for page in pages for p in page.get("Policies", [])):
            described = self.call("organizations:DescribePolicy",
                                  lambda pid=summary["Id"]: org.describe_policy(PolicyId=pid))
            if described is None:
                return None
            documents.append(_clean(described["Policy"]))
        return documents

    def identity_center(self) -> None:
        instances = self.pages("sso-admin", "list_instances")
        if not instances:
            return
        items = [i for page in instances for i in page.get("Instances", [])]
        if not items:
            return
        folder = "identity-center"
        self.run.write(f"{folder}/sso-instances.json", instances)
        sso = self.client("sso-admin")
        groups: list[dict[str, Any]] = []
        users: list[dict[str, Any]] = []
        memberships: list[dict[str, Any]] = []
        permission_sets: list[dict[str, Any]] = []
        assignments: list[dict[str, Any]] = []
        for instance in items:
            arn, store = instance["InstanceArn"], instance["IdentityStoreId"]
            groups.extend(self.pages("identitystore", "list_groups", IdentityStoreId=store) or [])
            users.extend(self.pages("identitystore", "list_users", IdentityStoreId=store) or [])
            for group in (g for page in groups for g in page.get("Groups", [])):
                memberships.extend(self.pages("identitystore", "list_group_memberships", IdentityStoreId=store,
                                              GroupId=group["GroupId"]) or [])
            listed = self.pages("sso-admin", "list_permission_sets", InstanceArn=arn) or []
            for ps in (p for page in listed for p in page.get("PermissionSets", [])):
                described = self.call("sso:DescribePermissionSet", lambda p=ps, a=arn: sso.describe_permission_set(
                    InstanceArn=a, PermissionSetArn=p))
                if described:
                    permission_sets.append(_clean(described))
                accounts = self.pages("sso-admin", "list_accounts_for_provisioned_permission_set",
                                      InstanceArn=arn, PermissionSetArn=ps) or []
                # The account being collected is always asked, provisioned or not (assignments
                # pending provisioning still say who will get the role).
                targets = {a for page in accounts for a in page.get("AccountIds", [])} | {self.account}
                for account in sorted(targets):
                    assignments.extend(self.pages("sso-admin", "list_account_assignments", InstanceArn=arn,
                                                  AccountId=account, PermissionSetArn=ps) or [])
        for name, data in (("identitystore-groups", groups), ("identitystore-users", users),
                           ("identitystore-group-memberships", memberships),
                           ("sso-permission-sets", permission_sets), ("sso-account-assignments", assignments)):
            if data:
                self.run.write(f"{folder}/{name}.json", data)
        self.run.count("Identity Center permission sets", len(permission_sets))

    def resource_policies(self, bar: Any) -> None:
        """Resource-based policies that can grant other principals access (written as found)."""
        found: list[dict[str, Any]] = _s3_policies(self)
        steps = [(region, reader) for region in self.regions for reader in _REGIONAL_READERS]
        for region, reader in self.run.track(steps, f"{self.account}: resource policies", bar):
            self.region = region
            found.extend(reader(self))
        self.run.write(f"{self.account}/resource-policies.json", {"ResourcePolicies": found})
        self.run.count("resource policies", sum(1 for f in found if f.get("Policy")))

    def compute(self) -> None:
        """EC2 instances with an instance profile (SSM SendCommand / StartSession targets) and EKS access."""
        reservations: list[dict[str, Any]] = []
        clusters: list[dict[str, Any]] = []
        instances_readable, clusters_readable = True, False
        for region in self.regions:
            self.region = region
            before = self.failures
            found = self._instances()
            if found is None or self.failures != before:
                instances_readable = False  # a partial instance inventory would hide instances
            else:
                reservations.extend(found)
            described = self._clusters()
            if described is not None:
                clusters_readable = True
                clusters.extend(described)
        if instances_readable:
            self.run.write(f"{self.account}/ec2-instances.json", {"Reservations": reservations})
            self.run.count("EC2 instances", sum(len(r["Instances"]) for r in reservations))
        if clusters_readable:
            self.run.write(f"{self.account}/eks-clusters.json", {"EksClusters": clusters})
            self.run.count("EKS clusters", len(clusters))

    def workloads(self, bar: Any) -> None:
        """The workload inventory (collectors.aws.workloads): one file per kind in the API's response shape,
        over every region. A kind's file is written only when every call for it succeeded in every region:
        an incomplete inventory would hide the workloads it misses, while a missing one is known to be
        missing (the techniques then draw assumed edges). Each denied call is in collection.json."""
        found: dict[str, list[Any]] = {kind: [] for kind, _ in _WORKLOAD_READERS}
        complete = dict.fromkeys(found, True)
        steps = [(region, kind, reader) for region in self.regions for kind, reader in _WORKLOAD_READERS]
        for region, kind, reader in self.run.track(steps, f"{self.account}: workloads", bar):
            if not self._offered(kind, region):
                continue  # the service does not exist in the region: it has no workloads there
            self.region = region
            before = self.failures
            items = reader(self)
            if items is None or self.failures != before:
                complete[kind] = False
            else:
                found[kind].extend(items)
        for kind, items in found.items():
            if not complete[kind]:
                continue
            spec = KINDS[kind]
            self.run.write(f"{self.account}/{spec.file}", items if spec.per_item else {spec.key: items})
            self.run.count(f"{spec.label}s", len(items))

    def _offered(self, kind: str, region: str) -> bool:
        """Is the kind's service in the region (botocore's endpoint data; unknown counts as offered)?"""
        service = _CLIENT_OF.get(KINDS[kind].service, KINDS[kind].service)
        try:
            regions = self.session.get_available_regions(service)
        except Exception:  # noqa: BLE001 (a session without endpoint data: ask the region anyway)
            return True
        return not regions or region in regions

    def _instances(self) -> list[dict[str, Any]] | None:
        pages = self.pages("ec2", "describe_instances")
        if pages is None:
            return None
        # Only what the SSM techniques need: which instance runs with which instance profile.
        kept = ("InstanceId", "IamInstanceProfile", "State", "Placement", "Tags")
        return [{"ReservationId": r.get("ReservationId"), "OwnerId": r.get("OwnerId"),
                 "Instances": [{k: i[k] for k in kept if k in i} for i in r.get("Instances", [])]}
                for page in pages for r in page.get("Reservations", [])]

    def _clusters(self) -> list[dict[str, Any]] | None:
        listed = self.pages("eks", "list_clusters")
        if listed is None:
            return None
        eks = self.client("eks")
        out = []
        for name in (c for page in listed for c in page.get("clusters", [])):
            entry: dict[str, Any] = {"name": name, "region": self.region}
            described = self.call("eks:DescribeCluster", lambda n=name: eks.describe_cluster(name=n))
            if described:
                entry["arn"] = described["cluster"].get("arn")
                entry["oidcIssuer"] = ((described["cluster"].get("identity") or {}).get("oidc") or {}).get("issuer")
            entries = self.pages("eks", "list_access_entries", clusterName=name) or []
            entry["accessEntries"] = []
            for principal in (p for page in entries for p in page.get("accessEntries", [])):
                detail = self.call("eks:DescribeAccessEntry", lambda n=name, p=principal: eks.describe_access_entry(
                    clusterName=n, principalArn=p))
                policies = self.pages("eks", "list_associated_access_policies", clusterName=name,
                                      principalArn=principal) or []
                entry["accessEntries"].append({
                    "principalArn": principal,
                    "kubernetesGroups": (detail or {}).get("accessEntry", {}).get("kubernetesGroups", []),
                    "username": (detail or {}).get("accessEntry", {}).get("username"),
                    "associatedAccessPolicies": [a for page in policies
                                                 for a in page.get("associatedAccessPolicies", [])],
                })
            associations = self.pages("eks", "list_pod_identity_associations", clusterName=name) or []
            entry["podIdentityAssociations"] = []
            for summary in (a for page in associations for a in page.get("associations", [])):
                detail = self.call("eks:DescribePodIdentityAssociation",
                                   lambda n=name, s=summary: eks.describe_pod_identity_association(
                                       clusterName=n, associationId=s["associationId"]))
                if detail:
                    entry["podIdentityAssociations"].append(_clean(detail["association"]))
            out.append(entry)
        return out


def _policy(service: str, arn: str, document: Any) -> dict[str, Any]:
    return {"Service": service, "ResourceArn": arn, "Policy": document}


def _s3_policies(c: Collector) -> list[dict[str, Any]]:
    s3 = c.client("s3")
    listed = c.call("s3:ListAllMyBuckets", s3.list_buckets) or {}
    out = []
    for bucket in listed.get("Buckets", []):
        name = bucket["Name"]
        policy = c.call("s3:GetBucketPolicy", lambda n=name: s3.get_bucket_policy(Bucket=n),
                        scope=f"aws:arn:aws:s3:::{name}")
        if policy and policy.get("Policy"):
            out.append(_policy("s3", f"arn:aws:s3:::{name}", policy["Policy"]))
    return out


def _kms_policies(c: Collector) -> list[dict[str, Any]]:
    kms = c.client("kms")
    out = []
    for key in (k for page in c.pages("kms", "list_keys") or [] for k in page.get("Keys", [])):
        policy = c.call("kms:GetKeyPolicy", lambda k=key: kms.get_key_policy(KeyId=k["KeyId"], PolicyName="default"),
                        scope=f"aws:{key['KeyArn']}")
        if policy and policy.get("Policy"):
            out.append(_policy("kms", key["KeyArn"], policy["Policy"]))
    return out


def _secret_policies(c: Collector) -> list[dict[str, Any]]:
    sm = c.client("secretsmanager")
    out = []
    for secret in (s for page in c.pages("secretsmanager", "list_secrets") or [] for s in page.get("SecretList", [])):
        policy = c.call("secretsmanager:GetResourcePolicy",
                        lambda s=secret: sm.get_resource_policy(SecretId=s["ARN"]), scope=f"aws:{secret['ARN']}")
        if policy and policy.get("ResourcePolicy"):
            out.append(_policy("secretsmanager", secret["ARN"], policy["ResourcePolicy"]))
    return out


def _sqs_policies(c: Collector) -> list[dict[str, Any]]:
    sqs = c.client("sqs")
    out = []
    for url in (u for page in c.pages("sqs", "list_queues") or [] for u in page.get("QueueUrls", [])):
        attrs = c.call("sqs:GetQueueAttributes", lambda u=url: sqs.get_queue_attributes(
            QueueUrl=u, AttributeNames=["Policy", "QueueArn"]))
        attributes = (attrs or {}).get("Attributes", {})
        if attributes.get("Policy"):
            out.append(_policy("sqs", attributes.get("QueueArn", url), attributes["Policy"]))
    return out


def _sns_policies(c: Collector) -> list[dict[str, Any]]:
    sns = c.client("sns")
    out = []
    for topic in (t for page in c.pages("sns", "list_topics") or [] for t in page.get("Topics", [])):
        attrs = c.call("sns:GetTopicAttributes", lambda t=topic: sns.get_topic_attributes(TopicArn=t["TopicArn"]))
        policy = (attrs or {}).get("Attributes", {}).get("Policy")
        if policy:
            out.append(_policy("sns", topic["TopicArn"], policy))
    return out


def _lambda_policies(c: Collector) -> list[dict[str, Any]]:
    client = c.client("lambda")
    out = []
    for function in (f for page in c.pages("lambda", "list_functions") or [] for f in page.get("Functions", [])):
        policy = c.call("lambda:GetPolicy", lambda f=function: client.get_policy(FunctionName=f["FunctionName"]))
        if policy and policy.get("Policy"):
            out.append(_policy("lambda", function["FunctionArn"], policy["Policy"]))
        out.append({"Service": "lambda", "ResourceArn": function["FunctionArn"], "ExecutionRole": function.get("Role")})
    return out


def _listed(c: Collector, service: str, operation: str, key: str, **kwargs: Any) -> list[Any] | None:
    pages = c.pages(service, operation, **kwargs)
    return None if pages is None else [item for page in pages for item in page.get(key, [])]


def _functions(c: Collector) -> list[Any] | None:
    return _listed(c, "lambda", "list_functions", "Functions")


def _event_source_mappings(c: Collector) -> list[Any] | None:
    return _listed(c, "lambda", "list_event_source_mappings", "EventSourceMappings")


def _launch_template_versions(c: Collector) -> list[Any] | None:
    # Every template's latest and default version (no template named: all of them).
    return _listed(c, "ec2", "describe_launch_template_versions", "LaunchTemplateVersions",
                   Versions=["$Latest", "$Default"])


def _autoscaling_groups(c: Collector) -> list[Any] | None:
    return _listed(c, "autoscaling", "describe_auto_scaling_groups", "AutoScalingGroups")


def _ecs_clusters(c: Collector) -> list[Any] | None:
    arns = _listed(c, "ecs", "list_clusters", "clusterArns")
    if arns is None:
        return None
    ecs = c.client("ecs")  # DescribeClusters takes up to 100 clusters
    return _described_in_batches(c, arns, "ecs:DescribeClusters", lambda a: ecs.describe_clusters(clusters=a),
                                 "clusters")


def _ecs_services(c: Collector) -> list[Any] | None:
    """Every cluster's services (describe-services, merged over clusters and batches of 10)."""
    if ("ecs-services", c.region) in c.cache:
        return c.cache[("ecs-services", c.region)]
    before = c.failures
    arns = _listed(c, "ecs", "list_clusters", "clusterArns")
    if arns is None:
        return None
    ecs = c.client("ecs")
    out: list[Any] = []
    for cluster in arns:
        services = _listed(c, "ecs", "list_services", "serviceArns", cluster=cluster)
        if services is None:
            return None
        for start in range(0, len(services), 10):  # DescribeServices takes up to 10 services
            described = c.call("ecs:DescribeServices", lambda cl=cluster, s=services[start:start + 10]:
                               ecs.describe_services(cluster=cl, services=s))
            out.extend((described or {}).get("services", []))
    if c.failures == before:
        c.cache[("ecs-services", c.region)] = out
    return out


def _ecs_task_definitions(c: Collector) -> list[Any] | None:
    """The task definitions the region's services run (the roles their tasks get)."""
    services = _ecs_services(c)
    if services is None:
        return None
    ecs = c.client("ecs")
    wanted = sorted({s["taskDefinition"] for s in services if s.get("taskDefinition")})
    return _each_described(c, wanted, "ecs:DescribeTaskDefinition",
                           lambda arn: ecs.describe_task_definition(taskDefinition=arn))


def _described_in_batches(c: Collector, names: list[Any], action: str, describe: Callable[[list[Any]], Any],
                          key: str, size: int = 100) -> list[Any]:
    """The items a batch describe call returns under key, for names `size` at a time."""
    out: list[Any] = []
    for start in range(0, len(names), size):
        described = c.call(action, lambda batch=names[start:start + size]: describe(batch))
        out.extend((described or {}).get(key, []))
    return out


def _each_described(c: Collector, summaries: list[Any], action: str,
                    describe: Callable[[Any], Any]) -> list[Any]:
    """The per-item describe output of each listed summary (a failed call is recorded by `c.call`)."""
    out = []
    for summary in summaries:
        described = c.call(action, lambda s=summary: describe(s))
        if described:
            out.append(_clean(described))
    return out


def _stacks(c: Collector) -> list[Any] | None:
    return _listed(c, "cloudformation", "describe_stacks", "Stacks")


def _stack_sets(c: Collector) -> list[Any] | None:
    summaries = _listed(c, "cloudformation", "list_stack_sets", "Summaries", Status="ACTIVE")
    if summaries is None:
        return None
    cfn = c.client("cloudformation")
    return _each_described(c, summaries, "cloudformation:DescribeStackSet",
                           lambda s: cfn.describe_stack_set(StackSetName=s["StackSetName"]))


def _projects(c: Collector) -> list[Any] | None:
    names = _listed(c, "codebuild", "list_projects", "projects")
    if names is None:
        return None
    codebuild = c.client("codebuild")  # BatchGetProjects takes up to 100 names
    return _described_in_batches(c, names, "codebuild:BatchGetProjects",
                                 lambda n: codebuild.batch_get_projects(names=n), "projects")


def _dev_endpoints(c: Collector) -> list[Any] | None:
    return _listed(c, "glue", "get_dev_endpoints", "DevEndpoints")


def _glue_jobs(c: Collector) -> list[Any] | None:
    return _listed(c, "glue", "get_jobs", "Jobs")


def _notebooks(c: Collector) -> list[Any] | None:
    summaries = _listed(c, "sagemaker", "list_notebook_instances", "NotebookInstances")
    if summaries is None:
        return None
    sagemaker = c.client("sagemaker")
    return _each_described(c, summaries, "sagemaker:DescribeNotebookInstance", lambda s:
                           sagemaker.describe_notebook_instance(NotebookInstanceName=s["NotebookInstanceName"]))


def _apprunner_services(c: Collector) -> list[Any] | None:
    apprunner = c.client("apprunner")
    summaries: list[Any] = []
    token: str | None = None
    while True:  # ListServices has no botocore paginator
        page = c.call("apprunner:ListServices", lambda t=token: apprunner.list_services(**({"NextToken": t} if t else {})))
        if page is None:
            return None
        summaries.extend(page.get("ServiceSummaryList", []))
        token = page.get("NextToken")
        if not token:
            break
    return _each_described(c, summaries, "apprunner:DescribeService",
                           lambda s: apprunner.describe_service(ServiceArn=s["ServiceArn"]))


def _code_interpreters(c: Collector) -> list[Any] | None:
    summaries = _listed(c, "bedrock-agentcore-control", "list_code_interpreters", "codeInterpreterSummaries")
    if summaries is None:
        return None
    control = c.client("bedrock-agentcore-control")
    return _each_described(c, summaries, "bedrock-agentcore:GetCodeInterpreter",
                           lambda s: control.get_code_interpreter(codeInterpreterId=s["codeInterpreterId"]))


# Inventory kind -> its reader for the current region (collectors.aws.workloads.KINDS; EC2 instances are
# read with the EKS clusters, `compute`).
_WORKLOAD_READERS: list[tuple[str, Callable[[Collector], list[Any] | None]]] = [
    ("function", _functions), ("event-source-mapping", _event_source_mappings),
    ("launch-template", _launch_template_versions), ("autoscaling-group", _autoscaling_groups),
    ("ecs-cluster", _ecs_clusters), ("ecs-service", _ecs_services), ("ecs-task-definition", _ecs_task_definitions),
    ("stack", _stacks), ("stack-set", _stack_sets), ("project", _projects), ("dev-endpoint", _dev_endpoints),
    ("glue-job", _glue_jobs), ("notebook-instance", _notebooks), ("apprunner-service", _apprunner_services),
    ("code-interpreter", _code_interpreters),
]

_CLIENT_OF = {"bedrock-agentcore": "bedrock-agentcore-control"}  # inventory service -> boto3 client name

_REGIONAL_READERS = [_kms_policies, _secret_policies, _sqs_policies, _sns_policies, _lambda_policies]
# Services whose API is global: one client whatever the region.
_GLOBAL = {"iam", "sts", "organizations", "s3"}


def retry_config() -> Any:
    """botocore's Config for every client: adaptive retries. A fresh dict each time, as botocore
    rewrites the one it is given (max_attempts becomes total_max_attempts)."""
    from botocore.config import Config

    return Config(retries=dict(RETRY_CONFIG["retries"]))


def _api_name(operation: str) -> str:
    return "".join(part.capitalize() for part in operation.split("_"))


def _clean(value: Any) -> Any:
    """Drop botocore's ResponseMetadata; keep the native response shape."""
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k != "ResponseMetadata"}
    return value


def collect_account(session: Any, run: LiveRun, endpoint_url: str | None = None,
                    regions: list[str] | tuple[str, ...] | None = None) -> str | None:
    """Collect one account; returns its id (None when even sts:GetCallerIdentity failed)."""
    collector = Collector(session, run, endpoint_url, regions)
    if collector.identify() is None:
        return None
    run.scopes.append(f"aws:account/{collector.account}")
    with run.progress() as bar:
        pages: list[dict[str, Any]] = []

        def details() -> None:
            pages.extend(collector.authorization_details() or [])

        def per_user() -> None:
            collector.per_user([u["UserName"] for page in pages for u in page.get("UserDetailList", [])], bar)

        steps: list[tuple[str, Callable[[], None]]] = [
            ("authorization details", details), ("credential report", collector.credential_report),
            ("access keys and MFA devices", per_user), ("organization and SCPs", collector.organization),
            ("Identity Center", collector.identity_center),
            ("resource policies", lambda: collector.resource_policies(bar)),
            ("EC2 and EKS", collector.compute),
            ("workloads", lambda: collector.workloads(bar)),
        ]
        task = bar.add_task(collector.account, total=len(steps))
        for label, step in steps:
            bar.update(task, description=f"{collector.account}: {label}")
            step()
            bar.advance(task)
    return collector.account


def assume_role_session(base: Any, role_arn: str, endpoint_url: str | None = None) -> Any:
    """A session with an audit role's temporary credentials (never written anywhere)."""
    import boto3
    sts = base.client("sts", endpoint_url=endpoint_url, config=retry_config())
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="crosspath-audit")["Credentials"]
    return boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"], region_name=base.region_name)


@click.command(SOURCE)
@click.option("--profile", default=None, help="AWS CLI profile (SSO profiles included); default credential chain.")
@click.option("--role-arn", "role_arns", multiple=True,
              help="Audit role to assume, one per account (repeatable). Without it, the session's own account.")
@click.option("--region", "regions", multiple=True,
              help="Region for regional APIs (repeatable; default: the profile's, else us-east-1).")
@click.option("--endpoint-url", default=None, help="Send every call to this endpoint (moto, LocalStack).")
@out_option
@quiet_option
def command(profile: str | None, role_arns: tuple[str, ...], regions: tuple[str, ...], endpoint_url: str | None,
            out_root: Any, quiet: bool) -> None:
    """AWS IAM, credentials, Organizations SCPs, Identity Center, resource policies, EKS access, workload
    inventory (read-only)."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    run = LiveRun(SOURCE, out_root, quiet)
    base = boto3.Session(profile_name=profile, region_name=regions[0] if regions else None)
    sessions: list[tuple[str, Any]] = [("(credential chain)", base)] if not role_arns else []
    for arn in role_arns:
        try:
            sessions.append((arn, assume_role_session(base, arn, endpoint_url)))
        except (ClientError, BotoCoreError) as exc:
            run.denied("sts:AssumeRole", arn, exc)
    collected = [a for label, session in sessions if (a := collect_account(session, run, endpoint_url, regions))]
    log = run.finish()
    if not collected:
        raise click.ClickException(f"no AWS account could be collected into {run.folder}: "
                                   f"{failure_reason(log['problems']) or 'no account was reached'} "
                                   f"(details in {run.folder / LOG_NAME})")
    click.echo(f"collected {len(collected)} account(s) into {run.folder}: "
               + ", ".join(f"{k} {v}" for k, v in log["counts"].items()))
    if log["problems"]:
        click.echo(f"{len(log['problems'])} call(s) denied or failed; see {run.folder / LOG_NAME}")
