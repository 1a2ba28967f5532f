"""The path engine compiled from a snapshot's Arrow tables is the engine compiled from the graph.

`PathEngine.from_tables(nodes, edges, policy)` reads a version 2 snapshot's two tables without networkx;
`PathEngine(graph, policy)` walks the graph the snapshot holds. On the sample organisation, the synthetic
organisation and seeded random graphs (every edge kind, parallel edges, self loops, disabled and expired
nodes, tri-state MFA, composition, odd attribute types), both must have the same ids, classification,
compiled arrays, edges (numbered alike), entries, gap paths and blast radius (assert_same_engine), and
`edge_judgement` must say per edge table row what the graph engine's `traversable` / `mfa_free` say.
Values are compared with their types (True is not 1, an int is not a numpy int).
"""

from __future__ import annotations

import copy
import random
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pyarrow as pa
import pytest

from graph import snapshot_arrow
from graph.bulk import Graph
from graph.schema import CREDENTIAL_KINDS, EDGE_ENDPOINTS, TRAVERSED_EDGES, EdgeKind, Family
from graph.snapshot import read_tables, write_snapshot
from queries.paths import PathEngine
from queries.policy import Policy, load_policy

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data" / "samples"
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
SEEDS = range(40)
_TRAVERSED = frozenset(str(kind) for kind in TRAVERSED_EDGES)


# -- comparing two engines ---------------------------------------------------------------------------------

def _typed(value: Any) -> Any:
    """`value` with every scalar's type beside it: 1 == True == np.int64(1), but not to a reader."""
    if isinstance(value, dict):
        return {key: _typed(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_typed(item) for item in value]
    return (type(value).__name__, value)


def _same(a: Any, b: Any, what: str) -> None:
    assert _typed(a) == _typed(b), f"{what} differs:\n graph:  {a!r}\n tables: {b!r}"


def blast_ids(ids: list[str]) -> list[str]:
    """Every 7th id, fewer on a large graph (about 80 at most)."""
    return ids[::max(7, len(ids) // 80)]


def assert_same_engine(a: PathEngine, b: PathEngine) -> None:
    """Everything the engine built from the graph (`a`) has and answers, the engine built from the tables
    (`b`) has and answers alike."""
    assert b.graph is None
    _same(a.ids, b.ids, "ids")
    _same(a.usable, b.usable, "usable")
    _same(a.human, b.human, "human")
    _same(a.edge_count, b.edge_count, "edge_count")
    for name in ("free_from", "free_to", "free_edge"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert len(a.access_columns) == len(b.access_columns) == 6
    for column, (x, y) in enumerate(zip(a.access_columns, b.access_columns, strict=True)):
        assert np.array_equal(x, y), f"access_columns[{column}]"
    for part, (x, y) in enumerate(zip(a._into, b._into, strict=True)):
        assert np.array_equal(x, y), f"_into[{part}]"
    _same(a.auth_out, b.auth_out, "auth_out")
    assert bytes(a.signed_in_by_other) == bytes(b.signed_in_by_other), "signed_in_by_other"
    _same([list(row) for row in a.access], [list(row) for row in b.access], "access")
    assert len(a.edges) == len(b.edges), "len(edges)"
    for number in range(len(a.edges)):
        _same(a.edges[number], b.edges[number], f"edges[{number}]")
    _same(a.permission_grants, b.permission_grants, "permission_grants")
    _same(a.derived_access, b.derived_access, "derived_access")
    _same([vars(e) for e in a.entries()], [vars(e) for e in b.entries()], "entries()")
    gaps_a, gaps_b = a.gap_paths(), b.gap_paths()
    assert len(gaps_a) == len(gaps_b), f"gap_paths: {len(gaps_a)} from the graph, {len(gaps_b)} from the tables"
    for at, (x, y) in enumerate(zip(gaps_a, gaps_b, strict=True)):
        for field in fields(x):
            value_a, value_b = getattr(x, field.name), getattr(y, field.name)
            if field.name == "entry":
                value_a, value_b = vars(value_a), vars(value_b)
            _same(value_a, value_b, f"gap_paths()[{at}].{field.name} (entry {a.ids[x.entry.node]})")
    for node_id in blast_ids(a.ids):
        _same(a.blast_radius(node_id), b.blast_radius(node_id), f"blast_radius({node_id!r})")


# -- tables of a graph, both ways --------------------------------------------------------------------------

def arrow_tables(graph: nx.MultiDiGraph) -> tuple[pa.Table, pa.Table]:
    """The snapshot's two tables made in memory (graph.snapshot_arrow)."""
    nodes, index = snapshot_arrow.node_table(graph)
    return nodes, snapshot_arrow.edge_table(graph, index)


def snapshot_tables(graph: nx.MultiDiGraph, folder: Path) -> tuple[pa.Table, pa.Table]:
    """The tables as real code reads them: a written snapshot, memory-mapped back (read_tables)."""
    path = write_snapshot(folder / "snapshot.arrow", graph, {})
    return read_tables(path)[:2]


def engines(graph: nx.MultiDiGraph, tables: tuple[pa.Table, pa.Table],
            policy: Policy) -> tuple[PathEngine, PathEngine]:
    return PathEngine(graph, policy), PathEngine.from_tables(*tables, policy)


def assert_edge_judgement(graph: nx.MultiDiGraph, a: PathEngine, b: PathEngine, edges: pa.Table) -> None:
    """Per edge table row (graph.edges(keys=True, data=True) order): the graph engine's judgement."""
    traversable, mfa_free = b.edge_judgement
    rows = list(graph.edges(keys=True, data=True))
    assert isinstance(traversable, np.ndarray) and isinstance(mfa_free, np.ndarray)
    assert traversable.dtype == np.bool_ and mfa_free.dtype == np.bool_
    assert len(traversable) == len(mfa_free) == len(rows) == edges.num_rows
    expected_traversable = [a.traversable(a.index[u], a.index[v], data["kind"], data) for u, v, _, data in rows]
    expected_free = [PathEngine.mfa_free(data["kind"], data) if data["kind"] in _TRAVERSED else True
                     for _, _, _, data in rows]
    for row, (u, v, key, _) in enumerate(rows):
        assert bool(traversable[row]) is expected_traversable[row], f"traversable of row {row}: {u} -> {v} {key}"
        assert bool(mfa_free[row]) is expected_free[row], f"mfa_free of row {row}: {u} -> {v} {key}"


# -- random graphs -----------------------------------------------------------------------------------------

PROVIDERS = ("aws", "entra", "gcp", "k8s", "postgres", "mysql")
SCOPE_KINDS = ("account", "project", "subscription", "cluster", "server", "folder", "organization", "namespace")
RESOURCE_KINDS = ("Bucket", "bucket", "table", "database", "vm", "secret", "topic")
EDGE_KINDS = [str(kind) for kind in EdgeKind]
TECHNIQUES = ("T1078", "T1098", "T1550", "T1552")


def _maybe(rng: random.Random, props: dict[str, Any], key: str, values: tuple, absent: float = 0.3) -> None:
    """Set `key` to one of `values`, or leave it absent."""
    if rng.random() >= absent:
        props[key] = rng.choice(values)


def _tri(odd: bool) -> tuple:
    """Values an MFA-like flag takes; odd graphs add strings and numbers (the engine reads `is True`)."""
    return (True, False, None, "yes", 0, 1) if odd else (True, False, None)


class RandomOrg:
    """A seeded random graph built directly (not through the builder): every family and edge kind, with
    a planted human gap and a planted composition (permission write + act-as) most of the time."""

    def __init__(self, seed: int):
        self.rng = rng = random.Random(seed)
        self.odd = seed % 5 == 3  # attribute values of mixed or unusual types
        self.big = seed % 8 == 7  # enough rows that rare attributes go to the snapshot's `_extra`
        self.with_id = seed % 6 != 5  # nodes carry their `id` (as the builder's do) or not
        self.nodes: dict[str, dict[str, Any]] = {}
        self.edges: list[tuple[str, str, str, dict[str, Any]]] = []
        self.scopes: list[str] = []
        self.resources: list[str] = []
        self.identities: list[str] = []
        self.credentials: list[str] = []
        self.people: list[str] = []
        scale = 8 if self.big else 1
        for pool, make, low, high in ((self.scopes, self._scope, 1, 4), (self.resources, self._resource, 3, 12),
                                      (self.identities, self._identity, 5, 16),
                                      (self.credentials, self._credential, 2, 9)):
            for i in range(rng.randrange(low, high) * scale):
                pool.append(make(i))
        for i in range(rng.randrange(0, 3)):
            self.people.append(self._node(f"person:p{i}@example.com", Family.PERSON, "Person", "external", f"p{i}"))
        for _ in range(rng.randrange(20, 60) * scale):
            self._random_edge()
        if rng.random() < 0.8:
            self._plant_gap()
        if rng.random() < 0.7:
            self._plant_composition()
        for _ in range(len(self.edges) // 10):  # parallel edges: same ends, another via
            u, v, _, data = rng.choice(self.edges)
            self._edge(u, v, data["kind"], {k: val for k, val in data.items() if k not in ("kind", "via")},
                       via=f"parallel {rng.randrange(1000)}")
        if self.big:  # one edge of a kind no other edge has: fewer than 1 row in 100, kept in `_extra`
            rng.choice(self.edges)[3]["rare_flag"] = True

    # nodes

    def _node(self, node_id: str, family: Family, kind: str, provider: str, name: str, scope: str = "",
              **props: Any) -> str:
        data = {"id": node_id} if self.with_id else {}
        data.update(family=str(family), kind=kind, provider=provider, name=name, scope=scope, **props)
        self.nodes[node_id] = data
        return node_id

    def _name(self, stem: str) -> str:
        return f"{self.rng.choice(('prod', 'dev', 'core', 'live', 'staging', 'shared', 'pre-prod'))}-{stem}"

    def _scope(self, i: int) -> str:
        rng = self.rng
        provider = rng.choice(PROVIDERS)
        props: dict[str, Any] = {}
        _maybe(rng, props, "environment", ("prod", "nonprod", "unknown", None), absent=0.6)
        _maybe(rng, props, "tags", (["env=prod"], ["stage=dev"], [], ["owner=team-a"]), absent=0.7)
        above = ""
        if i and rng.random() < 0.5:  # a scope inside another (project in folder), sometimes a cycle
            above = f"{provider}:scope/{rng.randrange(i + 1)}"
        return self._node(f"{provider}:scope/{i}", Family.RESOURCE, rng.choice(SCOPE_KINDS), provider,
                          self._name(f"scope{i}"), above, **props)

    def _resource(self, i: int) -> str:
        rng = self.rng
        provider = rng.choice(PROVIDERS)
        props: dict[str, Any] = {}
        _maybe(rng, props, "environment", ("prod", "nonprod", None), absent=0.6)
        _maybe(rng, props, "sensitivity", ("high", "critical", "low", None), absent=0.7)
        _maybe(rng, props, "labels", (["env=production"], ["tier=gold"]), absent=0.8)
        if self.resources and rng.random() < 0.2:
            props["parent"] = rng.choice(self.resources)
        scope = rng.choice(self.scopes) if rng.random() < 0.8 else ""
        return self._node(f"{provider}:res/{i}", Family.RESOURCE, rng.choice(RESOURCE_KINDS), provider,
                          self._name(f"res{i}"), scope, **props)

    def _identity(self, i: int) -> str:
        rng = self.rng
        kind = rng.choice(("User", "User", "Role", "Group", "ServiceIdentity"))
        provider = rng.choice(PROVIDERS)
        props: dict[str, Any] = {}
        if kind == "User":
            props["human"] = rng.random() < 0.85 if not self.odd else rng.choice((True, False, "yes", 1, None))
        else:
            _maybe(rng, props, "human", (False, True), absent=0.5)
        _maybe(rng, props, "mfa", _tri(self.odd), absent=0.3)
        _maybe(rng, props, "enabled", (False, True) + ((0, "no") if self.odd else ()), absent=0.8)
        _maybe(rng, props, "expired", (True, False) + (("yes", 0) if self.odd else ()), absent=0.9)
        if kind == "Group":
            _maybe(rng, props, "members_known", (False, True) + ((0,) if self.odd else ()), absent=0.4)
        if kind == "Role" and rng.random() < 0.2:
            props["hub"] = True
        scope = rng.choice(self.scopes) if rng.random() < 0.5 else ""
        # ids that sort unlike the order of insertion, one of them not ASCII
        name = f"{kind.lower()}-{i}" if i % 7 else f"Zoë-{i}"
        return self._node(f"{provider}:{kind.lower()}/{name}", Family.IDENTITY, kind, provider, name, scope, **props)

    def _credential(self, i: int) -> str:
        rng = self.rng
        provider = rng.choice(PROVIDERS)
        props: dict[str, Any] = {}
        _maybe(rng, props, "age_days", (5, 30, 89, 91, 400, None) + ((120.5,) if self.odd else ()), absent=0.3)
        _maybe(rng, props, "expires", ("2027-01-01T00:00:00Z", None), absent=0.4)
        _maybe(rng, props, "enabled", (False, True), absent=0.8)
        _maybe(rng, props, "expired", (True, False), absent=0.9)
        return self._node(f"{provider}:key/k{i}", Family.CREDENTIAL, rng.choice(sorted(CREDENTIAL_KINDS)), provider,
                          f"k{i}", "", **props)

    # edges

    def _of(self, families: set[Family]) -> list[str]:
        pools = {Family.IDENTITY: self.identities, Family.RESOURCE: self.scopes + self.resources,
                 Family.CREDENTIAL: self.credentials, Family.PERSON: self.people}
        return [node for family in families for node in pools[family]]

    def _edge(self, u: str, v: str, kind: str, props: dict[str, Any], via: str | None = None) -> None:
        via = via if via is not None else f"via {self.rng.randrange(3)}"
        self.edges.append((u, v, f"{kind}|{via}", {"kind": kind, "via": via, **props}))

    def _random_edge(self) -> None:
        rng = self.rng
        kind = rng.choice(EDGE_KINDS + ["HAS_PERMISSION", "CAN_ASSUME", "MEMBER_OF", "AUTHENTICATES", "CUSTOM_EDGE"])
        sources, targets = EDGE_ENDPOINTS.get(kind, ({Family.IDENTITY}, {Family.IDENTITY, Family.RESOURCE}))
        pool_u, pool_v = self._of(set(sources)), self._of(set(targets))
        if rng.random() < 0.05 or not pool_u or not pool_v:  # ends of the wrong families: the engine copes
            pool_u = pool_v = list(self.nodes)
        u = rng.choice(pool_u)
        v = u if (rng.random() < 0.06 and u in pool_v) else rng.choice(pool_v)  # self loops
        odd = self.odd
        props: dict[str, Any] = {}
        if kind == "HAS_PERMISSION":
            _maybe(rng, props, "level", ("read", "write", "admin", "write", "admin") + (("owner", None) if odd else ()),
                   absent=0.05)
            _maybe(rng, props, "mfa_required", _tri(odd), absent=0.5)
            _maybe(rng, props, "derived", (True,) + (("yes", 0) if odd else ()), absent=0.85)
            _maybe(rng, props, "conditions", ([], ["aws:SourceIp"]), absent=0.7)
        elif kind == "AUTHENTICATES":
            _maybe(rng, props, "mfa", _tri(odd), absent=0.3)
        else:
            _maybe(rng, props, "mfa_required", _tri(odd), absent=0.4)
            _maybe(rng, props, "mfa", _tri(odd), absent=0.9)  # read only on AUTHENTICATES
        if kind == "FEDERATES_TO":
            _maybe(rng, props, "verified", _tri(odd), absent=0.3)
        if kind == "CAN_GRANT":
            scope_ids = self.scopes + (["nowhere:scope/x", "", self.identities[0]] if self.identities else [])
            _maybe(rng, props, "grant_scope", tuple(scope_ids) + ((None,) if odd else ()), absent=0.4)
        _maybe(rng, props, "techniques", (["T1078"], list(TECHNIQUES[:rng.randrange(1, 4)]), []), absent=0.6)
        self._edge(u, v, kind, props)

    def _plant_gap(self) -> None:
        """A human without MFA who assumes a role with write on a prod resource."""
        rng = self.rng
        user = self._node(f"aws:user/planted-{rng.randrange(100)}", Family.IDENTITY, "User", "aws", "planted",
                          human=True, mfa=rng.choice((False, None)))
        role = rng.choice(self.identities)
        target = self._node("aws:res/planted-bucket", Family.RESOURCE, "bucket", "aws", "planted-bucket",
                            rng.choice(self.scopes), environment="prod")
        self.resources.append(target)
        self._edge(user, role, "CAN_ASSUME", {"mfa_required": False})
        self._edge(role, target, "HAS_PERMISSION", {"level": rng.choice(("write", "admin"))})
        key = rng.choice(self.credentials)  # and a key that signs in as the user: a credential entry
        if rng.random() < 0.5:
            self._edge(key, user, "AUTHENTICATES", {"mfa": False})

    def _plant_composition(self) -> None:
        """A holder that can write a role's permissions (CAN_GRANT with grant_scope an account) and can act
        as it: admin over the account, composed."""
        rng = self.rng
        account = self._node(f"aws:account/{rng.randrange(10**6):06d}", Family.RESOURCE, "account", "aws",
                             "acct", "")
        self.scopes.append(account)
        holder, target = rng.choice(self.identities), rng.choice(self.identities)
        self._edge(holder, target, "CAN_GRANT", {"grant_scope": account, "mfa_required": False,
                                                 "techniques": ["T1098"]}, via="iam:PutRolePolicy")
        if holder != target and rng.random() < 0.8:
            self._edge(holder, target, "CAN_ASSUME", {"mfa_required": False}, via="trust")
        user = self._node(f"entra:user/composer-{rng.randrange(100)}", Family.IDENTITY, "User", "entra", "composer",
                          human=True, mfa=False)
        self._edge(user, holder, "MEMBER_OF", {}, via="member")

    def graph(self) -> Graph:
        """Nodes and edges in a shuffled order: the snapshot numbers nodes as inserted, the engine by id."""
        rng = self.rng
        graph = Graph()
        order = list(self.nodes)
        rng.shuffle(order)
        graph.add_nodes_from((node_id, self.nodes[node_id]) for node_id in order)
        edges = list(self.edges)
        rng.shuffle(edges)
        for u, v, key, data in edges:  # a repeated key updates the edge, as the builder's graphs do
            graph.add_edge(u, v, key=key, **data)
        return graph


def random_graph(seed: int) -> Graph:
    return RandomOrg(seed).graph()


def other_policy() -> Policy:
    """The default policy with every knob the engine reads turned: overrides of human / machine, MFA for
    machines too, a shorter key age, a sensitive glob, a prod id, no environment inherited from scopes."""
    raw = copy.deepcopy(load_policy().raw)
    raw["identities"] = {"humans": ["*role/role-1*", "*serviceidentity*"], "machines": ["*user/user-2*"]}
    raw["rules"]["require_mfa"]["applies_to"] = "all"
    raw["rules"]["max_key_age"]["max_age_days"] = 30
    raw["sensitive"]["name_globs"] = ["*res3*"]
    raw["environment"]["prod"]["ids"] = ["gcp:res/1", "aws:res/2"]
    raw["environment"]["inherit_from_scope"] = False
    return Policy(raw, "test: other")


def policy_for(seed: int) -> Policy:
    return other_policy() if seed % 4 == 1 else load_policy()


# -- the organisations -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sample_graph() -> nx.MultiDiGraph:
    from crosspath.pipeline import collect_folder, read_manifest, resolve_as_of
    from graph.builder import build_graph

    return build_graph(collect_folder(SAMPLES), resolve_as_of(None, read_manifest(SAMPLES))).graph


@pytest.fixture(scope="module")
def synthetic_graph() -> nx.MultiDiGraph:
    from bench.synthetic_org import generate
    from graph.builder import build_graph

    return build_graph(generate(1500), AS_OF).graph


def test_sample_organisation_from_arrow_tables(sample_graph):
    tables = arrow_tables(sample_graph)
    a, b = engines(sample_graph, tables, load_policy())
    assert a.gap_paths() and a.permission_grants and a.derived_access  # not vacuous
    assert_same_engine(a, b)
    assert_edge_judgement(sample_graph, a, b, tables[1])


def test_sample_organisation_from_a_written_snapshot(sample_graph, tmp_path):
    tables = snapshot_tables(sample_graph, tmp_path)
    a, b = engines(sample_graph, tables, load_policy())
    assert_same_engine(a, b)
    assert_edge_judgement(sample_graph, a, b, tables[1])


def test_sample_organisation_under_another_policy(sample_graph, tmp_path):
    tables = snapshot_tables(sample_graph, tmp_path)
    a, b = engines(sample_graph, tables, other_policy())
    assert a.gap_paths()
    assert_same_engine(a, b)


def test_synthetic_organisation_from_a_written_snapshot(synthetic_graph, tmp_path):
    tables = snapshot_tables(synthetic_graph, tmp_path)
    a, b = engines(synthetic_graph, tables, load_policy())
    assert len(a.gap_paths()) > 10 and a.derived_access
    assert_same_engine(a, b)
    assert_edge_judgement(synthetic_graph, a, b, tables[1])


@pytest.mark.parametrize("seed", SEEDS)
def test_random_graph_from_arrow_tables(seed):
    graph = random_graph(seed)
    tables = arrow_tables(graph)
    a, b = engines(graph, tables, policy_for(seed))
    assert_same_engine(a, b)
    assert_edge_judgement(graph, a, b, tables[1])


@pytest.mark.parametrize("seed", SEEDS[::4])
def test_random_graph_from_a_written_snapshot(seed, tmp_path):
    graph = random_graph(seed)
    tables = snapshot_tables(graph, tmp_path)
    a, b = engines(graph, tables, policy_for(seed))
    assert_same_engine(a, b)
    assert_edge_judgement(graph, a, b, tables[1])


def test_the_random_graphs_are_not_vacuous():
    """Most seeds have gap paths, and some compose admin out of a permission write (the accesses the
    engine derives): counted on the graphs themselves, whichever tests ran before."""
    gaps = derived = composed = grants = 0
    for seed in SEEDS:
        engine = PathEngine(random_graph(seed), policy_for(seed))
        gaps += bool(engine.gap_paths())
        derived += bool(engine.derived_access)
        composed += any(data.get("composed") for _, _, data in engine.derived_access)
        grants += bool(engine.permission_grants)
    assert gaps >= 0.75 * len(SEEDS), gaps
    assert grants >= 0.5 * len(SEEDS), grants
    assert derived >= 0.4 * len(SEEDS) and composed >= 0.25 * len(SEEDS), (derived, composed)


def test_random_graphs_cover_every_edge_kind_and_shape():
    kinds, parallel, loops = set(), 0, 0
    for seed in SEEDS:
        graph = random_graph(seed)
        kinds |= {data["kind"] for _, _, data in graph.edges(data=True)}
        parallel += sum(graph.number_of_edges(u, v) > 1 for u, v in set(graph.edges()))
        loops += nx.number_of_selfloops(graph)
    assert {str(kind) for kind in EdgeKind} <= kinds and "CUSTOM_EDGE" in kinds
    assert parallel > 100 and loops > 20


# -- a change seen by both ---------------------------------------------------------------------------------

def _credential_gap(engine: PathEngine):
    """A credential entry that signs in on its path and whose gap is only its missing MFA (not a long-lived
    key)."""
    return next((gap for gap in engine.gap_paths() if gap.entry.is_credential and gap.no_mfa
                 and not gap.long_lived and gap.edges[0][2]["kind"] == "AUTHENTICATES"), None)


def test_mfa_on_the_sign_in_of_a_gap_closes_it_in_both_engines(tmp_path):
    for seed in SEEDS:
        graph = random_graph(seed)
        a, b = engines(graph, arrow_tables(graph), policy_for(seed))
        gap = _credential_gap(a)
        if gap is not None:
            break
    else:
        pytest.fail("no random graph has a credential gap without a long-lived key")
    key = a.ids[gap.entry.node]
    assert gap.edges[0][0] == key
    assert key in {b.ids[g.entry.node] for g in b.gap_paths()}  # present in both
    for _, target, data in graph.out_edges(key, data=True):  # every sign-in of the key now demands MFA
        if data["kind"] == "AUTHENTICATES":
            data["mfa"] = True
    changed, changed_tables = engines(graph, snapshot_tables(graph, tmp_path), policy_for(seed))
    assert_same_engine(changed, changed_tables)
    for engine in (changed, changed_tables):  # absent in both
        assert key not in {engine.ids[g.entry.node] for g in engine.gap_paths()}, f"seed {seed}"
        entry = next(e for e in engine.entries() if engine.ids[e.node] == key)
        assert entry.mfa is True


def test_an_unverified_federation_changes_both_engines_alike():
    """Every FEDERATES_TO of a graph refused (`verified` false): the same edges drop out of both."""
    for seed in SEEDS:
        graph = random_graph(seed)
        federations = [data for _, _, data in graph.edges(data=True) if data["kind"] == "FEDERATES_TO"]
        before = PathEngine(graph, policy_for(seed))
        if not any(d.get("verified") is not False for d in federations) or not before.gap_paths():
            continue
        for data in federations:
            data["verified"] = False
        tables = arrow_tables(graph)
        a, b = engines(graph, tables, policy_for(seed))
        assert_same_engine(a, b)
        assert_edge_judgement(graph, a, b, tables[1])
        assert len(a.edges) < len(before.edges), f"seed {seed}"
        return
    pytest.fail("no random graph has a federation that is not refused")


# -- analysis on an engine of tables --------------------------------------------------------------------

def _findings(graph: nx.MultiDiGraph | None, engine: PathEngine) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from queries.analysis import analyze

    analysis = analyze(graph, {}, engine.policy, [], AS_OF, engine=engine)
    return analysis.to_dict()["findings"], analysis.stats


def test_an_analysis_of_tables_is_the_analysis_of_the_graph(sample_graph, tmp_path):
    """Findings (ids, paths, titles, owners) and statistics, with no networkx graph at all."""
    a, b = engines(sample_graph, snapshot_tables(sample_graph, tmp_path), load_policy())
    by_graph, by_tables = _findings(sample_graph, a), _findings(None, b)
    assert by_tables == by_graph
    sources = {finding["owner_source"].split(" on ")[0] for finding in by_graph[0]}
    assert "owners of the Entra application" in sources and any(s.startswith("tag ") for s in sources)


def test_an_application_owner_is_read_from_the_tables_as_from_the_graph(sample_graph, tmp_path):
    """Absent case: without the owner's CAN_CREATE_CREDENTIAL edge neither engine names the owner."""
    from queries.owners import APP_OWNER_TECHNIQUE

    graph = copy.deepcopy(sample_graph)
    owned = [(u, v, key) for u, v, key, data in graph.edges(keys=True, data=True)
             if APP_OWNER_TECHNIQUE in (data.get("techniques") or ())]
    assert owned
    graph.remove_edges_from(owned)
    a, b = engines(graph, snapshot_tables(graph, tmp_path), load_policy())
    by_graph, by_tables = _findings(graph, a), _findings(None, b)
    assert by_tables == by_graph
    assert "owners of the Entra application" not in {finding["owner_source"] for finding in by_graph[0]}


def test_an_analysis_of_the_synthetic_organisation_from_tables(synthetic_graph, tmp_path):
    a, b = engines(synthetic_graph, snapshot_tables(synthetic_graph, tmp_path), load_policy())
    by_graph = _findings(synthetic_graph, a)
    assert len(by_graph[0]) > 10
    assert _findings(None, b) == by_graph


def test_the_reading_example_of_docs_snapshot_md_runs(tmp_path, monkeypatch):
    """docs/snapshot.md's Reading block, run as shown on a scan's output: its engine is the graph's."""
    from crosspath.pipeline import scan

    text = (ROOT / "docs" / "snapshot.md").read_text(encoding="utf-8")
    block = text.split("## Reading", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    scan(SAMPLES, tmp_path / "crosspath-out", exceptions_path=SAMPLES / "exceptions.yaml", top_fixes=0)
    monkeypatch.chdir(tmp_path)
    shown: dict[str, Any] = {}
    exec(compile(block, "docs/snapshot.md", "exec"), shown)  # noqa: S102 - the documented example itself
    assert shown["engine"].graph is None and shown["metadata"]["tool_version"]
    assert_same_engine(PathEngine(shown["graph"], load_policy()), shown["engine"])


@pytest.mark.parametrize(("mfa", "entry_mfa", "gaps"), [(True, True, 0), (False, False, 1), (None, None, 1),
                                                         (1, None, 1), (0, None, 1), ("yes", None, 1)])
def test_a_sign_in_reads_its_mfa_as_its_path_does(mfa, entry_mfa, gaps, tmp_path):
    """Only True is MFA, for the entry as for the path it starts: a value that is not a boolean (records
    validation refuses it) is unknown, so the path is a gap whose entry's MFA is unknown, in both engines."""
    graph = Graph()
    graph.add_node("aws:key/k", id="aws:key/k", family="Credential", kind="access_key", provider="aws", name="k",
                   scope="", age_days=5, expires="2027-01-01T00:00:00Z")
    graph.add_node("aws:user/u", id="aws:user/u", family="Identity", kind="User", provider="aws", name="u", scope="",
                   human=True)
    graph.add_node("aws:res/b", id="aws:res/b", family="Resource", kind="bucket", provider="aws", name="b", scope="",
                   environment="prod")
    graph.add_edge("aws:key/k", "aws:user/u", key="AUTHENTICATES|key", kind="AUTHENTICATES", via="key", mfa=mfa)
    graph.add_edge("aws:user/u", "aws:res/b", key="HAS_PERMISSION|p", kind="HAS_PERMISSION", via="p", level="admin")
    a, b = engines(graph, snapshot_tables(graph, tmp_path), load_policy())
    assert_same_engine(a, b)
    assert [entry.mfa for entry in a.entries() if entry.is_credential] == [entry_mfa]
    assert len(a.gap_paths()) == gaps


def _damaged_snapshot(graph: nx.MultiDiGraph, path: Path, monkeypatch) -> Path:
    """A snapshot whose CRCs hold but whose node table lost its `_extra` values, while a row's shape still
    names an attribute kept there: what only reading the records finds."""
    graph = copy.deepcopy(graph)
    graph.nodes[min(graph.nodes)]["rare_node_flag"] = True  # rare: kept in `_extra`
    whole = snapshot_arrow.node_table

    def damaged(graph: nx.MultiDiGraph):
        table, index = whole(graph)
        column = table.column_names.index(snapshot_arrow.EXTRA)
        return table.set_column(column, snapshot_arrow.EXTRA, pa.nulls(table.num_rows, pa.binary())), index

    with monkeypatch.context() as patched:
        patched.setattr(snapshot_arrow, "node_table", damaged)
        return write_snapshot(path, graph, {"collected_at": "2026-11-01T00:00:00Z"})


def test_a_damaged_table_is_one_clear_error_for_every_reader_of_tables(sample_graph, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from crosspath.cli import main
    from crosspath.pipeline import analyse_snapshot
    from graph.snapshot import SnapshotError
    from graph.stores.embedded import store_data
    from graph.stores.errors import CypherError

    path = _damaged_snapshot(sample_graph, tmp_path / "damaged.arrow", monkeypatch)
    read_tables(path)  # the checks read_tables makes pass: the damage is in a value
    for analyse in (lambda: analyse_snapshot(path, None, None), lambda: store_data(path, load_policy())):
        with pytest.raises((SnapshotError, CypherError), match="damaged.arrow: not a readable snapshot"):
            analyse()
    ran = CliRunner().invoke(main, ["report", "--snapshot", str(path), "--out", str(tmp_path / "out"),
                                    "--top-fixes", "0"])
    assert ran.exit_code == 1 and "damaged.arrow: not a readable snapshot" in ran.output
    assert ran.exception is None or isinstance(ran.exception, SystemExit)
