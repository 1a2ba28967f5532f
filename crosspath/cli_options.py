"""The options several commands share: which snapshot, which policy, which exceptions file."""

from __future__ import annotations

from pathlib import Path

import click

from crosspath.pipeline import DEFAULT_SNAPSHOT, default_snapshot

snapshot_option = click.option(
    "--snapshot", "snapshot_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=default_snapshot, show_default=str(DEFAULT_SNAPSHOT),
    help="A snapshot written by `crosspath scan` (an older crosspath-out/snapshot.json.gz is read too).",
)
policy_option = click.option(
    "--policy", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Policy YAML merged over the default (see queries/default_policy.yaml).",
)
exceptions_option = click.option(
    "--exceptions", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Exceptions YAML: accepted risks with owner, justification and expiry (docs/exceptions.md).",
)
