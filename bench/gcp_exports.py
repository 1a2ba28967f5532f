"""Benchmark: the GCP offline collector on a synthetic gcloud export; prints time, memory, record counts.

    python bench/gcp_exports.py --projects 200 --accounts 20

Writes an organization with 10 folders, `--projects` projects spread over them, `--accounts` service
accounts per project (each with one user-managed and two system-managed keys and an SA policy granting
Token Creator to the next account: chains), project bindings (owner user, editor SA, viewer group,
Token Creator group, a custom role) and an org deny policy; then times `collect_offline` (read +
transform). Each run is its own process so the peak resident memory is its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def write(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


def generate(folder: Path, projects: int, accounts: int) -> int:
    """Write the export; returns the number of files."""
    files = 0
    org = folder / "organizations" / "1000"
    write(org / "organization.json", {"displayName": "bench.example", "name": "organizations/1000"})
    write(org / "iam-policy.json", {"bindings": [
        {"role": "roles/resourcemanager.organizationAdmin", "members": ["group:org-admins@bench.example"]}]})
    write(org / "deny-policies.json", [{"name": "policies/x/denypolicies/no-keys", "rules": [{"denyRule": {
        "deniedPrincipals": ["principalSet://goog/public:all"],
        "deniedPermissions": ["iam.googleapis.com/serviceAccountKeys.create"]}}]}])
    files += 3
    for f in range(10):
        write(folder / "folders" / str(2000 + f) / "folder.json",
              {"name": f"folders/{2000 + f}", "parent": "organizations/1000"})
        write(folder / "folders" / str(2000 + f) / "iam-policy.json", {"bindings": [
            {"role": "roles/iam.serviceAccountTokenCreator", "members": [f"group:oncall-{f}@bench.example"]}]})
        files += 2
    listing = []
    for p in range(projects):
        pid = f"bench-{p:05d}"
        listing.append({"projectId": pid, "projectNumber": str(900000 + p), "lifecycleState": "ACTIVE",
                        "labels": {"env": "prod" if p % 3 == 0 else "dev"},
                        "parent": {"type": "folder", "id": str(2000 + p % 10)}})
        base = folder / "projects" / pid
        emails = [f"sa-{a:03d}@{pid}.iam.gserviceaccount.com" for a in range(accounts)]
        write(base / "iam-policy.json", {"bindings": [
            {"role": "roles/owner", "members": [f"user:owner-{p}@bench.example"]},
            {"role": "roles/editor", "members": [f"serviceAccount:{emails[0]}"]},
            {"role": "roles/viewer", "members": [f"group:readers-{p % 50}@bench.example"]},
            {"role": f"projects/{pid}/roles/deployer", "members": [f"serviceAccount:{emails[-1]}"]}]})
        write(base / "custom-roles.json", [{"name": f"projects/{pid}/roles/deployer", "includedPermissions": [
            "iam.serviceAccounts.actAs", "run.services.update", "storage.objects.create"]}])
        write(base / "service-accounts.json", [{"email": e, "projectId": pid} for e in emails])
        files += 3
        for index, email in enumerate(emails):
            keys = [{"name": f"projects/{pid}/serviceAccounts/{email}/keys/u{index:036d}", "keyType": "USER_MANAGED",
                     "validAfterTime": "2025-01-01T00:00:00Z", "validBeforeTime": "9999-12-31T23:59:59Z"}]
            keys += [{"name": f"projects/{pid}/serviceAccounts/{email}/keys/s{k}{index:035d}",
                      "keyType": "SYSTEM_MANAGED", "validAfterTime": "2026-10-20T00:00:00Z",
                      "validBeforeTime": "2026-11-05T00:00:00Z"} for k in range(2)]
            write(base / "service-accounts" / email / "keys.json", keys)
            nxt = emails[(index + 1) % len(emails)]
            write(base / "service-accounts" / email / "iam-policy.json", {"bindings": [
                {"role": "roles/iam.serviceAccountTokenCreator", "members": [f"serviceAccount:{nxt}"]}]})
            files += 2
    write(folder / "projects.json", listing)
    return files + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--accounts", type=int, default=20)
    args = parser.parse_args()
    from collectors.gcp import collect_offline

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "gcp"
        started = time.perf_counter()
        files = generate(folder, args.projects, args.accounts)
        generated = time.perf_counter() - started
        started = time.perf_counter()
        result = collect_offline(folder)
        collected = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "projects": args.projects, "service_accounts": args.projects * args.accounts, "files": files,
        "nodes": len(result.nodes), "edges": len(result.edges), "errors": len(result.errors),
        "generate_s": round(generated, 2), "collect_offline_s": round(collected, 2),
        "peak_rss_mib": round(peak_mib, 1),
    }))


if __name__ == "__main__":
    main()
