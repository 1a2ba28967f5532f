"""The sample organisation a week before its collection time, so that a first `crosspath demo` leaves two
snapshots and the dashboard's Drift page and trend chart have a change to show.

A week earlier, Dana Ruiz's Entra account did not exist yet: the older snapshot is the same sample without
it (and so without her finding, her identity and her edges). Its metadata says it was made this way.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from crosspath.pipeline import collect_folder, read_manifest, resolve_as_of, save_snapshot, snapshot_metadata
from graph.builder import build_graph
from graph.identities import load_identities
from graph.times import iso

EARLIER = timedelta(days=7)
NEWCOMER = "entra:a1000000-0000-4000-8000-000000000001"  # dana.ruiz@lumenfreight.com, joined this week


def write_week_earlier(sample: Path, out_dir: Path, identities: Path | None = None) -> Path:
    """Save the sample as it was a week before its collection time into out_dir's history (with the same
    identities file as the scan that follows, which points `snapshot.json.gz` at its own, newer one)."""
    when = resolve_as_of(None, read_manifest(sample)) - EARLIER
    older = build_graph(collect_folder(sample), when, load_identities(identities))
    older.graph.remove_node(NEWCOMER)
    metadata = snapshot_metadata(older, when, str(sample))
    metadata["created_at"] = iso(when)
    metadata["sample_history"] = ("the sample organisation a week before its collection time, before "
                                  "dana.ruiz's Entra account existed (written by `crosspath demo`)")
    return save_snapshot(older, metadata, out_dir)
