"""Benchmark: build + analyse a synthetic organisation; prints time, peak memory and findings.

    python bench/run.py --sizes 10000 100000

Each size runs in its own process so that the peak resident memory (ru_maxrss) is that size's own.
Target (issue 2): 100k identities (~1M edges) build + analyse in under 60 s and 4 GiB on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)  # the synthetic organisation's collection time


def measure(identities: int) -> dict[str, float | int]:
    from bench.synthetic_org import generate
    from graph.builder import build_graph
    from graph.snapshot import gc_paused, read_snapshot, write_snapshot
    from queries.analysis import analyze
    from queries.policy import load_policy

    figures: dict[str, float | int] = {"identities": identities}
    started = time.perf_counter()
    results = generate(identities)
    figures["generate_s"] = time.perf_counter() - started

    started = time.perf_counter()
    with gc_paused():  # as crosspath/pipeline.py scan() builds and analyses
        build = build_graph(results, AS_OF)
    figures["build_s"] = time.perf_counter() - started
    figures["nodes"] = build.graph.number_of_nodes()
    figures["edges"] = build.graph.number_of_edges()
    del results

    started = time.perf_counter()
    with gc_paused():
        analysis = analyze(build.graph, {}, load_policy(), [], AS_OF)
    figures["analyse_s"] = time.perf_counter() - started
    figures["findings"] = len(analysis.findings)
    for gap, count in analysis.summary()["by_gap_type"].items():
        figures[gap] = count
    figures["build_plus_analyse_s"] = figures["build_s"] + figures["analyse_s"]

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "snapshot.json.gz"
        started = time.perf_counter()
        write_snapshot(path, build.graph, {"benchmark": identities})
        figures["snapshot_write_s"] = time.perf_counter() - started
        figures["snapshot_mb"] = path.stat().st_size / 1e6
        del build, analysis
        started = time.perf_counter()
        read_snapshot(path)
        figures["snapshot_read_s"] = time.perf_counter() - started
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child process mode
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one)))
        return
    rows = []
    for size in args.sizes:
        child = subprocess.run([sys.executable, __file__, "--one", str(size)], capture_output=True, text=True,
                               check=True)
        rows.append(json.loads(child.stdout.strip().splitlines()[-1]))
    columns = ["identities", "nodes", "edges", "generate_s", "build_s", "analyse_s", "build_plus_analyse_s",
               "snapshot_write_s", "snapshot_read_s", "snapshot_mb", "peak_rss_mb", "findings", "NO_MFA",
               "LONG_LIVED_NHI_KEY", "CROSS_STACK"]
    print(" | ".join(columns))
    for row in rows:
        print(" | ".join(f"{row[c]:.2f}" if isinstance(row[c], float) else str(row[c]) for c in columns))


if __name__ == "__main__":
    main()
