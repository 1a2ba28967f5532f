"""Top fixes (issue 18): the few single changes that close the most open findings, each verified.

A candidate change comes from the paths of the open findings, never from the whole graph:

- remove one edge on a path: a membership (`MEMBER_OF`), a trust / assume / impersonation / federation
  edge, or a grant (`HAS_PERMISSION`, a `CAN_GRANT` on a resource, the `CAN_GRANT` behind a composed
  admin step);
- enforce MFA on one entry (a person's interactive sign-in, or a human's credential sign-in) or on one
  assume / federation edge (`mfa_required` true);
- delete one long-lived non-human key when it is unused (queries/key_use.py: its source says it was last
  used, or never used, longer ago than the policy's maximum key age), else rotate it to a short-lived credential (the key node leaves the graph either way).

Every count is verified: the path engine runs again with the change made (on the first run's compiled
arrays with what the change takes away masked out, PathEngine.entry_paths_without; or, when the change
could alter a composed access, by compiling a changed copy of the graph), and the open findings whose
entry no longer has any gap path are the ones it closes (a finding that only loses targets is not closed). Excepted findings are
never counted. The picks are greedy: after the best change is applied, the next pick counts only what
is still open, on the changed graph.

Each pick verifies candidates in order of an upper bound (how many still-open findings' current paths
the change touches; a change off a finding's shortest path leaves that path standing) and stops as soon
as no unverified candidate can beat the best verified one. Ties go to the smaller change (MFA on one
edge or entry, or one membership, before a trust, a key and last a grant), then to the candidate id.
`max_candidates` bounds the verifications per pick; when it cuts candidates that could still have won,
the fix says so (`unverified_candidates`), never silently.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

import networkx as nx

from graph.bulk import Graph, copy_graph
from queries.findings import finding_id
from queries.key_use import is_unused, unused_days
from queries.paths import EntryPath, GapPath, PathEngine, Without
from queries.policy import Policy

DEFAULT_TOP = 5
DEFAULT_MAX_CANDIDATES = 200  # verifications per pick

REMOVE_MEMBERSHIP = "remove_membership"
REMOVE_TRUST = "remove_trust"
REMOVE_GRANT = "remove_grant"
ENFORCE_MFA_ENTRY = "enforce_mfa_entry"
ENFORCE_MFA_EDGE = "enforce_mfa_edge"
DELETE_KEY = "delete_key"
ROTATE_KEY = "rotate_key"
ENFORCE_MFA = (ENFORCE_MFA_ENTRY, ENFORCE_MFA_EDGE)  # the changes that set MFA, the others take away
KINDS = (ENFORCE_MFA_EDGE, ENFORCE_MFA_ENTRY, REMOVE_MEMBERSHIP, REMOVE_TRUST, DELETE_KEY, ROTATE_KEY,
         REMOVE_GRANT)
# The size of a change, for ties: MFA on one edge or entry, or one membership, is the smallest.
SIZE = {ENFORCE_MFA_EDGE: 0, ENFORCE_MFA_ENTRY: 0, REMOVE_MEMBERSHIP: 0, REMOVE_TRUST: 1, DELETE_KEY: 1,
        ROTATE_KEY: 1, REMOVE_GRANT: 2}

_MFA_EDGE_KINDS = ("CAN_ASSUME", "FEDERATES_TO")  # an assume or a federated sign-in can demand a second factor
_TRUST_TEXT = {
    "CAN_ASSUME": "the trust letting {s} assume {t}",
    "CAN_IMPERSONATE": "{s}'s right to impersonate {t}",
    "CAN_CREATE_CREDENTIAL": "{s}'s right to create credentials for {t}",
    "CAN_RUN_AS": "{s}'s right to run as {t}",
    "FEDERATES_TO": "the federation trust from {s} to {t}",
    "CAN_READ_SECRET": "{s}'s right to read the secret {t}",
    "CAN_GRANT": "{s}'s right to grant itself {t}",
}

EdgeKey = tuple[str, str, Any]  # (source, target, MultiDiGraph key)


@dataclass(frozen=True)
class Change:
    """One candidate: what it touches in the graph, and how to say it."""

    kind: str
    description: str
    edges: tuple[EdgeKey, ...] = ()
    nodes: tuple[str, ...] = ()

    @cached_property
    def id(self) -> str:
        touched = [f"{s}>{t}#{k}" for s, t, k in self.edges] + list(self.nodes)
        return f"{self.kind}:{'|'.join(touched)}"

    @cached_property
    def order(self) -> tuple[int, str]:
        return SIZE[self.kind], self.id


@dataclass
class FixSearch:
    """The picks, and what the search did to find them."""

    fixes: list[dict[str, Any]] = field(default_factory=list)
    open_before: int = 0
    candidates: int = 0  # distinct candidates derived over every pick
    verified: int = 0  # path-engine reruns for candidates
    engine_runs: int = 0  # every path-engine run, the first one included
    compiled: int = 0  # verifications that compiled an engine (the others ran on the first run's arrays)
    cut: list[str] = field(default_factory=list)  # one sentence per pick the bound cut


def _name(graph: nx.MultiDiGraph, node_id: str) -> str:
    data = graph.nodes[node_id] if node_id in graph else {}
    return str(data.get("name") or node_id)


def _edge_ref(graph: nx.MultiDiGraph, edge: EdgeKey) -> dict[str, Any]:
    source, target, key = edge
    data = graph[source][target][key]
    return {"source": source, "target": target, "kind": data.get("kind"), "via": data.get("via", "")}


class _Candidates:
    """Candidates on the current paths of the still-open findings, and which findings each path touches."""

    def __init__(self, graph: nx.MultiDiGraph, policy: Policy, as_of: datetime | None):
        self.graph = graph
        self.policy = policy
        self.as_of = as_of
        self.changes: dict[str, Change] = {}
        self.on_paths: dict[Any, set[str]] = {}  # a graph edge key or node id -> findings whose path holds it
        # What the kept picks did to `graph`, which stays as it was: edges gone (a credential's go with it,
        # and it leaves every path) and edges that now demand MFA (no gap path crosses them).
        self.gone: set[EdgeKey] = set()
        self.mfa: set[EdgeKey] = set()
        # finding id -> what collect counted in `changes` and `on_paths` for it; how many findings give a change
        self._known: dict[str, tuple[EntryPath, list[Change], list[Any], bool]] = {}
        self._givers: Counter[str] = Counter()

    def _graph_edges(self, source: str, target: str, data: dict[str, Any]) -> list[EdgeKey]:
        """The graph edges behind one path step: itself, or what a derived access step stands on."""
        between = {key: stored for key, stored in (self.graph.get_edge_data(source, target) or {}).items()
                   if (source, target, key) not in self.gone}
        same = [(source, target, key) for key, stored in between.items() if stored is data or stored == data]
        if same:
            return same
        if data.get("composed"):  # admin by composition: the permission-write grants on its target
            grant_target, scope = data.get("grant_target"), target
            return sorted((holder, grant_target, key)
                          for holder, _, key, stored in self.graph.in_edges(grant_target, keys=True, data=True)
                          if stored.get("kind") == "CAN_GRANT" and stored.get("grant_scope") == scope
                          and (holder, grant_target, key) not in self.gone)
        if data.get("granted_by") == "CAN_GRANT":  # can grant any role on a scope
            return [(source, target, key) for key, stored in between.items() if stored.get("kind") == "CAN_GRANT"]
        return []

    def keep(self, change: Change) -> None:
        """A pick made for good: later candidates see the graph as it leaves it."""
        if change.kind in ENFORCE_MFA:
            self.mfa.update(change.edges)
        else:
            self.gone.update(change.edges)

    def _edge_change(self, edge: EdgeKey) -> Change | None:
        source, target, _ = edge
        data = self.graph.edges[edge]
        kind = data.get("kind")
        s, t = _name(self.graph, source), _name(self.graph, target)
        via = f" ({data['via']})" if data.get("via") else ""
        if kind == "MEMBER_OF":
            return Change(REMOVE_MEMBERSHIP, f"remove {s} from group {t}", (edge,))
        if kind == "HAS_PERMISSION":
            return Change(REMOVE_GRANT, f"remove the grant {data.get('level')} on {t} from {s}{via}", (edge,))
        if kind == "CAN_GRANT" and (data.get("grant_scope") or self.graph.nodes[target].get("family") == "Resource"):
            what = f"change the permissions of {t}" if data.get("grant_scope") else f"grant any role on {t}"
            return Change(REMOVE_GRANT, f"remove the grant letting {s} {what}{via}", (edge,))
        if kind in _TRUST_TEXT:
            return Change(REMOVE_TRUST, "remove " + _TRUST_TEXT[kind].format(s=s, t=t) + via, (edge,))
        return None  # AUTHENTICATES: the key and MFA changes cover the entry

    def _mfa_edge_change(self, edge: EdgeKey) -> Change | None:
        data = self.graph.edges[edge]
        if data.get("kind") not in _MFA_EDGE_KINDS or data.get("mfa_required") is True or edge in self.mfa:
            return None
        s, t = _name(self.graph, edge[0]), _name(self.graph, edge[1])
        verb = "assume" if data["kind"] == "CAN_ASSUME" else "federate into"
        how = " (aws:MultiFactorAuthPresent in its trust policy)" if edge[1].startswith("aws:") else ""
        return Change(ENFORCE_MFA_EDGE, f"require MFA for {s} to {verb} {t}{how}", (edge,))

    def _entry_changes(self, gap: EntryPath, engine: PathEngine) -> Iterable[Change]:
        entry = gap.entry
        node_id = engine.ids[entry.node]
        if gap.no_mfa and entry.human and not entry.members_unknown:
            identity = _name(self.graph, engine.ids[entry.identity])
            if entry.is_credential:
                auths = tuple(sorted((node_id, target, key)
                                     for _, target, key, data in self.graph.out_edges(node_id, keys=True, data=True)
                                     if data.get("kind") == "AUTHENTICATES"))
                yield Change(ENFORCE_MFA_ENTRY, f"enforce MFA on {identity}'s sign-in with "
                             f"{_name(self.graph, node_id)}", auths)
            else:
                yield Change(ENFORCE_MFA_ENTRY, f"enforce MFA on {identity}'s sign-in", (), (node_id,))
        if gap.long_lived and entry.is_credential:
            data = self.graph.nodes[node_id]
            name = str(data.get("name") or node_id)
            owner = _name(self.graph, engine.ids[entry.identity])
            key = name if owner in name else f"{name} of {owner}"
            days = unused_days(data, self.as_of) if self.as_of is not None else None
            if is_unused(days, self.policy.max_key_age_days):
                when = f"last used {data['last_used'][:10]}" if data.get("last_used") else "never used"
                yield Change(DELETE_KEY, f"delete key {key} (unused: {when}, {days} days)", (), (node_id,))
            else:
                yield Change(ROTATE_KEY, f"rotate key {key} to a short-lived credential", (), (node_id,))

    def _of_path(self, engine: PathEngine, gap: EntryPath) -> tuple[list[Change], list[Any], bool]:
        """One finding's candidates, the nodes and graph edges its path holds, and whether a step of it is
        admin by composition."""
        changes = list(self._entry_changes(gap, engine))
        elements: list[Any] = [engine.ids[gap.entry.node]]
        composed = False
        for source, target, data in gap.edges:
            composed = composed or bool(data.get("composed"))
            elements += (source, target)
            for edge in self._graph_edges(source, target, data):
                elements.append(edge)
                # MFA on an edge only where a person walks the path: a machine cannot answer it.
                mfa = self._mfa_edge_change(edge) if gap.no_mfa and gap.entry.human else None
                changes += (change for change in (self._edge_change(edge), mfa) if change is not None)
        return changes, elements, composed

    def collect(self, paths: dict[str, tuple[PathEngine, EntryPath]]) -> None:
        """The candidates of these findings' paths. A finding whose path is the one it had at the last
        collect keeps what it gave then: a pick changes only what lies on the paths it touches, and those
        findings get their new path (find_fixes). So only the findings that left, or whose path is new,
        are counted out and in again."""
        for fid, (gap, changes, elements, _) in list(self._known.items()):
            now = paths.get(fid)
            if now is not None and now[1] is gap:
                continue
            del self._known[fid]
            for change in changes:
                self._givers[change.id] -= 1
                if not self._givers[change.id]:
                    del self._givers[change.id], self.changes[change.id]
            for element in elements:
                holders = self.on_paths.get(element)
                if holders is not None:
                    holders.discard(fid)
                    if not holders:
                        del self.on_paths[element]
        for fid, (engine, gap) in paths.items():
            if fid in self._known:
                continue
            gap, changes, elements, _ = self._known[fid] = (gap, *self._of_path(engine, gap))
            for change in changes:
                self.changes.setdefault(change.id, change)
                self._givers[change.id] += 1
            for element in elements:
                self.on_paths.setdefault(element, set()).add(fid)

    @property
    def composed(self) -> set[str]:
        """The findings counted whose path has a step that is admin by composition."""
        return {fid for fid, known in self._known.items() if known[3]}

    def touched(self, change: Change) -> set[str]:
        """The findings whose current path holds an edge or node the change touches: no other can close
        (a change off a finding's shortest path leaves that path standing)."""
        found: set[str] = set()
        for element in (*change.edges, *change.nodes):
            found |= self.on_paths.get(element, set())
        return found


def _apply(graph: nx.MultiDiGraph, change: Change) -> Callable[[], None]:
    """Apply the change in place; return what undoes it."""
    undo: list[Callable[[], None]] = []
    if change.kind in (REMOVE_MEMBERSHIP, REMOVE_TRUST, REMOVE_GRANT):
        for source, target, key in change.edges:
            data = graph[source][target][key]
            graph.remove_edge(source, target, key)
            undo.append(lambda s=source, t=target, k=key, d=data: graph.add_edge(s, t, key=k, **d))
    elif change.kind in ENFORCE_MFA:
        for edge in change.edges:
            data = graph.edges[edge]
            name = "mfa" if data.get("kind") == "AUTHENTICATES" else "mfa_required"
            undo.append(_setter(data, name, True))
        for node_id in change.nodes:
            undo.append(_setter(graph.nodes[node_id], "mfa", True))
    else:  # DELETE_KEY, ROTATE_KEY: the credential leaves the graph
        for node_id in change.nodes:
            attrs = dict(graph.nodes[node_id])
            edges = ([(s, t, k, d) for s, t, k, d in graph.in_edges(node_id, keys=True, data=True)]
                     + [(s, t, k, d) for s, t, k, d in graph.out_edges(node_id, keys=True, data=True)])
            graph.remove_node(node_id)

            def restore(n: str = node_id, a: dict = attrs, e: list = edges) -> None:
                graph.add_node(n, **a)
                for s, t, k, d in e:
                    graph.add_edge(s, t, key=k, **d)
            undo.append(restore)

    def undo_all() -> None:
        for step in reversed(undo):
            step()
    return undo_all


def _setter(data: dict[str, Any], name: str, value: Any) -> Callable[[], None]:
    had, old = name in data, data.get(name)
    data[name] = value

    def restore() -> None:
        if had:
            data[name] = old
        else:
            data.pop(name, None)
    return restore


def _gaps(graph: nx.MultiDiGraph, policy: Policy, nodes: set[str] | None = None,
          classes: dict[tuple[str, str], int] | None = None) -> tuple[PathEngine, dict[str, GapPath]]:
    engine = PathEngine(graph, policy, nodes, classes)
    return engine, {finding_id(engine.ids[gap.entry.node]): gap for gap in engine.gap_paths()}


def _reach(graph: nx.MultiDiGraph, starts: Iterable[str]) -> set[str]:
    """Every node the starts reach over any edge (a superset of what their paths can use)."""
    seen = {node for node in starts if node in graph}
    stack = list(seen)
    successors = graph.succ
    while stack:
        for node in successors[stack.pop()]:
            if node not in seen:
                seen.add(node)
                stack.append(node)
    return seen


class _Verifier:
    """Re-runs the path engine with a change applied, and says which of the checked findings closed.

    `local` (the default) runs the engine on the part of the graph the checked findings' entries reach:
    every node they reach over any edge, every scope a `CAN_GRANT` there names, and for each resource
    what its environment is decided from (its scopes, and the contents of a scope that takes its
    environment from its contents). An entry has a gap path in that subgraph exactly when it has one in
    the whole graph, since every node, edge and environment a path from it could use is there
    (tests/test_fixes.py checks the two agree). `local=False` runs the engine on the whole graph.

    Before any of that, a change is judged on the arrays of the first run's engine (`base`, on the
    unchanged graph: PathEngine.entry_paths_without) with the kept picks and the change taken away, when
    both can be said in its numbers and leave composition alone (PathEngine.touches_composition): no
    compiling at all. Once a kept pick cannot be said so, every later run compiles again."""

    def __init__(self, graph: nx.MultiDiGraph, policy: Policy, local: bool = True, base: PathEngine | None = None):
        self.graph = graph  # never changed: the runs that compile change a copy (work)
        self.policy = policy
        self.picks: list[Change] = []
        self._work: Graph | None = None
        self.local = local
        # Target classes, shared by every run, from the first on: no change touches a resource or what its
        # environment is decided from (a change removes edges or a credential, or sets MFA on an edge or a
        # sign-in), and a local run's subgraph holds all of that (above), so a class is the same in every run.
        self.classes: dict[tuple[str, str], int] = base.classes_by_id() if base is not None else {}
        self.base = base if local else None
        self.kept = Without()  # the kept picks, in base's numbers
        self.runs = 0
        self.compiled = 0  # runs that compiled an engine
        self._support: dict[str, set[str]] = {}
        scope_kinds, content_kinds = policy.environment_from_contents
        self._scope_kinds = scope_kinds
        self._contents: dict[str, list[str]] = {}
        for node, data in graph.nodes(data=True):
            if data.get("family") == "Resource" and data.get("kind") in content_kinds:
                for above in self._chain(node):
                    if graph.nodes[above].get("kind") in scope_kinds:
                        self._contents.setdefault(above, []).append(node)

    def _chain(self, node: str) -> list[str]:
        """The scopes above a resource, nearest first (its `scope`, and theirs)."""
        found: list[str] = []
        current = self.graph.nodes[node].get("scope") or ""
        while current and current != node and current in self.graph and current not in found:
            found.append(current)
            current = self.graph.nodes[current].get("scope") or ""
        return found

    def support(self, resource: str) -> set[str]:
        """The resources a resource's environment is decided from (queries/environment.py), itself included."""
        if resource not in self._support:
            chain = [resource, *self._chain(resource)]
            found = set(chain)
            for above in chain:
                if self.graph.nodes[above].get("kind") in self._scope_kinds:
                    for inside in self._contents.get(above, ()):
                        found.add(inside)
                        found.update(self._chain(inside))
            self._support[resource] = found
        return self._support[resource]

    def work(self) -> Graph:
        """The graph with the kept picks made: a copy, made when a run first compiles."""
        if self._work is None:
            self._work = copy_graph(self.graph)
            for pick in self.picks:
                _apply(self._work, pick)
        return self._work

    def _subgraph_nodes(self, starts: Iterable[str]) -> set[str]:
        graph = self.work()
        reached = _reach(graph, starts)
        nodes = set(reached)
        attributes, successors = graph.nodes, graph.succ
        for node in reached:
            if attributes[node].get("family") == "Resource":
                nodes |= self.support(node)
            for keyed in successors[node].values():  # the scopes its CAN_GRANTs name
                for data in keyed.values():
                    scope = data.get("grant_scope")
                    if scope and scope in graph:
                        nodes |= self.support(scope)
        return nodes

    def _without(self, change: Change) -> Without | None:
        """The change in base's numbers, or None when it writes permissions (composition) or removes an
        AUTHENTICATES edge or a node other than a credential (an entry would change in other ways)."""
        assert self.base is not None
        numbers, index, unchanged = self.base.edge_numbers(), self.base.index, self.base.graph
        mfa = change.kind in ENFORCE_MFA
        edges: set[int] = set()
        for source, target, key in change.edges:
            data = unchanged[source][target][key]
            number = numbers.get(id(data))
            if number == -1 or (not mfa and data.get("kind") == "AUTHENTICATES"):
                return None
            if number is not None:  # else not compiled: no path uses it, with or without it
                edges.add(number)
        nodes = set()
        for node_id in change.nodes:
            if not mfa and unchanged.nodes[node_id].get("family") != "Credential":
                return None
            nodes.add(index[node_id])
        if mfa:
            return Without(mfa_edges=frozenset(edges), mfa_nodes=frozenset(nodes))
        return Without(edges=frozenset(edges), nodes=frozenset(nodes))

    def _on_arrays(self, change: Change) -> Without | None:
        """The kept picks and this change, when base's arrays can judge them together; else None."""
        if self.base is None:
            return None
        without = self._without(change)
        if without is None or self.base.touches_composition(self.kept | without):
            return None
        return self.kept | without

    def closed(self, change: Change, check: set[str],
               entries: dict[str, str]) -> tuple[set[str], PathEngine, dict[str, EntryPath]]:
        """The checked findings the change closes, and the engine run with their new gap paths."""
        self.runs += 1
        gone = self._on_arrays(change)
        if gone is not None:
            assert self.base is not None
            node_of = {fid: self.base.index[entries[fid]] for fid in check}
            found = self.base.entry_paths_without(gone, node_of.values())
            gaps = {fid: found[node] for fid, node in node_of.items() if node in found}
            return check - set(gaps), self.base, gaps
        work = self.work()
        undo = _apply(work, change)
        try:
            nodes = self._subgraph_nodes(entries[fid] for fid in check) if self.local else None
            self.compiled += 1
            engine, compiled_gaps = _gaps(work, self.policy, nodes, self.classes)
            return check - set(compiled_gaps), engine, dict(compiled_gaps)
        finally:
            undo()

    def keep(self, change: Change) -> None:
        """Make a pick for good: in base's numbers while they can say it, and on the working copy."""
        gone = self._on_arrays(change)
        if gone is None:
            self.base = None
        else:
            self.kept = gone
        self.picks.append(change)
        if self._work is not None:
            _apply(self._work, change)


def _could_win(bound: int, change: Change, best: Change | None, best_count: int) -> bool:
    """Can a candidate with this upper bound still beat (or tie and out-rank) the best verified one?"""
    return bound > 0 and (best is None or bound > best_count
                          or (bound == best_count and change.order < best.order))


_Verified = tuple[set[str], PathEngine | None, dict[str, EntryPath]]


def _pick(order: list[Change], check: dict[str, set[str]], entries: dict[str, str], verifier: _Verifier,
          max_candidates: int | None) -> tuple[Change | None, _Verified, int, list[Change]]:
    """One greedy pick: verify candidates in bound order until none left can win (or the bound is hit).
    Returns the best change, what it closes (with the engine run that showed it), how many were
    verified, and the candidates the bound cut."""
    best: Change | None = None
    best_closed: set[str] = set()
    best_run: _Verified = (set(), None, {})
    tried = 0
    for at, change in enumerate(order):
        bound = len(check[change.id])
        if best is not None and bound < len(best_closed):
            break
        if not _could_win(bound, change, best, len(best_closed)):
            continue
        if max_candidates is not None and tried >= max_candidates:
            left = [c for c in order[at:] if _could_win(len(check[c.id]), c, best, len(best_closed))]
            return best, best_run, tried, left
        run = verifier.closed(change, check[change.id], entries)
        closed = run[0]
        tried += 1
        if closed and _could_win(len(closed), change, best, len(best_closed)):
            best, best_closed, best_run = change, closed, run
    return best, best_run, tried, []


def find_fixes(graph: nx.MultiDiGraph, policy: Policy, open_ids: Iterable[str], top: int = DEFAULT_TOP,
               max_candidates: int | None = DEFAULT_MAX_CANDIDATES, as_of: datetime | None = None,
               local: bool = True, engine: PathEngine | None = None) -> FixSearch:
    """The `top` greedy, verified fixes for the open findings `open_ids` (finding ids) on `graph`.
    The graph itself is left as it was: a change is judged on the first run's arrays, or on a copy
    (_Verifier). `engine`: one already built on the whole `graph` with `policy` (the analysis's): it is the
    first run."""
    if engine is not None and engine.graph is not graph:
        raise ValueError("find_fixes: the engine given was built on another graph")
    result = FixSearch()
    if engine is None:  # on the graph, never changed: its arrays judge the changes (_Verifier)
        engine = PathEngine(graph, policy)
    gaps = {finding_id(engine.ids[gap.entry.node]): gap for gap in engine.gap_paths()}
    verifier = _Verifier(graph, policy, local, engine)
    result.engine_runs = 1
    still = set(open_ids) & set(gaps)
    result.open_before = len(still)
    # Each still-open finding's current gap path, with the engine run that found it. After a pick only
    # the findings it touched can have another path: the others' paths stand on the changed graph.
    paths = {fid: (engine, gaps[fid]) for fid in still}
    seen: set[str] = set()
    candidates = _Candidates(graph, policy, as_of)
    for rank in range(1, top + 1):
        if not still:
            break
        candidates.collect({fid: paths[fid] for fid in sorted(still)})
        seen |= set(candidates.changes)
        entries = {fid: run.ids[gap.entry.node] for fid, (run, gap) in paths.items()}
        # A composed admin step stands on act-as edges that are not on the path: check it under every change.
        composed = candidates.composed
        check = {cid: candidates.touched(change) | composed for cid, change in candidates.changes.items()}
        order = sorted(candidates.changes.values(), key=lambda c: (-len(check[c.id]), c.order))
        best, (best_closed, best_engine, best_gaps), tried, left = _pick(order, check, entries, verifier,
                                                                         max_candidates)
        result.verified += tried
        if left:
            result.cut.append(f"pick {rank}: --max-candidates {max_candidates} left {len(left)} candidate(s) "
                              f"unverified that could close up to {max(len(check[c.id]) for c in left)} "
                              "finding(s)" + ("; no fix verified within it, so the search stops here: raise "
                                              "--max-candidates" if best is None else ""))
        if best is None:
            break
        verifier.keep(best)  # the next pick counts what this one leaves open
        candidates.keep(best)
        still -= best_closed
        for fid in check[best.id]:
            if fid in still and best_engine is not None:
                paths[fid] = (best_engine, best_gaps[fid])
            else:
                paths.pop(fid, None)
        result.fixes.append({
            "rank": rank,
            "kind": best.kind,
            "description": best.description,
            "edges": [_edge_ref(graph, edge) for edge in best.edges],
            "nodes": list(best.nodes),
            "closes": len(best_closed),
            "closed": sorted(best_closed),
            "remaining_open": len(still),
            "unverified_candidates": len(left),
        })
    result.candidates = len(seen)
    result.engine_runs += verifier.runs
    result.compiled = verifier.compiled
    return result


def top_fixes(graph: nx.MultiDiGraph, policy: Policy, open_ids: Iterable[str], top: int = DEFAULT_TOP,
              as_of: datetime | None = None, engine: PathEngine | None = None) -> list[dict[str, Any]]:
    """The fixes alone, as `Analysis.top_fixes` carries them."""
    return find_fixes(graph, policy, open_ids, top, as_of=as_of, engine=engine).fixes
