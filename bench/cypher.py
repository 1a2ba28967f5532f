"""Benchmark: the embedded Cypher store on a synthetic organisation.

    python bench/cypher.py --sizes 10000 100000

Per size, in its own process: build the graph, write the snapshot, then time the embedded store's first
load (rows with the engine's derived facts + LadybugDB COPY), its reopen from disk, and every library
query (first run, then warm), with the store's size on disk and the peak memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def measure(identities: int, timeout_s: float) -> dict:
    from bench.run import AS_OF
    from bench.synthetic_org import generate
    from graph.builder import build_graph
    from graph.snapshot import write_snapshot
    from graph.stores.embedded import close_all, open_store, store_file
    from queries.cypher_library import load_library
    from queries.policy import load_policy

    figures: dict = {"identities": identities}
    build = build_graph(generate(identities), AS_OF)
    figures["nodes"] = build.graph.number_of_nodes()
    figures["edges"] = build.graph.number_of_edges()
    with tempfile.TemporaryDirectory() as folder:
        snapshot = Path(folder) / "snapshot.json.gz"
        write_snapshot(snapshot, build.graph, {"benchmark": identities})
        del build
        started = time.perf_counter()
        open_store(snapshot)
        figures["first_load_s"] = round(time.perf_counter() - started, 2)
        figures["store_mb"] = round(store_file(snapshot, load_policy()).stat().st_size / 1e6, 1)
        close_all()
        started = time.perf_counter()
        store = open_store(snapshot)
        figures["reopen_s"] = round(time.perf_counter() - started, 3)
        parameters = _parameters(snapshot)
        queries = {}
        for name, query in sorted(load_library().items()):
            bound = query.bind(parameters.get(name))
            timings = []
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
            queries[name] = {"first_s": timings[0], "warm_s": timings[-1], "rows": rows}
        figures["queries"] = queries
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--timeout", type=float, default=120, help="Per-query timeout in seconds.")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child process mode
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.timeout)))
        return
    for size in args.sizes:
        child = subprocess.run([sys.executable, __file__, "--one", str(size), "--timeout", str(args.timeout)],
                               capture_output=True, text=True, check=True)
        figures = json.loads(child.stdout.strip().splitlines()[-1])
        queries = figures.pop("queries")
        print(" ".join(f"{k}={v}" for k, v in figures.items()))
        for name, q in queries.items():
            print(f"  {name:36} first {q['first_s']} s, warm {q['warm_s']} s, {q['rows']} rows")


if __name__ == "__main__":
    main()
