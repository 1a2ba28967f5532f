"""Snapshot format version 2 (docs/snapshot.md): one memory-mapped file holding a JSON header and the
nodes and edges as Arrow tables. A graph comes back exactly as it was written, a damaged file is refused
with a sentence naming it, and an OUT folder of version 1 snapshots keeps working."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import struct
from pathlib import Path

import networkx as nx
import orjson
import pyarrow as pa
import pytest
from click.testing import CliRunner

from crosspath.cli import main
from crosspath.pipeline import previous_metadata, scan
from graph import snapshot_arrow
from graph.snapshot import SnapshotError, read_metadata, read_snapshot, read_tables, write_snapshot

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"


def exact(graph: nx.MultiDiGraph) -> tuple[str, str]:
    """Nodes and edges in iteration order with their data: repr tells True from 1, 1 from 1.0, and
    shows the order of every dict's keys."""
    return repr(list(graph.nodes(data=True))), repr(list(graph.edges(keys=True, data=True)))


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The sample organisation scanned into an OUT folder (snapshot.arrow, history/)."""
    out = tmp_path_factory.mktemp("sample") / "out"
    result = scan(SAMPLES, out, exceptions_path=SAMPLES / "exceptions.yaml")
    return result, out


def awkward_graph() -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph()
    graph.add_node("aws:a", id="aws:a", family="Identity", kind="User", provider="aws", name="Ünïcødé ☃ 名前",
                   scope="aws:account/1", mfa=None, human=True, score=1, weights=[], tags=["env=prod", "é"],
                   big=2**62, huge=2**63 + 5, ratio=0.1, mixed=1)
    graph.add_node("aws:b", id="aws:b", family="Resource", kind="bucket", provider="aws", name="b", scope="s",
                   mfa=False, score=1.0, mixed="one", nested=[[1, 2], {"a": None}], weights=[1.5, "x"],
                   tags=[], empty="", nothing=None)
    graph.add_node("k8s:c", kind="ServiceAccount", family="Identity", id="k8s:c", mixed=True, ratio=-0.0,
                   tags=None, inf=float("inf"))  # keys in another order; no provider, name or scope
    graph.add_node("odd", id="not-odd", family=7, name=None)  # an id attribute that is not the node
    graph.add_edge("aws:a", "aws:b", key="HAS_PERMISSION|p", kind="HAS_PERMISSION", via="p", level="write",
                   actions=["s3:PutObject", "s3:GetObject"], conditions=None)
    graph.add_edge("aws:a", "aws:b", key="HAS_PERMISSION|q", kind="HAS_PERMISSION", via="q", level="admin",
                   actions=[])
    graph.add_edge("k8s:c", "aws:a", key="custom-key", kind="FEDERATES_TO", via="irsa", verified=None,
                   conditions=[{"StringEquals": {"sub": "x"}}], source="a clash with the column")
    graph.add_edge("k8s:c", "k8s:c", key="self|loop", kind="CAN_ASSUME", via="self", mfa_required=False)
    graph.add_edge("odd", "aws:a", key="MEMBER_OF|g", via="g", kind="MEMBER_OF", key_like="MEMBER_OF|g")
    return graph


def test_the_sample_organisation_comes_back_exactly(sample, tmp_path):
    result, out = sample
    graph, metadata = read_snapshot(out / "snapshot.arrow")
    assert exact(graph) == exact(result.build.graph)
    assert metadata == read_metadata(out / "snapshot.arrow") and metadata["snapshot_id"].startswith("snapshot-")


def test_awkward_attributes_come_back_exactly(tmp_path):
    graph = awkward_graph()
    path = write_snapshot(tmp_path / "s.arrow", graph, {"note": "☃", "n": 1})
    read, metadata = read_snapshot(path)
    assert exact(read) == exact(graph) and metadata == {"note": "☃", "n": 1}
    assert "ratio" not in read.nodes["aws:b"] and read.nodes["aws:b"]["nothing"] is None  # absent stays absent
    assert type(read.nodes["aws:b"]["score"]) is float and type(read.nodes["aws:a"]["score"]) is int
    assert str(read.nodes["k8s:c"]["ratio"]) == "-0.0" and read.nodes["aws:a"]["huge"] == 2**63 + 5
    assert list(read.predecessors("aws:a")) == list(graph.predecessors("aws:a"))


def test_empty_and_default_keyed_graphs_come_back(tmp_path):
    empty = read_snapshot(write_snapshot(tmp_path / "empty.arrow", nx.MultiDiGraph(), {}))[0]
    assert (empty.number_of_nodes(), empty.number_of_edges()) == (0, 0)
    graph = nx.MultiDiGraph()
    graph.add_edge("a", "b")  # networkx's own keys: 0, 1
    graph.add_edge("a", "b", weight=2)
    graph.add_edge("b", "a", kind="MEMBER_OF", via="g")  # key 0 beside the properties that usually make it
    assert exact(read_snapshot(write_snapshot(tmp_path / "keys.arrow", graph, {}))[0]) == exact(graph)


def test_the_tables_are_columns_a_tool_can_read(sample):
    _, out = sample
    nodes, edges, metadata = read_tables(out / "snapshot.arrow")
    assert metadata == read_metadata(out / "snapshot.arrow")
    assert nodes.column("id").to_pylist() == list(read_snapshot(out / "snapshot.arrow")[0])
    assert pa.types.is_dictionary(nodes.schema.field("family").type)
    assert edges.schema.field("source").type == pa.int32() and edges.schema.field("target").type == pa.int32()
    assert {"kind", "via", "key"} <= set(edges.column_names)
    ids = nodes.column("id").to_pylist()
    first = edges.slice(0, 1).to_pylist()[0]
    graph = read_snapshot(out / "snapshot.arrow")[0]
    assert graph.has_edge(ids[first["source"]], ids[first["target"]])


def test_tables_of_a_version_1_file_are_refused_with_what_to_do(tmp_path):
    path = write_snapshot(tmp_path / "old.json.gz", awkward_graph(), {})
    with pytest.raises(SnapshotError, match=r"old.json.gz: not a version 2 \(Arrow\) snapshot.*crosspath scan"):
        read_tables(path)


def test_version_1_files_are_still_read_and_the_format_is_told_by_content(tmp_path):
    graph = awkward_graph()
    # version 1 keeps no node key apart from the `id` attribute, no edge key but kind|via, no infinity
    graph.remove_nodes_from(["odd", "k8s:c"])
    v1 = write_snapshot(tmp_path / "s.json.gz", graph, {"run": 1})
    assert gzip.decompress(v1.read_bytes()).startswith(b'{"format":"crosspath-snapshot","version":1,')
    v2 = write_snapshot(tmp_path / "s.arrow", graph, {"run": 1})
    misnamed = tmp_path / "s.json"
    shutil.copyfile(v2, misnamed)
    for path in (v1, v2, misnamed):
        read, metadata = read_snapshot(path)
        assert metadata == {"run": 1} == read_metadata(path)
        assert nx.utils.graphs_equal(read, graph)
    assert exact(read_snapshot(misnamed)[0]) == exact(graph)


def test_read_metadata_reads_the_header_only(tmp_path):
    path = write_snapshot(tmp_path / "s.arrow", awkward_graph(), {"collected_at": "2026-11-01T00:00:00Z"})
    header_end = _layout(path)[1]
    with path.open("r+b") as handle:  # the tables are gone: the metadata is still there
        handle.seek(header_end)
        handle.write(b"\xff" * (path.stat().st_size - header_end))
    assert read_metadata(path) == {"collected_at": "2026-11-01T00:00:00Z"}
    with pytest.raises(SnapshotError, match=str(path)):
        read_snapshot(path)


# -------------------------------------------------------------------------------- damaged files

def _layout(path: Path) -> tuple[dict, int]:
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[len(snapshot_arrow.MAGIC):snapshot_arrow.HEADER_START])
    end = snapshot_arrow.HEADER_START + length
    return json.loads(raw[snapshot_arrow.HEADER_START:end]), end


def _with_header(path: Path, change) -> Path:
    """The file with its header changed in place (same length, spaces after the JSON), sections untouched."""
    header, end = _layout(path)
    change(header)
    text = orjson.dumps(header)
    room = end - snapshot_arrow.HEADER_START
    assert len(text) <= room
    raw = bytearray(path.read_bytes())
    raw[snapshot_arrow.HEADER_START:end] = text + b" " * (room - len(text))
    path.write_bytes(bytes(raw))
    return path


def _with_tables(path: Path, nodes: pa.Table, edges: pa.Table) -> Path:
    """A version 2 file laid out as write_snapshot lays it out, around tables a test made."""
    parts = snapshot_arrow.encode(nx.MultiDiGraph(), {}, "crosspath-snapshot")
    header = json.loads(parts[2])
    nodes_ipc, edges_ipc = snapshot_arrow.ipc_file(nodes).to_pybytes(), snapshot_arrow.ipc_file(edges).to_pybytes()
    start = 4096
    header["sections"] = {"nodes": {"offset": start, "length": len(nodes_ipc)},
                          "edges": {"offset": start + 64 * (len(nodes_ipc) // 64 + 1), "length": len(edges_ipc)}}
    text = orjson.dumps(header)
    raw = bytearray(snapshot_arrow.MAGIC + struct.pack("<Q", len(text)) + text)
    raw += b"\0" * (start - len(raw)) + nodes_ipc
    raw += b"\0" * (header["sections"]["edges"]["offset"] - len(raw)) + edges_ipc
    path.write_bytes(bytes(raw))
    return path


def _padded() -> dict:
    return {"pad": "x" * 400}


def _truncated(path: Path) -> Path:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path


def _outside(path: Path) -> Path:
    size = path.stat().st_size

    def change(header):
        header["metadata"]["pad"] = ""
        header["sections"]["edges"]["offset"] = size - 8
    return _with_header(path, change)


def _future(path: Path) -> Path:
    return _with_header(path, lambda header: header.update(version=3))


def _section_changed(path: Path, name: str, change) -> Path:
    """The file with `change(raw, offset, length)` applied to the bytes of one section, in place."""
    header, _ = _layout(path)
    raw = bytearray(path.read_bytes())
    change(raw, header["sections"][name]["offset"], header["sections"][name]["length"])
    path.write_bytes(bytes(raw))
    return path


def _arrow_damaged(path: Path) -> Path:
    def change(raw, offset, length):
        raw[offset + length - 6:offset + length] = b"ARROWX"  # an Arrow IPC file ends with ARROW1
    return _section_changed(path, "nodes", change)


def _buffers_damaged(path: Path) -> Path:
    """Garbage over the middle of the edges section: offsets and lengths inside it point anywhere."""
    def change(raw, offset, length):
        raw[offset + length // 3:offset + 2 * (length // 3)] = b"\xff" * (length // 3)
    return _section_changed(path, "edges", change)


def _bit_flipped(path: Path) -> Path:
    """One bit of one value changed, in the middle of the nodes section: Arrow's structure still holds."""
    def change(raw, offset, length):
        raw[offset + length // 2] ^= 0x08
    return _section_changed(path, "nodes", change)


def _appended(path: Path) -> Path:
    path.write_bytes(path.read_bytes() + b"more")
    return path


def _foreign(path: Path) -> Path:
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 200)
    return path


def _magic_only(path: Path) -> Path:
    path.write_bytes(snapshot_arrow.MAGIC + b"\x05\x00")
    return path


def _tables_of(path: Path) -> tuple[pa.Table, pa.Table]:
    nodes, edges, _ = read_tables(path)
    return nodes, edges


def _edge_out_of_range(path: Path) -> Path:
    nodes, edges = _tables_of(path)
    source = pa.array([len(nodes) + 3] * len(edges), pa.int32())
    return _with_tables(path, nodes, edges.set_column(edges.column_names.index("source"), "source", source))


def _no_target(path: Path) -> Path:
    nodes, edges = _tables_of(path)
    return _with_tables(path, nodes, edges.drop_columns(["target"]))


def _duplicate_ids(path: Path) -> Path:
    nodes, edges = _tables_of(path)
    ids = pa.array(["same"] * len(nodes), pa.string())
    return _with_tables(path, nodes.set_column(0, "id", ids), edges)


def _shaped(path: Path, shape: str) -> Path:
    nodes, edges = _tables_of(path)
    index = nodes.column_names.index("_shape")
    shapes = pa.DictionaryArray.from_arrays(pa.array([0] * len(nodes), pa.int32()), pa.array([shape]))
    return _with_tables(path, nodes.set_column(index, "_shape", shapes), edges)


def _shape_damaged(path: Path) -> Path:
    return _shaped(path, '["id", "na')


def _attribute_lost(path: Path) -> Path:
    return _shaped(path, '["id", "ghost"]')  # `ghost` has no column: every row's _extra should hold it


DAMAGED = {
    "truncated": (_truncated, "truncated or damaged|damaged"),
    "a header pointing outside the file": (_outside, r"edges section at bytes .* outside the file"),
    "an unknown version": (_future, "snapshot version 3 is not supported; this Crosspath reads version 1"),
    "a damaged Arrow section": (_arrow_damaged, "the nodes section's checksum does not match"),
    "a flipped bit": (_bit_flipped, "the nodes section's checksum does not match: the file is damaged"),
    "bytes appended": (_appended, "4 byte.s. follow the edges section, which ends the file"),
    "garbage in a section": (_buffers_damaged, "not a readable snapshot"),
    "a foreign file": (_foreign, r"neither gzip-compressed nor JSON \(it starts with b'\\x89PNG'"),
    "only the magic": (_magic_only, "ends inside its header: truncated or damaged"),
    "an edge index out of range": (_edge_out_of_range, r"an edge's source is node \d+, but the nodes table has 4 rows"),
    "a missing column": (_no_target, "the edges table has no 'target' column"),
    "two nodes with one id": (_duplicate_ids, "two nodes have the same id"),
    "a damaged shape": (_shape_damaged, "the nodes table has a damaged shape"),
}
GRAPH_ONLY = {  # the tables are whole: only building the graph finds what is missing
    "an attribute missing from _extra": (_attribute_lost, "has no value for its attribute 'ghost'|_extra column"),
}


@pytest.mark.parametrize("case", sorted(DAMAGED))
def test_a_damaged_version_2_file_says_what_is_wrong_and_names_it(tmp_path, case):
    damage, message = DAMAGED[case]
    path = damage(write_snapshot(tmp_path / "snapshot.arrow", awkward_graph(), _padded()))
    with pytest.raises(SnapshotError, match=message) as error:
        read_snapshot(path)
    assert str(error.value).startswith(f"{path}: ")
    with pytest.raises(SnapshotError) as tables_error:
        read_tables(path)
    assert str(tables_error.value).startswith(f"{path}: ") and "crosspath scan" in str(tables_error.value)


@pytest.mark.parametrize("case", sorted(GRAPH_ONLY))
def test_a_record_the_tables_cannot_complete_is_refused_when_the_graph_is_built(tmp_path, case):
    damage, message = GRAPH_ONLY[case]
    path = damage(write_snapshot(tmp_path / "snapshot.arrow", awkward_graph(), _padded()))
    with pytest.raises(SnapshotError, match=message) as error:
        read_snapshot(path)
    assert str(error.value).startswith(f"{path}: ") and "crosspath scan" in str(error.value)


def test_a_file_larger_than_the_limit_is_refused(tmp_path):
    path = write_snapshot(tmp_path / "s.arrow", awkward_graph(), {})
    with pytest.raises(SnapshotError, match=r"s.arrow: .* larger than the limit"):
        read_snapshot(path, max_bytes=1000)


# -------------------------------------------------------------------------------- OUT folders and commands

def _as_version_1(folder: Path) -> Path:
    """An OUT folder as a Crosspath before version 2 left it: history/*.json.gz, snapshot.json.gz a
    second name of the newest."""
    for path in sorted((folder / "history").glob("*.arrow")):
        graph, metadata = read_snapshot(path)
        write_snapshot(path.with_name(path.name.removesuffix(".arrow") + ".json.gz"), graph, metadata)
        path.unlink()
    (folder / "snapshot.arrow").unlink()
    os.link(max((folder / "history").glob("*.json.gz")), folder / "snapshot.json.gz")
    return folder


def _report(snapshot: Path, out: Path, *extra: str) -> dict[str, str]:
    result = CliRunner().invoke(main, ["report", *(["--snapshot", str(snapshot)] if snapshot else []),
                                       "--out", str(out), "--format", "json,md", *extra])
    assert result.exit_code == 0, result.output
    return {name: (out / name).read_text() for name in ("findings.json", "report.md")}


def test_findings_are_the_same_from_a_version_1_or_a_version_2_snapshot(sample, tmp_path):
    _, out = sample
    legacy = write_snapshot(tmp_path / "legacy.json.gz", *read_snapshot(out / "snapshot.arrow"))
    from_v2 = _report(out / "snapshot.arrow", tmp_path / "v2")
    from_v1 = _report(legacy, tmp_path / "v1")
    assert from_v1 == from_v2
    assert json.loads(from_v2["findings.json"])["findings"]


def test_an_out_folder_of_version_1_snapshots_is_read_by_report_and_the_next_scan(sample, tmp_path, monkeypatch):
    _, out = sample
    folder = tmp_path / "crosspath-out"
    shutil.copytree(out, folder)
    before = read_metadata(folder / "snapshot.arrow")
    expected = _report(folder / "snapshot.arrow", tmp_path / "expected")
    _as_version_1(folder)
    assert previous_metadata(folder) == before
    monkeypatch.chdir(tmp_path)  # `crosspath report` without --snapshot: ./crosspath-out/snapshot.json.gz
    assert _report(None, tmp_path / "reported") == expected
    warnings = []
    again = scan(SAMPLES, folder, exceptions_path=SAMPLES / "exceptions.yaml", progress=warnings.append)
    assert not [line for line in warnings if line.startswith("warning")]
    assert again.snapshot == folder / "snapshot.arrow" and not (folder / "snapshot.json.gz").exists()
    assert read_metadata(again.snapshot)["carried_in"] == before["carried"]  # carried on from the JSON snapshot
    names = sorted(path.suffix for path in (folder / "history").iterdir())
    assert names == [".arrow", ".gz"]


def test_export_json_writes_the_version_1_document_that_reads_back(sample, tmp_path):
    _, out = sample
    target = tmp_path / "export" / "graph.json.gz"
    result = CliRunner().invoke(main, ["export", "--format", "json", "--snapshot", str(out / "snapshot.arrow"),
                                       "--out", str(target)])
    assert result.exit_code == 0, result.output
    document = json.loads(gzip.decompress(target.read_bytes()))
    assert (document["format"], document["version"]) == ("crosspath-snapshot", 1)
    graph, metadata = read_snapshot(out / "snapshot.arrow")
    exported, exported_metadata = read_snapshot(target)
    assert repr(list(exported.nodes(data=True))) == repr(list(graph.nodes(data=True)))
    # version 1 stores no edge keys: its reader makes each f"{kind}|{via}"
    assert repr(list(exported.edges(data=True))) == repr(list(graph.edges(data=True)))
    assert exported_metadata == metadata
    plain = CliRunner().invoke(main, ["export", "--format", "json", "--snapshot", str(out / "snapshot.arrow"),
                                      "--out", str(tmp_path / "graph.json")])
    assert plain.exit_code == 0 and json.loads((tmp_path / "graph.json").read_text())["version"] == 1
    refused = CliRunner().invoke(main, ["export", "--format", "json", "--snapshot", str(out / "snapshot.arrow"),
                                        "--out", str(tmp_path / "graph.arrow")])
    assert refused.exit_code != 0 and "ends in .json or .json.gz" in refused.output


def test_a_graph_json_cannot_hold_is_refused_when_written_not_when_read(tmp_path):
    graph = nx.MultiDiGraph()
    graph.add_node("a", id="a", **{"a=b": 1})  # a property name any string may be
    assert read_snapshot(write_snapshot(tmp_path / "odd.arrow", graph, {}))[0].nodes["a"] == {"id": "a", "a=b": 1}
    graph.add_node("b", id="b")
    graph.nodes["b"][7] = "seven"  # not a string: no JSON document and no snapshot can name it
    with pytest.raises(SnapshotError, match=r"bad.arrow: cannot be written: a property name is not a string \(7\)"):
        write_snapshot(tmp_path / "bad.arrow", graph, {})
    assert not (tmp_path / "bad.arrow").exists()


# ------------------------------------------------------------------------------------ buffer compression

@pytest.mark.parametrize("compression", snapshot_arrow.COMPRESSIONS)
def test_every_compression_comes_back_exactly(compression, tmp_path):
    graph = awkward_graph()
    path = write_snapshot(tmp_path / "s.arrow", graph, {"n": 1}, compression=compression)
    read, metadata = read_snapshot(path)
    assert exact(read) == exact(graph) and metadata == {"n": 1}
    assert _layout(path)[0]["compression"] == compression
    nodes, edges, _ = read_tables(path)
    plain = read_tables(write_snapshot(tmp_path / "plain.arrow", graph, {"n": 1}, compression=None))
    assert nodes.equals(plain[0]) and edges.equals(plain[1])


def test_the_default_is_zstd_and_smaller(tmp_path):
    graph = nx.MultiDiGraph()
    for index in range(2000):
        graph.add_node(f"aws:user/{index}", id=f"aws:user/{index}", family="Identity", kind="User", provider="aws",
                       name=f"user-{index}", scope="aws:account/1", mfa=index % 2 == 0)
        graph.add_edge(f"aws:user/{index}", "aws:user/0", key=f"MEMBER_OF|g{index % 7}", kind="MEMBER_OF",
                       via=f"g{index % 7}")
    default = write_snapshot(tmp_path / "default.arrow", graph, {})
    plain = write_snapshot(tmp_path / "plain.arrow", graph, {}, compression=None)
    assert snapshot_arrow.COMPRESSION == "zstd" and _layout(default)[0]["compression"] == "zstd"
    assert default.stat().st_size * 2 < plain.stat().st_size
    assert exact(read_snapshot(default)[0]) == exact(read_snapshot(plain)[0]) == exact(graph)


def test_an_unknown_compression_is_refused(tmp_path):
    with pytest.raises(ValueError, match="brotli"):
        write_snapshot(tmp_path / "s.arrow", awkward_graph(), {}, compression="brotli")


def test_an_uncompressed_file_of_the_first_version_2_writer_still_reads():
    """tests/data/snapshot-v2-uncompressed.arrow: awkward_graph() as the first version 2 writer wrote it
    (no buffer compression, no `compression` in the header)."""
    path = Path(__file__).resolve().parent / "data" / "snapshot-v2-uncompressed.arrow"
    assert "compression" not in _layout(path)[0]
    graph, metadata = read_snapshot(path)
    assert exact(graph) == exact(awkward_graph())
    assert metadata == {"note": "written by the first version 2 writer (uncompressed)"}
    nodes, edges, _ = read_tables(path)
    assert (nodes.num_rows, edges.num_rows) == (4, 5)


def test_what_compressed_buffers_declare_is_checked_before_they_are_decompressed(tmp_path):
    graph = nx.MultiDiGraph()
    for index in range(3000):
        graph.add_edge(f"aws:user/{index}", "aws:role/admin", key="CAN_ASSUME|trust", kind="CAN_ASSUME", via="trust",
                       actions=["sts:AssumeRole"] * (index % 3))
    nodes = snapshot_arrow.node_table(graph)[0]
    edges = snapshot_arrow.edge_table(graph, {node: at for at, node in enumerate(graph)})
    assert pa.types.is_dictionary(edges.schema.field("via").type)
    for table in (nodes, edges):  # the sizes declared are the uncompressed buffers'
        sizes = {snapshot_arrow.expanded_size(snapshot_arrow.ipc_file(table, compression))
                 for compression in snapshot_arrow.COMPRESSIONS}
        assert len(sizes) == 1 and table.nbytes <= sizes.pop() <= table.nbytes + 8 * 64  # dictionaries too
    path = write_snapshot(tmp_path / "s.arrow", graph, {})
    size = path.stat().st_size
    with pytest.raises(SnapshotError, match=f"{path}.*would decompress to .* a compression bomb"):
        read_tables(path, max_bytes=size)  # the file is within the limit, what it expands to is not
    with pytest.raises(SnapshotError, match="would decompress to"):
        read_snapshot(path, max_bytes=size)
    assert read_tables(path, max_bytes=None)[1].num_rows == 3000


def test_edge_keys_compared_a_slice_at_a_time_come_back_exactly(tmp_path, monkeypatch):
    # the writer stores a key only where it is not f"{kind}|{via}", comparing KEY_SLICE edges at a time
    monkeypatch.setattr(snapshot_arrow, "KEY_SLICE", 3)
    graph = nx.MultiDiGraph()
    for index in range(10):
        key = f"MEMBER_OF|group {index}" if index % 4 else f"custom-{index}"
        graph.add_edge(f"aws:user/{index}", "aws:group/ops", key=key, kind="MEMBER_OF", via=f"group {index}")
    edges = snapshot_arrow.edge_table(graph, {node: at for at, node in enumerate(graph)})
    stored = edges.column("key").to_pylist()
    assert len(stored) == 10 and [key for key in stored if key is not None] == ["custom-0", "custom-4", "custom-8"]
    assert exact(read_snapshot(write_snapshot(tmp_path / "s.arrow", graph, {}))[0]) == exact(graph)
