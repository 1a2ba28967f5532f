"""Who a database login is: human or machine, and which cloud identity may sign in as it."""

from __future__ import annotations

from typing import Any

from collectors.base import looks_like_service_account
from graph.schema import email_address

# Logins the cloud provider or the server itself runs; customers cannot sign in as them,
# so they get no credential and are never treated as a person.
MANAGED_LOGINS: dict[str, frozenset[str]] = {
    "postgresql": frozenset({"rdsadmin", "rdsrepladmin", "rdstopmgr", "rdswriteforwarduser",
                             "cloudsqladmin", "cloudsqlreplica", "cloudsqlagent", "azuresu"}),
    "mysql": frozenset({"rdsadmin", "rdsrepladmin", "mysql.sys", "mysql.session",
                        "mysql.infoschema", "mariadb.sys", "cloudsqladmin", "cloudsqlreplica"}),
}


def managed_logins(engine: str) -> frozenset[str]:
    return MANAGED_LOGINS["postgresql" if engine == "postgresql" else "mysql"]


def is_system_account(login: str, engine: str, host: str | None = None, plugin: str | None = None) -> bool:
    """Accounts the provider or the server package runs (MariaDB's socket-only `mysql@localhost`)."""
    if login in managed_logins(engine):
        return True
    return login == "mysql" and host == "localhost" and plugin in ("unix_socket", "auth_socket")


def is_human(login: str, hints: dict[str, Any] | None, engine: str, host: str | None = None,
             system: bool = False) -> bool:
    """Operator hints win, then system accounts (never people), then the naming heuristic.

    MySQL hints may name `user@host` or just `user`.
    """
    hints = hints or {}
    names = [f"{login}@{host}", login] if host is not None else [login]
    for name in names:
        if name in (hints.get("humans") or []):
            return True
        if name in (hints.get("machines") or []):
            return False
    if system or login in managed_logins(engine):
        return False
    return not looks_like_service_account(login)


def login_email(login: str, human: bool) -> dict[str, str]:
    """`{"email": login}` for a human login named by an email or UPN (PostgreSQL role
    `dana.ruiz@lumenfreight.com`, MySQL user `dana.ruiz@lumenfreight.com`@`%`), else nothing.

    The graph builder joins every human account that carries an `email` to that person's Person node,
    so the login and the same person's Entra, AWS or Google accounts meet there. Machine logins never
    carry one (a Cloud SQL service-account login is named by a shortened service-account email).
    """
    return {"email": login} if human and email_address(login) else {}


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def rds_iam_alias(server: dict[str, Any], login: str) -> str | None:
    """The `rds-db:connect` resource ARN of a login, as the AWS collector names it (with `aws:`)."""
    region = server.get("aws_region")
    account = server.get("aws_account_id")
    resource_id = server.get("aws_rds_resource_id")
    if not (region and account and resource_id):
        return None
    return f"aws:arn:{_partition(region)}:rds-db:{region}:{account}:dbuser:{resource_id}/{login}"


def cloudsql_iam_principal(login: str, service_account: bool) -> str:
    """The GCP node id of a Cloud SQL IAM login.

    Cloud SQL names a service-account login by its email without `.gserviceaccount.com`
    (PostgreSQL's 63-byte limit); a user login is the full email.
    """
    if service_account:
        email = login if login.endswith(".gserviceaccount.com") else f"{login}.gserviceaccount.com"
        return f"gcp:serviceAccount/{email}"
    return f"gcp:user/{login}"
