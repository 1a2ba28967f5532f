"""Federated identity credentials of applications -> who can sign in as the app without a secret.

``federatedIdentityCredentials/<application objectId>.json`` lists ``{issuer, subject, audiences}``.
* A Kubernetes subject (``system:serviceaccount:<ns>:<name>``) goes to the service principal's
  ``federated_subjects``: the Kubernetes collector emits the ``FEDERATES_TO`` edge from the
  service account's ``azure.workload.identity/client-id`` annotation and the builder checks it
  against these subjects (the issuer URL does not say which cluster it is).
* Any other issuer (GitHub Actions, GitLab, Terraform Cloud, another cloud) becomes an
  ``external:oidc/<issuer host>/<subject>`` identity that ``FEDERATES_TO`` the service principal.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from graph.records import Record, edge, node
from graph.schema import EdgeKind, Family, Provider

K8S_SUBJECT_PREFIX = "system:serviceaccount:"


def transform_federated_credentials(
    app_name: str, target_sp: str, credentials: list[dict[str, Any]]
) -> tuple[list[Record], list[Record], list[str]]:
    """(external identity nodes, FEDERATES_TO edges, Kubernetes subjects for federated_subjects)."""
    nodes: list[Record] = []
    edges: list[Record] = []
    k8s_subjects: list[str] = []
    for credential in credentials:
        issuer = str(credential.get("issuer") or "")
        subject = str(credential.get("subject") or "")
        if not issuer or not subject:
            continue
        if subject.startswith(K8S_SUBJECT_PREFIX):
            k8s_subjects.append(subject)
            continue
        host = urlsplit(issuer).hostname or issuer
        source = f"external:oidc/{host}/{subject}"
        nodes.append(
            node(
                source,
                Family.IDENTITY,
                "ServiceIdentity",
                Provider.EXTERNAL,
                f"{host} {subject}",
                "",
                human=False,
                oidc_subject=subject,
                issuer=issuer,
            )
        )
        edges.append(
            edge(
                source,
                target_sp,
                EdgeKind.FEDERATES_TO,
                f"federated identity credential {credential.get('name') or ''} of application "
                f"{app_name}".replace("  ", " "),
                mfa_required=False,
                oidc_subject=subject,
                conditions=[f"audiences {', '.join(map(str, credential.get('audiences') or []))}"],
            )
        )
    return nodes, edges, k8s_subjects
