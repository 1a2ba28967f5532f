"""Live Kubernetes collection with the official `kubernetes` client: `crosspath collect kubernetes`.

Read-only (`get` / `list` only). Writes, per cluster, the files the offline collector reads, under
``OUT/kubernetes/<cluster>/``: ``rbac.json`` (ServiceAccounts, Roles, ClusterRoles, bindings, Secrets),
``namespaces.json``, ``workloads.json`` (Pods, Nodes) and ``aws-auth.json`` (EKS). Every list is paged
with ``limit`` / ``continue``; a denied list is recorded in ``collection.json`` and the run goes on.
A request answered 429 Too Many Requests (API Priority and Fairness), or 5xx with ``Retry-After``,
is sent again after the server's ``Retry-After`` (at most MAX_RETRY_WAIT seconds a time) up to
THROTTLE_RETRIES times; still throttled, that list is recorded as ``throttled`` (not read) and the run
goes on (docs/reliability.md, "Live collection: throttling").

Secrets are listed as a server-side Table with ``includeObject=Metadata``: each secret's metadata and
its Type column, so their values never reach this process, and legacy tokens are known by type. ``--read-secret-data`` (opt-in) lists full secrets to find cloud key ids in them,
and reduces each secret to those identifiers in memory before anything is written.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from collectors.kubernetes.exports import AWS_AUTH_FILE, NAMESPACES_FILE, SOURCE
from collectors.kubernetes.secrets import (
    AWS_KEY_ID_KEYS,
    AZURE_CLIENT_ID_KEYS,
    AZURE_SECRET_KEYS,
    TOKEN_TYPE,
    held_identifiers,
)
from collectors.live import LiveRun, out_option, quiet_option

PAGE_SIZE = 500
REQUEST_TIMEOUT = (10, 120)  # seconds to connect, to read one page
THROTTLE_RETRIES = 5  # sends of one request after the first, while the server answers 429
MAX_RETRY_WAIT = 10.0  # seconds: a longer Retry-After is waited this long, then the server is asked again
FIRST_RETRY_WAIT = 1.0  # seconds, doubled each time, when a 429 names no Retry-After
RBAC_FILE = "rbac.json"
WORKLOADS_FILE = "workloads.json"
# Server-side table: one row per secret with its Type column and (includeObject=Metadata) its metadata.
METADATA_TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"
_FOLDER_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Listing:
    """One cluster-wide list call: the URL path and what kubectl would call its items."""

    path: str
    kind: str
    api_version: str
    file: str

    @property
    def call(self) -> str:
        return f"list {self.path}"


RBAC_V1 = "rbac.authorization.k8s.io/v1"
LISTINGS = (
    Listing("/api/v1/serviceaccounts", "ServiceAccount", "v1", RBAC_FILE),
    Listing("/apis/rbac.authorization.k8s.io/v1/roles", "Role", RBAC_V1, RBAC_FILE),
    Listing("/apis/rbac.authorization.k8s.io/v1/clusterroles", "ClusterRole", RBAC_V1, RBAC_FILE),
    Listing("/apis/rbac.authorization.k8s.io/v1/rolebindings", "RoleBinding", RBAC_V1, RBAC_FILE),
    Listing("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", "ClusterRoleBinding", RBAC_V1, RBAC_FILE),
    Listing("/api/v1/namespaces", "Namespace", "v1", NAMESPACES_FILE),
    Listing("/api/v1/pods", "Pod", "v1", WORKLOADS_FILE),
    Listing("/api/v1/nodes", "Node", "v1", WORKLOADS_FILE),
)
SECRETS = Listing("/api/v1/secrets", "Secret", "v1", RBAC_FILE)
AWS_AUTH_PATH = "/api/v1/namespaces/kube-system/configmaps/aws-auth"


class ClusterClient:
    """Raw, paged GETs through one `kubernetes.client.ApiClient` (the API's own JSON, as kubectl shows it)."""

    sleep = staticmethod(time.sleep)

    def __init__(self, api_client: Any, page_size: int = PAGE_SIZE):
        self.api = _without_status_retries(api_client)
        self.page_size = page_size

    def get(self, path: str, query: list[tuple[str, str]] | None = None, accept: str = "application/json"
            ) -> dict[str, Any]:
        """One GET, sent again while the server throttles it (bounded, see THROTTLE_RETRIES); a non-2xx
        answer raises ApiException (status and reason only, never the body)."""
        from kubernetes.client.exceptions import ApiException
        method, url, headers, body, post = self.api.param_serialize(
            "GET", path, query_params=query or [], header_params={"Accept": accept}, auth_settings=["BearerToken"])
        for attempt in range(THROTTLE_RETRIES + 1):
            response = self.api.call_api(method, url, header_params=headers, body=body, post_params=post,
                                         _request_timeout=REQUEST_TIMEOUT)
            data = response.read()
            wait = _retry_wait(response, attempt)
            if wait is None or attempt == THROTTLE_RETRIES:
                break
            self.sleep(wait)
        if not 200 <= response.status < 300:
            reason = response.reason if wait is None else f"{response.reason} (still, after {attempt + 1} attempts)"
            raise ApiException(status=response.status, reason=reason)
        return json.loads(data)

    def pages(self, path: str, accept: str = "application/json", extra: list[tuple[str, str]] | None = None
              ) -> Iterator[list[dict[str, Any]]]:
        """Each page's items; a Table page yields each row's object with its cells under "columns"."""
        token: str | None = None
        while True:
            query = [("limit", str(self.page_size)), *(extra or [])]
            if token:
                query.append(("continue", token))
            doc = self.get(path, query, accept)
            if doc.get("kind") == "Table":
                names = [c.get("name") for c in doc.get("columnDefinitions") or []]
                yield [{**(row.get("object") or {}), "columns": dict(zip(names, row.get("cells") or [],
                                                                          strict=False))}
                       for row in doc.get("rows") or []]
            else:
                yield doc.get("items") or []
            token = (doc.get("metadata") or {}).get("continue")
            if not token:
                return


def _retry_wait(response: Any, attempt: int) -> float | None:
    """Seconds to wait before sending again, or None when the answer is not a throttle: 429, or 5xx
    with Retry-After (client-go's rule). The server's Retry-After, else 1, 2, 4 ... s; never more
    than MAX_RETRY_WAIT."""
    from urllib3.exceptions import InvalidHeader
    from urllib3.util.retry import Retry
    header = response.getheader("Retry-After")
    if response.status != 429 and not (response.status >= 500 and header):
        return None
    seconds = FIRST_RETRY_WAIT * 2 ** attempt
    if header:
        try:
            seconds = Retry().parse_retry_after(header)  # seconds, or an HTTP date
        except InvalidHeader:
            pass
    return min(max(seconds, 0.0), MAX_RETRY_WAIT)


def _without_status_retries(api_client: Any) -> Any:
    """The same client, but urllib3 no longer re-sends a GET answered 429 / 503 by itself: its default
    Retry does, up to three times, sleeping for as long as Retry-After says (an hour, if it says so).
    ClusterClient.get's bounded loop is then the only one. Connection retries stay as they were."""
    from kubernetes import client
    from urllib3.util.retry import Retry
    configuration = copy.copy(api_client.configuration)
    configuration.retries = Retry.DEFAULT.new(status=0, status_forcelist=(), respect_retry_after_header=False)
    clone = client.ApiClient(configuration)
    clone.default_headers.update(api_client.default_headers)
    return clone


def _as_kubectl_item(item: dict[str, Any], listing: Listing) -> dict[str, Any]:
    """List items carry no kind / apiVersion on the wire; kubectl adds them, so do we."""
    return {"apiVersion": listing.api_version, "kind": listing.kind, **item}


def _kubectl_list(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items}


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def reduce_secret(item: dict[str, Any]) -> dict[str, Any]:
    """A full Secret reduced to what the transform needs: metadata, type, and identifier values only.

    Token secrets lose all data; other secrets keep only the AWS key ids / GCP key ids found in them,
    re-encoded under the key they came from (a GCP key file becomes a JSON with its two ids).
    """
    reduced: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret", "metadata": _clean_metadata(item),
                               "type": item.get("type") or "Opaque"}
    data = item.get("data") or {}
    if reduced["type"] == TOKEN_TYPE or not isinstance(data, dict):
        reduced["data"] = {key: "" for key in data} if isinstance(data, dict) else {}
        return reduced
    held, entra_client_ids, _ = held_identifiers(data)
    kept: dict[str, str] = {}
    if entra_client_ids:  # an Entra client id (an identifier) next to its client secret (kept as a name only)
        for key in data:
            if key.lower() in AZURE_CLIENT_ID_KEYS:
                kept[key] = data[key]
            elif key.lower() in AZURE_SECRET_KEYS:
                kept[key] = ""
    for credential in held:
        if credential.kind == "aws-access-key":
            key_id = credential.target.rsplit("/", 1)[1]
            plain = credential.data_key.lower() in AWS_KEY_ID_KEYS  # else a shared-credentials file
            kept[credential.data_key] = _b64(key_id if plain else f"[default]\naws_access_key_id = {key_id}\n")
        else:  # gcp:serviceAccount/<email>/key/<key id>
            _, email, _, key_id = credential.target.split("/", 3)
            kept[credential.data_key] = _b64(json.dumps(
                {"type": "service_account", "client_email": email, "private_key_id": key_id}))
    reduced["data"] = kept
    reduced["data_keys"] = sorted(data)  # names only, for the reader of the export
    return reduced


def _clean_metadata(item: dict[str, Any]) -> dict[str, Any]:
    """A secret's metadata without managedFields and kubectl's last-applied copy (it may hold the values)."""
    metadata = dict(item.get("metadata") or {})
    metadata.pop("managedFields", None)
    annotations = dict(metadata.get("annotations") or {})
    annotations.pop("kubectl.kubernetes.io/last-applied-configuration", None)
    metadata["annotations"] = annotations
    return metadata


def _metadata_secret(item: dict[str, Any], secret_type: str | None) -> dict[str, Any]:
    metadata = _clean_metadata(item)
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret", "metadata": metadata}
    if secret_type:
        obj["type"] = secret_type
    return obj


class ClusterCollector:
    """Everything of one cluster into ``OUT/kubernetes/<name>/``."""

    def __init__(self, run: LiveRun, client: ClusterClient, name: str, read_secret_data: bool = False):
        self.run = run
        self.client = client
        self.name = name
        self.read_secret_data = read_secret_data
        self.unreachable = False
        self.files: dict[str, list[dict[str, Any]]] = {RBAC_FILE: [], NAMESPACES_FILE: [], WORKLOADS_FILE: []}

    def _list(self, listing: Listing, accept: str = "application/json", extra: list[tuple[str, str]] | None = None
              ) -> list[dict[str, Any]] | None:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError
        if self.unreachable:
            return None
        items: list[dict[str, Any]] = []
        try:
            for page in self.client.pages(listing.path, accept, extra):
                items.extend(page)
        except ApiException as exc:
            self.run.denied(listing.call, self.name, f"HTTP {exc.status} {exc.reason}", _problem_kind(exc.status))
            return None
        except (HTTPError, OSError) as exc:
            # Unreachable / TLS failure: say so once and skip this cluster's other calls.
            self.unreachable = True
            self.run.denied(listing.call, self.name, f"cluster unreachable: {type(exc).__name__}", "failed")
            return None
        self.run.count(listing.kind, len(items))
        return items

    def collect(self, bar: Any) -> None:
        steps = [*LISTINGS, SECRETS, None]
        task = bar.add_task(f"{self.name}", total=len(steps))
        for listing in steps:
            if listing is None:
                self._aws_auth()
            elif listing is SECRETS:
                self._secrets()
            else:
                items = self._list(listing)
                for item in items or []:
                    item.get("metadata", {}).pop("managedFields", None)
                    self.files[listing.file].append(_as_kubectl_item(item, listing))
            bar.advance(task)
        if self.unreachable:
            return  # no export files: the scan must not read an empty cluster as a complete one
        for file, items in self.files.items():
            self.run.write(f"{self.name}/{file}", _kubectl_list(items))
        self.run.scopes.append(f"k8s:{self.name}")

    def _secrets(self) -> None:
        if self.read_secret_data:
            items = self._list(SECRETS)
            self.files[RBAC_FILE].extend(reduce_secret(item) for item in items or [])
            return
        rows = self._list(SECRETS, METADATA_TABLE, [("includeObject", "Metadata")])
        for row in rows or []:
            self.files[RBAC_FILE].append(_metadata_secret(row, (row.get("columns") or {}).get("Type")))

    def _aws_auth(self) -> None:
        from kubernetes.client.exceptions import ApiException
        if self.unreachable:
            return
        from urllib3.exceptions import HTTPError
        try:
            configmap = self.client.get(AWS_AUTH_PATH)
        except ApiException as exc:
            if exc.status != 404:  # 404: not an EKS cluster (or no aws-auth), nothing to record
                self.run.denied(f"get {AWS_AUTH_PATH}", self.name, f"HTTP {exc.status} {exc.reason}",
                                _problem_kind(exc.status))
            return
        except (HTTPError, OSError) as exc:  # the lists before it succeeded: keep them, record this one
            self.run.denied(f"get {AWS_AUTH_PATH}", self.name, f"cluster unreachable: {type(exc).__name__}",
                            "failed")
            return
        configmap.get("metadata", {}).pop("managedFields", None)
        self.run.write(f"{self.name}/{AWS_AUTH_FILE}", {"apiVersion": "v1", "kind": "ConfigMap", **configmap})
        self.run.count("ConfigMap")


def _problem_kind(status: int | None) -> str:
    return "denied" if status in (401, 403) else "throttled" if status == 429 else "failed"


def folder_name(name: str) -> str:
    """A context name (often an ARN: arn:aws:eks:...:cluster/prod) as a safe folder name."""
    name = name.rsplit("/", 1)[-1] if name.startswith("arn:") else name
    return _FOLDER_SAFE.sub("_", name).strip("._") or "cluster"


def api_clients(kubeconfig: str | None, contexts: tuple[str, ...], in_cluster: bool, cluster_name: str | None
                ) -> list[tuple[str, Any]]:
    """(cluster folder name, ApiClient) for each requested context, or for the in-cluster config."""
    from kubernetes import client, config
    if in_cluster:
        configuration = client.Configuration()
        config.load_incluster_config(client_configuration=configuration)
        return [(folder_name(cluster_name or "in-cluster"), client.ApiClient(configuration))]
    if not contexts:
        _, active = config.list_kube_config_contexts(config_file=kubeconfig)
        contexts = (active["name"],)
    clients = []
    for context in contexts:
        api_client = config.new_client_from_config(config_file=kubeconfig, context=context)
        name = cluster_name if cluster_name and len(contexts) == 1 else context
        clients.append((folder_name(name), api_client))
    return clients


def collect_live(out_root: Path, clients: list[tuple[str, Any]], read_secret_data: bool = False,
                 quiet: bool = False, page_size: int = PAGE_SIZE) -> dict[str, Any]:
    """Collect every cluster; returns collection.json's content."""
    run = LiveRun(SOURCE, out_root, quiet=quiet)
    with run.progress() as bar:
        for name, api_client in clients:
            ClusterCollector(run, ClusterClient(api_client, page_size), name, read_secret_data).collect(bar)
    return run.finish()


@click.command(SOURCE)
@click.option("--kubeconfig", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Kubeconfig file (default: $KUBECONFIG or ~/.kube/config).")
@click.option("--context", "contexts", multiple=True,
              help="Kubeconfig context to collect; repeat for several clusters (default: the current one).")
@click.option("--in-cluster", is_flag=True, help="Use the pod's service account (running inside the cluster).")
@click.option("--cluster-name", help="Folder / cluster name when collecting one cluster (default: the context).")
@click.option("--read-secret-data", is_flag=True,
              help="Opt-in: read secret values to find cloud key ids in them (only ids are written).")
@out_option
@quiet_option
def command(kubeconfig: str | None, contexts: tuple[str, ...], in_cluster: bool, cluster_name: str | None,
            read_secret_data: bool, out_root: Path, quiet: bool) -> None:
    """Kubernetes RBAC, service accounts, pods, secret metadata and aws-auth, read-only, into
    OUT/kubernetes/<cluster>/ (needs the crosspath-reader ClusterRole in docs/collectors/kubernetes.md)."""
    from kubernetes.config.config_exception import ConfigException
    try:
        clients = api_clients(kubeconfig, contexts, in_cluster, cluster_name)
    except (ConfigException, OSError) as exc:
        raise click.ClickException(f"cannot load the Kubernetes configuration: {exc}") from exc
    log = collect_live(out_root, clients, read_secret_data, quiet)
    denied = len(log["problems"])
    click.echo(f"collected {len(clients)} cluster(s) into {Path(out_root) / SOURCE}; "
               f"{sum(log['counts'].values())} objects, {denied} denied / failed call(s)")
