"""Who owns a finding: the team the report, the notification and the SLA are for (docs/owners.md).

The first of these that answers, else `unowned`:

1. the policy's `owners.rules` (globs on the entry id, the target id and the entry's name, and a team);
2. a tag or label whose key is one of `owners.tag_keys` (default owner, team) on the entry, its identity,
   the identity's scopes (a Kubernetes namespace, then its cluster; a GCP project, then its folders; an AWS
   account), then the target and its scopes: the nearest, most specific answer first;
3. the owners of the Entra application whose secret the entry is (their CAN_CREATE_CREDENTIAL edges).

An unowned finding is the seed of every "nobody thought to protect it" gap: the reports count them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from graph.schema import EdgeKind

if TYPE_CHECKING:
    from queries.paths import PathEngine

UNOWNED = "unowned"
APP_OWNER_TECHNIQUE = "entra.applications.add-secret-by-owner"  # collectors/entra/transform.py


@dataclass(frozen=True)
class Owner:
    team: str
    source: str  # how it was decided, for the report: "rule 2", "tag team=payments on namespace payments", ...


@dataclass(frozen=True)
class OwnerRules:
    tag_keys: tuple[str, ...]
    rules: tuple[dict[str, str], ...]

    @classmethod
    def of(cls, raw: dict[str, Any]) -> OwnerRules:
        return cls(tuple(str(key).lower() for key in raw.get("tag_keys") or ()),
                   tuple({key: str(value) for key, value in rule.items()} for rule in raw.get("rules") or ()))


def _rule_matches(rule: dict[str, str], entry: dict[str, Any], target: dict[str, Any]) -> bool:
    checks = (("entry", entry["id"]), ("target", target["id"]), ("name", entry["name"]))
    return all(fnmatchcase(value, rule[key]) for key, value in checks if key in rule)


def _scopes(nodes: Mapping[str, dict[str, Any]], node_id: str) -> list[str]:
    """The node, its Kubernetes namespace, then its scope, its scope's scope ... (no cycles, at most 8)."""
    chain, current = [], node_id
    while current and current in nodes and current not in chain and len(chain) < 8:
        chain.append(current)
        data = nodes[current]
        namespace = f"{data.get('scope')}/ns/{data['namespace']}" if data.get("namespace") else ""
        if namespace in nodes and namespace not in chain:
            chain.append(namespace)
        current = data.get("scope") or ""
    return chain


def _tag(data: dict[str, Any], keys: tuple[str, ...]) -> tuple[str, str] | None:
    tags = data.get("tags") or []
    pairs = {}
    for tag in tags:
        key, _, value = str(tag).partition("=")
        if value:
            pairs.setdefault(key.lower(), value)
    return next(((key, pairs[key]) for key in keys if key in pairs), None)


def _app_owners(engine: PathEngine, identity: str) -> list[str]:
    names = []
    for source, data in engine.edges_into(identity, EdgeKind.CAN_CREATE_CREDENTIAL):
        if APP_OWNER_TECHNIQUE in (data.get("techniques") or ()):
            owner = engine.nodes[source]
            names.append(str(owner.get("email") or owner.get("upn") or owner.get("name") or source))
    return sorted(set(names))


class OwnerFinder:
    """Owners of the findings of one graph (`engine`'s nodes and edges_into), under one set of rules: each
    node's owner tag and scope chain is read once, however many findings pass through it."""

    def __init__(self, engine: PathEngine, rules: OwnerRules):
        self.engine = engine
        self.rules = rules
        self._scopes: dict[str, list[str]] = {}
        self._tags: dict[str, tuple[str, str] | None] = {}

    def scopes(self, node_id: str) -> list[str]:
        found = self._scopes.get(node_id)
        if found is None:
            found = self._scopes[node_id] = _scopes(self.engine.nodes, node_id)
        return found

    def tag(self, node_id: str) -> tuple[str, str] | None:
        if node_id not in self._tags:
            self._tags[node_id] = _tag(self.engine.nodes[node_id], self.rules.tag_keys)
        return self._tags[node_id]

    def owner(self, entry: dict[str, Any], target: dict[str, Any]) -> Owner:
        """The owner of one finding (its entry and target dicts)."""
        for number, rule in enumerate(self.rules.rules, 1):
            if _rule_matches(rule, entry, target):
                return Owner(rule["team"], f"owners rule {number}")
        nodes = self.engine.nodes
        places = [entry["id"], *self.scopes(entry["identity"]), *self.scopes(target["id"])]
        for node_id in dict.fromkeys(places):
            if node_id in nodes and (found := self.tag(node_id)):
                node = nodes[node_id]
                return Owner(found[1], f"tag {found[0]}={found[1]} on {node.get('kind', '')} "
                                       f"{node.get('name', node_id)}")
        if entry["provider"] == "entra" and (owners := _app_owners(self.engine, entry["identity"])):
            return Owner(", ".join(owners), "owners of the Entra application")
        return Owner(UNOWNED, "no owners rule, owner tag or application owner")
