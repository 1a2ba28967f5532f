"""Snapshot files: the unit of history (diffs, drift, reports).

Format `crosspath-snapshot` version 1 (docs/snapshot.md): one JSON document,
gzip-compressed when the name ends in `.gz`::

    {"format": "crosspath-snapshot", "version": 1,
     "metadata": {"collected_at", "tool_version", "created_at", "coverage": {...}, "errors": [...]},
     "nodes": [{"id", "family", "kind", "provider", "name", "scope", ...}],
     "edges": [{"source", "target", "kind", "via", ...}]}

Writes are atomic: the document goes to a temporary file in the same folder,
is flushed and fsynced, then renamed over the target, so a crash leaves either
the old snapshot or the new one, never half of one.
"""

from __future__ import annotations

import gc
import gzip
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import networkx as nx
import orjson

FORMAT = "crosspath-snapshot"
VERSION = 1


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


def write_atomic(path: Path, payload: bytes) -> None:
    """Replace `path` with `payload` so that readers never see a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def write_snapshot(path: Path, graph: nx.MultiDiGraph, metadata: dict[str, Any]) -> Path:
    payload = _encode(graph, metadata)
    if path.name.endswith(".gz"):
        payload = gzip.compress(payload, compresslevel=3, mtime=0)
    write_atomic(path, payload)
    return path


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of acyclic dicts are created.

    Each allocation burst would otherwise trigger full collections over everything built so far:
    on a 1M-edge snapshot, decoding and building take several times longer with it running.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read_snapshot(path: Path) -> tuple[nx.MultiDiGraph, dict[str, Any]]:
    """Load a snapshot into a graph; unknown formats and versions fail with a clear error, and so does
    any other damage (a missing or mistyped field, a corrupt compressed stream): SnapshotError only."""
    with gc_paused():
        try:
            graph, metadata = _read_snapshot(path)
        except SnapshotError:
            raise
        except Exception as exc:  # a damaged file of any shape is one clear error
            raise SnapshotError(f"{path}: not a readable snapshot ({type(exc).__name__}: {str(exc)[:200]}); "
                                "re-run `crosspath scan`") from exc
    if not isinstance(metadata, dict):
        raise SnapshotError(f"{path}: not a readable snapshot (field 'metadata' is not an object); "
                            "re-run `crosspath scan`")
    return graph, metadata


def _read_snapshot(path: Path) -> tuple[nx.MultiDiGraph, dict[str, Any]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SnapshotError(f"{path}: cannot read snapshot: {exc.strerror}") from exc
    try:
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        document = orjson.loads(raw)
    except (OSError, EOFError, orjson.JSONDecodeError) as exc:
        raise SnapshotError(f"{path}: not a readable snapshot ({exc}); re-run `crosspath scan`") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise SnapshotError(f"{path}: not a Crosspath snapshot (field 'format' is not '{FORMAT}')")
    version = document.get("version")
    if version != VERSION:
        raise SnapshotError(
            f"{path}: snapshot version {version!r} is not supported; this Crosspath reads version {VERSION}. "
            "Use the Crosspath release that wrote it, or re-run `crosspath scan` to write a new snapshot."
        )
    graph = nx.MultiDiGraph()
    graph.add_nodes_from((node["id"], node) for node in document["nodes"])
    graph.add_edges_from(
        (edge.pop("source"), edge.pop("target"), f"{edge['kind']}|{edge['via']}", edge)
        for edge in document["edges"]
    )
    return graph, document.get("metadata", {})
