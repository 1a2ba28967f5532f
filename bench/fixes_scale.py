"""Benchmark: top fixes (queries/fixes.py) on the synthetic organisation, against one full analysis.

    python bench/fixes_scale.py --sizes 10000 [--top 5] [--max-candidates 200]

Prints, per size: the graph, the time of one full analysis in the same run (its path engine is the fix
search's first run, as in a scan), the fix search's wall time and its ratio to that analysis, the
candidates derived and verified (and how many verifications compiled the changed graph again instead of
running on the first run's arrays), the picks with their verified counts, and every pick the
--max-candidates bound cut (never silently).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def measure(identities: int, top: int, max_candidates: int | None) -> dict:
    from bench.synthetic_org import AS_OF, generate
    from graph.builder import build_graph
    from graph.snapshot import gc_paused
    from queries.analysis import analyze
    from queries.fixes import find_fixes
    from queries.paths import PathEngine
    from queries.policy import load_policy

    build = build_graph(generate(identities), AS_OF)
    policy = load_policy()
    started = time.perf_counter()
    with gc_paused():  # as a scan analyses
        engine = PathEngine(build.graph, policy)
        analysis = analyze(build.graph, {}, policy, [], AS_OF, engine=engine)
    analyse_s = time.perf_counter() - started
    open_ids = [finding.id for finding in analysis.open_findings]
    started = time.perf_counter()
    with gc_paused():
        search = find_fixes(build.graph, policy, open_ids, top, max_candidates, AS_OF, engine=engine)
    fixes_s = time.perf_counter() - started
    return {"identities": identities, "nodes": build.graph.number_of_nodes(),
            "edges": build.graph.number_of_edges(), "open": len(open_ids), "analyse_s": analyse_s,
            "fixes_s": fixes_s, "ratio": fixes_s / analyse_s, "candidates": search.candidates,
            "verified": search.verified, "engine_runs": search.engine_runs, "compiled": search.compiled,
            "fixes": search.fixes,
            "cut": search.cut}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("--max-candidates", type=int, default=None,
                        help="verifications per pick (default: queries.fixes.DEFAULT_MAX_CANDIDATES; 0: no bound)")
    args = parser.parse_args()
    from queries.fixes import DEFAULT_MAX_CANDIDATES

    bound = DEFAULT_MAX_CANDIDATES if args.max_candidates is None else (args.max_candidates or None)
    for size in args.sizes:
        row = measure(size, args.top, bound)
        print(f"{row['identities']:,} identities: {row['nodes']:,} nodes, {row['edges']:,} edges, "
              f"{row['open']:,} open findings")
        print(f"  one full analysis (floor): {row['analyse_s']:.2f} s")
        print(f"  top {args.top} fixes: {row['fixes_s']:.2f} s = {row['ratio']:.1f} x the floor; "
              f"{row['candidates']:,} candidates, {row['verified']:,} verified "
              f"({row['engine_runs']:,} path-engine runs, {row['compiled']:,} of them compiled), "
              f"--max-candidates {bound or 'none'}")
        for fix in row["fixes"]:
            print(f"  {fix['rank']}. closes {fix['closes']}, {fix['remaining_open']:,} open after: "
                  f"{fix['description'][:100]}")
        for sentence in row["cut"]:
            print(f"  bound: {sentence}")
        if not row["cut"]:
            print("  bound: cut no candidate that could have won")


if __name__ == "__main__":
    main()
