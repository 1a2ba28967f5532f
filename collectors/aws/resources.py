"""Policy `Resource` strings -> the graph node a grant lands on.

A grant goes to the most specific resource it names: object ARNs collapse to their bucket,
DynamoDB index / stream ARNs to their table, trailing `/*` or `:*` paths to the resource
they sit under; `*` and whole-type wildcards (`key/*`) go to the account node.
"""

from __future__ import annotations

from dataclasses import dataclass

from collectors.aws.access_levels import has_wildcard

# Resource kind by service, where the ARN's own type word is not the best name.
_SERVICE_KINDS = {
    "s3": "bucket",
    "dynamodb": "table",
    "secretsmanager": "secret",
    "kms": "key",
    "sqs": "queue",
    "sns": "topic",
    "lambda": "function",
    "ecr": "repository",
    "logs": "log-group",
    "ssm": "parameter",
    "eks": "cluster",
    "kinesis": "stream",
    "firehose": "delivery-stream",
    "states": "state-machine",
    "es": "domain",
    "glue": "catalog",
    "athena": "workgroup",
    "redshift": "cluster",
    "apigateway": "api",
    "cloudformation": "stack",
    "codecommit": "repository",
}
_RDS_KINDS = {"db": "database", "cluster": "database-cluster", "snapshot": "db-snapshot"}
# Services whose ARNs carry a bare name with no type word (`arn:aws:sqs:r:a:queue-name`).
_NAME_ONLY = {"sqs", "sns", "s3"}
IDENTITY_TYPES = {"user", "role", "group"}


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str

    @property
    def text(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"


def parse_arn(text: str) -> Arn | None:
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    return Arn(*parts[1:])


def account_of(arn: str) -> str:
    parsed = parse_arn(arn)
    return parsed.account if parsed else ""


@dataclass(frozen=True)
class Target:
    """Where a grant lands. kind `account`, `identity`, `dbuser` or a Resource kind."""

    node_id: str
    kind: str
    name: str
    account: str
    arn: str = ""
    wildcard: bool = False
    collapsed: bool = False  # object-level path folded into its container (bucket/*)
    service: str = ""

    @property
    def is_resource(self) -> bool:
        return self.kind not in ("account", "identity", "dbuser")


def account_node_id(account: str) -> str:
    return f"aws:account/{account}"


def _account_target(account: str, service: str = "") -> Target:
    return Target(account_node_id(account), "account", account, account, service=service)


def _type_and_name(resource: str) -> tuple[str, str]:
    for sep in ("/", ":"):
        if sep in resource:
            kind, _, name = resource.partition(sep)
            return kind, name
    return "", resource


def _strip_trailing_wildcards(resource: str) -> tuple[str, bool]:
    stripped = False
    while resource.endswith(("/*", ":*")):
        resource = resource[:-2]
        stripped = True
    return resource, stripped


def resolve_target(resource: str, default_account: str) -> Target:
    """The node a policy Resource string names, seen from a principal in default_account."""
    arn = parse_arn(resource.strip())
    if resource.strip() == "*" or arn is None:
        return _account_target(default_account)
    account = arn.account if arn.account and not has_wildcard(arn.account) else default_account
    service = arn.service.lower()
    if arn.resource in ("", "*") or has_wildcard(arn.service):
        return _account_target(account, service)
    if service == "s3":
        return _s3_target(arn, account)
    if service == "rds-db":
        return Target(f"aws:{arn.text}", "dbuser", arn.resource, account, arn.text,
                      wildcard=has_wildcard(arn.resource), service=service)
    if service == "iam":
        kind, name = _type_and_name(arn.resource)
        if has_wildcard(arn.resource):
            return _account_target(account, service)
        if kind in IDENTITY_TYPES:
            return Target(f"aws:{arn.text}", "identity", name.rsplit("/", 1)[-1], account, arn.text,
                          service=service)
        return Target(f"aws:{arn.text}", kind or "iam", name.rsplit("/", 1)[-1], account, arn.text,
                      service=service)
    if service == "dynamodb":
        kind, name = _type_and_name(arn.resource)
        table = name.split("/", 1)[0]
        if kind != "table" or not table or table == "*":
            return _account_target(account, service)
        text = Arn(arn.partition, arn.service, arn.region, arn.account, f"table/{table}").text
        return Target(f"aws:{text}", "table", table, account, text, wildcard=has_wildcard(table),
                      collapsed="/" in name, service=service)
    trimmed, stripped = _strip_trailing_wildcards(arn.resource)
    kind_word, name = _type_and_name(trimmed)
    if trimmed in ("", "*") or (stripped and not kind_word and service not in _NAME_ONLY):
        return _account_target(account, service)
    text = Arn(arn.partition, arn.service, arn.region, arn.account, trimmed).text
    if service == "rds":
        kind = _RDS_KINDS.get(kind_word, kind_word or "database")
    else:
        kind = _SERVICE_KINDS.get(service) or kind_word or service
    return Target(f"aws:{text}", kind, name or trimmed, account, text, wildcard=has_wildcard(trimmed),
                  collapsed=stripped, service=service)


def _s3_target(arn: Arn, account: str) -> Target:
    bucket, slash, _ = arn.resource.partition("/")
    if bucket in ("", "*"):
        return _account_target(account, "s3")
    text = Arn(arn.partition, "s3", "", "", bucket).text
    return Target(f"aws:{text}", "bucket", bucket, account, text, wildcard=has_wildcard(bucket),
                  collapsed=bool(slash), service="s3")
