"""Findings sameness check: dumps analysis.to_dict()["findings"] (json, sort_keys) for the sample
organisation scan and the synthetic organisation at the given sizes into /tmp/eng/NAME.TAG.json and prints
their sha256 and stats. Usage: python bench/findings_hash.py TAG [N ...] (default N: 10000); compare two TAGs."""
import hashlib
import json
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, ".")
from bench.synthetic_org import generate
from crosspath.pipeline import scan
from graph.builder import build_graph
from graph.snapshot import gc_paused
from queries.analysis import analyze
from queries.policy import load_policy

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
tag = sys.argv[1]
sizes = [int(x) for x in sys.argv[2:]] or [10000]
out = Path("/tmp/eng")
out.mkdir(parents=True, exist_ok=True)
def dump(name, analysis):
    text = json.dumps(analysis.to_dict()["findings"], sort_keys=True).encode()
    stats = json.dumps(analysis.stats, sort_keys=True).encode()
    (out / f"{name}.{tag}.json").write_bytes(text)
    print(name, len(analysis.findings), "findings sha256", hashlib.sha256(text).hexdigest(), "stats", stats.decode())
with tempfile.TemporaryDirectory() as tmp:
    result = scan(Path("data/samples"), Path(tmp), exceptions_path=Path("data/samples/exceptions.yaml"))
    dump("sample", result.analysis)
for n in sizes:
    with gc_paused():
        graph = build_graph(generate(n), AS_OF).graph
        analysis = analyze(graph, {}, load_policy(), [], AS_OF)
    dump(f"synthetic{n}", analysis)
