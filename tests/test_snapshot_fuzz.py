"""Property-based test of the snapshot readers (docs/reliability.md, "Export files"): whatever bytes sit
in a snapshot file, `read_snapshot` returns a graph or raises SnapshotError naming the file, nothing
else. Bounded in the normal suite; `make fuzz` runs many more examples."""

from __future__ import annotations

import copy
import gzip
import json
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import networkx as nx
from hypothesis import given
from hypothesis import strategies as st

from graph.snapshot import SnapshotError, read_metadata, read_snapshot, read_tables, write_snapshot
from graph.snapshot_arrow import COMPRESSIONS
from tests.collectors.exports_helpers import FUZZ
from tests.collectors.test_export_fuzz import JSON_VALUE, _at, _paths


@cache
def snapshot_document() -> dict[str, Any]:
    graph = nx.MultiDiGraph()
    graph.add_node("aws:a", id="aws:a", family="Identity", kind="User", provider="aws", name="a", scope="s",
                   tags=["env=prod"], mfa=None)
    graph.add_node("aws:b", id="aws:b", family="Resource", kind="bucket", provider="aws", name="b", scope="s")
    graph.add_edge("aws:a", "aws:b", key="HAS_PERMISSION|p", kind="HAS_PERMISSION", via="p", level="write",
                   actions=["s3:PutObject"])
    with tempfile.TemporaryDirectory() as tmp:
        path = write_snapshot(Path(tmp) / "s.json", graph, {"collected_at": "2026-01-01T00:00:00Z",
                                                             "coverage": {}, "errors": []})
        return json.loads(path.read_text())


@st.composite
def snapshot_bytes(draw: st.DrawFn) -> bytes:
    """A valid snapshot document damaged structurally or byte-wise, maybe gzip-compressed."""
    document = copy.deepcopy(snapshot_document())
    kind = draw(st.sampled_from(("drop", "retype", "retype", "truncate", "bytes", "deep")))
    if kind in ("drop", "retype"):
        paths = _paths(document)
        uniform = draw(st.randoms(use_true_random=False))
        for _ in range(draw(st.integers(1, 3))):
            paths = _paths(document)
            path = paths[uniform.randrange(len(paths))]
            if not path:
                document = draw(JSON_VALUE)
            elif kind == "drop":
                del _at(document, path[:-1])[path[-1]]
            else:
                _at(document, path[:-1])[path[-1]] = draw(JSON_VALUE)
        raw = json.dumps(document).encode()
    elif kind == "deep":
        depth = draw(st.sampled_from((200, 300, 5000)))
        raw = b"[" * depth + b"]" * depth
    else:
        raw = json.dumps(document).encode()
    compressed = draw(st.booleans())
    if compressed:
        raw = gzip.compress(raw)
    if kind == "truncate":
        raw = raw[: draw(st.integers(0, max(len(raw) - 1, 0)))]
    elif kind == "bytes":
        position = draw(st.integers(0, len(raw)))
        raw = raw[:position] + draw(st.binary(min_size=1, max_size=16)) + raw[position + 1:]
    return raw


@FUZZ
@given(raw=snapshot_bytes(), gz=st.booleans())
def test_the_snapshot_reader_raises_only_snapshot_error(raw: bytes, gz: bool):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("snapshot.json.gz" if gz else "snapshot.json")
        path.write_bytes(raw)
        try:
            graph, metadata = read_snapshot(path)
        except SnapshotError as exc:
            assert str(path) in str(exc)
        else:
            assert isinstance(graph, nx.MultiDiGraph)
            assert isinstance(metadata, dict)


@cache
def arrow_snapshot(compression: str | None) -> bytes:
    """A version 2 file (graph/snapshot_arrow.py) of a graph with typed, dictionary and `_extra` columns."""
    graph = nx.MultiDiGraph()
    for index in range(6):
        graph.add_node(f"aws:{index}", id=f"aws:{index}", family="Identity", kind="User", provider="aws",
                       name=f"n{index}", scope="s", mfa=[None, True, False][index % 3], tags=["a", "b"][: index % 3],
                       **({"mixed": [1, "x"][index % 2]} if index % 2 else {}))
    for index in range(5):
        graph.add_edge(f"aws:{index}", f"aws:{index + 1}", key=f"HAS_PERMISSION|p{index % 2}",
                       kind="HAS_PERMISSION", via=f"p{index % 2}", level="write", actions=["s3:PutObject"] * index)
    with tempfile.TemporaryDirectory() as tmp:
        return write_snapshot(Path(tmp) / "s.arrow", graph, {"collected_at": "2026-01-01T00:00:00Z"},
                              compression=compression).read_bytes()


@st.composite
def damaged_arrow(draw: st.DrawFn) -> bytes:
    """A version 2 file (buffers uncompressed, lz4 or zstd) truncated, or with bytes overwritten anywhere:
    header, padding, Arrow metadata, buffers (compressed ones too)."""
    raw = arrow_snapshot(draw(st.sampled_from(COMPRESSIONS)))
    if draw(st.booleans()):
        return raw[: draw(st.integers(0, len(raw) - 1))]
    damaged = bytearray(raw)
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(raw) - 1))
        patch = draw(st.binary(min_size=1, max_size=8))
        damaged[position:position + len(patch)] = patch
    return bytes(damaged[: len(raw)])


@FUZZ
@given(raw=damaged_arrow())
def test_the_arrow_snapshot_reader_raises_only_snapshot_error(raw: bytes):
    """No damage makes the memory-mapped reader crash, read out of bounds or raise anything but SnapshotError."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "snapshot.arrow"
        path.write_bytes(raw)
        for read in (read_snapshot, read_tables, read_metadata):
            try:
                read(path)
            except SnapshotError as exc:
                assert str(path) in str(exc)
