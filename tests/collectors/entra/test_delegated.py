"""OAuth2 delegated permission grants: the client acts as the consenting users, only for write scopes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from collectors.entra import collect_offline
from collectors.entra.delegated import AZURE_SERVICE_MANAGEMENT, MICROSOFT_GRAPH, consent_edges
from crosspath.pipeline import scan

TECHNIQUE = "entra.applications.delegated-consent"
SAMPLE = Path(__file__).resolve().parents[3] / "data" / "samples" / "entra"
USERS = {
    "u1": {"id": "u1", "userPrincipalName": "ann@contoso.com"},
    "adm": {"id": "adm", "userPrincipalName": "adm@contoso.com"},
    "off": {"id": "off", "userPrincipalName": "off@contoso.com", "accountEnabled": False},
}
SPS = {
    "crm": {"id": "crm", "appId": "app-crm", "displayName": "crm-sync"},
    "graph": {"id": "graph", "appId": MICROSOFT_GRAPH, "displayName": "Microsoft Graph"},
    "arm": {"id": "arm", "appId": AZURE_SERVICE_MANAGEMENT, "displayName": "Windows Azure Service Management API"},
    "own-api": {"id": "own-api", "appId": "app-own-api", "displayName": "files-api"},
}


def grant(scope: str, consent: str = "AllPrincipals", principal: str | None = None, resource: str = "graph",
          client: str = "crm") -> dict[str, Any]:
    return {"id": f"g-{consent}-{principal}-{resource}", "clientId": client, "consentType": consent,
            "principalId": principal, "resourceId": resource, "scope": scope}


def drawn(*grants: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["target"]: e for e in consent_edges(list(grants), USERS, SPS, TECHNIQUE)}


def test_admin_consent_of_a_write_scope_acts_as_every_enabled_user() -> None:
    edges = drawn(grant("openid offline_access User.Read Directory.ReadWrite.All"))
    assert set(edges) == {"entra:u1", "entra:adm"}  # a disabled account cannot sign in: no token
    edge = edges["entra:adm"]
    assert (edge["source"], edge["kind"], edge["techniques"]) == ("entra:crm", "CAN_IMPERSONATE", [TECHNIQUE])
    assert edge["scopes"] == ["Directory.ReadWrite.All (Microsoft Graph)"]  # only the scopes that matter
    assert edge["consent_types"] == ["AllPrincipals"] and edge["mfa_required"] is False
    assert edge["via"] == ("delegated permission grant (admin consent for all users) to crm-sync: "
                           "Directory.ReadWrite.All (Microsoft Graph); acts as adm@contoso.com")
    assert "the user's directory rights" in edge["conditions"][0]


@pytest.mark.parametrize("scope", ["User.Read", "openid profile offline_access email", "Directory.Read.All User.Read.All",
                                   "Calendars.ReadWrite", ""])
def test_read_only_or_harmless_scopes_draw_nothing(scope: str) -> None:
    assert drawn(grant(scope)) == {}


def test_one_users_consent_reaches_only_that_user() -> None:
    edges = drawn(grant("Mail.ReadWrite", "Principal", "u1"))
    assert set(edges) == {"entra:u1"}
    assert edges["entra:u1"]["via"].startswith("delegated permission grant (ann@contoso.com's own consent)")
    assert "the user's data (mail, files, sites)" in edges["entra:u1"]["conditions"][0]
    assert drawn(grant("Mail.ReadWrite", "Principal", "someone-not-exported")) == {}


def test_scopes_are_read_per_api() -> None:
    # Azure Resource Manager's user_impersonation is the user's Azure RBAC rights
    arm = drawn(grant("user_impersonation", resource="arm"))
    assert arm["entra:u1"]["scopes"] == ["user_impersonation (Azure Service Management)"]
    assert "Azure RBAC" in arm["entra:u1"]["conditions"][0]
    # a Graph-named scope of some other API is that API's business, not the directory's
    assert drawn(grant("Files.ReadWrite.All", resource="own-api")) == {}
    # an API not exported is read as Microsoft Graph (its scope names are distinctive)
    assert set(drawn(grant("Group.ReadWrite.All", resource="not-exported"))) == {"entra:u1", "entra:adm"}
    # a client that was not exported draws nothing (the collector notes it)
    assert drawn(grant("Directory.ReadWrite.All", client="gone")) == {}


def test_grants_of_one_client_to_one_user_make_one_edge() -> None:
    edges = drawn(grant("User.ReadWrite.All"), grant("Mail.ReadWrite", "Principal", "u1"),
                  grant("user_impersonation", "Principal", "u1", resource="arm"))
    assert len(edges) == 2
    assert edges["entra:u1"]["scopes"] == ["Mail.ReadWrite (Microsoft Graph)", "User.ReadWrite.All (Microsoft Graph)",
                                           "user_impersonation (Azure Service Management)"]
    assert edges["entra:u1"]["consent_types"] == ["AllPrincipals", "Principal"]
    assert len(edges["entra:u1"]["grant_ids"]) == 3
    assert edges["entra:adm"]["scopes"] == ["User.ReadWrite.All (Microsoft Graph)"]


# --- the collector: sample and bad input ------------------------------------------------------------------

BRIGHTDESK_SP = "entra:c3000000-0000-4000-8000-0000000000b5"
INDEXER_SP = "entra:c3000000-0000-4000-8000-0000000000b4"
TOM = "entra:a1000000-0000-4000-8000-000000000004"



def consents(result) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for e in result.edges:
        if TECHNIQUE in e.get("techniques", ()):
            found.setdefault(e["source"], set()).add(e["target"])
    return found


def test_sample_consents() -> None:
    result = collect_offline(SAMPLE)
    found = consents(result)
    # brightdesk-crm-sync: admin consent of Directory.ReadWrite.All -> all 10 users
    assert len(found[BRIGHTDESK_SP]) == 10
    # docs-indexer: admin consent of read scopes only, and tom.baker's own Mail.ReadWrite -> tom only
    assert found[INDEXER_SP] == {TOM}
    assert "oauth2PermissionGrants.json" in result.coverage.files and result.coverage.status == "complete"


def test_bad_grants_are_reported_and_the_others_still_draw(sample: Path) -> None:
    path = sample / "oauth2PermissionGrants.json"
    data = json.loads(path.read_text())
    good = data["value"][0]
    data["value"] += [{**good, "id": "no-client", "clientId": None},
                      {**good, "id": "odd-consent", "consentType": "Everyone"},
                      {**good, "id": "no-user", "consentType": "Principal", "principalId": None},
                      {**good, "id": "unknown-client", "clientId": "c3000000-0000-4000-8000-0000000000ff"}]
    path.write_text(json.dumps(data))
    result = collect_offline(sample)
    assert [(e.record, e.field) for e in result.errors] == [
        ("#3 (no-client)", "clientId"), ("#4 (odd-consent)", "consentType"), ("#5 (no-user)", "principalId")]
    assert all(e.file.endswith("oauth2PermissionGrants.json") for e in result.errors)
    assert result.coverage.status == "partial"
    assert len(consents(result)[BRIGHTDESK_SP]) == 10
    assert any("1 client service principal(s) not in servicePrincipals.json" in n and "0000000000ff" in n
               for n in result.coverage.notes)


def test_missing_grants_file_is_noted_not_partial(sample: Path) -> None:
    (sample / "oauth2PermissionGrants.json").unlink()
    result = collect_offline(sample)
    assert consents(result) == {} and result.coverage.status == "complete"
    assert any(n.startswith("oauth2PermissionGrants.json missing: delegated consents") for n in result.coverage.notes)


# --- end to end: the credential reaches an admin's rights only through a consenting admin ---------------------


def _scan_entra(folder: Path, work: Path) -> dict[str, Any]:
    """Scan an organisation made of this Entra export alone (the sample's collection time)."""
    org = work / "org"
    org.mkdir(parents=True)
    (org / "entra").symlink_to(folder)
    (org / "manifest.json").symlink_to(SAMPLE.parent / "manifest.json")
    result = scan(org, work / "out", formats=())
    return {f.entry["id"]: f for f in result.analysis.findings}


SECRET = "entra:c3000000-0000-4000-8000-000000000005/password/d4000000-0000-4000-8000-000000000005"


def test_old_secret_of_a_consented_app_is_a_finding_only_through_a_privileged_user(sample: Path, tmp_path: Path) -> None:
    found = _scan_entra(sample, tmp_path / "present")
    finding = found[SECRET]
    assert finding.gap_types[0] == "LONG_LIVED_NHI_KEY"
    kinds = [step.kind for step in finding.path]
    assert kinds[:2] == ["AUTHENTICATES", "CAN_IMPERSONATE"] and TECHNIQUE in finding.path[1].techniques
    assert finding.path[1].conditions  # the delegated step is marked conditional
    # the same consent given by tom.baker alone (a user with no privileged rights): no finding
    path = sample / "oauth2PermissionGrants.json"
    data = json.loads(path.read_text())
    data["value"][0].update(consentType="Principal", principalId=TOM.removeprefix("entra:"))
    path.write_text(json.dumps(data))
    assert SECRET not in _scan_entra(sample, tmp_path / "absent")
