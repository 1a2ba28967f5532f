"""bench/floor.py: the benchmark's floor searches the same subgraph from the same sources as the path engine."""

from __future__ import annotations

import networkx as nx
import pytest

from bench.floor import engine_sources, follows, reachable, reachable_ids, to_csr
from bench.run import AS_OF
from bench.synthetic_org import generate
from graph.builder import build_graph
from queries.paths import INF, PathEngine
from queries.policy import load_policy


@pytest.fixture(scope="module")
def small():
    graph = build_graph(generate(200), AS_OF).graph
    engine = PathEngine(graph, load_policy())
    return graph, engine, to_csr(graph, engine_sources(engine))


def test_floor_reaches_what_the_engine_reverse_search_reaches(small):
    _, engine, csr = small
    dist, _ = engine._reverse_search()
    by_engine = {engine.ids[i] for i, d in enumerate(dist) if d != INF}
    assert engine_sources(engine) and len(by_engine) > len(engine_sources(engine))  # not trivial
    assert reachable_ids(csr) == by_engine
    assert csr.ids == engine.ids  # the same numbering
    assert csr.edges == sum(len(into) for into in engine.radj)  # the same edges


def test_floor_visits_exactly_the_reverse_reachable_nodes(small):
    graph, engine, csr = small
    subgraph = nx.DiGraph()
    subgraph.add_nodes_from(graph.nodes)
    subgraph.add_edges_from((u, v) for u, v, data in graph.edges(data=True)
                            if follows(data, graph.nodes[u], graph.nodes[v]))
    expected = set(engine_sources(engine))
    for source in engine_sources(engine):
        expected |= nx.ancestors(subgraph, source)
    order = reachable(csr).tolist()
    assert len(order) == len(set(order))  # each node once
    assert {csr.ids[i] for i in order} == expected


def test_rustworkx_floor_agrees(small):
    pytest.importorskip("rustworkx")
    from bench.floor import reachable_rustworkx, to_rustworkx

    _, _, csr = small
    assert {csr.ids[i] for i in reachable_rustworkx(to_rustworkx(csr), csr.super_source)} == reachable_ids(csr)
