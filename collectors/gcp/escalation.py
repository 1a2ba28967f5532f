"""GCP privilege-escalation techniques: one registered unit each, evaluated on permissions.

Each technique names the permissions that enable it, the transfer edge it creates and what
that edge points at. A grant's permissions come from its role (role_catalogue: live roles
API, bundled predefined catalogue, custom roles). References: Rhino Security Labs, "GCP
privilege escalation" (parts 1 and 2) and the GCP-IAM-Privilege-Escalation catalogue;
docs/collectors/gcp.md lists every technique with its test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from graph.schema import EdgeKind
from graph.techniques import CATALOGUE, References, Technique, register

RHINO = "https://rhinosecuritylabs.com/gcp/privilege-escalation-google-cloud-platform-part-1/"
RHINO_2 = "https://rhinosecuritylabs.com/cloud-security/privilege-escalation-google-cloud-platform-part-2/"

# Services that run code as a service account the caller picks (with iam.serviceAccounts.actAs).
RUN_PERMISSIONS: frozenset[str] = frozenset({
    "compute.instances.create",
    "compute.instances.setServiceAccount",
    "cloudfunctions.functions.create",
    "cloudfunctions.functions.update",
    "run.services.create",
    "run.services.update",
    "run.jobs.create",
    "dataflow.jobs.create",
    "cloudbuild.builds.create",
    "composer.environments.create",
    "dataproc.clusters.create",
    "cloudscheduler.jobs.create",
    "notebooks.instances.create",
})

# Holder kind -> the setIamPolicy permission that controls a node of that kind.
SET_IAM_POLICY: dict[str, str] = {
    "organization": "resourcemanager.organizations.setIamPolicy",
    "folder": "resourcemanager.folders.setIamPolicy",
    "project": "resourcemanager.projects.setIamPolicy",
    "bucket": "storage.buckets.setIamPolicy",
}


@dataclass(frozen=True)
class Rule:
    """What a GCP technique needs and reaches: the catalogue entry's `derive`."""

    # "service_account": every SA the binding covers; "resource": the holder and the nodes below it
    # whose setIamPolicy the permission controls; "roles_scope": the holder (custom roles defined
    # there); "cloudservices_agent": the Google APIs service agent of each covered project.
    target: str
    permissions: frozenset[str]  # any one of them enables the technique
    needs_run_permission: bool = False  # actAs is only useful with a service that runs code

    def matched(self, permissions: Iterable[str]) -> list[str]:
        return sorted(self.permissions.intersection(permissions))


def technique(technique_id: str, title: str, kind: EdgeKind, target: str, permissions: Iterable[str],
              description: str, remediation: str, link: str, mitre: str, needs_run_permission: bool = False
              ) -> Technique:
    """Register one GCP technique: its metadata and the permissions rule that draws it."""
    rule = Rule(target, frozenset(permissions), needs_run_permission)
    requires = (" | ".join(sorted(rule.permissions)),)
    if needs_run_permission:
        requires += ("a permission that runs code as a chosen service account: " + " | ".join(sorted(RUN_PERMISSIONS)),)
    return register(Technique(technique_id, title, "gcp", kind, requires, description, remediation,
                              References(mitre=mitre, links=(link,)), derive=rule))


def techniques() -> list[Technique]:
    return CATALOGUE.of("gcp")


_SA_FIX = ("Grant service-account roles on the one service account that needs them, not on the project, "
           "folder or organization; prefer short-lived credentials and audit who holds them.")
technique(
    "gcp.iam.service-account-token-creator", "Mint tokens for a service account", EdgeKind.CAN_IMPERSONATE,
    "service_account", {"iam.serviceAccounts.getAccessToken", "iam.serviceAccounts.signBlob",
                        "iam.serviceAccounts.signJwt", "iam.serviceAccounts.implicitDelegation"},
    "mint an access token / signed JWT / signed blob for the service account "
    "(implicitDelegation: through a chain of accounts)", _SA_FIX, RHINO, "T1550.001")
technique(
    "gcp.iam.act-as-with-compute", "Run code as a service account", EdgeKind.CAN_RUN_AS, "service_account",
    {"iam.serviceAccounts.actAs"},
    "attach the service account to a VM, function, Cloud Run service, Dataflow job or Cloud Build "
    "build the member can create, then use its token from inside", _SA_FIX, RHINO, "T1078.004",
    needs_run_permission=True)
technique(
    "gcp.iam.service-account-key-create", "Create a key for a service account", EdgeKind.CAN_CREATE_CREDENTIAL,
    "service_account", {"iam.serviceAccountKeys.create"},
    "create a user-managed key for the service account and sign in with it",
    "Enforce the organization policy constraint iam.disableServiceAccountKeyCreation and use workload "
    "identity federation instead of keys.", RHINO, "T1098.001")
technique(
    "gcp.iam.service-account-set-iam-policy", "Rewrite a service account's IAM policy", EdgeKind.CAN_GRANT,
    "service_account", {"iam.serviceAccounts.setIamPolicy"},
    "bind itself Token Creator / Service Account User on the service account", _SA_FIX, RHINO, "T1098.003")
technique(
    "gcp.resourcemanager.set-iam-policy", "Rewrite an organization, folder, project or bucket IAM policy",
    EdgeKind.CAN_GRANT, "resource", SET_IAM_POLICY.values(),
    "setIamPolicy on the organization / folder / project / bucket: grant itself any role there",
    "Keep setIamPolicy (Owner, Security Admin, Project IAM Admin, Storage Admin) to a few break-glass "
    "identities; watch SetIamPolicy in the Admin Activity audit log.", RHINO, "T1098.003")
technique(
    "gcp.iam.custom-role-update", "Add permissions to a custom role", EdgeKind.CAN_GRANT, "roles_scope",
    {"iam.roles.update"}, "add permissions to a custom role defined here, including one bound to the member",
    "Grant Role Administrator only to the team that owns the custom roles, and review custom-role changes.",
    RHINO, "T1098.003")
technique(
    "gcp.deploymentmanager.create-deployment", "Run a deployment as the Google APIs service agent",
    EdgeKind.CAN_RUN_AS, "cloudservices_agent", {"deploymentmanager.deployments.create"},
    "a deployment runs as the project's Google APIs service agent "
    "(<number>@cloudservices.gserviceaccount.com), editor by default",
    "Remove the Editor role from the Google APIs service agent where Deployment Manager is not used, and "
    "restrict deploymentmanager.deployments.create.", RHINO_2, "T1078.004")


@dataclass
class Escalation:
    technique: Technique
    target: str
    permissions: list[str] = field(default_factory=list)


@dataclass
class Scope:
    """What a binding covers, resolved by the transform."""

    holder: str  # node id whose policy holds the binding
    holder_kind: str  # organization | folder | project | bucket | serviceAccount
    service_accounts: list[str] = field(default_factory=list)
    below: dict[str, list[str]] = field(default_factory=dict)  # kind -> node ids under the holder
    agents: list[str] = field(default_factory=list)  # cloudservices agents of covered projects


def _resource_targets(permissions: list[str], scope: Scope) -> list[str]:
    targets: list[str] = []
    for kind, permission in SET_IAM_POLICY.items():
        if permission not in permissions:
            continue
        if scope.holder_kind == kind:
            targets.append(scope.holder)
        targets += scope.below.get(kind, [])
    return targets


TARGETS: dict[str, Callable[[list[str], Scope], list[str]]] = {
    "service_account": lambda _perms, scope: scope.service_accounts,
    "resource": _resource_targets,
    "roles_scope": lambda _perms, scope: [scope.holder] if scope.holder_kind in ("organization", "project")
    else [],
    "cloudservices_agent": lambda _perms, scope: scope.agents,
}


def escalations(member: str, permissions: Iterable[str], scope: Scope, can_run_code: bool) -> list[Escalation]:
    """Every technique the permissions enable over the scope, one Escalation per target."""
    held = set(permissions)
    found: list[Escalation] = []
    for item in techniques():
        rule: Rule = item.derive
        matched = rule.matched(held)
        if not matched or (rule.needs_run_permission and not can_run_code):
            continue
        for target in TARGETS[rule.target](matched, scope):
            if target != member:
                found.append(Escalation(item, target, matched))
    return found
