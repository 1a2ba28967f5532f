"""Kubernetes RBAC evaluation: rules, role resolution (with aggregation), levels and capabilities.

Everything here is pure: it takes the native Role / ClusterRole / binding shapes and answers
"what may this grant do", following the authorizer's own matching rules (wildcards,
``*/subresource``, resourceNames that never match list-all or create requests).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from graph.schema import LEVEL_RANK

CORE = ""
RBAC_GROUP = "rbac.authorization.k8s.io"
READ_VERBS = ("get", "list", "watch")
WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})
# Verbs that only ever widen RBAC itself: holding them on roles is holding the whole scope.
RBAC_ESCALATION_VERBS = frozenset({"escalate", "bind"})
# Verbs that grant nothing by themselves (PodSecurityPolicy `use`, read-only URL verbs).
HARMLESS_VERBS = frozenset({"use", "head", "options"})
NON_RESOURCE_READ_VERBS = frozenset({"get", "head", "options"})
# Identities that impersonation can target cluster-wide (not service accounts, which are namespaced).
IDENTITY_RESOURCES = ("users", "groups", "uids", "userextras")
# Creating (or re-pointing) one of these starts a pod under a service account the author chooses.
WORKLOAD_CREATE = (
    (CORE, "pods"),
    (CORE, "replicationcontrollers"),
    ("apps", "deployments"),
    ("apps", "replicasets"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
)
MAX_ACTIONS = 10
MASTERS = "system:masters"


class RuleError(ValueError):
    """A PolicyRule that is not the documented shape; the message names the field."""


def _strings(raw: dict[str, Any], key: str) -> frozenset[str]:
    value = raw.get(key)
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise RuleError(f"{key} must be a list of strings")
    return frozenset(value)


@dataclass(frozen=True)
class Rule:
    """One PolicyRule (rbac.authorization.k8s.io/v1)."""

    verbs: frozenset[str]
    api_groups: frozenset[str] = frozenset()
    resources: frozenset[str] = frozenset()
    resource_names: frozenset[str] = frozenset()
    non_resource_urls: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, raw: Any) -> Rule:
        if not isinstance(raw, dict):
            raise RuleError("a rule must be an object")
        verbs = _strings(raw, "verbs")
        if not verbs:
            raise RuleError("verbs is missing or empty")
        return cls(
            verbs=frozenset(v.lower() for v in verbs),
            api_groups=_strings(raw, "apiGroups"),
            resources=_strings(raw, "resources"),
            resource_names=_strings(raw, "resourceNames"),
            non_resource_urls=_strings(raw, "nonResourceURLs"),
        )

    def has_verb(self, verb: str) -> bool:
        return "*" in self.verbs or verb in self.verbs

    def matches_resource(self, group: str, resource: str) -> bool:
        if not self.resources:
            return False
        if "*" not in self.api_groups and group not in self.api_groups:
            return False
        if "*" in self.resources or resource in self.resources:
            return True
        _, slash, sub = resource.partition("/")
        return bool(slash) and f"*/{sub}" in self.resources

    def allows(self, verb: str, group: str, resource: str, name: str | None = None) -> bool:
        """Would the authorizer allow this request? name=None is a list-all / create request."""
        if not self.has_verb(verb) or not self.matches_resource(group, resource):
            return False
        if not self.resource_names:
            return True
        return name is not None and name in self.resource_names

    def allows_url(self, verb: str, url: str) -> bool:
        if not self.has_verb(verb):
            return False
        for pattern in self.non_resource_urls:
            if pattern == url or (pattern.endswith("*") and url.startswith(pattern[:-1])):
                return True
        return False


def parse_rules(raw: Any) -> list[Rule]:
    """The rules of a Role / ClusterRole; `rules: null` (an empty aggregated role) is no rules."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise RuleError("rules must be a list")
    rules = []
    for index, item in enumerate(raw):
        try:
            rules.append(Rule.parse(item))
        except RuleError as exc:
            raise RuleError(f"rules[{index}]: {exc}") from None
    return rules


# --- role resolution -------------------------------------------------------------------------


@dataclass
class RoleDef:
    kind: str  # Role | ClusterRole
    name: str
    namespace: str | None
    rules: list[Rule]
    labels: dict[str, str] = field(default_factory=dict)
    selectors: list[dict[str, Any]] = field(default_factory=list)  # aggregationRule.clusterRoleSelectors


def selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """metav1.LabelSelector semantics; an empty selector matches nothing here (as aggregation does)."""
    match_labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    if not match_labels and not expressions:
        return False
    for key, value in match_labels.items():
        if labels.get(key) != value:
            return False
    for expr in expressions:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def resolve_cluster_roles(cluster_roles: dict[str, RoleDef]) -> dict[str, list[Rule]]:
    """Effective rules per ClusterRole.

    The aggregation controller normally fills an aggregated role's rules already; we also union the
    selected roles' rules so an export taken before the controller ran (or hand-trimmed) still counts.
    """
    resolved: dict[str, list[Rule]] = {}

    def resolve(name: str, visiting: frozenset[str]) -> list[Rule]:
        if name in resolved:
            return resolved[name]
        role = cluster_roles[name]
        rules = list(role.rules)
        for selector in role.selectors:
            for other_name, other in sorted(cluster_roles.items()):
                if other_name == name or other_name in visiting:
                    continue
                if selector_matches(selector, other.labels):
                    for rule in resolve(other_name, visiting | {name}):
                        if rule not in rules:
                            rules.append(rule)
        resolved[name] = rules
        return rules

    for name in sorted(cluster_roles):
        resolve(name, frozenset())
    return resolved


# --- grants ------------------------------------------------------------------------------------


@dataclass
class Grant:
    """One binding resolved to its role: who, where (namespace or whole cluster), which rules."""

    binding: str  # "RoleBinding ci/gitlab-runner-secrets" / "ClusterRoleBinding aks-prod-admins"
    role: str  # "Role secret-reader" / "ClusterRole edit"
    namespace: str | None  # None: cluster-wide (ClusterRoleBinding)
    subjects: list[dict[str, Any]]
    rules: list[Rule]

    @property
    def via(self) -> str:
        return f"{self.binding} -> {self.role}"

    def covers(self, namespace: str | None) -> bool:
        return self.namespace is None or self.namespace == namespace

    def allows(self, verb: str, group: str, resource: str, name: str | None = None) -> bool:
        return any(rule.allows(verb, group, resource, name) for rule in self.rules)

    def secret_read_verb(self, name: str) -> str | None:
        """The read verb that exposes this secret's data, if any (resourceNames respected)."""
        for verb in READ_VERBS:
            if self.allows(verb, CORE, "secrets", name):
                return verb
        return None

    def workload_create(self) -> str | None:
        """An action that starts a pod under any service account (and mounting any secret)."""
        for group, resource in WORKLOAD_CREATE:
            if self.allows("create", group, resource):
                return f"create {_qualified(group, resource)}"
        return None

    def can_impersonate_sa(self, name: str) -> bool:
        return self.allows("impersonate", CORE, "serviceaccounts", name)

    def token_mint(self, sa_name: str) -> str | None:
        """An action that mints a token for this service account (TokenRequest, or a token secret)."""
        if self.allows("create", CORE, "serviceaccounts/token", sa_name):
            return "create serviceaccounts/token"
        if self.allows("create", CORE, "secrets"):
            return "create secrets (type service-account-token)"
        return None

    def impersonable(self) -> tuple[bool, list[tuple[str, str]]]:
        """(can impersonate any user / group, named users and groups it can impersonate).

        Impersonating users and groups is authorised cluster-wide only, so a RoleBinding grants none.
        """
        if self.namespace is not None:
            return False, []
        unrestricted = False
        named: list[tuple[str, str]] = []
        for rule in self.rules:
            if not rule.has_verb("impersonate"):
                continue
            for resource in ("users", "groups"):
                if not rule.matches_resource(CORE, resource):
                    continue
                if not rule.resource_names:
                    unrestricted = True
                else:
                    named.extend((resource, n) for n in sorted(rule.resource_names))
        return unrestricted, named


def _qualified(group: str, resource: str) -> str:
    """kubectl's `resource.group` notation; the core group has no suffix."""
    if group == "":
        return resource
    if group == "*":
        return "*" if resource == "*" else f"{resource}.*"
    return f"{resource}.{group}"


def _verb_level(verb: str, rule: Rule, cluster_scope: bool) -> str | None:
    """The level one verb of one rule grants on the scope it is bound to."""
    if rule.non_resource_urls and not rule.resources:
        if not cluster_scope:
            return None  # nonResourceURLs are honoured only through ClusterRoleBindings
        return "read" if verb in NON_RESOURCE_READ_VERBS else "write"
    touches_rbac_roles = any(
        rule.matches_resource(RBAC_GROUP, r) for r in ("roles", "clusterroles")
    )
    if verb == "*":
        if "*" in rule.resources:
            return "admin"  # cluster-admin / namespace-admin equivalent
        if touches_rbac_roles and not rule.resource_names:
            return "admin"  # `*` includes escalate and bind
        return "write"
    if verb in RBAC_ESCALATION_VERBS:
        return "admin" if touches_rbac_roles else None
    if verb == "impersonate":
        # Unrestricted user / group impersonation reaches system:masters. Service-account and named
        # impersonation become CAN_ASSUME edges instead, so the path engine follows the real target.
        identities = any(rule.matches_resource(CORE, r) for r in ("users", "groups"))
        if cluster_scope and identities and (not rule.resource_names or MASTERS in rule.resource_names):
            return "admin"
        return None
    if verb in WRITE_VERBS:
        return "write"
    if verb in READ_VERBS or verb in HARMLESS_VERBS:
        return "read"
    return "write"  # approve, sign, proxy, custom verbs: treat as changing state


def _action_texts(rule: Rule, verb: str) -> list[str]:
    if rule.non_resource_urls and not rule.resources:
        return [f"{verb} {url}" for url in sorted(rule.non_resource_urls)]
    groups = sorted(rule.api_groups) or [CORE]
    suffix = f" ({', '.join(sorted(rule.resource_names))})" if rule.resource_names else ""
    texts = []
    for resource in sorted(rule.resources):
        for group in groups:
            texts.append(f"{verb} {_qualified(group, resource)}{suffix}")
    return texts


def classify(rules: Iterable[Rule], cluster_scope: bool) -> tuple[str | None, list[str]]:
    """Highest level the rules grant on their scope, and a sample of actions (highest first)."""
    # Sorted by level, then round-robin over rules, so the sample shows the variety of the role.
    ranked: list[tuple[int, int, int, str]] = []
    best: str | None = None
    for rule_index, rule in enumerate(rules):
        position = 0
        for verb in sorted(rule.verbs):
            level = _verb_level(verb, rule, cluster_scope)
            if level is None:
                continue
            if best is None or LEVEL_RANK[level] > LEVEL_RANK[best]:
                best = level
            for text in _action_texts(rule, verb):
                ranked.append((-LEVEL_RANK[level], position, rule_index, text))
                position += 1
    actions: list[str] = []
    for *_, text in sorted(ranked):
        if text not in actions:
            actions.append(text)
        if len(actions) == MAX_ACTIONS:
            break
    return best, actions
