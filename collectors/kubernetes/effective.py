"""Effective permissions: would the API server's RBAC authorizer allow this request?

Built from the same resolved grants as the graph's edges (`transform.cluster_grants`), so it answers
exactly what the edges were computed from; the integration tests compare it with the API server's own
`SubjectAccessReview` answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from collectors.kubernetes.exports import ClusterExport
from collectors.kubernetes.rbac import MASTERS, Grant
from collectors.kubernetes.transform import cluster_grants

SA_PREFIX = "system:serviceaccount:"


def service_account_user(namespace: str, name: str) -> tuple[str, list[str]]:
    """The user name and groups the API server gives a service account's token."""
    return (f"{SA_PREFIX}{namespace}:{name}",
            ["system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"])


@dataclass
class Authorizer:
    grants: list[Grant]

    @classmethod
    def from_export(cls, export: ClusterExport) -> Authorizer:
        return cls(cluster_grants(export))

    def _applies(self, grant: Grant, user: str, groups: set[str]) -> bool:
        for subject in grant.subjects:
            kind, name = subject.get("kind"), subject.get("name")
            if kind == "User" and name == user:
                return True
            if kind == "Group" and name in groups:
                return True
            if kind == "ServiceAccount":
                namespace = subject.get("namespace") or grant.namespace
                if user == f"{SA_PREFIX}{namespace}:{name}":
                    return True
        return False

    def allowed(self, user: str, groups: list[str], verb: str, api_group: str, resource: str,
                namespace: str | None = None, name: str | None = None, subresource: str | None = None) -> bool:
        """A resource request; namespace None / "" = cluster-wide (only ClusterRoleBindings apply)."""
        if MASTERS in groups:
            return True
        wanted = f"{resource}/{subresource}" if subresource else resource
        group_set = set(groups)
        return any(grant.covers(namespace or None) and self._applies(grant, user, group_set)
                   and grant.allows(verb, api_group, wanted, name or None) for grant in self.grants)

    def allowed_url(self, user: str, groups: list[str], verb: str, path: str) -> bool:
        """A non-resource request (/healthz, /metrics, /apis): only ClusterRoleBindings grant these."""
        if MASTERS in groups:
            return True
        group_set = set(groups)
        return any(grant.namespace is None and self._applies(grant, user, group_set)
                   and any(rule.allows_url(verb, path) for rule in grant.rules) for grant in self.grants)
