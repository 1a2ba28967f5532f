"""queries/path_arrays.py against plain Python searches on random graphs: the same distances, the same
next edges (ties broken as a FIFO queue breaks them), the same nearest access and the same reach."""

from __future__ import annotations

import random
from collections import deque

import numpy as np
import pytest

from queries import path_arrays
from queries.path_arrays import INF


def _random_graph(seed: int, n: int, edges: int) -> tuple[list[int], list[int]]:
    """Edges u -> v with cycles, self loops and parallel edges."""
    rng = random.Random(seed)
    sources = [rng.randrange(n) for _ in range(edges)]
    targets = [rng.randrange(n) if rng.random() < 0.7 else sources[k] for k in range(edges)]
    parallel = rng.sample(range(edges), edges // 10) if edges else []
    return sources + [sources[k] for k in parallel], targets + [targets[k] for k in parallel]


def _python_reverse_search(n, sources, source_edges, edge_from, edge_to):
    into = [[] for _ in range(n)]
    for number, (u, v) in enumerate(zip(edge_from, edge_to, strict=True)):
        into[v].append((u, number))
    dist, next_edge = [INF] * n, [-1] * n
    queue = deque()
    for source, edge in zip(sources, source_edges, strict=True):
        dist[source], next_edge[source] = 1, edge
        queue.append(source)
    while queue:
        v = queue.popleft()
        for u, number in into[v]:
            if dist[u] == INF:
                dist[u], next_edge[u] = dist[v] + 1, number
                queue.append(u)
    return dist, next_edge


def _python_reach(n, reached, edge_from, edge_to, holder, bit, target_class):
    """Everything each node reaches (a plain search per node), as bits and the highest class."""
    forward = [[] for _ in range(n)]
    for u, v in zip(edge_from, edge_to, strict=True):
        if reached[u] and reached[v]:
            forward[u].append(v)
    own_bits, own_class = [0] * n, [0] * n
    for node, position, cls in zip(holder, bit, target_class, strict=True):
        own_bits[node] |= 1 << position
        own_class[node] = max(own_class[node], cls)
    bits, best = [0] * n, [0] * n
    for start in range(n):
        if not reached[start]:
            continue
        seen, queue = {start}, deque([start])
        while queue:
            node = queue.popleft()
            bits[start] |= own_bits[node]
            best[start] = max(best[start], own_class[node])
            for child in forward[node]:
                if child not in seen:
                    seen.add(child)
                    queue.append(child)
    return bits, best


def _arrays(*lists):
    return tuple(np.array(values, dtype=np.int64) for values in lists)


@pytest.mark.parametrize("seed", range(40))
def test_reverse_search_matches_a_fifo_queue(seed):
    rng = random.Random(seed)
    n = rng.randrange(1, 60)
    edge_from, edge_to = _random_graph(seed, n, rng.randrange(0, 4 * n))
    sources = sorted(rng.sample(range(n), rng.randrange(0, max(1, n // 4))))
    source_edges = [1000 + s for s in sources]
    from_, to_ = _arrays(edge_from, edge_to)
    pointers, into, numbers = path_arrays.by_row(n, to_, from_, np.arange(len(edge_from), dtype=np.int64))
    dist, next_edge = path_arrays.reverse_search(n, pointers, *_arrays(sources, source_edges), into, numbers)
    assert (dist.tolist(), next_edge.tolist()) == _python_reverse_search(n, sources, source_edges, edge_from,
                                                                         edge_to)


@pytest.mark.parametrize("seed", range(40))
def test_a_layout_less_some_edges_is_the_layout_of_the_rest(seed):
    # what PathEngine.entry_paths_without searches: the compiled layout with a change's edges taken out
    rng = random.Random(seed)
    n = rng.randrange(1, 30)
    edge_from, edge_to = _random_graph(seed, n, rng.randrange(0, 4 * n))
    numbers = np.arange(len(edge_from), dtype=np.int64)
    from_, to_ = _arrays(edge_from, edge_to)
    pointers, into, ordered = path_arrays.by_row(n, to_, from_, numbers)
    gone = np.array([rng.random() < 0.3 for _ in edge_from], dtype=bool)
    kept = path_arrays.kept_rows(pointers, ~gone[ordered], into, ordered)
    expected = path_arrays.by_row(n, to_[~gone], from_[~gone], numbers[~gone])
    assert [column.tolist() for column in kept] == [column.tolist() for column in expected]


def test_reverse_search_keeps_the_edge_a_queue_finds_first_among_equal_paths():
    # 3 -> 1 (edge 0) and 3 -> 2 (edge 1), sources 2 then 1: source 2 is dequeued first, so edge 1
    pointers, into, numbers = path_arrays.by_row(4, *_arrays([1, 2], [3, 3], [0, 1]))
    dist, next_edge = path_arrays.reverse_search(4, pointers, *_arrays([2, 1], [8, 7]), into, numbers)
    assert dist.tolist() == [INF, 1, 1, 2] and next_edge.tolist() == [-1, 7, 8, 1]


@pytest.mark.parametrize("seed", range(40))
def test_nearest_access_is_the_highest_class_then_level_then_lowest_resource_then_first_edge(seed):
    rng = random.Random(seed)
    rows = [(rng.randrange(8), rng.randrange(6), number, rng.randrange(1, 4), rng.randrange(1, 4))
            for number in range(rng.randrange(0, 40))]
    holder, resource, edge, target_class, level = _arrays(*zip(*rows, strict=True)) if rows else _arrays(*[[]] * 5)
    holders, edges = path_arrays.nearest_access(holder, resource, edge, target_class, level)
    expected = {}
    for u in sorted({row[0] for row in rows}):
        expected[u] = max((row for row in rows if row[0] == u), key=lambda row: (row[3], row[4], -row[1]))[2]
    assert dict(zip(holders.tolist(), edges.tolist(), strict=True)) == expected
    assert holders.tolist() == sorted(expected)


@pytest.mark.parametrize("smallest", [16, 2, 0])
@pytest.mark.parametrize("seed", range(40))
def test_reach_is_what_each_node_reaches(seed, smallest, monkeypatch):
    # smallest: how many targets a frozenset holds before it becomes a bitset (0: every set is a bitset)
    monkeypatch.setattr(path_arrays._Sets, "SMALLEST", smallest)
    rng = random.Random(seed)
    n = rng.randrange(1, 50)
    edge_from, edge_to = _random_graph(seed, n, rng.randrange(0, 3 * n))
    reached = [rng.random() < 0.8 for _ in range(n)]
    holders = [u for u in range(n) if reached[u] and rng.random() < 0.3]
    rows = [(u, rng.randrange(30), rng.randrange(1, 4)) for u in holders for _ in range(rng.randrange(1, 3))]
    holder, bit, target_class = _arrays(*zip(*rows, strict=True)) if rows else _arrays([], [], [])
    found = path_arrays.reach(n, np.array(reached), *_arrays(edge_from, edge_to), holder, bit, target_class)
    expected = _python_reach(n, reached, edge_from, edge_to, *(column.tolist() for column in
                                                               (holder, bit, target_class)))
    assert found == expected
    # asked only for some nodes' bitsets: theirs are the same, every other node's is 0, the classes unchanged
    needed = np.array([rng.random() < 0.3 for _ in range(n)])
    bits, best = path_arrays.reach(n, np.array(reached), *_arrays(edge_from, edge_to), holder, bit, target_class,
                                   needed)
    assert bits == [value if wanted else 0 for value, wanted in zip(expected[0], needed, strict=True)]
    assert best == expected[1]
    # with groups: each needed node's count of targets, and per group (here a target's number mod 3)
    counts, _ = path_arrays.reach(n, np.array(reached), *_arrays(edge_from, edge_to), holder, bit, target_class,
                                  needed, np.arange(30) % 3)

    def tally(value):
        by_group = {group: sum(value >> b & 1 for b in range(group, 30, 3)) for group in range(3)}
        return value.bit_count(), {group: found for group, found in by_group.items() if found}

    assert counts == [tally(value) if wanted and reached[node] else 0
                      for node, (value, wanted) in enumerate(zip(expected[0], needed, strict=True))]


def test_reach_runs_through_a_cycle_both_ways():
    # 0 -> 1 -> 2 -> 1, 2 holds bit 3 (class 2), 0 holds bit 0 (class 1): 1 and 2 share a component
    bits, best = path_arrays.reach(3, np.ones(3, dtype=bool), *_arrays([0, 1, 2], [1, 2, 1]),
                                   *_arrays([2, 0], [3, 0], [2, 1]))
    assert bits == [0b1001, 0b1000, 0b1000] and best == [2, 2, 2]
