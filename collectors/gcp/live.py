"""GCP live collection (`crosspath collect gcp`): the official clients, read-only, into gcloud-shaped exports.

Resource Manager v3 (`google-cloud-resource-manager`, REST transport) walks organization ->
folders -> projects and reads each node's IAM policy; Cloud Storage (`google-cloud-storage`) reads
each bucket's IAM policy; the IAM v1 REST API (through google-auth's AuthorizedSession: no client
library covers it) lists workload identity pools and providers; IAM admin v1 (`google-cloud-iam`, gRPC)
lists service accounts, their keys and IAM policies, custom roles and the predefined roles the
policies bind. Every file lands where the offline collector reads it (collectors/gcp/exports.py),
so one transform serves both. Denied calls are recorded and the run goes on; quota errors
(429 / RESOURCE_EXHAUSTED) and transient 5xx are retried with google-api-core's exponential backoff.

Least privilege, on the organization (or on each `--project`): `roles/iam.securityReviewer` (every
getIamPolicy incl. buckets, service accounts / keys / roles / pools list, `iam.denypolicies.list`) +
`roles/browser` (organizations / folders / projects get) + `roles/iam.denyReviewer`
(`iam.denypolicies.get`) + `roles/policyanalyzer.activityAnalysisViewer` (key / service-account last
authentication through the Policy Analyzer Activity API, REST; Security Reviewer does not include it).
Deny policies and last use are read where readable: without those roles (or with the Policy Analyzer
API disabled) the calls are recorded as denied and the rest goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from google.api_core import exceptions as gexc
from google.api_core import retry as gretry

from collectors.gcp.activity import FILES as ACTIVITY_FILES
from collectors.gcp.activity import KEY_ACTIVITY, SA_ACTIVITY
from collectors.gcp.exports import POLICY_FILE
from collectors.gcp.live_clients import DENIED, TRANSIENT, Clients, credentials, make_clients, make_retry
from collectors.gcp.live_shapes import key_export, message_dict, policy_export, project_export
from collectors.live import LiveRun, out_option, quiet_option

SOURCE = "gcp"


@dataclass
class GcpLiveCollector:
    """One collection: walks the hierarchy, writes exports, records what was denied."""

    run: LiveRun
    clients: Clients
    retry: gretry.Retry
    timeout: float = 60.0
    bound_roles: set[str] = field(default_factory=set)
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    # --asset-inventory: policies are read in one search per scope; until then they wait here
    asset_inventory: bool = False
    pending: dict[str, tuple[str, Callable[[], dict[str, Any] | None]]] = field(default_factory=dict)
    sa_emails: dict[str, tuple[str, str]] = field(default_factory=dict)  # uniqueId -> (project id, email)

    def call(self, name: str, scope: str, method: Callable[..., Any], /, **request: Any) -> Any:
        """One API call with retry; denied / failed calls are logged and return None."""
        try:
            result = method(request=request, retry=self.retry, timeout=self.timeout)
            self.run.count(f"calls.{name}")
            return result
        except DENIED as exc:
            self.run.denied(name, scope, exc)
        except gexc.RetryError as exc:
            self.run.denied(name, scope, exc.cause or exc, kind="throttled")
        except TRANSIENT as exc:
            self.run.denied(name, scope, exc, kind="throttled")
        except gexc.GoogleAPICallError as exc:
            self.run.denied(name, scope, exc, kind="failed")
        return None

    def listed(self, name: str, scope: str, method: Callable[..., Any], /, **request: Any) -> list[Any] | None:
        """Every page of a list call (the pager re-uses the call's retry); None when it failed, so the
        caller writes no file and the offline side says "unknown" rather than "none"."""
        pager = self.call(name, scope, method, **request)
        if pager is None:
            return None
        try:
            return list(pager)
        except DENIED as exc:
            self.run.denied(name, scope, exc)
        except (gexc.RetryError, *TRANSIENT) as exc:
            self.run.denied(name, scope, exc, kind="throttled")
        except gexc.GoogleAPICallError as exc:
            self.run.denied(name, scope, exc, kind="failed")
        return None

    def write_policy(self, relative: str, name: str, scope: str, method: Callable[..., Any]) -> None:
        def fetch() -> dict[str, Any] | None:
            policy = self.call(name, scope, method, resource=scope)
            return None if policy is None else policy_export(policy)

        self.policy(relative, scope, fetch)

    def policy(self, relative: str, key: str, fetch: Callable[[], dict[str, Any] | None]) -> None:
        """Read a policy now, or (asset inventory) once the search has run; `key` names the resource."""
        if self.asset_inventory:
            self.pending[key] = (relative, fetch)
        else:
            self.store_policy(relative, fetch())

    def store_policy(self, relative: str, data: dict[str, Any] | None) -> None:
        if data is None:
            return
        self.bound_roles.update(b["role"] for b in data.get("bindings", []) if "role" in b)
        self.run.write(f"{relative}/{POLICY_FILE}", data)
        self.run.count("policies")

    def deny_policies(self, relative: str, resource: str) -> None:
        """IAM v2 deny policies attached to an organization / folder / project (list, then get each)."""
        from urllib.parse import quote

        parent = f"policies/{quote('cloudresourcemanager.googleapis.com/' + resource, safe='')}/denypolicies"
        listed = self.listed("iam.denypolicies.list", resource, self.clients.policies.list_policies, parent=parent)
        if listed is None:
            return
        full = [self.call("iam.denypolicies.get", resource, self.clients.policies.get_policy, name=policy.name)
                for policy in listed]
        self.run.write(f"{relative}/deny-policies.json", [message_dict(policy) for policy in full if policy])
        self.run.count("deny_policies", len(listed))

    def custom_roles(self, relative: str, parent: str) -> None:
        from google.cloud.iam_admin_v1 import RoleView

        # show_deleted: a deleted role's bindings stay in the policies; listed with `deleted: true`, the
        # offline side knows they grant nothing (else the role would be unknown, read assumed).
        roles = self.listed("iam.roles.list", parent, self.clients.iam.list_roles, parent=parent,
                            view=RoleView.FULL, show_deleted=True)
        if roles is None:
            return
        self.run.write(f"{relative}/custom-roles.json", [message_dict(role) for role in roles])
        self.run.count("custom_roles", len(roles))

    # --- hierarchy ------------------------------------------------------------------------------------

    def organization(self, org: str) -> None:
        name = f"organizations/{org}"
        self.run.scopes.append(name)
        info = self.call("resourcemanager.organizations.get", name, self.clients.organizations.get_organization,
                         name=name)
        if info is not None:
            self.run.write(f"{name}/organization.json", message_dict(info))
        self.write_policy(name, "resourcemanager.organizations.getIamPolicy", name,
                          self.clients.organizations.get_iam_policy)
        self.custom_roles(name, name)
        self.deny_policies(name, name)
        parents = [name]
        while parents:
            parent = parents.pop(0)
            for project in self.listed("resourcemanager.projects.list", parent, self.clients.projects.list_projects,
                                       parent=parent) or []:
                self.projects[project.project_id] = project_export(project)
            for folder in self.listed("resourcemanager.folders.list", parent, self.clients.folders.list_folders,
                                      parent=parent) or []:
                self.run.write(f"{folder.name}/folder.json", message_dict(folder))
                self.write_policy(folder.name, "resourcemanager.folders.getIamPolicy", folder.name,
                                  self.clients.folders.get_iam_policy)
                self.deny_policies(folder.name, folder.name)
                self.run.count("folders")
                parents.append(folder.name)

    def named_projects(self, project_ids: Iterable[str]) -> None:
        for ident in project_ids:
            project = self.call("resourcemanager.projects.get", f"projects/{ident}",
                                self.clients.projects.get_project, name=f"projects/{ident}")
            if project is not None:
                self.projects[project.project_id] = project_export(project)

    def visible_projects(self) -> None:
        for project in self.listed("resourcemanager.projects.search", "", self.clients.projects.search_projects) or []:
            self.projects[project.project_id] = project_export(project)

    # --- per project --------------------------------------------------------------------------------------

    def project(self, ident: str) -> None:
        base = f"projects/{ident}"
        self.run.scopes.append(base)
        self.write_policy(base, "resourcemanager.projects.getIamPolicy", base, self.clients.projects.get_iam_policy)
        self.custom_roles(base, base)
        self.deny_policies(base, base)
        accounts = self.listed("iam.serviceAccounts.list", base, self.clients.iam.list_service_accounts, name=base)
        if accounts is None:
            return
        self.run.write(f"{base}/service-accounts.json", [message_dict(account) for account in accounts])
        self.run.count("service_accounts", len(accounts))
        for account in accounts:
            email = account.email.lower()
            self.sa_emails[str(account.unique_id)] = (ident, email)
            resource = f"{base}/serviceAccounts/{email}"
            folder = f"{base}/service-accounts/{email}"
            response = self.call("iam.serviceAccountKeys.list", resource,
                                 self.clients.iam.list_service_account_keys, name=resource)
            if response is not None:
                keys = [key_export(key) for key in response.keys]
                self.run.write(f"{folder}/keys.json", keys)
                user_managed = sum(key.get("keyType") == "USER_MANAGED" for key in keys)
                self.run.count("user_managed_keys", user_managed)
                self.run.count("system_managed_keys", len(keys) - user_managed)
            self.write_policy(folder, "iam.serviceAccounts.getIamPolicy", resource, self.clients.iam.get_iam_policy)

    def buckets(self, ident: str) -> None:
        """Each bucket's own IAM policy (uniform or fine-grained, bindings only)."""
        base = f"projects/{ident}"
        for bucket in self.listed("storage.buckets.list", base, self._list_buckets, project=ident) or []:
            self.policy(f"{base}/buckets/{bucket.name}", f"buckets/{bucket.name}",
                        lambda bucket=bucket: self._bucket_policy(bucket))
            self.run.count("buckets")

    def _bucket_policy(self, bucket: Any) -> dict[str, Any] | None:
        try:
            policy = bucket.get_iam_policy(requested_policy_version=3, retry=self.retry, timeout=self.timeout)
        except DENIED as exc:
            self.run.denied("storage.buckets.getIamPolicy", f"buckets/{bucket.name}", exc)
            return None
        except (gexc.RetryError, gexc.GoogleAPICallError) as exc:
            self.run.denied("storage.buckets.getIamPolicy", f"buckets/{bucket.name}", exc, kind="failed")
            return None
        data = {key: value for key, value in policy.to_api_repr().items() if key in ("bindings", "etag", "version")}
        data["bindings"] = [{**b, "members": sorted(b["members"])} for b in data.get("bindings", [])]
        return data

    # --- Cloud Asset Inventory fast path ---------------------------------------------------------------------

    def asset_key(self, resource: str) -> str | None:
        """A CAI full resource name -> the key `policy()` filed the resource under (None: not modelled)."""
        service, _, path = resource.removeprefix("//").partition("/")
        if service == "cloudresourcemanager.googleapis.com":
            kind, _, ident = path.partition("/")
            if kind == "projects":
                by_number = {p["projectNumber"]: p["projectId"] for p in self.projects.values()}
                return f"projects/{by_number.get(ident, ident)}"
            return path
        if service == "iam.googleapis.com" and "/serviceAccounts/" in path:
            project, _, account = path.removeprefix("projects/").partition("/serviceAccounts/")
            if "@" not in account:
                project, account = self.sa_emails.get(account, (project, account))
            return f"projects/{project}/serviceAccounts/{account.lower()}"
        if service == "storage.googleapis.com":
            return f"buckets/{path.rsplit('/', 1)[-1]}"
        return None

    def asset_policies(self, scopes: list[str]) -> None:
        """One paged `searchAllIamPolicies` per scope replaces every getIamPolicy call; if it fails
        (API disabled, denied) the per-resource calls run instead. CAI returns only non-empty policies."""
        found: dict[str, dict[str, Any]] = {}
        searched = True
        for scope in scopes:
            results = self.listed("cloudasset.assets.searchAllIamPolicies", scope,
                                  self.clients.asset.search_all_iam_policies, scope=scope)
            searched = searched and results is not None
            for result in results or []:
                key = self.asset_key(result.resource)
                if key is None:
                    self.run.count("asset_policies_not_modelled")
                    continue
                data = found.setdefault(key, {"bindings": [], "etag": "ACAB", "version": 1})
                data["bindings"] += policy_export(result.policy).get("bindings", [])
        for key, (relative, fetch) in sorted(self.pending.items()):
            if key in found:
                self.store_policy(relative, found[key])
            else:
                self.store_policy(relative, {"etag": "ACAB"} if searched else fetch())
        self.run.count("asset_search_results", sum(len(d["bindings"]) > 0 for d in found.values()))

    def _list_buckets(self, request: dict[str, Any], retry: Any, timeout: float) -> Any:
        return self.clients.storage.list_buckets(project=request["project"], retry=retry, timeout=timeout)

    def _rest_pages(self, url: str, key: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """GET every page of a REST list (IAM v1, Policy Analyzer); errors raised as google-api-core exceptions."""
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            def fetch(page_token: str = token) -> dict[str, Any]:
                query = {**(params or {}), **({"pageToken": page_token} if page_token else {})}
                response = self.clients.iam_rest.get(url, params=query, timeout=self.timeout)
                if response.status_code >= 400:
                    raise gexc.from_http_response(response)
                return response.json()

            data = self.retry(fetch)()
            items += data.get(key, [])
            token = data.get("nextPageToken", "")
            if not token:
                return items

    def pool_providers(self, ident: str) -> None:
        """Workload identity pools and their providers (IAM v1 REST: no client library covers them)."""
        base = f"{self.clients.iam_rest_endpoint}/v1/projects/{ident}/locations/global/workloadIdentityPools"
        scope = f"projects/{ident}"
        try:
            pools = self._rest_pages(base, "workloadIdentityPools")
        except DENIED as exc:
            self.run.denied("iam.workloadIdentityPools.list", scope, exc)
            return
        except (gexc.RetryError, gexc.GoogleAPICallError) as exc:
            self.run.denied("iam.workloadIdentityPools.list", scope, exc, kind="failed")
            return
        for pool in pools:
            pool_id = str(pool.get("name", "")).rsplit("/", 1)[-1]
            try:
                providers = self._rest_pages(f"{base}/{pool_id}/providers", "workloadIdentityPoolProviders")
            except (gexc.RetryError, gexc.GoogleAPICallError) as exc:
                self.run.denied("iam.workloadIdentityPoolProviders.list", f"{scope}/pools/{pool_id}", exc,
                                kind="denied" if isinstance(exc, DENIED) else "failed")
                continue
            self.run.write(f"{scope}/workload-identity-pools/{pool_id}/providers.json", providers)
            self.run.count("workload_identity_providers", len(providers))

    def last_authentication(self, ident: str) -> None:
        """Policy Analyzer: when each service-account key / service account last authenticated (project-wide
        queries, every page). Denied or API disabled -> recorded, no file: offline, last use stays unknown."""
        scope = f"projects/{ident}"
        for activity_type, name, what in ((KEY_ACTIVITY, "serviceAccountKeyLastAuthenticationActivities",
                                           "key_last_authentications"),
                                          (SA_ACTIVITY, "serviceAccountLastAuthenticationActivities",
                                           "service_account_last_authentications")):
            url = (f"{self.clients.policy_analyzer_endpoint}/v1/projects/{ident}/locations/global/activityTypes/"
                   f"{activity_type}/activities:query")
            call = f"policyanalyzer.{name}.query"
            try:
                activities = self._rest_pages(url, "activities", {"pageSize": 1000})
            except DENIED as exc:
                self.run.denied(call, scope, exc)
                continue
            except (gexc.RetryError, *TRANSIENT) as exc:
                self.run.denied(call, scope, exc, kind="throttled")
                continue
            except gexc.GoogleAPICallError as exc:
                self.run.denied(call, scope, exc, kind="failed")
                continue
            self.run.write(f"{scope}/{ACTIVITY_FILES[activity_type]}", activities)
            self.run.count(what, len(activities))

    def predefined_roles(self) -> None:
        """`roles.get` for every predefined role the collected policies bind (their permissions)."""
        roles = []
        for name in sorted(r for r in self.bound_roles if r.startswith("roles/")):
            role = self.call("iam.roles.get", name, self.clients.iam.get_role, name=name)
            if role is not None:
                roles.append(message_dict(role))
        self.run.write("roles/predefined.json", roles)
        self.run.count("predefined_roles", len(roles))

    def collect(self, organization: str | None, project_ids: list[str]) -> None:
        with self.run.progress() as bar:
            if organization:
                self.organization(organization)
            if project_ids:
                self.named_projects(project_ids)
            if not organization and not project_ids:
                self.visible_projects()
            self.run.write("projects.json", sorted(self.projects.values(), key=lambda p: p["projectId"]))
            for ident in self.run.track(sorted(self.projects), "gcp projects", bar):
                self.project(ident)
                self.last_authentication(ident)
                self.buckets(ident)
                self.pool_providers(ident)
            if self.asset_inventory:
                self.asset_policies([f"organizations/{organization}"] if organization
                                    else [f"projects/{ident}" for ident in sorted(self.projects)])
            self.predefined_roles()


def collect_live(out_root: Path, organization: str | None, project_ids: list[str], clients: Clients,
                 retry: gretry.Retry, quiet: bool = True, asset_inventory: bool = False) -> dict[str, Any]:
    run = LiveRun(SOURCE, out_root, quiet=quiet)
    GcpLiveCollector(run, clients, retry, asset_inventory=asset_inventory).collect(organization, project_ids)
    return run.finish()


@click.command("gcp")
@click.option("--organization", help="Organization id: walk its folders and projects.")
@click.option("--project", "projects", multiple=True, help="Project id (repeatable).")
@click.option("--impersonate-service-account", "impersonate", metavar="EMAIL",
              help="Collect as this service account (needs Token Creator on it).")
@click.option("--asset-inventory", is_flag=True,
              help="Fast path for large organizations: read every IAM policy with one paged Cloud Asset "
                   "Inventory search (API must be enabled; needs roles/cloudasset.viewer).")
@click.option("--retry-deadline", type=float, default=120.0, show_default=True,
              help="Seconds to keep retrying a throttled call.")
@click.option("--resource-manager-endpoint", hidden=True, help="Testing: Resource Manager REST endpoint.")
@click.option("--iam-endpoint", hidden=True, help="Testing: IAM admin gRPC endpoint (insecure channel).")
@click.option("--iam-rest-endpoint", hidden=True, help="Testing: IAM v1 REST endpoint (workload identity pools).")
@click.option("--asset-endpoint", hidden=True, help="Testing: Cloud Asset Inventory REST endpoint.")
@click.option("--storage-endpoint", hidden=True, help="Testing: Cloud Storage JSON API endpoint.")
@click.option("--policy-analyzer-endpoint", hidden=True, help="Testing: Policy Analyzer REST endpoint.")
@click.option("--anonymous", is_flag=True, hidden=True, help="Testing: anonymous credentials.")
@out_option
@quiet_option
def command(organization: str | None, projects: tuple[str, ...], impersonate: str | None, asset_inventory: bool,
            retry_deadline: float, resource_manager_endpoint: str | None, iam_endpoint: str | None,
            iam_rest_endpoint: str | None, asset_endpoint: str | None, storage_endpoint: str | None,
            policy_analyzer_endpoint: str | None, anonymous: bool, out_root: Path, quiet: bool) -> None:
    """GCP IAM: organization / folder / project policies, service accounts, keys, roles (read-only)."""
    from google.auth.exceptions import GoogleAuthError

    try:
        creds = credentials(impersonate, anonymous)
    except GoogleAuthError as exc:
        raise click.ClickException(f"no Google credentials: {exc}. Run `gcloud auth application-default "
                                   "login` or set GOOGLE_APPLICATION_CREDENTIALS") from None
    clients = make_clients(creds, resource_manager_endpoint, iam_endpoint, storage_endpoint, iam_rest_endpoint,
                           asset_endpoint, policy_analyzer_endpoint)
    log = collect_live(out_root, organization, list(projects), clients,
                       make_retry(retry_deadline, initial=0.2 if anonymous else 1.0), quiet, asset_inventory)
    counts = ", ".join(f"{k} {v}" for k, v in log["counts"].items() if not k.startswith("calls."))
    click.echo(f"gcp: {counts}; {len(log['problems'])} denied/failed calls -> {Path(out_root) / SOURCE}")
