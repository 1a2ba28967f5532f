"""Kubernetes escalation techniques without a server, beyond the present / absent rule that
tests/techniques runs for every technique (its cases: tests/techniques/kubernetes_cases.py)."""

from __future__ import annotations

import base64
import json

import pytest

from collectors import technique_catalogue
from collectors.kubernetes.live import reduce_secret
from tests.techniques.kubernetes_cases import CASES, collect, sa

CATALOGUE = technique_catalogue()


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory):
    return collect(tmp_path_factory.mktemp("k8s"))


@pytest.mark.parametrize("name", sorted(CASES))
def test_technique_edge_is_explained_by_its_binding(result, name):
    """Present / absent for every technique: tests/techniques/test_present_and_absent.py."""
    technique = CATALOGUE[name]
    probe = CASES[name].present
    edges = {(e["source"], e["target"]): e for e in result.edges if e["kind"] == technique.edge_kind}
    edge = edges[(probe.holder, probe.target)]
    assert edge["techniques"][0] == name
    assert edge["mfa_required"] is False and edge["via"].startswith(("Role", "ClusterRole"))


def test_escalate_alone_and_bind_alone_are_not_role_bind(result):
    grants = {e["source"] for e in result.edges if e["kind"] == "CAN_GRANT"}
    assert sa("team-b", "escalator") in grants and sa("team-b", "binding-writer") not in grants


def test_reduce_secret_keeps_only_identifiers():
    key_file = json.dumps({"type": "service_account", "client_email": "x@p.iam.gserviceaccount.com",
                           "private_key_id": "a" * 40, "private_key": "-----BEGIN PRIVATE KEY-----SECRET"})
    raw = {"metadata": {"name": "s", "namespace": "n", "managedFields": [{}],
                        "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{secret}"}},
           "type": "Opaque",
           "data": {k: base64.b64encode(v.encode()).decode() for k, v in {
               "AWS_ACCESS_KEY_ID": "AKIAOLDKEY0000000001", "AWS_SECRET_ACCESS_KEY": "SECRETVALUE",
               "key.json": key_file, "password": "hunter2"}.items()}}
    reduced = reduce_secret(raw)
    text = json.dumps(reduced)
    for value in ("SECRETVALUE", "hunter2", "PRIVATE KEY", "{secret}", "managedFields"):
        assert value not in text
        assert base64.b64encode(value.encode()).decode()[:8] not in text
    assert set(reduced["data"]) == {"AWS_ACCESS_KEY_ID", "key.json"}
    assert base64.b64decode(reduced["data"]["AWS_ACCESS_KEY_ID"]).decode() == "AKIAOLDKEY0000000001"
    assert reduced["data_keys"] == ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "key.json", "password"]
    entra = reduce_secret({"metadata": {"name": "e"}, "type": "Opaque", "data": {
        "AZURE_CLIENT_ID": base64.b64encode(b"6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b").decode(),
        "AZURE_CLIENT_SECRET": base64.b64encode(b"ENTRA-SECRET").decode()}})
    assert entra["data"]["AZURE_CLIENT_SECRET"] == "" and "ENTRA" not in json.dumps(entra)
    assert base64.b64decode(entra["data"]["AZURE_CLIENT_ID"]) == b"6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b"
    token = reduce_secret({"metadata": {"name": "t"}, "type": "kubernetes.io/service-account-token",
                           "data": {"token": "ZXlK"}})
    assert token["data"] == {"token": ""}
