"""Adding a million edges to a networkx MultiDiGraph at the cost of dict stores.

networkx's `add_edges_from` copies every edge's attribute dict twice and goes through `add_edge` and
three view objects per edge: at 1M edges that is most of a scan's build. `Graph` is networkx's
MultiDiGraph with one more method, `add_owned_edges`, which writes the adjacency `add_edge` writes
(networkx's dict-of-dicts: `_succ[u][v]` is a dict of edge key -> attribute dict, shared with
`_pred[v][u]`), taking ownership of each attribute dict instead of copying it. The builder and the
snapshot reader make `Graph`s; everything else sees a MultiDiGraph. tests/test_graph_bulk.py checks it
builds the graph `add_edges_from` builds.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import networkx as nx

Edge = tuple[str, str, str, dict[str, Any]]  # (source, target, key, attribute dict)


class Graph(nx.MultiDiGraph):
    """A MultiDiGraph that can take edges in bulk (add_owned_edges)."""

    def add_owned_edges(self, edges: Iterable[Edge]) -> None:
        """Add (source, target, key, data) edges; `data` becomes the edge's own attribute dict (the
        caller must not reuse it). A missing endpoint is added as a node without attributes, a repeated
        key updates the edge, as `add_edges_from` does."""
        succ, pred = self._succ, self._pred
        for u, v, key, data in edges:
            out = succ.get(u)
            if out is None or v not in succ:
                self.add_node(u)
                self.add_node(v)
                out = succ[u]
            keydict = out.get(v)
            if keydict is None:
                out[v] = pred[v][u] = {key: data}
            elif key in keydict:
                keydict[key].update(data)
            else:
                keydict[key] = data
        self.edges_added()

    def keys_between(self, u: Any, v: Any) -> dict[str, dict[str, Any]] | None:
        """The edges u -> v by key (the adjacency's own dict: read, do not change), or None. u must be a node."""
        return self._succ[u].get(v)

    def add_new_edge(self, u: Any, v: Any, key: str, data: dict[str, Any]) -> None:
        """Add one edge between two nodes of the graph under a key u -> v does not have yet (keys_between);
        `data` becomes its attribute dict. The caller clears networkx's view cache when done (add_owned_edges)."""
        out = self._succ[u]
        keydict = out.get(v)
        if keydict is None:
            out[v] = self._pred[v][u] = {key: data}
        else:
            keydict[key] = data

    def edges_added(self) -> None:
        """networkx >= 3.3 caches views: clear them after adding edges directly, as add_edge does."""
        cache = getattr(self, "__networkx_cache__", None)
        if cache:
            cache.clear()


def copy_graph(graph: nx.MultiDiGraph) -> Graph:
    """`graph.copy()` as a `Graph` (new node and edge attribute dicts, the same order)."""
    copy = Graph()
    copy.graph.update(graph.graph)
    copy.add_nodes_from(graph.nodes(data=True))  # add_nodes_from gives each node a new attribute dict
    copy.add_owned_edges((u, v, key, dict(data)) for u, neighbours in graph.adjacency()
                         for v, keyed in neighbours.items() for key, data in keyed.items())
    return copy
