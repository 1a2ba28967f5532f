"""Small hand-built organisations for engine, builder and report tests."""

from __future__ import annotations

from datetime import UTC, datetime

from graph.builder import build_graph
from graph.coverage import CollectResult
from graph.records import edge, node
from queries.analysis import analyze
from queries.environment import Environments
from queries.findings import Analysis
from queries.policy import load_policy

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


class Org:
    """Collects records across providers, then builds and analyses them like a scan would."""

    def __init__(self) -> None:
        self.results: dict[str, CollectResult] = {}

    def _result(self, provider: str) -> CollectResult:
        return self.results.setdefault(provider, CollectResult(provider))

    def add(self, record: dict) -> dict:
        provider = record.get("provider") or record["source"].split(":", 1)[0]
        target = self._result(provider)
        (target.nodes if "id" in record else target.edges).append(record)
        return record

    def human(self, node_id: str, mfa: bool | None, **props) -> str:
        provider = node_id.split(":", 1)[0]
        self.add(node(node_id, "Identity", "User", provider, node_id.rsplit("/", 1)[-1], "", human=True,
                      mfa=mfa, **props))
        return node_id

    def identity(self, node_id: str, kind: str = "Role", **props) -> str:
        provider = node_id.split(":", 1)[0]
        props.setdefault("human", False)
        self.add(node(node_id, "Identity", kind, provider, node_id.rsplit("/", 1)[-1], "", **props))
        return node_id

    def key(self, node_id: str, owner: str, created: str | None, expires: str | None = None,
            kind: str = "access_key", mfa: bool = False, **props) -> str:
        provider = node_id.split(":", 1)[0]
        self.add(node(node_id, "Credential", kind, provider, node_id.rsplit("/", 1)[-1], "", created=created,
                      expires=expires, **props))
        self.add(edge(node_id, owner, "AUTHENTICATES", "key", mfa=mfa))
        return node_id

    def resource(self, node_id: str, environment: str = "prod", kind: str = "bucket", scope: str = "") -> str:
        provider = node_id.split(":", 1)[0]
        self.add(node(node_id, "Resource", kind, provider, node_id.rsplit("/", 1)[-1], scope,
                      environment=environment))
        return node_id

    def link(self, source: str, target: str, kind: str = "CAN_ASSUME", mfa_required: bool = False, **props):
        self.add(edge(source, target, kind, f"{kind} {source}->{target}", mfa_required=mfa_required, **props))

    def grant(self, source: str, target: str, level: str = "write", **props):
        self.add(edge(source, target, "HAS_PERMISSION", f"grant {level} on {target}", level=level, **props))

    def build(self):
        return build_graph(list(self.results.values()), AS_OF)

    def analyze(self, policy_path=None, exceptions=()) -> Analysis:
        build = self.build()
        return analyze(build.graph, {}, load_policy(policy_path), list(exceptions), AS_OF)


def by_entry(analysis: Analysis) -> dict[str, object]:
    return {finding.entry["id"]: finding for finding in analysis.findings}


def environments(records, policy_path=None) -> Environments:
    """The environment the policy (default or `policy_path`) gives each record: `env(node_id)`.
    Collectors leave it to the policy, so this is what the engine, reports and Cypher see."""
    return Environments.of_records(records, load_policy(policy_path))
