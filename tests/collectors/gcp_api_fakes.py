"""Local servers that answer the real Google clients in the real API shapes.

No emulator exists for IAM. Resource Manager v3 is served over its REST transport (JSON bodies,
`pageToken` / `nextPageToken`, Google's JSON error shape); IAM admin v1, which has no REST
transport in google-cloud-iam, over gRPC with a generic handler registered for
`google.iam.admin.v1.IAM` and the library's own request / response messages. The answers are the
Lumen Freight sample turned into API responses (the Cloud Storage JSON API is served on the same
HTTP server) (v3 projects are named by number and carry
`parent` as a string, service-account keys are `ServiceAccountKey` messages, ...). Faults: one
429 / RESOURCE_EXHAUSTED per method listed in `throttle_once` (or at the n-th call, `throttle_at`: a
later page), a 403 / PERMISSION_DENIED for each
(method, resource) in `deny`.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from concurrent import futures
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import grpc
from google.cloud.iam_admin_v1.types import iam as iam_types
from google.iam.v1 import iam_policy_pb2, policy_pb2
from google.protobuf import json_format

from collectors.gcp.role_catalogue import CATALOGUE

PAGE_SIZE = 1  # small pages so every list call has to follow nextPageToken


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass
class World:
    organizations: dict[str, dict] = field(default_factory=dict)
    folders: dict[str, dict] = field(default_factory=dict)
    projects: dict[str, dict] = field(default_factory=dict)  # by "projects/<id>" and "projects/<number>"
    policies: dict[str, dict] = field(default_factory=dict)  # resource name -> Policy JSON
    service_accounts: dict[str, list[dict]] = field(default_factory=dict)  # "projects/<id>" -> accounts
    keys: dict[str, list[dict]] = field(default_factory=dict)  # email -> ServiceAccountKey JSON
    roles: dict[str, dict] = field(default_factory=dict)
    custom_roles: dict[str, list[dict]] = field(default_factory=dict)
    buckets: dict[str, list[dict]] = field(default_factory=dict)  # project id -> storage#bucket resources
    pools: dict[str, dict[str, list[dict]]] = field(default_factory=dict)  # project id -> pool id -> providers
    deny_policies: dict[str, list[dict]] = field(default_factory=dict)  # attachment resource -> policies
    # Policy Analyzer: (project id, activity type) -> Activity JSON; projects whose API is disabled
    activities: dict[tuple[str, str], list[dict]] = field(default_factory=dict)
    disabled_apis: set[str] = field(default_factory=set)
    throttle_once: set[str] = field(default_factory=set)
    throttle_at: dict[str, int] = field(default_factory=dict)  # method -> the call number that gets a 429
    deny: set[tuple[str, str]] = field(default_factory=set)
    calls: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fault(self, method: str, resource: str) -> int | None:
        """HTTP status to answer with, if any; counts the call."""
        with self.lock:
            self.calls[method] += 1
            if (method, resource) in self.deny:
                return 403
            if method in self.throttle_once:
                self.throttle_once.discard(method)
                return 429
            if self.throttle_at.get(method) == self.calls[method]:
                return 429
        return None


def world_from_sample(sample: Path) -> World:
    world = World()
    for org_dir in sorted((sample / "organizations").iterdir()):
        info = _read(org_dir / "organization.json")
        name = f"organizations/{org_dir.name}"
        world.organizations[name] = {"name": name, "displayName": info["displayName"],
                                     "directoryCustomerId": info["owner"]["directoryCustomerId"],
                                     "state": "ACTIVE", "createTime": info["creationTime"], "etag": "BwX="}
        world.policies[name] = _read(org_dir / "iam-policy.json")
        if (org_dir / "deny-policies.json").is_file():
            world.deny_policies[name] = _read(org_dir / "deny-policies.json")
    for folder_dir in sorted((sample / "folders").iterdir()):
        info = _read(folder_dir / "folder.json")
        world.folders[info["name"]] = {"name": info["name"], "parent": info["parent"],
                                       "displayName": info["displayName"], "state": "ACTIVE",
                                       "createTime": info["createTime"], "etag": "BwX="}
        world.policies[info["name"]] = _read(folder_dir / "iam-policy.json")
    for entry in _read(sample / "projects.json"):
        parent = entry["parent"]
        project = {"name": f"projects/{entry['projectNumber']}", "projectId": entry["projectId"],
                   "parent": f"{parent['type']}s/{parent['id']}", "state": entry["lifecycleState"],
                   "displayName": entry["name"], "createTime": entry["createTime"], "labels": entry["labels"],
                   "etag": "W/\"1\""}
        world.projects[project["name"]] = world.projects[f"projects/{entry['projectId']}"] = project
        base = sample / "projects" / entry["projectId"]
        world.policies[f"projects/{entry['projectId']}"] = _read(base / "iam-policy.json")
        world.service_accounts[f"projects/{entry['projectId']}"] = _read(base / "service-accounts.json")
        for pool_dir in sorted((base / "workload-identity-pools").glob("*")):
            world.pools.setdefault(entry["projectId"], {})[pool_dir.name] = _read(pool_dir / "providers.json")
        for bucket_dir in sorted((base / "buckets").glob("*")):
            world.buckets.setdefault(entry["projectId"], []).append({
                "kind": "storage#bucket", "id": bucket_dir.name, "name": bucket_dir.name,
                "projectNumber": entry["projectNumber"], "location": "EU", "storageClass": "STANDARD",
                "timeCreated": "2024-02-01T10:00:00.000Z", "iamConfiguration": {
                    "uniformBucketLevelAccess": {"enabled": True}}})
            world.policies[f"buckets/{bucket_dir.name}"] = {
                "kind": "storage#policy", "resourceId": f"projects/_/buckets/{bucket_dir.name}",
                **_read(bucket_dir / "iam-policy.json")}
        for sa_dir in sorted((base / "service-accounts").glob("*")):
            world.keys[sa_dir.name] = _read(sa_dir / "keys.json")
            world.policies[f"projects/{entry['projectId']}/serviceAccounts/{sa_dir.name}"] = _read(
                sa_dir / "iam-policy.json")
    for name, role in _read(CATALOGUE)["roles"].items():
        world.roles[name] = {"name": name, "title": role["title"], "stage": role["stage"],
                             "includedPermissions": role["includedPermissions"], "etag": "AA=="}
    return world


def _page(items: list[Any], token: str) -> tuple[list[Any], str]:
    start = int(token or 0)
    end = start + PAGE_SIZE
    return items[start:end], (str(end) if end < len(items) else "")


_STATUS = {403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED"}


# --- Resource Manager v3 over REST ---------------------------------------------------------------------------


def _handler(world: World) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:  # keep test output clean
            pass

        def answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def error(self, status: int, message: str) -> None:
            self.answer(status, {"error": {"code": status, "message": message, "status": _STATUS[status]}})

        def route(self, method: str, resource: str, build: Any) -> None:
            status = world.fault(method, resource)
            if status == 403:
                self.error(403, f"The caller does not have permission ({method} on {resource})")
            elif status == 429:
                self.error(429, "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per "
                                "minute' of service 'cloudresourcemanager.googleapis.com'")
            else:
                body = build()
                if body is None:
                    self.error(404, f"{resource} not found")
                else:
                    self.answer(200, body)

        def listing(self, method: str, key: str, items: list[dict], parent: str, token: str) -> None:
            def build() -> dict:
                page, next_token = _page(items, token)
                return {key: page, **({"nextPageToken": next_token} if next_token else {})}
            self.route(method, parent, build)

        def storage(self, url: Any) -> None:
            """Cloud Storage JSON API: buckets.list (paged) and buckets.getIamPolicy."""
            path = unquote(url.path).removeprefix("/storage/v1/b")
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if path in ("", "/"):
                project = query.get("project", "")
                items = world.buckets.get(project, [])

                def build() -> dict:
                    page, token = _page(items, query.get("pageToken", ""))
                    return {"kind": "storage#buckets", "items": page, **({"nextPageToken": token} if token else {})}
                self.route("storage.buckets.list", f"projects/{project}", build)
            elif path.endswith("/iam"):
                name = path.strip("/").removesuffix("/iam")
                self.route("storage.buckets.getIamPolicy", f"buckets/{name}",
                           lambda: world.policies.get(f"buckets/{name}"))
            else:
                self.error(404, f"no route {path}")

        def pools(self, url: Any) -> None:
            """IAM v1: workloadIdentityPools.list and providers.list (paged)."""
            parts = unquote(url.path).removeprefix("/v1/projects/").split("/")
            project, token = parts[0], parse_qs(url.query).get("pageToken", [""])[0]
            pools = world.pools.get(project, {})
            if len(parts) == 4:  # <project>/locations/global/workloadIdentityPools
                items = [{"name": f"projects/{project}/locations/global/workloadIdentityPools/{pool}",
                          "state": "ACTIVE"} for pool in sorted(pools)]
                self.listing("iam.workloadIdentityPools.list", "workloadIdentityPools", items,
                             f"projects/{project}", token)
            elif len(parts) == 6 and parts[5] == "providers":
                self.listing("iam.workloadIdentityPoolProviders.list", "workloadIdentityPoolProviders",
                             pools.get(parts[4], []), f"projects/{project}/pools/{parts[4]}", token)
            else:
                self.error(404, f"no route {url.path}")

        def deny_policies(self, url: Any) -> None:
            """IAM v2: policies.list (metadata only, as the real API) and policies.get (with rules)."""
            # The resource name itself holds `%2F` (`policies/cloudresourcemanager.googleapis.com%2Fprojects%2Fp1/
            # denypolicies`), which the client escapes once more on the wire: decode the segment twice.
            parts = [unquote(part) for part in url.path.removeprefix("/v2/").split("/")]
            attachment = unquote(parts[1]).removeprefix("cloudresourcemanager.googleapis.com/")
            policies = world.deny_policies.get(attachment, [])
            if len(parts) == 3:
                items = [{k: v for k, v in p.items() if k != "rules"} for p in policies]
                self.listing("iam.denypolicies.list", "policies", items, attachment,
                             parse_qs(url.query).get("pageToken", [""])[0])
            else:
                found = next((p for p in policies if p["name"].rsplit("/", 1)[-1] == parts[3]), None)
                self.route("iam.denypolicies.get", attachment, lambda: found)

        def activities(self, url: Any) -> None:
            """Policy Analyzer v1 activities:query (paged; `{}` when a project has no activity, as the real API).
            A project in `disabled_apis` answers as Google does when the API is not enabled: 403 SERVICE_DISABLED."""
            parts = unquote(url.path).removeprefix("/v1/projects/").removesuffix("/activities:query").split("/")
            project, activity_type = parts[0], parts[-1]
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            method = f"policyanalyzer.{activity_type}.query"
            if parts[1:3] != ["locations", "global"] or parts[3] != "activityTypes":
                self.error(404, f"no route {url.path}")
                return
            if project in world.disabled_apis:
                world.fault(method, f"projects/{project}")
                self.answer(403, {"error": {
                    "code": 403, "status": "PERMISSION_DENIED",
                    "message": f"Policy Analyzer API has not been used in project {project} before or it is "
                               "disabled. Enable it by visiting https://console.developers.google.com/apis/api/"
                               f"policyanalyzer.googleapis.com/overview?project={project} then retry.",
                    "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED",
                                 "domain": "googleapis.com",
                                 "metadata": {"service": "policyanalyzer.googleapis.com",
                                              "consumer": f"projects/{project}"}}]}})
                return
            items = world.activities.get((project, activity_type), [])
            self.listing(method, "activities", items, f"projects/{project}", query.get("pageToken", ""))

        def asset_search(self, url: Any) -> None:
            """Cloud Asset Inventory searchAllIamPolicies: one result per resource with a non-empty policy,
            named by full resource name (projects by number, service accounts by unique id)."""
            scope = unquote(url.path).removeprefix("/v1/").removesuffix(":searchAllIamPolicies")
            token = parse_qs(url.query).get("pageToken", [""])[0]
            self.listing("cloudasset.searchAllIamPolicies", "results", asset_results(world, scope), scope, token)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            if url.path.endswith(":searchAllIamPolicies"):
                self.asset_search(url)
                return
            if url.path.startswith("/v2/policies/"):
                self.deny_policies(url)
                return
            if url.path.endswith("/activities:query"):
                self.activities(url)
                return
            if url.path.startswith("/storage/v1/b"):
                self.storage(url)
                return
            if url.path.startswith("/v1/projects/"):
                self.pools(url)
                return
            path = unquote(url.path).removeprefix("/v3/")
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            token = query.get("pageToken", "")
            if path == "folders":
                parent = query.get("parent", "")
                items = [f for f in world.folders.values() if f["parent"] == parent]
                self.listing("folders.list", "folders", items, parent, token)
            elif path == "projects":
                parent = query.get("parent", "")
                items = [p for n, p in world.projects.items() if p["parent"] == parent and n == p["name"]]
                self.listing("projects.list", "projects", items, parent, token)
            elif path == "projects:search":
                items = [p for n, p in world.projects.items() if n == p["name"]]
                self.listing("projects.search", "projects", items, "", token)
            elif path.startswith("organizations/"):
                self.route("organizations.get", path, lambda: world.organizations.get(path))
            elif path.startswith("folders/"):
                self.route("folders.get", path, lambda: world.folders.get(path))
            elif path.startswith("projects/"):
                self.route("projects.get", path, lambda: world.projects.get(path))
            else:
                self.error(404, f"no route {path}")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            path = unquote(urlparse(self.path).path).removeprefix("/v3/")
            resource, _, verb = path.partition(":")
            if verb != "getIamPolicy":
                self.error(403, "read-only fake: only getIamPolicy is served")
                return
            kind = resource.split("/", 1)[0]
            self.route(f"{kind}.getIamPolicy", resource, lambda: world.policies.get(resource))

    return Handler


def asset_results(world: World, scope: str) -> list[dict]:
    """IamPolicySearchResult JSON for every non-empty policy inside `scope` (an org: all of them)."""
    numbers = {p["projectId"]: p["name"].split("/")[1] for p in world.projects.values()}
    unique_ids = {a["email"]: a.get("uniqueId", "") for accounts in world.service_accounts.values() for a in accounts}
    bucket_project = {b["name"]: b["projectNumber"] for buckets in world.buckets.values() for b in buckets}
    results = []
    for key, policy in sorted(world.policies.items()):
        if not policy.get("bindings"):
            continue
        kind, _, rest = key.partition("/")
        if kind == "buckets":
            resource, project = f"//storage.googleapis.com/{rest}", bucket_project.get(rest, "")
        elif kind == "projects" and "/serviceAccounts/" in rest:
            pid, _, email = rest.partition("/serviceAccounts/")
            resource, project = f"//iam.googleapis.com/projects/{pid}/serviceAccounts/{unique_ids[email]}", numbers[pid]
        elif kind == "projects":
            resource, project = f"//cloudresourcemanager.googleapis.com/projects/{numbers[rest]}", numbers[rest]
        else:
            resource, project = f"//cloudresourcemanager.googleapis.com/{key}", ""
        if scope.startswith("projects/") and project != numbers.get(scope.split("/")[1]):
            continue
        bindings = [{k: v for k, v in b.items()} for b in policy["bindings"]]
        results.append({"resource": resource, "assetType": "", "project": f"projects/{project}" if project else "",
                        "policy": {"version": policy.get("version", 1), "etag": policy.get("etag", "ACAB"),
                                   "bindings": bindings}})
    return results


# --- IAM admin v1 over gRPC -----------------------------------------------------------------------------------


def _grpc_handler(world: World) -> grpc.GenericRpcHandler:
    def guarded(method: str, resource: str, context: grpc.ServicerContext) -> None:
        status = world.fault(method, resource)
        if status == 403:
            context.abort(grpc.StatusCode.PERMISSION_DENIED,
                          f"Permission '{method}' denied on resource '{resource}' (or it may not exist).")
        if status == 429:
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                          "Quota exceeded for quota metric 'Read requests' of service 'iam.googleapis.com'")

    def list_service_accounts(request: Any, context: grpc.ServicerContext) -> Any:
        guarded("iam.serviceAccounts.list", request.name, context)
        accounts = world.service_accounts.get(request.name)
        if accounts is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"{request.name} not found")
        page, token = _page(accounts, request.page_token)
        return iam_types.ListServiceAccountsResponse(
            accounts=[iam_types.ServiceAccount.from_json(json.dumps(a), ignore_unknown_fields=True) for a in page],
            next_page_token=token)

    def list_keys(request: Any, context: grpc.ServicerContext) -> Any:
        guarded("iam.serviceAccountKeys.list", request.name, context)
        email = request.name.rsplit("/", 1)[-1]
        keys = [iam_types.ServiceAccountKey.from_json(json.dumps(k), ignore_unknown_fields=True) for k in world.keys.get(email, [])]
        return iam_types.ListServiceAccountKeysResponse(keys=keys)

    def get_iam_policy(request: Any, context: grpc.ServicerContext) -> Any:
        guarded("iam.serviceAccounts.getIamPolicy", request.resource, context)
        return json_format.ParseDict(world.policies.get(request.resource, {}), policy_pb2.Policy())

    def list_roles(request: Any, context: grpc.ServicerContext) -> Any:
        guarded("iam.roles.list", request.parent, context)
        roles = [role for role in world.custom_roles.get(request.parent, [])
                 if request.show_deleted or not role.get("deleted")]  # as IAM: deleted ones only on request
        page, token = _page(roles, request.page_token)
        return iam_types.ListRolesResponse(roles=[iam_types.Role.from_json(json.dumps(r)) for r in page],
                                           next_page_token=token)

    def get_role(request: Any, context: grpc.ServicerContext) -> Any:
        guarded("iam.roles.get", request.name, context)
        role = world.roles.get(request.name)
        if role is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"role {request.name} not found")
        return iam_types.Role.from_json(json.dumps(role))

    def unary(function: Any, request_type: Any, response_type: Any) -> grpc.RpcMethodHandler:
        return grpc.unary_unary_rpc_method_handler(function, request_deserializer=request_type.deserialize,
                                                   response_serializer=response_type.serialize)

    return grpc.method_handlers_generic_handler("google.iam.admin.v1.IAM", {
        "ListServiceAccounts": unary(list_service_accounts, iam_types.ListServiceAccountsRequest,
                                     iam_types.ListServiceAccountsResponse),
        "ListServiceAccountKeys": unary(list_keys, iam_types.ListServiceAccountKeysRequest,
                                        iam_types.ListServiceAccountKeysResponse),
        "GetIamPolicy": grpc.unary_unary_rpc_method_handler(
            get_iam_policy, request_deserializer=iam_policy_pb2.GetIamPolicyRequest.FromString,
            response_serializer=policy_pb2.Policy.SerializeToString),
        "ListRoles": unary(list_roles, iam_types.ListRolesRequest, iam_types.ListRolesResponse),
        "GetRole": unary(get_role, iam_types.GetRoleRequest, iam_types.Role),
    })


@dataclass
class Servers:
    world: World
    rest_endpoint: str  # Resource Manager and Cloud Storage JSON API
    grpc_endpoint: str
    _http: ThreadingHTTPServer
    _grpc: grpc.Server

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._grpc.stop(grace=None)


def start_servers(world: World) -> Servers:
    http = ThreadingHTTPServer(("127.0.0.1", 0), _handler(world))
    threading.Thread(target=http.serve_forever, daemon=True).start()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((_grpc_handler(world),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return Servers(world, f"http://127.0.0.1:{http.server_address[1]}", f"127.0.0.1:{port}", http, server)
