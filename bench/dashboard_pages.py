"""Dashboard page render times on a large snapshot, measured through Streamlit's AppTest.

    python bench/dashboard_snapshots.py --identities 100000   # once: writes bench/out/dashboard-100000/
    python bench/dashboard_pages.py --snapshots bench/out/dashboard-100000

The first run loads the snapshot (read, analysis, tables: cached per snapshot file); every later
figure is one full script run of that page as a user would trigger it, with the caches warm.
Target (issue 8): every page under 2 s after the first load on a 100k-identity snapshot.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FIRST_LOAD = "first load (read + analyse + Overview)"


def _timed(step, label: str, figures: list[tuple[str, float]]) -> None:
    started = time.perf_counter()
    app = step()
    elapsed = time.perf_counter() - started
    if app.exception:
        raise SystemExit(f"{label}: {app.exception[0].value}")
    figures.append((label, elapsed))
    pictures = sum("<svg" in m.value for m in app.markdown)
    rows = sum(len(df.value) for df in app.dataframe)
    notes = "; ".join(n.value[:50] for n in [*app.info, *app.warning, *app.error])
    print(f"{label:<58} {elapsed:7.2f} s   shown: {rows} table rows, {pictures} path picture(s)"
          + (f", note: {notes}" if notes else ""), flush=True)


def first_load(snapshots: Path, figures: list[tuple[str, float]]) -> Any:
    """The dashboard (an AppTest) on the folder `snapshots` after its first load (read + analyse + Overview),
    timed into `figures` (bench/run.py times this too)."""
    os.environ["CROSSPATH_SNAPSHOTS"] = str(snapshots)
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=900)
    # What a server does once when it starts (streamlit.runtime.Runtime), before any page is asked for: find
    # the installed components, reading every installed package's metadata (0.6 s here). AppTest would do
    # it in its first run, which is the page load timed here. (Streamlit's own internals: where a release
    # has none of them, the first load includes that search.)
    try:
        from streamlit.components.v2.component_manager import BidiComponentManager
    except ImportError:
        BidiComponentManager = None
    if BidiComponentManager is not None and hasattr(app, "_bidi_component_manager"):
        components = BidiComponentManager()
        components.discover_and_register_components(start_file_watching=False)
        app._bidi_component_manager = components
    _timed(app.run, FIRST_LOAD, figures)
    return app


def measure(snapshots: Path, search_identity: str, search_resource: str) -> list[tuple[str, float]]:
    figures: list[tuple[str, float]] = []
    app = first_load(snapshots, figures)

    def page(name: str):
        return app.sidebar.radio(key="page").set_value(name).run()

    _timed(app.run, "Overview (warm)", figures)
    _timed(lambda: page("Findings"), "Findings", figures)
    _timed(lambda: app.multiselect(key="findings_gap").set_value(["LONG_LIVED_NHI_KEY"]).run(),
           "Findings: filter by gap type", figures)
    _timed(lambda: app.text_input(key="findings_search").input("prod").run(), "Findings: search", figures)
    _timed(lambda: app.number_input(key="findings_page").set_value(3).run(), "Findings: page 3", figures)
    _timed(lambda: page("Path view"), "Path view", figures)
    _timed(lambda: page("Identity explorer"),
           "Identity explorer (first: builds its pick list)", figures)
    _timed(lambda: app.text_input(key="identity_node_search").input(search_identity).run(),
           f"Identity explorer: search {search_identity!r} + blast radius", figures)
    _timed(lambda: page("Resource explorer"),
           "Resource explorer (first: builds the write index)", figures)
    _timed(lambda: app.text_input(key="resource_node_search").input(search_resource).run(),
           f"Resource explorer: search {search_resource!r} + who can write", figures)
    _timed(lambda: page("Drift"), "Drift (first: reads + diffs the older one)",
           figures)
    _timed(lambda: page("Drift"), "Drift (warm)", figures)
    _timed(lambda: page("Exceptions"), "Exceptions", figures)
    _timed(lambda: page("Cypher console"), "Cypher console", figures)
    _timed(lambda: page("Identity explorer"), "Identity explorer (warm)", figures)
    _timed(lambda: page("Resource explorer"), "Resource explorer (warm)", figures)
    _timed(lambda: page("Overview"), "Overview (warm, again)", figures)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshots", type=Path, default=ROOT / "bench" / "out" / "dashboard-100000")
    parser.add_argument("--identity", default="analytics-developers", help="search text in the identity explorer")
    parser.add_argument("--resource", default="prod", help="search text in the resource explorer")
    args = parser.parse_args(argv)
    figures = measure(args.snapshots, args.identity, args.resource)
    warm = [seconds for label, seconds in figures if "first" not in label]
    print(f"slowest warm page run: {max(warm):.2f} s; peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2:.2f} GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
