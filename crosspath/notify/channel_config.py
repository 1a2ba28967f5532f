"""A channel from one `notifications:` entry of the run config, with its references already resolved.

Resolving `{env: NAME}` / `{file: PATH}` is the run config's job (crosspath/run_config.py); this takes the
plain strings. Errors name the entry's kind and key, never a value.
"""

from __future__ import annotations

from typing import Any

from crosspath.notify.channel import DEFAULT_MAX_FINDINGS, Channel
from crosspath.notify.email_channel import DEFAULT_EMAIL_MAX_FINDINGS, EmailChannel
from crosspath.notify.slack_channel import SlackChannel
from crosspath.notify.teams_channel import TeamsChannel
from crosspath.notify.webhook_channel import WebhookChannel

COMMON_KEYS = {"kind", "teams", "always", "max_findings", "timeout"}
KEYS = {
    "slack": COMMON_KEYS | {"url"},
    "teams": COMMON_KEYS | {"url"},
    "webhook": COMMON_KEYS | {"url", "secret"},
    "email": COMMON_KEYS | {"host", "port", "from", "to", "username", "password", "cafile"},
}
REQUIRED = {"slack": {"url"}, "teams": {"url"}, "webhook": {"url"}, "email": {"host", "from", "to"}}


def channel_from_config(entry: dict[str, Any]) -> Channel:
    kind = entry.get("kind")
    if kind not in KEYS:
        raise ValueError(f"notifications: unknown kind {kind!r} (one of: {', '.join(sorted(KEYS))})")
    unknown = sorted(set(entry) - KEYS[kind])
    if unknown:
        raise ValueError(f"notifications ({kind}): unknown key(s) {', '.join(unknown)}")
    lacking = sorted(key for key in REQUIRED[kind] if not entry.get(key))
    if lacking:
        raise ValueError(f"notifications ({kind}): missing {', '.join(lacking)}")
    teams = entry.get("teams")
    if teams is not None and (not isinstance(teams, list) or not all(isinstance(t, str) for t in teams)):
        raise ValueError(f"notifications ({kind}): teams must be a list of team names")
    common: dict[str, Any] = {"teams": list(teams) if teams else None, "always": bool(entry.get("always", False))}
    if "timeout" in entry:
        common["timeout"] = float(entry["timeout"])
    if kind == "email":
        to = entry["to"]
        return EmailChannel(host=str(entry["host"]), port=int(entry.get("port", 587)), sender=str(entry["from"]),
                            to=[to] if isinstance(to, str) else [str(address) for address in to],
                            username=entry.get("username"), password=entry.get("password"),
                            cafile=entry.get("cafile"),
                            max_findings=int(entry.get("max_findings", DEFAULT_EMAIL_MAX_FINDINGS)), **common)
    max_findings = int(entry.get("max_findings", DEFAULT_MAX_FINDINGS))
    if kind == "slack":
        return SlackChannel(url=str(entry["url"]), max_findings=max_findings, **common)
    if kind == "teams":
        return TeamsChannel(url=str(entry["url"]), max_findings=max_findings, **common)
    return WebhookChannel(url=str(entry["url"]), secret=entry.get("secret"), **common)
