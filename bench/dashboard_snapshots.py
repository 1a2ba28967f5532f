"""Write synthetic snapshots for the dashboard benchmark: OUT/history/ with two snapshots a week apart.

    python bench/dashboard_snapshots.py --identities 100000 --out bench/out/dashboard-100000

The second snapshot drops every 50th edge of the first, so the Drift page has something to show. It
carries its verified top fixes, as a `crosspath scan` snapshot does (pipeline.record_fixes), so the
Overview reads them instead of verifying them again.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


def write(identities: int, out: Path) -> list[Path]:
    from bench.synthetic_org import generate
    from crosspath.pipeline import record_fixes, save_snapshot, snapshot_metadata
    from graph.builder import build_graph
    from queries.analysis import analyze
    from queries.fixes import DEFAULT_TOP
    from queries.policy import load_policy

    started = time.perf_counter()
    build = build_graph(generate(identities), AS_OF)
    print(f"built {build.graph.number_of_nodes()} nodes, {build.graph.number_of_edges()} edges "
          f"in {time.perf_counter() - started:.1f}s")
    written = []
    for week, when in enumerate((AS_OF - timedelta(days=7), AS_OF)):
        if week:
            doomed = [(u, v, k) for n, (u, v, k) in enumerate(build.graph.edges(keys=True)) if n % 50 == 0]
            build.graph.remove_edges_from(doomed)
        metadata = snapshot_metadata(build, when, f"synthetic:{identities}")
        metadata["created_at"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        if week:  # the latest, which the dashboard opens: as the scan leaves it
            analysis = analyze(build.graph, metadata, load_policy(), [], when, top_fixes=DEFAULT_TOP)
            record_fixes(metadata, analysis.top_fixes, DEFAULT_TOP)
        written.append(save_snapshot(build, metadata, out))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--identities", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    out = args.out or ROOT / "bench" / "out" / f"dashboard-{args.identities}"
    for path in write(args.identities, out):
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
