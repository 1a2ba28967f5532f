"""Snapshot reads are bounded and say what is wrong with a bad file (issue 16): a 1.9 MB upload that
expanded to 2 GB once held the dashboard at 4.1 GB for a minute."""

from __future__ import annotations

import gzip
import json
import time
import tracemalloc
import zlib
from pathlib import Path

import networkx as nx
import pytest

from graph.snapshot import MAX_BYTES_ENV, RATIO_FLOOR, SnapshotError, read_snapshot, write_snapshot

MiB = 1 << 20


def _small_graph() -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph()
    graph.add_node("a", id="a", family="Identity", kind="User", name="a" * 200)
    graph.add_node("b", id="b", family="Resource", kind="bucket", name="b")
    graph.add_edge("a", "b", "HAS_PERMISSION|p", kind="HAS_PERMISSION", via="p", level="write")
    return graph


def gzip_bomb(path: Path, expanded: int, prefix: bytes = b'{"format": "crosspath-snapshot", "nodes": [') -> Path:
    """A gzip file that expands to `expanded` bytes (a JSON prefix, then spaces), written without ever
    holding the expansion in memory."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b" " * MiB
    with path.open("wb") as handle:
        handle.write(packer.compress(prefix))
        for _ in range(expanded // MiB):
            handle.write(packer.compress(block))
        handle.write(packer.flush())
    return path


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    return gzip_bomb(tmp_path_factory.mktemp("bomb") / "bomb.json.gz", 1024 * MiB)


def test_a_gzip_bomb_stops_at_the_limit_without_allocating_the_expansion(bomb):
    assert bomb.stat().st_size < 2 * MiB  # 1 GiB expanded
    tracemalloc.start()
    try:
        with pytest.raises(SnapshotError, match=r"bomb.json.gz: expands to more than the limit of 16 MiB"):
            read_snapshot(bomb, max_bytes=16 * MiB, max_ratio=None)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40 * MiB, f"peak {peak / MiB:.0f} MiB"


def test_by_default_a_bomb_stops_at_a_hundred_times_its_compressed_size(bomb):
    started = time.monotonic()
    tracemalloc.start()
    try:
        with pytest.raises(SnapshotError, match=r"more than 100 times its compressed size .* gzip bomb"):
            read_snapshot(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    limit = max(RATIO_FLOOR, 100 * bomb.stat().st_size)  # about 100 MiB of the 1 GiB
    assert peak < limit + 24 * MiB < 200 * MiB, f"peak {peak / MiB:.0f} MiB"
    assert time.monotonic() - started < 30  # fails fast: it never expands the whole gigabyte


def test_real_snapshots_read_under_the_default_limits(tmp_path, monkeypatch):
    path = write_snapshot(tmp_path / "snapshot.json.gz", _small_graph(), {"run": 1})
    graph, metadata = read_snapshot(path)
    assert graph.number_of_nodes() == _small_graph().number_of_nodes() and metadata == {"run": 1}
    monkeypatch.setenv(MAX_BYTES_ENV, "100")  # bytes: smaller than this snapshot
    with pytest.raises(SnapshotError, match=f"more than the limit of 0 MiB.*{MAX_BYTES_ENV}"):
        read_snapshot(path)
    assert read_snapshot(path, max_bytes=None)[1] == {"run": 1}  # a caller's own limit wins
    monkeypatch.setenv(MAX_BYTES_ENV, "lots")
    with pytest.raises(SnapshotError, match="is not a size"):
        read_snapshot(path)


def _document(**changes) -> dict:
    document = {"format": "crosspath-snapshot", "version": 1, "metadata": {},
                "nodes": [{"id": "a", "family": "Identity", "kind": "User"},
                          {"id": "b", "family": "Identity", "kind": "Group"}],
                "edges": [{"source": "a", "target": "b", "kind": "MEMBER_OF", "via": "membership"}]}
    document.update(changes)
    return {k: v for k, v in document.items() if v is not None}


BAD = {
    "not gzip or JSON": (b"PK\x03\x04 a zip file", r"neither gzip-compressed nor JSON \(it starts with b'PK"),
    "truncated gzip": (gzip.compress(json.dumps(_document()).encode())[:40], "gzip data is truncated or corrupt"),
    "not JSON inside": (gzip.compress(b"{nope"), "not a readable snapshot"),
    "another format": (json.dumps({"format": "other"}).encode(), "not a Crosspath snapshot"),
    "another version": (json.dumps(_document(version=2)).encode(), "snapshot version 2 is not supported"),
    "no nodes": (json.dumps(_document(nodes=None)).encode(), "has a 'nodes' list; this file has none"),
    "nodes not a list": (json.dumps(_document(nodes={"a": 1})).encode(), "this file has a dict"),
    "node without id": (json.dumps(_document(nodes=[{"id": "a"}, {"name": "b"}])).encode(),
                        "node 2 of 2 has no 'id'"),
    "node id not a string": (json.dumps(_document(nodes=[{"id": 7}])).encode(), "not a non-empty string"),
    "edge without kind": (json.dumps(_document(edges=[{"source": "a", "target": "b", "via": "x"}])).encode(),
                          "edge 1 of 1 has no 'kind'"),
    "edge to a missing node": (json.dumps(_document(edges=[{"source": "a", "target": "ghost", "kind": "MEMBER_OF",
                                                            "via": "x"}])).encode(),
                               "edge MEMBER_OF 'a' -> 'ghost' points to 'ghost', which is not a node"),
    "metadata not an object": (json.dumps(_document(metadata=[1])).encode(), "'metadata' is a list"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_file_says_what_is_wrong(tmp_path, case):
    payload, message = BAD[case]
    path = tmp_path / "bad.json.gz"
    path.write_bytes(payload)
    with pytest.raises(SnapshotError, match=message) as error:
        read_snapshot(path)
    assert str(error.value).startswith(f"{path}: ")
