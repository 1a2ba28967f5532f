"""Benchmark: build + analyse a synthetic organisation; prints time, peak memory and findings.

    python bench/run.py --sizes 10000 100000

    python bench/run.py --sizes 10000 100000 --markdown   # the tables for docs/architecture.md "Scale"
    python bench/run.py --sizes 10000 100000 --stages all  # + dashboard first load and the Cypher store
    python bench/run.py --stages all --million             # + 1,000,000 identities (not in --sizes without it)

Each size's scan stages run in a process of their own, so that the peak resident memory (ru_maxrss) is that
scan's own; the snapshot it writes is then read (tables, the engine compiled from them, the networkx graph)
in a second process, as the dashboard, `crosspath report` or the Cypher store read it, and the engine's
stages and the floor are measured there on the graph read back (that process's peak RSS: reader_peak_rss_mb).
`--stages all` adds, per size, on the snapshots bench/dashboard_snapshots.py writes (its build not timed
here), each in a process of its own with its own peak RSS: the dashboard's first load (read + analyse +
Overview, bench/dashboard_pages.py), the embedded Cypher store's first load from the snapshot (bench/cypher.py;
the older snapshot, which is the same graph as the other stages) and one whole-organisation library query
(WHOLE_ORG_QUERY, warm: its second run, in the store's worker process) on that store.
Target (issue 2): 100k identities (~1M edges) build + analyse in under 60 s and 4 GiB on 2 cores.
`top fixes` is the rest of a scan's analysis: its five verified fixes (queries/fixes.py find_fixes), on the
analysis's path engine, as `crosspath scan` computes them; `reports` its five report files (queries/reports
write_reports); `scan` adds build, analyse, top fixes, snapshot write and reports: a scan end to end but for
reading the source exports (the issue-17 target's measure).

Every stage is also printed as a ratio to a floor measured in the same run on the same graph
(bench/floor.py): the path engine's reverse search (one BFS from every privileged target over the
reversed MFA-free subgraph) done by scipy's compiled breadth_first_order on a CSR matrix. Only the
search is timed (best of FLOOR_REPEATS); the conversion to CSR is its own row. The engine's own stages
(compile, reverse search, gap paths) are timed on a PathEngine of the graph read back from the snapshot.
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
MILLION = 1_000_000  # sizes from here on only with --million
WHOLE_ORG_QUERY = "privileged_write_no_mfa"  # every entry x privileged target: a whole-organisation query

# (label, key): the per-size stage table, each stage as a ratio to floor_bfs_s
STAGES = [
    ("build", "build_s"),
    ("analyse", "analyse_s"),
    ("top fixes (5, verified, as a scan)", "top_fixes_s"),
    ("snapshot write", "snapshot_write_s"),
    ("reports (md, html, json, csv, sarif)", "reports_s"),
    ("scan end to end (excluding reading the exports)", "scan_s"),
    ("snapshot read: tables (memory-mapped)", "snapshot_read_tables_s"),
    ("snapshot read: networkx graph", "snapshot_read_s"),
    ("engine: compile (PathEngine)", "engine_compile_s"),
    ("engine: compile from the snapshot's tables (from_tables)", "engine_from_tables_s"),
    ("engine: from tables + gap paths (no networkx)", "engine_from_tables_gap_paths_s"),
    ("engine: reverse search", "engine_reverse_search_s"),
    ("engine: gap paths (incl. reverse search)", "engine_gap_paths_s"),
    ("floor: graph -> CSR (not in the floor)", "floor_convert_s"),
    ("floor: scipy CSR BFS", "floor_bfs_s"),
    ("rustworkx: graph -> PyDiGraph", "rustworkx_convert_s"),
    ("rustworkx: descendants", "rustworkx_bfs_s"),
    ("dashboard: first load (read + analyse + Overview)", "dashboard_first_load_s"),
    ("Cypher: store build (first load from the snapshot)", "cypher_store_build_s"),
    (f"Cypher: {WHOLE_ORG_QUERY} (warm)", "cypher_query_s"),
]
# --stages all: (summary column, seconds key, peak RSS key), each stage measured in a process of its own
SLOW_STAGES = [
    ("dashboard first load", "dashboard_first_load_s", "dashboard_peak_rss_mb"),
    ("Cypher store build", "cypher_store_build_s", "cypher_store_peak_rss_mb"),
    (f"`{WHOLE_ORG_QUERY}` warm", "cypher_query_s", "cypher_query_peak_rss_mb"),
]


def _peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def measure(identities: int, folder: Path) -> dict[str, float | int]:
    """A scan's stages in a scan's order; its snapshot and reports are written into `folder`, where
    measure_reader reads the snapshot back."""
    from bench.synthetic_org import generate
    from graph.builder import build_graph
    from graph.snapshot import gc_paused, write_snapshot
    from queries.analysis import analyze
    from queries.fixes import DEFAULT_TOP, find_fixes
    from queries.paths import PathEngine
    from queries.policy import load_policy
    from queries.reports import write_reports

    figures: dict[str, float | int] = {"identities": identities}
    started = time.perf_counter()
    results = generate(identities)
    figures["generate_s"] = time.perf_counter() - started

    started = time.perf_counter()
    with gc_paused(keep=True):  # as crosspath/pipeline.py scan() builds (this process ends with the scan)
        build = build_graph(results, AS_OF, take_records=True)
    figures["build_s"] = time.perf_counter() - started
    figures["nodes"] = build.graph.number_of_nodes()
    figures["edges"] = build.graph.number_of_edges()
    del results

    started = time.perf_counter()
    policy = load_policy()
    with gc_paused():
        engine = PathEngine(build.graph, policy)
        analysis = analyze(build.graph, {}, policy, [], AS_OF, engine=engine)
    figures["analyse_s"] = time.perf_counter() - started
    started = time.perf_counter()
    with gc_paused():  # as a scan's analysis verifies them (queries/analysis.py), on its engine
        search = find_fixes(build.graph, policy, [f.id for f in analysis.open_findings], DEFAULT_TOP, as_of=AS_OF,
                            engine=engine)
    figures["top_fixes_s"] = time.perf_counter() - started
    figures["top_fixes_verified"] = search.verified
    del engine, search
    path = folder / "snapshot.arrow"  # as `crosspath scan` writes it (format 2, docs/snapshot.md), the analysis
    started = time.perf_counter()  # still held, then its reports
    write_snapshot(path, build.graph, {"benchmark": identities})
    figures["snapshot_write_s"] = time.perf_counter() - started
    figures["snapshot_mb"] = path.stat().st_size / 1e6
    started = time.perf_counter()
    write_reports(analysis, folder / "reports")  # every format
    figures["reports_s"] = time.perf_counter() - started
    figures["peak_rss_mb"] = _peak_rss_mb()
    figures["findings"] = len(analysis.findings)
    for gap, count in analysis.summary()["by_gap_type"].items():
        figures[gap] = count
    figures["build_plus_analyse_s"] = figures["build_s"] + figures["analyse_s"]
    figures["scan_s"] = sum(figures[key] for key in ("build_s", "analyse_s", "top_fixes_s", "snapshot_write_s",
                                                      "reports_s"))
    return figures


def measure_reader(path: Path) -> dict[str, float]:
    """A reader of the snapshot measure wrote, in a process of its own as the dashboard's, `crosspath report`'s
    or the Cypher store's: its tables, the engine compiled from them, then the networkx graph."""
    from graph.snapshot import gc_paused, read_snapshot, read_tables
    from queries.paths import PathEngine
    from queries.policy import load_policy

    figures: dict[str, float] = {}
    started = time.perf_counter()
    tables = read_tables(path)  # memory-mapped columns
    figures["snapshot_read_tables_s"] = time.perf_counter() - started
    with gc_paused():  # as the Cypher store, the dashboard and `crosspath report` analyse a snapshot
        started = time.perf_counter()
        engine = PathEngine.from_tables(tables[0], tables[1], load_policy())
        figures["engine_from_tables_s"] = time.perf_counter() - started
        engine.gap_paths()
        figures["engine_from_tables_gap_paths_s"] = time.perf_counter() - started
    del tables, engine
    started = time.perf_counter()
    with gc_paused():  # as every reader of a snapshot does
        graph, _ = read_snapshot(path)
    figures["snapshot_read_s"] = time.perf_counter() - started
    figures.update(measure_engine_and_floor(graph, load_policy()))  # the graph the scan wrote, read back
    figures["reader_peak_rss_mb"] = _peak_rss_mb()
    return figures


def measure_dashboard(snapshots: Path) -> dict[str, float]:
    """The dashboard's first load on the folder `snapshots`, as bench/dashboard_pages.py times it."""
    from bench.dashboard_pages import first_load

    timed: list[tuple[str, float]] = []
    first_load(snapshots, timed)
    return {"dashboard_first_load_s": timed[0][1], "dashboard_peak_rss_mb": _peak_rss_mb()}


def measure_cypher_store(snapshot: Path) -> dict[str, float]:
    """The embedded Cypher store's first load from `snapshot`, as bench/cypher.py times it."""
    from bench.cypher import first_load

    _, seconds = first_load(snapshot)
    return {"cypher_store_build_s": seconds, "cypher_store_peak_rss_mb": _peak_rss_mb()}


def measure_library_query(snapshot: Path, timeout_s: float) -> dict[str, float | int | str]:
    """WHOLE_ORG_QUERY on the store built from `snapshot`, twice, as bench/cypher.py runs the library; its peak
    RSS is its worker's or this process's (which holds the rows), whichever is higher. In a process of its own:
    Linux counts a spawned worker's peak from its parent's size, here small (the store is built already)."""
    from bench.cypher import run_query
    from graph.stores import worker
    from graph.stores.embedded import open_store
    from queries.cypher_library import load_library

    query = load_library()[WHOLE_ORG_QUERY]
    ran = run_query(open_store(snapshot), query, query.bind(None), timeout_s)
    worker.shutdown()  # reaped, so that its peak RSS is counted in RUSAGE_CHILDREN
    figures: dict[str, float | int | str] = {
        "cypher_query_peak_rss_mb": max(_peak_rss_mb(), _peak_rss_mb(resource.RUSAGE_CHILDREN))}
    if isinstance(ran["warm_s"], str):
        figures["cypher_query_failed"] = ran["warm_s"]
    else:
        figures.update(cypher_query_s=ran["warm_s"], cypher_query_rows=ran["rows"])
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
        print(" | ".join(f"{row[c]:.2f}" if isinstance(row.get(c), float) else str(row.get(c, "-")) for c in columns))
    for row in rows:
        print()
        print(f"{row['identities']} identities: floor = scipy BFS over {row['floor_edges']} MFA-free edges from "
              f"{row['floor_sources']} privileged sources, reaching {row['floor_reached']} nodes")
        width = max(len(label) for label, _ in STAGES)
        print(f"{'stage':<{width}} | {'seconds':>9} | {'x floor':>9}")
        for label, seconds, ratio in stage_rows(row):
            print(f"{label:<{width}} | {_seconds(seconds):>9} | {_ratio(ratio):>9}")


def _rss(megabytes: float) -> str:
    return f"{megabytes / 1024:.1f} GB" if megabytes >= 1024 else f"{megabytes:.0f} MB"


def print_markdown(rows: list[dict]) -> None:
    """The summary table (as in docs/architecture.md "Scale") and one stage table, a column pair per size;
    with --stages all, the summary has a column per slow stage: its seconds (its own process's peak RSS)."""
    slow = [stage for stage in SLOW_STAGES if any(stage[2] in row for row in rows)]
    print("| identities | nodes | edges | build | analyse | build + analyse | top fixes | reports | scan "
          "| snapshot write / read tables / read graph | snapshot size | peak RSS |"
          + "".join(f" {column} (peak RSS) |" for column, _, _ in slow))
    print("|---|---|---|---|---|---|---|---|---|---|---|---|" + "---|" * len(slow))
    for row in rows:
        cells = "".join(f" {row[seconds]:.1f} s ({_rss(row[rss])}) |" if seconds in row
                        else f" {row.get('cypher_query_failed', '–')} |" for _, seconds, rss in slow)
        print(f"| {row['identities']:,} | {row['nodes']:,} | {row['edges']:,} | {row['build_s']:.1f} s "
              f"| {row['analyse_s']:.1f} s | {row['build_plus_analyse_s']:.1f} s | {row['top_fixes_s']:.1f} s "
              f"| {row['reports_s']:.1f} s | {row['scan_s']:.1f} s "
              f"| {row['snapshot_write_s']:.1f} s / {row['snapshot_read_tables_s']:.2f} s / {row['snapshot_read_s']:.1f} s "
              f"| {row['snapshot_mb']:.1f} MB "
              f"| {_rss(row['peak_rss_mb'])} |{cells}")
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
    if any("cypher_query_rows" in row for row in rows):
        print(f"`{WHOLE_ORG_QUERY}` returned " + "; ".join(
            f"{row['cypher_query_rows']:,} rows at {row['identities']:,} identities"
            for row in rows if "cypher_query_rows" in row) + ".")


def _child(*args: str) -> dict:
    """Run this script (or another bench script) in a process of its own; its last line of output is JSON."""
    child = subprocess.run([sys.executable, *args], capture_output=True, text=True, check=False)
    if child.returncode:
        sys.exit(f"{' '.join(args)} failed:\n{child.stderr}")
    return json.loads(child.stdout.strip().splitlines()[-1]) if args[0] == __file__ else {}


def collect(sizes: list[int], stages: str, timeout_s: float) -> list[dict]:
    """One row of figures per size, each stage in its own process."""
    rows = []
    for size in sizes:
        with tempfile.TemporaryDirectory() as folder:  # the scan's snapshot, read after the scan's process ends
            row = _child(__file__, "--one", str(size), "--snapshots", folder)
            row.update(_child(__file__, "--one", str(size), "--stage", "read", "--snapshots", folder))
        if stages == "all":
            with tempfile.TemporaryDirectory() as folder:
                _child(str(ROOT / "bench" / "dashboard_snapshots.py"), "--identities", str(size), "--out", folder)
                for stage in ("dashboard", "cypher", "query"):
                    row.update(_child(__file__, "--one", str(size), "--stage", stage, "--snapshots", folder,
                                      "--timeout", str(timeout_s)))
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--million", action="store_true", help=f"also measure {MILLION:,} identities")
    parser.add_argument("--stages", choices=["core", "all"], default="core",
                        help="core: build, analyse, snapshot, engine and floor (default); all: also the dashboard's "
                             "first load, the Cypher store's first load and one library query (slower)")
    parser.add_argument("--timeout", type=float, default=600, help="the library query's timeout in seconds")
    parser.add_argument("--markdown", action="store_true",
                        help='print the tables as Markdown (docs/architecture.md "Scale", README "Benchmark")')
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child process mode
    parser.add_argument("--stage", choices=["core", "read", "dashboard", "cypher", "query"], default="core",
                        help=argparse.SUPPRESS)
    parser.add_argument("--snapshots", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        if args.stage == "core":
            figures = measure(args.one, args.snapshots)
        elif args.stage == "read":
            figures = measure_reader(args.snapshots / "snapshot.arrow")
        elif args.stage == "dashboard":
            figures = measure_dashboard(args.snapshots)
        else:  # the older snapshot: the whole graph (the newer one drops every 50th edge)
            from crosspath.pipeline import history_snapshots

            oldest = min(history_snapshots(args.snapshots))
            figures = (measure_cypher_store(oldest) if args.stage == "cypher"
                       else measure_library_query(oldest, args.timeout))
        print(json.dumps(figures))
        return
    if any(size >= MILLION for size in args.sizes) and not args.million:
        parser.error(f"{MILLION:,} identities or more only with --million (a long run, and memory to match)")
    sizes = args.sizes + ([MILLION] if args.million and MILLION not in args.sizes else [])
    rows = collect(sizes, args.stages, args.timeout)
    columns = ["identities", "nodes", "edges", "generate_s", "build_s", "analyse_s", "build_plus_analyse_s",
               "top_fixes_s", "reports_s", "scan_s", "snapshot_write_s", "snapshot_read_tables_s", "snapshot_read_s",
               "snapshot_mb", "peak_rss_mb", "reader_peak_rss_mb", "findings", "NO_MFA", "LONG_LIVED_NHI_KEY", "CROSS_STACK"]
    columns += [key for _, seconds, rss in SLOW_STAGES for key in (seconds, rss) if any(key in r for r in rows)]
    columns += [key for key in ("cypher_query_rows", "cypher_query_failed") if any(key in r for r in rows)]
    if args.markdown:
        print_markdown(rows)
    else:
        print_plain(rows, columns)


if __name__ == "__main__":
    main()
