"""Google credentials, clients and retry for live GCP collection (collectors/gcp/live.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from google.api_core import exceptions as gexc
from google.api_core import retry as gretry
from google.api_core.client_options import ClientOptions

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
DENIED = (gexc.PermissionDenied, gexc.Forbidden, gexc.Unauthenticated, gexc.Unauthorized)
TRANSIENT = (gexc.ResourceExhausted, gexc.TooManyRequests, gexc.ServiceUnavailable, gexc.InternalServerError,
             gexc.DeadlineExceeded)


def make_retry(deadline: float, initial: float = 1.0) -> gretry.Retry:
    """Exponential backoff on quota and transient errors, up to `deadline` seconds per call."""
    return gretry.Retry(predicate=gretry.if_exception_type(*TRANSIENT), initial=initial, maximum=32.0,
                        multiplier=2.0, timeout=deadline)


@dataclass
class Clients:
    organizations: Any
    folders: Any
    projects: Any
    iam: Any
    storage: Any
    iam_rest: Any = None  # google.auth AuthorizedSession for the IAM v1 pools API (no client library)
    policies: Any = None  # IAM v2 PoliciesClient (deny policies)
    asset: Any = None  # Cloud Asset Inventory AssetServiceClient (the --asset-inventory fast path)
    iam_rest_endpoint: str = "https://iam.googleapis.com"
    # Policy Analyzer Activity API (REST through iam_rest's AuthorizedSession: no client library covers it)
    policy_analyzer_endpoint: str = "https://policyanalyzer.googleapis.com"


def credentials(impersonate: str | None, anonymous: bool) -> Any:
    """Application Default Credentials, optionally impersonating a (read-only) collector SA."""
    if anonymous:
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials()
    import google.auth
    from google.auth import impersonated_credentials

    base, _ = google.auth.default(scopes=SCOPES)
    if not impersonate:
        return base
    return impersonated_credentials.Credentials(source_credentials=base, target_principal=impersonate,
                                                target_scopes=SCOPES, lifetime=3600)


def make_clients(creds: Any, resource_manager_endpoint: str | None, iam_endpoint: str | None,
                 storage_endpoint: str | None = None, iam_rest_endpoint: str | None = None,
                 asset_endpoint: str | None = None, policy_analyzer_endpoint: str | None = None) -> Clients:
    """Resource Manager and Cloud Storage over REST, IAM admin over gRPC; test endpoints use plain
    HTTP / an insecure channel."""
    from google.cloud import iam_admin_v1, resourcemanager_v3, storage

    options = ClientOptions(api_endpoint=resource_manager_endpoint) if resource_manager_endpoint else None
    rm = {"credentials": creds, "transport": "rest", "client_options": options}
    if iam_endpoint:
        import grpc
        from google.cloud.iam_admin_v1.services.iam.transports import IAMGrpcTransport

        iam = iam_admin_v1.IAMClient(transport=IAMGrpcTransport(channel=grpc.insecure_channel(iam_endpoint)))
    else:
        iam = iam_admin_v1.IAMClient(credentials=creds)
    # The storage client's own project is only a default; every list passes the project explicitly.
    gcs = storage.Client(project="crosspath-collector", credentials=creds,
                         client_options={"api_endpoint": storage_endpoint} if storage_endpoint else None)
    from google.auth.transport.requests import AuthorizedSession
    from google.cloud import iam_v2

    iam_options = ClientOptions(api_endpoint=iam_rest_endpoint) if iam_rest_endpoint else None
    policies = iam_v2.PoliciesClient(credentials=creds, transport="rest", client_options=iam_options)
    from google.cloud import asset_v1

    asset_options = ClientOptions(api_endpoint=asset_endpoint) if asset_endpoint else None
    asset = asset_v1.AssetServiceClient(credentials=creds, transport="rest", client_options=asset_options)
    return Clients(organizations=resourcemanager_v3.OrganizationsClient(**rm),
                   folders=resourcemanager_v3.FoldersClient(**rm), projects=resourcemanager_v3.ProjectsClient(**rm),
                   iam=iam, storage=gcs, iam_rest=AuthorizedSession(creds), policies=policies, asset=asset,
                   iam_rest_endpoint=(iam_rest_endpoint or "https://iam.googleapis.com").rstrip("/"),
                   policy_analyzer_endpoint=(policy_analyzer_endpoint
                                             or "https://policyanalyzer.googleapis.com").rstrip("/"))


# --- API objects -> the gcloud JSON the offline collector reads ---------------------------------------
