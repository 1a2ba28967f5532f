"""Reading the AWS export files (the `get` half): find them anywhere under a folder, by content.

Every file is recognised by the keys the CLI prints, not by its name, so an admin can lay the
folder out per account or flat. Each reader returns the native shapes unchanged, merging CLI
pages where a command was paged by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collectors.base import SourceFileError, checked, read_csv, read_json
from graph.records import RecordError

SOURCE = "aws"
AUTH_DETAILS_KEYS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
CREDENTIAL_REPORT_COLUMNS = {"user", "arn", "mfa_active", "password_enabled"}
_ACCOUNT_FOLDER = re.compile(r"^\d{12}$")
AUTH_FIX = "re-run `aws iam get-account-authorization-details --output json` for this account"


@dataclass
class AuthorizationDetails:
    path: Path
    details: dict[str, list[Any]]


@dataclass
class Exports:
    """Every file found, grouped by what it holds."""

    authorization_details: list[AuthorizationDetails] = field(default_factory=list)
    credential_reports: list[tuple[Path, list[dict[str, str]]]] = field(default_factory=list)
    access_keys: list[tuple[Path, list[dict[str, Any]]]] = field(default_factory=list)
    organization_accounts: list[tuple[Path, list[dict[str, Any]]]] = field(default_factory=list)
    organization: list[tuple[Path, dict[str, Any]]] = field(default_factory=list)
    mfa_devices: list[tuple[Path, list[dict[str, Any]]]] = field(default_factory=list)
    resource_policies: list[tuple[Path, list[dict[str, Any]]]] = field(default_factory=list)
    service_control_policies: list[tuple[Path, dict[str, Any]]] = field(default_factory=list)
    instances: list[tuple[Path, list[dict[str, Any]]]] = field(default_factory=list)
    eks_clusters: list[tuple[Path, list[dict[str, Any]]]] = field(default_factory=list)
    # Identity Center: kind -> [(file, items)]
    identity_center: dict[str, list[tuple[Path, list[dict[str, Any]]]]] = field(default_factory=dict)
    ignored: list[Path] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)


# Identity Center outputs: the list key each command prints, or the single-object key.
IDENTITY_CENTER_KEYS = {
    "Instances": "instances",  # aws sso-admin list-instances
    "Groups": "groups",  # aws identitystore list-groups
    "Users": "users",  # aws identitystore list-users
    "GroupMemberships": "memberships",  # aws identitystore list-group-memberships
    "PermissionSet": "permission_sets",  # aws sso-admin describe-permission-set
    "AccountAssignments": "assignments",  # aws sso-admin list-account-assignments
}


def _pages(data: Any) -> list[dict[str, Any]] | None:
    """A CLI output, or a list of them (pages or one output per loop iteration)."""
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list) and data and all(isinstance(item, dict) for item in data):
        return data
    return None


def _merge_lists(pages: list[dict[str, Any]], key: str, path: Path) -> list[Any]:
    merged: list[Any] = []
    for index, page in enumerate(pages):
        value = page.get(key, [])
        if isinstance(value, dict) and key == "PermissionSet":
            value = [value]
        if not isinstance(value, list):
            raise SourceFileError(
                RecordError(SOURCE, str(path), f"page #{index}", key, f"{key} must be a list",
                            "re-export the file with the documented command")
            )
        merged.extend(value)
    return merged


def _authorization_details(pages: list[dict[str, Any]], path: Path) -> AuthorizationDetails:
    details: dict[str, list[Any]] = {}
    for key in AUTH_DETAILS_KEYS:
        merged: list[Any] = []
        for index, page in enumerate(pages):
            value = page.get(key, [])
            if not isinstance(value, list):
                raise SourceFileError(
                    RecordError(SOURCE, str(path), f"page #{index}", key,
                                f"{key} must be a list, got {type(value).__name__}", AUTH_FIX)
                )
            merged.extend(value)
        details[key] = merged
    return AuthorizationDetails(path, details)


def classify(path: Path, data: Any, exports: Exports) -> None:
    pages = _pages(data)
    if pages is None:
        exports.ignored.append(path)
        return
    keys = set().union(*(page.keys() for page in pages))
    for key, target in (("MFADevices", exports.mfa_devices), ("ResourcePolicies", exports.resource_policies),
                        ("Reservations", exports.instances), ("EksClusters", exports.eks_clusters)):
        if key in keys:
            target.append((path, _merge_lists(pages, key, path)))
            return
    if "Organization" in keys:  # aws organizations describe-organization
        exports.organization.append((path, pages[0]["Organization"]))
    elif "ServiceControlPolicyLevels" in keys:
        exports.service_control_policies.append((path, pages[0]))
    elif keys & set(AUTH_DETAILS_KEYS):
        exports.authorization_details.append(_authorization_details(pages, path))
    elif "AccessKeyMetadata" in keys:
        exports.access_keys.append((path, _merge_lists(pages, "AccessKeyMetadata", path)))
    elif "Accounts" in keys:
        exports.organization_accounts.append((path, _merge_lists(pages, "Accounts", path)))
    else:
        for key, kind in IDENTITY_CENTER_KEYS.items():
            if key in keys:
                exports.identity_center.setdefault(kind, []).append((path, _merge_lists(pages, key, path)))
                return
        exports.ignored.append(path)


def read_exports(folder: Path) -> Exports:
    """Load every JSON and CSV file under folder; a bad file becomes an error, not a crash."""
    exports = Exports()
    paths = sorted(p for p in folder.rglob("*") if p.is_file())
    for _ in checked(paths, lambda path: _read_file(path, exports), exports.errors.append):
        pass  # each file is filed under what it holds as it is read
    return exports


def _read_file(path: Path, exports: Exports) -> None:
    suffix = path.suffix.lower()
    if suffix == ".json":
        classify(path, read_json(path, SOURCE), exports)
    elif suffix == ".csv":
        rows = read_csv(path, SOURCE)
        header = set(rows[0].keys()) if rows else _csv_header(path)
        if CREDENTIAL_REPORT_COLUMNS <= header:
            exports.credential_reports.append((path, rows))
        else:
            exports.ignored.append(path)


def _csv_header(path: Path) -> set[str]:
    try:
        first = path.read_text(encoding="utf-8-sig").splitlines()[:1]
    except (OSError, UnicodeDecodeError):
        return set()
    return {cell.strip() for cell in first[0].split(",")} if first else set()


def account_from_path(path: Path, root: Path) -> str | None:
    """A 12-digit folder name between root and the file (the documented layout)."""
    try:
        parts = path.relative_to(root).parts[:-1]
    except ValueError:
        parts = path.parts[:-1]
    for part in reversed(parts):
        if _ACCOUNT_FOLDER.match(part):
            return part
    return None
