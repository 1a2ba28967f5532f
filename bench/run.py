"""Benchmark: build + analyse a synthetic organisation; prints time, peak memory and findings.

    python bench/run.py --sizes 10000 100000

    python bench/run.py --sizes 10000 100000 --markdown   # the tables for docs/architecture.md "Scale"

Each size runs in its own process so that the peak resident memory (ru_maxrss) is that size's own.
Target (issue 2): 100k identities (~1M edges) build + analyse in under 60 s and 4 GiB on 2 cores.

Every stage is also printed as a ratio to a floor measured in the same process on the same graph
(bench/floor.py): the path engine's reverse search (one BFS from every privileged target over the
reversed MFA-free subgraph) done by scipy's compiled breadth_first_order on a CSR matrix. Only the
search is timed (best of FLOOR_REPEATS); the conversion to CSR is its own row. The engine's own stages
(compile, reverse search, gap paths) are timed on a second PathEngine after analyse.
"""

from __future__ import annotations

import argparse
import gc
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
FLOOR_REPEATS = 5  # the floor takes milliseconds: its best of 5 runs

# (label, key): the per-size stage table, each stage as a ratio to floor_bfs_s
STAGES = [
    ("build", "build_s"),
    ("analyse", "analyse_s"),
    ("snapshot write", "snapshot_write_s"),
    ("snapshot read", "snapshot_read_s"),
    ("engine: compile (PathEngine)", "engine_compile_s"),
    ("engine: reverse search", "engine_reverse_search_s"),
    ("engine: gap paths (incl. reverse search)", "engine_gap_paths_s"),
    ("floor: graph -> CSR (not in the floor)", "floor_convert_s"),
    ("floor: scipy CSR BFS", "floor_bfs_s"),
    ("rustworkx: graph -> PyDiGraph", "rustworkx_convert_s"),
    ("rustworkx: descendants", "rustworkx_bfs_s"),
]


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
    del analysis
    gc.collect()
    figures["peak_rss_before_floor_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures.update(measure_engine_and_floor(build.graph, load_policy()))

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "snapshot.json.gz"
        started = time.perf_counter()
        write_snapshot(path, build.graph, {"benchmark": identities})
        figures["snapshot_write_s"] = time.perf_counter() - started
        figures["snapshot_mb"] = path.stat().st_size / 1e6
        del build
        started = time.perf_counter()
        read_snapshot(path)
        figures["snapshot_read_s"] = time.perf_counter() - started
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return figures


def _best(run, repeats: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    return best, result


def measure_engine_and_floor(graph, policy) -> dict[str, float | int]:
    """The path engine's own stages on a fresh PathEngine, then the floor (bench/floor.py) on the same graph."""
    from bench.floor import engine_sources, reachable, to_csr
    from graph.snapshot import gc_paused
    from queries.paths import INF, PathEngine

    figures: dict[str, float | int] = {}
    with gc_paused():
        started = time.perf_counter()
        engine = PathEngine(graph, policy)
        figures["engine_compile_s"] = time.perf_counter() - started
        started = time.perf_counter()
        dist, _ = engine._reverse_search()
        figures["engine_reverse_search_s"] = time.perf_counter() - started
        started = time.perf_counter()
        figures["gap_paths"] = len(engine.gap_paths())
        figures["engine_gap_paths_s"] = time.perf_counter() - started
    sources = engine_sources(engine)
    engine_reached = sum(1 for d in dist if d != INF)
    del engine, dist
    gc.collect()

    figures["floor_sources"] = len(sources)
    started = time.perf_counter()
    csr = to_csr(graph, sources)
    figures["floor_convert_s"] = time.perf_counter() - started
    figures["floor_edges"] = csr.edges
    figures["floor_bfs_s"], order = _best(lambda: reachable(csr), FLOOR_REPEATS)
    figures["floor_reached"] = len(order)
    if len(order) != engine_reached:
        raise SystemExit(f"floor reached {len(order)} nodes, the engine {engine_reached}: not the same search")
    try:
        from bench.floor import reachable_rustworkx, to_rustworkx
        started = time.perf_counter()
        rx_graph = to_rustworkx(csr)
        figures["rustworkx_convert_s"] = time.perf_counter() - started
        figures["rustworkx_bfs_s"], found = _best(lambda: reachable_rustworkx(rx_graph, csr.super_source),
                                                   FLOOR_REPEATS)
        if len(found) != engine_reached:
            raise SystemExit(f"rustworkx reached {len(found)} nodes, the engine {engine_reached}")
    except ImportError:  # optional: pip install rustworkx
        pass
    return figures


def stage_rows(row: dict) -> list[tuple[str, float, float]]:
    """(stage, seconds, ratio to the floor) for the stages this row has."""
    floor = row["floor_bfs_s"]
    return [(label, row[key], row[key] / floor) for label, key in STAGES if key in row]


def _ratio(value: float) -> str:
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _seconds(value: float) -> str:
    return f"{value:.2f}" if value >= 1 else f"{value:.3f}" if value >= 0.01 else f"{value:.6f}"


def print_plain(rows: list[dict], columns: list[str]) -> None:
    print(" | ".join(columns))
    for row in rows:
        print(" | ".join(f"{row[c]:.2f}" if isinstance(row[c], float) else str(row[c]) for c in columns))
    for row in rows:
        print()
        print(f"{row['identities']} identities: floor = scipy BFS over {row['floor_edges']} MFA-free edges from "
              f"{row['floor_sources']} privileged sources, reaching {row['floor_reached']} nodes")
        width = max(len(label) for label, _ in STAGES)
        print(f"{'stage':<{width}} | {'seconds':>9} | {'x floor':>9}")
        for label, seconds, ratio in stage_rows(row):
            print(f"{label:<{width}} | {_seconds(seconds):>9} | {_ratio(ratio):>9}")


def print_markdown(rows: list[dict]) -> None:
    """The summary table (as in docs/architecture.md "Scale") and one stage table, a column pair per size."""
    print("| identities | nodes | edges | build | analyse | build + analyse | snapshot write / read "
          "| snapshot size | peak RSS |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        rss = row["peak_rss_mb"]
        rss_text = f"{rss / 1024:.1f} GB" if rss >= 1024 else f"{rss:.0f} MB"
        print(f"| {row['identities']:,} | {row['nodes']:,} | {row['edges']:,} | {row['build_s']:.1f} s "
              f"| {row['analyse_s']:.1f} s | {row['build_plus_analyse_s']:.1f} s "
              f"| {row['snapshot_write_s']:.1f} s / {row['snapshot_read_s']:.1f} s | {row['snapshot_mb']:.1f} MB "
              f"| {rss_text} |")
    print()
    head = "| stage |" + "".join(f" {row['identities']:,}: s | × floor |" for row in rows)
    print(head)
    print("|---|" + "---|---|" * len(rows))
    per_size = [{label: (s, r) for label, s, r in stage_rows(row)} for row in rows]
    for label, _ in STAGES:
        if not any(label in sizes for sizes in per_size):
            continue
        cells = "".join(f" {_seconds(sizes[label][0])} | {_ratio(sizes[label][1])} |" if label in sizes else " – | – |"
                        for sizes in per_size)
        print(f"| {label} |{cells}")
    print()
    print("Floor: " + "; ".join(
        f"{row['identities']:,} identities: {row['floor_edges']:,} MFA-free edges, {row['floor_sources']:,} "
        f"privileged sources, {row['floor_reached']:,} nodes reached" for row in rows) + ".")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--markdown", action="store_true",
                        help='print the tables as Markdown (docs/architecture.md "Scale", README "Benchmark")')
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
    if args.markdown:
        print_markdown(rows)
    else:
        print_plain(rows, columns)


if __name__ == "__main__":
    main()
