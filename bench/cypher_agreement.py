"""Check the library's embedded-store answers against the path engine on a synthetic organisation.

    python bench/cypher_agreement.py --identities 10000 [--sample 40]

Prints, per finding type, how many entries and per-entry target sets agree, and for a sample of entries
whether blast_radius agrees (targets, hops, MFA verdict). The unit tests do the same on the sample
organisation; this runs it at a size where engine-specific bugs show up.
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    from bench.run import AS_OF
    from bench.synthetic_org import generate
    from graph.builder import build_graph
    from graph.snapshot import write_snapshot
    from graph.stores import run_read_query
    from queries.analysis import analyze
    from queries.cypher_library import load_library
    from queries.paths import PathEngine
    from queries.policy import load_policy

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--identities", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=40)
    args = parser.parse_args()
    graph = build_graph(generate(args.identities), AS_OF).graph
    analysis = analyze(graph, {}, load_policy(), [], AS_OF)
    engine = PathEngine(graph, load_policy())
    library = load_library()
    with tempfile.TemporaryDirectory() as folder:
        snapshot = Path(folder) / "snapshot.arrow"
        write_snapshot(snapshot, graph, {})
        for name, gap in (("privileged_write_no_mfa", "NO_MFA"), ("long_lived_nhi_keys_to_prod_write",
                                                                  "LONG_LIVED_NHI_KEY")):
            started = time.perf_counter()
            rows = run_read_query(snapshot, library[name].text("lbug")).records()
            elapsed = time.perf_counter() - started
            found: dict[str, dict[str, int]] = collections.defaultdict(dict)
            for row in rows:
                found[row["entry"]][row["target"]] = row["hops"]
            findings = {f.entry["id"]: f for f in analysis.findings if gap in f.gap_types}
            same_count = sum(1 for e, f in findings.items() if len(found.get(e, {})) == f.targets_count)
            same_hops = sum(1 for e, f in findings.items() if e in found and min(found[e].values()) == f.hops)
            print(f"{name}: {elapsed:.1f} s, entries cypher {len(found)} / engine {len(findings)}, "
                  f"same target count {same_count}, same shortest hops {same_hops}")
        rows = run_read_query(snapshot, library["cross_stack_paths"].text("lbug")).records()
        cross = {f.entry["id"] for f in analysis.findings if "CROSS_STACK" in f.gap_types}
        print(f"cross_stack_paths: entries cypher {len({r['entry'] for r in rows})} / engine {len(cross)}, "
              f"common {len(cross & {r['entry'] for r in rows})}")
        entries = sorted(engine.ids[e.node] for e in engine.entries())
        chosen = random.Random(7).sample(entries, min(args.sample, len(entries)))
        agree = 0
        for node in chosen:
            expected = {t["target"]: (t["requires_mfa"], len(t["path"])) for t in engine.blast_radius(node)}
            rows = run_read_query(snapshot, library["blast_radius"].text("lbug"), {"node": node}).records()
            agree += {r["target"]: (r["requires_mfa"], r["hops"]) for r in rows} == expected
        print(f"blast_radius: {agree} of {len(chosen)} sampled entries agree")


if __name__ == "__main__":
    main()
