"""Does interactive sign-in of this user enforce MFA? Derived from Conditional Access policies.

``mfa`` is True only when an *enabled* policy (report-only never counts) that requires MFA
(``builtInControls`` has ``mfa`` or an ``authenticationStrength`` is set, with no alternative
control under ``OR``) applies to the user for all cloud apps with no limiting condition, and
the user is not excluded. A policy that would apply only sometimes (locations, platforms,
client app types, risk levels, device filters, excluded or selected apps, an MFA-or-device
grant) or whose reach cannot be decided from the export (group members or role assignments
not exported) makes the answer unknown (None) unless another policy enforces fully.
``False`` when policies were exported and none enforces. Every answer carries a reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from collectors.entra.directory_roles import SECURITY_DEFAULTS_ADMIN_IDS
from collectors.entra.membership import Memberships

ENFORCES, PARTIAL, UNKNOWN, EXCLUDED, NOT_INCLUDED, NOT_MFA = (
    "enforces", "partial", "unknown", "excluded", "not_included", "not_mfa",
)


@dataclass
class Directory:
    """What the MFA decision needs to know about the directory beyond the user itself."""

    memberships: Memberships
    group_names: dict[str, str] = field(default_factory=dict)
    # principal object id -> role template ids assigned to it (directly)
    principal_roles: dict[str, set[str]] = field(default_factory=dict)
    role_names: dict[str, str] = field(default_factory=dict)  # template id -> display name
    roles_known: bool = True

    def group_name(self, group_id: str) -> str:
        return self.group_names.get(group_id, group_id)

    def roles_of(self, object_id: str) -> dict[str, str]:
        """Role template id -> how the user holds it ("" directly, else the group name)."""
        held: dict[str, str] = {}
        for template in self.principal_roles.get(object_id, ()):
            held[template] = ""
        for group_id in self.memberships.groups_of(object_id):
            for template in self.principal_roles.get(group_id, ()):
                held.setdefault(template, self.group_name(group_id))
        return held


@dataclass(frozen=True)
class Outcome:
    kind: str
    reason: str = ""


@dataclass(frozen=True)
class MfaDecision:
    mfa: bool | None
    reason: str


def _list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


USER_TYPE_UNKNOWN = "userType not exported: guest or member unknown"
_TENANT_UNKNOWN = "guest's home tenant is not in the export"


def guest_kinds(user: dict[str, Any]) -> frozenset[str | None]:
    """The Conditional Access external-user types the user may be (None: an internal member). One type when
    `userType` is exported; without it (or with a value Graph does not define) the user is either, so a
    policy condition on guests cannot be decided for them."""
    external = "#EXT#" in str(user.get("userPrincipalName") or "").upper()
    guest = "b2bCollaborationGuest" if external else "internalGuest"
    member = "b2bCollaborationMember" if external else None
    user_type = str(user.get("userType") or "").lower()
    if user_type == "guest":
        return frozenset({guest})
    if user_type == "member":
        return frozenset({member})
    return frozenset({guest, member})


def _guest_match(spec: Any, user: dict[str, Any]) -> tuple[bool, str]:
    """(matches, why undecidable or "") for includeGuestsOrExternalUsers / excludeGuestsOrExternalUsers."""
    if not isinstance(spec, dict):
        return False, ""
    types = {t.strip() for t in str(spec.get("guestOrExternalUserTypes") or "").split(",") if t.strip()}
    kinds = guest_kinds(user)
    hits = {kind for kind in kinds if kind is not None and kind in types}
    if not hits:
        return False, ""
    if hits != kinds:
        return False, USER_TYPE_UNKNOWN
    tenants = spec.get("externalTenants") or {}
    if isinstance(tenants, dict) and tenants.get("membershipKind") == "enumerated":
        # The export does not say which tenant a guest comes from.
        return False, _TENANT_UNKNOWN
    return True, ""


def _users_match(
    users: dict[str, Any], prefix: str, user: dict[str, Any], directory: Directory
) -> tuple[bool, str, str]:
    """Does the include/exclude side of `users` condition cover the user?

    Returns (matches, how, undecidable_reason)."""
    user_id = str(user.get("id"))
    listed = _list(users.get(f"{prefix}Users"))
    if prefix == "include" and "All" in listed:
        return True, "all users", ""
    if user_id in listed:
        return True, "by name", ""
    undecided = ""
    if "GuestsOrExternalUsers" in listed:
        kinds = guest_kinds(user)
        if None not in kinds:
            return True, "as a guest or external user", ""
        undecided = USER_TYPE_UNKNOWN if len(kinds) > 1 else ""
    matches, undecidable = _guest_match(users.get(f"{prefix}GuestsOrExternalUsers"), user)
    if matches:
        return True, "as a guest or external user", ""
    undecided = undecided or undecidable

    user_groups = directory.memberships.groups_of(user_id)
    for group_id in _list(users.get(f"{prefix}Groups")):
        if group_id in user_groups:
            chain = directory.memberships.path_to(user_id, group_id)
            how = f"via group {directory.group_name(group_id)}"
            if len(chain) > 1:
                how += " (nested: " + " -> ".join(directory.group_name(g) for g in chain) + ")"
            return True, how, ""
        unknown = directory.memberships.unknown_within(group_id)
        if unknown is not None and not undecided:
            undecided = f"members of group {directory.group_name(unknown)} were not exported"

    roles = _list(users.get(f"{prefix}Roles"))
    if roles:
        if not directory.roles_known:
            undecided = undecided or "directory role assignments were not exported"
        else:
            held = directory.roles_of(user_id)
            for template in roles:
                if template in held:
                    how = f"via directory role {directory.role_names.get(template, template)}"
                    if held[template]:
                        how += f" (held through group {held[template]})"
                    return True, how, ""
    return False, "", undecided


def mfa_grant(policy: dict[str, Any]) -> tuple[bool, str]:
    """(requires MFA, alternative that lets a sign-in skip it, or "")."""
    grant = policy.get("grantControls")
    if not isinstance(grant, dict):
        return False, ""
    controls = _list(grant.get("builtInControls"))
    if "block" in controls:
        return False, ""
    strength = grant.get("authenticationStrength")
    if "mfa" not in controls and not strength:
        return False, ""
    if str(grant.get("operator") or "OR").upper() == "AND":
        return True, ""
    # Under OR any other control satisfies the policy on its own, so MFA can be skipped.
    alternatives = [c for c in controls if c != "mfa"]
    if _list(grant.get("termsOfUse")):
        alternatives.append("terms of use")
    if _list(grant.get("customAuthenticationFactors")):
        alternatives.append("custom controls")
    return True, " or ".join(alternatives)


def limiting_conditions(policy: dict[str, Any]) -> list[str]:
    """Conditions under which the policy does NOT cover a sign-in of an included user."""
    conditions = policy.get("conditions") or {}
    found: list[str] = []
    apps = conditions.get("applications") or {}
    include_apps = _list(apps.get("includeApplications"))
    if "All" not in include_apps:
        found.append("only for selected applications")
    if _list(apps.get("excludeApplications")):
        found.append(f"excludes {len(_list(apps.get('excludeApplications')))} application(s)")
    if apps.get("applicationFilter"):
        found.append("application filter")
    locations = conditions.get("locations")
    if isinstance(locations, dict):
        include = _list(locations.get("includeLocations"))
        if include and "All" not in include:
            found.append("only from selected locations")
        if _list(locations.get("excludeLocations")):
            found.append("not from excluded locations (" + ", ".join(_list(locations["excludeLocations"])) + ")")
    platforms = conditions.get("platforms")
    if isinstance(platforms, dict):
        include = [p.lower() for p in _list(platforms.get("includePlatforms"))]
        if include and "all" not in include:
            found.append("only on platforms " + ", ".join(include))
        if _list(platforms.get("excludePlatforms")):
            found.append("not on platforms " + ", ".join(_list(platforms["excludePlatforms"])))
    client_apps = [c.lower() for c in _list(conditions.get("clientAppTypes"))]
    if client_apps and "all" not in client_apps:
        found.append("only for client app types " + ", ".join(client_apps))
    for key, label in (("userRiskLevels", "user risk"), ("signInRiskLevels", "sign-in risk")):
        if _list(conditions.get(key)):
            found.append(f"only at {label} " + ", ".join(_list(conditions[key])))
    if conditions.get("insiderRiskLevels"):
        found.append("only at insider risk " + str(conditions["insiderRiskLevels"]))
    devices = conditions.get("devices")
    if isinstance(devices, dict) and devices.get("deviceFilter"):
        found.append("device filter")
    flows = conditions.get("authenticationFlows")
    if isinstance(flows, dict) and flows.get("transferMethods"):
        found.append("only for authentication flows " + str(flows["transferMethods"]))
    return found


def gates_sign_in(policy: dict[str, Any]) -> bool:
    """Policies that target only user actions (register security info) or authentication
    contexts (step-up inside an app) say nothing about signing in."""
    apps = (policy.get("conditions") or {}).get("applications") or {}
    return bool(_list(apps.get("includeApplications")))


def evaluate_policy(policy: dict[str, Any], user: dict[str, Any], directory: Directory) -> Outcome:
    name = str(policy.get("displayName") or policy.get("id"))
    requires, alternative = mfa_grant(policy)
    if not requires or not gates_sign_in(policy):
        return Outcome(NOT_MFA)
    users = (policy.get("conditions") or {}).get("users") or {}
    excluded, how, exclude_undecided = _users_match(users, "exclude", user, directory)
    if excluded:
        return Outcome(EXCLUDED, f"excluded from '{name}' {how}")
    included, how, include_undecided = _users_match(users, "include", user, directory)
    if not included and not include_undecided:
        return Outcome(NOT_INCLUDED, f"not targeted by '{name}'")
    if include_undecided or exclude_undecided:
        return Outcome(UNKNOWN, f"'{name}' may or may not apply: {include_undecided or exclude_undecided}")
    limits = limiting_conditions(policy)
    if alternative:
        limits.append(f"MFA or {alternative}")
    if limits:
        return Outcome(PARTIAL, f"'{name}' requires MFA only partly: " + "; ".join(limits))
    return Outcome(ENFORCES, f"'{name}' requires MFA for all cloud apps ({how})")


def decide_mfa(
    user: dict[str, Any],
    policies: list[dict[str, Any]] | None,
    directory: Directory,
    security_defaults: dict[str, Any] | None = None,
) -> MfaDecision:
    """The user's `mfa` (True / False / None) and a short reason."""
    if policies is None:
        return MfaDecision(None, "Conditional Access policies were not exported")
    enabled = [p for p in policies if p.get("state") == "enabled"]
    report_only = [p for p in policies if p.get("state") == "enabledForReportingButNotEnforced"]
    report_notes = [
        f"'{p.get('displayName')}' is report-only (not enforced)"
        for p in report_only
        if evaluate_policy(p, user, directory).kind in (ENFORCES, PARTIAL, UNKNOWN)
    ]
    if not enabled:
        decision = _without_policies(user, directory, security_defaults)
        return MfaDecision(decision.mfa, "; ".join([decision.reason, *report_notes]))
    outcomes = sorted(
        (evaluate_policy(p, user, directory) for p in enabled), key=lambda o: o.reason
    )
    for outcome in outcomes:
        if outcome.kind == ENFORCES:
            return MfaDecision(True, outcome.reason)
    doubtful = [o.reason for o in outcomes if o.kind in (PARTIAL, UNKNOWN)]
    if doubtful:
        return MfaDecision(None, "; ".join(doubtful + report_notes))
    exclusions = [o.reason for o in outcomes if o.kind == EXCLUDED]
    reasons = exclusions or ["no enabled Conditional Access policy requiring MFA applies"]
    return MfaDecision(False, "; ".join(reasons + report_notes))


def _without_policies(
    user: dict[str, Any], directory: Directory, security_defaults: dict[str, Any] | None
) -> MfaDecision:
    # Security defaults and Conditional Access exclude each other, so with no enabled
    # policy the security-defaults switch decides.
    if security_defaults is None:
        return MfaDecision(None, "no enabled Conditional Access policy and the security defaults "
                                 "setting was not exported (security defaults may require MFA)")
    if security_defaults.get("isEnabled") is not True:
        return MfaDecision(False, "no enabled Conditional Access policy and security defaults are off")
    held = directory.roles_of(str(user.get("id")))
    admin_roles = [directory.role_names.get(t, t) for t in held if t in SECURITY_DEFAULTS_ADMIN_IDS]
    if admin_roles:
        return MfaDecision(True, "security defaults require MFA at every sign-in for "
                                 + ", ".join(sorted(admin_roles)))
    return MfaDecision(None, "security defaults ask for MFA only when Microsoft deems it necessary")
