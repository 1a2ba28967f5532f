"""The embedded store's tables built a column at a time from a version 2 snapshot's Arrow tables.

The same tables `graph.stores.rows.graph_rows` describes row by row (same columns, types, values and
order), without a Python dict per node and edge: a stored attribute is the snapshot's column, decoded
and taken for the label's (or relationship type's) rows; only the facts the path engine derives are
computed per node (usable, human, environment, within, write_class, sensitive, long_lived, entry...)
or per edge of the kinds the engine follows (traversable, mfa_free), and `target_class` once per
distinct (target, level) pair. The engine still judges every fact: this module only lays its answers
out in columns. The derived HAS_PERMISSION edges (`engine.derived_access`, few) go through the row
path (`rows.edge_facts`) and are appended to their table.

`store_tables` returns None when a snapshot holds what only the row path reproduces exactly (an
attribute whose column name clashes with another's, a node whose `id` attribute is not its id): the
store is then built from `graph_rows`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from graph import snapshot_arrow as arrow
from graph.schema import EdgeKind, Family
from graph.stores.rows import (
    BOOL,
    EDGE_COLUMNS,
    FLOAT,
    INT,
    NODE_COLUMNS,
    NODE_LABELS,
    REL_TYPES,
    STRING,
    STRINGS,
    TRAVERSED,
    coerce,
    column_name,
    edge_endpoints,
    edge_facts,
    merge_types,
    type_of,
)

ARROW_TYPES = {STRING: pa.string(), INT: pa.int64(), FLOAT: pa.float64(), BOOL: pa.bool_(),
               STRINGS: pa.list_(pa.string())}
_STORE_TYPE = {arrow_type: store_type for store_type, arrow_type in ARROW_TYPES.items()}
_ACCESS = str(EdgeKind.HAS_PERMISSION)
_IDENTITY, _RESOURCE, _CREDENTIAL = str(Family.IDENTITY), str(Family.RESOURCE), str(Family.CREDENTIAL)


@dataclass
class StoreTables:
    """Per label one Arrow table, per relationship type one per (source label, target label) pair
    (`from`, `to`, then the columns), with the column types the schema declares."""

    nodes: dict[str, pa.Table] = field(default_factory=dict)
    edges: dict[str, dict[tuple[str, str], pa.Table]] = field(default_factory=dict)
    node_columns: dict[str, dict[str, str]] = field(default_factory=dict)
    edge_columns: dict[str, dict[str, str]] = field(default_factory=dict)

    def endpoints(self, rel_type: str) -> list[tuple[str, str]]:
        return edge_endpoints(rel_type)


class _Unsupported(Exception):
    """The snapshot holds something only the row path reproduces exactly."""


class _Source:
    """One snapshot table (nodes or edges) read for a subset of its rows."""

    def __init__(self, table: pa.Table, name: str):
        self.table = table
        self.columns = arrow.attributes(table, name)  # attribute -> column
        shape = table.column(arrow.SHAPE).combine_chunks()
        self.shapes = [orjson.loads(text) for text in shape.dictionary.to_pylist()]  # checked by read_tables
        self.codes = shape.indices.to_numpy(zero_copy_only=False)
        self._plain: dict[str, pa.Array] = {}
        self._extras: list[dict[str, Any] | None] | None = None

    def keys(self, rows: np.ndarray) -> list[str]:
        """The attribute names of these rows, in the order they first appear (rows in the given order)."""
        codes, first = np.unique(self.codes[rows], return_index=True)
        names: dict[str, None] = {}
        for code in codes[np.argsort(first, kind="stable")].tolist():
            names.update(dict.fromkeys(self.shapes[code]))
        return list(names)

    def column(self, key: str) -> pa.Array:
        if key not in self._plain:
            self._plain[key] = arrow.plain(self.table.column(self.columns[key]).combine_chunks())
        return self._plain[key]

    def values(self, key: str, rows: np.ndarray) -> pa.Array | list[Any]:
        """The attribute for these rows: an Arrow array when it has a column, else Python values from
        `_extra` (None where a row does not have it)."""
        if key in self.columns:
            return self.column(key).take(pa.array(rows))
        if self._extras is None:
            self._extras = [None if raw is None else orjson.loads(raw)
                            for raw in arrow.python_values(self.table.column(arrow.EXTRA))]
        extras = self._extras
        return [None if extras[at] is None else extras[at].get(key) for at in rows.tolist()]


def _store_column(pieces: list[pa.Array | list[Any]], fixed: str | None) -> tuple[str, pa.Array]:
    """One store column from its pieces (Arrow arrays or Python values, in row order), typed and coerced
    as rows._typed does: `fixed` for a base column, else the merged type of its values (STRING when none)."""
    column_type = fixed
    if column_type is None:
        for piece in pieces:
            if isinstance(piece, list):
                for value in piece:
                    column_type = merge_types(column_type, type_of(value))
            elif piece.null_count < len(piece):
                column_type = merge_types(column_type, _STORE_TYPE.get(piece.type, STRING))
        column_type = column_type or STRING
    kind = ARROW_TYPES[column_type]
    parts = []
    for piece in [piece for piece in pieces if len(piece)] or pieces[:1]:
        if not isinstance(piece, list) and piece.type == kind:
            parts.append(piece)
        elif not isinstance(piece, list) and piece.null_count == len(piece):
            parts.append(pa.nulls(len(piece), kind))
        else:
            values = piece if isinstance(piece, list) else piece.to_pylist()
            parts.append(pa.array([coerce(value, column_type) for value in values], kind))
    return column_type, pa.concat_arrays(parts) if len(parts) != 1 else parts[0]


def _names(keys: list[str], base: dict[str, str], reserved: tuple[str, ...]) -> dict[str, str]:
    """Attribute -> column name, refusing what would make two values compete for one column."""
    names = {key: key if key in base else column_name(key) for key in keys}
    if len(set(names.values())) != len(names) or any(key in reserved for key in keys) or any(
            name in base and name != key for key, name in names.items()):
        raise _Unsupported
    return names


def _bools(values: list[Any] | np.ndarray) -> pa.Array:
    return pa.array(np.asarray(values, dtype=bool))


def _node_tables(source: _Source, ids: pa.Array, engine: Any, policy: Any, tables: StoreTables) -> np.ndarray:
    """The node tables, rows in id order (the engine's numbering); returns each snapshot row's engine number."""
    order = pc.sort_indices(ids).to_numpy()
    if source.columns.get("id") != "id" or not pc.all(pc.equal(ids.take(pa.array(order)),
                                                              pa.array(engine.ids, pa.string()))).as_py():
        raise _Unsupported
    number = np.empty(len(order), dtype=np.int64)
    number[order] = np.arange(len(order))
    families = source.column("family").take(pa.array(order)).to_numpy(zero_copy_only=False)
    usable = np.asarray(engine.usable, dtype=bool)
    entries = {entry.node: entry for entry in engine.entries()}
    is_entry = np.zeros(len(order), dtype=bool)
    is_entry[list(entries)] = True
    for label in NODE_LABELS:
        at = np.flatnonzero(families == label)  # engine numbers of the label's nodes
        rows = order[at]  # their snapshot rows
        facts: dict[str, pa.Array] = {"usable": _bools(usable[at]), "entry": _bools(is_entry[at])}
        if label == _IDENTITY:
            facts["human"] = _bools(np.asarray(engine.human, dtype=bool)[at])
        numbers = at.tolist()
        if label == _RESOURCE:
            data, node_ids = engine.data, engine.ids
            facts["environment"] = pa.array([engine.environment(i) for i in numbers], pa.string())
            facts["within"] = pa.array([[node_ids[scope] for scope in engine.within(i)] for i in numbers],
                                       pa.list_(pa.string()))
            facts["write_class"] = pa.array([engine.target_class(i, "write") for i in numbers], pa.int64())
            facts["sensitive"] = pa.array([policy.is_sensitive(node_ids[i], str(data[i].get("name", "")),
                                                                data[i].get("sensitivity")) for i in numbers],
                                          pa.bool_())
        long_lived: list[Any] = []
        if label == _CREDENTIAL:
            long_lived = [policy.is_long_lived(engine.data[i].get("age_days"), engine.data[i].get("expires"))
                          for i in numbers]
            facts["long_lived"] = pa.array(long_lived, pa.bool_())
        mine = [(k, entries[i]) for k, i in enumerate(numbers) if i in entries]
        entry_rows = pa.array([k for k, _ in mine], pa.int64())
        entry_facts = {
            "entry_human": [entry.human for _, entry in mine],
            "entry_mfa": [entry.mfa for _, entry in mine],
            "entry_no_mfa": [(entry.human or policy.mfa_applies_to_machines) and entry.mfa is not True
                             for _, entry in mine],
            "entry_long_lived_nhi": [bool(entry.is_credential and not entry.human and long_lived and long_lived[k])
                                     for k, entry in mine],
        }
        keys = source.keys(rows) if len(rows) else []
        names = _names(keys, NODE_COLUMNS, ())
        columns: dict[str, str] = {}
        arrays: dict[str, pa.Array] = {}
        present = set(keys)
        for key in [*NODE_COLUMNS, *(key for key in keys if key not in NODE_COLUMNS)]:
            name = names.get(key, key)
            fixed = NODE_COLUMNS.get(name)
            if key in facts:
                columns[name], arrays[name] = _store_column([facts[key]], fixed)
                continue
            pieces = [source.values(key, rows)] if key in present else [pa.nulls(len(rows), pa.string())]
            columns[name], arrays[name] = _store_column(pieces, fixed)
            if key in entry_facts and mine:
                found = pa.array([coerce(value, columns[name]) for value in entry_facts[key]],
                                 ARROW_TYPES[columns[name]])
                mask = np.zeros(len(rows), dtype=bool)
                mask[entry_rows.to_numpy()] = True
                spread = pa.nulls(len(rows), found.type) if not len(found) else _spread(found, entry_rows, len(rows))
                arrays[name] = pc.if_else(pa.array(mask), spread, arrays[name])
        tables.node_columns[label] = columns
        tables.nodes[label] = pa.table(arrays)
    return number


def _spread(values: pa.Array, at: pa.Array, size: int) -> pa.Array:
    """`values` at positions `at` of an array of `size` (null elsewhere)."""
    where = np.full(size, len(values), dtype=np.int64)
    where[at.to_numpy()] = np.arange(len(values))
    return pa.concat_arrays([values, pa.nulls(1, values.type)]).take(pa.array(where))


def _edge_tables(source: _Source, ids: pa.Array, engine: Any, number: np.ndarray, families: np.ndarray,
                 tables: StoreTables) -> None:
    edges = source.table
    sources = edges.column("source").combine_chunks().to_numpy()
    targets = edges.column("target").combine_chunks().to_numpy()
    kinds = source.column("kind").to_numpy(zero_copy_only=False)
    usable = np.asarray(engine.usable, dtype=bool)
    u_all, v_all = number[sources], number[targets]
    derived: dict[str, list[dict[str, Any]]] = {rel: [] for rel in REL_TYPES}
    for u_id, v_id, data in engine.derived_access:
        derived[str(data["kind"])].append(edge_facts(engine, u_id, v_id, data))
    levels = engine.policy.privileged_levels
    for rel in REL_TYPES:
        rows = np.flatnonzero(kinds == rel)
        extra_rows = derived[rel]
        u, v = u_all[rows], v_all[rows]
        facts: dict[str, pa.Array] = {}
        if rel == _ACCESS:
            facts["traversable"] = _bools(usable[u])
            required = source.values("mfa_required", rows) if "mfa_required" in source.keys(rows) else None
            if required is None:
                facts["mfa_free"] = _bools(np.ones(len(rows), dtype=bool))
            elif isinstance(required, list):
                facts["mfa_free"] = _bools([value is not True for value in required])
            else:
                facts["mfa_free"] = pc.invert(pc.fill_null(pc.equal(required, True), False)) \
                    if pa.types.is_boolean(required.type) else _bools(np.ones(len(rows), dtype=bool))
            facts["target_class"] = _target_classes(source, rows, v, engine, levels)
        elif rel in TRAVERSED:  # the engine's judgement of each edge (PathEngine.from_tables)
            traversable, mfa_free = engine.edge_judgement
            facts["traversable"] = _bools(traversable[rows])
            facts["mfa_free"] = _bools(mfa_free[rows])
        else:
            facts["traversable"] = _bools(np.zeros(len(rows), dtype=bool))
            facts["mfa_free"] = _bools(np.ones(len(rows), dtype=bool))
        keys = source.keys(rows) if len(rows) else []
        extra_keys = dict.fromkeys(keys)
        for row in extra_rows:
            extra_keys.update(dict.fromkeys(key for key in row if key not in ("source", "target")))
        if "assumed" in keys:
            assumed = source.values("assumed", rows)
            facts["assumed"] = _bools([value is True for value in assumed]) if isinstance(assumed, list) else (
                pc.fill_null(pc.equal(assumed, True), False) if pa.types.is_boolean(assumed.type)
                else _bools(np.zeros(len(rows), dtype=bool)))
        else:
            facts["assumed"] = _bools(np.zeros(len(rows), dtype=bool))
        names = _names([key for key in extra_keys if key not in facts], EDGE_COLUMNS, ("source", "target"))
        columns: dict[str, str] = {}
        arrays: dict[str, pa.Array] = {}
        present = set(keys)
        for key in [*EDGE_COLUMNS, *(key for key in extra_keys if key not in EDGE_COLUMNS)]:
            name = names.get(key, key)
            if key in facts:
                pieces = [facts[key]]
            elif key in present:
                pieces = [source.values(key, rows)]
            else:
                pieces = [pa.nulls(len(rows), pa.string())]
            pieces.append([row.get(key) for row in extra_rows])
            columns[name], arrays[name] = _store_column(pieces, EDGE_COLUMNS.get(name))
        tables.edge_columns[rel] = columns
        ends = pa.concat_arrays([ids.take(pa.array(sources[rows])),
                                 pa.array([row["source"] for row in extra_rows], pa.string())])
        starts_at = pa.concat_arrays([ids.take(pa.array(targets[rows])),
                                      pa.array([row["target"] for row in extra_rows], pa.string())])
        table = pa.table({"from": ends, "to": starts_at, **arrays})
        index = engine.index
        extra_u = np.array([index[row["source"]] for row in extra_rows], dtype=np.int64)
        extra_v = np.array([index[row["target"]] for row in extra_rows], dtype=np.int64)
        pair_from = np.concatenate([families[u], families[extra_u]]) if len(extra_rows) else families[u]
        pair_to = np.concatenate([families[v], families[extra_v]]) if len(extra_rows) else families[v]
        grouped: dict[tuple[str, str], pa.Table] = {}
        for pair in sorted({*zip(pair_from.tolist(), pair_to.tolist())}):
            grouped[pair] = table.filter(pa.array((pair_from == pair[0]) & (pair_to == pair[1])))
        tables.edges[rel] = grouped


def _target_classes(source: _Source, rows: np.ndarray, v: np.ndarray, engine: Any, levels: frozenset[str]) -> pa.Array:
    """`target_class` of HAS_PERMISSION edges: the engine's class per distinct (target, level) pair,
    0 where the level is not privileged."""
    level = source.values("level", rows) if "level" in source.keys(rows) else [None] * len(rows)
    if isinstance(level, list):
        level = pa.array([value if isinstance(value, str) else None for value in level], pa.string()) \
            if all(value is None or isinstance(value, str) for value in level) else None
    elif not pa.types.is_string(level.type):
        level = None
    if level is None:  # not all strings: judge per edge, as the row path does
        values = source.values("level", rows)
        values = values if isinstance(values, list) else values.to_pylist()
        return pa.array([engine.target_class(b, lv) if lv in levels else 0
                         for b, lv in zip(v.tolist(), values, strict=True)], pa.int64())
    encoded = level.dictionary_encode()
    names = encoded.dictionary.to_pylist()
    codes = encoded.indices.fill_null(len(names)).to_numpy(zero_copy_only=False).astype(np.int64)
    pairs, inverse = np.unique(v * (len(names) + 1) + codes, return_inverse=True)
    classes = []
    for pair in pairs.tolist():
        target, code = divmod(pair, len(names) + 1)
        name = names[code] if code < len(names) else None
        classes.append(engine.target_class(target, name) if name in levels else 0)
    return pa.array(np.asarray(classes, dtype=np.int64)[inverse.reshape(-1)] if len(pairs) else
                    np.zeros(0, dtype=np.int64))


def store_tables(nodes: pa.Table, edges: pa.Table, policy: Any) -> StoreTables | None:
    """The store's tables from a snapshot's tables, with the facts of the path engine compiled on them
    (PathEngine.from_tables: no networkx graph), or None when only the row path (graph_rows) reproduces
    this snapshot exactly."""
    from queries.paths import PathEngine  # the stores read the engine's judgement, never re-implement it

    engine = PathEngine.from_tables(nodes, edges, policy)
    tables = StoreTables()
    try:
        node_source = _Source(nodes, "nodes")
        ids = node_source.column("id")
        number = _node_tables(node_source, ids, engine, policy, tables)
        families = np.asarray([str(data.get("family")) for data in engine.data], dtype=object)
        _edge_tables(_Source(edges, "edges"), ids, engine, number, families, tables)
    except _Unsupported:
        return None
    return tables
