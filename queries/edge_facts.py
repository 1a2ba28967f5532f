"""What the path engine reads of each edge, as columns: from a networkx graph or from a snapshot's tables.

The engine (queries/paths.py) judges edges on these columns with numpy, the same way whichever the
source: `from_graph` walks the graph's adjacency once (the order `graph.edges(keys=True, data=True)`
gives, which is also the order a snapshot's edge table is written in), `from_tables` takes a version 2
snapshot's columns without building a dict per edge. Only the edges the engine may use are kept (a
HAS_PERMISSION at a privileged level, and every edge of a kind it follows or that signs in to an
identity), in that order; every edge is counted.

An attribute is read as the engine reads it from the edge's dict: a tri-state (`mfa`, `mfa_required`,
`verified`) is TRUE only when the value is True, FALSE only when it is False, else OTHER (absent, None);
`grant_scope` and `derived` by their truth. The engine reads each only on the kinds it is judged on
(`level` and `derived` on HAS_PERMISSION, `mfa` on AUTHENTICATES, `verified` on FEDERATES_TO,
`grant_scope` on CAN_GRANT, `mfa_required` on all): from_graph reads it from those edges alone.
`data(i)` gives the edge's attribute dict: the graph's own dict, or one built from the tables on first
use (kept, so that it is the same dict every time).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter
from typing import Any

import networkx as nx
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from graph import snapshot_arrow as arrow
from graph.schema import LEVELS, TRAVERSED_EDGES, EdgeKind

KINDS = tuple(str(kind) for kind in EdgeKind)  # a kind's code is its position; -1 for a kind not in EdgeKind
KIND_CODE = {kind: code for code, kind in enumerate(KINDS)}
LEVEL_CODE = {level: code for code, level in enumerate(LEVELS)}  # -1 for no level or another value
TRUE, FALSE, OTHER = 1, 0, -1
_ACCESS = str(EdgeKind.HAS_PERMISSION)
# Kinds read besides HAS_PERMISSION: those followed, and those that sign in to an identity (entries).
_READ_KINDS = frozenset(str(kind) for kind in TRAVERSED_EDGES) | {str(EdgeKind.FEDERATES_TO)}
_TRI_PROPS = ("mfa", "mfa_required", "verified")
_TRUTH_PROPS = ("grant_scope", "derived")


def _tri(value: Any) -> int:
    return TRUE if value is True else FALSE if value is False else OTHER


_TRI_CODE = {True: TRUE, False: FALSE}
_BOOL_OR_NONE = frozenset({bool, type(None)})


@dataclass
class EdgeFacts:
    """The edges the engine may use, in the graph's edge order: endpoints as engine node numbers, kind and
    level as codes, the tri-states and truths above; `count` is every edge of the graph."""

    count: int
    u: np.ndarray
    v: np.ndarray
    kind: np.ndarray
    level: np.ndarray
    mfa: np.ndarray
    mfa_required: np.ndarray
    verified: np.ndarray
    grant_scope: np.ndarray
    derived: np.ndarray
    data: Callable[[int], dict[str, Any]]  # fact number -> the edge's attribute dict
    prefetch: Callable[[np.ndarray], None]  # make data() of these fact numbers cheap (built in one pass)
    rows: np.ndarray | None = None  # from_tables: each fact's row in the edge table


def from_graph(graph: nx.MultiDiGraph, index: dict[str, int], privileged: frozenset[str],
               ids: list[str] | None = None) -> EdgeFacts:
    """The facts of a networkx graph's edges. `ids`: walk only these nodes' edges among themselves, in
    this order (an engine on part of a graph). Each attribute is read only from the edges of the kinds
    it is judged on (_READ_FOR): one pass over a million scattered dicts costs a tenth of a second."""
    dicts: list[dict[str, Any]] = []
    us: list[int] = []
    vs: list[int] = []
    kinds: list[str] = []
    count = 0
    adjacency = graph.adjacency()
    if ids is not None:
        outgoing = dict(adjacency)
        adjacency = ((u_id, {v_id: keyed for v_id, keyed in outgoing[u_id].items() if v_id in index})
                     for u_id in ids)
    read_kinds = _READ_KINDS
    for u_id, neighbours in adjacency:
        u = index[u_id]
        for v_id, keyed in neighbours.items():
            count += len(keyed)
            v = -1
            for data in keyed.values():
                kind = data["kind"]
                if kind == _ACCESS:
                    if data.get("level") not in privileged:
                        continue
                elif kind not in read_kinds:
                    continue
                if v < 0:
                    v = index[v_id]
                us.append(u)
                vs.append(v)
                kinds.append(kind)
                dicts.append(data)
    size = len(dicts)
    kind_codes = np.fromiter(map(KIND_CODE.get, kinds, repeat(-1)), np.int8, size)
    del kinds
    read: dict[str, np.ndarray] = {}
    for key, (codes, default, convert) in _READ_FOR.items():
        at = np.flatnonzero(np.isin(kind_codes, codes)) if codes is not None else np.arange(size)
        values = list(map(dict.get, dicts if len(at) == size else _at(dicts, at), repeat(key)))
        read[key] = np.full(size, default, dtype=bool if isinstance(default, bool) else np.int8)
        read[key][at] = np.fromiter(convert(values), read[key].dtype, len(values))
    return EdgeFacts(
        count=count, u=np.array(us, dtype=np.int64), v=np.array(vs, dtype=np.int64), kind=kind_codes, **read,
        data=dicts.__getitem__, prefetch=lambda numbers: None,
    )


def _at(items: list[Any], positions: np.ndarray) -> list[Any]:
    return [items[position] for position in positions.tolist()] if len(positions) < 2 else list(
        itemgetter(*positions.tolist())(items))


def _tri_codes(values: list[Any]) -> Iterable[int]:
    """TRUE for True, FALSE for False, else OTHER: by a dict when every value is a bool or None (1 == True
    would otherwise read as True), else value by value."""
    if set(map(type, values)) <= _BOOL_OR_NONE:
        return map(_TRI_CODE.get, values, repeat(OTHER))
    return map(_tri, values)


def _string_codes(values: list[Any], code: dict[str, int]) -> list[int]:
    """Each value's code, -1 for one that is not a str in `code` (absent, null, another type)."""
    return [code.get(value, -1) if isinstance(value, str) else -1 for value in values]


def _level_codes(values: list[Any]) -> Iterable[int]:
    return _string_codes(values, LEVEL_CODE)


# attribute -> (the kind codes it is judged on, None: every kind; its value elsewhere; how values become codes)
_READ_FOR: dict[str, tuple[list[int] | None, Any, Callable[[list[Any]], Iterable[Any]]]] = {
    "level": ([KIND_CODE[_ACCESS]], -1, _level_codes),
    "mfa": ([KIND_CODE[str(EdgeKind.AUTHENTICATES)]], OTHER, _tri_codes),
    "mfa_required": (None, OTHER, _tri_codes),
    "verified": ([KIND_CODE[str(EdgeKind.FEDERATES_TO)]], OTHER, _tri_codes),
    "grant_scope": ([KIND_CODE[str(EdgeKind.CAN_GRANT)]], False, lambda values: map(bool, values)),
    "derived": ([KIND_CODE[_ACCESS]], False, lambda values: map(bool, values)),
}


class _TableColumns:
    """An edge table's attributes as whole columns: Arrow where the snapshot has a column, else the few rows
    (their shape says which) whose value is in `_extra`."""

    def __init__(self, edges: pa.Table):
        self.table = edges
        self.columns = arrow.attributes(edges, "edges")
        shape = edges.column(arrow.SHAPE).combine_chunks()
        self.shapes = [arrow.shape_keys(text, "edges") for text in shape.dictionary.to_pylist()]
        self.codes = shape.indices.to_numpy(zero_copy_only=False)

    def extras(self, key: str) -> tuple[np.ndarray, list[Any]]:
        """Rows whose `key` is in `_extra` (not in a column), and their values."""
        if key in self.columns:
            return np.zeros(0, dtype=np.int64), []
        having = [code for code, names in enumerate(self.shapes) if key in names]
        rows = np.flatnonzero(np.isin(self.codes, having))
        if not len(rows):
            return rows, []
        raw = arrow.python_values(self.table.column(arrow.EXTRA).take(pa.array(rows)))
        try:
            return rows, [orjson.loads(blob)[key] for blob in raw]
        except (orjson.JSONDecodeError, TypeError, KeyError):
            raise arrow.FormatError(f"a row of the edges table has no value for its attribute {key!r}") from None

    def codes_of(self, key: str, code: dict[str, int]) -> np.ndarray:
        """A string attribute as codes (-1 where absent, null or not in `code`)."""
        out = np.full(self.table.num_rows, -1, dtype=np.int64)
        if key in self.columns:
            array = self.table.column(self.columns[key]).combine_chunks()
            if not pa.types.is_dictionary(array.type):
                array = array.dictionary_encode() if pa.types.is_string(array.type) else None
            if array is not None and pa.types.is_string(array.type.value_type):
                names = array.dictionary.to_pylist()
                lookup = np.array([code.get(name, -1) for name in names] + [-1], dtype=np.int64)
                out = lookup[array.indices.fill_null(len(names)).to_numpy(zero_copy_only=False).astype(np.int64)]
            else:  # not strings: each value as the engine would read it
                out = np.array(_string_codes(arrow.python_values(self.table.column(self.columns[key])), code),
                               dtype=np.int64)
        rows, values = self.extras(key)
        out[rows] = _string_codes(values, code)
        return out

    def tri(self, key: str) -> np.ndarray:
        out = np.full(self.table.num_rows, OTHER, dtype=np.int8)
        if key in self.columns:
            array = self.table.column(self.columns[key]).combine_chunks()
            if pa.types.is_boolean(array.type):
                known = array.is_valid().to_numpy(zero_copy_only=False)
                true = pc.fill_null(array, False).to_numpy(zero_copy_only=False)
                out[known] = np.where(true[known], TRUE, FALSE)
            else:
                out = np.fromiter(_tri_codes(arrow.python_values(array)), np.int8, len(array))
        rows, values = self.extras(key)
        out[rows] = list(_tri_codes(values))
        return out

    def truth(self, key: str) -> np.ndarray:
        array = self.table.column(self.columns[key]).combine_chunks() if key in self.columns else None
        if array is not None and pa.types.is_boolean(array.type):
            out = pc.fill_null(array, False).to_numpy(zero_copy_only=False).copy()
        elif array is not None:
            out = np.fromiter(map(bool, arrow.python_values(array)), bool, len(array))
        else:
            out = np.zeros(self.table.num_rows, dtype=bool)
        rows, values = self.extras(key)
        out[rows] = list(map(bool, values))
        return out


def from_tables(edges: pa.Table, number_of_row: np.ndarray, privileged: frozenset[str]) -> EdgeFacts:
    """The facts of a snapshot's edge table (checked by read_tables); `number_of_row`: the engine number
    of each node table row."""
    columns = _TableColumns(edges)
    kind = columns.codes_of("kind", KIND_CODE)
    level = columns.codes_of("level", LEVEL_CODE)
    privileged_codes = [LEVEL_CODE[name] for name in privileged if name in LEVEL_CODE]
    read_codes = [KIND_CODE[name] for name in _READ_KINDS]
    rows = np.flatnonzero(((kind == KIND_CODE[_ACCESS]) & np.isin(level, privileged_codes)) | np.isin(kind, read_codes))
    sources = arrow.ints(edges.column("source"))
    targets = arrow.ints(edges.column("target"))
    made: dict[int, dict[str, Any]] = {}  # fact number -> its dict, as records() builds it

    def prefetch(numbers: np.ndarray) -> None:
        wanted = np.unique(np.asarray(numbers, dtype=np.int64))
        wanted = wanted[[number not in made for number in wanted.tolist()]]
        if len(wanted):
            made.update(zip(wanted.tolist(), arrow.records(arrow.rows_table(edges, rows[wanted]), "edges"), strict=True))

    def data(number: int) -> dict[str, Any]:
        found = made.get(number)
        if found is None:
            prefetch(np.array([number]))
            found = made[number]
        return found

    return EdgeFacts(
        count=edges.num_rows,
        u=number_of_row[sources[rows]].astype(np.int64), v=number_of_row[targets[rows]].astype(np.int64),
        kind=kind[rows].astype(np.int8), level=level[rows].astype(np.int8),
        **{key: columns.tri(key)[rows] for key in _TRI_PROPS},
        **{key: columns.truth(key)[rows] for key in _TRUTH_PROPS},
        data=data, prefetch=prefetch, rows=rows,
    )
