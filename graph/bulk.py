"""Adding a million edges to a networkx MultiDiGraph at the cost of dict stores.

networkx's `add_edges_from` copies every edge's attribute dict twice and goes through `add_edge` and
three view objects per edge: at 1M edges that is most of a scan's build. `add_edges` writes the same
adjacency `MultiDiGraph.add_edge` writes (networkx's dict-of-dicts: `_succ[u][v]` is a dict of edge
key -> attribute dict, shared with `_pred[v][u]`), taking ownership of each attribute dict instead of
copying it. tests/test_graph_bulk.py checks it builds the graph `add_edges_from` builds.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import networkx as nx


def add_edges(graph: nx.MultiDiGraph, edges: Iterable[tuple[str, str, str, dict[str, Any]]]) -> None:
    """Add (source, target, key, data) edges; `data` becomes the edge's own attribute dict (the caller
    must not reuse it). A missing endpoint is added as a node without attributes, a repeated key updates
    the edge, as `add_edges_from` does."""
    if type(graph) is not nx.MultiDiGraph:  # a subclass may have its own factories: the public way
        graph.add_edges_from(edges)
        return
    succ, pred = graph._succ, graph._pred
    for u, v, key, data in edges:
        out = succ.get(u)
        if out is None or v not in succ:
            graph.add_node(u)
            graph.add_node(v)
            out = succ[u]
        keydict = out.get(v)
        if keydict is None:
            out[v] = pred[v][u] = {key: data}
        elif key in keydict:
            keydict[key].update(data)
        else:
            keydict[key] = data
    cache = getattr(graph, "__networkx_cache__", None)
    if cache:
        cache.clear()


def copy_graph(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """`graph.copy()` (new node and edge attribute dicts, the same order), built with `add_edges`."""
    if type(graph) is not nx.MultiDiGraph:
        return graph.copy()
    copy = nx.MultiDiGraph()
    copy.graph.update(graph.graph)
    copy.add_nodes_from(graph.nodes(data=True))  # add_nodes_from gives each node a new attribute dict
    add_edges(copy, ((u, v, key, dict(data)) for u, neighbours in graph.adjacency()
                     for v, keyed in neighbours.items() for key, data in keyed.items()))
    return copy
