"""IAM deny policies (IAM v2): permissions taken away from principals below an attachment point.

A deny policy attached to an organization, folder or project (`gcloud iam policies get ...
--kind=denypolicies --format=json`, exported as a JSON list to `<node>/deny-policies.json`) applies
to every resource beneath it. Each rule names `deniedPrincipals` (minus `exceptionPrincipals`),
`deniedPermissions` in the v2 form `<service>.googleapis.com/<resource>.<verb>` (minus
`exceptionPermissions`) and an optional `denialCondition`. Crosspath removes the denied permissions
from a grant before classifying its level and its escalation techniques. Not modelled, with a note:
rules with a `denialCondition` (not evaluated: the permission is assumed still granted), and group /
customer-wide principals for members that are not that group (membership is not in IAM exports).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from collectors.base import shape_problem
from collectors.gcp.members import Member
from graph.records import RecordError

SOURCE = "gcp"
PUBLIC = "principalSet://goog/public:all"
# v2 service FQDNs whose v1 permission prefix is not the FQDN's first label
_FQDN_TO_SERVICE = {"cloudresourcemanager.googleapis.com": "resourcemanager"}


@dataclass(frozen=True)
class DenyRule:
    attachment: str  # node id the policy is attached to
    policy: str
    principals: frozenset[str]
    exception_principals: frozenset[str]
    permissions: tuple[str, ...]  # v1 form, may end with `*`
    exception_permissions: tuple[str, ...]
    condition: str = ""


@dataclass
class Denials:
    """Deny rules by attachment node; answers which permissions a member loses where."""

    rules: dict[str, list[DenyRule]] = field(default_factory=dict)

    def add(self, rule: DenyRule) -> None:
        self.rules.setdefault(rule.attachment, []).append(rule)

    def __bool__(self) -> bool:
        return bool(self.rules)

    def denied(self, member: Member, attachments: Iterable[str]) -> tuple[list[DenyRule], list[DenyRule]]:
        """(rules that apply to the member at these attachment points, conditional rules skipped)."""
        names = principal_names(member)
        applied: list[DenyRule] = []
        skipped: list[DenyRule] = []
        for attachment in attachments:
            for rule in self.rules.get(attachment, []):
                if not names & rule.principals or names & rule.exception_principals:
                    continue
                (skipped if rule.condition else applied).append(rule)
        return applied, skipped


def v1_permission(permission: str) -> str:
    """`iam.googleapis.com/serviceAccountKeys.create` -> `iam.serviceAccountKeys.create`."""
    fqdn, sep, rest = permission.partition("/")
    if not sep:
        return permission
    service = _FQDN_TO_SERVICE.get(fqdn, fqdn.removesuffix(".googleapis.com").split(".")[0])
    return f"{service}.{rest}"


def principal_names(member: Member) -> frozenset[str]:
    """The v2 principal identifiers a policy member is known by (plus `public:all`)."""
    names = {PUBLIC}
    if member.type == "user":
        names.add(f"principal://goog/subject/{member.email}")
    elif member.type == "group":
        names.add(f"principalSet://goog/group/{member.email}")
    elif member.type == "serviceAccount":
        names.add(f"principal://iam.googleapis.com/projects/-/serviceAccounts/{member.email}")
    elif member.type == "external":
        names.add(member.raw)
    return frozenset(name.lower() for name in names)


def remove_denied(permissions: Iterable[str], rules: Iterable[DenyRule]) -> tuple[list[str], list[str]]:
    """(permissions left, permissions denied) after the rules."""
    rules = list(rules)
    kept: list[str] = []
    removed: list[str] = []
    for permission in permissions:
        if any(_matches(permission, rule.permissions) and not _matches(permission, rule.exception_permissions)
               for rule in rules):
            removed.append(permission)
        else:
            kept.append(permission)
    return kept, removed


def _matches(permission: str, patterns: Iterable[str]) -> bool:
    return any(fnmatchcase(permission, pattern) for pattern in patterns)


_RULE_SHAPE = {"deniedPrincipals": [str], "exceptionPrincipals": [str], "deniedPermissions": [str],
               "exceptionPermissions": [str], "denialCondition": {"expression": str}}


def parse_deny_policies(data: Any, attachment: str, file: str) -> tuple[list[DenyRule], list[RecordError]]:
    """A JSON list of deny policies (`gcloud iam policies get`) -> rules; a bad rule is reported and skipped."""
    if isinstance(data, dict) and "policies" in data:
        data = data["policies"]
    if not isinstance(data, list):
        return [], [RecordError(SOURCE, file, "", "", "expected a JSON list of deny policies",
                                "export each with `gcloud iam policies get ... --kind=denypolicies "
                                "--format=json` and collect them in a list")]
    rules: list[DenyRule] = []
    errors: list[RecordError] = []
    for index, policy in enumerate(data):
        name = str(policy.get("name", f"#{index}")) if isinstance(policy, dict) else f"#{index}"
        entries = policy.get("rules") if isinstance(policy, dict) else None
        if not isinstance(entries, list):
            errors.append(RecordError(SOURCE, file, name, "rules", "is missing (list output omits rules)",
                                      "export with `gcloud iam policies get`, not `list`"))
            continue
        for number, entry in enumerate(entries):
            rule = entry.get("denyRule") if isinstance(entry, Mapping) else None
            if not isinstance(rule, Mapping) or not isinstance(rule.get("deniedPermissions"), list):
                errors.append(RecordError(SOURCE, file, f"{name} rule #{number}", "denyRule.deniedPermissions",
                                          "is missing or not a list", "re-export the deny policy"))
                continue
            problem = shape_problem(rule, _RULE_SHAPE, "denyRule")
            if problem is not None:
                errors.append(RecordError(SOURCE, file, f"{name} rule #{number}", problem[0], problem[1],
                                          "re-export the deny policy"))
                continue
            condition = rule.get("denialCondition") or {}
            rules.append(DenyRule(
                attachment, name.rsplit("/", 1)[-1],
                frozenset(str(p).lower() for p in rule.get("deniedPrincipals") or []),
                frozenset(str(p).lower() for p in rule.get("exceptionPrincipals") or []),
                tuple(v1_permission(str(p)) for p in rule["deniedPermissions"]),
                tuple(v1_permission(str(p)) for p in rule.get("exceptionPermissions") or []),
                str(condition.get("expression", "")) if isinstance(condition, Mapping) else "",
            ))
    return rules, errors
