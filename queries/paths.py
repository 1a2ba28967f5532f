"""The path engine: privileged write paths, in time linear in the graph.

A gap path starts at an entry (an enabled credential, or a human's interactive
sign-in), follows Authentication and Transfer edges that do not demand MFA, and
ends with a HAS_PERMISSION of a privileged level on a privileged resource.

How it stays near-linear:
1. Compiling walks the graph's edges once and keeps what paths use as integer
   arrays: the MFA-free transfer edges and the privileged accesses.
2. One reverse breadth-first search from every privileged target at once over
   the MFA-free subgraph gives each node its distance to the nearest target and
   the next edge on that shortest path (O(V + E), level by level on the arrays:
   queries/path_arrays.py).
3. Each entry is classified from its own facts (human? MFA? key age?) and its
   path is read off the next-edge pointers (O(path length)).
4. How many targets an entry reaches is counted on the condensation of the
   reachable subgraph (scipy's strongly connected components), each component's
   targets united level by level: a frozenset while few, a Python-int bitset
   once many.
5. A change (a top fix to verify) is judged on the same arrays with what it
   takes away masked out, without compiling again (entry_paths_without).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace
from itertools import chain
from typing import Any

import networkx as nx
import numpy as np
import pyarrow as pa

from graph import snapshot_arrow as arrow
from graph.schema import LEVEL_RANK, LEVELS, TRAVERSED_EDGES, EdgeKind, Family
from queries import edge_facts, path_arrays
from queries.environment import Environments
from queries.policy import Policy

INF = path_arrays.INF
_AUTH = str(EdgeKind.AUTHENTICATES)
_ACCESS = str(EdgeKind.HAS_PERMISSION)
_FEDERATES = str(EdgeKind.FEDERATES_TO)
_GRANT = str(EdgeKind.CAN_GRANT)
_RESOURCE = str(Family.RESOURCE)
_TRAVERSED = frozenset(str(kind) for kind in TRAVERSED_EDGES)
_KIND_CODE = edge_facts.KIND_CODE
_ACCESS_CODE, _AUTH_CODE, _GRANT_CODE, _FEDERATES_CODE = (_KIND_CODE[kind] for kind in (_ACCESS, _AUTH, _GRANT, _FEDERATES))
_TRAVERSED_CODES = [_KIND_CODE[kind] for kind in sorted(_TRAVERSED)]
_INTO_IDENTITY_CODES = [_AUTH_CODE, _FEDERATES_CODE]  # an identity signed in to by another node
_ADMIN_CODE = edge_facts.LEVEL_CODE["admin"]

# Severity class of a privileged target: 3 scope admin, 2 admin, 1 write.
SCOPE_ADMIN, ADMIN, WRITE = 3, 2, 1


@dataclass(frozen=True)
class Without:
    """A change to judge on an engine's compiled arrays (PathEngine.entry_paths_without), in its numbers:
    edges gone, edges that now demand MFA (an AUTHENTICATES `mfa`, a transfer's `mfa_required`), nodes gone
    (with every edge they have), sign-ins that now have MFA (a person's `mfa`)."""

    edges: frozenset[int] = frozenset()
    mfa_edges: frozenset[int] = frozenset()
    nodes: frozenset[int] = frozenset()
    mfa_nodes: frozenset[int] = frozenset()

    def __or__(self, other: Without) -> Without:
        return Without(self.edges | other.edges, self.mfa_edges | other.mfa_edges, self.nodes | other.nodes,
                       self.mfa_nodes | other.mfa_nodes)


@dataclass
class Entry:
    node: int
    identity: int
    human: bool
    mfa: bool | None
    is_credential: bool
    members_unknown: bool = False  # a group whose members the export cannot show: it stands for them


@dataclass
class EntryPath:
    """An entry that has a gap, its shortest gap path, and why it is a gap."""

    entry: Entry
    edges: list[tuple[str, str, dict[str, Any]]]  # (source id, target id, edge data), entry first
    no_mfa: bool
    long_lived: bool


@dataclass
class GapPath(EntryPath):
    """One entry's gap: the facts the findings layer turns into a Finding (its path and what it reaches)."""

    targets_count: int
    targets_by_provider: dict[str, int]
    max_class: int


class CompiledEdges:
    """The edges an engine compiled, by number: (source node, target node, the edge's attribute dict). The
    numbers' ends are lists (`u`, `v`); the dict is the graph's own, or, on an engine of a snapshot's
    tables, built on first use (edge_facts); `made` holds the ones the engine makes (derived accesses)."""

    def __init__(self, u: list[int], v: list[int], facts: list[int], data, prefetch):
        self.u, self.v = u, v
        self._facts = facts  # edge number -> its fact number, -1 for an edge the engine made
        self._data, self._prefetch = data, prefetch
        self.made: dict[int, dict[str, Any]] = {}

    def __len__(self) -> int:
        return len(self.u)

    def __getitem__(self, number: int) -> tuple[int, int, dict[str, Any]]:
        fact = self._facts[number]
        return self.u[number], self.v[number], self._data(fact) if fact >= 0 else self.made[number]

    def __iter__(self):
        self.prefetch(range(len(self.u)))
        return (self[number] for number in range(len(self.u)))

    def prefetch(self, numbers: Iterable[int]) -> None:
        """Build the attribute dicts of these edges in one pass (an engine of tables)."""
        facts = self._facts
        self._prefetch(np.array([facts[number] for number in numbers if facts[number] >= 0], dtype=np.int64))

    def append(self, edge: tuple[int, int, dict[str, Any]]) -> None:
        self.u.append(edge[0])
        self.v.append(edge[1])
        self._facts.append(-1)
        self.made[len(self.u) - 1] = edge[2]


class PathEngine:
    """Policy-aware view of one graph: classifies nodes once, answers path questions."""

    def __init__(self, graph: nx.MultiDiGraph | None, policy: Policy, nodes: set[str] | None = None,
                 classes: dict[tuple[str, str], int] | None = None, tables: tuple[pa.Table, pa.Table] | None = None):
        """`nodes`: judge only the subgraph these nodes induce (their edges among themselves), as
        `PathEngine(graph.subgraph(nodes), policy)` would, without networkx's filtering views. Its edges
        are walked by source id (a subgraph view's order follows a set's), so where two paths are equally
        short the one kept may differ from the whole graph's; which entries have a gap does not.
        `classes`: target classes by (resource id, level) shared by engines on versions of one graph whose
        resources, and everything their environments are decided from, are the same (queries/fixes.py's
        verifications): each pair is decided once for all of them, and kept there.
        `tables`: compile a snapshot's (nodes, edges) tables instead of `graph` (None): from_tables."""
        if tables is not None:
            if graph is not None or nodes is not None:
                raise ValueError("an engine compiles a graph (and some of its nodes) or a snapshot's tables, not both")
            ids = arrow.python_values(tables[0].column("id"))
            self._setup(None, policy, dict(zip(ids, arrow.records(tables[0], "nodes"), strict=True)), classes)
            number_of_row = np.fromiter(map(self.index.__getitem__, ids), np.int64, len(ids))
            self._compile(edge_facts.from_tables(tables[1], number_of_row, policy.privileged_levels))
            return
        # id -> the graph's own attribute dict
        attributes = graph.nodes
        node_data: dict[str, dict[str, Any]] = (
            dict(graph.nodes(data=True)) if nodes is None
            else {node_id: attributes[node_id] for node_id in sorted(nodes) if node_id in attributes})
        self._setup(graph, policy, node_data, classes)
        self._compile(edge_facts.from_graph(graph, self.index, policy.privileged_levels,
                                            None if nodes is None else self.ids))

    @classmethod
    def from_tables(cls, nodes: pa.Table, edges: pa.Table, policy: Policy) -> PathEngine:
        """The engine of a version 2 snapshot's tables (graph.snapshot.read_tables), without a networkx
        graph (`graph` is None): the same judgement, ids, edge numbers and paths as on the graph the
        snapshot holds. `edge_judgement` says, per edge table row, what `traversable` says and, for the kinds a
        path follows, what `mfa_free` says (True for the others). An edge's attribute dict is built when
        asked for (a path, a finding): walks over every edge's dict (blast_radius, WriteAccess) belong on a
        graph's engine."""
        return cls(None, policy, tables=(nodes, edges))

    def _setup(self, graph: nx.MultiDiGraph | None, policy: Policy, node_data: dict[str, dict[str, Any]],
               classes: dict[tuple[str, str], int] | None) -> None:
        self.graph = graph
        self.policy = policy
        self.nodes = node_data  # id -> attribute dict
        self.ids: list[str] = sorted(node_data)
        self.index = {node_id: i for i, node_id in enumerate(self.ids)}
        self.data: list[dict[str, Any]] = [node_data[node_id] for node_id in self.ids]
        identities = policy.raw["identities"]
        if identities["humans"] or identities["machines"]:
            self.human = [self._human(i) for i in range(len(self.ids))]
        else:  # no override can match: the node's own `human`, as _human would say
            self.human = [bool(data.get("human")) for data in self.data]
        self.usable = [self._usable(d) for d in self.data]
        # Same lookups as Environments.of_graph, on the engine's view of the nodes (no NodeView per call).
        self.environments = Environments(node_data.get, node_data, policy)
        self._target_classes: dict[tuple[int, str], int] = {}
        self._shared_classes = classes
        self.edge_count = 0  # edges of the graph, counted while compiling (analysis stats)
        self._entries: list[Entry] | None = None
        self._forward: dict[bool, dict[int, list[int]]] = {}
        self._within: dict[int, list[int]] = {}
        self._contained: dict[int, list[int]] | None = None
        self._edge_numbers: dict[int, int] | None = None
        self._composition_parties: set[int] | None = None
        self._entry_of: dict[int, Entry] | None = None
        self._gap_paths: list[GapPath] | None = None
        self._into_by_kind: dict[int, dict[int, list[int]]] = {}

    # -- classification ---------------------------------------------------------------

    def _human(self, i: int) -> bool:
        override = self.policy.human_override(self.ids[i])
        return bool(self.data[i].get("human")) if override is None else override

    @staticmethod
    def _usable(data: dict[str, Any]) -> bool:
        return data.get("enabled") is not False and not data.get("expired")

    def environment(self, i: int) -> str:
        """The resource's environment as the policy decides it (queries/environment.py)."""
        return self.environments(self.ids[i])

    def within(self, i: int) -> list[int]:
        """The scopes that contain node i, nearest first: its `parent` (a table's database), else its
        `scope` (a bucket's account, a project's folder, a namespace's cluster), and theirs upward."""
        if i not in self._within:
            self._within[i] = []  # set before climbing: a cycle of scopes ends here
            data = self.data[i]
            up = self.index.get(data.get("parent") or data.get("scope") or "")
            if up is not None and up != i and self.data[up].get("family") == _RESOURCE:
                self._within[i] = [up, *(s for s in self.within(up) if s != i)]
        return self._within[i]

    def contained(self, scope: int) -> list[int]:
        """Every resource inside `scope`, at any depth (the inverse of `within`)."""
        if self._contained is None:
            self._contained = {}
            for i, data in enumerate(self.data):
                if data.get("family") == _RESOURCE:
                    for up in self.within(i):
                        self._contained.setdefault(up, []).append(i)
        return self._contained.get(scope, [])

    def target_class(self, resource: int, level: str) -> int:
        """0 when not a privileged target at this level, else its severity class (a function of the
        resource, the level and the policy: decided once per pair)."""
        key = (resource, level)
        found = self._target_classes.get(key)
        if found is None:
            if self._shared_classes is None:
                found = self._target_class(resource, level)
            else:
                shared = (self.ids[resource], level)
                found = self._shared_classes.get(shared)
                if found is None:
                    found = self._shared_classes[shared] = self._target_class(resource, level)
            self._target_classes[key] = found
        return found

    def classes_by_id(self) -> dict[tuple[str, str], int]:
        """Every target class decided so far, by (resource id, level): what engines on versions of this
        graph may share (`classes`)."""
        decided = list(self._target_classes.items())  # a copy first: a shared engine may decide more meanwhile
        return {(self.ids[resource], level): found for (resource, level), found in decided}

    def _target_class(self, resource: int, level: str) -> int:
        data = self.data[resource]
        kind = str(data.get("kind", ""))
        sensitive = self.policy.is_sensitive(self.ids[resource], str(data.get("name", "")), data.get("sensitivity"))
        if not self.policy.is_privileged_target(kind, self.environment(resource), sensitive, level):
            return 0
        if level == "admin":
            scope_kinds = self.policy.raw["privileged"]["scope_admin_kinds"]
            return SCOPE_ADMIN if kind in scope_kinds else ADMIN
        return WRITE

    # -- edge judgement (public: the graph stores and the dashboard read it, never re-implement it) ----

    @staticmethod
    def mfa_free(kind: str, data: dict[str, Any]) -> bool:
        """Can a path cross this Authentication / Transfer edge without a second factor?"""
        if kind == _AUTH:
            return data.get("mfa") is not True
        return data.get("mfa_required") is not True

    def traversable(self, u: int, v: int, kind: str, data: dict[str, Any]) -> bool:
        """Does a path follow this edge between node numbers u and v (both usable, a traversed kind,
        and, for FEDERATES_TO, not refused by the target's trust)?"""
        if kind not in _TRAVERSED or not (self.usable[u] and self.usable[v]):
            return False
        if kind == _GRANT and data.get("grant_scope"):
            return False  # a policy write on the target does not make the holder the target: see _compose
        return not (kind == _FEDERATES and data.get("verified") is False)

    # -- compilation --------------------------------------------------------------------

    def _compile(self, facts: edge_facts.EdgeFacts) -> None:
        """Judge every edge at once on its columns (queries/edge_facts.py): which are privileged accesses,
        which a path follows and which of those need no MFA. Edges are numbered in the graph's edge order,
        the admin a grant on a scope gives right after its CAN_GRANT; composition adds the last."""
        n = len(self.ids)
        levels = self.policy.privileged_levels
        usable = np.asarray(self.usable, dtype=bool)
        self._facts = facts
        u, v, kind = facts.u, facts.v, facts.kind
        self.edge_count = facts.count
        signed = np.zeros(n, dtype=np.uint8)
        signed[v[np.isin(kind, _INTO_IDENTITY_CODES)]] = 1
        self.signed_in_by_other = bytearray(signed.tobytes())  # identity has AUTHENTICATES / FEDERATES_TO into it
        privileged = [edge_facts.LEVEL_CODE[level] for level in levels]
        access = ((kind == _ACCESS_CODE) & np.isin(facts.level, privileged) & usable[u]
                  & (facts.mfa_required != edge_facts.TRUE))
        mfa_free = np.where(kind == _AUTH_CODE, facts.mfa != edge_facts.TRUE, facts.mfa_required != edge_facts.TRUE)
        both_usable = usable[u] & usable[v]
        scoped_grant = (kind == _GRANT_CODE) & facts.grant_scope
        # A policy write on the target does not make the holder the target: composed (_compose), not followed.
        followed_kind = np.isin(kind, _TRAVERSED_CODES)
        traversed = (followed_kind & both_usable & ~scoped_grant
                     & ~((kind == _FEDERATES_CODE) & (facts.verified == edge_facts.FALSE)))
        if facts.rows is not None:  # from_tables: per edge table row, traversable and (followed kinds) mfa_free
            self.edge_judgement = (np.zeros(facts.count, dtype=bool), np.ones(facts.count, dtype=bool))
            self.edge_judgement[0][facts.rows] = traversed
            self.edge_judgement[1][facts.rows[followed_kind]] = mfa_free[followed_kind]
        access_class = np.zeros(len(kind), dtype=np.int64)
        access_class[access] = self._classes(v[access], facts.level[access])
        access &= access_class > 0
        # The power to grant any role on a scope (bind a role, setIamPolicy) is admin over it.
        granted_class = np.zeros(len(kind), dtype=np.int64)
        if "admin" in levels:
            resource = np.fromiter((data.get("family") == _RESOURCE for data in self.data), bool, n)
            granted = traversed & mfa_free & (kind == _GRANT_CODE) & resource[v]
            granted_class[granted] = self._classes(v[granted], np.full(int(granted.sum()), _ADMIN_CODE))
        granted = granted_class > 0
        slots = access.astype(np.int64) + traversed + granted
        number = np.cumsum(slots) - slots  # each fact's own edge number (where it has one)
        kept = np.flatnonzero(access | traversed)
        numbers = np.concatenate([number[kept], number[granted] + 1])
        order = np.argsort(numbers, kind="stable")
        facts_of = np.concatenate([kept, np.flatnonzero(granted)])[order]
        self.edges = CompiledEdges(u[facts_of].tolist(), v[facts_of].tolist(),
                                   np.where(order < len(kept), facts_of, -1).tolist(), facts.data, facts.prefetch)
        # Policy writes on identities (CAN_GRANT with `grant_scope`): not followed, composed (_compose).
        written = np.flatnonzero(scoped_grant & both_usable & mfa_free)
        facts.prefetch(written)
        self.permission_grants: list[tuple[int, int, dict[str, Any]]] = [
            (a, b, facts.data(at)) for a, b, at in zip(u[written].tolist(), v[written].tolist(), written.tolist(),
                                                         strict=True)]
        facts.prefetch(np.flatnonzero(granted | (access & facts.derived)))  # their dicts are read below
        for at in np.flatnonzero(granted).tolist():  # the derived admin's edge, right after its CAN_GRANT
            data = facts.data(at)
            self.edges.made[int(number[at]) + 1] = {
                **data, "kind": _ACCESS, "level": "admin", "granted_by": _GRANT, "derived": True,
                "via": f"{data.get('via', '')} (can grant itself any role there)"}
        # every privileged access: (holder, resource, edge number, class, level rank, the graph edge it stands
        # on: its own, a CAN_GRANT's for the admin a grant on a scope gives, -1 for a composed one); _access_arrays
        ranks = np.array([LEVEL_RANK[level] for level in LEVELS], dtype=np.int64)
        own = np.flatnonzero(access)
        given = np.flatnonzero(granted)
        table = np.concatenate([
            np.stack([u[own], v[own], number[own], access_class[own], ranks[facts.level[own]], number[own]], axis=1),
            np.stack([u[given], v[given], number[given] + 1, granted_class[given],
                      np.full(len(given), LEVEL_RANK["admin"]), number[given]], axis=1)]).reshape(-1, 6)
        table = table[np.argsort(table[:, 2], kind="stable")]
        self._access_base = table
        self._access_rows: list[tuple[int, int, int, int, int, int]] = []  # composition's, after the base
        self.access: list[list[tuple[int, int, int]]] = [[] for _ in range(n)]  # (resource, edge, class)
        access_lists = self.access
        for holder, target, edge_no, target_class in table[:, :4].tolist():
            access_lists[holder].append((target, edge_no, target_class))
        # HAS_PERMISSION edges the engine derives (grant on a scope, composition): the stores add them.
        derived = np.zeros(len(self.edges), dtype=bool)
        derived[number[access & facts.derived]] = True
        derived[number[granted] + 1] = True
        self.derived_access: list[tuple[str, str, dict[str, Any]]] = [
            (self.ids[holder], self.ids[target], self.edges[edge_no][2])
            for holder, target, edge_no in table[derived[table[:, 2]], :3].tolist()]
        followed = np.flatnonzero(traversed)
        self.auth_out: list[list[int]] = [[] for _ in range(n)]  # credential -> AUTHENTICATES edges
        self._auth_mfa: dict[int, bool | None] = {}  # AUTHENTICATES edge -> its `mfa` (True, False, None)
        tri = {edge_facts.TRUE: True, edge_facts.FALSE: False, edge_facts.OTHER: None}
        signs_in = followed[kind[followed] == _AUTH_CODE]
        for holder, edge_no, mfa in zip(u[signs_in].tolist(), number[signs_in].tolist(), facts.mfa[signs_in].tolist(),
                                        strict=True):
            self.auth_out[holder].append(edge_no)
            self._auth_mfa[edge_no] = tri[mfa]
        free = followed[mfa_free[followed]]
        self.free_from, self.free_to, self.free_edge = u[free], v[free], number[free]
        # transfer edges by number, and which need no MFA (blast radius: _forward_adjacency)
        self._transfers = (number[followed], u[followed], mfa_free[followed])
        # reversed: row v lists the u with an MFA-free transfer edge u -> v, and its number, in edge order
        self._into = path_arrays.by_row(n, self.free_to, self.free_from, self.free_edge)
        self._radj: list[list[tuple[int, int]]] | None = None
        self._compose()
        self.access_columns = self._access_arrays()  # final: composition adds the last
        del self._access_rows, self._access_base
        is_access = np.zeros(len(self.edges), dtype=bool)
        is_access[self.access_columns[2]] = True
        self._is_access = is_access.tolist()
        # each holder's best access, where its paths end (path_arrays.nearest_access): _reverse_search's sources
        self._nearest = path_arrays.nearest_access(*self.access_columns[:5])

    def edges_into(self, node_id: str, kind: str) -> list[tuple[str, dict[str, Any]]]:
        """(source id, attribute dict) of every edge of this kind into the node, followed or not: a kind the
        engine reads (edge_facts), such as CAN_CREATE_CREDENTIAL for queries/owners.py."""
        code = _KIND_CODE[kind]
        facts = self._facts
        if code not in self._into_by_kind:
            found: dict[int, list[int]] = {}
            numbers = np.flatnonzero(facts.kind == code)
            facts.prefetch(numbers)
            for target, number in zip(facts.v[numbers].tolist(), numbers.tolist(), strict=True):
                found.setdefault(target, []).append(number)
            self._into_by_kind[code] = found
        at = self.index.get(node_id)
        return [(self.ids[facts.u[number]], facts.data(number)) for number in self._into_by_kind[code].get(at, ())]

    def _classes(self, resources: np.ndarray, levels: np.ndarray) -> np.ndarray:
        """target_class of each (resource, level code) pair, decided once per distinct pair."""
        if not len(resources):
            return np.zeros(0, dtype=np.int64)
        pairs, inverse = np.unique(resources.astype(np.int64) * len(LEVELS) + levels, return_inverse=True)
        decided = np.array([self.target_class(resource, LEVELS[level])
                            for resource, level in (divmod(pair, len(LEVELS)) for pair in pairs.tolist())],
                           dtype=np.int64)
        return decided[inverse.reshape(-1)]

    @property
    def radj(self) -> list[list[tuple[int, int]]]:
        """Per node v: (u, edge number) of each MFA-free transfer edge u -> v, in edge order (lists, for
        the searches that run per node: composition, tests)."""
        if self._radj is None:
            pointers, into, numbers = self._into
            into_list, numbers_list = into.tolist(), numbers.tolist()
            bounds = pointers.tolist()
            self._radj = [list(zip(into_list[bounds[v]:bounds[v + 1]], numbers_list[bounds[v]:bounds[v + 1]],
                                   strict=True)) for v in range(len(self.ids))]
        return self._radj

    def _add_access(self, u: int, v: int, data: dict[str, Any], basis: int) -> None:
        """A composed access (_compose), numbered after every edge compiled."""
        target_class = self.target_class(v, data["level"])
        if target_class:
            self.edges.append((u, v, data))
            self.access[u].append((v, len(self.edges) - 1, target_class))
            self._access_rows.append((u, v, len(self.edges) - 1, target_class, LEVEL_RANK[data["level"]], basis))
            if data.get("derived"):
                self.derived_access.append((self.ids[u], self.ids[v], data))

    # -- composition: change an identity's permissions + act as it = admin over its scope -----

    def _compose(self) -> None:
        """An identity that can write the permissions of identity T (a CAN_GRANT carrying `grant_scope`,
        held by itself or by anything it acts as) and can act as T (is T, or reaches it over MFA-free
        transfer edges) is admin over T's scope (`grant_scope`, e.g. T's AWS account).

        One pass over the strongly connected components of the MFA-free act-as graph, with one bit
        per target identity: acts[x] = targets x can act as, holds[x] = targets whose permissions x can
        write. Where acts & holds first becomes non-empty, x gets a composed admin access to the scope,
        so everything acting as x reaches it too."""
        if not self.permission_grants:
            return
        grants = self.permission_grants
        hubs = {t for _, t, _ in grants if self.data[t].get("hub")}
        bit_of: dict[int, int] = {}
        scope_of_bit: list[int] = []
        holds_own: dict[int, int] = {}
        grant_edge_of: dict[tuple[int, int], int] = {}  # (holder or hub, bit) -> index in grants
        for edge_no, (holder, target, data) in enumerate(grants):
            if target in hubs:
                continue
            scope = self.index.get(data["grant_scope"])
            if scope is None:
                continue
            if target not in bit_of:
                bit_of[target] = len(scope_of_bit)
                scope_of_bit.append(scope)
            holds_own[holder] = holds_own.get(holder, 0) | (1 << bit_of[target])
            grant_edge_of.setdefault((holder, bit_of[target]), edge_no)
        for edge_no, (holder, hub, _) in enumerate(grants):  # a grant on a hub is a grant on its set
            if hub in hubs and hub in holds_own:
                holds_own[holder] = holds_own.get(holder, 0) | holds_own[hub]
                for bit in _bits(holds_own[hub]):
                    grant_edge_of.setdefault((holder, bit), edge_no)
        if not bit_of:
            return
        relevant = self._ancestors(set(bit_of) | set(holds_own))
        forward: list[list[int]] = [[] for _ in self.ids]  # act-as edges among the relevant nodes
        radj = self.radj
        for v in relevant:
            for u, _ in radj[v]:
                if u in relevant:
                    forward[u].append(v)
        acts: dict[int, int] = {}
        holds: dict[int, int] = {}
        composed: dict[int, int] = {}
        for component in _components(sorted(relevant), forward):
            members = set(component)
            act_bits = 0
            hold_bits = 0
            below = 0
            for member in component:
                if member in bit_of:
                    act_bits |= 1 << bit_of[member]
                hold_bits |= holds_own.get(member, 0)
                for child in forward[member]:
                    if child not in members and child in acts:
                        act_bits |= acts[child]
                        hold_bits |= holds[child]
                        below |= composed[child]
            both = act_bits & hold_bits
            for member in component:
                acts[member], holds[member], composed[member] = act_bits, hold_bits, both
            new = both & ~below
            if new:
                target_of_bit = {bit: target for target, bit in bit_of.items()}
                for member in component:
                    for bit in self._one_bit_per_scope(new, scope_of_bit):
                        holder = self._nearest_holder(member, bit, holds_own, forward)
                        self._add_composed_access(member, target_of_bit[bit], scope_of_bit[bit],
                                                  grant_edge_of[(holder, bit)])

    def _ancestors(self, starts: set[int]) -> set[int]:
        """Every node that reaches one of `starts` over MFA-free transfer edges (starts included)."""
        seen = set(starts)
        queue = deque(starts)
        radj = self.radj
        while queue:
            v = queue.popleft()
            for u, _ in radj[v]:
                if u not in seen:
                    seen.add(u)
                    queue.append(u)
        return seen

    @staticmethod
    def _one_bit_per_scope(bits: int, scope_of_bit: list[int]) -> list[int]:
        by_scope: dict[int, int] = {}
        for bit in _bits(bits):
            by_scope.setdefault(scope_of_bit[bit], bit)
        return list(by_scope.values())

    @staticmethod
    def _nearest_holder(start: int, bit: int, holds_own: dict[int, int], forward: list[list[int]]) -> int:
        """The nearest node `start` acts as that holds the grant for `bit` (it exists: holds[start] has it)."""
        mask = 1 << bit
        seen = {start}
        queue = deque([start])
        while queue:
            u = queue.popleft()
            if holds_own.get(u, 0) & mask:
                return u
            for v in forward[u]:
                if v not in seen:
                    seen.add(v)
                    queue.append(v)
        raise AssertionError("composition bit without a holder")

    def _add_composed_access(self, node: int, target: int, scope: int, grant: int) -> None:
        holder, _, grant_data = self.permission_grants[grant]
        name = self.data[target].get("name") or self.ids[target]
        holder_text = "itself" if holder == node else (self.data[holder].get("name") or self.ids[holder])
        self._add_access(node, scope, {
            "kind": _ACCESS, "level": "admin", "mfa_required": False, "conditions": [], "composed": True,
            "derived": True,
            "techniques": list(grant_data.get("techniques") or []), "grant_target": self.ids[target],
            "via": (f"composition: can change the permissions of {name} (grant held by {holder_text}: "
                    f"{grant_data.get('via', '')}) and can act as it, so it can make {name} admin here"),
        }, -1)

    # -- the reverse search -------------------------------------------------------------

    def _access_arrays(self) -> tuple[np.ndarray, ...]:
        """Every privileged access as arrays, in edge order: holder, resource, edge number, class, level rank
        (what nearest_access takes), and the graph edge it stands on."""
        flat = np.fromiter(chain.from_iterable(self._access_rows), dtype=np.int64, count=6 * len(self._access_rows))
        table = np.concatenate([self._access_base, flat.reshape(-1, 6)])
        return tuple(table[:, column] for column in range(6))

    def _reverse_search(self) -> tuple[np.ndarray, np.ndarray]:
        """Each node's distance to its nearest privileged access over MFA-free transfer edges (INF when it
        has none) and the edge its shortest path leaves by: at a holder, its best access
        (path_arrays.nearest_access), else the transfer edge a FIFO search from the holders found first."""
        holders, first_edges = self._nearest
        pointers, into, numbers = self._into
        return path_arrays.reverse_search(len(self.ids), pointers, holders, first_edges, into, numbers)

    # -- reach counting -----------------------------------------------------------------

    def _reach(self, dist: np.ndarray, needed: np.ndarray) -> tuple[list[Any], list[int], list[str]]:
        """Per node of `needed` (a mask): how many privileged targets it reaches MFA-free and how many of
        them each provider has ({provider number: count}, none at 0), per node the highest class among them,
        and the providers by number, in name order (path_arrays.reach: one number per target resource, in
        order of first holder)."""
        holder, resource, edge, target_class, _, _ = self.access_columns
        resources, first = np.unique(resource[np.lexsort((edge, holder))], return_index=True)
        order = np.argsort(first, kind="stable")
        providers = [self.data[target]["provider"] for target in resources[order].tolist()]  # by target number
        names = sorted(set(providers))  # a provider's group number: its place in name order
        code = {name: number for number, name in enumerate(names)}
        bit = np.empty(len(resources), dtype=np.int64)
        bit[order] = np.arange(len(resources))
        reached = dist != INF
        reach, best = path_arrays.reach(len(self.ids), reached, self.free_from, self.free_to, holder,
                                        bit[np.searchsorted(resources, resource)], target_class, needed,
                                        np.array([code[name] for name in providers], dtype=np.int64))
        return reach, best, names

    # -- entries and gaps ---------------------------------------------------------------

    def entries(self) -> list[Entry]:
        """Every enabled credential that signs in to something, every human sign-in not already
        modelled as a credential or a federation, and every group whose members are not visible
        (`members_known` false: a Google group offline, a domain, allUsers, a workforce pool, an Entra
        group whose members were not exported): its unknown members sign in somehow, MFA unknown, so
        a privileged grant to it is a finding, never silence. Computed once per engine."""
        if self._entries is not None:
            return self._entries
        found: list[Entry] = []
        for i, data in enumerate(self.data):
            if not self.usable[i]:
                continue
            family = data.get("family")
            if family == Family.CREDENTIAL and self.auth_out[i]:
                found.append(self._credential_entry(i, self.auth_out[i], frozenset()))
            elif (
                family == Family.IDENTITY
                and data.get("kind") == "User"
                and self.human[i]
                and not self.signed_in_by_other[i]
            ):
                found.append(Entry(i, i, True, data.get("mfa"), False))
            elif family == Family.IDENTITY and data.get("kind") == "Group" and data.get("members_known") is False:
                found.append(Entry(i, i, True, None, False, members_unknown=True))
        self._entries = found
        return found

    def _credential_entry(self, i: int, auths: list[int], mfa_edges: frozenset[int]) -> Entry:
        """A credential signing in over these AUTHENTICATES edges (`mfa_edges` among them now demand MFA):
        it stands for the identity first by id; MFA is False if any sign-in lacks it, else unknown if any
        may, else True."""
        ends = self.edges.v
        auths = sorted(auths, key=lambda e: self.ids[ends[e]])
        identity = ends[auths[0]]
        mfa_values = [True if e in mfa_edges else self._auth_mfa[e] for e in auths]
        mfa = False if False in mfa_values else (None if None in mfa_values else True)
        return Entry(i, identity, self.human[identity], mfa, True)

    def _why(self, entry: Entry) -> tuple[bool, bool]:
        """Would this entry's path be a gap: (no MFA where the policy wants it, a long-lived machine key)."""
        no_mfa = (entry.human or self.policy.mfa_applies_to_machines) and entry.mfa is not True
        long_lived = False
        if entry.is_credential and not entry.human:
            data = self.data[entry.node]
            long_lived = self.policy.is_long_lived(data.get("age_days"), data.get("expires"))
        return no_mfa, long_lived

    def _path_numbers(self, start: int, next_edge: list[int]) -> list[int]:
        """The edge numbers of the path from `start` along the next-edge pointers, to its access."""
        numbers = []
        node = start
        ends, is_access = self.edges.v, self._is_access
        while True:
            numbers.append(next_edge[node])
            if is_access[numbers[-1]]:
                return numbers
            node = ends[numbers[-1]]

    def _path(self, numbers: list[int]) -> list[tuple[str, str, dict[str, Any]]]:
        ids = self.ids
        return [(ids[u], ids[v], data) for u, v, data in map(self.edges.__getitem__, numbers)]

    def gap_paths(self) -> list[GapPath]:
        """Every entry's gap, in entry order: found once per engine (the analysis and the fix search's first
        run share them), handed out as a new list of the same GapPaths, which callers only read."""
        if self._gap_paths is None:
            self._gap_paths = self._find_gap_paths()
        return list(self._gap_paths)

    def _find_gap_paths(self) -> list[GapPath]:
        distances, next_edges = self._reverse_search()
        dist, next_edge = distances.tolist(), next_edges.tolist()
        found = []
        for entry in self.entries():
            if dist[entry.node] == INF:
                continue
            no_mfa, long_lived = self._why(entry)
            if no_mfa or long_lived:
                found.append((entry, no_mfa, long_lived, self._path_numbers(entry.node, next_edge)))
        needed = np.zeros(len(self.ids), dtype=bool)
        needed[[entry.node for entry, *_ in found]] = True
        reach, best, providers = self._reach(distances, needed)
        self.edges.prefetch(chain.from_iterable(numbers for *_, numbers in found))
        gaps = []
        for entry, no_mfa, long_lived, numbers in found:
            targets_count, by_group = reach[entry.node]
            gaps.append(
                GapPath(
                    entry=entry,
                    edges=self._path(numbers),
                    no_mfa=no_mfa,
                    long_lived=long_lived,
                    targets_count=targets_count,
                    targets_by_provider={providers[group]: found for group, found in by_group.items()},
                    max_class=best[entry.node],
                )
            )
        return gaps

    # -- a change, judged on the compiled arrays ------------------------------------------

    def edge_numbers(self) -> dict[int, int]:
        """id() of an edge's attribute dict -> its number here, for every edge the engine compiled (the
        graph's own dicts: they stay alive as long as the graph), and -1 for each permission write it
        composes (`permission_grants`)."""
        if self._edge_numbers is None:
            self._edge_numbers = {id(data): number for number, (_, _, data) in enumerate(self.edges)}
            self._edge_numbers.update((id(data), -1) for _, _, data in self.permission_grants)
        return self._edge_numbers

    def touches_composition(self, gone: Without) -> bool:
        """Could making `gone` change an access composed here (_compose)? Yes when it takes away a node
        or an edge among the nodes that act as a party to a permission write (or may: conservatively, an
        edge with either end there). Never when the graph has no permission writes."""
        if not self.permission_grants:
            return False
        if self._composition_parties is None:
            self._composition_parties = self._ancestors({node for holder, target, _ in self.permission_grants
                                                         for node in (holder, target)})
        parties = self._composition_parties
        return (any(node in parties for node in gone.nodes)
                or any(self.edges.u[e] in parties or self.edges.v[e] in parties
                       for e in gone.edges | gone.mfa_edges))

    def entry_paths_without(self, gone: Without, nodes: Iterable[int]) -> dict[int, EntryPath]:
        """Which of these entry nodes would still have a gap with `gone` made, each with its shortest gap
        path: gap_paths' reverse search on the compiled arrays minus what `gone` takes away, without
        compiling again. An MFA-free transfer edge goes when it or an end goes or it now demands MFA; an
        access goes when the edge it stands on does, or its holder or resource. Composed accesses stay
        as compiled: valid only where touches_composition(gone) is False."""
        n = len(self.ids)
        removed = np.zeros(n, dtype=bool)
        removed[list(gone.nodes)] = True
        cut = np.fromiter(gone.edges | gone.mfa_edges, dtype=np.int64)
        holder, resource, edge, target_class, level_rank, basis = self.access_columns
        kept = ~np.isin(basis, cut) & ~removed[holder] & ~removed[resource]
        holders, first_edges = path_arrays.nearest_access(holder[kept], resource[kept], edge[kept],
                                                          target_class[kept], level_rank[kept])
        pointers, into, numbers = self._into  # the MFA-free transfer edges reversed, less those gone
        free = ~np.isin(numbers, cut) & ~removed[into] & ~np.repeat(removed, np.diff(pointers))
        pointers, into, numbers = path_arrays.kept_rows(pointers, free, into, numbers)
        dist, next_edge = path_arrays.reverse_search(n, pointers, holders, first_edges, into, numbers)
        if self._entry_of is None:
            self._entry_of = {entry.node: entry for entry in self.entries()}
        found: dict[int, EntryPath] = {}
        for node in nodes:
            entry = self._entry_of.get(node)
            if entry is None or removed[node] or dist[node] == INF:
                continue
            if entry.is_credential:
                auths = [e for e in self.auth_out[node] if e not in gone.edges and not removed[self.edges.v[e]]]
                if not auths:
                    continue
                entry = self._credential_entry(node, auths, gone.mfa_edges)
            elif node in gone.mfa_nodes and not entry.members_unknown:
                entry = replace(entry, mfa=True)
            no_mfa, long_lived = self._why(entry)
            if no_mfa or long_lived:
                found[node] = EntryPath(entry, self._path(self._path_numbers(node, next_edge)), no_mfa, long_lived)
        return found

    # -- blast radius -------------------------------------------------------------------

    def _forward_adjacency(self, mfa_free_only: bool) -> dict[int, list[int]]:
        """Transfer edges by source, built on first use and kept for later blast-radius queries."""
        if mfa_free_only not in self._forward:
            out: dict[int, list[int]] = {}
            numbers, sources, free = self._transfers
            if mfa_free_only:
                numbers, sources = numbers[free], sources[free]
            for u, edge_no in zip(sources.tolist(), numbers.tolist(), strict=True):
                out.setdefault(u, []).append(edge_no)
            self._forward[mfa_free_only] = out
        return self._forward[mfa_free_only]

    def _forward_search(self, start: int, mfa_free_only: bool) -> tuple[dict[int, int], dict[int, int]]:
        """BFS from one node; returns distance and the edge that reached each node."""
        out = self._forward_adjacency(mfa_free_only)
        dist = {start: 0}
        came_by: dict[int, int] = {}
        queue = deque([start])
        while queue:
            u = queue.popleft()
            for edge_no in out.get(u, ()):
                v = self.edges.v[edge_no]
                if v not in dist:
                    dist[v] = dist[u] + 1
                    came_by[v] = edge_no
                    queue.append(v)
        return dist, came_by

    def _path_to(self, node: int, came_by: dict[int, int], final_edge: int) -> list[tuple[str, str, dict]]:
        edges = [final_edge]
        while node in came_by:
            edges.append(came_by[node])
            node = self.edges.u[came_by[node]]
        self.edges.prefetch(edges)
        return [(self.ids[u], self.ids[v], d) for u, v, d in (self.edges[e] for e in reversed(edges))]

    def blast_radius(self, node_id: str) -> list[dict[str, Any]]:
        """Every privileged target `node_id` can reach, each with its strongest level, the shortest path to it, and whether
        every path to it requires MFA. Write or admin over a scope (account, project, namespace,
        server ...) is write on every privileged resource inside it: those come too, with `through`
        naming the scope and the scope's path (the grant is on the scope, not on them)."""
        if node_id not in self.index:
            raise KeyError(node_id)
        start = self.index[node_id]
        results: dict[int, dict[str, Any]] = {}
        for requires_mfa in (False, True):
            dist, came_by = self._forward_search(start, mfa_free_only=not requires_mfa)
            for u in sorted(dist, key=lambda x: (dist[x], x)):
                for resource, edge_no, target_class in self.access[u]:
                    edge_data = self.edges[edge_no][2]
                    needs_mfa = requires_mfa or edge_data.get("mfa_required") is True
                    known = results.get(resource)
                    # MFA-free first, then the strongest level over a shorter weaker path (write on the
                    # account from a launch permission, admin through the role it launches).
                    if known is not None and (known["requires_mfa"], -LEVEL_RANK[known["level"]]) <= (
                            needs_mfa, -LEVEL_RANK[edge_data["level"]]):
                        continue
                    results[resource] = {
                        "target": self.ids[resource],
                        "level": edge_data["level"],
                        "class": target_class,
                        "requires_mfa": needs_mfa,
                        "path": self._path_to(u, came_by, edge_no),
                        "through": None,
                    }
        # A grant on the resource itself wins; else the best way (MFA-free first, then shortest) to a scope.
        granted = list(results.values())
        for scope_result in sorted(granted, key=lambda r: (r["requires_mfa"], len(r["path"]), r["target"])):
            for inside in self.contained(self.index[scope_result["target"]]):
                target_class = self.target_class(inside, "write")
                if target_class and inside not in results:
                    results[inside] = {**scope_result, "target": self.ids[inside], "level": "write",
                                       "class": target_class, "through": scope_result["target"]}
        return sorted(results.values(), key=lambda r: (len(r["path"]), r["target"]))


def _bits(value: int) -> list[int]:
    """The positions of the set bits of value."""
    found = []
    while value:
        low = value & -value
        found.append(low.bit_length() - 1)
        value ^= low
    return found


def _components(roots: Iterable[int], forward: list[list[int]]) -> list[list[int]]:
    """Strongly connected components of what `roots` reach over `forward`, sinks first (Tarjan's
    algorithm, iterative): a component comes after every component it reaches."""
    n = len(forward)
    order = [-1] * n
    low = [0] * n
    on_stack = bytearray(n)
    stack: list[int] = []
    found: list[list[int]] = []
    counter = 0
    for root in roots:
        if order[root] != -1:
            continue
        work = [(root, 0)]
        while work:
            node, child_at = work.pop()
            if child_at == 0:
                order[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack[node] = 1
            children = forward[node]
            recursed = False
            while child_at < len(children):
                child = children[child_at]
                child_at += 1
                if order[child] == -1:
                    work.append((node, child_at))
                    work.append((child, 0))
                    recursed = True
                    break
                if on_stack[child]:
                    low[node] = min(low[node], order[child])
            if recursed:
                continue
            if low[node] == order[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack[member] = 0
                    component.append(member)
                    if member == node:
                        break
                found.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found
