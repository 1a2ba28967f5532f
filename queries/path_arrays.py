"""The path engine's searches on integer arrays (numpy, scipy): Python runs per search level, not per edge.

Every function here takes and returns arrays over the engine's node numbers (queries/paths.py) and keeps
the exact answers of a plain FIFO breadth-first search: where two shortest paths tie, the one a queue
would have found first. tests/test_path_arrays.py compares each with a plain Python version on random
graphs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

INF = 1 << 30
UNSET = np.iinfo(np.int64).max
RESOURCE_BITS = 40  # node numbers below 2**40 (a trillion) fit the low bits of nearest_access's key
RESOURCE_MASK = (1 << RESOURCE_BITS) - 1


def by_row(n: int, rows: np.ndarray, *columns: np.ndarray) -> tuple[np.ndarray, ...]:
    """A CSR layout of edges grouped by `rows` (0 .. n-1), each group in the edges' given order:
    (pointers of length n + 1, then each column reordered)."""
    order = np.argsort(rows, kind="stable")
    pointers = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=pointers[1:])
    return (pointers, *(column[order] for column in columns))


def _gather(pointers: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The positions of the rows' entries, row after row in the given order, and each row's count."""
    starts = pointers[rows]
    counts = pointers[rows + 1] - starts
    total = int(counts.sum())
    if not total:
        return np.zeros(0, dtype=np.int64), counts
    offsets = np.repeat(starts - (np.cumsum(counts) - counts), counts)
    return offsets + np.arange(total, dtype=np.int64), counts


def nearest_access(holder: np.ndarray, resource: np.ndarray, edge: np.ndarray, target_class: np.ndarray,
                   level_rank: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per holder of a privileged access (ascending), the access edge a path should end with: highest class,
    then highest level, then lowest resource number, then the earliest edge (the accesses come in edge
    order). Class, level and resource make one integer key, so each holder's best is one maximum."""
    if not len(holder):
        return holder, edge
    strength = target_class * (int(level_rank.max()) + 1) + level_rank
    key = (strength << RESOURCE_BITS) | (RESOURCE_MASK - resource)
    best = np.full(int(holder.max()) + 1, -1, dtype=np.int64)
    np.maximum.at(best, holder, key)
    chosen = key == best[holder]
    holders, first = np.unique(holder[chosen], return_index=True)
    return holders, edge[chosen][first]


def _first_occurrences(values: np.ndarray, earliest: np.ndarray) -> np.ndarray:
    """The positions where each distinct value first occurs, ascending (in O(len(values)), without a sort).
    `earliest` is scratch space indexed by value, UNSET everywhere, and left so."""
    positions = np.arange(len(values), dtype=np.int64)
    np.minimum.at(earliest, values, positions)
    first = positions[earliest[values] == positions]
    earliest[values] = UNSET
    return first


def reverse_search(n: int, pointers: np.ndarray, sources: np.ndarray, source_edges: np.ndarray,
                   into: np.ndarray, into_edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One breadth-first search from every source at once, backwards: row v of (pointers, into, into_edges)
    lists the u with an edge u -> v and that edge's number. Returns each node's distance (sources 1, INF
    when unreached) and the edge it leaves by on its shortest path (a source's own `source_edges`, else
    -1 when unreached). Level by level, each new node keeps the edge through which a FIFO queue seeded
    with `sources` in their order would have reached it first."""
    dist = np.full(n, INF, dtype=np.int64)
    next_edge = np.full(n, -1, dtype=np.int64)
    dist[sources] = 1
    next_edge[sources] = source_edges
    frontier = sources
    step = 1
    earliest = np.full(n, UNSET, dtype=np.int64)  # scratch for _first_occurrences
    while frontier.size:
        step += 1
        positions, _ = _gather(pointers, frontier)
        found = into[positions]
        new = dist[found] == INF
        found = found[new]
        first = _first_occurrences(found, earliest)
        frontier = found[first]
        dist[frontier] = step
        next_edge[frontier] = into_edges[positions[new][first]]
    return dist, next_edge


def reach(n: int, reached: np.ndarray, sources: np.ndarray, targets: np.ndarray, holder: np.ndarray,
          bit: np.ndarray, target_class: np.ndarray, needed: np.ndarray | None = None,
          summary: Callable[[int], Any] | None = None) -> tuple[list[Any], list[int]]:
    """Per node: the bitset (a Python int) of the targets it reaches over the edges sources[k] -> targets[k]
    among `reached` nodes, and the highest class among them. Node holder[j] holds target bit[j] of class
    target_class[j] itself. The strongly connected components (scipy) are condensed and their bits ORed
    level by level from the sinks up, each level in one numpy call over Python ints.

    `needed` (a node mask): the nodes asked for; every other node's bitset comes back 0. `summary`: what is
    kept of a needed node's bitset (by default the bitset). Each component's bitset is let go once every
    component above it has taken it in, so with a summary only the frontier of the climb is held: a
    million identities reach a hundred thousand targets or more, and a bitset kept per component took
    gigabytes."""
    keep = reached[sources] & reached[targets]
    sources, targets = sources[keep], targets[keep]
    matrix = csr_matrix((np.ones(len(sources), dtype=bool), (sources, targets)), shape=(n, n))
    count, label = connected_components(matrix, directed=True, connection="strong")
    label = label.astype(np.int64)
    own = [0] * count
    for component, position in zip(label[holder].tolist(), bit.tolist(), strict=True):
        own[component] |= 1 << position
    bits = np.empty(count, dtype=object)
    bits[:] = own
    best = np.zeros(count, dtype=np.int64)
    np.maximum.at(best, label[holder], target_class)

    upper, lower = label[sources], label[targets]
    between = upper != lower
    pairs = np.unique(upper[between] * count + lower[between])
    upper, lower = pairs // count, pairs % count  # condensation edges, grouped by upper
    child_pointers, children = by_row(count, upper, lower)
    parent_pointers, parents = by_row(count, lower, upper)
    waiting = np.diff(child_pointers)  # children not yet final
    untaken = np.diff(parent_pointers)  # parents that have not yet taken the component's bits in
    kept = np.ones(count, dtype=bool)
    if needed is not None:
        kept[:] = False
        kept[label[needed & reached]] = True
    summaries = np.zeros(count, dtype=object)
    level = np.flatnonzero(waiting == 0)
    while level.size:
        positions, counts = _gather(child_pointers, level)
        inner = level[counts > 0]
        if inner.size:
            starts = np.cumsum(counts[counts > 0]) - counts[counts > 0]
            child = children[positions]
            bits[inner] = bits[inner] | np.bitwise_or.reduceat(bits[child], starts)
            best[inner] = np.maximum(best[inner], np.maximum.reduceat(best[child], starts))
            untaken -= np.bincount(child, minlength=count)
            bits[child[untaken[child] == 0]] = 0  # every component above has it now
        final = level[kept[level]]
        if summary is None:
            summaries[final] = bits[final]
        else:
            for component, value in zip(final.tolist(), map(summary, bits[final].tolist()), strict=True):
                summaries[component] = value  # one by one: a tuple must not be spread over the array
        bits[level[untaken[level] == 0]] = 0  # nothing above them: taken by no one
        positions, _ = _gather(parent_pointers, level)
        above = parents[positions]
        waiting -= np.bincount(above, minlength=count)
        level = np.unique(above[waiting[above] == 0])
    node_bits = summaries[label]
    node_bits[~reached] = 0
    if needed is not None:
        node_bits[~needed] = 0
    node_best = best[label]
    node_best[~reached] = 0
    return node_bits.tolist(), node_best.tolist()
