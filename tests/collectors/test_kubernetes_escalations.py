"""Escalation techniques, one case each (present with the right, absent without), without a server.

The same manifests as the live tests (k8s_manifests/dangerous-rbac.yaml) are turned into a kubectl
List offline; test_kubernetes_live.py proves the same edges on the real API server.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from collectors.kubernetes import collect_offline
from collectors.kubernetes.escalations import TECHNIQUES
from collectors.kubernetes.live import reduce_secret

MANIFESTS = Path(__file__).parent / "k8s_manifests" / "dangerous-rbac.yaml"
C = "k8s:offline"


def _pod(name: str, ns: str, sa: str, automount: bool | None = None, privileged: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {"serviceAccountName": sa, "nodeName": "node-1",
                            "containers": [{"name": "main", "securityContext": {"privileged": privileged}}]}
    if automount is not None:
        spec["automountServiceAccountToken"] = automount
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns}, "spec": spec}


def _as_export(doc: dict[str, Any]) -> dict[str, Any]:
    if doc.get("kind") == "Secret" and "stringData" in doc:  # what the API server stores
        doc = {**doc, "data": {k: base64.b64encode(v.encode()).decode() for k, v in doc.pop("stringData").items()}}
    return doc


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("k8s") / "offline"
    folder.mkdir()
    items = [_as_export(d) for d in yaml.safe_load_all(MANIFESTS.read_text()) if d]
    items += [_pod("web", "team-a", "app"), _pod("privileged-debug", "team-a", "debug", privileged=True),
              _pod("no-token", "team-a", "pod-creator", automount=False), _pod("agent", "kube-system", "legacy-bot")]
    (folder / "rbac.json").write_text(json.dumps({"kind": "List", "items": items}))
    return collect_offline(folder.parent)


def sa(ns: str, name: str) -> str:
    return f"{C}/sa/{ns}/{name}"


# technique -> (subject with the right, target it reaches, subject without the right)
CASES = {
    "impersonate-serviceaccount": (sa("team-b", "impersonator"), sa("team-a", "app"), sa("team-b", "binder")),
    "impersonate-user-group": (f"{C}/user/mallory", f"{C}/user/admin-bob", sa("team-b", "impersonator")),
    "serviceaccount-token": (sa("team-b", "token-minter"), sa("team-a", "app"), sa("team-a", "get-pods-only")),
    "pod-create": (sa("team-a", "pod-creator"), sa("team-a", "debug"), sa("team-a", "get-pods-only")),
    "workload-patch": (sa("team-a", "deploy-patcher"), sa("team-a", "pod-creator"), sa("team-a", "pod-patcher")),
    "pod-patch": (sa("team-a", "pod-patcher"), sa("team-a", "app"), sa("team-a", "get-pods-only")),
    "pod-exec": (sa("team-a", "exec-user"), sa("team-a", "app"), sa("team-a", "get-pods-only")),
    "node-token-steal": (sa("team-a", "debug-exec"), sa("kube-system", "legacy-bot"), sa("team-a", "pod-patcher")),
    "nodes-proxy": (sa("team-b", "node-proxier"), sa("kube-system", "legacy-bot"), sa("team-b", "binder")),
    "secret-read": (sa("team-b", "secret-lister"), "aws:access-key/AKIAOLDKEY0000000001", sa("team-b", "binder")),
    "role-bind": (sa("team-b", "binder"), f"{C}/ns/team-b", sa("team-b", "binding-writer")),
    "csr-approve": (sa("team-b", "csr-approver"), f"{C}/group/system:masters", sa("team-b", "binder")),
}


def test_every_registered_technique_has_a_case():
    assert {t.name for t in TECHNIQUES} == set(CASES)
    assert all(t.description and t.edge for t in TECHNIQUES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_technique_present_with_the_right_absent_without(result, name):
    technique = next(t for t in TECHNIQUES if t.name == name)
    holder, target, other = CASES[name]
    edges = {(e["source"], e["target"]): e for e in result.edges if e["kind"] == technique.edge}
    edge = edges[(holder, target)]
    assert edge["technique"] == name
    assert (other, target) not in edges
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
