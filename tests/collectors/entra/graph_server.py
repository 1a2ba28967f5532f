"""A local HTTP server that answers like Microsoft Graph v1.0 (and Azure Resource Manager) from saved files.

It serves an export folder (the layout docs/collectors/entra.md describes): a collection's
pages ``<stem>.json``, ``<stem>.page2.json`` ... are returned one per request, each with an
``@odata.nextLink`` pointing back at this server (``$skiptoken=<page>``), as Graph pages.
Per-object requests (``/groups/{id}/members`` ...) read ``<folder>/<id>.json`` and answer an
empty collection when the object has none, as Graph does; ``POST /$batch`` answers up to 20 of
them in one JSON batch response (``{"responses": [{"id", "status", "headers", "body"}]}``).
``faults`` injects responses (a 429 with ``Retry-After``, a 403 with Graph's error body) before
the normal answer.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self
from urllib.parse import parse_qs, urlsplit

COLLECTIONS = {
    "/organization": "organization",
    "/users": "users",
    "/groups": "groups",
    "/servicePrincipals": "servicePrincipals",
    "/applications": "applications",
    "/roleManagement/directory/roleDefinitions": "roleDefinitions",
    "/roleManagement/directory/roleAssignments": "roleAssignments",
    "/roleManagement/directory/roleEligibilitySchedules": "roleEligibilitySchedules",
    "/policies/roleManagementPolicyAssignments": "roleManagementPolicyAssignments",
    "/reports/authenticationMethods/userRegistrationDetails": "userRegistrationDetails",
    "/identity/conditionalAccess/policies": "conditionalAccessPolicies",
    "/oauth2PermissionGrants": "oauth2PermissionGrants",
}
# Graph /beta collections (the usage reports), served from the folder like the v1.0 ones.
BETA = {
    "/reports/appCredentialSignInActivities": "appCredentialSignInActivities",
    "/reports/servicePrincipalSignInActivities": "servicePrincipalSignInActivities",
}
SINGLE = {"/policies/identitySecurityDefaultsEnforcementPolicy": "identitySecurityDefaultsEnforcementPolicy"}
# Per-object requests that name the object in $filter rather than in the path.
FILTERED = {
    "/identityGovernance/privilegedAccess/group/eligibilitySchedules": (
        re.compile(r"groupId eq '([^']+)'"),
        "groupEligibilitySchedules",
    ),
    "/policies/roleManagementPolicyAssignments": (
        re.compile(r"scopeId eq '([^']+)' and scopeType eq 'Group'"),
        "groupPolicyAssignments",
    ),
}
ARM = [  # Azure Resource Manager, served from azure/ (paging key "nextLink")
    (re.compile(r"^/subscriptions$"), "azure", "subscriptions"),
    (
        re.compile(r"^/subscriptions/([^/]+)/providers/Microsoft.Authorization/roleAssignments$"),
        "azure/roleAssignments",
        None,
    ),
    (
        re.compile(r"^/subscriptions/([^/]+)/providers/Microsoft.Authorization/roleDefinitions$"),
        "azure/roleDefinitions",
        None,
    ),
    (re.compile(r"^/subscriptions/([^/]+)/resources$"), "azure/resources", None),
    (
        re.compile(
            r"^/subscriptions/([^/]+)/providers/Microsoft.Authorization/roleEligibilityScheduleInstances$"
        ),
        "azure/roleEligibilityScheduleInstances",
        None,
    ),
    (
        re.compile(
            r"^/subscriptions/([^/]+)/providers/Microsoft.Authorization/roleManagementPolicyAssignments$"
        ),
        "azure/roleManagementPolicyAssignments",
        None,
    ),
]
PER_OBJECT = [
    (re.compile(r"^/groups/([^/]+)/members$"), "group-members"),
    (re.compile(r"^/groups/([^/]+)/owners$"), "group-owners"),
    (re.compile(r"^/applications/([^/]+)/owners$"), "application-owners"),
    (re.compile(r"^/servicePrincipals/([^/]+)/owners$"), "servicePrincipal-owners"),
    (re.compile(r"^/applications/([^/]+)/federatedIdentityCredentials$"), "federatedIdentityCredentials"),
    (re.compile(r"^/servicePrincipals/([^/]+)/appRoleAssignedTo$"), "appRoleAssignedTo"),
]


def graph_error(status: int, code: str, message: str) -> tuple[int, dict[str, str], dict]:
    """A Graph error response: {"error": {"code", "message", "innerError"}}."""
    return (
        status,
        {},
        {
            "error": {
                "code": code,
                "message": message,
                "innerError": {"date": "2026-11-01T00:00:00", "request-id": "test"},
            }
        },
    )


def too_many_requests(seconds: int = 1) -> tuple[int, dict[str, str], dict]:
    status, _, body = graph_error(429, "TooManyRequests", "Too many requests. Retry after a while.")
    return status, {"Retry-After": str(seconds)}, body


@dataclass
class Seen:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names


@dataclass
class GraphServer:
    folder: Path
    faults: dict[str, list[tuple[int, dict[str, str], dict]]] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.answer(self)

            def do_POST(self) -> None:
                server.answer_batch(self)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.arm_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.base_url = f"{self.arm_url}/v1.0"
        self.beta_url = f"{self.arm_url}/beta"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def hits(self, path: str) -> list[Seen]:
        return [seen for seen in self.requests if seen.path == path]

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        graph = parts.path.startswith("/v1.0/")
        path = parts.path.removeprefix("/v1.0")  # beta paths keep their /beta prefix (hits, faults)
        query = parse_qs(parts.query)
        self.requests.append(Seen(path, query, {k.lower(): v for k, v in handler.headers.items()}))
        queued = self.faults.get(path)
        beta = path.removeprefix("/beta") if path.startswith("/beta/") else None
        if queued:
            status, headers, body = queued.pop(0)
        elif beta is not None:
            status, headers, body = (
                self.page(self.folder, BETA[beta], path, parts.query, query, base=self.arm_url)
                if beta in BETA
                else graph_error(400, "BadRequest", f"Resource not found for the segment '{beta}'.")
            )
        else:
            status, headers, body = (
                self.resolve(path, parts.query, query)
                if graph
                else self.resolve_arm(path, parts.query, query)
            )
        self.send(handler, status, headers, body)

    @staticmethod
    def send(handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: dict) -> None:
        payload = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(payload)

    def answer_batch(self, handler: BaseHTTPRequestHandler) -> None:
        """``POST /v1.0/$batch``: each inner GET is answered (and faulted) as if sent alone."""
        length = int(handler.headers.get("Content-Length") or 0)
        body = json.loads(handler.rfile.read(length) or b"{}")
        self.requests.append(
            Seen(
                urlsplit(handler.path).path.removeprefix("/v1.0"),
                {},
                {k.lower(): v for k, v in handler.headers.items()},
            )
        )
        queued = self.faults.get("/$batch")
        if queued:  # the whole batch throttled or refused
            self.send(handler, *queued.pop(0))
            return
        responses = []
        for request in body.get("requests", []):
            parts = urlsplit(request["url"])
            path = parts.path.removeprefix("/v1.0")
            query = parse_qs(parts.query)
            self.requests.append(Seen(path, query, {"x-batch-id": str(request["id"])}))
            queued = self.faults.get(path)
            status, headers, answer = queued.pop(0) if queued else self.resolve(path, parts.query, query)
            responses.append(
                {
                    "id": request["id"],
                    "status": status,
                    "headers": {"Content-Type": "application/json", **headers},
                    "body": answer,
                }
            )
        payload = json.dumps({"responses": responses}).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def resolve(self, path: str, raw_query: str, query: dict[str, list[str]]) -> tuple[int, dict, dict]:
        if path in SINGLE:
            file = self.folder / f"{SINGLE[path]}.json"
            if file.is_file():
                return 200, {}, json.loads(file.read_text())
            return graph_error(404, "Request_ResourceNotFound", "Resource not found.")
        keyed = FILTERED.get(path)
        filter_match = keyed and keyed[0].search(query.get("$filter", [""])[0])
        if keyed and filter_match:
            return self.page(self.folder / keyed[1], filter_match.group(1), path, raw_query, query)
        if path in COLLECTIONS:
            return self.page(self.folder, COLLECTIONS[path], path, raw_query, query)
        for pattern, folder in PER_OBJECT:
            match = pattern.match(path)
            if match:
                return self.page(self.folder / folder, match.group(1), path, raw_query, query)
        return graph_error(400, "BadRequest", f"Resource not found for the segment '{path}'.")

    def resolve_arm(self, path: str, raw_query: str, query: dict[str, list[str]]) -> tuple[int, dict, dict]:
        if "api-version" not in query:
            return (
                400,
                {},
                {
                    "error": {
                        "code": "MissingApiVersionParameter",
                        "message": "The api-version query parameter (?api-version=) is required.",
                    }
                },
            )
        for pattern, folder, stem in ARM:
            match = pattern.match(path)
            if match:
                return self.page(
                    self.folder / folder,
                    stem or match.group(1),
                    path,
                    raw_query,
                    query,
                    next_key="nextLink",
                    base=self.arm_url,
                )
        return 404, {}, {"error": {"code": "InvalidResourceType", "message": f"no route for {path}"}}

    def page(
        self,
        folder: Path,
        stem: str,
        path: str,
        raw_query: str,
        query: dict[str, list[str]],
        next_key: str = "@odata.nextLink",
        base: str | None = None,
    ) -> tuple[int, dict, dict]:
        base = base or self.base_url
        number = int(query.get("$skiptoken", ["1"])[0])
        file = folder / (f"{stem}.json" if number == 1 else f"{stem}.page{number}.json")
        if not file.is_file():
            return 200, {}, {"@odata.context": f"{base}/$metadata#{stem}", "value": []}
        body = json.loads(file.read_text())
        body.pop(next_key, None)
        if (folder / f"{stem}.page{number + 1}.json").is_file():
            first_query = "&".join(
                p for p in raw_query.split("&") if p and not p.startswith(("$skiptoken", "%24skiptoken"))
            )
            body[next_key] = f"{base}{path}?{first_query}&$skiptoken={number + 1}"
        return 200, {}, body
