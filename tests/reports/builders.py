"""Small hand-built findings and Analyses on Lumen Freight ids: every report test starts from these."""

from __future__ import annotations

from queries.findings import (
    CROSS_STACK,
    LONG_LIVED_NHI_KEY,
    NO_MFA,
    Analysis,
    ExceptionRef,
    Finding,
    PathEdge,
    finding_id,
)

TENANT = "entra:tenant/6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
DANA = "entra:a1000000-0000-4000-8000-000000000001"
DEPLOYERS = "entra:b2000000-0000-4000-8000-000000000001"
SSO_ROLE = "aws:arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_ProdDeployer_7a1b2c3d4e5f6a7b"
INVOICES = "aws:arn:aws:s3:::lumen-prod-invoices"
CI_KEY = "aws:access-key/AKIA5LUMENCIDEPLOY01"
CI_USER = "aws:arn:aws:iam::111111111111:user/svc-ci-deployer"
ARTIFACTS = "aws:arn:aws:s3:::lumen-prod-artifacts"
BREAKGLASS = "entra:a1000000-0000-4000-8000-000000000007"
SCRIPT_NAME = "<script>alert('pwned')</script>"
FORMULA_NAME = '=HYPERLINK("http://evil.example","click")'


def _entry(node_id: str, kind: str, provider: str, name: str, *, family: str = "Identity", human: bool = True,
           mfa: bool | None = False, created: str | None = None, age: int | None = None) -> dict:
    return {
        "id": node_id, "kind": kind, "provider": provider, "name": name, "family": family,
        "identity": node_id, "identity_name": name, "human": human, "mfa": mfa, "created": created,
        "expires": None, "age_days": age, "long_lived": family == "Credential",
    }


def _target(node_id: str, kind: str, provider: str, name: str, level: str = "write") -> dict:
    return {"id": node_id, "kind": kind, "provider": provider, "name": name, "level": level, "environment": "prod"}


def no_mfa_cross_stack() -> Finding:
    path = [
        PathEdge(DANA, DEPLOYERS, "MEMBER_OF", "group membership AWS-Prod-Deployers", False,
                 "dana.ruiz@lumenfreight.com", "AWS-Prod-Deployers", "entra", "entra"),
        PathEdge(DEPLOYERS, SSO_ROLE, "CAN_ASSUME", "IAM Identity Center assignment ProdDeployer", False,
                 "AWS-Prod-Deployers", "AWSReservedSSO_ProdDeployer_7a1b2c3d4e5f6a7b", "entra", "aws"),
        PathEdge(SSO_ROLE, INVOICES, "HAS_PERMISSION", "permission set ProdDeployer: s3:PutObject", None,
                 "AWSReservedSSO_ProdDeployer_7a1b2c3d4e5f6a7b", "lumen-prod-invoices", "aws", "aws",
                 level="write", conditions=["s3:prefix = invoices/"]),
    ]
    return Finding(
        id=finding_id(DANA), gap_types=[NO_MFA, CROSS_STACK], severity="high",
        title="Entra ID User dana.ruiz@lumenfreight.com without MFA can write AWS bucket lumen-prod-invoices "
              "and 2 more privileged target(s)",
        entry=_entry(DANA, "User", "entra", "dana.ruiz@lumenfreight.com"),
        target=_target(INVOICES, "bucket", "aws", "lumen-prod-invoices"),
        targets_count=3, providers=["entra", "aws"], path=path, targets_by_provider={"aws": 2, "k8s": 1},
        explanation=["dana.ruiz signs in interactively; sign-in does not enforce MFA."],
        remediation=["Enforce MFA for dana.ruiz@lumenfreight.com (a Conditional Access policy).",
                     "Or remove the link 'group membership AWS-Prod-Deployers' if it is not needed."],
        rules=["require-mfa-for-privileged-write"],
    )


def long_lived_key() -> Finding:
    path = [
        PathEdge(CI_KEY, CI_USER, "AUTHENTICATES", "access key AKIA5LUMENCIDEPLOY01", False,
                 "AKIA5LUMENCIDEPLOY01", "svc-ci-deployer", "aws", "aws"),
        PathEdge(CI_USER, ARTIFACTS, "HAS_PERMISSION", "inline policy deploy: s3:PutObject", None,
                 "svc-ci-deployer", "lumen-prod-artifacts", "aws", "aws", level="write"),
    ]
    return Finding(
        id=finding_id(CI_KEY), gap_types=[LONG_LIVED_NHI_KEY], severity="high",
        title="AWS access_key AKIA5LUMENCIDEPLOY01 (key 600 days old, never expires) can write AWS bucket "
              "lumen-prod-artifacts",
        entry=_entry(CI_KEY, "access_key", "aws", "AKIA5LUMENCIDEPLOY01", family="Credential", human=False,
                     created="2025-03-11T09:00:00Z", age=600),
        target=_target(ARTIFACTS, "bucket", "aws", "lumen-prod-artifacts"),
        targets_count=1, providers=["aws"], path=path, targets_by_provider={"aws": 1},
        remediation=["Rotate or remove credential AKIA5LUMENCIDEPLOY01."],
        rules=["no-long-lived-nhi-key-to-privileged-write"],
    )


def excepted_breakglass() -> Finding:
    path = [PathEdge(BREAKGLASS, TENANT, "HAS_PERMISSION", "directory role Global Administrator", None,
                     "breakglass@lumenfreight.onmicrosoft.com", "lumenfreight.com", "entra", "entra",
                     level="admin")]
    return Finding(
        id=finding_id(BREAKGLASS), gap_types=[NO_MFA], severity="critical",
        title="Entra ID User breakglass@lumenfreight.onmicrosoft.com without MFA can admin Entra ID tenant",
        entry=_entry(BREAKGLASS, "User", "entra", "breakglass@lumenfreight.onmicrosoft.com"),
        target=_target(TENANT, "tenant", "entra", "lumenfreight.com", "admin"),
        targets_count=1, providers=["entra"], path=path, targets_by_provider={"entra": 1},
        remediation=["Enforce MFA for breakglass@lumenfreight.onmicrosoft.com."],
        rules=["require-mfa-for-privileged-write"], status="excepted",
        exception=ExceptionRef("breakglass-no-mfa", "it-security", "Emergency access account, sealed credentials",
                               "2027-06-30", False),
    )


def hostile_names() -> list[Finding]:
    """A `<script>` name with unknown MFA, and a spreadsheet formula name behind a lapsed exception."""
    script_user = "gcp:user/mallory@lumenfreight.com"
    project = "gcp:projects/lumen-data-prod"
    script = Finding(
        id=finding_id(script_user), gap_types=[NO_MFA], severity="medium",
        title=f"GCP User {SCRIPT_NAME} (MFA unknown) can admin GCP project lumen-data-prod",
        entry=_entry(script_user, "User", "gcp", SCRIPT_NAME, mfa=None),
        target=_target(project, "project", "gcp", f"{SCRIPT_NAME}-project", "admin"),
        targets_count=1, providers=["gcp"], mfa_unknown=True, targets_by_provider={"gcp": 1},
        path=[PathEdge(script_user, project, "HAS_PERMISSION", f"roles/owner {SCRIPT_NAME}", None,
                       SCRIPT_NAME, f"{SCRIPT_NAME}-project", "gcp", "gcp", level="admin")],
        remediation=[f"Enforce MFA for {SCRIPT_NAME}."], rules=["require-mfa-for-privileged-write"],
    )
    formula_id = "mysql:billing-prod/user/formula@%/password"
    billing = "mysql:billing-prod/db/billing"
    formula = Finding(
        id=finding_id(formula_id), gap_types=[LONG_LIVED_NHI_KEY], severity="low",
        title=f"MySQL password {FORMULA_NAME} can write MySQL database billing",
        entry=_entry(formula_id, "password", "mysql", FORMULA_NAME, family="Credential", human=False, age=1026),
        target=_target(billing, "database", "mysql", "billing"),
        targets_count=1, providers=["mysql"], targets_by_provider={"mysql": 1},
        path=[
            PathEdge(formula_id, "mysql:billing-prod/user/formula@%", "AUTHENTICATES", "mysql_native_password",
                     False, FORMULA_NAME, "-formula@%", "mysql", "mysql"),
            PathEdge("mysql:billing-prod/user/formula@%", billing, "CAN_ASSUME", "SET ROLE app_writer", True,
                     "-formula@%", "billing", "mysql", "mysql"),
        ],
        remediation=["Set a password lifetime."], rules=["no-long-lived-nhi-key-to-privileged-write"],
        exception=ExceptionRef("billing-legacy", "platform-team", "Legacy app", "2026-09-30", True),
    )
    return [script, formula]


def metadata() -> dict:
    return {
        "collected_at": "2026-11-01T00:00:00Z",
        "created_at": "2026-11-01T00:05:00Z",
        "tool_version": "0.1.0",
        "source_dir": "data/samples",
        "coverage": {
            "aws": {"source": "aws", "status": "complete", "files": ["aws/iam.json"],
                    "scopes": ["aws:account/111111111111", "aws:account/222222222222"],
                    "counts": {"nodes.User": 40, "edges.HAS_PERMISSION": 61}, "notes": []},
            "entra": {"source": "entra", "status": "complete", "files": ["entra/users.json"],
                      "scopes": [TENANT], "counts": {"nodes.User": 22, "edges.MEMBER_OF": 30}, "notes": []},
            "gcp": {"source": "gcp", "status": "missing", "files": [], "scopes": [], "counts": {},
                    "notes": ["not covered: no gcp/ folder in data/samples"]},
            "kubernetes": {"source": "kubernetes", "status": "partial", "files": ["kubernetes/prod-eks.json"],
                           "scopes": ["k8s:prod-eks"], "counts": {"nodes.ServiceIdentity": 12, "edges.HAS_PERMISSION": 9}, "notes": []},
        },
        "errors": [{"source": "kubernetes", "file": "kubernetes/aks-prod.json", "record": "", "field": "",
                    "message": "invalid JSON at line 3, column 1: Expecting value",
                    "fix": "re-export the file with the documented command (JSON output)"}],
    }


def make_analysis(findings: list[Finding]) -> Analysis:
    return Analysis(
        findings=findings,
        metadata=metadata(),
        policy={"name": "crosspath-default", "source": "default",
                "rules": {"require_mfa": {"id": "require-mfa-for-privileged-write"}}},
        as_of="2026-11-01T00:00:00Z",
        stats={"nodes": 74, "edges": 100, "entries": 20, "privileged_targets": 9},
    )
