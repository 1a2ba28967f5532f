"""Exceptions that cannot creep (docs/exceptions.md): every rule present and absent.

A small organisation: alice (no MFA) writes to one production bucket, so she has one finding; bob (no
MFA) writes to one bucket too. Each test writes an exceptions file, runs the analysis as a scan does and
reads the finding's status and the exception's review.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from queries.analysis import analyze
from queries.exceptions import load_exceptions
from queries.findings import CARRIED
from queries.policy import load_policy
from queries.yaml_files import ConfigError
from tests.graph_helpers import AS_OF, Org, by_entry

TODAY = AS_OF.date()


def _org(alice_targets: int = 1, alice_admin: bool = False) -> Org:
    org = Org()
    org.human("entra:alice", mfa=False)
    org.human("entra:bob", mfa=False)
    for number in range(alice_targets):
        org.resource(f"aws:bucket/prod-{number}")
        org.grant("entra:alice", f"aws:bucket/prod-{number}", level="admin" if alice_admin else "write")
    org.resource("aws:bucket/prod-bob")
    org.grant("entra:bob", "aws:bucket/prod-bob")
    return org


def _file(tmp_path, body: str, name: str = "exceptions.yaml"):
    path = tmp_path / name
    path.write_text("exceptions:\n" + body)
    return path


def _exception(scope: str = "finding_alice", expires=TODAY + timedelta(days=90), **fields) -> str:
    scope_text = {"finding_alice": "    match: {entry: 'entra:alice'}\n",
                  "everyone": "    match: {entry: 'entra:*'}\n",
                  "nobody": "    match: {entry: 'entra:carol'}\n"}[scope]
    extra = "".join(f"    {key}: {value}\n" for key, value in fields.items())
    return f"  - id: EX-1\n{scope_text}    owner: sec\n    justification: test\n    expires: {expires}\n{extra}"


def _policy(tmp_path, **rules):
    if not rules:
        return load_policy()
    path = tmp_path / "policy.yaml"
    path.write_text("exceptions:\n" + "".join(f"  {key}: {value}\n" for key, value in rules.items()))
    return load_policy(path)


def _scan(org: Org, exceptions_path, policy=None, carried=None):
    """One scan's analysis; `carried` is what the previous snapshot carried on (None: a first scan)."""
    build = org.build()
    metadata = {} if carried is None else {CARRIED: carried}
    return analyze(build.graph, metadata, policy or load_policy(), load_exceptions(exceptions_path), AS_OF)


def _review(analysis, exception_id: str = "EX-1") -> dict:
    return next(review for review in analysis.exception_review if review["id"] == exception_id)


# --- stale ------------------------------------------------------------------------------------------

def test_an_exception_that_matches_no_finding_is_listed_stale(tmp_path):
    analysis = _scan(_org(), _file(tmp_path, _exception("nobody")))
    review = _review(analysis)
    assert review["states"] == ["stale"] and review["matches"] == []
    assert review["problems"] == ["matches no finding: remove it"]
    assert "exceptions.yaml: line 2" in review["where"]
    assert analysis.exception_issues == [review]


def test_an_exception_that_matches_is_not_stale(tmp_path):
    analysis = _scan(_org(), _file(tmp_path, _exception()))
    review = _review(analysis)
    assert review["states"] == ["in_force"] and review["problems"] == []
    assert by_entry(analysis)["entra:alice"].status == "excepted"
    assert analysis.exception_issues == []


def test_a_stale_exception_names_the_sources_not_read(tmp_path):
    build = _org().build()
    metadata = {"coverage": {"aws": {"status": "partial"}, "entra": {"status": "complete"}}}
    analysis = analyze(build.graph, metadata, load_policy(),
                       load_exceptions(_file(tmp_path, _exception("nobody"))), AS_OF)
    assert "not all sources were read: aws" in _review(analysis)["problems"][0]


# --- outgrown ---------------------------------------------------------------------------------------

def test_a_finding_that_outgrew_its_exception_reopens_with_the_reason(tmp_path):
    path = _file(tmp_path, _exception(approved_by="ciso", approved_at=TODAY))
    first = _scan(_org(alice_targets=1), path)  # the approval is recorded: 1 target
    assert by_entry(first)["entra:alice"].status == "excepted"
    grown = _scan(_org(alice_targets=40, alice_admin=True), path, carried=first.carried)
    finding = by_entry(grown)["entra:alice"]
    assert finding.status == "open"
    assert finding.exception.state == "outgrown"
    assert finding.exception.reason.startswith("outgrew its exception EX-1: was 1 target, now 40")
    assert _review(grown)["states"] == ["outgrown"]
    # still outgrown on the next scan: what was approved stays recorded until re-approval
    again = _scan(_org(alice_targets=40, alice_admin=True), path, carried=grown.carried)
    assert by_entry(again)["entra:alice"].status == "open"


def test_re_approval_covers_the_grown_finding_again(tmp_path):
    path = _file(tmp_path, _exception(approved_by="ciso", approved_at=TODAY - timedelta(days=5)))
    first = _scan(_org(alice_targets=1), path)
    grown = _scan(_org(alice_targets=3), path, carried=first.carried)
    assert by_entry(grown)["entra:alice"].status == "open"
    reapproved = _file(tmp_path, _exception(approved_by="ciso", approved_at=TODAY))
    after = _scan(_org(alice_targets=3), reapproved, carried=grown.carried)
    assert by_entry(after)["entra:alice"].status == "excepted"
    assert _review(after)["states"] == ["in_force"]


def test_a_finding_that_shrank_or_stayed_is_still_covered(tmp_path):
    path = _file(tmp_path, _exception(approved_by="ciso", approved_at=TODAY))
    first = _scan(_org(alice_targets=3), path)
    for targets in (3, 1):
        later = _scan(_org(alice_targets=targets), path, carried=first.carried)
        assert by_entry(later)["entra:alice"].status == "excepted", targets


def test_a_higher_severity_alone_is_outgrowth(tmp_path):
    path = _file(tmp_path, _exception())
    first = _scan(_org(), path)
    policy = _severity_policy(tmp_path)
    later = _scan(_org(), path, policy=policy, carried=first.carried)
    finding = by_entry(later)["entra:alice"]
    assert finding.status == "open" and f"severity was {by_entry(first)['entra:alice'].severity}" in \
        finding.exception.reason


def _severity_policy(tmp_path):
    path = tmp_path / "severity.yaml"
    path.write_text("severity:\n  write: critical\n")
    return load_policy(path)


# --- breadth ----------------------------------------------------------------------------------------

def test_a_match_broader_than_the_policy_allows_is_refused(tmp_path):
    analysis = _scan(_org(), _file(tmp_path, _exception("everyone")))
    review = _review(analysis)
    assert review["states"] == ["too_broad"]
    assert "matches 2 findings; the policy allows 1" in review["problems"][0]
    assert {f.status for f in analysis.findings} == {"open"}
    assert {f.exception.state for f in analysis.findings} == {"refused"}


def test_a_broad_match_with_an_approver_is_accepted(tmp_path):
    path = _file(tmp_path, _exception("everyone", broad="true", approved_by="ciso", approved_at=TODAY))
    analysis = _scan(_org(), path)
    assert {f.status for f in analysis.findings} == {"excepted"}
    assert _review(analysis)["states"] == ["in_force"]


def test_a_policy_may_allow_wider_matches(tmp_path):
    analysis = _scan(_org(), _file(tmp_path, _exception("everyone")), policy=_policy(tmp_path, max_findings=2))
    assert {f.status for f in analysis.findings} == {"excepted"}


def test_broad_without_an_approver_is_an_error_with_the_line(tmp_path):
    with pytest.raises(ConfigError, match=r"exceptions.yaml: line 7: exception EX-1 is broad: true without an "
                                          "approver; a broad exception needs approved_by and approved_at"):
        load_exceptions(_file(tmp_path, _exception("everyone", broad="true")))


# --- lifetime ---------------------------------------------------------------------------------------

def test_an_exception_living_longer_than_the_policy_allows_is_refused(tmp_path):
    path = _file(tmp_path, _exception(expires="2099-12-31", created=TODAY))
    analysis = _scan(_org(), path)
    review = _review(analysis)
    assert review["states"] == ["over_lifetime"]
    assert "the policy allows 365 (exceptions.max_lifetime_days)" in review["problems"][0]
    assert by_entry(analysis)["entra:alice"].status == "open"


def test_the_lifetime_counts_from_created_and_the_cap_is_the_policys(tmp_path):
    path = _file(tmp_path, _exception(expires=TODAY + timedelta(days=100), created=TODAY - timedelta(days=100)))
    assert by_entry(_scan(_org(), path))["entra:alice"].status == "excepted"  # 200 days <= 365
    strict = _policy(tmp_path, max_lifetime_days=180)
    assert _review(_scan(_org(), path, policy=strict))["states"] == ["over_lifetime"]


# --- approval ---------------------------------------------------------------------------------------

def test_approval_required_by_policy(tmp_path):
    strict = _policy(tmp_path, require_approval="true")
    unapproved = _scan(_org(), _file(tmp_path, _exception()), policy=strict)
    assert _review(unapproved)["states"] == ["unapproved"]
    assert by_entry(unapproved)["entra:alice"].status == "open"
    approved = _scan(_org(), _file(tmp_path, _exception(approved_by="ciso", approved_at=TODAY)), policy=strict)
    assert by_entry(approved)["entra:alice"].status == "excepted"


def test_approval_not_required_by_default(tmp_path):
    assert by_entry(_scan(_org(), _file(tmp_path, _exception())))["entra:alice"].status == "excepted"


@pytest.mark.parametrize(("fields", "message"), [
    ({"approved_by": "ciso"}, r"line 7: exception EX-1 has approved_by without approved_at"),
    ({"approved_at": "2026-10-01"}, r"line 7: exception EX-1 has approved_at without approved_by"),
    ({"ticket": "SEC-42"}, r"field 'ticket' is a link"),
])
def test_half_an_approval_or_a_ticket_that_is_not_a_link_is_an_error(tmp_path, fields, message):
    with pytest.raises(ConfigError, match=message):
        load_exceptions(_file(tmp_path, _exception(**fields)))


# --- review window and review_by ----------------------------------------------------------------------

def test_an_exception_expiring_within_the_window_is_listed(tmp_path):
    soon = _scan(_org(), _file(tmp_path, _exception(expires=TODAY + timedelta(days=10))))
    assert _review(soon)["states"] == ["in_force", "expiring"]
    assert by_entry(soon)["entra:alice"].status == "excepted"  # still in force
    later = _scan(_org(), _file(tmp_path, _exception(expires=TODAY + timedelta(days=20))))
    assert _review(later)["states"] == ["in_force"]
    wider = _scan(_org(), _file(tmp_path, _exception(expires=TODAY + timedelta(days=20))),
                  policy=_policy(tmp_path, review_window_days=30))
    assert _review(wider)["states"] == ["in_force", "expiring"]


def test_an_exception_past_its_review_date_is_listed(tmp_path):
    due = _scan(_org(), _file(tmp_path, _exception(review_by=TODAY - timedelta(days=1))))
    assert _review(due)["states"] == ["in_force", "review_due"]
    assert _review(due)["problems"] == [f"review was due {TODAY - timedelta(days=1)}: review it and set a new review_by"]
    ahead = _scan(_org(), _file(tmp_path, _exception(review_by=TODAY + timedelta(days=1))))
    assert _review(ahead)["states"] == ["in_force"]


def test_review_by_after_expires_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match=r"line 7: exception EX-1: review_by 2027-03-01 is after expires"):
        load_exceptions(_file(tmp_path, _exception(expires="2027-01-01", review_by="2027-03-01")))


def test_an_expired_exception_is_listed_and_reopens(tmp_path):
    analysis = _scan(_org(), _file(tmp_path, _exception(expires=TODAY - timedelta(days=1))))
    assert _review(analysis)["states"] == ["expired"]
    finding = by_entry(analysis)["entra:alice"]
    assert finding.status == "open" and finding.exception.state == "expired"


# --- the summary and first_seen -------------------------------------------------------------------------

def test_the_summary_counts_exceptions_by_state(tmp_path):
    body = _exception("nobody") + _exception().replace("EX-1", "EX-2")
    analysis = _scan(_org(), _file(tmp_path, body))
    counts = analysis.summary()["exceptions"]
    assert counts["stale"] == 1 and counts["in_force"] == 1 and counts["outgrown"] == 0


def test_first_seen_is_carried_by_finding_id(tmp_path):
    first = _scan(_org(), _file(tmp_path, _exception("nobody")))
    assert by_entry(first)["entra:alice"].first_seen == "2026-11-01T00:00:00Z"
    carried = {**first.carried, "first_seen": {fid: "2026-09-01T00:00:00Z" for fid in first.carried["first_seen"]}}
    later = _scan(_org(), _file(tmp_path, _exception("nobody")), carried=carried)
    assert by_entry(later)["entra:alice"].first_seen == "2026-09-01T00:00:00Z"


def test_a_target_swapped_for_one_of_another_provider_is_outgrowth(tmp_path):
    def org(second: str) -> Org:
        built = Org()
        built.human("entra:alice", mfa=False)
        for target in ("aws:bucket/prod-0", second):
            built.resource(target)
            built.grant("entra:alice", target)
        return built

    path = _file(tmp_path, _exception())
    first = _scan(org("aws:bucket/prod-1"), path)
    assert by_entry(first)["entra:alice"].status == "excepted"
    same_count = _scan(org("k8s:c1/ns/prod/deployments/api"), path, carried=first.carried)
    finding = by_entry(same_count)["entra:alice"]
    assert finding.targets_count == 2 and finding.status == "open"
    assert "new provider among the targets k8s" in finding.exception.reason
