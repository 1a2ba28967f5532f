"""GCP technique cases: the member's permissions over one project, with and without the one that matters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from collectors.gcp.escalation import Scope, escalations
from tests.techniques.cases import Case, Probe, Step

ME = "gcp:user/me@x.com"
SA = "gcp:serviceAccount/a@p1.iam.gserviceaccount.com"
PROJECT = "gcp:projects/p1"
AGENT = "gcp:serviceAccount/111@cloudservices.gserviceaccount.com"
SCOPE = Scope(PROJECT, "project", [SA, "gcp:serviceAccount/b@p1.iam.gserviceaccount.com"],
              {"bucket": ["gcp:buckets/b1"]}, [AGENT])


def _case(permissions: list[str], target: str, *absent: list[str], can_run: bool = False) -> Case:
    return Case(Probe((permissions, can_run), ME, target),
                tuple(Probe((fewer, can_run), ME, target) for fewer in absent))


CASES: dict[str, Case] = {
    "gcp.iam.service-account-token-creator": _case(["iam.serviceAccounts.getAccessToken"], SA,
                                                    ["iam.serviceAccounts.getOpenIdToken", "iam.serviceAccounts.get"]),
    "gcp.iam.act-as-with-compute": Case(Probe((["iam.serviceAccounts.actAs"], True), ME, SA), (
        Probe((["iam.serviceAccounts.actAs"], False), ME, SA),  # no service to run code with
        Probe((["iam.serviceAccounts.get"], True), ME, SA))),
    "gcp.iam.service-account-key-create": _case(["iam.serviceAccountKeys.create"], SA,
                                                 ["iam.serviceAccountKeys.list", "iam.serviceAccountKeys.delete"]),
    "gcp.iam.service-account-set-iam-policy": _case(["iam.serviceAccounts.setIamPolicy"], SA,
                                                     ["iam.serviceAccounts.getIamPolicy"]),
    "gcp.resourcemanager.set-iam-policy": _case(["resourcemanager.projects.setIamPolicy"], PROJECT,
                                                 ["resourcemanager.projects.getIamPolicy"],
                                                 ["storage.buckets.setIamPolicy"]),  # controls buckets only
    "gcp.iam.custom-role-update": _case(["iam.roles.update"], PROJECT, ["iam.roles.get", "iam.roles.list"]),
    "gcp.deploymentmanager.create-deployment": _case(["deploymentmanager.deployments.create"], AGENT,
                                                      ["deploymentmanager.deployments.list"]),
}


def steps(scenario: Any, workdir: Path) -> list[Step]:
    permissions, can_run = scenario
    return [Step(ME, e.target, str(e.technique.edge_kind), (e.technique.id,))
            for e in escalations(ME, permissions, SCOPE, can_run)]
