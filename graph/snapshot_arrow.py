"""Snapshot format version 2: one file, a JSON header and two Arrow IPC tables, read memory-mapped.

Layout (docs/snapshot.md)::

    MAGIC (b"CROSSPATH-SNAPSHOT\\0")  uint64 little-endian header length  header JSON
    padding to 64 bytes | nodes section (Arrow IPC file) | padding to 64 bytes | edges section (Arrow IPC file)

The header is ``{"format", "version": 2, "sections": {"nodes": {"offset", "length"}, "edges": {...}},
"metadata"}``; offsets are absolute and 64-byte aligned. Reading maps the file (`pyarrow.memory_map`)
and opens each section in place: the tables' buffers are the file's pages, nothing is copied.

Columns. Nodes: `id` (the networkx node), `_shape`, `_extra`, then one column per attribute typed at
write time; edges: `source`, `target` (int32 row numbers in the nodes table), `key` (the networkx edge
key; null when it is `f"{kind}|{via}"`), `_shape`, `_extra`, then the attribute columns. An attribute
gets its own column when every value it has (None aside) is of one type: str, bool, int (64-bit), float,
or a list of str; strings repeated enough are dictionary-encoded. Everything else (mixed types, nested
lists, objects, names that clash with a structural column) goes into `_extra`, the orjson bytes of
the record's remaining attributes. `_shape` (dictionary-encoded) is the JSON list of the record's
attribute names in their order: it tells an absent attribute (not in the shape) from a None one (in
the shape, null in its column) and gives the dicts back their key order, so a round trip is exact.
An attribute on fewer than one record in RARE goes to `_extra` too (a column of nulls costs more), and
dictionary indices take the narrowest integer type. The schema's metadata `crosspath:attributes` maps
each attribute with a column to that column (`{"id": "id", "mfa": "mfa", ...}`).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterable
from itertools import chain, pairwise, repeat
from operator import itemgetter
from typing import Any

import networkx as nx
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import ipc

from graph.bulk import Graph

MAGIC = b"CROSSPATH-SNAPSHOT\0"
VERSION = 2
ALIGN = 64
_LENGTH = struct.Struct("<Q")
HEADER_START = len(MAGIC) + _LENGTH.size
ATTRIBUTES_KEY = b"crosspath:attributes"
SHAPE, EXTRA = "_shape", "_extra"
NODE_COLUMNS = ("id", "family", "kind", "provider", "name", "scope")  # always written, in this order
EDGE_COLUMNS = ("kind", "via")
NODE_RESERVED = frozenset({SHAPE, EXTRA})
EDGE_RESERVED = frozenset({"source", "target", "key", SHAPE, EXTRA})
RARE = 100  # an attribute on fewer than 1 record in RARE goes to `_extra`


class FormatError(Exception):
    """A damaged or foreign version 2 file; graph.snapshot turns it into a SnapshotError naming the file."""


# ---------------------------------------------------------------------------------------------- writing

_TYPES = {str: pa.string(), bool: pa.bool_(), int: pa.int64(), float: pa.float64(), list: pa.list_(pa.string())}
_NONE = type(None)
COMPRESSIONS = (None, "lz4", "zstd")  # Arrow IPC buffer compression; the reader takes any of them
COMPRESSION = "zstd"  # what write_snapshot uses (docs/snapshot.md: sizes and times of each)


def _column_type(parts: list[Any]) -> pa.DataType | None:
    """The column type every value of an attribute fits (None aside), or None: it goes to `_extra`."""
    kinds = set()
    for values in parts:
        kinds.update(map(type, values))
    kinds.discard(_NONE)
    if len(kinds) > 1:
        return None
    kind = kinds.pop() if kinds else str
    if kind is list:
        items: set[type] = set()
        for values in parts:
            items.update(map(type, chain.from_iterable(filter(None, values))))
        if not items <= {str}:
            return None
    return _TYPES.get(kind)


def _encoded(array: pa.Array) -> pa.Array:
    """A string column dictionary-encoded when its values repeat enough to save space and conversion
    time (one Python string per distinct value on reading); one hashing pass decides and encodes."""
    if not len(array):
        return array
    encoded = pc.dictionary_encode(array)
    return _narrow(encoded) if len(encoded.dictionary) * 2 <= len(array) else array


def _maybe_dictionary(array: pa.Array) -> pa.Array:
    """Dictionary-encode a string column (or a list's strings) when values repeat enough."""
    if pa.types.is_list(array.type):
        values = array.flatten()
        encoded = _encoded(values)
        if encoded is values:
            return array
        offsets = pc.subtract(array.offsets, array.offsets[0])
        return pa.ListArray.from_arrays(offsets, encoded, mask=array.is_null() if array.null_count else None)
    if pa.types.is_string(array.type):
        return _encoded(array)
    return array


def _narrow(array: pa.DictionaryArray) -> pa.DictionaryArray:
    """The smallest index type the dictionary needs: one byte a row for `family`, not four."""
    size = len(array.dictionary)
    kind = pa.int8() if size <= 127 else pa.int16() if size <= 32767 else pa.int32()
    return pa.DictionaryArray.from_arrays(array.indices.cast(kind), array.dictionary)


def _shapes(records: list[dict[str, Any]]) -> tuple[list[tuple[str, ...]], np.ndarray]:
    """The records' shapes (their attribute names, in order) and each record's shape code."""
    names = list(map(tuple, records))
    shape_ids = {shape: code for code, shape in enumerate(dict.fromkeys(names))}
    codes = np.fromiter(map(shape_ids.__getitem__, names), np.int32, len(names))
    del names
    for shape in shape_ids:
        if not all(type(name) is str for name in shape):
            bad = next(name for name in shape if type(name) is not str)
            raise FormatError(f"a property name is not a string ({bad!r}); snapshot properties are named by strings")
    return list(shape_ids), codes


def _in_record_order(parts: dict[int, Any], groups: list[np.ndarray], count: int) -> np.ndarray:
    """An attribute's values (per shape code, in that shape's rows `groups[code]`) as one column in the
    records' order, None where a record's shape lacks it: placed by numpy, for Arrow to convert once."""
    column = np.full(count, None, dtype=object)
    for code, values in parts.items():
        column[groups[code]] = np.fromiter(values, dtype=object, count=len(values))  # a list stays one value
    return column


KEY_SLICE = 1 << 17  # edges whose keys _stored_keys compares at once


def _stored_keys(keys: list[str], kind: pa.Array | None, via: pa.Array | None) -> pa.Array:
    """The edge keys as stored: null where a key is f"{kind}|{via}", which the reader derives again (all of
    them when the kind or the via column is missing). A slice of KEY_SLICE rows at a time, so that the keys
    and the joined strings are held as Arrow strings for one slice, not for every edge (300,000 identities:
    the writer's Arrow memory peaked at 829 MB, against 1,339 MB with every key and column whole)."""
    if kind is None or via is None:
        return pa.array(keys, pa.string())
    parts, rows = [], KEY_SLICE
    for start in range(0, len(keys), rows):
        key = pa.array(keys[start:start + rows], pa.string())
        derived = pc.binary_join_element_wise(kind.slice(start, rows), via.slice(start, rows), "|")
        same = pc.fill_null(pc.equal(key, derived), False)
        parts.append(pc.if_else(same, pa.scalar(None, pa.string()), key))
    return pa.concat_arrays(parts) if parts else pa.array([], pa.string())


def _table(records: list[dict[str, Any]], first: dict[str, pa.Array | list[str]], reserved: frozenset[str],
           always: tuple[str, ...], from_first: dict[str, str]) -> pa.Table:
    """`first`: the structural columns (an edge table's string keys as a list, stored by _stored_keys);
    `reserved`: names never given an attribute column; `always`:
    string columns written even when empty; `from_first`: attributes whose values are a structural
    column's (a node's `id`).

    The records are grouped by shape and each record is read once (`itemgetter` of its shape's names:
    every value at once, then transposed into one sequence per attribute); each attribute's type is
    checked on those sequences and Arrow builds the column with it, never inferring one."""
    shapes, codes = _shapes(records)
    counts = np.bincount(codes, minlength=len(shapes)).tolist() if len(records) else []
    order = np.argsort(codes, kind="stable")
    groups: list[np.ndarray] = []  # each shape's rows
    values: dict[str, dict[int, Any]] = {}  # attribute -> shape code -> its values in that shape's rows
    start = 0
    for code, (shape, count) in enumerate(zip(shapes, counts, strict=True)):
        rows = order[start:start + count]
        start += count
        groups.append(rows)
        if not shape:
            continue
        group = _pick(records, rows)  # one pass over each record: all its values at once
        columns_of = zip(*map(itemgetter(*shape), group)) if len(shape) > 1 else [list(map(itemgetter(shape[0]), group))]
        for name, column in zip(shape, columns_of, strict=True):
            values.setdefault(name, {})[code] = column
    columns = dict(first)
    plan: dict[str, pa.Array] = {}
    rare = len(records) // RARE
    for name, parts in values.items():
        if name in from_first or name in reserved:
            continue
        if name not in always and sum(map(len, parts.values())) < rare:
            continue  # a column of nulls but for a few rows costs more than its few values in `_extra`
        kind = _column_type(list(parts.values()))
        if kind is None or (name in always and kind != pa.string()):
            continue
        try:
            array = pa.array(parts[0] if len(shapes) == 1 else _in_record_order(parts, groups, len(records)), kind)
        except (OverflowError, pa.ArrowException):  # an int beyond 64 bits: JSON keeps it
            continue
        # Encoded now, so that the plain columns are not all held at once (kind and via make the keys first),
        # and its Python values let go: only the attributes left to `_extra` need them
        plan[name] = array if name in EDGE_COLUMNS else _maybe_dictionary(array)
        values[name] = {}
    typed = set(plan) | set(from_first)
    extras = None
    for code, (shape, rows) in enumerate(zip(shapes, groups, strict=True)):
        rest = tuple(name for name in shape if name not in typed)
        if not rest:
            continue
        if extras is None:
            extras = np.full(len(records), None, dtype=object)
        if len(rest) == 1:
            (only,) = rest
            blobs = [orjson.dumps({only: value}) for value in values[only][code]]
        else:
            blobs = [orjson.dumps(dict(zip(rest, row))) for row in zip(*(values[name][code] for name in rest))]
        extras[rows] = blobs
    columns[SHAPE] = _narrow(pa.DictionaryArray.from_arrays(
        pa.array(codes), pa.array([orjson.dumps(list(shape)).decode() for shape in shapes], pa.string())))
    columns[EXTRA] = pa.array(extras, pa.binary()) if extras is not None else pa.nulls(len(records), pa.binary())
    for name in always:  # present for every reader, even when no record has a string there
        if name not in plan:
            columns[name] = pa.nulls(len(records), pa.string())
    if isinstance(columns.get("key"), list):  # edge keys that are strings (edge_table)
        columns["key"] = _stored_keys(columns["key"], plan.get("kind"), plan.get("via"))
    for name in EDGE_COLUMNS:  # the keys are made: kind and via are encoded too
        if name in plan:
            plan[name] = _maybe_dictionary(plan[name])
    columns.update(plan)
    columns = {name: array if name in plan else _maybe_dictionary(array) for name, array in columns.items()}
    attributes = {**{name: name for name in plan}, **from_first}
    schema = pa.schema([pa.field(name, array.type) for name, array in columns.items()],
                       metadata={ATTRIBUTES_KEY: orjson.dumps(attributes)})
    return pa.Table.from_arrays(list(columns.values()), schema=schema)


def ipc_file(table: pa.Table, compression: str | None = None) -> pa.Buffer:
    """The table as an Arrow IPC file (one record batch, with the footer readers seek); `compression`
    ("lz4", "zstd") compresses each buffer, which Arrow's reader tells by the batch's own metadata."""
    sink = pa.BufferOutputStream()
    options = ipc.IpcWriteOptions(compression=compression) if compression else None
    with ipc.new_file(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    return sink.getvalue()


def node_table(graph: nx.MultiDiGraph) -> tuple[pa.Table, dict[Any, int]]:
    ids = list(graph.nodes)
    index = {node: at for at, node in enumerate(ids)}
    if not set(map(type, ids)) <= {str} or "" in index:
        bad = next(node for node in ids if type(node) is not str or not node)
        raise FormatError(f"node {bad!r} is not a non-empty string; a snapshot's node ids are strings")
    records = [data for _, data in graph.nodes(data=True)]
    stored = list(map(dict.get, records, repeat("id"), ids))
    same_id = set(map(type, stored)) <= {str} and stored == ids
    del stored
    table = _table(records, {"id": pa.array(ids, pa.string())}, NODE_RESERVED | {"id"}, NODE_COLUMNS[1:],
                   {"id": "id"} if same_id else {})
    return table, index


def edge_table(graph: nx.MultiDiGraph, index: dict[Any, int]) -> pa.Table:
    """The edges in graph.edges(keys=True, data=True)'s order, gathered a level of the adjacency at a
    time (no tuple per edge): endpoints as row numbers repeated with numpy."""
    adjacency = list(graph.adjacency())
    neighbours = [nbrs for _, nbrs in adjacency]
    per_node = np.fromiter(map(len, neighbours), np.int64, len(neighbours))
    node_rows = np.fromiter(map(index.__getitem__, (node for node, _ in adjacency)), np.int32, len(adjacency))
    del adjacency
    pair_targets = list(chain.from_iterable(neighbours))
    keyed = list(chain.from_iterable(map(dict.values, neighbours)))
    per_pair = np.fromiter(map(len, keyed), np.int64, len(keyed))
    sources = np.repeat(np.repeat(node_rows, per_node), per_pair)
    targets = np.repeat(np.fromiter(map(index.__getitem__, pair_targets), np.int32, len(pair_targets)), per_pair)
    keys = list(chain.from_iterable(keyed))
    records = list(chain.from_iterable(map(dict.values, keyed)))
    del keyed, pair_targets, neighbours
    if set(map(type, keys)) <= {str}:
        key_array = keys  # strings: those equal to f"{kind}|{via}" become null in _table (_stored_keys)
    else:  # keys of other types (networkx's default 0, 1 ...): JSON, exactly as they are
        key_array = pa.array([orjson.dumps(key) for key in keys], pa.binary())
    del keys
    first = {"source": pa.array(sources.astype(np.int32, copy=False), pa.int32()),
             "target": pa.array(targets.astype(np.int32, copy=False), pa.int32()), "key": key_array}
    return _table(records, first, EDGE_RESERVED, EDGE_COLUMNS, {})


def _pad(size: int) -> bytes:
    return b"\0" * (-size % ALIGN)


def encode(graph: nx.MultiDiGraph, metadata: dict[str, Any], format_name: str,
           compression: str | None = COMPRESSION) -> list[bytes | pa.Buffer]:
    """The file's parts, in order (written one after the other: the sections are never joined in memory).
    `compression`: one of COMPRESSIONS, for the sections' Arrow buffers (None: zero-copy reading)."""
    if compression not in COMPRESSIONS:
        raise ValueError(f"compression {compression!r} is not one of {COMPRESSIONS}")
    nodes, index = node_table(graph)
    nodes_ipc = ipc_file(nodes, compression)
    del nodes
    edges_ipc = ipc_file(edge_table(graph, index), compression)
    # Arrow checks a file's structure, not its values: a flipped bit in a string or a flag would read as
    # another value. A CRC-32 per section (what gzip gave format 1) makes a damaged file an error.
    nodes_crc, edges_crc = zlib.crc32(nodes_ipc), zlib.crc32(edges_ipc)
    offsets = (0, 0)
    while True:  # the header holds the offsets, which follow the header: settle in a step or two
        header = orjson.dumps({
            "format": format_name, "version": VERSION,
            "sections": {"nodes": {"offset": offsets[0], "length": nodes_ipc.size, "crc32": nodes_crc},
                         "edges": {"offset": offsets[1], "length": edges_ipc.size, "crc32": edges_crc}},
            "compression": compression,
            "metadata": metadata})
        start = HEADER_START + len(header)
        nodes_at = start + (-start % ALIGN)
        edges_at = nodes_at + nodes_ipc.size + (-nodes_ipc.size % ALIGN)
        if (nodes_at, edges_at) == offsets:
            break
        offsets = (nodes_at, edges_at)
    return [MAGIC, _LENGTH.pack(len(header)), header, _pad(start), nodes_ipc, _pad(nodes_ipc.size), edges_ipc]


# ---------------------------------------------------------------------------------------------- reading

def read_header(read_at: Callable[[int, int], bytes], size: int, max_header: int) -> dict[str, Any]:
    """The header object, checked: magic, length within the file (and `max_header`), JSON object."""
    if read_at(0, len(MAGIC)) != MAGIC:
        raise FormatError("not a version 2 snapshot (no CROSSPATH-SNAPSHOT magic)")
    if size < HEADER_START:
        raise FormatError("the file ends inside its header: truncated or damaged")
    (length,) = _LENGTH.unpack(read_at(len(MAGIC), _LENGTH.size))
    if length > size - HEADER_START:
        raise FormatError(f"the header says it is {length} bytes long, past the end of the file ({size} bytes): "
                          "the file is truncated or damaged")
    if length > max_header:
        raise FormatError(f"the header is {length} bytes long, more than a snapshot's header ever is")
    try:
        header = orjson.loads(read_at(HEADER_START, length))
    except orjson.JSONDecodeError as exc:
        raise FormatError(f"the header is not JSON ({exc})") from exc
    if not isinstance(header, dict):
        raise FormatError("the header is not a JSON object")
    return header


def sections(header: dict[str, Any], size: int) -> dict[str, tuple[int, int, int | None]]:
    """(offset, length, CRC-32 or None) of each section; the edges section ends the file."""
    found = {}
    listed = header.get("sections")
    for name in ("nodes", "edges"):
        entry = listed.get(name) if isinstance(listed, dict) else None
        offset = entry.get("offset") if isinstance(entry, dict) else None
        length = entry.get("length") if isinstance(entry, dict) else None
        crc = entry.get("crc32") if isinstance(entry, dict) else None
        if type(offset) is not int or type(length) is not int or (crc is not None and type(crc) is not int):
            raise FormatError(f"the header has no offset and length for the {name} section")
        if offset < HEADER_START or length <= 0 or offset + length > size:
            raise FormatError(f"the header puts the {name} section at bytes {offset}..{offset + length}, outside "
                              f"the file ({size} bytes): the file is truncated or damaged")
        found[name] = (offset, length, crc)
    end = found["edges"][0] + found["edges"][1]
    if end != size:
        raise FormatError(f"{size - end} byte(s) follow the edges section, which ends the file: damaged, or "
                          "something was appended")
    return found


# Arrow IPC flatbuffers, as far as the expanded size of a file's compressed buffers needs them
# (format/File.fbs, format/Message.fbs): Footer.dictionaries = 2, Footer.recordBatches = 3;
# Message.header = 2; DictionaryBatch.data = 1; RecordBatch.buffers = 2, RecordBatch.compression = 3.
_ARROW_MAGIC = b"ARROW1"
_BLOCK = struct.Struct("<qi4xq")  # Block: offset, metaDataLength, (padding), bodyLength
_BUFFER = struct.Struct("<qq")  # Buffer: offset, length
_I32, _U16, _I64 = struct.Struct("<i"), struct.Struct("<H"), struct.Struct("<q")


def _field(data: memoryview, table: int, index: int) -> int | None:
    """Where field `index` of the flatbuffer table at `table` is, or None when absent."""
    vtable = table - _I32.unpack_from(data, table)[0]
    if not 0 <= vtable <= len(data) - 4:
        raise FormatError("damaged Arrow metadata")
    size = _U16.unpack_from(data, vtable)[0]
    entry = vtable + 4 + 2 * index
    if entry + 2 > vtable + size:
        return None
    at = _U16.unpack_from(data, entry)[0]
    return table + at if at else None


def _target(data: memoryview, at: int) -> int:
    """The table or vector a flatbuffer offset field at `at` points to."""
    return at + struct.unpack_from("<I", data, at)[0]


def _vector(data: memoryview, at: int | None, item: struct.Struct) -> list[tuple[int, ...]]:
    if at is None:
        return []
    start = _target(data, at)
    count = struct.unpack_from("<I", data, start)[0]
    if count > (len(data) - start - 4) // item.size:
        raise FormatError("damaged Arrow metadata")
    return [item.unpack_from(data, start + 4 + item.size * index) for index in range(count)]


def expanded_size(section: pa.Buffer) -> int:
    """How many bytes the record batches and dictionaries of an Arrow IPC file take once their buffers
    are decompressed, from the sizes each compressed buffer declares (its first 8 bytes), read before
    anything is decompressed; an uncompressed buffer counts its length."""
    data = memoryview(section)
    size = len(data)
    if size < 2 * len(_ARROW_MAGIC) + 4 or bytes(data[size - len(_ARROW_MAGIC):]) != _ARROW_MAGIC:
        raise FormatError("not an Arrow IPC file (no ARROW1 at its end)")
    footer_length = _I32.unpack_from(data, size - len(_ARROW_MAGIC) - 4)[0]
    footer_start = size - len(_ARROW_MAGIC) - 4 - footer_length
    if not 8 <= footer_start < size:
        raise FormatError("the Arrow footer is outside the section")
    footer = data[footer_start:size - len(_ARROW_MAGIC) - 4]
    root = _target(footer, 0)
    total = 0
    for index in (2, 3):
        for offset, metadata_length, body_length in _vector(footer, _field(footer, root, index), _BLOCK):
            if offset < 0 or metadata_length < 0 or body_length < 0 or offset + metadata_length + body_length > size:
                raise FormatError("an Arrow block is outside the section")
            message = ipc.read_message(section.slice(offset, metadata_length + body_length))
            if message.type not in ("record batch", "dictionary"):
                continue
            meta = memoryview(message.metadata)
            header = _field(meta, _target(meta, 0), 2)
            if header is None:
                raise FormatError("an Arrow message has no header")
            batch = _target(meta, header)
            if message.type == "dictionary":
                data_at = _field(meta, batch, 1)
                if data_at is None:
                    raise FormatError("an Arrow dictionary batch has no data")
                batch = _target(meta, data_at)
            compressed = _field(meta, batch, 3) is not None
            body = memoryview(message.body) if message.body is not None else memoryview(b"")
            for at, length in _vector(meta, _field(meta, batch, 2), _BUFFER):
                if at < 0 or length < 0 or at + length > len(body):
                    raise FormatError("an Arrow buffer is outside its message")
                declared = _I64.unpack_from(body, at)[0] if compressed and length >= 8 else -1
                total += declared if declared >= 0 else length
    return total


def open_table(source: pa.MemoryMappedFile, name: str, offset: int, length: int, crc: int | None = None,
               max_expanded: int | None = None) -> pa.Table:
    """The section's table, checked: its CRC-32 when the header has one (every file but the first
    writer's), and with `max_expanded`, a section whose buffers would decompress to more bytes than that
    is refused before any is decompressed (a zstd bomb costs nothing)."""
    source.seek(offset)
    buffer = source.read_buffer(length)
    if crc is not None and zlib.crc32(buffer) != crc:
        raise FormatError(f"the {name} section's checksum does not match: the file is damaged")
    try:
        expanded = expanded_size(buffer) if max_expanded is not None else 0
    except (FormatError, pa.ArrowException, ValueError, OSError, struct.error, IndexError) as exc:
        raise FormatError(f"the {name} table is damaged ({str(exc)[:200]})") from exc
    if max_expanded is not None and expanded > max_expanded:
        raise FormatError(f"the {name} table would decompress to {expanded} bytes, more than the limit of "
                          f"{max_expanded} for a section of {length} bytes: a compression bomb, or damaged")
    try:
        table = ipc.open_file(buffer).read_all()
        table.validate(full=True)  # offsets and indices inside their buffers: nothing reads out of bounds
    except (pa.ArrowException, ValueError, OSError) as exc:
        raise FormatError(f"the {name} table is damaged ({type(exc).__name__}: {str(exc)[:200]})") from exc
    return table


def _require(table: pa.Table, name: str, columns: dict[str, Callable[[pa.DataType], bool]]) -> None:
    for column, fits in columns.items():
        if column not in table.column_names:
            raise FormatError(f"the {name} table has no '{column}' column")
        if not fits(table.schema.field(column).type):
            raise FormatError(f"the {name} table's '{column}' column is {table.schema.field(column).type}, "
                              "not what version 2 writes")


def _stringy(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or (pa.types.is_dictionary(kind) and pa.types.is_string(kind.value_type))


def _shape_type(kind: pa.DataType) -> bool:
    return pa.types.is_dictionary(kind) and pa.types.is_string(kind.value_type)


def check_tables(nodes: pa.Table, edges: pa.Table) -> None:
    """What a reader relies on: required columns of the right types, no missing ids, edges in range."""
    _require(nodes, "nodes", {"id": pa.types.is_string, SHAPE: _shape_type, EXTRA: pa.types.is_binary,
                              **{column: _stringy for column in NODE_COLUMNS[1:]}})
    _require(edges, "edges", {"source": pa.types.is_int32, "target": pa.types.is_int32,
                              "key": lambda kind: _stringy(kind) or pa.types.is_binary(kind),
                              SHAPE: _shape_type, EXTRA: pa.types.is_binary,
                              **{column: _stringy for column in EDGE_COLUMNS}})
    ids = nodes.column("id")
    if ids.null_count or (len(ids) and pc.min(pc.utf8_length(ids)).as_py() == 0):
        raise FormatError("a node has no id")
    if len(ids) and pc.count_distinct(ids).as_py() != len(ids):
        raise FormatError("two nodes have the same id")
    for table, name in ((nodes, "nodes"), (edges, "edges")):
        if table.column(SHAPE).null_count:
            raise FormatError(f"a row of the {name} table has no shape")
    for end in ("source", "target"):
        column = edges.column(end)
        if column.null_count:
            raise FormatError(f"an edge has no {end}")
        if len(column):
            low, high = pc.min_max(column).values()
            if low.as_py() < 0 or high.as_py() >= len(ids):
                bad = low.as_py() if low.as_py() < 0 else high.as_py()
                raise FormatError(f"an edge's {end} is node {bad}, but the nodes table has {len(ids)} rows")
    for table, name in ((nodes, "nodes"), (edges, "edges")):
        attributes(table, name)
        for chunk in table.column(SHAPE).chunks:
            for shape in chunk.dictionary.to_pylist():
                shape_keys(shape, name)


def attributes(table: pa.Table, name: str) -> dict[str, str]:
    """Attribute name -> the column holding its values (schema metadata `crosspath:attributes`)."""
    raw = (table.schema.metadata or {}).get(ATTRIBUTES_KEY)
    try:
        listed = orjson.loads(raw) if raw is not None else None
    except orjson.JSONDecodeError:
        listed = None
    if not isinstance(listed, dict) or not all(isinstance(column, str) for column in listed.values()):
        raise FormatError(f"the {name} table does not list its attribute columns")
    for column in listed.values():
        if column not in table.column_names or column in (SHAPE, EXTRA):
            raise FormatError(f"the {name} table lists an attribute column '{column}' it does not have")
    return listed


def plain(array: pa.Array) -> pa.Array:
    """Dictionary-encoded strings (or lists of them) as plain strings."""
    kind = array.type
    if pa.types.is_dictionary(kind):
        return array.cast(kind.value_type)
    if pa.types.is_list(kind) and pa.types.is_dictionary(kind.value_type):
        return array.cast(pa.list_(kind.value_type.value_type))
    return array


def rows_table(table: pa.Table, rows: np.ndarray) -> pa.Table:
    """These rows of a table, its attribute columns decoded to plain values: records() of a few rows then
    costs what they hold, not what the columns' dictionaries hold."""
    taken = table.take(pa.array(rows))
    return pa.Table.from_arrays(
        [column if name == SHAPE else plain(column.combine_chunks()) for name, column in zip(
            taken.column_names, taken.columns, strict=True)],
        names=taken.column_names, metadata=taken.schema.metadata)


def _dictionary_values(array: pa.DictionaryArray) -> list[Any]:
    values = array.dictionary.to_pylist()
    if not len(array):
        return []
    indices = array.indices.fill_null(len(values)).to_numpy(zero_copy_only=False)
    values.append(None)
    return _pick(values, indices)


def _pick(values: list[Any], indices: Iterable[int] | np.ndarray) -> list[Any]:
    indices = indices.tolist() if isinstance(indices, np.ndarray) else list(indices)
    if not indices:
        return []
    if len(indices) == 1:
        return [values[indices[0]]]
    return list(itemgetter(*indices)(values))


def _list_values(array: pa.ListArray) -> list[Any]:
    flat = python_values(array.values)
    offsets = array.offsets.to_numpy().tolist()
    lists = [flat[start:end] for start, end in pairwise(offsets)] if offsets else []
    if array.null_count:
        for at in np.flatnonzero(array.is_null().to_numpy(zero_copy_only=False)).tolist():
            lists[at] = None
    return lists


def python_values(array: pa.Array | pa.ChunkedArray) -> list[Any]:
    """A column as a list of Python values (None for null), built a column at a time."""
    if isinstance(array, pa.ChunkedArray):
        if array.num_chunks == 1:
            return python_values(array.chunk(0))
        return [value for chunk in array.chunks for value in python_values(chunk)]
    if pa.types.is_dictionary(array.type):
        return _dictionary_values(array)
    if pa.types.is_list(array.type):
        return _list_values(array)
    return array.to_pylist()


def shape_keys(shape: Any, name: str) -> list[str]:
    try:
        keys = orjson.loads(shape)
    except (orjson.JSONDecodeError, TypeError):
        keys = None
    if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys) or len(set(keys)) != len(keys):
        raise FormatError(f"the {name} table has a damaged shape {str(shape)[:80]!r}")
    return keys


def records(table: pa.Table, name: str) -> list[dict[str, Any]]:
    """Every row's attribute dict, in row order, keys in the order they were written."""
    columns = attributes(table, name)
    shape = table.column(SHAPE).combine_chunks()
    if isinstance(shape, pa.ChunkedArray):  # pragma: no cover - combine_chunks returns an array
        shape = shape.chunk(0)
    shapes = [shape_keys(text, name) for text in shape.dictionary.to_pylist()]
    codes = shape.indices.to_numpy(zero_copy_only=False)
    rows = len(codes)
    if not rows:
        return []
    out: list[dict[str, Any]] = [None] * rows  # type: ignore[list-item]
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=len(shapes))
    start = 0
    for code, count in enumerate(counts.tolist()):
        if not count:
            continue
        where = order[start:start + count]
        start += count
        keys = shapes[code]
        whole = count == rows
        taken = None if whole else pa.array(where)
        extras: list[dict[str, Any]] | None = None
        values = []
        for key in keys:
            column = columns.get(key)
            if column is not None:
                array = table.column(column)
                values.append(python_values(array if whole else array.take(taken)))
                continue
            if extras is None:
                array = table.column(EXTRA)
                try:
                    extras = [orjson.loads(raw) for raw in python_values(array if whole else array.take(taken))]
                except (orjson.JSONDecodeError, TypeError):
                    raise FormatError(f"the {name} table's {EXTRA} column is damaged or missing values") from None
            try:
                values.append([extra[key] for extra in extras])
            except (KeyError, TypeError):
                raise FormatError(f"a row of the {name} table has no value for its attribute {key!r}") from None
        if any(len(column) != count for column in values):
            raise FormatError(f"the {name} table's columns do not have one value per row")
        built = list(map(dict, map(zip, repeat(keys), zip(*values)))) if keys else [{} for _ in repeat(None, count)]
        if whole:
            return built
        for at, record in zip(where.tolist(), built, strict=True):
            out[at] = record
    return out


def edge_keys(edges: pa.Table, data: list[dict[str, Any]]) -> list[Any]:
    column = edges.column("key")
    stored = python_values(column)
    if pa.types.is_binary(column.type):
        return [orjson.loads(raw) for raw in stored]
    return [f"{record['kind']}|{record['via']}" if key is None else key
            for key, record in zip(stored, data, strict=True)]


def ints(column: pa.ChunkedArray) -> np.ndarray:
    return column.combine_chunks().to_numpy() if column.num_chunks != 1 else column.chunk(0).to_numpy()


def to_graph(nodes: pa.Table, edges: pa.Table) -> nx.MultiDiGraph:
    """The networkx graph of two checked tables, nodes and edges in the order they were written; the
    attribute dicts are built a column at a time (records), then handed to networkx in one call each."""
    ids = python_values(nodes.column("id"))
    graph = Graph()
    graph.add_nodes_from(zip(ids, records(nodes, "nodes"), strict=True))
    data = records(edges, "edges")  # new dicts: the graph owns them (graph/bulk.py)
    graph.add_owned_edges(zip(_pick(ids, ints(edges.column("source"))), _pick(ids, ints(edges.column("target"))),
                              edge_keys(edges, data), data, strict=True))
    return graph
