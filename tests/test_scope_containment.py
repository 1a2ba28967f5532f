"""Scope containment: write or admin over a scope (account, folder, project, namespace, server ...) is
write on every privileged resource inside it, for "who can write" and blast radius; findings still
count grants only."""

from __future__ import annotations

import json

from click.testing import CliRunner

from crosspath.cli import main
from dashboard.path_views import WriteAccess
from queries.paths import PathEngine
from queries.policy import load_policy
from tests.graph_helpers import Org, by_entry

FOLDER, PROJECT, BUCKET = "gcp:folders/1", "gcp:projects/p-prod", "gcp:buckets/prod-exports"
OTHER_PROJECT = "gcp:projects/p-other"


def _gcp_org(grant_on: str) -> Org:
    """folder > project > bucket; alice's grant sits on `grant_on`; bob writes the bucket directly."""
    org = Org()
    org.resource(FOLDER, kind="folder")
    org.add({**_resource(PROJECT, "project", FOLDER)})
    org.add({**_resource(OTHER_PROJECT, "project", "")})
    org.add({**_resource(BUCKET, "bucket", PROJECT)})
    org.human("gcp:user/alice", mfa=False)
    org.human("gcp:user/bob", mfa=False)
    org.grant("gcp:user/alice", grant_on, level="admin")
    org.grant("gcp:user/bob", BUCKET, level="write")
    return org


def _resource(node_id: str, kind: str, scope: str) -> dict:
    from graph.records import node
    return node(node_id, "Resource", kind, "gcp", node_id.rsplit("/", 1)[-1], scope, environment="prod")


def test_a_folder_grant_reaches_the_projects_and_buckets_below_it():
    org = _gcp_org(FOLDER)
    engine = PathEngine(org.build().graph, load_policy())
    reach = {t["target"]: t for t in engine.blast_radius("gcp:user/alice")}
    assert reach[FOLDER]["through"] is None and reach[FOLDER]["level"] == "admin"
    assert (reach[PROJECT]["through"], reach[PROJECT]["level"]) == (FOLDER, "write")
    assert reach[BUCKET]["through"] == FOLDER and len(reach[BUCKET]["path"]) == 1
    assert OTHER_PROJECT not in reach
    writers = {row["entry_id"]: row for row in WriteAccess(engine).who_can_write(BUCKET)}
    assert writers["gcp:user/alice"]["through"] == "1" and writers["gcp:user/alice"]["level"] == "write"
    assert writers["gcp:user/bob"]["through"] == ""


def test_a_grant_on_a_sibling_scope_reaches_nothing_inside_this_one():
    engine = PathEngine(_gcp_org(OTHER_PROJECT).build().graph, load_policy())
    assert BUCKET not in {t["target"] for t in engine.blast_radius("gcp:user/alice")}
    assert "gcp:user/alice" not in {row["entry_id"] for row in WriteAccess(engine).who_can_write(BUCKET)}


def test_findings_stay_one_per_entry_and_count_grants_only():
    findings = by_entry(_gcp_org(FOLDER).analyze())
    assert findings["gcp:user/alice"].targets_count == 1  # the folder; what it contains is not a row or a count


def test_the_prod_invoices_bucket_lists_the_account_admins_through_the_account(tmp_path):
    from crosspath.pipeline import scan
    from tests.test_sample_org import SAMPLES

    result = scan(SAMPLES, tmp_path, exceptions_path=SAMPLES / "exceptions.yaml")
    engine = PathEngine(result.build.graph, load_policy())
    invoices = "aws:arn:aws:s3:::lumen-prod-invoices"
    writers = {row["entry_id"]: row for row in WriteAccess(engine).who_can_write(invoices)}
    bob = "aws:password/arn:aws:iam::111111111111:user/bob.martin"
    assert writers[bob]["through"] == "lumen-prod" and writers[bob]["level"] == "write"
    assert writers["entra:a1000000-0000-4000-8000-000000000001"]["through"] == ""  # dana: a grant on the bucket
    cli = CliRunner().invoke(main, ["blast-radius", bob, "--snapshot", str(result.snapshot), "--json"])
    rows = {row["target"]: row for row in json.loads(cli.output)["targets"]}
    assert rows[invoices]["through"] == "aws:account/111111111111"
    text = CliRunner().invoke(main, ["blast-radius", bob, "--snapshot", str(result.snapshot)]).output
    assert "lumen-prod-invoices (aws) [NO MFA, 2 hops, through lumen-prod]" in text
