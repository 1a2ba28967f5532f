"""Last authentication of service-account keys and service accounts (Policy Analyzer Activity API).

`gcloud policy-intelligence query-activity --activity-type=serviceAccountKeyLastAuthentication
--project=P --format=json` (or the live collector's pages of
`GET policyanalyzer.googleapis.com/v1/projects/P/locations/global/activityTypes/T/activities:query`)
prints a list of activities:

    {"activityType": "serviceAccountKeyLastAuthentication",
     "fullResourceName": "//iam.googleapis.com/projects/P/serviceAccounts/EMAIL/keys/KEY_ID",
     "observationPeriod": {"startTime": "...T07:00:00Z", "endTime": "...T07:00:00Z"},
     "activity": {"lastAuthenticatedTime": "...T07:00:00Z",
                  "serviceAccountKey": {"fullResourceName": "...", "projectNumber": "...",
                                        "serviceAccountId": "..."}}}

What a row proves (docs/collectors/gcp.md, "Key last use"):
- `lastAuthenticatedTime` present: the key (account) last authenticated on that date (day precision,
  always T07:00:00Z) -> `last_used`.
- row present, `lastAuthenticatedTime` absent: Google omits the field for keys "that have never been used";
  the observation period bounds what was observed. When the period starts no later than the key was
  created the whole life of the key was observed -> `never_used: true`; otherwise only "not used since
  startTime" is known -> `unused_since` (informational; `last_used` stays unknown).
- no row: nothing is proven (the docs do not promise a row per key; disabled keys are left out, and
  authentication outside Google Cloud, e.g. domain-wide delegation, is not tracked) -> unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from collectors.gcp.service_accounts import listed_items
from graph.records import RecordError
from graph.times import iso, parse_time

SOURCE = "gcp"
KEY_ACTIVITY = "serviceAccountKeyLastAuthentication"
SA_ACTIVITY = "serviceAccountLastAuthentication"
KEY_ACTIVITY_FILE = "key-last-authentication.json"
SA_ACTIVITY_FILE = "service-account-last-authentication.json"
FILES = {KEY_ACTIVITY: KEY_ACTIVITY_FILE, SA_ACTIVITY: SA_ACTIVITY_FILE}
SHAPES = ("a JSON list of activities (`gcloud policy-intelligence query-activity --activity-type=T --project=P "
          "--format=json`) or an activities:query response {\"activities\": [...]}")


@dataclass
class Use:
    """What one activity row says about one key / service account."""

    last_used: datetime | None
    observed_from: datetime | None
    observed_until: datetime | None


@dataclass
class Activities:
    keys: dict[str, Use] = field(default_factory=dict)  # key id -> use
    accounts: dict[str, Use] = field(default_factory=dict)  # email, or numeric uniqueId -> use
    errors: list[RecordError] = field(default_factory=list)


def _merge(found: dict[str, Use], ident: str, use: Use) -> None:
    """Several rows for one resource: keep the latest authentication and the widest observation."""
    old = found.get(ident)
    if old is None:
        found[ident] = use
        return
    times = [t for t in (old.last_used, use.last_used) if t is not None]
    starts = [t for t in (old.observed_from, use.observed_from) if t is not None]
    ends = [t for t in (old.observed_until, use.observed_until) if t is not None]
    found[ident] = Use(max(times) if times else None, min(starts) if starts else None, max(ends) if ends else None)


def parse_activities(data: Any, activity_type: str, file: str) -> Activities:
    """One activity export -> key id (or service account) -> Use; a malformed row is an error, the rest load."""
    result = Activities()
    fix = (f"re-export with `gcloud policy-intelligence query-activity --activity-type={activity_type} "
           "--project=P --format=json`")
    items, result.errors = listed_items(data, "activities", SHAPES, fix, file)
    for index, row in enumerate(items or []):
        name = row.get("fullResourceName") if isinstance(row, dict) else None
        where = f"#{index}"
        if not isinstance(name, str) or "/serviceAccounts/" not in name:
            result.errors.append(RecordError(SOURCE, file, where, "fullResourceName",
                                             "is missing or not //iam.googleapis.com/projects/P/serviceAccounts/...",
                                             fix))
            continue
        kind = row.get("activityType")
        if kind not in (None, activity_type):
            result.errors.append(RecordError(SOURCE, file, where, "activityType",
                                             f"expected {activity_type}, got {kind!r}", fix))
            continue
        activity = row.get("activity") if isinstance(row.get("activity"), dict) else {}
        raw_time = activity.get("lastAuthenticatedTime")
        last = parse_time(raw_time)
        if raw_time not in (None, "") and last is None:
            result.errors.append(RecordError(SOURCE, file, where, "activity.lastAuthenticatedTime",
                                             f"is not a timestamp: {raw_time!r}", fix))
            continue
        period = row.get("observationPeriod") if isinstance(row.get("observationPeriod"), dict) else {}
        use = Use(last, parse_time(period.get("startTime")), parse_time(period.get("endTime")))
        account = name.split("/serviceAccounts/", 1)[1]
        if activity_type == KEY_ACTIVITY:
            if "/keys/" not in account:
                result.errors.append(RecordError(SOURCE, file, where, "fullResourceName",
                                                 "names no key (.../serviceAccounts/SA/keys/KEY_ID)", fix))
                continue
            _merge(result.keys, account.rsplit("/keys/", 1)[1], use)
        else:
            _merge(result.accounts, account.split("/", 1)[0].lower(), use)
            details = activity.get("serviceAccount") if isinstance(activity.get("serviceAccount"), dict) else {}
            if details.get("serviceAccountId"):
                _merge(result.accounts, str(details["serviceAccountId"]), use)
    return result


def use_properties(use: Use, created: Any) -> dict[str, Any]:
    """The node properties a row proves (see the module docstring); `created` is the key's creation time."""
    if use.last_used is not None:
        return {"last_used": iso(use.last_used), "last_used_source": "policy_analyzer"}
    born = parse_time(created)
    if use.observed_from is not None and born is not None and use.observed_from <= born:
        return {"never_used": True, "last_used_source": "policy_analyzer"}
    if use.observed_from is not None:
        return {"unused_since": iso(use.observed_from), "last_used_source": "policy_analyzer"}
    return {}
