"""Where a resource's environment comes from: the policy decides, for every source alike.

Collectors pass on tags, labels and names, and state an environment only when their source has a
field meant for it (a database server's configured `environment`). The policy's precedence
(README "Policy", `default_policy.yaml`), first answer wins:

1. the policy's `ids`, then its tag rules: they override anything a collector stated;
2. the environment the source stated;
3. for a scope of a `from_contents.kinds` kind (GCP organization, folder): the environments
   (1, 2, 4) of the `from_contents.of` resources beneath it (projects): prod when any is prod,
   a write bound on the folder reaching them; nonprod when all are nonprod;
4. words of the name, then name globs;
5. the scope's environment (account, project, cluster, server, ...), if `inherit_from_scope`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from graph.schema import Family
from queries.policy import Policy

ENVIRONMENTS = ("prod", "nonprod")


class Environments:
    """Policy-decided environments of the resources of one graph (or one list of records)."""

    def __init__(self, nodes: Callable[[str], Mapping[str, Any] | None], ids: Iterable[str], policy: Policy):
        self._node = nodes
        self._ids = ids
        self.policy = policy
        self._own: dict[str, str] = {}
        self._resolved: dict[str, str] = {}
        self._contents: dict[str, list[str]] | None = None
        self._scope_kinds, self._content_kinds = policy.environment_from_contents

    @classmethod
    def of_records(cls, records: Iterable[Mapping[str, Any]], policy: Policy) -> Environments:
        by_id = {record["id"]: record for record in records if "id" in record}
        return cls(by_id.get, list(by_id), policy)

    @classmethod
    def of_graph(cls, graph: Any, policy: Policy) -> Environments:
        return cls(lambda node_id: graph.nodes[node_id] if node_id in graph else None, graph.nodes, policy)

    # -- the steps ------------------------------------------------------------------------------

    def own(self, node_id: str) -> str:
        """Steps 1, 2 and 4: the resource alone, without its contents or its scope."""
        if node_id not in self._own:
            data = self._node(node_id) or {}
            tags = list(data.get("tags") or []) + list(data.get("labels") or [])
            self._own[node_id] = self.policy.environment_of(
                node_id, str(data.get("name", "")), tags, stated=data.get("environment"))
        return self._own[node_id]

    def _from_contents(self, node_id: str) -> str | None:
        if self._contents is None:
            self._contents = {}
            for ident in self._ids:
                data = self._node(ident) or {}
                if data.get("family") != Family.RESOURCE or data.get("kind") not in self._content_kinds:
                    continue
                env = self.own(ident)
                seen: set[str] = set()
                parent = data.get("scope") or ""
                while parent and parent not in seen and (above := self._node(parent)) is not None:
                    seen.add(parent)
                    if above.get("kind") in self._scope_kinds:
                        self._contents.setdefault(parent, []).append(env)
                    parent = above.get("scope") or ""
        below = self._contents.get(node_id)
        if not below:
            return None
        if "prod" in below:
            return "prod"
        return "nonprod" if all(env == "nonprod" for env in below) else None

    def __call__(self, node_id: str) -> str:
        """The resource's environment after all five steps."""
        if node_id in self._resolved:
            return self._resolved[node_id]
        data = self._node(node_id) or {}
        tags = list(data.get("tags") or []) + list(data.get("labels") or [])
        stated = data.get("environment")
        env = self.policy.rule_environment(node_id, tags) or (stated if stated in ENVIRONMENTS else None)
        if env is None and data.get("kind") in self._scope_kinds:
            env = self._from_contents(node_id)
        env = env or self.policy.name_environment(str(data.get("name", ""))) or "unknown"
        self._resolved[node_id] = env  # set before recursing: scope cycles end here
        if env == "unknown" and self.policy.inherit_environment:
            scope = data.get("scope") or ""
            if scope and scope != node_id and self._node(scope) is not None:
                env = self(scope)
                self._resolved[node_id] = env
        return env
