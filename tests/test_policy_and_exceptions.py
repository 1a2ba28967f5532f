"""Policy files and exceptions: overrides, clear errors with line numbers, expiry."""

from __future__ import annotations

import pytest

from queries.exceptions import load_exceptions
from queries.policy import load_policy
from queries.yaml_files import ConfigError
from tests.graph_helpers import Org, by_entry


def test_default_policy_reads_environment_from_tags_and_name_words():
    policy = load_policy()
    assert policy.environment_of("x", "lumen-prod-invoices", None) == "prod"
    assert policy.environment_of("x", "product-catalog", None) == "unknown"  # a word, not a substring
    assert policy.environment_of("x", "preprod-cache", None) == "nonprod"
    assert policy.environment_of("x", "data", ["env=production"]) == "prod"


def test_user_policy_overrides_defaults(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("name: strict\nrules:\n  max_key_age:\n    max_age_days: 30\n"
                    "environment:\n  prod:\n    ids: ['aws:account/1']\n")
    policy = load_policy(path)
    assert policy.name == "strict" and policy.max_key_age_days == 30
    assert policy.environment_of("aws:account/1", "anything", None) == "prod"
    assert policy.mfa_rule["applies_to"] == "human"  # untouched defaults stay


def test_unknown_policy_field_names_the_file_line_and_allowed_fields(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("name: x\nrules:\n  require_mfa:\n    applys_to: all\n")
    with pytest.raises(ConfigError, match=r"p.yaml: line 4: unknown field 'rules.require_mfa.applys_to'"):
        load_policy(path)


def test_invalid_yaml_gives_the_line_number(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("name: x\nrules:\n  - [unclosed\n")
    with pytest.raises(ConfigError, match=r"p.yaml: invalid YAML at line \d+"):
        load_policy(path)


def test_wrong_type_in_policy_is_explained(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("rules:\n  max_key_age:\n    max_age_days: ninety\n")
    with pytest.raises(ConfigError, match="rules.max_key_age.max_age_days' must be a whole number"):
        load_policy(path)


def _exceptions(tmp_path, body: str):
    path = tmp_path / "exceptions.yaml"
    path.write_text(body)
    return load_exceptions(path)


def _alice_org() -> Org:
    org = Org()
    org.human("entra:alice", mfa=False)
    org.resource("aws:bucket/prod-x")
    org.grant("entra:alice", "aws:bucket/prod-x")
    return org


def test_exception_in_force_marks_the_finding_excepted(tmp_path):
    exceptions = _exceptions(tmp_path, "exceptions:\n  - match: {entry: 'entra:alice', gap_type: NO_MFA}\n"
                                       "    owner: sec\n    justification: test\n    expires: 2027-01-01\n")
    finding = by_entry(_alice_org().analyze(exceptions=exceptions))["entra:alice"]
    assert finding.status == "excepted"
    assert finding.exception.owner == "sec" and finding.exception.expired is False


def test_expired_exception_reopens_the_finding(tmp_path):
    exceptions = _exceptions(tmp_path, "exceptions:\n  - id: EX-1\n    match: {entry: 'entra:*'}\n"
                                       "    owner: sec\n    justification: test\n    expires: 2026-10-31\n")
    analysis = _alice_org().analyze(exceptions=exceptions)
    finding = by_entry(analysis)["entra:alice"]
    assert finding.status == "open"
    assert finding.exception.id == "EX-1" and finding.exception.expired is True
    assert analysis.summary()["open"] == 1


def test_exception_by_finding_id(tmp_path):
    finding_id = _alice_org().analyze().findings[0].id
    exceptions = _exceptions(tmp_path, f"exceptions:\n  - finding: {finding_id}\n    owner: a\n"
                                       "    justification: b\n    expires: 2027-01-01\n")
    assert _alice_org().analyze(exceptions=exceptions).findings[0].status == "excepted"


def test_exception_without_owner_is_an_error_naming_the_entry_and_line(tmp_path):
    with pytest.raises(ConfigError, match=r"exception #1 \(line 2\): field 'owner' is required"):
        _exceptions(tmp_path, "exceptions:\n  - finding: CP-1\n    justification: b\n    expires: 2027-01-01\n")


def test_exception_with_a_bad_date_or_gap_type_is_explained(tmp_path):
    with pytest.raises(ConfigError, match="'expires' must be a date"):
        _exceptions(tmp_path, "exceptions:\n  - finding: CP-1\n    owner: a\n    justification: b\n"
                              "    expires: soon\n")
    with pytest.raises(ConfigError, match="match.gap_type' must be one of"):
        _exceptions(tmp_path, "exceptions:\n  - match: {gap_type: NO_PASSWORD}\n    owner: a\n"
                              "    justification: b\n    expires: 2027-01-01\n")
