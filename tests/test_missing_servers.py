"""The rule for tests whose server is missing (tests/servers.py): a skip naming the command outside CI,
an error under CI=true; and the closing summary that groups the skips by reason."""

from __future__ import annotations

import pytest

from tests.collectors.kube_cluster import require_binaries
from tests.servers import missing, skip_summary, under_ci


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("TRUE", True), ("1", True), ("", False),
                                                 ("false", False), ("0", False)])
def test_ci_is_read_from_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv("CI", value)
    assert under_ci() is expected


def test_a_missing_server_skips_outside_ci_with_the_command(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception) as caught:
        missing("PostgreSQL", "sudo .ci/databases.sh", "not reachable at 127.0.0.1:5432")
    assert str(caught.value) == ("PostgreSQL missing: run `sudo .ci/databases.sh` "
                                 "(not reachable at 127.0.0.1:5432)")


def test_a_missing_server_is_an_error_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception) as caught:
        missing("PostgreSQL", "sudo .ci/databases.sh")
    assert "PostgreSQL missing: run `sudo .ci/databases.sh`" in str(caught.value)
    assert "CI=true" in str(caught.value)


def test_an_empty_kubernetes_cache_skips_outside_ci_and_errors_under_ci(monkeypatch, tmp_path):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        require_binaries(tmp_path)
    assert str(skipped.value).startswith("Kubernetes control plane missing: run `sudo .ci/kubernetes.sh` "
                                         "(no kube-apiserver, kube-controller-manager")
    assert f"{tmp_path}/bin" in str(skipped.value)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        require_binaries(tmp_path)


def test_the_skip_summary_groups_reasons_with_counts_most_frequent_first():
    reasons = ["Skipped: needs a Neo4j 5 server: set NEO4J_URI"] * 3 + [
        "Skipped: Chromium missing: run `sudo .ci/chromium.sh` (no /usr/bin/chromium)",
        "MariaDB missing:   run\n `sudo .ci/databases.sh`", "MariaDB missing: run `sudo .ci/databases.sh`"]
    assert skip_summary(reasons) == [
        "  3 x needs a Neo4j 5 server: set NEO4J_URI",
        "  2 x MariaDB missing: run `sudo .ci/databases.sh`",
        "  1 x Chromium missing: run `sudo .ci/chromium.sh` (no /usr/bin/chromium)",
    ]
    assert skip_summary([]) == []
    assert skip_summary(["x" * 200], limit=20) == ["  1 x " + "x" * 17 + "..."]
