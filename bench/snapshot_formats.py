"""Snapshot version 1 (gzip JSON) against version 2 (Arrow, memory-mapped) on a synthetic organisation.

    python bench/snapshot_formats.py --identities 100000 [--repeat 3] [--compression zstd lz4 none]

Prints, for each format, the write time, the file size, the read time into networkx (read_snapshot) and
the metadata read time; for version 2 also read_tables (the tables only, memory-mapped), once per
--compression of its Arrow buffers (default: zstd, what `crosspath scan` writes); then the ratios
v1 / v2 (v2 with the first --compression). Times are the best of --repeat runs (the write: of one),
with the cycle collector paused as the scan pauses it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def best(repeat: int, action: Callable[[], Any]) -> float:
    """The shortest of `repeat` runs; what a run returns is freed after its clock stops (freeing a
    million-edge graph takes seconds that are no part of reading it)."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
        del result
    return min(times)


def main() -> None:
    from bench.run import AS_OF
    from bench.synthetic_org import generate
    from graph.builder import build_graph
    from graph.snapshot import gc_paused, read_metadata, read_snapshot, read_tables, write_snapshot

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--identities", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--compression", nargs="+", default=["zstd"], choices=["zstd", "lz4", "none"],
                        help="version 2 buffer compressions to measure (the first is the one compared with v1)")
    args = parser.parse_args()
    with gc_paused():
        graph = build_graph(generate(args.identities), AS_OF).graph
    figures: dict[str, Any] = {"identities": args.identities, "nodes": graph.number_of_nodes(),
                               "edges": graph.number_of_edges()}
    metadata = {"collected_at": AS_OF.isoformat(), "benchmark": args.identities}
    with tempfile.TemporaryDirectory() as folder:
        runs = [("v1", "snapshot.json.gz", {})]
        for index, compression in enumerate(args.compression):
            label = "v2" if index == 0 else f"v2_{compression}"
            runs.append((label, f"snapshot-{compression}.arrow",
                         {"compression": None if compression == "none" else compression}))
            figures[f"{label}_compression"] = compression
        for label, name, options in runs:
            path = Path(folder) / name
            figures[f"{label}_write_s"] = best(1, lambda path=path, options=options:
                                               write_snapshot(path, graph, metadata, **options))
            figures[f"{label}_bytes"] = path.stat().st_size
            figures[f"{label}_read_graph_s"] = best(args.repeat, lambda path=path: read_snapshot(path))
            figures[f"{label}_read_metadata_s"] = best(args.repeat, lambda path=path: read_metadata(path))
            if label != "v1":
                figures[f"{label}_read_tables_s"] = best(args.repeat, lambda path=path: read_tables(path))
    for what in ("write_s", "bytes", "read_graph_s", "read_metadata_s"):
        figures[f"v1/v2 {what}"] = round(figures[f"v1_{what}"] / max(figures[f"v2_{what}"], 1e-9), 2)
    figures["v1 read_graph / v2 read_tables"] = round(figures["v1_read_graph_s"] / figures["v2_read_tables_s"], 1)
    print(json.dumps({key: round(value, 3) if isinstance(value, float) else value
                      for key, value in figures.items()}, indent=2))


if __name__ == "__main__":
    main()
