"""The path engine on small hand-built graphs: each rule of DESIGN.md's gap types."""

from __future__ import annotations

from queries.findings import CROSS_STACK, LONG_LIVED_NHI_KEY, NO_MFA
from queries.paths import PathEngine
from queries.policy import load_policy
from tests.graph_helpers import Org, by_entry


def _deployer_org(mfa_on_trust: bool = False, user_mfa: bool | None = False) -> Org:
    org = Org()
    org.human("entra:alice", mfa=user_mfa)
    org.identity("entra:deployers", kind="Group")
    org.identity("aws:role/deployer")
    org.resource("aws:bucket/prod-invoices")
    org.link("entra:alice", "entra:deployers", "MEMBER_OF")
    org.link("entra:deployers", "aws:role/deployer", "CAN_ASSUME", mfa_required=mfa_on_trust)
    org.grant("aws:role/deployer", "aws:bucket/prod-invoices")
    return org


def test_human_without_mfa_reaching_prod_write_is_a_cross_stack_no_mfa_finding():
    finding = by_entry(_deployer_org().analyze())["entra:alice"]
    assert finding.gap_types == [NO_MFA, CROSS_STACK]
    assert [step.kind for step in finding.path] == ["MEMBER_OF", "CAN_ASSUME", "HAS_PERMISSION"]
    assert finding.path[1].via == "CAN_ASSUME entra:deployers->aws:role/deployer"
    assert finding.providers == ["entra", "aws"]
    assert finding.target["id"] == "aws:bucket/prod-invoices"
    assert finding.targets_count == 1


def test_mfa_required_on_one_edge_removes_the_gap():
    assert _deployer_org(mfa_on_trust=True).analyze().findings == []


def test_mfa_enforced_at_sign_in_removes_the_gap():
    assert _deployer_org(user_mfa=True).analyze().findings == []


def test_unknown_mfa_is_reported_and_marked_unknown_never_silently_safe():
    finding = by_entry(_deployer_org(user_mfa=None).analyze())["entra:alice"]
    assert NO_MFA in finding.gap_types
    assert finding.mfa_unknown is True
    # Unknown lowers severity one step: write on prod is high by default -> medium.
    assert finding.severity == "medium"


def _key_org(created: str | None, expires: str | None = None, human: bool = False) -> Org:
    org = Org()
    org.identity("aws:user/svc", kind="User" if human else "ServiceIdentity", human=human)
    org.key("aws:access-key/AKIA1", "aws:user/svc", created=created, expires=expires)
    org.resource("aws:bucket/prod-data")
    org.grant("aws:user/svc", "aws:bucket/prod-data")
    return org


def test_key_older_than_policy_max_age_is_long_lived():
    finding = by_entry(_key_org("2026-07-01T00:00:00Z").analyze())["aws:access-key/AKIA1"]  # 123 days
    assert finding.gap_types == [LONG_LIVED_NHI_KEY]
    assert finding.entry["age_days"] == 123


def test_key_younger_than_max_age_is_not_reported():
    assert _key_org("2026-10-22T00:00:00Z").analyze().findings == []  # 10 days


def test_key_age_threshold_follows_the_policy(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text("rules:\n  max_key_age:\n    max_age_days: 5\n")
    assert _key_org("2026-10-22T00:00:00Z").analyze(policy_path=policy).findings != []


def test_key_without_expiry_and_unknown_age_is_long_lived():
    finding = by_entry(_key_org(None).analyze())["aws:access-key/AKIA1"]
    assert finding.gap_types == [LONG_LIVED_NHI_KEY]


def test_human_key_is_judged_on_mfa_not_age():
    finding = by_entry(_key_org("2026-10-22T00:00:00Z", human=True).analyze())["aws:access-key/AKIA1"]
    assert finding.gap_types == [NO_MFA]


def test_disabled_or_expired_credentials_are_not_entries():
    org = _key_org("2020-01-01T00:00:00Z")
    org.results["aws"].nodes[1]["enabled"] = False
    assert org.analyze().findings == []
    expired = _key_org("2020-01-01T00:00:00Z", expires="2026-10-01T00:00:00Z")
    assert expired.analyze().findings == []


def test_nonprod_write_is_not_privileged_but_admin_over_a_whole_account_is():
    org = Org()
    org.human("aws:user/dev", mfa=False)
    org.resource("aws:bucket/dev-scratch", environment="nonprod")
    org.resource("aws:account/222", environment="nonprod", kind="account")
    org.grant("aws:user/dev", "aws:bucket/dev-scratch", "write")
    assert org.analyze().findings == []
    org.grant("aws:user/dev", "aws:account/222", "admin")
    finding = by_entry(org.analyze())["aws:user/dev"]
    assert finding.target["id"] == "aws:account/222"
    assert finding.severity == "critical"


def test_cycles_terminate_and_count_each_target_once():
    org = Org()
    org.human("aws:user/op", mfa=False)
    for name in ("a", "b", "c"):
        org.identity(f"aws:role/{name}")
    org.link("aws:user/op", "aws:role/a")
    org.link("aws:role/a", "aws:role/b")
    org.link("aws:role/b", "aws:role/c")
    org.link("aws:role/c", "aws:role/a")  # cycle a -> b -> c -> a
    for index in range(5):
        org.resource(f"aws:bucket/prod-{index}")
        org.grant(f"aws:role/{'abc'[index % 3]}", f"aws:bucket/prod-{index}")
    finding = by_entry(org.analyze())["aws:user/op"]
    assert finding.targets_count == 5
    assert len(finding.path) == 2  # op -> a -> bucket (nearest target first)


def test_one_entry_reaching_many_targets_is_one_finding_with_a_count():
    org = Org()
    org.human("gcp:user/dana", mfa=False)
    org.identity("gcp:group/writers", kind="Group")
    org.link("gcp:user/dana", "gcp:group/writers", "MEMBER_OF")
    for index in range(400):
        org.resource(f"gcp:buckets/prod-{index}")
        org.grant("gcp:group/writers", f"gcp:buckets/prod-{index}")
    findings = org.analyze().findings
    assert len(findings) == 1
    assert findings[0].targets_count == 400
    assert findings[0].targets_by_provider == {"gcp": 400}


def test_cross_stack_flag_when_any_reached_target_is_in_another_provider():
    org = Org()
    org.human("entra:sam", mfa=False)
    org.resource("entra:tenant/t1", kind="tenant")
    org.resource("k8s:aks-prod", kind="cluster")
    org.grant("entra:sam", "entra:tenant/t1", "write")
    org.identity("k8s:aks-prod/group/admins", kind="Group")
    org.link("entra:sam", "k8s:aks-prod/group/admins", "MEMBER_OF")
    org.grant("k8s:aks-prod/group/admins", "k8s:aks-prod", "admin")
    finding = by_entry(org.analyze())["entra:sam"]
    assert CROSS_STACK in finding.gap_types
    assert finding.targets_by_provider == {"entra": 1, "k8s": 1}


def test_unverified_federation_is_not_traversed():
    org = Org()
    org.identity("k8s:c/sa/default/app", kind="ServiceIdentity", oidc_subject="system:serviceaccount:default:app")
    org.key("k8s:c/secret/default/app-token", "k8s:c/sa/default/app", created="2022-01-01T00:00:00Z",
            kind="token")
    org.identity("aws:role/payments", federated_subjects=["system:serviceaccount:payments:api"])
    org.resource("aws:table/prod-ledger", kind="table")
    org.link("k8s:c/sa/default/app", "aws:role/payments", "FEDERATES_TO")
    org.grant("aws:role/payments", "aws:table/prod-ledger")
    assert org.analyze().findings == []
    org.results["aws"].nodes[0]["federated_subjects"] = ["system:serviceaccount:default:*"]
    finding = by_entry(org.analyze())["k8s:c/secret/default/app-token"]
    assert finding.gap_types == [LONG_LIVED_NHI_KEY, CROSS_STACK]
    org.results["aws"].nodes[0]["federated_subjects"] = ["system:serviceaccount:default:app"]  # no wildcard
    assert "k8s:c/secret/default/app-token" in by_entry(org.analyze())
    org.results["aws"].nodes[0]["federated_subjects"] = ["system:serviceaccount:default:ap"]  # a prefix is not it
    assert org.analyze().findings == []
    org.results["aws"].nodes[0]["federated_subjects"] = ["system:serviceaccount:default:ap?"]
    assert "k8s:c/secret/default/app-token" in by_entry(org.analyze())


def test_environment_inherits_from_scope_and_reads_name_words():
    org = Org()
    org.human("aws:user/x", mfa=False)
    org.add({"id": "aws:account/1", "family": "Resource", "kind": "account", "provider": "aws",
             "name": "lumen-prod", "scope": ""})
    org.add({"id": "aws:table/ledger", "family": "Resource", "kind": "table", "provider": "aws",
             "name": "ledger", "scope": "aws:account/1"})
    org.add({"id": "aws:bucket/preprod-cache", "family": "Resource", "kind": "bucket", "provider": "aws",
             "name": "preprod-cache", "scope": "aws:account/1"})
    org.grant("aws:user/x", "aws:table/ledger")
    org.grant("aws:user/x", "aws:bucket/preprod-cache")
    finding = by_entry(org.analyze())["aws:user/x"]
    assert finding.targets_count == 1  # ledger inherits prod; "preprod" is nonprod, not prod
    assert finding.target["environment"] == "prod"


def test_finding_ids_are_stable_across_runs():
    first = [f.id for f in _deployer_org().analyze().findings]
    second = [f.id for f in _deployer_org().analyze().findings]
    assert first == second and first[0].startswith("CP-")


def test_blast_radius_lists_targets_with_their_mfa_requirement():
    org = _deployer_org(mfa_on_trust=True)
    org.resource("aws:bucket/prod-logs")
    org.grant("entra:deployers", "aws:bucket/prod-logs")
    engine = PathEngine(org.build().graph, load_policy())
    radius = {row["target"]: row for row in engine.blast_radius("entra:alice")}
    assert radius["aws:bucket/prod-logs"]["requires_mfa"] is False
    assert radius["aws:bucket/prod-invoices"]["requires_mfa"] is True
    assert [s for s, _, _ in radius["aws:bucket/prod-invoices"]["path"]] == [
        "entra:alice", "entra:deployers", "aws:role/deployer"]



def _account_reach(mfa_to_admin: bool) -> dict:
    org = Org()
    org.identity("aws:user/dev")
    org.identity("aws:role/admin")
    org.resource("aws:account/1", kind="account")
    org.grant("aws:user/dev", "aws:account/1", level="write")
    org.link("aws:user/dev", "aws:role/admin", "CAN_RUN_AS", mfa_required=mfa_to_admin)
    org.grant("aws:role/admin", "aws:account/1", level="admin")
    radius = PathEngine(org.build().graph, load_policy()).blast_radius("aws:user/dev")
    return next(row for row in radius if row["target"] == "aws:account/1")


def test_blast_radius_reports_the_strongest_level_not_the_shortest_path():
    """Write on the account from one's own launch permission, admin over it through the role one can
    become: the account is reported as admin, by the path through the role."""
    row = _account_reach(mfa_to_admin=False)
    assert row["level"] == "admin" and [s for s, _, _ in row["path"]] == ["aws:user/dev", "aws:role/admin"]


def test_blast_radius_prefers_an_mfa_free_way_over_a_stronger_one_behind_mfa():
    row = _account_reach(mfa_to_admin=True)
    assert row["level"] == "write" and row["requires_mfa"] is False
