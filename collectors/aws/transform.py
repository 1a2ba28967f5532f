"""`aws iam get-account-authorization-details` -> principals and their Identity nodes.

One AccountData per account file; the pure transforms below take the native shapes
(UserDetailList, GroupDetailList, RoleDetailList, Policies) and return records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collectors.aws.exports import AUTH_FIX, SOURCE, AuthorizationDetails
from collectors.aws.policy_documents import AttachedPolicy, Grant, PolicyRef, Statement, parse_statements
from collectors.aws.resources import account_of
from collectors.base import looks_like_service_account, merge_duplicates, shape_problem
from graph.records import Record, RecordError, node
from graph.schema import Family
from graph.times import iso, parse_time


@dataclass
class Principal:
    """An IAM user, group or role with its identity policies, ready for evaluation."""

    arn: str
    name: str
    type: str  # user | group | role
    account: str
    unique_id: str
    raw: dict[str, Any]
    policies: list[AttachedPolicy] = field(default_factory=list)
    trust: list[Statement] = field(default_factory=list)
    grants: list[Grant] = field(default_factory=list)
    human: bool = False
    # A user under a permissions boundary carries its groups' grants itself (capped by the boundary)
    # instead of reaching them through MEMBER_OF, which would bypass the boundary.
    groups_folded: bool = False

    @property
    def node_id(self) -> str:
        return f"aws:{self.arn}"

    @property
    def variables(self) -> dict[str, str]:
        if self.type == "user":
            return {"aws:username": self.name, "aws:userid": self.unique_id}
        return {}


@dataclass
class AccountData:
    account: str
    path: Path
    users: dict[str, Principal] = field(default_factory=dict)
    groups: dict[str, Principal] = field(default_factory=dict)
    roles: dict[str, Principal] = field(default_factory=dict)
    errors: list[RecordError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # managed policy ARN -> (name, statements of its default version)
    managed: dict[str, tuple[str, list[Statement]]] = field(default_factory=dict)
    policy_versions: dict[str, int] = field(default_factory=dict)  # managed policy ARN -> versions kept

    def principals(self) -> list[Principal]:
        return [*self.users.values(), *self.groups.values(), *self.roles.values()]


def tag_map(tags: Any) -> dict[str, str]:
    if not isinstance(tags, list):
        return {}
    return {str(t.get("Key")): str(t.get("Value", "")) for t in tags if isinstance(t, dict) and "Key" in t}


def tag_list(tags: dict[str, str]) -> list[str]:
    return [f"{key}={value}" for key, value in sorted(tags.items())]


def detect_account(details: dict[str, list[Any]], path: Path, folder_account: str | None) -> str | None:
    """The account id, from the first ARN that carries one (AWS managed policies say `aws`)."""
    for key, arn_key in (("UserDetailList", "Arn"), ("RoleDetailList", "Arn"), ("GroupDetailList", "Arn"),
                         ("Policies", "Arn")):
        for item in details.get(key, []):
            if isinstance(item, dict):
                account = account_of(str(item.get(arn_key, "")))
                if account.isdigit() and len(account) == 12:
                    return account
    return folder_account


def _error(path: Path, record: str, field_name: str, message: str, fix: str = AUTH_FIX) -> RecordError:
    return RecordError(SOURCE, str(path), record, field_name, message, fix)


# The JSON types of the fields the transforms read (base.shape_problem); a wrong type rejects the entry
# with its field instead of failing the account.
_POLICY_LIST = [{"PolicyName": str, "PolicyDocument": (dict, str)}]
_ATTACHED = [{"PolicyArn": str, "PolicyName": str}]
_TAGS = [{"Key": str, "Value": str}]
_BOUNDARY = {"PermissionsBoundaryArn": str, "PermissionsBoundaryType": str}
SHAPES: dict[str, dict[str, Any]] = {
    "UserDetailList": {"UserName": str, "Arn": str, "UserId": str, "Path": str, "CreateDate": str,
                       "GroupList": [str], "UserPolicyList": _POLICY_LIST, "AttachedManagedPolicies": _ATTACHED,
                       "Tags": _TAGS, "PermissionsBoundary": _BOUNDARY},
    "GroupDetailList": {"GroupName": str, "Arn": str, "GroupId": str, "Path": str, "CreateDate": str,
                        "GroupPolicyList": _POLICY_LIST, "AttachedManagedPolicies": _ATTACHED},
    "RoleDetailList": {"RoleName": str, "Arn": str, "RoleId": str, "Path": str, "CreateDate": str,
                       "AssumeRolePolicyDocument": (dict, str), "RolePolicyList": _POLICY_LIST,
                       "AttachedManagedPolicies": _ATTACHED, "Tags": _TAGS, "PermissionsBoundary": _BOUNDARY,
                       "RoleLastUsed": {"LastUsedDate": str, "Region": str},
                       "InstanceProfileList": [{"InstanceProfileName": str, "Arn": str}]},
    "Policies": {"PolicyName": str, "Arn": str, "DefaultVersionId": str, "Path": str,
                 "PolicyVersionList": [{"Document": (dict, str), "VersionId": str, "IsDefaultVersion": bool}]},
}


_IAM_ARN = re.compile(r"^arn:[\w-]+:iam::[^:]*:\S+$")


def _entries(auth: AuthorizationDetails, list_key: str, name_key: str, kind: str,
             data: AccountData) -> list[tuple[dict[str, Any], str, str]]:
    """(entry, file, position) of one list with a usable shape, duplicates merged (base.merge_duplicates:
    the first copy's values win, the second fills gaps, policy lists are united: no grant is dropped)."""
    key_field = "Arn" if list_key == "Policies" else name_key  # policies are named by ARN
    usable: list[tuple[dict[str, Any], str, str]] = []
    for entry, (file, at) in zip(auth.details.get(list_key, []), auth.positions(list_key), strict=True):
        problem = shape_problem(entry, SHAPES[list_key])
        if problem is None and isinstance(entry.get("Arn"), str) and not _IAM_ARN.match(entry["Arn"]):
            problem = "Arn", f"not an IAM ARN: {entry['Arn'][:80]!r}"
        if problem is not None:
            name = entry.get(name_key) if isinstance(entry, dict) else None
            label = f"{kind} {name if isinstance(name, str) else at} ({at})"
            data.errors.append(RecordError(SOURCE, file, label, problem[0], problem[1] + "; entry skipped",
                                           AUTH_FIX))
            continue
        usable.append((entry, file, at))
    return merge_duplicates(usable, lambda item: item[0].get(key_field) or None,
                            lambda item: (item[1], item[2]), lambda item: item[0], SOURCE, kind,
                            data.errors.append, key_field)


def _managed_policies(auth: AuthorizationDetails,
                      data: AccountData) -> dict[str, tuple[str, list[Statement]]]:
    """Managed policy ARN -> (name, statements of its default version)."""
    managed: dict[str, tuple[str, list[Statement]]] = {}
    for index, (policy, _, _) in enumerate(_entries(auth, "Policies", "PolicyName", "policy", data)):
        label = f"#{index}"
        if isinstance(policy, dict):  # moto omits PolicyName; the ARN ends with it
            label = str(policy.get("PolicyName") or str(policy.get("Arn", "")).rsplit("/", 1)[-1] or label)
        if not isinstance(policy, dict) or "Arn" not in policy:
            data.errors.append(_error(data.path, f"policy {label}", "Arn", "managed policy without Arn"))
            continue
        versions = policy.get("PolicyVersionList") or []
        default = next((v for v in versions if isinstance(v, dict) and (
            v.get("IsDefaultVersion") or v.get("VersionId") == policy.get("DefaultVersionId"))), None)
        if default is None:
            data.errors.append(_error(data.path, f"policy {label}", "PolicyVersionList",
                                      "no default policy version in the export"))
            continue
        try:
            managed[policy["Arn"]] = (label, parse_statements(default.get("Document")))
            data.policy_versions[policy["Arn"]] = sum(1 for v in versions if isinstance(v, dict))
        except (ValueError, TypeError) as exc:
            data.errors.append(_error(data.path, f"policy {label}", "PolicyVersionList.Document", str(exc)))
    return managed


def _attach(principal: Principal, entry: dict[str, Any], inline_key: str,
            managed: dict[str, tuple[str, list[Statement]]], data: AccountData) -> None:
    for index, inline in enumerate(entry.get(inline_key) or []):
        name = str(inline.get("PolicyName", f"#{index}")) if isinstance(inline, dict) else f"#{index}"
        try:
            statements = parse_statements(inline.get("PolicyDocument") if isinstance(inline, dict) else None)
        except (ValueError, TypeError) as exc:
            data.errors.append(_error(data.path, f"{principal.type} {principal.name}",
                                      f"{inline_key}.{name}.PolicyDocument", str(exc)))
            continue
        principal.policies.append(AttachedPolicy(PolicyRef(name, "inline", principal.name), statements))
    for attached in entry.get("AttachedManagedPolicies") or []:
        arn = str(attached.get("PolicyArn", "")) if isinstance(attached, dict) else ""
        if arn in managed:
            name, statements = managed[arn]
            principal.policies.append(AttachedPolicy(PolicyRef(name, "managed", principal.name, arn), statements))
        else:
            data.notes.append(f"{data.account}: managed policy {arn or attached} attached to {principal.name} "
                              "is missing from the Policies list; not evaluated")


_KINDS = (("UserDetailList", "user", "UserName", "UserId", "UserPolicyList"),
          ("GroupDetailList", "group", "GroupName", "GroupId", "GroupPolicyList"),
          ("RoleDetailList", "role", "RoleName", "RoleId", "RolePolicyList"))


def load_account(auth: AuthorizationDetails, folder_account: str | None) -> AccountData | None:
    """Principals of one account with their policies parsed; bad entries become errors."""
    account = detect_account(auth.details, auth.path, folder_account)
    if account is None:
        return None
    data = AccountData(account, auth.path)
    managed = _managed_policies(auth, data)
    data.managed = managed
    for list_key, kind, name_key, id_key, inline_key in _KINDS:
        target = {"user": data.users, "group": data.groups, "role": data.roles}[kind]
        for entry, file, at in _entries(auth, list_key, name_key, kind, data):
            label = str(entry.get(name_key) or at)
            missing = [k for k in ("Arn", name_key) if not isinstance(entry, dict) or not entry.get(k)]
            if missing:
                data.errors.append(_error(Path(file), f"{kind} {label}", missing[0],
                                          "required field is missing"))
                continue
            principal = Principal(entry["Arn"], entry[name_key], kind, account, str(entry.get(id_key, "")), entry)
            _attach(principal, entry, inline_key, managed, data)
            if kind == "role":
                try:
                    principal.trust = parse_statements(entry.get("AssumeRolePolicyDocument") or {})
                except (ValueError, TypeError) as exc:
                    data.errors.append(_error(auth.path, f"role {label}", "AssumeRolePolicyDocument", str(exc)))
            target[principal.name] = principal
    return data


def _common(principal: Principal) -> dict[str, Any]:
    raw = principal.raw
    return {
        "arn": principal.arn,
        "native_id": principal.unique_id or None,
        "path": raw.get("Path"),
        "created": iso(parse_time(raw.get("CreateDate"))),
        "tags": tag_list(tag_map(raw.get("Tags"))),
        "permissions_boundary": (raw.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
    }


def transform_user(principal: Principal, sign_in: dict[str, Any] | None) -> Record:
    """An IAM user; sign_in holds what the credential report says (MFA device, last use)."""
    tags = tag_map(principal.raw.get("Tags"))
    sign_in = sign_in or {}
    machine = looks_like_service_account(principal.name, tags)
    # A user who signs in only with access keys (no console password) is a machine user,
    # unless its tags say it is a person.
    keys_only = bool(sign_in.get("has_keys")) and sign_in.get("password_enabled") is False
    if not machine and keys_only and not _tagged_human(tags):
        machine = True
    principal.human = not machine
    email = next((v for k, v in tags.items() if k.lower() == "email"), None)
    return node(
        principal.node_id, Family.IDENTITY, "ServiceIdentity" if machine else "User", "aws", principal.name,
        f"aws:account/{principal.account}",
        human=not machine,
        mfa=sign_in.get("mfa") if not machine else None,
        enabled=True,
        last_used=sign_in.get("last_used"),
        email=email,
        console_access=sign_in.get("password_enabled"),
        groups=[str(g) for g in principal.raw.get("GroupList") or []],
        **_common(principal),
    )


def _tagged_human(tags: dict[str, str]) -> bool:
    for key, value in tags.items():
        key_l, value_l = key.lower(), str(value).lower()
        if key_l == "human" and value_l in ("true", "yes", "1"):
            return True
        if key_l in ("type", "identity-type", "identity_type", "kind", "account-type") and value_l in (
                "human", "person", "user", "employee"):
            return True
    return False


def transform_group(principal: Principal) -> Record:
    return node(principal.node_id, Family.IDENTITY, "Group", "aws", principal.name,
                f"aws:account/{principal.account}", human=False, **_common(principal))


def transform_role(principal: Principal, trust_properties: dict[str, Any]) -> Record:
    raw = principal.raw
    last_used = (raw.get("RoleLastUsed") or {}).get("LastUsedDate")
    profiles = [str(p.get("InstanceProfileName")) for p in raw.get("InstanceProfileList") or []
                if isinstance(p, dict)]
    return node(
        principal.node_id, Family.IDENTITY, "Role", "aws", principal.name, f"aws:account/{principal.account}",
        human=False,
        enabled=True,
        last_used=iso(parse_time(last_used)),
        instance_profiles=profiles,
        **trust_properties,
        **_common(principal),
    )


def transform_account(account: str, name: str | None, **properties: Any) -> Record:
    return node(f"aws:account/{account}", Family.RESOURCE, "account", "aws", name or account, "",
                account_id=account, environment="unknown", **properties)
