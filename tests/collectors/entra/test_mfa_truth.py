"""MFA truth: role exclusions, PIM eligibility vs CA role conditions, registration alone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from collectors.entra import collect_offline
from collectors.entra.conditional_access import Directory, decide_mfa
from collectors.entra.membership import build_memberships

GA = "62e90394-69f5-4237-9190-012177145e10"
PRA = "e8611ab8-c189-46e8-94e1-60213ab1f814"
SAMPLE = Path(__file__).resolve().parents[3] / "data" / "samples" / "entra"
USER = {"id": "u1", "userPrincipalName": "ann@contoso.com", "userType": "Member"}


def baseline(**users: list[str]) -> dict:
    return {
        "id": "p",
        "displayName": "Baseline",
        "state": "enabled",
        "conditions": {
            "clientAppTypes": ["all"],
            "applications": {"includeApplications": ["All"]},
            "users": {"includeUsers": ["All"], **users},
        },
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]},
    }


def directory(roles: dict[str, set[str]]) -> Directory:
    members = {"tier0": [{"@odata.type": "#microsoft.graph.user", "id": "u1"}]}
    return Directory(
        memberships=build_memberships(members, {"tier0"}),
        group_names={"tier0": "Tier0"},
        principal_roles=roles,
        role_names={GA: "Global Administrator"},
    )


def test_exclusion_by_role_held_directly_or_through_a_role_assignable_group() -> None:
    policy = baseline(excludeRoles=[GA])
    direct = decide_mfa(USER, [policy], directory({"u1": {GA}}))
    assert direct.mfa is False and "via directory role Global Administrator" in direct.reason
    through_group = decide_mfa(USER, [policy], directory({"tier0": {GA}}))
    assert through_group.mfa is False and "held through group Tier0" in through_group.reason
    assert decide_mfa(USER, [policy], directory({})).mfa is True  # role removed: enforced again


def test_role_conditions_unknown_without_role_assignments() -> None:
    blind = directory({})
    blind.roles_known = False
    decision = decide_mfa(USER, [baseline(excludeRoles=[GA])], blind)
    assert decision.mfa is None and "role assignments were not exported" in decision.reason


def test_registration_alone_is_not_mfa() -> None:
    users = {n["id"]: n for n in collect_offline(SAMPLE).nodes if n["kind"] == "User"}
    eva = users["entra:a1000000-0000-4000-8000-000000000010"]
    assert eva["mfa_registered"] is True and eva["mfa"] is False
    assert "Contractors" in eva["mfa_reason"]


def test_eligible_role_does_not_count_for_a_role_condition(tmp_path: Path) -> None:
    """Conditional Access role conditions cover active assignments; eva is only eligible for PRA."""
    folder = tmp_path / "entra"
    shutil.copytree(SAMPLE, folder)
    policy = baseline(includeUsers=[], includeRoles=[PRA])
    (folder / "conditionalAccessPolicies.json").write_text(json.dumps({"value": [policy]}))
    users = {n["id"]: n for n in collect_offline(folder).nodes if n["kind"] == "User"}
    assert users["entra:a1000000-0000-4000-8000-000000000010"]["mfa"] is False
