"""The path engine's searches on integer arrays (numpy, scipy): Python runs per search level, not per edge.

Every function here takes and returns arrays over the engine's node numbers (queries/paths.py) and keeps
the exact answers of a plain FIFO breadth-first search: where two shortest paths tie, the one a queue
would have found first. tests/test_path_arrays.py compares each with a plain Python version on random
graphs.
"""

from __future__ import annotations

from collections import Counter
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


def kept_rows(pointers: np.ndarray, keep: np.ndarray, *columns: np.ndarray) -> tuple[np.ndarray, ...]:
    """A by_row layout with only the entries the mask `keep` marks, each row's in their order: what by_row
    gives for those edges alone, without sorting again."""
    kept_before = np.zeros(len(keep) + 1, dtype=np.int64)  # entries kept among the first i
    np.cumsum(keep, out=kept_before[1:])
    return (kept_before[pointers], *(column[keep] for column in columns))


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


class _Sets:
    """Sets of target numbers below `width`: a frozenset while small, a Python-int bitset once larger than
    `small`. A bitset costs its width on every union however few bits it has; most identities reach a few
    targets out of hundreds of thousands (300,000 identities: 4 of 52,600 at the median, 120 at most), and
    a few reach most of them, which a bitset unites fastest."""

    SMALLEST = 16  # a frozenset of up to this many (tests lower it to mix the two kinds in small graphs)

    def __init__(self, width: int):
        self.small = max(self.SMALLEST, width // 1024)  # about where a union of frozensets costs an OR

    def bitset(self, members: frozenset[int] | int) -> int:
        if isinstance(members, int):
            return members
        if not members:
            return 0
        buffer = bytearray((max(members) >> 3) + 1)
        for position in members:
            buffer[position >> 3] |= 1 << (position & 7)
        return int.from_bytes(buffer, "little")

    def union(self, sets: list[frozenset[int] | int], small: bool) -> frozenset[int] | int:
        """The union of these sets; `small`: every one of them is a frozenset. Sets are never changed, so
        a union with nothing else to add is that set itself (a chain of components shares one)."""
        sets = [members for members in sets if members]
        if len(sets) < 2:
            return sets[0] if sets else _EMPTY
        if small:
            return self._fitted(frozenset().union(*sets))
        value = 0
        for members in sets:
            value |= self.bitset(members)
        return value

    def of(self, positions: list[int]) -> frozenset[int] | int:
        return self._fitted(frozenset(positions))

    def _fitted(self, members: frozenset[int]) -> frozenset[int] | int:
        """The set as it is kept: a frozenset up to `small` members, else its bitset."""
        return members if len(members) <= self.small else self.bitset(members)


class _Tally:
    """How many targets a set holds, in all and per group (`groups`: the group of every target number)."""

    def __init__(self, groups: np.ndarray):
        self.group_of = groups.tolist()
        self.masks = []  # per group: the bitset of its targets, made at once from a packed bitmap
        for group in range(int(groups.max()) + 1 if len(groups) else 0):
            packed = np.packbits(groups == group, bitorder="little").tobytes()
            self.masks.append(int.from_bytes(packed, "little"))

    def __call__(self, value: frozenset[int] | int) -> tuple[int, dict[int, int]]:
        if type(value) is int:
            return value.bit_count(), {group: found for group, mask in enumerate(self.masks)
                                       if (found := (value & mask).bit_count())}
        return len(value), dict(sorted(Counter(map(self.group_of.__getitem__, value)).items()))


_EMPTY: frozenset[int] = frozenset()


def reach(n: int, reached: np.ndarray, sources: np.ndarray, targets: np.ndarray, holder: np.ndarray,
          bit: np.ndarray, target_class: np.ndarray, needed: np.ndarray | None = None,
          groups: np.ndarray | None = None) -> tuple[list[Any], list[int]]:
    """Per node: the bitset (a Python int) of the targets it reaches over the edges sources[k] -> targets[k]
    among `reached` nodes, and the highest class among them. Node holder[j] holds target bit[j] of class
    target_class[j] itself. The strongly connected components (scipy) are condensed and their sets united
    level by level from the sinks up (_Sets: small ones as frozensets, large ones as bitsets).

    `needed` (a node mask): the nodes asked for; every other node's bitset comes back 0. `groups` (a group
    number for each target number 0 .. max(bit), e.g. its provider's): instead of its bitset, each needed node gets how many targets
    it reaches and how many of them each group has ({group: count}, in group order, none at 0). Each
    component's set is let go once every component above it has taken it in, so with `groups` only the
    frontier of the climb is held."""
    keep = reached[sources] & reached[targets]
    sources, targets = sources[keep], targets[keep]
    matrix = csr_matrix((np.ones(len(sources), dtype=bool), (sources, targets)), shape=(n, n))
    count, label = connected_components(matrix, directed=True, connection="strong")
    label = label.astype(np.int64)
    sets = _Sets(int(bit.max()) + 1 if len(bit) else 0)
    reaches = np.full(count, _EMPTY, dtype=object)  # per component: the targets it reaches (so far)
    held = label[holder]
    order = np.argsort(held, kind="stable")
    components, first = np.unique(held[order], return_index=True)
    positions = bit[order].tolist()
    bounds = [*first.tolist(), len(positions)]
    big = np.zeros(count, dtype=bool)  # a bitset, not a frozenset
    for component, begin, end in zip(components.tolist(), bounds, bounds[1:], strict=False):
        reaches[component] = value = sets.of(positions[begin:end])
        if type(value) is int:
            big[component] = True
    best = np.zeros(count, dtype=np.int64)
    np.maximum.at(best, held, target_class)

    upper, lower = label[sources], label[targets]
    between = upper != lower
    pairs = np.unique(upper[between] * count + lower[between])
    upper, lower = pairs // count, pairs % count  # condensation edges, grouped by upper
    child_pointers, children = by_row(count, upper, lower)
    parent_pointers, parents = by_row(count, lower, upper)
    waiting = np.diff(child_pointers)  # children not yet final
    untaken = np.diff(parent_pointers)  # parents that have not yet taken the component's set in
    kept = np.ones(count, dtype=bool)
    if needed is not None:
        kept[:] = False
        kept[label[needed & reached]] = True
    summaries = np.zeros(count, dtype=object)
    tally = None if groups is None else _Tally(groups)
    union = sets.union
    level = np.flatnonzero(waiting == 0)
    while level.size:
        at, counts = _gather(child_pointers, level)
        inner = level[counts > 0]
        if inner.size:
            inner_counts = counts[counts > 0]
            starts = np.cumsum(inner_counts) - inner_counts
            child = children[at]
            child_sets = reaches[child].tolist()
            small = ~(np.logical_or.reduceat(big[child], starts) | big[inner])
            for component, begin, size, all_small in zip(inner.tolist(), starts.tolist(), inner_counts.tolist(),
                                                          small.tolist(), strict=True):
                reaches[component] = value = union([reaches[component], *child_sets[begin:begin + size]], all_small)
                big[component] = type(value) is int
            best[inner] = np.maximum(best[inner], np.maximum.reduceat(best[child], starts))
            untaken -= np.bincount(child, minlength=count)
            reaches[child[untaken[child] == 0]] = _EMPTY  # every component above has it now
        for component in level[kept[level]].tolist():
            value = reaches[component]
            summaries[component] = sets.bitset(value) if tally is None else tally(value)
        reaches[level[untaken[level] == 0]] = _EMPTY  # nothing above them: taken by no one
        at, _ = _gather(parent_pointers, level)
        above = parents[at]
        waiting -= np.bincount(above, minlength=count)
        level = np.unique(above[waiting[above] == 0])
    node_sets = summaries[label]
    node_sets[~reached] = 0
    if needed is not None:
        node_sets[~needed] = 0
    node_best = best[label]
    node_best[~reached] = 0
    return node_sets.tolist(), node_best.tolist()
