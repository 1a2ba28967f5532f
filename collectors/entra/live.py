"""Live Entra ID collection with msgraph-sdk: writes the Graph responses the offline collector reads.

``crosspath collect entra`` signs in with azure-identity (DefaultAzureCredential unless told
otherwise), sends every request through the msgraph-sdk ``GraphServiceClient``'s request
adapter — so the SDK's middleware chain handles redirects and throttling (``RetryHandler``:
429 / 503 / 504, honouring ``Retry-After``) — follows every ``@odata.nextLink`` and saves each
response page unchanged as ``<stem>.json``, ``<stem>.page2.json`` ... under ``OUT/entra/``.
Per-object requests (members, owners, federated credentials, PIM for Groups) go 20 per JSON
``$batch``. A 403 on one endpoint is recorded as denied in ``collection.json`` and the run goes
on. Azure RBAC (subscriptions, role assignments) comes from Azure Resource Manager through the
azure-core pipeline with the same credential.

Read-only: only GET requests (``$batch`` POSTs carry GETs only), and secrets never appear in a
GET response (``secretText`` is always null); the access token is never written or printed.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from collectors.entra.exports import NEXT_LINK
from collectors.live import LiveRun, out_option, quiet_option

SOURCE = "entra"
GRAPH_URL = "https://graph.microsoft.com/v1.0"
MICROSOFT_GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
MICROSOFT_TENANT_ID = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
ARM_URL = "https://management.azure.com"
ARM_HOSTS = ("management.azure.com", "management.usgovcloudapi.net", "management.chinacloudapi.cn")
SUBSCRIPTIONS_API = "2022-12-01"
AUTHORIZATION_API = "2022-04-01"
PIM_API = "2020-10-01"
# Read per subscription: (Microsoft.Authorization collection, query).
ARM_PER_SUBSCRIPTION = (
    ("roleAssignments", f"api-version={AUTHORIZATION_API}"),
    ("roleDefinitions", f"api-version={AUTHORIZATION_API}&$filter=type%20eq%20'CustomRole'"),
    ("roleEligibilityScheduleInstances", f"api-version={PIM_API}"),  # PIM for Azure resources
    ("roleManagementPolicyAssignments", f"api-version={PIM_API}"),  # ... and MFA on activation
)
RESOURCES_API = "2021-04-01"
PARALLEL_REQUESTS = 4  # $batch POSTs (of per-object requests: members, owners) in flight at once
BATCH_SIZE = 20  # Graph's limit of requests per $batch
MAX_BATCH_RETRIES = 3  # for 429 answers inside a batch (the SDK's RetryHandler covers the POST itself)

USER_FIELDS = (
    "id,userPrincipalName,mail,displayName,accountEnabled,userType,onPremisesSyncEnabled,createdDateTime"
)
OWNER_FIELDS = "id,displayName,userPrincipalName,appId"


@dataclass(frozen=True)
class Endpoint:
    """One Graph collection (or single object) saved under ``stem``."""

    stem: str
    path: str
    fallback: str = ""  # a narrower request when the full one is denied (e.g. no P1 licence)
    fallback_drops: str = ""  # what the fallback leaves out, for the collection log
    single: bool = False  # one object, not a collection
    beta: bool = False  # a Graph /beta endpoint (the usage reports have no v1.0 version)


TENANT_ENDPOINTS = (
    Endpoint("organization", "/organization?$select=id,displayName,verifiedDomains,tenantType"),
    Endpoint(
        "users",
        f"/users?$select={USER_FIELDS},signInActivity&$top=999",
        fallback=f"/users?$select={USER_FIELDS}&$top=999",
        fallback_drops="signInActivity",
    ),
    Endpoint(
        "groups",
        "/groups?$select=id,displayName,description,securityEnabled,mailEnabled,"
        "isAssignableToRole,groupTypes,onPremisesSyncEnabled&$top=999",
    ),
    Endpoint(
        "servicePrincipals",
        "/servicePrincipals?$select=id,appId,displayName,servicePrincipalType,"
        "accountEnabled,appOwnerOrganizationId,tags,appRoles,passwordCredentials,"
        "keyCredentials&$top=999",
    ),
    Endpoint(
        "applications",
        "/applications?$select=id,appId,displayName,createdDateTime,signInAudience,"
        "passwordCredentials,keyCredentials&$top=999",
    ),
    Endpoint(
        "roleDefinitions",
        "/roleManagement/directory/roleDefinitions?$select=id,displayName,"
        "description,templateId,isBuiltIn,isEnabled,isPrivileged,rolePermissions",
    ),
    Endpoint(
        "roleAssignments",
        "/roleManagement/directory/roleAssignments?$select=id,principalId,"
        "roleDefinitionId,directoryScopeId,appScopeId",
    ),
    Endpoint(
        "roleEligibilitySchedules",
        "/roleManagement/directory/roleEligibilitySchedules?$select=id,"
        "principalId,roleDefinitionId,directoryScopeId,memberType,status,"
        "scheduleInfo",
    ),
    Endpoint(
        "roleManagementPolicyAssignments",
        "/policies/roleManagementPolicyAssignments?$filter=scopeId eq '/' and scopeType eq "
        "'DirectoryRole'&$expand=policy($expand=rules)",
    ),
    Endpoint("userRegistrationDetails", "/reports/authenticationMethods/userRegistrationDetails"),
    Endpoint("conditionalAccessPolicies", "/identity/conditionalAccess/policies"),
    Endpoint("oauth2PermissionGrants", "/oauth2PermissionGrants"),
    Endpoint(
        "identitySecurityDefaultsEnforcementPolicy",
        "/policies/identitySecurityDefaultsEnforcementPolicy",
        single=True,
    ),
    # Last use of application secrets / certificates (collectors/entra/last_use.py): beta only,
    # AuditLog.Read.All and Entra ID P1/P2 (else 403, recorded as denied: last use stays unknown).
    Endpoint("appCredentialSignInActivities", "/reports/appCredentialSignInActivities", beta=True),
    Endpoint("servicePrincipalSignInActivities", "/reports/servicePrincipalSignInActivities", beta=True),
)


@dataclass(frozen=True)
class PerObject:
    """A request made once per object of a collection, saved as ``<folder>/<objectId>``."""

    folder: str
    collection: str
    path: str  # with {id}
    select: Callable[[dict[str, Any]], bool] = lambda obj: True


PER_OBJECT = (
    PerObject("group-members", "groups", f"/groups/{{id}}/members?$select={OWNER_FIELDS}&$top=999"),
    PerObject("group-owners", "groups", f"/groups/{{id}}/owners?$select={OWNER_FIELDS}"),
    PerObject("application-owners", "applications", f"/applications/{{id}}/owners?$select={OWNER_FIELDS}"),
    PerObject(
        "servicePrincipal-owners",
        "servicePrincipals",
        f"/servicePrincipals/{{id}}/owners?$select={OWNER_FIELDS}",
        lambda sp: sp.get("appOwnerOrganizationId") != MICROSOFT_TENANT_ID,
    ),
    PerObject(
        "federatedIdentityCredentials", "applications", "/applications/{id}/federatedIdentityCredentials"
    ),
    # Who holds Microsoft Graph application permissions: one collection on the Graph resource.
    PerObject(
        "appRoleAssignedTo",
        "servicePrincipals",
        "/servicePrincipals/{id}/appRoleAssignedTo?$top=999",
        lambda sp: sp.get("appId") == MICROSOFT_GRAPH_APP_ID,
    ),
    # PIM for Groups: eligible members / owners of each security group ...
    PerObject(
        "groupEligibilitySchedules",
        "groups",
        "/identityGovernance/privilegedAccess/group/eligibilitySchedules?$filter=groupId%20eq%20'{id}'",
        lambda group: group.get("securityEnabled") is not False,
    ),
    # ... and, for the groups that have any, what activation demands.
    PerObject(
        "groupPolicyAssignments",
        "groupEligibilitySchedules",
        "/policies/roleManagementPolicyAssignments?$filter=scopeId%20eq%20'{id}'%20and%20scopeType%20eq%20"
        "'Group'&$expand=policy($expand=rules)",
    ),
)


class GraphFetcher:
    """Sends GET requests through the msgraph-sdk request adapter and pages through results."""

    def __init__(self, client: Any, base_url: str):
        self.adapter = client.request_adapter
        self.adapter.base_url = base_url.rstrip("/")
        self.base_url = base_url.rstrip("/")

    async def get(self, url: str) -> dict[str, Any]:
        from kiota_abstractions.method import Method
        from kiota_abstractions.request_information import RequestInformation
        from msgraph.generated.models.o_data_errors.o_data_error import ODataError

        info = RequestInformation(Method.GET)
        info.url = url if url.startswith("http") else self.base_url + url
        info.headers.try_add("Accept", "application/json")
        raw = await self.adapter.send_primitive_async(info, "bytes", {"XXX": ODataError})
        data = json.loads(raw) if raw else {}
        if not isinstance(data, dict):
            raise TypeError(f"expected a JSON object from {info.url}")
        return data

    async def batch(self, paths: dict[str, str]) -> dict[str, tuple[int, dict, Any]]:
        """One JSON ``$batch`` POST of GETs through the SDK's request adapter (and middleware).

        msgraph-core's own BatchResponseItem drops JSON object bodies (kiota-python #737), so the
        answer is read as bytes and parsed here. Returns key -> (status, headers, body)."""
        from kiota_abstractions.method import Method
        from kiota_abstractions.request_information import RequestInformation
        from msgraph.generated.models.o_data_errors.o_data_error import ODataError

        info = RequestInformation(Method.POST)
        info.url = f"{self.base_url}/$batch"
        info.headers.try_add("Accept", "application/json")
        info.headers.try_add("Content-Type", "application/json")
        requests = [{"id": key, "method": "GET", "url": path} for key, path in paths.items()]
        info.content = json.dumps({"requests": requests}).encode()
        raw = await self.adapter.send_primitive_async(info, "bytes", {"XXX": ODataError})
        answers: dict[str, tuple[int, dict, Any]] = {}
        for response in (json.loads(raw) if raw else {}).get("responses") or []:
            if isinstance(response, dict) and "id" in response:
                answers[str(response["id"])] = (
                    int(response.get("status") or 0),
                    response.get("headers") or {},
                    response.get("body"),
                )
        return answers

    async def pages(self, path: str) -> list[dict[str, Any]]:
        pages = [await self.get(path)]
        while pages[-1].get(NEXT_LINK):
            pages.append(await self.get(str(pages[-1][NEXT_LINK])))
        return pages


def beta_url(base_url: str) -> str:
    """The /beta root next to a /v1.0 base URL (same host, so the same token rules apply)."""
    root = base_url.rstrip("/")
    return (root.rsplit("/", 1)[0] if root.endswith("/v1.0") else root) + "/beta"


def status_of(error: BaseException) -> int | None:
    return getattr(error, "response_status_code", None) or getattr(error, "status_code", None)


def short_error(error: BaseException) -> str:
    """The Graph error code and message, never request headers or tokens."""
    if isinstance(error, BatchItemError):
        return str(error)
    main = getattr(getattr(error, "error", None), "code", None)
    message = getattr(getattr(error, "error", None), "message", None)
    status = status_of(error)
    if main or message:
        return f"HTTP {status} {main or ''}: {message or ''}".strip()
    return f"HTTP {status}" if status else f"{type(error).__name__}: {error}"


def save_pages(run: LiveRun, stem: str, pages: list[dict[str, Any]]) -> int:
    for number, page in enumerate(pages, start=1):
        run.write(f"{stem}.json" if number == 1 else f"{stem}.page{number}.json", page)
    return sum(len(page.get("value") or []) for page in pages)


async def collect_endpoint(
    run: LiveRun, fetcher: GraphFetcher, endpoint: Endpoint, tenant: str
) -> list[dict]:
    """Fetch and save one endpoint; on 403 try the fallback request, else record the denial."""
    prefix = beta_url(fetcher.base_url) if endpoint.beta else ""
    for path in (endpoint.path, endpoint.fallback):
        if not path:
            continue
        try:
            if endpoint.single:
                run.write(f"{endpoint.stem}.json", await fetcher.get(prefix + path))
                run.count(endpoint.stem)
                return []
            pages = await fetcher.pages(prefix + path)
        except Exception as exc:  # noqa: BLE001 - every failure is recorded and the run goes on
            status = status_of(exc)
            kind = "denied" if status in (401, 403) else "throttled" if status == 429 else "failed"
            retry = status == 403 and endpoint.fallback and path != endpoint.fallback
            call = ("GET /beta" if endpoint.beta else "GET ") + path.split("?")[0]
            call += f" ({endpoint.fallback_drops})" if retry else ""
            run.denied(call, tenant, short_error(exc) + ("; read again without it" if retry else ""), kind)
            if retry:
                continue
            return []
        run.count(endpoint.stem, save_pages(run, endpoint.stem, pages))
        return [obj for page in pages for obj in page.get("value") or [] if isinstance(obj, dict)]
    return []


class BatchItemError(Exception):
    """A failed response inside a $batch answer, shaped like the SDK's errors for status_of()."""

    def __init__(self, status: int, body: Any):
        error = body.get("error") if isinstance(body, dict) else None
        self.response_status_code = status
        self.code = str((error or {}).get("code") or "")
        self.text = str((error or {}).get("message") or "")
        super().__init__(f"HTTP {status} {self.code}: {self.text}".strip())


async def batch_first_pages(fetcher: GraphFetcher, paths: dict[str, str]) -> dict[str, Any]:
    """First page of each path (key -> path relative to the version), BATCH_SIZE per ``$batch``
    POST. A 429 inside the batch is retried after its Retry-After (up to MAX_BATCH_RETRIES);
    returns key -> response body dict, or a BatchItemError."""
    answers: dict[str, Any] = {}
    pending = dict(paths)
    for attempt in range(MAX_BATCH_RETRIES + 1):
        if not pending:
            break
        responses = await fetcher.batch(pending)
        throttled: dict[str, str] = {}
        wait = 0.0
        for key, path in pending.items():
            status, headers, body = responses.get(key, (0, {}, None))
            if status == 429 and attempt < MAX_BATCH_RETRIES:
                throttled[key] = path
                wait = max(wait, _retry_after(headers))
            elif 200 <= status < 300 and isinstance(body, dict):
                answers[key] = body
            else:
                answers[key] = BatchItemError(status, body)
        if throttled:
            await asyncio.sleep(wait)
        pending = throttled
    return answers


def _retry_after(headers: dict[str, Any]) -> float:
    for key, value in (headers or {}).items():
        if key.lower() == "retry-after":
            try:
                return min(float(value), 180.0)
            except (TypeError, ValueError):
                break
    return 2.0


async def collect_per_object(
    run: LiveRun,
    fetcher: GraphFetcher,
    spec: PerObject,
    objects: list[dict],
    tenant: str,
    advance: Callable[[], None],
) -> dict[str, list[dict]]:
    """One request per object, sent BATCH_SIZE at a time in Graph ``$batch`` POSTs; later pages
    of an object's answer are followed with plain GETs."""
    limit = asyncio.Semaphore(PARALLEL_REQUESTS)
    repeats: dict[str, int] = {}

    def fail(object_id: str, error: BaseException) -> None:
        status = status_of(error)
        kind = "denied" if status in (401, 403) else "throttled" if status == 429 else "failed"
        repeats[kind] = repeats.get(kind, 0) + 1
        if repeats[kind] == 1:  # one entry per kind of failure; the rest are counted below
            run.denied(f"GET {spec.path.split('?')[0]}", f"{tenant} {object_id}", short_error(error), kind)

    async def chunk(object_ids: list[str]) -> None:
        async with limit:
            try:
                answers = await batch_first_pages(fetcher, {i: spec.path.format(id=i) for i in object_ids})
            except Exception as exc:  # noqa: BLE001 - the batch itself failed
                for object_id in object_ids:
                    fail(object_id, exc)
                    advance()
                return
            for object_id in object_ids:
                answer = answers.get(object_id)
                try:
                    if not isinstance(answer, dict):
                        raise answer if isinstance(answer, BaseException) else BatchItemError(0, None)
                    pages = [answer]
                    while pages[-1].get(NEXT_LINK):
                        pages.append(await fetcher.get(str(pages[-1][NEXT_LINK])))
                except Exception as exc:  # noqa: BLE001
                    fail(object_id, exc)
                else:
                    run.count(spec.folder, save_pages(run, f"{spec.folder}/{object_id}", pages))
                    found[object_id] = [v for page in pages for v in page.get("value") or []]
                finally:
                    advance()

    found: dict[str, list[dict]] = {}
    ids = [str(obj["id"]) for obj in objects if obj.get("id") and spec.select(obj)]
    await asyncio.gather(*(chunk(ids[i : i + BATCH_SIZE]) for i in range(0, len(ids), BATCH_SIZE)))
    for kind, count in sorted(repeats.items()):
        if count > 1:
            run.denied(
                f"GET {spec.path.split('?')[0]}",
                tenant,
                f"{count - 1} more object(s) answered the same",
                kind,
            )
    return found


async def collect_tenant(run: LiveRun, client: Any, base_url: str, tenant: str) -> None:
    fetcher = GraphFetcher(client, base_url)
    collected: dict[str, list[dict]] = {}
    with run.progress() as bar:
        task = bar.add_task("Entra ID endpoints", total=len(TENANT_ENDPOINTS))
        first, *others = TENANT_ENDPOINTS  # organization first: later problems carry the real tenant id
        organization = await collect_endpoint(run, fetcher, first, tenant)
        bar.advance(task)
        if organization and organization[0].get("id"):
            tenant = f"entra:tenant/{organization[0]['id']}"
        limit = asyncio.Semaphore(PARALLEL_REQUESTS)

        async def one(endpoint: Endpoint) -> None:
            # Paged lists cannot be batched, but different lists can be read side by side.
            async with limit:
                collected[endpoint.stem] = await collect_endpoint(run, fetcher, endpoint, tenant)
                bar.advance(task)

        await asyncio.gather(*(one(endpoint) for endpoint in others))
        run.scopes.append(tenant)
        for spec in PER_OBJECT:
            objects = [o for o in collected.get(spec.collection, []) if o.get("id") and spec.select(o)]
            if not objects:
                continue
            task = bar.add_task(f"{spec.folder}", total=len(objects))
            found = await collect_per_object(
                run, fetcher, spec, objects, tenant, lambda task=task: bar.advance(task)
            )
            collected[spec.folder] = [{"id": object_id} for object_id, values in found.items() if values]


class ArmFetcher:
    """GETs on Azure Resource Manager through the azure-core pipeline: its RetryPolicy retries
    408 / 429 / 5xx and honours Retry-After; the bearer token goes only to ARM hosts."""

    def __init__(self, credential: Any, base_url: str, allow_token_host: bool = False):
        from azure.core import PipelineClient
        from azure.core.pipeline.policies import (
            BearerTokenCredentialPolicy,
            HeadersPolicy,
            RetryPolicy,
            UserAgentPolicy,
        )

        self.base_url = base_url.rstrip("/")
        host = urlsplit(self.base_url).hostname or ""
        policies: list[Any] = [
            HeadersPolicy({"Accept": "application/json"}),
            UserAgentPolicy("crosspath"),
            RetryPolicy(retry_backoff_factor=0.5),
        ]
        self.local_token = allow_token_host and host not in ARM_HOSTS
        if host in ARM_HOSTS or allow_token_host:
            policies.append(BearerTokenCredentialPolicy(credential, f"{ARM_URL}/.default"))
        self.client = PipelineClient(self.base_url, policies=policies)

    def get(self, url: str) -> dict[str, Any]:
        from azure.core.exceptions import HttpResponseError
        from azure.core.rest import HttpRequest

        options = {"enforce_https": False} if self.local_token else {}
        target = url if url.startswith("http") else self.base_url + url
        if urlsplit(target).hostname != urlsplit(self.base_url).hostname:
            raise ValueError(f"refusing to follow a link to another host: {urlsplit(target).hostname}")
        response = self.client.send_request(HttpRequest("GET", target), **options)
        if response.status_code >= 400:
            error = HttpResponseError(response=response)
            error.response_status_code = response.status_code  # type: ignore[attr-defined]
            raise error
        return response.json()

    def pages(self, path: str) -> list[dict[str, Any]]:
        pages = [self.get(path)]
        while pages[-1].get("nextLink"):
            pages.append(self.get(str(pages[-1]["nextLink"])))
        return pages


def collect_azure(run: LiveRun, fetcher: ArmFetcher, tenant: str) -> None:
    """Subscriptions the credential can see and the role assignments / definitions in each."""
    try:
        pages = fetcher.pages(f"/subscriptions?api-version={SUBSCRIPTIONS_API}")
    except Exception as exc:  # noqa: BLE001
        status = status_of(exc)
        run.denied(
            "GET /subscriptions (Azure Resource Manager)",
            tenant,
            short_error(exc),
            "denied" if status in (401, 403) else "failed",
        )
        return
    run.count("azure/subscriptions", save_pages(run, "azure/subscriptions", pages))
    subscriptions = [
        str(s.get("subscriptionId"))
        for p in pages
        for s in p.get("value") or []
        if isinstance(s, dict) and s.get("subscriptionId")
    ]
    for subscription in subscriptions:
        for folder, query in ARM_PER_SUBSCRIPTION:
            path = f"/subscriptions/{subscription}/providers/Microsoft.Authorization/{folder}?{query}"
            try:
                pages = fetcher.pages(path)
            except Exception as exc:  # noqa: BLE001
                status = status_of(exc)
                run.denied(
                    f"GET /subscriptions/{{id}}/providers/Microsoft.Authorization/{folder}",
                    f"subscription {subscription}",
                    short_error(exc),
                    "denied" if status in (401, 403) else "failed",
                )
                continue
            run.count(f"azure/{folder}", save_pages(run, f"azure/{folder}/{subscription}", pages))
        # Resources with managed identities (their writers can run code as the identity).
        path = f"/subscriptions/{subscription}/resources?api-version={RESOURCES_API}"
        try:
            pages = fetcher.pages(path)
        except Exception as exc:  # noqa: BLE001
            status = status_of(exc)
            run.denied(
                "GET /subscriptions/{id}/resources",
                f"subscription {subscription}",
                short_error(exc),
                "denied" if status in (401, 403) else "failed",
            )
            continue
        kept = [
            {
                **page,
                "value": [r for r in page.get("value") or [] if isinstance(r, dict) and r.get("identity")],
            }
            for page in pages
        ]  # only resources with an identity matter; keeps the export small
        run.count("azure/resources", save_pages(run, f"azure/resources/{subscription}", kept))


def make_credential(auth: str, tenant: str | None, client_id: str | None, certificate: Path | None) -> Any:
    """An azure-identity credential; secrets come from the environment, never from options."""
    from azure import identity

    if auth == "client-secret":
        secret = os.environ.get("AZURE_CLIENT_SECRET")
        if not (tenant and client_id and secret):
            raise click.UsageError(
                "--auth client-secret needs --tenant, --client-id (or AZURE_CLIENT_ID) and "
                "the secret in the environment variable AZURE_CLIENT_SECRET"
            )
        return identity.ClientSecretCredential(tenant, client_id, secret)
    if auth == "certificate":
        if not (tenant and client_id and certificate):
            raise click.UsageError(
                "--auth certificate needs --tenant, --client-id and --certificate PATH "
                "(PEM or PKCS12; its password, if any, in AZURE_CLIENT_CERTIFICATE_PASSWORD)"
            )
        return identity.CertificateCredential(
            tenant, client_id, str(certificate), password=os.environ.get("AZURE_CLIENT_CERTIFICATE_PASSWORD")
        )
    if auth == "managed-identity":
        return identity.ManagedIdentityCredential(client_id=client_id)
    if auth == "device-code":
        return (
            identity.DeviceCodeCredential(tenant_id=tenant, client_id=client_id)
            if client_id
            else identity.DeviceCodeCredential(tenant_id=tenant)
        )
    if not tenant:
        return identity.DefaultAzureCredential()
    return TenantCredential(identity.DefaultAzureCredential(additionally_allowed_tenants=["*"]), tenant)


GRAPH_HOSTS = (
    "graph.microsoft.com",
    "graph.microsoft.us",
    "dod-graph.microsoft.us",
    "microsoftgraph.chinacloudapi.cn",
)


def check_sign_in(credential: Any) -> None:
    """Fail at once, with the credential's own reason, rather than once per endpoint."""
    try:
        credential.get_token("https://graph.microsoft.com/.default")
    except Exception as exc:  # azure-identity raises several types
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise click.ClickException(
            f"cannot sign in to Microsoft Graph: {reason}\n"
            "Fix: `az login` (or set AZURE_TENANT_ID / AZURE_CLIENT_ID / AZURE_CLIENT_SECRET), or choose --auth."
        ) from exc


class TenantCredential:
    """Asks the wrapped azure-identity credential for tokens of one tenant (``--tenant`` with
    DefaultAzureCredential, e.g. an Azure CLI login that can reach several tenants)."""

    def __init__(self, inner: Any, tenant: str):
        self.inner = inner
        self.tenant = tenant

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        kwargs.setdefault("tenant_id", self.tenant)
        return self.inner.get_token(*scopes, **kwargs)


def graph_client(credential: Any, extra_token_host: str | None = None) -> Any:
    """The msgraph-sdk client. The token goes only to Microsoft Graph's own hosts (national clouds
    included), never to a --graph-url elsewhere, unless a test names its server in ``extra_token_host``."""
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph_core import NationalClouds

    hosts = [str(urlsplit(cloud.value).hostname) for cloud in NationalClouds]
    if extra_token_host:
        hosts.append(extra_token_host)
    provider = AzureIdentityAuthenticationProvider(
        credential, scopes=["https://graph.microsoft.com/.default"], allowed_hosts=hosts
    )
    return GraphServiceClient(request_adapter=GraphRequestAdapter(provider))


def run_collection(
    run: LiveRun,
    credential: Any,
    base_url: str = GRAPH_URL,
    tenant: str | None = None,
    allow_token_host: bool = False,
    arm_url: str | None = ARM_URL,
) -> dict:
    """Collect one tenant (and, unless arm_url is None, its Azure RBAC) into run.folder;
    returns the collection log."""
    client = graph_client(credential, urlsplit(base_url).hostname if allow_token_host else None)
    asyncio.run(
        collect_tenant(
            run, client, base_url, f"entra:tenant/{tenant}" if tenant else "entra:tenant/(signed-in)"
        )
    )
    if arm_url:
        scope = run.scopes[0] if run.scopes else "entra:tenant/(signed-in)"
        collect_azure(run, ArmFetcher(credential, arm_url, allow_token_host), scope)
    return run.finish()


@click.command("entra")
@click.option("--tenant", envvar="AZURE_TENANT_ID", help="Tenant id or domain (default: the credential's).")
@click.option(
    "--auth",
    type=click.Choice(["default", "client-secret", "certificate", "managed-identity", "device-code"]),
    default="default",
    show_default=True,
    help="default = DefaultAzureCredential (environment, workload identity, managed identity, "
    "Azure CLI ...).",
)
@click.option(
    "--client-id",
    envvar="AZURE_CLIENT_ID",
    help="App (client) id for client-secret / certificate / user-assigned managed identity.",
)
@click.option(
    "--certificate",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Certificate file for --auth certificate.",
)
@click.option(
    "--azure-rbac/--no-azure-rbac",
    default=True,
    show_default=True,
    help="Also read Azure RBAC role assignments of every subscription the credential can see.",
)
@click.option("--graph-url", default=GRAPH_URL, hidden=True, help="Graph base URL (tests: a local server).")
@click.option("--arm-url", default=ARM_URL, hidden=True, help="Azure Resource Manager URL (tests).")
@out_option
@quiet_option
def command(
    tenant: str | None,
    auth: str,
    client_id: str | None,
    certificate: Path | None,
    azure_rbac: bool,
    graph_url: str,
    arm_url: str,
    out_root: Path,
    quiet: bool,
) -> None:
    """Read Microsoft Entra ID through Microsoft Graph (read-only) into OUT/entra/."""
    credential = make_credential(auth, tenant, client_id, certificate)
    if urlsplit(graph_url).hostname in GRAPH_HOSTS:
        check_sign_in(credential)
    run = LiveRun(SOURCE, out_root, quiet=quiet)
    log = run_collection(run, credential, graph_url, tenant, arm_url=arm_url if azure_rbac else None)
    total = sum(log["counts"].values())
    click.echo(f"entra: {total} objects from {len(log['counts'])} endpoints written to {run.folder}")
    for problem in log["problems"]:
        click.echo(f"  {problem['kind']}: {problem['call']} ({problem['error']})", err=True)
