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
AUTHENTICATION_GROUP = "authentication.k8s.io"
# Virtual resources whose only verb is `impersonate` (serviceaccounts also have create / delete ...).
IMPERSONATION_ONLY = frozenset({(CORE, "users"), (CORE, "groups"), (AUTHENTICATION_GROUP, "uids"),
                                (AUTHENTICATION_GROUP, "userextras")})
# The writes that pair with `bind` (a binding referencing the role) and with `escalate` (widening a role
# that exists, and so may already be bound: a new role needs a binding, which needs `bind`).
WRITE_BINDING = ("create", "update", "patch")
WRITE_ROLE = ("update", "patch")
# Built-in cluster-scoped resources (`kubectl api-resources --namespaced=false`, 1.20 to 1.31, plus the
# impersonation and signer virtual resources). A RoleBinding never authorises a request on them: the
# request carries no namespace. Custom resources are taken as namespaced (their scope is in their CRD).
CLUSTER_SCOPED = frozenset({
    (CORE, "namespaces"), (CORE, "nodes"), (CORE, "persistentvolumes"), (CORE, "componentstatuses"),
    (CORE, "users"), (CORE, "groups"),
    (AUTHENTICATION_GROUP, "uids"), (AUTHENTICATION_GROUP, "userextras"),
    (AUTHENTICATION_GROUP, "tokenreviews"), (AUTHENTICATION_GROUP, "selfsubjectreviews"),
    ("authorization.k8s.io", "subjectaccessreviews"), ("authorization.k8s.io", "selfsubjectaccessreviews"),
    ("authorization.k8s.io", "selfsubjectrulesreviews"),
    (RBAC_GROUP, "clusterroles"), (RBAC_GROUP, "clusterrolebindings"),
    ("certificates.k8s.io", "certificatesigningrequests"), ("certificates.k8s.io", "signers"),
    ("certificates.k8s.io", "clustertrustbundles"),
    ("admissionregistration.k8s.io", "mutatingwebhookconfigurations"),
    ("admissionregistration.k8s.io", "validatingwebhookconfigurations"),
    ("admissionregistration.k8s.io", "validatingadmissionpolicies"),
    ("admissionregistration.k8s.io", "validatingadmissionpolicybindings"),
    ("admissionregistration.k8s.io", "mutatingadmissionpolicies"),
    ("admissionregistration.k8s.io", "mutatingadmissionpolicybindings"),
    ("apiextensions.k8s.io", "customresourcedefinitions"), ("apiregistration.k8s.io", "apiservices"),
    ("storage.k8s.io", "storageclasses"), ("storage.k8s.io", "csidrivers"), ("storage.k8s.io", "csinodes"),
    ("storage.k8s.io", "volumeattachments"), ("storage.k8s.io", "volumeattributesclasses"),
    ("scheduling.k8s.io", "priorityclasses"), ("node.k8s.io", "runtimeclasses"),
    ("networking.k8s.io", "ingressclasses"), ("networking.k8s.io", "ipaddresses"),
    ("networking.k8s.io", "servicecidrs"), ("policy", "podsecuritypolicies"),
    ("flowcontrol.apiserver.k8s.io", "flowschemas"),
    ("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations"),
    ("internal.apiserver.k8s.io", "storageversions"), ("resource.k8s.io", "deviceclasses"),
    ("resource.k8s.io", "resourceslices"), ("metrics.k8s.io", "nodes"),
})
_CLUSTER_SCOPED_NAMES = frozenset(resource for _, resource in CLUSTER_SCOPED)
# Cluster-scoped resources with verbs the API server checks in a namespace, so a RoleBinding does grant
# them: `bind` on a ClusterRole (for a RoleBinding in that namespace), `use` of a PodSecurityPolicy (in the
# pod's namespace), and get / update / patch / delete of the binding's own Namespace object (its URL
# /api/v1/namespaces/<ns> carries the namespace); never list / watch / create.
NAMESPACE_CHECKED: dict[str, tuple[str, ...]] = {"clusterroles": ("bind",), "podsecuritypolicies": ("use",),
                                                 "namespaces": ("get", "update", "patch", "delete")}


def is_cluster_scoped(group: str, resource: str) -> bool:
    """Is this resource (or the resource of this subresource) cluster-scoped? `*` groups: by name."""
    base = resource.split("/", 1)[0]
    if group == "*":
        return base in _CLUSTER_SCOPED_NAMES
    return (group, base) in CLUSTER_SCOPED
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
    Walked with an explicit stack, so an aggregation chain thousands of roles deep resolves like a
    short one (a role on the current chain is skipped: a cycle adds nothing).
    """
    resolved: dict[str, list[Rule]] = {}
    names = sorted(cluster_roles)
    by_label: dict[tuple[str, Any], set[str]] = {}
    for name in names:
        for key, value in cluster_roles[name].labels.items():
            by_label.setdefault((key, value), set()).add(name)
    selected: dict[str, list[str]] = {}

    def candidates(selector: dict[str, Any]) -> list[str]:
        """Roles that can match: those carrying every matchLabels pair (all roles when there is none)."""
        pairs = list((selector.get("matchLabels") or {}).items())
        if not pairs:
            return names
        found = set.intersection(*(by_label.get(pair, set()) for pair in pairs))
        return sorted(found)

    def selects(name: str) -> list[str]:
        if name not in selected:
            role = cluster_roles[name]
            selected[name] = [other for selector in role.selectors for other in candidates(selector)
                              if other != name and selector_matches(selector, cluster_roles[other].labels)]
        return selected[name]

    for root in names:
        if root in resolved:
            continue
        # Each frame: (role, roles on the chain above it, index of the next selected role to visit).
        stack: list[tuple[str, frozenset[str], int]] = [(root, frozenset(), 0)]
        while stack:
            name, visiting, position = stack.pop()
            if name in resolved:
                continue
            children = [other for other in selects(name) if other not in visiting]
            pending = next((i for i in range(position, len(children)) if children[i] not in resolved), None)
            if pending is not None:
                stack.append((name, visiting, pending + 1))
                stack.append((children[pending], visiting | {name}, 0))
                continue
            rules = list(cluster_roles[name].rules)
            for other in children:
                for rule in resolved[other]:
                    if rule not in rules:
                        rules.append(rule)
            resolved[name] = rules
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

    def impersonable(self) -> tuple[set[str], list[tuple[str, str]]]:
        """(`users` / `groups` it may impersonate by any name, named users and groups it may impersonate).

        `impersonate` or `*` on users / groups (or on `*` resources) of the core group. Impersonating users
        and groups is authorised cluster-wide only (the request has no namespace), so a RoleBinding
        grants none.
        """
        if self.namespace is not None:
            return set(), []
        unrestricted: set[str] = set()
        named: list[tuple[str, str]] = []
        for rule in self.rules:
            if not rule.has_verb("impersonate"):
                continue
            for resource in ("users", "groups"):
                if not rule.matches_resource(CORE, resource):
                    continue
                if not rule.resource_names:
                    unrestricted.add(resource)
                else:
                    named.extend((resource, n) for n in sorted(rule.resource_names))
        return unrestricted, [(r, n) for r, n in named if r not in unrestricted]


def _qualified(group: str, resource: str) -> str:
    """kubectl's `resource.group` notation; the core group has no suffix."""
    if group == "":
        return resource
    if group == "*":
        return "*" if resource == "*" else f"{resource}.*"
    return f"{resource}.{group}"


def _bound_scope_drops(group: str, resource: str, verb: str, cluster_scope: bool) -> bool:
    """Does a RoleBinding's namespace make this (group, resource) unreachable for this verb?

    Requests on cluster-scoped resources carry no namespace, so a RoleBinding never authorises them;
    `bind` on clusterroles is the exception (the API server checks it in the new RoleBinding's
    namespace), and so is PodSecurityPolicy `use` (checked in the pod's namespace).
    """
    if cluster_scope or not is_cluster_scoped(group, resource):
        return False
    honoured = NAMESPACE_CHECKED.get(resource.split("/", 1)[0], ())
    return not honoured if verb == "*" else verb not in honoured


def rbac_escalation_pairs(rules: Iterable[Rule], cluster_scope: bool) -> list[tuple[str, str, str, str]]:
    """The RBAC escalations these rules hold on their own scope, whatever roles exist there.

    (verb, role resource, write verb, resource written): `bind` on a role kind with `create` / `update` /
    `patch` on the bindings that can reference it on this scope, or `escalate` with `update` / `patch` on
    the same role kind (a role already bound can be widened). Names must not be restricted: resourceNames
    leave only the named roles, which CAN_GRANT edges weigh against the roles that exist. A
    ClusterRoleBinding's rolebindings and roles reach namespaces, not the cluster (CAN_GRANT edges).
    """
    rules = list(rules)

    def allowed(verb: str, resource: str) -> bool:
        return any(rule.allows(verb, RBAC_GROUP, resource) for rule in rules)

    if cluster_scope:
        candidates = [("bind", "clusterroles", WRITE_BINDING, "clusterrolebindings"),
                      ("escalate", "clusterroles", WRITE_ROLE, "clusterroles")]
    else:
        candidates = [("bind", "roles", WRITE_BINDING, "rolebindings"),
                      ("bind", "clusterroles", WRITE_BINDING, "rolebindings"),
                      ("escalate", "roles", WRITE_ROLE, "roles")]
    pairs = []
    for verb, role_kind, write_verbs, written in candidates:
        if allowed(verb, role_kind):
            pairs.extend((verb, role_kind, w, written) for w in write_verbs if allowed(w, written))
    return pairs


def _atom_level(verb: str, group: str, resource: str, rule: Rule, cluster_scope: bool,
                admin_atoms: set[tuple[str, str]]) -> str | None:
    """The level one verb grants on one (group, resource) of a rule, on the scope it is bound to."""
    if _bound_scope_drops(group, resource, verb, cluster_scope):
        return None  # a RoleBinding cannot authorise a cluster-scoped resource
    verb = _action_verb(verb, group, resource, cluster_scope)  # `*` there is its one honoured verb
    if group in (RBAC_GROUP, "*") and not rule.resource_names and any(
            verb in (v, "*") and resource in (r, "*") for v, r in admin_atoms):
        return "admin"  # half of bind + write bindings, or of escalate + update roles
    if verb in ("*", "impersonate") and cluster_scope and group in (CORE, "*") \
            and resource in ("users", "groups", "*") and (not rule.resource_names or MASTERS in rule.resource_names):
        return "admin"  # unrestricted user / group impersonation reaches system:masters
    if verb == "*":
        if resource == "*":
            return "admin"  # cluster-admin / namespace-admin equivalent
        if _impersonation_only(group, resource):
            return None  # impersonate is their only verb: named targets become CAN_ASSUME edges
        return "write"
    if verb in RBAC_ESCALATION_VERBS:
        # Without the binding / role write it pairs with, bind or escalate changes nothing by itself.
        return "write" if group in (RBAC_GROUP, "*") and resource in ("roles", "clusterroles", "*") else None
    if verb == "impersonate":
        return None  # service accounts and named users / groups: CAN_ASSUME edges to the real targets
    if verb in WRITE_VERBS:
        return "write"
    if verb in READ_VERBS or verb in HARMLESS_VERBS:
        return "read"
    return "write"  # approve, sign, proxy, custom verbs: treat as changing state


def _impersonation_only(group: str, resource: str) -> bool:
    base = resource.split("/", 1)[0]
    return any(group in (g, "*") and r == base for g, r in IMPERSONATION_ONLY)


def _action_verb(verb: str, group: str, resource: str, cluster_scope: bool) -> str:
    """Under a RoleBinding, `*` on clusterroles is only `bind` (psp: `use`); the action says so."""
    honoured = NAMESPACE_CHECKED.get(resource.split("/", 1)[0], ())
    if verb == "*" and not cluster_scope and is_cluster_scoped(group, resource) and len(honoured) == 1:
        return honoured[0]
    return verb


def classify(rules: Iterable[Rule], cluster_scope: bool) -> tuple[str | None, list[str]]:
    """Highest level the rules grant on their scope, and a sample of actions (highest first).

    Each (verb, apiGroup, resource) of each rule counts on its own: under a RoleBinding, rules on
    cluster-scoped resources grant nothing and are not listed; `bind` / `escalate` are admin only with
    the write they pair with (rbac_escalation_pairs).
    """
    rules = list(rules)
    pairs = rbac_escalation_pairs(rules, cluster_scope)
    admin_atoms = {(verb, role_kind) for verb, role_kind, _, _ in pairs} | {(w, r) for _, _, w, r in pairs}
    # Sorted by level, then round-robin over rules, so the sample shows the variety of the role.
    ranked: list[tuple[int, int, int, str]] = []
    best: str | None = None

    def add(level: str, text: str, position: int, rule_index: int) -> None:
        nonlocal best
        if best is None or LEVEL_RANK[level] > LEVEL_RANK[best]:
            best = level
        ranked.append((-LEVEL_RANK[level], position, rule_index, text))

    for rule_index, rule in enumerate(rules):
        position = 0
        suffix = f" ({', '.join(sorted(rule.resource_names))})" if rule.resource_names else ""
        for verb in sorted(rule.verbs):
            if rule.non_resource_urls and not rule.resources:
                if not cluster_scope:
                    continue  # nonResourceURLs are honoured only through ClusterRoleBindings
                level = "read" if verb in NON_RESOURCE_READ_VERBS else "write"
                for url in sorted(rule.non_resource_urls):
                    add(level, f"{verb} {url}", position, rule_index)
                    position += 1
                continue
            # `impersonate *` is impersonation of users and groups (service accounts: CAN_ASSUME edges)
            resources = ("users", "groups") if verb == "impersonate" and "*" in rule.resources else rule.resources
            for resource in sorted(resources):
                for group in sorted(rule.api_groups) or [CORE]:
                    level = _atom_level(verb, group, resource, rule, cluster_scope, admin_atoms)
                    if level is None:
                        continue
                    shown = _action_verb(verb, group, resource, cluster_scope)
                    add(level, f"{shown} {_qualified(group, resource)}{suffix}", position, rule_index)
                    position += 1
    actions: list[str] = []
    for *_, text in sorted(ranked):
        if text not in actions:
            actions.append(text)
        if len(actions) == MAX_ACTIONS:
            break
    return best, actions
