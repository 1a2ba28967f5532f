"""Every library query runs on the embedded store and agrees with the Python path engine on the sample
organisation: same entries, same targets, same hop counts, same MFA verdicts."""

from __future__ import annotations

import re
from collections import defaultdict

import networkx as nx
import pytest

from graph.stores import run_read_query
from queries.cypher_library import LibraryError, load_library
from queries.paths import SCOPE_ADMIN
from queries.policy import load_policy

LIBRARY = load_library()
INVOICES = "aws:arn:aws:s3:::lumen-prod-invoices"
DANA = "entra:a1000000-0000-4000-8000-000000000001"
LI_CHEN = "entra:a1000000-0000-4000-8000-000000000003"  # holds tenant admin himself, and lies on a cycle
TENANT = "entra:tenant/6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
CHAIN_KINDS = {"AUTHENTICATES", "MEMBER_OF", "CAN_ASSUME", "CAN_IMPERSONATE", "CAN_CREATE_CREDENTIAL", "CAN_RUN_AS",
               "FEDERATES_TO", "CAN_GRANT", "CAN_READ_SECRET"}
PARAMETERS = {
    "who_can_write": {"resource": INVOICES},
    "blast_radius": {"node": DANA},
    "shortest_path": {"source": DANA, "target": INVOICES},
}


def run(snapshot, name: str, **parameters) -> list[dict]:
    query = LIBRARY[name]
    return run_read_query(snapshot, query.text("lbug"), query.bind(parameters or PARAMETERS.get(name))).records()


def mfa_free_reach(engine, node_id: str) -> dict[str, int]:
    """Privileged targets the engine says `node_id` reaches without MFA through a grant on them (not through
    a scope that contains them: findings count the former), with the shortest MFA-free hops."""
    return {t["target"]: len(t["path"]) for t in engine.blast_radius(node_id)
            if not t["requires_mfa"] and t["through"] is None}


def by_entry(rows: list[dict]) -> dict[str, dict[str, int]]:
    grouped: dict[str, dict[str, int]] = defaultdict(dict)
    for row in rows:
        grouped[row["entry"]][row["target"]] = row["hops"]
    return dict(grouped)


def test_the_library_holds_the_nine_questions_with_a_variant_per_store():
    assert set(LIBRARY) == {
        "privileged_write_no_mfa", "long_lived_nhi_keys_to_prod_write", "cross_stack_paths", "who_can_write",
        "blast_radius", "shortest_path", "tier_zero_identities", "stale_credentials", "identities_without_owner",
    }
    for query in LIBRARY.values():
        assert query.title and query.description and set(query.texts) == {"lbug", "neo4j"}
    shortest = LIBRARY["shortest_path"]
    assert "SHORTEST" in shortest.text("lbug") and "shortestPath(" in shortest.text("neo4j")
    assert shortest.files == ("shortest_path.lbug.cypher", "shortest_path.neo4j.cypher")


@pytest.mark.parametrize("name", sorted(LIBRARY))
def test_every_library_query_runs_on_the_embedded_store(snapshot, name):
    assert run(snapshot, name), f"{name} returned nothing on the sample organisation"


@pytest.mark.parametrize(("name", "gap"), [("privileged_write_no_mfa", "NO_MFA"),
                                           ("long_lived_nhi_keys_to_prod_write", "LONG_LIVED_NHI_KEY")])
def test_gap_queries_find_the_engines_entries_and_targets(sample, snapshot, engine, name, gap):
    found = by_entry(run(snapshot, name))
    findings = [f for f in sample.analysis.findings if gap in f.gap_types]
    assert set(found) == {f.entry["id"] for f in findings}
    for finding in findings:
        targets = found[finding.entry["id"]]
        assert targets == mfa_free_reach(engine, finding.entry["id"])
        assert len(targets) == finding.targets_count
        assert finding.target["id"] in targets
        assert min(targets.values()) == finding.hops


def test_cross_stack_query_finds_the_engines_cross_stack_findings(sample, snapshot):
    found = {row["entry"] for row in run(snapshot, "cross_stack_paths")}
    assert found == {f.entry["id"] for f in sample.analysis.findings if "CROSS_STACK" in f.gap_types}


@pytest.mark.parametrize("resource", [INVOICES, "k8s:aks-prod", "gcp:projects/lumen-data-prod", TENANT,
                                      "postgres:orders-prod/db/orders/schema/public/table/orders"])
def test_who_can_write_agrees_with_every_entrys_blast_radius(snapshot, engine, resource):
    expected = {}
    for entry in engine.entries():
        entry_id = engine.ids[entry.node]
        for target in engine.blast_radius(entry_id):
            if target["target"] == resource:
                expected[entry_id] = (target["requires_mfa"], len(target["path"]))
    rows = run(snapshot, "who_can_write", resource=resource)
    assert {row["entry"]: (row["requires_mfa"], row["hops"]) for row in rows} == expected
    assert expected, "the resource must be reachable to prove anything"
    if resource == TENANT:  # a grant the entry holds itself: one hop, even from a node on a cycle
        assert expected[LI_CHEN] == (False, 1)


@pytest.mark.parametrize("node", [DANA, LI_CHEN,
                                  "aws:password/arn:aws:iam::111111111111:user/ops-oncall",
                                  "k8s:prod-eks/secret/ci/gitlab-runner-token", "gcp:user/priya.nair@lumenfreight.com"])
def test_blast_radius_query_matches_the_engine(snapshot, engine, node):
    expected = {t["target"]: (t["requires_mfa"], len(t["path"])) for t in engine.blast_radius(node)}
    rows = run(snapshot, "blast_radius", node=node)
    assert {row["target"]: (row["requires_mfa"], row["hops"]) for row in rows} == expected


def test_shortest_path_follows_the_findings_path(sample, snapshot):
    dana = next(f for f in sample.analysis.findings if f.entry["id"] == DANA)
    [row] = run(snapshot, "shortest_path")
    assert row["hops"] == dana.hops == 3
    assert row["kinds"] == [step.kind for step in dana.path]
    assert row["nodes"] == [DANA] + [step.target for step in dana.path]


def test_tier_zero_identities_are_those_whose_blast_radius_holds_a_whole_scope(snapshot, engine):
    expected = {
        node_id for node_id in engine.ids
        if engine.graph.nodes[node_id]["family"] == "Identity"
        and any(t["class"] == SCOPE_ADMIN for t in engine.blast_radius(node_id))
    }
    rows = run(snapshot, "tier_zero_identities")
    assert {row["identity"] for row in rows} == expected
    # hops = 1 exactly for the holders of a whole-scope admin grant; requires_mfa when every way there needs MFA
    scopes = {node_id: [t for t in engine.blast_radius(node_id) if t["class"] == SCOPE_ADMIN] for node_id in expected}
    assert {row["identity"]: (row["hops"] == 1, row["requires_mfa"]) for row in rows} == {
        node_id: (any(len(t["path"]) == 1 for t in found), all(t["requires_mfa"] for t in found))
        for node_id, found in scopes.items()
    }
    direct = {row["identity"] for row in rows if row["hops"] == 1}
    assert {"gcp:user/priya.nair@lumenfreight.com", LI_CHEN} <= direct
    sam = next(row for row in rows if row["identity"] == "entra:a1000000-0000-4000-8000-000000000002")
    assert sam["hops"] == 4


def test_stale_credentials_follow_the_key_age_rule_and_cover_every_long_lived_finding(sample, snapshot, engine):
    policy = load_policy()
    graph = sample.build.graph
    expected = {
        u for u, _, data in graph.edges(data=True)
        if data["kind"] == "AUTHENTICATES" and engine.usable[engine.index[u]]
        and policy.is_long_lived(graph.nodes[u].get("age_days"), graph.nodes[u].get("expires"))
    }
    rows = run(snapshot, "stale_credentials")
    assert {row["credential"] for row in rows} == expected
    long_lived = {f.entry["id"] for f in sample.analysis.findings if "LONG_LIVED_NHI_KEY" in f.gap_types}
    assert long_lived <= expected
    stricter = {row["credential"] for row in run(snapshot, "stale_credentials", max_age_days=1000)}
    assert "aws:access-key/AKIA5LUMENCIDEPLOY01" not in stricter  # 599 days old
    assert "k8s:prod-eks/secret/ci/gitlab-runner-token" in stricter  # 1,355 days old


def test_identities_without_owner_skip_humans_and_owned_machines(sample, snapshot):
    rows = {row["identity"] for row in run(snapshot, "identities_without_owner")}
    graph = sample.build.graph
    assert "entra:c3000000-0000-4000-8000-0000000000b1" in rows  # terraform-prod: the app has no owners
    assert "aws:arn:aws:iam::111111111111:user/svc-ci-deployer" not in rows  # tagged owner=platform-team
    assert all(graph.nodes[node_id]["human"] is False for node_id in rows)


def test_library_parameters_are_checked_and_typed():
    stale = LIBRARY["stale_credentials"]
    assert stale.bind() == {"max_age_days": 90}
    assert stale.bind({"max_age_days": "30"}) == {"max_age_days": 30}
    with pytest.raises(LibraryError, match="needs parameter 'resource'"):
        LIBRARY["who_can_write"].bind({})
    with pytest.raises(LibraryError, match="has no parameter"):
        stale.bind({"max_age": 3})
    with pytest.raises(LibraryError, match="must be int"):
        stale.bind({"max_age_days": "ninety"})


ZERO_LENGTH_RANGE = re.compile(r"\*\s*0\s*\.\.")


def test_no_ladybugdb_text_relies_on_a_zero_length_range():
    """LadybugDB 0.15 loses the zero-length match of `-[:T*0..n]->` when the start node lies on a cycle of
    those relationships (docs/cypher.md): its texts match the start's own grants apart instead."""
    assert [name for name, query in LIBRARY.items() if ZERO_LENGTH_RANGE.search(query.text("lbug"))] == []
    assert [name for name, query in LIBRARY.items() if ZERO_LENGTH_RANGE.search(query.text("neo4j"))], \
        "the Neo4j texts keep the plain *0..8 form; the comparison below must still cover it"


def starts_on_a_cycle(graph) -> set[str]:
    """Nodes on a cycle of sign-in and transfer edges: where LadybugDB drops a *0..n zero-length match."""
    chains = nx.DiGraph([(u, v) for u, v, kind in graph.edges(data="kind") if kind in CHAIN_KINDS])
    return {node for part in nx.strongly_connected_components(chains) if len(part) > 1 for node in part}


@pytest.mark.parametrize("name", sorted(n for n, q in LIBRARY.items() if "shortestPath(" not in q.text("neo4j")))
def test_the_neo4j_text_parses_and_gives_the_same_answer_on_the_sample(sample, snapshot, name):
    """No Neo4j server here: the portable Neo4j texts also run on LadybugDB, where (on the small sample,
    below the size where LadybugDB 0.15 drops paths) they must answer exactly like the LadybugDB texts,
    except for paths from a node on a cycle when the Neo4j text has a *0..n range (the bug the LadybugDB
    texts work around)."""
    query = LIBRARY[name]
    bound = query.bind(PARAMETERS.get(name))
    neo4j_rows = run_read_query(snapshot, query.text("neo4j"), bound).records()
    lbug_rows = run_read_query(snapshot, query.text("lbug"), bound).records()
    if ZERO_LENGTH_RANGE.search(query.text("neo4j")):
        on_cycle = starts_on_a_cycle(sample.build.graph)
        assert LI_CHEN in on_cycle

        def start(row: dict) -> str:
            return bound["node"] if name == "blast_radius" else row.get("entry", row.get("identity"))

        neo4j_rows = [row for row in neo4j_rows if start(row) not in on_cycle]
        lbug_rows = [row for row in lbug_rows if start(row) not in on_cycle]
        assert lbug_rows, "the comparison must keep rows to prove anything"
    assert sorted(map(repr, neo4j_rows)) == sorted(map(repr, lbug_rows))
