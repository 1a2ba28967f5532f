"""The sample organisation a week before its collection time, so that a first `crosspath demo` leaves two
snapshots and the dashboard's Drift page, trend chart and exception review have a change to show.

A week earlier, Dana Ruiz's Entra account did not exist yet, and svc-lambda-deployer's inline policy had
no PassLambdaAdmin statement (so its key reached only the release-* functions). The older snapshot is
the same sample without those (and so without Dana's finding, and with a smaller svc-lambda-deployer
finding: the one exception EX-2026-005 approved, which the newer scan finds outgrown). Its metadata says
it was made this way, and carries what a scan with the sample's exceptions would have recorded.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from collectors import technique_catalogue
from crosspath.pipeline import (
    carried_from,
    collect_folder,
    read_manifest,
    record_carried,
    resolve_as_of,
    save_snapshot,
    snapshot_metadata,
)
from graph.builder import BuildResult, build_graph
from graph.identities import load_identities
from graph.times import iso
from queries.analysis import analyze
from queries.exceptions import load_exceptions
from queries.policy import load_policy

EARLIER = timedelta(days=7)
NEWCOMER = "entra:a1000000-0000-4000-8000-000000000001"  # dana.ruiz@lumenfreight.com, joined this week
DEPLOYER = "aws:arn:aws:iam::111111111111:user/svc-lambda-deployer"  # may pass prod-lambda-admin since this week
PASSED_ROLE = "aws:arn:aws:iam::111111111111:role/prod-lambda-admin"


def write_week_earlier(sample: Path, out_dir: Path, identities: Path | None = None,
                       exceptions: Path | None = None) -> Path:
    """Save the sample as it was a week before its collection time into out_dir's history (with the same
    identities and exceptions files as the scan that follows, which points `snapshot.arrow` at its own,
    newer one)."""
    when = resolve_as_of(None, read_manifest(sample)) - EARLIER
    older = build_graph(collect_folder(sample), when, load_identities(identities))
    older.graph.remove_node(NEWCOMER)
    older.graph.remove_edges_from([(DEPLOYER, PASSED_ROLE, key)
                                   for key in older.graph.get_edge_data(DEPLOYER, PASSED_ROLE, default={})])
    metadata = snapshot_metadata(older, when, str(sample), exceptions_path=exceptions)
    metadata["created_at"] = iso(when)
    metadata["sample_history"] = ("the sample organisation a week before its collection time, before "
                                  "dana.ruiz's Entra account existed and before svc-lambda-deployer could pass "
                                  "prod-lambda-admin (written by `crosspath demo`)")
    return save_as_scanned(older, metadata, out_dir, exceptions, when)


def save_as_scanned(build: BuildResult, metadata: dict[str, Any], out_dir: Path, exceptions: Path | None,
                    when: datetime) -> Path:
    """Analyse as a scan does (against what out_dir's last snapshot carries on, with the default policy),
    record what it carries on, and save the snapshot."""
    incoming = carried_from(out_dir)
    record_carried(metadata, incoming, analyze(build.graph, metadata, load_policy(None), load_exceptions(exceptions),
                                               when, techniques=technique_catalogue(), carried=incoming))
    return save_snapshot(build, metadata, out_dir)
