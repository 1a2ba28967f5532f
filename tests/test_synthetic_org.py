"""The benchmark's synthetic organisation: valid, joined, deterministic records of a realistic shape."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from bench.synthetic_org import AS_OF, generate, main
from collectors import SOURCES
from graph.coverage import CollectResult
from graph.records import Record, RecordOrigin, endpoint_problem, validate_records
from graph.times import parse_time

N = 2000


@pytest.fixture(scope="module")
def results() -> list[CollectResult]:
    return generate(N, seed=7)


@pytest.fixture(scope="module")
def nodes(results: list[CollectResult]) -> list[Record]:
    return [record for result in results for record in result.nodes]


@pytest.fixture(scope="module")
def edges(results: list[CollectResult]) -> list[Record]:
    return [record for result in results for record in result.edges]


@pytest.fixture(scope="module")
def by_id(nodes: list[Record]) -> dict[str, Record]:
    """Every node under its id and under each of its aliases, as the builder joins them."""
    index: dict[str, Record] = {}
    for record in nodes:
        index[record["id"]] = record
        for alias in record.get("aliases", []):
            index[alias] = record
    return index


def test_same_seed_gives_identical_records_and_another_seed_does_not(results: list[CollectResult]) -> None:
    again = generate(N, seed=7)
    assert [(r.source, r.nodes, r.edges) for r in again] == [(r.source, r.nodes, r.edges) for r in results]
    assert [r.coverage.to_dict() for r in again] == [r.coverage.to_dict() for r in results]
    other = generate(N, seed=8)
    assert [r.edges for r in other] != [r.edges for r in results]


def test_every_record_passes_validation(results: list[CollectResult]) -> None:
    for result in results:
        checked = validate_records(result.nodes, result.edges, RecordOrigin(result.source))
        assert checked.errors == []
        assert len(checked.nodes) == len(result.nodes)
        assert len(checked.edges) == len(result.edges)


def test_node_ids_are_unique_and_use_their_provider_prefix(nodes: list[Record]) -> None:
    ids = [record["id"] for record in nodes]
    assert len(ids) == len(set(ids))
    aliases = [alias for record in nodes for alias in record.get("aliases", [])]
    assert not set(aliases) & set(ids)
    for record in nodes:
        assert record["id"].startswith(record["provider"] + ":")


def test_every_edge_endpoint_exists_and_joins_allowed_families(
    edges: list[Record], by_id: dict[str, Record]
) -> None:
    missing = [e for e in edges if e["source"] not in by_id or e["target"] not in by_id]
    assert missing == []
    for record in edges:
        problem = endpoint_problem(
            record["kind"], by_id[record["source"]]["family"], by_id[record["target"]]["family"]
        )
        assert problem is None, record


def test_no_duplicate_edges(edges: list[Record]) -> None:
    keys = Counter((e["source"], e["target"], e["kind"]) for e in edges)
    assert [key for key, count in keys.items() if count > 1] == []


def test_about_ten_edges_per_identity(results: list[CollectResult], edges: list[Record]) -> None:
    assert 7 <= len(edges) / N <= 13
    # groups come on top of the requested principals
    principals = sum(
        1 for r in results for n in r.nodes if n["family"] == "Identity" and n["kind"] != "Group"
    )
    assert principals == N


def test_all_five_sources_present_with_coverage(results: list[CollectResult]) -> None:
    assert [r.source for r in results] == list(SOURCES)
    for result in results:
        coverage = result.coverage
        assert coverage.status == "complete"
        assert coverage.scopes
        assert sum(n for key, n in coverage.counts.items() if key.startswith("nodes.")) == len(result.nodes) > 0
        assert sum(n for key, n in coverage.counts.items() if key.startswith("edges.")) == len(result.edges) > 0
        assert coverage.counts["edges.HAS_PERMISSION"] == sum(e["kind"] == "HAS_PERMISSION" for e in result.edges)
        assert result.origins == [(f"synthetic:{result.source}", len(result.nodes), len(result.edges))]


def test_identity_split_follows_the_providers_shares(nodes: list[Record]) -> None:
    principals = Counter(n["provider"] for n in nodes if n["family"] == "Identity" and n["kind"] != "Group")
    assert principals["entra"] == 0.30 * N
    assert principals["aws"] == 0.25 * N
    assert principals["gcp"] == 0.15 * N
    assert principals["k8s"] == 0.20 * N
    assert principals["postgres"] + principals["mysql"] == 0.10 * N
    assert principals["postgres"] and principals["mysql"]


def test_cross_stack_edges_are_present_and_join(edges: list[Record], by_id: dict[str, Record]) -> None:
    def provider(node_id: str) -> str:
        return by_id[node_id]["provider"]

    cross = Counter(
        (provider(e["source"]), provider(e["target"]), e["kind"])
        for e in edges
        if provider(e["source"]) != provider(e["target"])
    )
    for link in [
        ("k8s", "aws", "FEDERATES_TO"),  # IRSA
        ("k8s", "gcp", "FEDERATES_TO"),  # GKE workload identity
        ("k8s", "entra", "FEDERATES_TO"),  # Azure workload identity
        ("entra", "aws", "CAN_ASSUME"),  # Identity Center permission sets
        ("entra", "k8s", "MEMBER_OF"),  # AKS Entra groups
        ("aws", "k8s", "FEDERATES_TO"),  # aws-auth mapRoles
        ("aws", "postgres", "FEDERATES_TO"),  # RDS IAM database auth
        ("k8s", "aws", "CAN_READ_SECRET"),  # access key stored in a Secret
    ]:
        assert cross[link] > 0, link


def test_workload_federation_carries_matching_subjects(edges: list[Record], by_id: dict[str, Record]) -> None:
    federations = [
        e for e in edges if e["kind"] == "FEDERATES_TO" and by_id[e["source"]]["provider"] == "k8s"
    ]
    trusted = [
        e
        for e in federations
        if by_id[e["source"]]["oidc_subject"] in by_id[e["target"]].get("federated_subjects", [])
    ]
    assert federations
    # most are trusted; the rest stay as misconfigured annotations the builder must not traverse
    assert 0.75 <= len(trusted) / len(federations) < 1.0


def test_rds_iam_logins_are_reached_through_their_dbuser_alias(
    edges: list[Record], by_id: dict[str, Record]
) -> None:
    to_db = [
        e for e in edges if e["kind"] == "FEDERATES_TO" and e["target"].startswith("aws:arn:aws:rds-db:")
    ]
    assert to_db
    for record in to_db:
        login = by_id[record["target"]]
        assert login["provider"] == "postgres"
        assert record["target"].endswith("/" + login["name"])
        assert not any(e["target"] == login["id"] and e["kind"] == "AUTHENTICATES" for e in edges)


def test_humans_mfa_is_mostly_on_with_some_off_and_some_unknown(nodes: list[Record]) -> None:
    humans = [
        n
        for n in nodes
        if n["family"] == "Identity" and n["human"] and n["provider"] in ("entra", "aws", "gcp")
    ]
    mfa = Counter(n["mfa"] for n in humans)
    assert 0.75 <= mfa[True] / len(humans) <= 0.85
    assert 0.10 <= mfa[False] / len(humans) <= 0.20
    assert 0.02 <= mfa[None] / len(humans) <= 0.08


def test_human_console_passwords_authenticate_with_the_users_mfa(
    edges: list[Record], by_id: dict[str, Record]
) -> None:
    passwords = [e for e in edges if e["kind"] == "AUTHENTICATES" and e["source"].startswith("aws:password/")]
    assert passwords
    for record in passwords:
        assert record["mfa"] == by_id[record["target"]]["mfa"]
    others = [
        e for e in edges if e["kind"] == "AUTHENTICATES" and not e["source"].startswith("aws:password/")
    ]
    assert {e["mfa"] for e in others} == {False}


def test_humans_sit_in_two_to_six_groups_with_a_few_large_groups(
    edges: list[Record], by_id: dict[str, Record]
) -> None:
    entra_users = [n for n in by_id.values() if n["provider"] == "entra" and n["kind"] == "User"]
    memberships = Counter(e["source"] for e in edges if e["kind"] == "MEMBER_OF")
    assert all(2 <= memberships[user["id"]] <= 6 for user in entra_users)
    sizes = Counter(
        e["target"] for e in edges if e["kind"] == "MEMBER_OF" and e["target"].startswith("entra:")
    )
    largest = sizes.most_common(1)[0][1]
    median = sorted(sizes.values())[len(sizes) // 2]
    assert largest > 5 * median


def test_resources_levels_and_popularity(nodes: list[Record], edges: list[Record]) -> None:
    resources = [n for n in nodes if n["family"] == "Resource"]
    assert 0.4 * N <= len(resources) <= 0.6 * N
    prod = sum(n["environment"] == "prod" for n in resources) / len(resources)
    assert 0.33 <= prod <= 0.47
    grants = [e for e in edges if e["kind"] == "HAS_PERMISSION"]
    levels = Counter(e["level"] for e in grants)
    assert abs(levels["read"] / len(grants) - 0.5) < 0.05
    assert abs(levels["write"] / len(grants) - 0.4) < 0.05
    assert abs(levels["admin"] / len(grants) - 0.1) < 0.03
    assert all(0 < len(e["actions"]) <= 10 for e in grants)
    # scope-admin grants over whole accounts, projects, clusters, servers and the tenant
    scope_kinds = {"account", "project", "cluster", "server", "tenant", "organization"}
    admin_scopes = {
        n["kind"] for n in nodes if n["id"] in {e["target"] for e in grants if e["level"] == "admin"}
    }
    assert scope_kinds <= admin_scopes
    popularity = Counter(e["target"] for e in grants)
    assert popularity.most_common(1)[0][1] > 10 * (len(grants) / len(popularity))


def test_credentials_ages_span_900_days_before_as_of(nodes: list[Record]) -> None:
    credentials = [n for n in nodes if n["family"] == "Credential"]
    created = [parse_time(n["created"]) for n in credentials if n.get("created")]
    ages = [(AS_OF - when).days for when in created if when is not None]
    assert len(ages) == len(created) > 0
    assert min(ages) >= 0 and max(ages) <= 900
    old = sum(age > 90 for age in ages) / len(ages)
    assert 0.5 < old < 0.95
    assert any(n.get("enabled") is False for n in credentials)
    expiring = [parse_time(n["expires"]) for n in credentials if n.get("expires")]
    assert expiring and any(when < AS_OF for when in expiring) and any(when > AS_OF for when in expiring)
    assert all(isinstance(when, datetime) for when in expiring)


def test_role_trusts_have_mfa_conditions_and_cycles(edges: list[Record]) -> None:
    assumes = [e for e in edges if e["kind"] == "CAN_ASSUME" and e["source"].startswith("aws:")]
    with_mfa = [e for e in assumes if e["mfa_required"]]
    assert 0.1 <= len(with_mfa) / len(assumes) <= 0.3
    assert all(e["conditions"] == ["Bool aws:MultiFactorAuthPresent=true"] for e in with_mfa)
    pairs = {(e["source"], e["target"]) for e in assumes}
    assert any((target, source) in pairs for source, target in pairs)


def test_transfer_edges_carry_mfa_required_and_via(edges: list[Record]) -> None:
    for record in edges:
        assert record["via"]
        if record["kind"] not in ("AUTHENTICATES", "HAS_PERMISSION"):
            assert isinstance(record["mfa_required"], bool), record


def test_no_secret_values_in_records(nodes: list[Record]) -> None:
    for record in nodes:
        assert not any(key in record for key in ("secret", "secret_value", "private_key", "password_hash"))


def test_too_small_an_organisation_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 100"):
        generate(50)


def test_smallest_organisation_is_still_valid_and_joined() -> None:
    results = generate(100, seed=1)
    ids = {n["id"] for r in results for n in r.nodes} | {
        a for r in results for n in r.nodes for a in n.get("aliases", [])
    }
    for result in results:
        assert validate_records(result.nodes, result.edges, RecordOrigin(result.source)).errors == []
        assert all(e["source"] in ids and e["target"] in ids for e in result.edges)


def test_cli_writes_json_lines_per_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--identities", "300", "--seed", "3", "--out", str(tmp_path)]) == 0
    expected = generate(300, seed=3)
    for result in expected:
        folder = tmp_path / result.source
        node_lines = (folder / "nodes.jsonl").read_text().splitlines()
        edge_lines = (folder / "edges.jsonl").read_text().splitlines()
        assert [json.loads(line) for line in node_lines] == result.nodes
        assert [json.loads(line) for line in edge_lines] == result.edges
        counts = json.loads((folder / "coverage.json").read_text())["counts"]
        assert sum(n for key, n in counts.items() if key.startswith("edges.")) == len(result.edges)
    assert "300 identities" in capsys.readouterr().out
