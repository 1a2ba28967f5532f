"""pathfinding.cloud's AWS privilege-escalation paths as end-to-end cases, one per path.

pathfinding_paths.json is pathfinding.cloud's own list (id, name, category, required permissions;
the commit it was taken from is in the file). A PathCase gives an attacker exactly the permissions
a path requires, one statement each, in a world where the path's prerequisites exist (WORLD below:
an administrator user, a read-only user, administrator roles trusting each compute service, an
administrator and a read-only role trusting the account (the read-only one with a customer-managed
policy), an administrator role trusting only the administrator user, an administrator group without
members, the attacker's own group and customer-managed policy, a collected and empty workload
inventory; a case adds workloads with `extra`).

The rule (test_pathfinding_paths.py): with every permission, the path engine finds the attacker
admin over the account by a path whose edges name the case's technique; without any one of them,
it does not. So a technique that draws an edge with a required permission missing fails, and so
does one that does not draw it with all of them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.collectors.test_aws import doc, role_entry, user_entry, write_account
from tests.techniques.workload_exports import write_inventory

PATHS_FILE = Path(__file__).with_name("pathfinding_paths.json")
ACCT = "444455556666"
ACCOUNT_NODE = f"aws:account/{ACCT}"
ADMIN = {"Effect": "Allow", "Action": "*", "Resource": "*"}
READ_ONLY = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::handbook/*"}


def arn(kind: str, name: str) -> str:
    return f"arn:aws:iam::{ACCT}:{kind}/{name}"


def pathfinding_paths() -> dict[str, dict[str, Any]]:
    """pathfinding.cloud path id -> its record (name, category, required permissions)."""
    return {p["id"]: p for p in json.loads(PATHS_FILE.read_text())["paths"]}


# Administrator roles trusting one service each (the role a new-PassRole path passes, the role an
# existing workload runs as): `service-admin-<prefix>` for `<prefix>.amazonaws.com`.
SERVICES = ("ec2", "lambda", "cloudformation", "codebuild", "sagemaker", "ecs-tasks", "glue", "datapipeline",
            "elasticmapreduce", "tasks.apprunner", "bedrock-agentcore")


def service_role(prefix: str) -> str:
    return arn("role", f"service-admin-{prefix.replace('.', '-')}")


ADMIN_USER = arn("user", "admin-user")  # holds `*`: minting its credentials is admin
TRUSTING_ROLE = arn("role", "admin-trusting-account")  # holds `*`, trusts the account root
PLAIN_ROLE = arn("role", "plain-trusting-account")  # read-only, trusts the account root: write its policy first
LOCKED_ROLE = arn("role", "admin-locked")  # holds `*`, trusts nobody the attacker is: rewrite its trust first
PLAIN_USER = arn("user", "plain-user")  # read-only: write its policy first, then mint its credentials
TEAM_GROUP = arn("group", "team")  # the attacker user's own group (read-only)
ADMIN_GROUP = arn("group", "admin-group")  # holds `*`, no members: join it
OWN_POLICY = f"arn:aws:iam::{ACCT}:policy/attacker-managed"  # customer-managed, attached to the attacker
PLAIN_POLICY = f"arn:aws:iam::{ACCT}:policy/plain-managed"  # customer-managed, attached to PLAIN_ROLE


@dataclass(frozen=True)
class PathCase:
    technique: str  # the catalogue technique whose edge the path takes
    permissions: tuple[tuple[str, str], ...]  # (action, resource): one Allow statement each
    attacker: str = "user"  # "user" (user/attacker, member of group team) or "role" (role/attacker)
    # Writes more export files (workload inventory, credential report) into the account folder.
    extra: Callable[[Path], None] | None = field(default=None, compare=False)

    @property
    def holder(self) -> str:
        return f"aws:{arn(self.attacker, 'attacker')}"


def _statements(permissions: tuple[tuple[str, str], ...]) -> list[dict[str, Any]]:
    return [{"Sid": f"S{i}", "Effect": "Allow", "Action": action, "Resource": resource}
            for i, (action, resource) in enumerate(permissions)]


def build_world(folder: Path, case: PathCase, permissions: tuple[tuple[str, str], ...]) -> Path:
    """The account export with the attacker holding `permissions`; returns the account folder."""
    root_trust = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "sts:AssumeRole"})
    roles = [role_entry(ACCT, f"service-admin-{p.replace('.', '-')}",
                        doc({"Effect": "Allow", "Principal": {"Service": f"{p}.amazonaws.com"},
                             "Action": "sts:AssumeRole"}), ADMIN) for p in SERVICES]
    roles[0]["InstanceProfileList"] = [{"InstanceProfileName": "service-admin-ec2", "Path": "/", "Roles": [],
                                        "InstanceProfileId": "AIPASERVICEADMINEC2",
                                        "Arn": arn("instance-profile", "service-admin-ec2")}]
    plain = role_entry(ACCT, "plain-trusting-account", root_trust, READ_ONLY)
    plain["AttachedManagedPolicies"] = [{"PolicyName": "plain-managed", "PolicyArn": PLAIN_POLICY}]
    roles += [role_entry(ACCT, "admin-trusting-account", root_trust, ADMIN), plain,
              role_entry(ACCT, "admin-locked", doc({"Effect": "Allow", "Principal": {"AWS": arn("user", "admin-user")},
                                                    "Action": "sts:AssumeRole"}), ADMIN)]
    own = [{"PolicyName": "attacker-managed", "PolicyArn": OWN_POLICY}]
    statements = _statements(permissions)
    users = [user_entry(ACCT, "admin-user", ADMIN), user_entry(ACCT, "plain-user", READ_ONLY)]
    if case.attacker == "user":
        attacker = user_entry(ACCT, "attacker", *statements) if statements else user_entry(ACCT, "attacker")
        attacker["GroupList"] = ["team"]
        attacker["AttachedManagedPolicies"] = own
        users.append(attacker)
    else:
        attacker = role_entry(ACCT, "attacker", doc(), *statements)
        attacker["AttachedManagedPolicies"] = own
        roles.append(attacker)
    groups = [{"Path": "/", "GroupName": "team", "GroupId": "AGPATEAM", "Arn": TEAM_GROUP,
               "CreateDate": "2026-01-01T00:00:00+00:00", "AttachedManagedPolicies": [],
               "GroupPolicyList": [{"PolicyName": "team-read", "PolicyDocument": doc(READ_ONLY)}]},
              {"Path": "/", "GroupName": "admin-group", "GroupId": "AGPAADMIN", "Arn": ADMIN_GROUP,
               "CreateDate": "2026-01-01T00:00:00+00:00", "AttachedManagedPolicies": [],
               "GroupPolicyList": [{"PolicyName": "admin", "PolicyDocument": doc(ADMIN)}]}]
    policies = [{"PolicyName": name, "Arn": policy, "Path": "/", "DefaultVersionId": "v1",
                 "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": True, "Document": doc(READ_ONLY)}]}
                for name, policy in (("attacker-managed", OWN_POLICY), ("plain-managed", PLAIN_POLICY))]
    write_account(folder, ACCT, users=users, roles=roles, groups=groups, policies=policies)
    # The workload inventory is collected and empty (a case's `extra` adds workloads): no existing-workload
    # technique draws assumed edges (collectors.aws.techniques_workloads) into another path's case.
    write_inventory(folder / ACCT)
    if case.extra is not None:
        case.extra(folder / ACCT)
    return folder / ACCT
