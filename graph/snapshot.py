"""Snapshot files: the unit of history (diffs, drift, reports).

Format `crosspath-snapshot` version 2 (docs/snapshot.md, graph/snapshot_arrow.py), what `crosspath
scan` writes (`.arrow`): a magic string, a length-prefixed JSON header (format, version, metadata, where
the two sections are), then the nodes and the edges as Arrow IPC tables, 64-byte aligned. Reading
maps the file into memory: `read_tables` hands the tables over (without copying them when the file's
buffers are uncompressed; zstd-compressed, the default, they are decompressed once, about 0.1 s at
100k identities), `read_snapshot` builds the networkx graph from them column by column.

Version 1, still read and written for `.json` / `.json.gz` names (`crosspath export --format json`):
one JSON document, gzip-compressed when the name ends in `.gz`::

    {"format": "crosspath-snapshot", "version": 1,
     "metadata": {"collected_at", "tool_version", "created_at", "coverage": {...}, "errors": [...]},
     "nodes": [{"id", "family", "kind", "provider", "name", "scope", ...}],
     "edges": [{"source", "target", "kind", "via", ...}]}

Writes are atomic: the document goes to a temporary file in the same folder,
is flushed and fsynced, then renamed over the target, so a crash leaves either
the old snapshot or the new one, never half of one.

The format is told by the content (v2 magic, gzip magic, `{`), never by the name.

Reads are bounded: a version 2 file is mapped, and every offset in it is checked against the file's
size (header, sections, Arrow buffers, edge endpoints) before anything is read through it; its
compressed buffers (zstd by default) are decompressed only once the sizes they declare add up to no
more than `max_bytes` and `max_ratio` times their section's size; a version 1 file's decompression streams into memory and stops as soon as the
document passes a limit on its expanded size (read_snapshot's `max_bytes`,
default MAX_EXPANDED_BYTES or $CROSSPATH_SNAPSHOT_MAX_BYTES) or expands more
than `max_ratio` times its compressed size (default MAX_COMPRESSION_RATIO; a
real snapshot compresses about 14:1, a gzip bomb about 1000:1), so a small file
cannot make a reader allocate gigabytes. A file that is not a snapshot (not gzip
or JSON, no `nodes`, a node without `id`, an edge to a missing node, another
version; for version 2 a truncated file, a header pointing outside the file, a damaged table, a
missing column, an edge index out of range) fails with a SnapshotError that says what is wrong.
"""

from __future__ import annotations

import gc
import gzip
import os
import re
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import networkx as nx
import orjson
import pyarrow as pa

from graph import snapshot_arrow as arrow
from graph.bulk import Graph

FORMAT = "crosspath-snapshot"
VERSION = 1  # the JSON document (`.json`, `.json.gz`)
ARROW_VERSION = arrow.VERSION  # the memory-mapped file (`.arrow`), what `crosspath scan` writes
VERSIONS = (VERSION, ARROW_VERSION)
ARROW_SUFFIX = ".arrow"
SUFFIXES = (ARROW_SUFFIX, ".json.gz", ".json")  # every name a snapshot file may have

GiB = 1 << 30
MiB = 1 << 20
# The expanded document may be at most this large. A snapshot of the 10,000-identity benchmark
# organisation is 2.5 MB compressed and 36 MB expanded; size grows linearly, so 1M identities expand to
# about 3.6 GB: 8 GiB leaves room for twice that. $CROSSPATH_SNAPSHOT_MAX_BYTES ("16GiB") raises it.
MAX_EXPANDED_BYTES = 8 * GiB
MAX_BYTES_ENV = "CROSSPATH_SNAPSHOT_MAX_BYTES"
# ... and at most this many times its compressed size (beyond RATIO_FLOOR): Crosspath's own snapshots
# compress about 14:1 (gzip level 3), deflate's worst case is about 1032:1.
MAX_COMPRESSION_RATIO = 100
RATIO_FLOOR = 64 * MiB
_BLOCK = 1 << 20  # decompressed bytes per step
_SPACE = re.compile(rb"\s*")


class SnapshotError(Exception):
    """A snapshot that cannot be read; the message says which file and what to do."""


def _encode(graph: nx.MultiDiGraph, metadata: dict[str, Any]) -> bytes:
    nodes = [data for _, data in graph.nodes(data=True)]
    edges = [{"source": u, "target": v, **data} for u, v, data in graph.edges(data=True)]
    return orjson.dumps(
        {"format": FORMAT, "version": VERSION, "metadata": metadata, "nodes": nodes, "edges": edges}
    )


def _fsync_dir(folder: Path) -> None:
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def write_atomic(path: Path, payload: bytes | list[Any], mode: int | None = None) -> None:
    """Replace `path` with `payload` (bytes, or a list of bytes-like parts written one after the other) so
    that readers never see a partial file; `mode` (say 0o644 for a file other users read) is set before
    the rename, else the file keeps mkstemp's 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            for part in payload if isinstance(payload, list) else [payload]:
                handle.write(part)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temp_name, mode)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def write_snapshot(path: Path, graph: nx.MultiDiGraph, metadata: dict[str, Any], *,
                   compression: str | None = arrow.COMPRESSION) -> Path:
    """Version 2 for a name ending in `.arrow`, else the version 1 JSON document (gzip for `.gz`).

    `compression` (version 2 only): how the Arrow sections' buffers are compressed, "zstd" (the
    default), "lz4" or None (the buffers as they are, read in place without a copy); every reader
    reads all three."""
    if path.name.endswith(ARROW_SUFFIX):
        try:
            with gc_paused():
                parts = arrow.encode(graph, metadata, FORMAT, compression)
        except arrow.FormatError as exc:
            raise SnapshotError(f"{path}: cannot be written: {exc}") from exc
        write_atomic(path, parts)
        del parts
        # Arrow's allocator keeps what the tables freed for its next use, which may never come: handed back,
        # it is not held through the rest of a scan (100k identities: 535 MB)
        pa.default_memory_pool().release_unused()
        return path
    payload = _encode(graph, metadata)
    if path.name.endswith(".gz"):
        payload = gzip.compress(payload, compresslevel=3, mtime=0)
    write_atomic(path, payload)
    return path


@contextmanager
def gc_paused(keep: bool = False) -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of acyclic dicts are created.

    Each allocation burst would otherwise trigger full collections over everything built so far:
    on a 1M-edge snapshot, decoding and building take several times longer with it running.

    `keep`: what the block made lives on until the caller is done (a scan's graph): at the end of the block
    every object the collector tracks is frozen (gc.freeze) before it resumes, so that it never walks them
    (after building 100,000 identities it would: 0.4-0.6 s at the next allocation). That includes any
    cyclic garbage the block left, which stays until the caller hands everything back with gc.unfreeze()
    and a full collection runs: keep only a block that leaves none worth its memory (the build, not an
    analysis whose fix search drops a copy of the graph).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if keep:
            gc.freeze()
        if was_enabled:
            gc.enable()


def default_max_bytes() -> int | None:
    """$CROSSPATH_SNAPSHOT_MAX_BYTES ("16GiB", "0" for none) or MAX_EXPANDED_BYTES."""
    text = os.environ.get(MAX_BYTES_ENV, "").strip().lower().replace(" ", "")
    if not text:
        return MAX_EXPANDED_BYTES
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(b|k|kb|kib|m|mb|mib|g|gb|gib|t|tb|tib)?", text)
    if not match:
        raise SnapshotError(f"{MAX_BYTES_ENV}={text!r} is not a size: write e.g. 16GiB, or 0 for no limit")
    unit = {"b": 1, "k": 1 << 10, "m": MiB, "g": GiB, "t": 1 << 40}[(match.group(2) or "b")[0]]
    return int(float(match.group(1)) * unit) or None


def _size(size: int) -> str:
    return f"{size / GiB:.1f} GiB" if size >= GiB else f"{size / MiB:.0f} MiB"


def _expanded(path: Path, max_bytes: int | None, max_ratio: float | None) -> bytes | bytearray:
    """The document's bytes: a plain file as it is, a gzip file decompressed step by step, never past
    the limits (checked after every step, so at most one step beyond them is ever held)."""
    with path.open("rb") as handle:
        stored = os.fstat(handle.fileno()).st_size
        head = handle.read(2)
        handle.seek(0)
        if head != b"\x1f\x8b":
            if max_bytes is not None and stored > max_bytes:
                raise SnapshotError(f"{path}: {_size(stored)}, larger than the limit of {_size(max_bytes)} "
                                    f"for a snapshot ({MAX_BYTES_ENV} raises it)")
            return handle.read()
        limit = max_bytes
        if max_ratio is not None:
            by_ratio = max(RATIO_FLOOR, int(stored * max_ratio))
            limit = by_ratio if limit is None else min(limit, by_ratio)
        document = bytearray()
        with gzip.GzipFile(fileobj=handle, mode="rb") as stream:
            while block := stream.read(_BLOCK):
                document += block
                if limit is not None and len(document) > limit:
                    why = (f"more than {max_ratio:g} times its compressed size of {_size(stored)}"
                           if limit != max_bytes else f"more than the limit of {_size(limit)}")
                    raise SnapshotError(
                        f"{path}: expands to {why} (read stopped at {_size(len(document))}): a gzip bomb or not a "
                        f"Crosspath snapshot (a real one expands about 14 times; {MAX_BYTES_ENV} raises the limit)")
        return document


def is_arrow(path: Path) -> bool:
    """Whether the file is a version 2 snapshot (by its first bytes, whatever its name); False when it
    cannot be read."""
    try:
        return _starts_with_magic(path)
    except SnapshotError:
        return False


def _starts_with_magic(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(arrow.MAGIC)) == arrow.MAGIC
    except OSError as exc:
        raise SnapshotError(f"{path}: cannot read snapshot: {exc.strerror or exc}") from exc


def _check_format(path: Path, document: Any, version: int) -> None:
    """A Crosspath snapshot document (a format 2 header, or a format 1 JSON document) of `version`."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise SnapshotError(f"{path}: not a Crosspath snapshot (field 'format' is not '{FORMAT}')")
    if document.get("version") != version:
        raise SnapshotError(
            f"{path}: snapshot version {document.get('version')!r} is not supported; this Crosspath reads version "
            f"{VERSION} as a JSON document and version {ARROW_VERSION} as an Arrow file. Use the Crosspath release "
            "that wrote it, or re-run `crosspath scan` to write a new snapshot.")


def _checked_header(path: Path, header: dict[str, Any]) -> dict[str, Any]:
    """The header's metadata, once its format and version are ones this Crosspath reads."""
    _check_format(path, header, ARROW_VERSION)
    metadata = header.get("metadata", {})
    if not isinstance(metadata, dict):
        raise SnapshotError(f"{path}: 'metadata' is a {type(metadata).__name__}, not an object")
    return metadata


def _expansion_limit(length: int, max_bytes: int | None, max_ratio: float | None) -> int | None:
    """At most how many bytes a version 2 section of `length` bytes may decompress to: `max_bytes`, and
    `max_ratio` times its length beyond RATIO_FLOOR (zstd sections expand about 5 times)."""
    limit = max_bytes
    if max_ratio is not None:
        by_ratio = max(RATIO_FLOOR, int(length * max_ratio))
        limit = by_ratio if limit is None else min(limit, by_ratio)
    return limit


def _arrow_tables(path: Path, max_bytes: int | None, max_ratio: float | None = MAX_COMPRESSION_RATIO
                  ) -> tuple[pa.Table, pa.Table, dict[str, Any]]:
    """A version 2 file's tables, memory-mapped and checked (graph/snapshot_arrow.py); compressed
    buffers are decompressed only when what they declare stays within the limits."""
    try:
        source = pa.memory_map(str(path), "r")
    except (OSError, pa.ArrowException) as exc:
        raise SnapshotError(f"{path}: cannot read snapshot: {exc}") from exc
    size = source.size()
    if max_bytes is not None and size > max_bytes:
        raise SnapshotError(f"{path}: {_size(size)}, larger than the limit of {_size(max_bytes)} "
                            f"for a snapshot ({MAX_BYTES_ENV} raises it)")
    try:
        header = arrow.read_header(lambda at, length: source.read_at(length, at), size, METADATA_MAX_BYTES)
        metadata = _checked_header(path, header)
        where = arrow.sections(header, size)
        nodes, edges = (arrow.open_table(source, name, offset, length, crc,
                                         _expansion_limit(length, max_bytes, max_ratio))
                        for name, (offset, length, crc) in ((name, where[name]) for name in ("nodes", "edges")))
        arrow.check_tables(nodes, edges)
    except arrow.FormatError as exc:
        raise SnapshotError(f"{path}: not a readable snapshot: {exc}; re-run `crosspath scan`") from exc
    return nodes, edges, metadata


@contextmanager
def reading_tables(path: Path) -> Iterator[None]:
    """Reading a snapshot's tables past read_tables (its records, built when asked for: arrow.to_graph,
    PathEngine.from_tables and the dicts it builds on demand): a damaged value is one SnapshotError naming
    the file, as read_snapshot raises."""
    try:
        yield
    except arrow.FormatError as exc:
        raise SnapshotError(f"{path}: not a readable snapshot: {exc}; re-run `crosspath scan`") from exc


def read_tables(path: Path, max_bytes: int | None | object = ...) -> tuple[pa.Table, pa.Table, dict[str, Any]]:
    """A version 2 snapshot as it is stored: (nodes table, edges table, metadata), memory-mapped, no copy.

    Columns: docs/snapshot.md. A version 1 (JSON) file is refused with what to do: `crosspath scan`
    writes version 2; `read_snapshot` reads both."""
    limit = default_max_bytes() if max_bytes is ... else max_bytes
    if not _starts_with_magic(path):
        raise SnapshotError(f"{path}: not a version {ARROW_VERSION} (Arrow) snapshot; tables are read from version "
                            f"{ARROW_VERSION} files only. Re-run `crosspath scan` to write one, or convert this one "
                            "with read_snapshot + write_snapshot to a name ending in .arrow")
    try:
        return _arrow_tables(path, limit)  # type: ignore[arg-type]
    except SnapshotError:
        raise
    except Exception as exc:  # a damaged file of any shape is one clear error
        raise SnapshotError(f"{path}: not a readable snapshot ({type(exc).__name__}: {str(exc)[:200]}); "
                            "re-run `crosspath scan`") from exc


def read_snapshot(path: Path, max_bytes: int | None | object = ...,
                  max_ratio: float | None = MAX_COMPRESSION_RATIO) -> tuple[nx.MultiDiGraph, dict[str, Any]]:
    """Load a snapshot (version 1 or 2, told by its content) into a graph; unknown formats and versions,
    malformed documents and files larger than (v2) or documents expanding past `max_bytes` (default: default_max_bytes(); None: no limit) or more than `max_ratio`
    times their compressed size (None: no ratio limit) fail with a SnapshotError saying what is wrong."""
    limit = default_max_bytes() if max_bytes is ... else max_bytes
    with gc_paused():
        try:
            graph, metadata = _read_snapshot(path, limit, max_ratio)  # type: ignore[arg-type]
        except SnapshotError:
            raise
        except Exception as exc:  # a damaged file of any shape is one clear error
            raise SnapshotError(f"{path}: not a readable snapshot ({type(exc).__name__}: {str(exc)[:200]}); "
                                "re-run `crosspath scan`") from exc
    if not isinstance(metadata, dict):
        raise SnapshotError(f"{path}: not a readable snapshot (field 'metadata' is not an object); "
                            "re-run `crosspath scan`")
    return graph, metadata


METADATA_MAX_BYTES = 256 * MiB  # read_metadata stops here: metadata (coverage, errors, carried) is far smaller


def read_metadata(path: Path) -> dict[str, Any]:
    """A snapshot's metadata without its graph: of a version 2 file only the header is read; a version 1
    document only up to its `nodes` (written after the metadata), so this costs the metadata's size, not
    the snapshot's, and never more than METADATA_MAX_BYTES (a gzip bomb or another file is refused, not
    read whole)."""
    if _starts_with_magic(path):
        try:
            with path.open("rb") as handle:
                size = os.fstat(handle.fileno()).st_size

                def read_at(at: int, length: int) -> bytes:
                    handle.seek(at)
                    return handle.read(length)

                header = arrow.read_header(read_at, size, METADATA_MAX_BYTES)
        except OSError as exc:
            raise SnapshotError(f"{path}: cannot read snapshot: {exc}") from exc
        except arrow.FormatError as exc:
            raise SnapshotError(f"{path}: not a readable snapshot: {exc}; re-run `crosspath scan`") from exc
        return _checked_header(path, header)
    prefix = b'{"format":"' + FORMAT.encode() + b'","version":' + str(VERSION).encode() + b',"metadata":'
    marker = b'},"nodes":['
    head = bytearray()
    try:
        with path.open("rb") as handle:
            gzipped = handle.read(2) == b"\x1f\x8b"
            handle.seek(0)
            stream = gzip.GzipFile(fileobj=handle, mode="rb") if gzipped else handle
            while len(head) < METADATA_MAX_BYTES and (block := stream.read(1 << 16)):
                head += block
                if len(head) >= len(prefix) and not head.startswith(prefix):
                    break
                found = _metadata_end(head, prefix, marker)
                if found is not None:
                    return found
    except (OSError, EOFError, zlib.error) as exc:
        raise SnapshotError(f"{path}: cannot read snapshot: {exc}") from exc
    raise SnapshotError(f"{path}: not a Crosspath snapshot of version {VERSION} (or its metadata is damaged); "
                        "re-run `crosspath scan`")


def _metadata_end(head: bytearray, prefix: bytes, marker: bytes) -> dict[str, Any] | None:
    """The metadata object, once `head` holds all of it: the first `},"nodes":[` after which the text up to
    it parses as one JSON object (a metadata value may itself contain the marker's characters)."""
    start = len(prefix)
    at = head.find(marker, start)
    while at >= 0:
        try:
            metadata = orjson.loads(bytes(head[start:at + 1]))
        except orjson.JSONDecodeError:
            at = head.find(marker, at + 1)
            continue
        return metadata if isinstance(metadata, dict) else None
    return None


def _nodes(path: Path, nodes: list[Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for index, node in enumerate(nodes):
        node_id = node.get("id") if isinstance(node, dict) else None
        if not isinstance(node_id, str) or not node_id:
            what = "is not an object" if not isinstance(node, dict) else (
                "has no 'id'" if "id" not in node else f"has an 'id' that is not a non-empty string ({node_id!r})")
            raise SnapshotError(f"{path}: node {index + 1} of {len(nodes)} {what}; every node needs a string id")
        yield node_id, node


def _edges(path: Path, edges: list[Any]) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    for index, edge in enumerate(edges):
        if not isinstance(edge, dict) or not all(key in edge for key in ("source", "target", "kind", "via")):
            what = ("is not an object" if not isinstance(edge, dict) else "has no " + ", ".join(
                repr(key) for key in ("source", "target", "kind", "via") if key not in edge))
            raise SnapshotError(f"{path}: edge {index + 1} of {len(edges)} {what}; every edge needs source, "
                                "target, kind and via")
        yield edge.pop("source"), edge.pop("target"), f"{edge['kind']}|{edge['via']}", edge


def _dangling(path: Path, graph: nx.MultiDiGraph, known: int) -> SnapshotError | None:
    """An edge added a node no `nodes` entry describes: name the first such edge."""
    if graph.number_of_nodes() == known:
        return None
    for source, target, data in graph.edges(data=True):
        for end in (source, target):
            if "id" not in graph.nodes[end]:
                return SnapshotError(f"{path}: edge {data.get('kind')} {source!r} -> {target!r} points to {end!r}, "
                                     "which is not a node of the snapshot")
    return None  # pragma: no cover - a new node always comes from an edge


def _read_snapshot(path: Path, max_bytes: int | None, max_ratio: float | None
                   ) -> tuple[nx.MultiDiGraph, dict[str, Any]]:
    if _starts_with_magic(path):
        nodes, edges, metadata = _arrow_tables(path, max_bytes, max_ratio)
        with reading_tables(path):
            return arrow.to_graph(nodes, edges), metadata
    try:
        raw = _expanded(path, max_bytes, max_ratio)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise SnapshotError(f"{path}: the gzip data is truncated or corrupt ({exc}); re-run `crosspath scan`") from exc
    except OSError as exc:
        raise SnapshotError(f"{path}: cannot read snapshot: {exc.strerror or exc}") from exc
    first = _SPACE.match(raw).end()
    if raw[first:first + 1] != b"{":
        start = bytes(raw[first:first + 4])
        raise SnapshotError(f"{path}: not a snapshot: neither gzip-compressed nor JSON (it starts with {start!r}; "
                            "an .arrow snapshot starts with CROSSPATH-SNAPSHOT, a .json.gz one with 1f 8b, a .json one with '{')")
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise SnapshotError(f"{path}: not a readable snapshot ({exc}); re-run `crosspath scan`") from exc
    del raw
    _check_format(path, document, VERSION)
    for key in ("nodes", "edges"):
        if not isinstance(document.get(key), list):
            raise SnapshotError(f"{path}: a Crosspath snapshot has a '{key}' list; this file has "
                                + ("none" if key not in document else f"a {type(document[key]).__name__}"))
    metadata = document.get("metadata", {})
    if not isinstance(metadata, dict):
        raise SnapshotError(f"{path}: 'metadata' is a {type(metadata).__name__}, not an object")
    graph = Graph()
    graph.add_nodes_from(_nodes(path, document["nodes"]))
    known = graph.number_of_nodes()
    graph.add_owned_edges(_edges(path, document["edges"]))  # the parsed edge dicts become the graph's
    dangling = _dangling(path, graph, known)
    if dangling is not None:
        raise dangling
    return graph, metadata
