"""The benchmark's floor: the path engine's reverse search done by a compiled library on a CSR matrix.

The path engine's first step (queries/paths.py, PathEngine._reverse_search) is one breadth-first
search from every privileged target at once, backwards over the MFA-free subgraph: Authentication and
Transfer edges (graph.schema.TRAVERSED_EDGES) between usable nodes that a path follows without a
second factor (PathEngine.mfa_free), minus CAN_GRANT with a `grant_scope` and FEDERATES_TO the target
refuses (PathEngine.traversable). Its sources are the nodes holding a privileged access
(engine.access: a privileged HAS_PERMISSION, a CAN_GRANT on a resource scope, a composed grant).

`to_csr` converts the graph once to that subgraph, reversed (row v lists the u with an edge u -> v),
as a scipy.sparse CSR matrix over integer ids interned once (sorted node ids, the engine's numbering),
with one extra row: a super-source whose edges go to every source, so that scipy's single-source
`breadth_first_order` is the multi-source search. `reachable` is that search; bench/run.py times it
alone (the conversion is timed and printed separately) and prints every stage as a ratio to it.
`to_rustworkx` / `reachable_rustworkx` are the same on rustworkx, when it is installed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order

from queries.paths import _FEDERATES, _GRANT, _TRAVERSED, PathEngine


@dataclass
class Csr:
    ids: list[str]  # node number -> node id (sorted, as PathEngine numbers them)
    matrix: csr_matrix  # (n + 1) x (n + 1): reversed MFA-free traversed edges, plus the super-source row n
    edges: int  # how many graph edges the matrix holds (before duplicate u -> v pairs merge)

    @property
    def super_source(self) -> int:
        return len(self.ids)


def follows(data: dict[str, Any], u_data: dict[str, Any], v_data: dict[str, Any]) -> bool:
    """Does the engine's reverse search cross this edge (PathEngine._compile: traversable and MFA-free)?"""
    kind = data["kind"]
    if kind not in _TRAVERSED or not (PathEngine._usable(u_data) and PathEngine._usable(v_data)):
        return False
    if kind == _GRANT and data.get("grant_scope"):
        return False
    if kind == _FEDERATES and data.get("verified") is False:
        return False
    return PathEngine.mfa_free(kind, data)


def engine_sources(engine: PathEngine) -> list[str]:
    """The engine's reverse-search sources: every node with a privileged access (its `access` lists)."""
    return [engine.ids[u] for u, found in enumerate(engine.access) if found]


def to_csr(graph: nx.MultiDiGraph, sources: Iterable[str]) -> Csr:
    """The reversed MFA-free subgraph of `graph` as CSR, with a super-source row pointing at `sources`."""
    ids = sorted(graph.nodes)
    index = {node_id: i for i, node_id in enumerate(ids)}
    nodes = graph.nodes
    rows: list[int] = []  # reversed: row = edge target, column = edge source
    cols: list[int] = []
    for u_id, v_id, data in graph.edges(data=True):
        if follows(data, nodes[u_id], nodes[v_id]):
            rows.append(index[v_id])
            cols.append(index[u_id])
    edges = len(rows)
    n = len(ids)
    starts = sorted({index[s] for s in sources})
    rows.extend([n] * len(starts))
    cols.extend(starts)
    matrix = csr_matrix(
        (np.ones(len(rows), dtype=np.int8), (np.asarray(rows, dtype=np.int32), np.asarray(cols, dtype=np.int32))),
        shape=(n + 1, n + 1),
    )
    matrix.sum_duplicates()
    return Csr(ids, matrix, edges)


def reachable(csr: Csr) -> np.ndarray:
    """Node numbers that reach a source over the subgraph (sources included): one multi-source BFS."""
    order = breadth_first_order(csr.matrix, csr.super_source, directed=True, return_predecessors=False)
    return order[1:]  # the super-source comes first


def reachable_ids(csr: Csr) -> set[str]:
    return {csr.ids[i] for i in reachable(csr).tolist()}


def to_rustworkx(csr: Csr) -> Any:
    """The same reversed graph (with the super-source) as a rustworkx PyDiGraph; node k is number k."""
    import rustworkx

    graph = rustworkx.PyDiGraph(check_cycle=False, multigraph=False)
    graph.add_nodes_from(range(csr.matrix.shape[0]))
    coo = csr.matrix.tocoo()
    graph.extend_from_edge_list(list(zip(coo.row.tolist(), coo.col.tolist(), strict=True)))
    return graph


def reachable_rustworkx(graph: Any, super_source: int) -> set[int]:
    import rustworkx

    return rustworkx.descendants(graph, super_source)
