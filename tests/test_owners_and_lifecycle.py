"""Who owns a finding, how long it has been open, and unused keys: each rule present and absent."""

from __future__ import annotations

from datetime import timedelta

import pytest

from graph.records import node
from queries.analysis import analyze
from queries.findings import CARRIED
from queries.policy import load_policy
from tests.graph_helpers import AS_OF, Org, by_entry


def _org(tags: list[str] | None = None, namespace_tags: list[str] | None = None, bob: bool = True) -> Org:
    org = Org()
    org.human("entra:alice", mfa=False, tags=tags or [])
    org.resource("aws:bucket/prod-x")
    org.grant("entra:alice", "aws:bucket/prod-x")
    if bob:
        org.human("entra:bob", mfa=False)
        org.resource("aws:bucket/prod-y")
        org.grant("entra:bob", "aws:bucket/prod-y")
    if namespace_tags is not None:
        org.add({"id": "k8s:c1/ns/pay", "family": "Resource", "kind": "namespace", "provider": "k8s", "name": "pay",
                 "scope": "k8s:c1", "tags": namespace_tags})
        org.add(node("k8s:c1/sa/pay/api", "Identity", "ServiceIdentity", "k8s", "api", "k8s:c1", human=False,
                     namespace="pay"))
        org.key("k8s:c1/secret/pay/api-token", "k8s:c1/sa/pay/api", created="2020-01-01T00:00:00Z", kind="token")
        org.grant("k8s:c1/sa/pay/api", "aws:bucket/prod-x")
    return org


def _policy(tmp_path, text: str):
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return load_policy(path)


def _analyze(org: Org, policy=None, carried=None, as_of=AS_OF):
    metadata = {} if carried is None else {CARRIED: carried}
    return analyze(org.build().graph, metadata, policy or load_policy(), [], as_of)


# --- owners -----------------------------------------------------------------------------------------------

def test_an_owner_tag_on_the_entry_names_its_team():
    finding = by_entry(_analyze(_org(tags=["team=payments"])))["entra:alice"]
    assert finding.owner == "payments" and finding.owner_source == "tag team=payments on User entra:alice"


def test_without_a_tag_rule_or_app_owner_a_finding_is_unowned_and_counted():
    analysis = _analyze(_org())
    assert by_entry(analysis)["entra:alice"].owner == "unowned"
    assert analysis.summary()["unowned"] == 2


def test_a_configured_tag_key_is_read_and_others_are_not(tmp_path):
    policy = _policy(tmp_path, "owners:\n  tag_keys: [squad]\n")
    assert by_entry(_analyze(_org(tags=["squad=core"]), policy))["entra:alice"].owner == "core"
    assert by_entry(_analyze(_org(tags=["team=payments"]), policy))["entra:alice"].owner == "unowned"


def test_an_owners_rule_comes_first(tmp_path):
    policy = _policy(tmp_path, "owners:\n  rules:\n    - {entry: 'entra:al*', team: identity}\n")
    analysis = _analyze(_org(tags=["team=payments"]), policy)
    assert by_entry(analysis)["entra:alice"].owner == "identity"
    assert by_entry(analysis)["entra:alice"].owner_source == "owners rule 1"
    assert by_entry(analysis)["entra:bob"].owner == "unowned"  # the rule's glob does not match bob


def test_a_service_accounts_namespace_label_owns_its_token():
    finding = by_entry(_analyze(_org(namespace_tags=["team=payments"])))["k8s:c1/secret/pay/api-token"]
    assert finding.owner == "payments" and "namespace pay" in finding.owner_source
    unlabelled = by_entry(_analyze(_org(namespace_tags=["env=prod"])))["k8s:c1/secret/pay/api-token"]
    assert unlabelled.owner == "unowned"


def test_an_owners_rule_without_a_team_is_an_error(tmp_path):
    from queries.yaml_files import ConfigError
    with pytest.raises(ConfigError, match="policy.yaml"):
        _policy(tmp_path, "owners:\n  rules:\n    - {entry: 'x'}\n")


# --- lifecycle --------------------------------------------------------------------------------------------

def test_a_first_scan_calls_every_finding_new_and_open_zero_days():
    analysis = _analyze(_org())
    assert {(f.new, f.reopened, f.days_open) for f in analysis.findings} == {(True, False, 0)}


def test_days_open_count_from_the_first_scan_and_a_finding_seen_before_is_not_new():
    first = _analyze(_org())
    later = _analyze(_org(), carried=first.carried, as_of=AS_OF + timedelta(days=10))
    alice = by_entry(later)["entra:alice"]
    assert (alice.new, alice.days_open, alice.first_seen) == (False, 10, "2026-11-01T00:00:00Z")


def test_a_finding_that_was_gone_and_is_back_is_reopened():
    first = _analyze(_org())
    gone = _analyze(_org(bob=False), carried=first.carried, as_of=AS_OF + timedelta(days=1))
    assert "entra:bob" not in by_entry(gone)
    back = _analyze(_org(), carried=gone.carried, as_of=AS_OF + timedelta(days=2))
    bob = by_entry(back)["entra:bob"]
    assert bob.reopened and bob.new and bob.days_open == 0
    assert back.summary()["reopened"] == 1


def test_a_finding_gone_while_its_source_was_not_read_is_not_closed():
    first = _analyze(_org())
    org = _org(bob=False)
    metadata = {CARRIED: first.carried, "coverage": {"entra": {"status": "partial"}}}
    unseen = analyze(org.build().graph, metadata, load_policy(), [], AS_OF + timedelta(days=1))
    bob_id = by_entry(first)["entra:bob"].id
    assert bob_id in unseen.carried["first_seen"] and bob_id not in unseen.carried["closed"]
    back = _analyze(_org(), carried=unseen.carried, as_of=AS_OF + timedelta(days=2))
    assert not by_entry(back)["entra:bob"].reopened and by_entry(back)["entra:bob"].days_open == 2


def test_overdue_after_the_policys_sla_for_its_severity(tmp_path):
    first = _analyze(_org())
    severity = by_entry(first)["entra:alice"].severity
    policy = _policy(tmp_path, f"sla_days:\n  {severity}: 5\n")
    within = by_entry(_analyze(_org(), policy, first.carried, AS_OF + timedelta(days=5)))["entra:alice"]
    assert not within.overdue and within.due == "2026-11-06T00:00:00Z"
    late = _analyze(_org(), policy, first.carried, AS_OF + timedelta(days=6))
    assert by_entry(late)["entra:alice"].overdue and late.summary()["overdue"] == 2


# --- unused keys --------------------------------------------------------------------------------------------

def _key_org(**key) -> Org:
    org = Org()
    org.identity("aws:user/svc", "ServiceIdentity")
    org.key("aws:access-key/K", "aws:user/svc", created="2025-01-01T00:00:00Z", **key)
    org.resource("aws:bucket/prod-x")
    org.grant("aws:user/svc", "aws:bucket/prod-x")
    return org


def test_a_key_never_used_is_deleted_not_rotated():
    finding = by_entry(_analyze(_key_org(never_used=True)))["aws:access-key/K"]
    assert finding.entry["unused"] and finding.entry["unused_days"] == 669
    assert finding.remediation[0].startswith("Delete credential K: it is unused (never used, 669 days")


@pytest.mark.parametrize("key", [{"last_used": "2026-10-30T00:00:00Z"}, {}])
def test_a_key_used_lately_or_of_unknown_use_is_rotated(key):
    finding = by_entry(_analyze(_key_org(**key)))["aws:access-key/K"]
    assert not finding.entry["unused"]
    assert finding.remediation[0].startswith("Rotate or remove credential K")


def test_a_key_unused_for_longer_than_the_maximum_age_is_unused():
    finding = by_entry(_analyze(_key_org(last_used="2026-06-01T00:00:00Z")))["aws:access-key/K"]
    assert finding.entry["unused"] and "last used 2026-06-01" in finding.remediation[0]
