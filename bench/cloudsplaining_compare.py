"""Side-by-side: cloudsplaining's privilege-escalation flags vs Crosspath's escalation edges.

    python bench/cloudsplaining_compare.py [--users 400] [--seed 7]

Installs cloudsplaining into bench/.venv-cloudsplaining (never a project dependency), runs it on
every account of the sample organisation's AWS export and on a synthetic export, and prints, per
cloudsplaining technique, how many principals it flags, how many of those Crosspath also draws an
escalation edge from, and why Crosspath draws none for the rest:

- blocked:    a permissions boundary, SCP or explicit Deny removes a required action
              (cloudsplaining reads each policy on its own);
- no target:  Crosspath covers the technique but the account has no identity it could reach
              (e.g. no role trusts the service the role would be passed to);
- uncovered:  Crosspath has no technique for it (docs/collectors/aws.md says why).

Anything else is a MISS and makes the script exit 1.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VENV = ROOT / "bench" / ".venv-cloudsplaining"
SAMPLES = ROOT / "data" / "samples" / "aws"
SYNTHETIC_ACCOUNT = "444444444444"

# cloudsplaining technique -> the Crosspath technique covering it (None: not covered).
COVERED = {
    "CreateAccessKey": "aws.iam.create-access-key", "CreateAndRotateAccessKey": "aws.iam.create-access-key",
    "CreateLoginProfile": "aws.iam.create-login-profile", "UpdateLoginProfile": "aws.iam.update-login-profile",
    "AddUserToGroup": "aws.iam.add-user-to-group", "CreateNewPolicyVersion": "aws.iam.create-policy-version",
    "CreatePolicyVersionThenAssumeRole": "aws.iam.create-policy-version",
    "CreatePolicyVersionThenUpdateAssumeRolePolicy": "aws.iam.create-policy-version",
    "SetExistingDefaultPolicyVersion": "aws.iam.set-default-policy-version",
    "AttachUserPolicy": "aws.iam.attach-user-policy", "AttachUserPolicyThenCreateAccessKey": "aws.iam.attach-user-policy",
    "AttachGroupPolicy": "aws.iam.attach-group-policy", "AttachRolePolicy": "aws.iam.attach-role-policy",
    "AttachRolePolicyThenUpdateAssumeRolePolicy": "aws.iam.attach-role-policy",
    "PutUserPolicy": "aws.iam.put-user-policy", "PutUserPolicyThenCreateAccessKey": "aws.iam.put-user-policy",
    "PutGroupPolicy": "aws.iam.put-group-policy", "PutRolePolicy": "aws.iam.put-role-policy",
    "PutRolePolicyThenUpdateAssumeRolePolicy": "aws.iam.put-role-policy",
    "UpdateRolePolicyToAssumeIt": "aws.iam.update-assume-role-policy",
    "CreateEC2WithExistingIP": "aws.ec2.pass-role-run-instances", "PassExistingRoleToNewEC2SpotInstance": "aws.ec2.pass-role-run-instances",
    "PassExistingRoleToNewLambdaThenInvoke": "aws.lambda.pass-role-create-function",
    "PassExistingRoleToNewLambdaThenTriggerWithNewDynamo": "aws.lambda.pass-role-create-function",
    "PassExistingRoleToNewLambdaThenTriggerWithExistingDynamo": "aws.lambda.pass-role-create-function",
    "PassExistingRoleToNewLambdaThenAddPermission": "aws.lambda.pass-role-create-function",
    "PassExistingRoleToNewGlueDevEndpoint": "aws.glue.pass-role-create-job", "PassExistingRoleToNewGlueJobThenRun": "aws.glue.pass-role-create-job",
    "PassExistingRoleToNewGlueJobViaTrigger": "aws.glue.pass-role-create-job",
    "PassExistingRoleToUpdatedGlueJobThenRun": "aws.glue.pass-role-create-job",
    "PassExistingRoleToUpdatedGlueJobViaTrigger": "aws.glue.pass-role-create-job",
    "PassExistingRoleToCloudFormation": "aws.cloudformation.pass-role-create-stack",
    "PassExistingRoleToNewCloudFormationStackSet": "aws.cloudformation.pass-role-create-stack",
    "PassRoleToUpdateCloudFormationStackSet": "aws.cloudformation.pass-role-create-stack",
    "PassExistingRoleToNewDataPipeline": "aws.datapipeline.pass-role-create-pipeline",
    "PassExistingRoleToNewAppRunnerService": "aws.apprunner.pass-role-create-service",
    "PassExistingRoleToNewCodeBuildProjectThenBuild": "aws.codebuild.pass-role-create-project",
    "PassExistingRoleToNewCodeBuildProjectThenBuildBatch": "aws.codebuild.pass-role-create-project",
    "PassExistingRoleToNewECSClusterServiceTask": "aws.ecs.pass-role-run-task", "PassExistingRoleToNewECSClusterRunTask": "aws.ecs.pass-role-run-task",
    "PassExistingRoleToNewECSService": "aws.ecs.pass-role-run-task", "PassExistingRoleToNewECSTaskViaRunTask": "aws.ecs.pass-role-run-task",
    "PassExistingRoleToNewECSTaskViaStartTask": "aws.ecs.pass-role-run-task",
    "PassExistingRoleToNewSageMakerNotebookInstance": "aws.sagemaker.pass-role-create-job",
    "PassExistingRoleToNewSageMakerTrainingJob": "aws.sagemaker.pass-role-create-job",
    "PassExistingRoleToNewSageMakerProcessingJob": "aws.sagemaker.pass-role-create-job",
    "EditExistingLambdaFunctionWithRole": "aws.lambda.update-function-code", "UpdateAndInvokeLambdaFunction": "aws.lambda.update-function-code",
    "UpdateLambdaFunctionAndAddPermission": "aws.lambda.update-function-code",
    "PassExistingRoleToNewBedrockCodeInterpreter": "aws.bedrock-agentcore.pass-role-code-interpreter",
    "AccessExistingBedrockCodeInterpreterSession": "aws.bedrock-agentcore.invoke-code-interpreter",
    "CreatePresignedSageMakerNotebookUrl": "aws.sagemaker.presigned-notebook-url",
    "UpdateSageMakerNotebookLifecycleConfig": "aws.sagemaker.notebook-lifecycle-config",
    "EC2InstanceConnectSendSSHPublicKey": "aws.ec2-instance-connect.send-ssh-public-key",
    "ModifyEC2InstanceUserDataThenRestart": "aws.ec2.modify-instance-user-data",
    "ModifyExistingEC2LaunchTemplate": "aws.ec2.launch-template-version",
    "ExecuteCloudFormationChangeSet": "aws.cloudformation.execute-change-set",
    "UpdateExistingGlueDevEndpoint": "aws.glue.update-dev-endpoint",
}


def ensure_cloudsplaining() -> Path:
    exe = VENV / "bin" / "cloudsplaining"
    if not exe.exists():
        print(f"installing cloudsplaining into {VENV} ...", file=sys.stderr)
        venv.create(VENV, with_pip=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", "cloudsplaining"], check=True)
    return exe


def cloudsplaining_methods() -> dict[str, list[str]]:
    code = ("import json; from cloudsplaining.shared.constants import PRIVILEGE_ESCALATION_METHODS as m; "
            "print(json.dumps(m))")
    return json.loads(subprocess.run([str(VENV / "bin" / "python"), "-c", code], check=True, capture_output=True,
                                     text=True).stdout)


def run_cloudsplaining(exe: Path, details: Path, out: Path) -> dict[str, set[str]]:
    """principal ARN -> cloudsplaining privilege-escalation techniques (own policies and groups')."""
    out.mkdir(parents=True, exist_ok=True)
    merged = out / "input.json"
    pages = json.loads(details.read_text())
    pages = pages if isinstance(pages, list) else [pages]
    keys = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
    merged.write_text(json.dumps({k: [item for page in pages for item in page.get(k, [])] for k in keys}))
    subprocess.run([str(exe), "scan", "-i", str(merged), "-o", str(out), "-s"], check=True, capture_output=True)
    results = json.loads((out / "iam-results-input.json").read_text())
    flagged_policy: dict[str, set[str]] = {}
    for section in ("inline_policies", "customer_managed_policies", "aws_managed_policies"):
        for policy_id, policy in results.get(section, {}).items():
            findings = (policy.get("PrivilegeEscalation") or {}).get("findings") or []
            if findings and not policy.get("is_excluded"):
                flagged_policy[policy_id] = {f["type"] for f in findings}
    flagged: dict[str, set[str]] = defaultdict(set)

    def policies_of(entry: dict) -> set[str]:
        found: set[str] = set()
        for key in ("inline_policies", "customer_managed_policies", "aws_managed_policies"):
            for policy_id in entry.get(key) or {}:
                found |= flagged_policy.get(policy_id, set())
        return found

    for section in ("users", "groups", "roles"):
        for entry in results.get(section, {}).values():
            techniques = policies_of(entry)
            for group in (entry.get("groups") or {}).values():
                techniques |= policies_of(group)
            if techniques:
                flagged[entry["arn"]] |= techniques
    return flagged


def crosspath_view(folder: Path) -> tuple[set[str], dict[str, set[str]], dict[str, dict]]:
    """(ARNs Crosspath draws an escalation edge from or that are account admins, ARN -> effective actions,
    account -> what a technique could target there)."""
    from collectors.aws import collect_offline
    from collectors.aws.ceilings import apply_boundaries
    from collectors.aws.escalation import is_account_admin
    from collectors.aws.exports import read_exports
    from collectors.aws.policy_documents import evaluate
    from collectors.aws.technique_rules import techniques, trusted_services
    from collectors.aws.transform import load_account

    started = time.perf_counter()
    result = collect_offline(folder)
    elapsed = time.perf_counter() - started
    print(f"crosspath: {folder.name}: {len(result.nodes)} nodes, {len(result.edges)} edges in {elapsed:.2f} s",
          file=sys.stderr)
    kinds = {str(t.edge_kind) for t in techniques()}
    sources = {e["source"] for e in result.edges if e["kind"] in kinds and e.get("techniques")}
    members: dict[str, set[str]] = defaultdict(set)  # group node -> user nodes
    for e in result.edges:
        if e["kind"] == "MEMBER_OF":
            members[e["target"]].add(e["source"])
    found = {s for s in sources} | {u for g in sources for u in members.get(g, ())}
    effective: dict[str, set[str]] = defaultdict(set)
    exports = read_exports(folder)
    inventory: dict[str, dict] = {}
    for auth in exports.authorization_details:
        data = load_account(auth, None)
        if data is None:
            continue
        inventory[data.account] = {
            "user": len(data.users), "group": len(data.groups), "role": len(data.roles),
            "services": {s for r in data.roles.values() for s in trusted_services(r)},
            "policy holder": sum(1 for p in data.principals() for pol in p.policies
                                 if pol.ref.origin == "managed" and ":aws:policy/" not in pol.ref.arn),
            "function": sum(1 for _, items in exports.resource_policies for i in items if i.get("ExecutionRole")),
            "instance": len(exports.instances),
        }
        for principal in data.principals():
            principal.grants = evaluate(principal.policies, principal.variables)
        apply_boundaries(data)
        for principal in data.principals():
            actions = {a for g in principal.grants for a in g.actions}
            effective[principal.arn] |= actions
            if is_account_admin(principal):
                found.add(principal.node_id)
            for group_name in principal.raw.get("GroupList") or []:
                group = data.groups.get(str(group_name))
                if group is not None:
                    group.grants = group.grants or evaluate(group.policies, group.variables)
                    effective[principal.arn] |= {a for g in group.grants for a in g.actions}
                    if is_account_admin(group):
                        found.add(principal.node_id)
    # hub nodes (collectors.aws.escalation) are not principals
    return {f[len("aws:"):] for f in found if f.startswith("aws:arn:")}, effective, inventory


def compare(label: str, exe: Path, folder: Path, methods: dict[str, list[str]], work: Path) -> list[dict]:
    flagged: dict[str, set[str]] = defaultdict(set)
    for index, details in enumerate(sorted(folder.rglob("authorization-details.json"))):
        for arn, techniques in run_cloudsplaining(exe, details, work / f"{label}-{index}").items():
            flagged[arn] |= techniques
    found, effective, inventory = crosspath_view(folder)
    rows = []
    for arn, techniques in sorted(flagged.items()):
        if arn in found:
            verdict, reason = "found", ""
        else:
            account = arn.split(":")[4]
            verdict, reason = _explain(techniques, effective.get(arn, set()), methods, inventory.get(account, {}))
        rows.append({"export": label, "principal": arn, "cloudsplaining": sorted(techniques), "verdict": verdict,
                     "reason": reason})
    only_crosspath = sorted(found - set(flagged))
    rows.extend({"export": label, "principal": arn, "cloudsplaining": [], "verdict": "crosspath only",
                 "reason": "grants constrained to named resources (cloudsplaining only reads unconstrained "
                           "actions) or AdministratorAccess (excluded by cloudsplaining's defaults)"}
                for arn in only_crosspath)
    return rows


def _explain(techniques: set[str], effective: set[str], methods: dict[str, list[str]],
             inventory: dict) -> tuple[str, str]:
    from collectors import technique_catalogue

    catalogue = technique_catalogue()
    covered = [t for t in techniques if COVERED.get(t)]
    if not covered:
        return "uncovered", "Crosspath has no technique for " + ", ".join(sorted(techniques))
    usable = [t for t in covered if set(methods[t]) <= effective]
    if not usable:
        missing = sorted({a for t in covered for a in methods[t] if a not in effective})
        return "blocked", f"boundary / Deny removes {', '.join(missing)}"
    for name in usable:
        rule = catalogue[COVERED[name]].derive
        if rule.services:
            if inventory.get("services", set()) & set(rule.services):
                return "MISS", f"{name}: a role trusts {rule.services} yet no edge"
        elif inventory.get(rule.target, 0) > 1 or (rule.target not in ("user", "role", "group")
                                                    and inventory.get(rule.target, 0) > 0):
            return "MISS", f"{name}: {rule.target} targets exist yet no edge"
    return "no target", "nothing to reach with " + ", ".join(sorted({COVERED[t] for t in usable})) + (
        " (no role trusts that service / no Lambda function or instance in the export)")


def synthetic_export(folder: Path, users: int, seed: int, methods: dict[str, list[str]]) -> None:
    """An account where users hold cloudsplaining's technique kits, some capped by a boundary or a Deny,
    some constrained to named resources; roles trust most (not all) compute services."""
    rng = random.Random(seed)
    acct = SYNTHETIC_ACCOUNT
    trust = {"ec2.amazonaws.com", "lambda.amazonaws.com", "cloudformation.amazonaws.com", "codebuild.amazonaws.com",
             "sagemaker.amazonaws.com", "ecs-tasks.amazonaws.com", "glue.amazonaws.com"}
    roles = []
    for service in sorted(trust):
        name = service.split(".")[0] + "-worker"
        roles.append({
            "Path": "/", "RoleName": name, "RoleId": f"AROA{name.upper().replace('-', '')[:17]:0<17}",
            "Arn": f"arn:aws:iam::{acct}:role/{name}", "CreateDate": "2025-01-01T00:00:00Z",
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]},
            "InstanceProfileList": [{"InstanceProfileName": name, "Arn": f"arn:aws:iam::{acct}:instance-profile/{name}"}]
            if service == "ec2.amazonaws.com" else [],
            "RolePolicyList": [], "AttachedManagedPolicies": [
                {"PolicyName": "shared-workers", "PolicyArn": f"arn:aws:iam::{acct}:policy/shared-workers"}],
            "Tags": []})
    boundary_arn = f"arn:aws:iam::{acct}:policy/read-only-boundary"
    policies = [
        _managed(acct, "read-only-boundary", [{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}]),
        _managed(acct, "shared-workers", [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::w/*"}]),
    ]
    # an older, broader version kept next to the default one
    policies[1]["PolicyVersionList"].append({"VersionId": "v0", "IsDefaultVersion": False, "Document": {
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}})
    groups, user_list = [], []
    names = sorted(methods)
    for index in range(users):
        technique = names[index % len(names)]
        actions = [_spelling(a) for a in methods[technique]]
        variant = rng.choices(["plain", "boundary", "deny", "constrained", "group"], [50, 15, 10, 15, 10])[0]
        name = f"user{index:04d}"
        statements: list[dict] = [{"Sid": "Kit", "Effect": "Allow", "Action": actions, "Resource": "*"}]
        if variant == "deny":
            statements.append({"Sid": "NoFirst", "Effect": "Deny", "Action": actions[0], "Resource": "*"})
        if variant == "constrained":
            statements = [{"Sid": "Kit", "Effect": "Allow", "Action": actions,
                           "Resource": [f"arn:aws:iam::{acct}:user/user0000", f"arn:aws:iam::{acct}:role/*"]}]
        user = {"Path": "/", "UserName": name, "UserId": f"AIDA{index:017d}", "Arn": f"arn:aws:iam::{acct}:user/{name}",
                "CreateDate": "2025-01-01T00:00:00Z", "GroupList": [], "AttachedManagedPolicies": [], "Tags": [],
                "UserPolicyList": [{"PolicyName": f"{technique}-kit", "PolicyDocument": {
                    "Version": "2012-10-17", "Statement": statements}}]}
        if variant == "boundary":
            user["PermissionsBoundary"] = {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary_arn}
        if variant == "group":
            group = f"group-{technique}"[:128]
            groups.append({"Path": "/", "GroupName": group, "GroupId": f"AGPA{index:017d}",
                           "Arn": f"arn:aws:iam::{acct}:group/{group}", "CreateDate": "2025-01-01T00:00:00Z",
                           "GroupPolicyList": user["UserPolicyList"], "AttachedManagedPolicies": []})
            user["UserPolicyList"] = []
            user["GroupList"] = [group]
        user_list.append(user)
    out = folder / acct
    out.mkdir(parents=True, exist_ok=True)
    (out / "authorization-details.json").write_text(json.dumps(
        {"UserDetailList": user_list, "GroupDetailList": groups, "RoleDetailList": roles, "Policies": policies}))


def _managed(acct: str, name: str, statements: list[dict]) -> dict:
    return {"PolicyName": name, "PolicyId": f"ANPA{name.upper().replace('-', '')[:17]:0<17}",
            "Arn": f"arn:aws:iam::{acct}:policy/{name}", "Path": "/", "DefaultVersionId": "v1", "AttachmentCount": 1,
            "IsAttachable": True, "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": True,
                                                         "Document": {"Version": "2012-10-17", "Statement": statements}}]}


def _spelling(action: str) -> str:
    from collectors.aws.access_levels import canonical

    return canonical(action)


def print_table(rows: list[dict]) -> None:
    by_technique: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for row in rows:
        for technique in row["cloudsplaining"] or ["(not flagged by cloudsplaining)"]:
            by_technique[(row["export"], technique)][row["verdict"]] += 1
    columns = ["found", "blocked", "no target", "uncovered", "crosspath only", "MISS"]
    print(f"| export | cloudsplaining technique | flagged | {' | '.join(columns)} |")
    print("|" + "---|" * (len(columns) + 3))
    for (export, technique), counts in sorted(by_technique.items()):
        flagged = sum(v for k, v in counts.items() if k != "crosspath only")
        print(f"| {export} | {technique} | {flagged} | " + " | ".join(str(counts.get(c, 0)) for c in columns) + " |")
    totals = Counter(row["verdict"] for row in rows)
    print("\nprincipals: " + ", ".join(f"{k} {v}" for k, v in sorted(totals.items())))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=400)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--details", action="store_true", help="also print every principal's row")
    args = parser.parse_args()
    exe = ensure_cloudsplaining()
    methods = cloudsplaining_methods()
    work = Path(tempfile.mkdtemp(prefix="crosspath-cloudsplaining-"))
    try:
        rows = compare("sample", exe, SAMPLES, methods, work)
        synthetic = work / "synthetic"
        synthetic_export(synthetic, args.users, args.seed, methods)
        rows += compare("synthetic", exe, synthetic, methods, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_table(rows)
    if args.details:
        for row in rows:
            print(json.dumps(row))
    misses = [r for r in rows if r["verdict"] == "MISS"]
    return 1 if misses else 0


if __name__ == "__main__":
    raise SystemExit(main())
