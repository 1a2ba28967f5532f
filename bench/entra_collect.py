"""Entra collector figures: offline transform time / edges at tenant sizes, live paging throughput.

    .venv/bin/python bench/entra_collect.py --users 10000 100000 --live-users 20000

Writes a synthetic Graph export (users in pages of 999, groups of 50 members, a CA baseline
with a Contractors exclusion, helpdesk / application admins, apps with secrets), runs
``collect_offline`` on it and prints seconds, peak RSS and record counts (abuse edges by
technique). ``--live-users`` also serves such an export from the local Graph test server and
times ``crosspath collect entra``'s code path (msgraph-sdk over HTTP, every page followed).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from collectors.entra import collect_offline

TENANT = "00000000-0000-4000-8000-0000000000aa"
PAGE = 999
HELPDESK = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
APP_ADMIN = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"


def guid(prefix: int, n: int) -> str:
    return f"{prefix:08x}-0000-4000-8000-{n:012x}"


def write_pages(folder: Path, stem: str, objects: list[dict]) -> None:
    chunks = [objects[i : i + PAGE] for i in range(0, len(objects), PAGE)] or [[]]
    for number, chunk in enumerate(chunks, start=1):
        page = {"value": chunk}
        if number < len(chunks):
            page["@odata.nextLink"] = f"https://graph.microsoft.com/v1.0/{stem}?$skiptoken={number + 1}"
        name = f"{stem}.json" if number == 1 else f"{stem}.page{number}.json"
        (folder / name).write_text(json.dumps(page))


def synthetic_tenant(folder: Path, users: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "group-members").mkdir(exist_ok=True)
    (folder / "organization.json").write_text(json.dumps({"value": [{"id": TENANT, "displayName": "Bench"}]}))
    (folder / "identitySecurityDefaultsEnforcementPolicy.json").write_text(json.dumps({"isEnabled": False}))
    write_pages(
        folder,
        "users",
        [
            {
                "id": guid(1, i),
                "userPrincipalName": f"user{i}@bench.example",
                "displayName": f"User {i}",
                "accountEnabled": True,
                "userType": "Member",
            }
            for i in range(users)
        ],
    )
    groups = max(1, users // 50)
    write_pages(
        folder,
        "groups",
        [{"id": guid(2, g), "displayName": f"group-{g}", "securityEnabled": True} for g in range(groups)],
    )
    for g in range(groups):
        members = [
            {"@odata.type": "#microsoft.graph.user", "id": guid(1, i)}
            for i in range(g * 50, min(users, g * 50 + 50))
        ]
        (folder / "group-members" / f"{guid(2, g)}.json").write_text(json.dumps({"value": members}))
    apps = max(1, users // 1000)
    write_pages(
        folder,
        "applications",
        [
            {
                "id": guid(3, a),
                "appId": guid(4, a),
                "displayName": f"app-{a}",
                "passwordCredentials": [
                    {
                        "keyId": guid(5, a),
                        "startDateTime": "2026-01-01T00:00:00Z",
                        "endDateTime": "2028-01-01T00:00:00Z",
                    }
                ],
                "keyCredentials": [],
            }
            for a in range(apps)
        ],
    )
    write_pages(
        folder,
        "servicePrincipals",
        [
            {
                "id": guid(6, a),
                "appId": guid(4, a),
                "displayName": f"app-{a}",
                "appOwnerOrganizationId": TENANT,
            }
            for a in range(apps)
        ],
    )
    # 1 in 500 users is a helpdesk admin, 1 in 2000 an application admin, 3 global admins.
    assignments = [
        {"id": f"h{i}", "principalId": guid(1, i), "roleDefinitionId": HELPDESK, "directoryScopeId": "/"}
        for i in range(0, users, 500)
    ]
    assignments += [
        {"id": f"a{i}", "principalId": guid(1, i + 1), "roleDefinitionId": APP_ADMIN, "directoryScopeId": "/"}
        for i in range(0, users, 2000)
    ]
    assignments += [
        {
            "id": f"g{i}",
            "principalId": guid(1, i + 2),
            "roleDefinitionId": GLOBAL_ADMIN,
            "directoryScopeId": "/",
        }
        for i in range(3)
    ]
    write_pages(folder, "roleAssignments", assignments)
    write_pages(folder, "roleDefinitions", [])
    write_pages(
        folder,
        "userRegistrationDetails",
        [{"id": guid(1, i), "isMfaRegistered": i % 3 != 0, "methodsRegistered": []} for i in range(users)],
    )
    write_pages(
        folder,
        "conditionalAccessPolicies",
        [
            {
                "id": "p1",
                "displayName": "Require MFA",
                "state": "enabled",
                "conditions": {
                    "users": {"includeUsers": ["All"], "excludeGroups": [guid(2, 0)]},
                    "applications": {"includeApplications": ["All"]},
                    "clientAppTypes": ["all"],
                },
                "grantControls": {"operator": "OR", "builtInControls": ["mfa"]},
            }
        ],
    )


def offline(users: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "entra"
        synthetic_tenant(folder, users)
        started = time.perf_counter()
        result = collect_offline(folder)
        seconds = time.perf_counter() - started
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    techniques = Counter(t for e in result.edges for t in e.get("techniques", ()))
    print(
        f"offline users={users:>7} nodes={len(result.nodes):>7} edges={len(result.edges):>8} "
        f"seconds={seconds:6.2f} peak_rss_mb={rss_mb:7.0f} errors={len(result.errors)}"
    )
    print("   abuse edges: " + ", ".join(f"{k}={v}" for k, v in sorted(techniques.items())))


def live(users: int) -> None:
    from collectors.entra.live import run_collection
    from collectors.live import LiveRun
    from tests.collectors.entra.graph_server import GraphServer

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "src"
        synthetic_tenant(folder, users)
        with GraphServer(folder) as server:
            started = time.perf_counter()
            log = run_collection(
                LiveRun("entra", Path(tmp) / "out", quiet=True), object(), server.base_url, arm_url=None
            )
            seconds = time.perf_counter() - started
        http = [seen for seen in server.requests if "x-batch-id" not in seen.headers]
        batched = len(server.requests) - len(http)
        print(
            f"live    users={users:>7} graph_calls={len(server.requests):>6} http_requests={len(http):>5} "
            f"(batched calls {batched}) seconds={seconds:6.2f} problems={len(log['problems'])}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, nargs="*", default=[10000])
    parser.add_argument("--live-users", type=int, default=0)
    args = parser.parse_args()
    for users in args.users:
        offline(users)
    if args.live_users:
        live(args.live_users)


if __name__ == "__main__":
    main()
