"""When Entra application secrets and certificates were last used (Microsoft Graph beta reports).

Two optional exports, both ``GET https://graph.microsoft.com/beta/reports/...`` (AuditLog.Read.All;
the tenant needs Entra ID P1/P2, else Graph answers 403):

- ``appCredentialSignInActivities.json``: one row per credential (and accessed resource) with
  ``keyId``, ``appId``, ``credentialOrigin`` (application / servicePrincipal), ``keyType``,
  ``expirationDateTime`` and ``signInActivity.lastSignInDateTime``. ``keyId`` is the secret's or
  certificate's keyId, the last segment of the credential node id (``.../password/<keyId>``), so it
  sets the credential's ``last_used`` (the latest time over its rows).
- ``servicePrincipalSignInActivities.json``: one row per appId with the app's last sign-in per
  flow; ``applicationAuthenticationClientSignInActivity.lastSignInDateTime`` (app-only, the app as
  client: what a client secret or certificate is used for) becomes ``app_last_sign_in`` on each
  credential of that app. It says the *application* signed in, not with which credential, so it
  never sets ``last_used``.

A credential without a row is **not** taken as never used: Microsoft documents the report as
"recent activity" of credentials and nothing about credentials without any, so ``never_used`` is
never set from it and ``last_used`` stays unknown (null).
"""

from __future__ import annotations

import re
from typing import Any

from graph.records import Record
from graph.times import iso, parse_time

APP_CREDENTIAL_ACTIVITY = "appCredentialSignInActivities"
SP_SIGN_IN_ACTIVITY = "servicePrincipalSignInActivities"
CREDENTIAL_KINDS = frozenset({"client_secret", "certificate"})
# Microsoft's own examples carry offsets such as "-8:00"; ISO 8601 wants "-08:00".
_SHORT_OFFSET = re.compile(r"([+-])(\d):(\d\d)$")


def parse_report_time(value: Any) -> str | None:
    """A report timestamp as the records' ISO form; None when absent or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    return iso(parse_time(_SHORT_OFFSET.sub(r"\g<1>0\2:\3", value.strip())))


def _sign_in_time(activity: Any) -> str | None:
    return parse_report_time(activity.get("lastSignInDateTime")) if isinstance(activity, dict) else None


def credential_last_use(rows: list[dict[str, Any]]) -> dict[str, list[tuple[str | None, str | None]]]:
    """keyId -> [(appId, last sign-in time)] for each row of appCredentialSignInActivities."""
    found: dict[str, list[tuple[str | None, str | None]]] = {}
    for row in rows:
        key_id = str(row.get("keyId") or "").lower()
        if key_id:
            found.setdefault(key_id, []).append(
                (str(row.get("appId") or "").lower() or None, _sign_in_time(row.get("signInActivity")))
            )
    return found


def app_client_sign_ins(rows: list[dict[str, Any]]) -> dict[str, str]:
    """appId -> the app's last app-only sign-in as a client (servicePrincipalSignInActivities)."""
    found: dict[str, str] = {}
    for row in rows:
        app_id = str(row.get("appId") or "").lower()
        when = _sign_in_time(row.get("applicationAuthenticationClientSignInActivity"))
        if app_id and when and when > found.get(app_id, ""):
            found[app_id] = when
    return found


def apply_last_use(
    nodes: list[Record],
    credential_rows: list[dict[str, Any]] | None,
    app_rows: list[dict[str, Any]] | None,
) -> tuple[int, int, int]:
    """Set ``last_used`` / ``app_last_sign_in`` on Entra credential nodes (in place).

    ``None`` for a report means it was not collected (nothing is set). Returns (credentials,
    credentials with a per-credential row, credentials with an app-level time)."""
    per_key = credential_last_use(credential_rows) if credential_rows is not None else {}
    per_app = app_client_sign_ins(app_rows) if app_rows is not None else {}
    credentials = matched = app_level = 0
    for record in nodes:
        if record.get("provider") != "entra" or record.get("kind") not in CREDENTIAL_KINDS:
            continue
        credentials += 1
        app_id = str(record.get("app_id") or "").lower() or None
        rows = [
            when
            for row_app, when in per_key.get(str(record.get("key_id") or "").lower(), [])
            if not (row_app and app_id and row_app != app_id)
        ]
        if rows:
            matched += 1
            times = [when for when in rows if when]
            if times:
                record["last_used"] = max(times)
        if app_id and app_id in per_app:
            app_level += 1
            record["app_last_sign_in"] = per_app[app_id]
    return credentials, matched, app_level
