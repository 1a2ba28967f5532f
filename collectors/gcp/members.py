"""IAM policy member strings -> identities.

Member forms (https://cloud.google.com/iam/docs/principal-identifiers): `user:`, `group:`,
`serviceAccount:`, `domain:`, `allUsers`, `allAuthenticatedUsers`, `deleted:<type>:<email>?uid=`,
`principal://` / `principalSet://` (workload / workforce identity federation) and the
bucket-only convenience values `projectOwner:` / `projectEditor:` / `projectViewer:`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from graph.records import Record, node
from graph.schema import Family, Provider

SA_EMAIL_SUFFIX = ".iam.gserviceaccount.com"

# GKE Workload Identity member: serviceAccount:<project>.svc.id.goog[<namespace>/<ksa>]
_GKE_MEMBER = re.compile(r"^(?P<pool>[a-z0-9.-]+\.svc\.id\.goog)\[(?P<ns>[^/\]]+)/(?P<ksa>[^\]]+)\]$")
# Workload Identity Federation for GKE, principal form (no Google SA in between).
_GKE_PRINCIPAL = re.compile(
    r"^principal://iam\.googleapis\.com/projects/\d+/locations/global/workloadIdentityPools/"
    r"(?P<pool>[a-z0-9.-]+\.svc\.id\.goog)/subject/ns/(?P<ns>[^/]+)/sa/(?P<ksa>[^/]+)$"
)
_GKE_PRINCIPAL_SET = re.compile(
    r"^principalSet://iam\.googleapis\.com/projects/\d+/locations/global/workloadIdentityPools/"
    r"(?P<pool>[a-z0-9.-]+\.svc\.id\.goog)/namespace/(?P<ns>[^/]+)$"
)
_CONVENIENCE = ("projectOwner:", "projectEditor:", "projectViewer:")


@dataclass
class Member:
    """One parsed member. `node_id` is None for members that yield no identity."""

    raw: str
    type: str  # user, group, serviceAccount, domain, public, gke_workload, external, deleted, convenience, unknown
    node_id: str | None = None
    email: str = ""
    # Kubernetes subject pattern (`system:serviceaccount:ns:name` or `...:ns:*`) for GKE members.
    k8s_subject: str = ""
    pool: str = ""
    note: str = ""
    namespace: str = ""
    ksa: str = ""


def parse_member(raw: str) -> Member:
    """Classify a member string; never raises (unknown forms come back as type 'unknown')."""
    text = raw.strip()
    if text in ("allUsers", "allAuthenticatedUsers"):
        return Member(raw, "public", f"gcp:{text}", note=f"{text} is bound: anyone on the internet"
                      + (" with a Google account" if text == "allAuthenticatedUsers" else ""))
    if text.startswith("deleted:"):
        return Member(raw, "deleted", note=f"binding to deleted principal {text} skipped")
    for prefix in _CONVENIENCE:
        if text.startswith(prefix):
            return Member(raw, "convenience",
                          note=f"convenience member {text} (members of the project's basic role) not expanded")
    gke = _GKE_PRINCIPAL.match(text) or _GKE_PRINCIPAL_SET.match(text)
    if gke:
        ksa = gke.groupdict().get("ksa") or "*"
        return _gke_member(raw, gke["pool"], gke["ns"], ksa)
    if text.startswith(("principal://", "principalSet://")):
        return Member(raw, "external", f"external:{text}")
    kind, sep, value = text.partition(":")
    if not sep or not value:
        return Member(raw, "unknown", note=f"unrecognised member {text!r} skipped")
    value = value.lower()
    if kind == "user":
        return Member(raw, "user", f"gcp:user/{value}", email=value)
    if kind == "group":
        return Member(raw, "group", f"gcp:group/{value}", email=value)
    if kind == "domain":
        return Member(raw, "domain", f"gcp:domain/{value}")
    if kind == "serviceAccount":
        gke_sa = _GKE_MEMBER.match(value)
        if gke_sa:
            return _gke_member(raw, gke_sa["pool"], gke_sa["ns"], gke_sa["ksa"])
        return Member(raw, "serviceAccount", f"gcp:serviceAccount/{value}", email=value)
    return Member(raw, "unknown", note=f"unrecognised member type {kind!r} in {text!r} skipped")


def _gke_member(raw: str, pool: str, namespace: str, ksa: str) -> Member:
    subject = f"system:serviceaccount:{namespace}:{ksa}"
    return Member(raw, "gke_workload", f"gcp:workloadIdentity/{pool}/{namespace}/{ksa}",
                  k8s_subject=subject, pool=pool, namespace=namespace, ksa=ksa)


_SERVICE_AGENT = re.compile(r"^(service-\d+@|\d+@cloudservices\.gserviceaccount\.com$)")


def is_google_managed_sa(email: str) -> bool:
    """Service agents Google creates, grants and rotates keys for; no user can hold their keys."""
    return bool(_SERVICE_AGENT.match(email))


def sa_project(email: str) -> str:
    """Project id of a user-created service account (`name@<project>.iam.gserviceaccount.com`)."""
    local, _, domain = email.partition("@")
    if is_google_managed_sa(email):
        return ""
    if domain.endswith(SA_EMAIL_SUFFIX):
        return domain[: -len(SA_EMAIL_SUFFIX)]
    if domain == "appspot.gserviceaccount.com":  # App Engine default account
        return local
    return ""


def identity_node(member: Member, org_scope: str) -> Record | None:
    """The Identity node a member stands for, or None when it yields none."""
    if member.node_id is None:
        return None
    if member.type == "user":
        # 2-Step Verification is a Workspace / Cloud Identity setting that IAM exports cannot see.
        return node(member.node_id, Family.IDENTITY, "User", Provider.GCP, member.email, org_scope,
                    human=True, email=member.email, mfa=None, enabled=None)
    if member.type == "group":
        return node(member.node_id, Family.IDENTITY, "Group", Provider.GCP, member.email, org_scope,
                    human=False, email=member.email, members_known=False)
    if member.type == "serviceAccount":
        project = sa_project(member.email)
        return node(member.node_id, Family.IDENTITY, "ServiceIdentity", Provider.GCP, member.email,
                    f"gcp:projects/{project}" if project else org_scope, human=False, email=member.email,
                    mfa=False, enabled=None, google_managed=is_google_managed_sa(member.email))
    if member.type == "domain":
        domain = member.node_id.split("/", 1)[1]
        return node(member.node_id, Family.IDENTITY, "Group", Provider.GCP, f"domain:{domain}", org_scope,
                    human=False, members_known=False)
    if member.type == "public":
        name = member.node_id.split(":", 1)[1]
        return node(member.node_id, Family.IDENTITY, "Group", Provider.GCP, name, "", human=False,
                    public=True, members_known=False)
    # gke_workload: the Kubernetes collector's KSA node (alias gcp:workloadIdentity/...);
    # external: collectors/gcp/federation.py emits the identity behind the pool member.
    return None
