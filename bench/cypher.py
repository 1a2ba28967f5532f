"""Benchmark: the embedded Cypher store on a synthetic organisation (or the sample organisation).

    python bench/cypher.py --sizes 10000 100000
    python bench/cypher.py --sample --sizes 10000

Per size, in its own process: build the graph, write the snapshot, then time the embedded store's first
load (read the snapshot: its Arrow tables and, for the path engine, its graph; the engine's derived facts;
the tables built column-wise; LadybugDB COPY: graph/stores/columns.py), in seconds and CPU seconds, its reopen from disk (with a new worker
process), and every library query (first run, then warm), with the store's size on disk and the peak
memory of this process and of the worker processes.

Queries run in worker processes (graph.stores.worker). What that costs is measured against the same
query run in this process on an open database, which is how queries ran before: the floor is `RETURN 1`
(median of 30; the fixed cost of a query), `floor_ratio` = worker / in-process, and each library query
shows its warm time both ways.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _parameters(snapshot: Path) -> dict[str, dict]:
    """Realistic parameters: the entry and target of the first finding-like path in the store."""
    from graph.stores import run_read_query

    row = run_read_query(
        snapshot,
        "MATCH (e)-[:AUTHENTICATES|MEMBER_OF]->(:Identity)-[g:HAS_PERMISSION]->(t:Resource) "
        "WHERE e.entry AND g.target_class > 0 RETURN e.id, t.id ORDER BY e.id, t.id LIMIT 1",
    ).rows[0]
    return {
        "who_can_write": {"resource": row[1]},
        "blast_radius": {"node": row[0]},
        "shortest_path": {"source": row[0], "target": row[1]},
    }


def _median_ms(run, times: int = 30) -> float:
    timings = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        timings.append(time.perf_counter() - started)
    return round(statistics.median(timings) * 1000, 2)


def _snapshot(identities: int, folder: Path, figures: dict) -> Path:
    from graph.snapshot import write_snapshot

    snapshot = folder / "snapshot.arrow"
    if identities == 0:  # the sample organisation (data/samples)
        from crosspath.pipeline import scan

        result = scan(ROOT / "data" / "samples", folder / "scan", exceptions_path=ROOT / "data" / "samples" /
                      "exceptions.yaml")
        graph = result.build.graph
    else:
        from bench.run import AS_OF
        from bench.synthetic_org import generate
        from graph.builder import build_graph

        graph = build_graph(generate(identities), AS_OF).graph
    figures["nodes"] = graph.number_of_nodes()
    figures["edges"] = graph.number_of_edges()
    write_snapshot(snapshot, graph, {"benchmark": identities})
    return snapshot


def first_load(snapshot: Path) -> tuple[Any, float]:
    """The embedded store's first load from `snapshot` (read it, derive facts, COPY): the store and its seconds
    (bench/run.py times this too)."""
    from graph.stores.embedded import open_store

    started = time.perf_counter()
    store = open_store(snapshot)
    return store, time.perf_counter() - started


def run_query(store: Any, query: Any, bound: dict, timeout_s: float) -> dict:
    """A library query run twice through the worker: its first and warm seconds (or why it failed) and rows
    (bench/run.py runs one this way too)."""
    timings: list = []
    rows = None
    for _ in range(2):
        started = time.perf_counter()
        try:
            result = store.query(query.text("lbug"), bound, timeout_s=timeout_s)
            rows = len(result.rows)
            timings.append(round(time.perf_counter() - started, 3))
        except Exception as exc:  # noqa: BLE001 - a timeout is a figure, not a crash
            timings.append(f"failed: {str(exc)[:60]}")
            break
    return {"first_s": timings[0], "warm_s": timings[-1], "rows": rows}


def measure(identities: int, timeout_s: float) -> dict:
    from graph.stores import worker
    from graph.stores.embedded import close_all, open_store, store_file
    from queries.cypher_library import load_library
    from queries.policy import load_policy

    figures: dict = {"identities": identities or "sample"}
    with tempfile.TemporaryDirectory() as folder:
        snapshot = _snapshot(identities, Path(folder), figures)
        cpu = time.process_time()
        _, seconds = first_load(snapshot)
        figures["first_load_s"] = round(seconds, 2)
        figures["first_load_cpu_s"] = round(time.process_time() - cpu, 2)  # this process and its threads
        figures["store_mb"] = round(store_file(snapshot, load_policy()).stat().st_size / 1e6, 1)
        close_all()
        worker.shutdown()
        started = time.perf_counter()
        store = open_store(snapshot)
        store.query("RETURN 1")
        figures["reopen_s"] = round(time.perf_counter() - started, 3)  # with a new worker process
        database = worker.open_database(store.path, worker.memory_limit(None))
        figures["floor_ms"] = _median_ms(lambda: store.query("RETURN 1"))
        figures["floor_in_process_ms"] = _median_ms(lambda: worker.execute(database, "RETURN 1"))
        figures["floor_ratio"] = round(figures["floor_ms"] / figures["floor_in_process_ms"], 1)
        parameters = _parameters(snapshot)
        queries = {}
        for name, query in sorted(load_library().items()):
            bound = query.bind(parameters.get(name))
            ran = run_query(store, query, bound, timeout_s)
            started = time.perf_counter()
            try:
                worker.execute(database, query.text("lbug"), bound, timeout_s=timeout_s)
                in_process = round(time.perf_counter() - started, 3)
            except Exception as exc:  # noqa: BLE001
                in_process = f"failed: {str(exc)[:60]}"
            queries[name] = {**ran, "in_process_s": in_process}
        figures["queries"] = queries
        database.close()
        worker.shutdown()
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    figures["worker_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--sample", action="store_true", help="Also measure the sample organisation first.")
    parser.add_argument("--timeout", type=float, default=120, help="Per-query timeout in seconds.")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child process mode
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure(args.one, args.timeout)))
        return
    for size in ([0] if args.sample else []) + args.sizes:
        child = subprocess.run([sys.executable, __file__, "--one", str(size), "--timeout", str(args.timeout)],
                               check=False, capture_output=True, text=True)
        if child.returncode:
            sys.exit(f"size {size} failed:\n{child.stderr}")
        figures = json.loads(child.stdout.strip().splitlines()[-1])
        queries = figures.pop("queries")
        print(" ".join(f"{k}={v}" for k, v in figures.items()))
        for name, q in queries.items():
            print(f"  {name:36} first {q['first_s']} s, warm {q['warm_s']} s "
                  f"(in-process {q['in_process_s']} s), {q['rows']} rows")


if __name__ == "__main__":
    main()
