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

from collectors.aws.workloads import KIND_OF_KEY, KINDS, items_of
from collectors.base import (
    Listing,
    SourceFileError,
    checked,
    guard,
    list_exports,
    read_bytes,
    read_csv,
    read_json,
    wrong_top_level,
)
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
    # Parallel to each list of `details`: (file, position) of every entry, for error messages.
    where: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def extend(self, other: AuthorizationDetails) -> None:
        """Add a second file's entries (the same account exported twice); duplicates are merged later."""
        for key in AUTH_DETAILS_KEYS:
            self.details.setdefault(key, []).extend(other.details.get(key, []))
            self.where.setdefault(key, []).extend(other.where.get(key, []))

    def positions(self, key: str) -> list[tuple[str, str]]:
        found = self.where.get(key) or []
        entries = self.details.get(key, [])
        if len(found) == len(entries):
            return found
        return [(str(self.path), f"{key}[{index}]") for index in range(len(entries))]


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
    instances: list[tuple[Path, list[dict[str, Any]]]] = field(default_factory=list)  # ec2-instances (Reservations)
    # The workload inventory (collectors.aws.workloads.KINDS): (file, kind, items), ec2-instances included.
    workloads: list[tuple[Path, str, list[Any]]] = field(default_factory=list)
    eks_clusters: list[tuple[Path, list[dict[str, Any]]]] = field(default_factory=list)
    # Identity Center: kind -> [(file, items)]
    identity_center: dict[str, list[tuple[Path, list[dict[str, Any]]]]] = field(default_factory=dict)
    ignored: list[Path] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    listing: Listing | None = None  # the one walk of the folder (base.list_exports)


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
    where: dict[str, list[tuple[str, str]]] = {}
    for key in AUTH_DETAILS_KEYS:
        merged: list[Any] = []
        for index, page in enumerate(pages):
            value = page.get(key, [])
            if value is None:
                value = []
            if not isinstance(value, list):
                raise SourceFileError(
                    RecordError(SOURCE, str(path), f"page #{index}", key,
                                f"{key} must be a list, got {type(value).__name__}", AUTH_FIX)
                )
            merged.extend(value)
            page_label = f"page #{index} " if len(pages) > 1 else ""
            where.setdefault(key, []).extend((str(path), f"{page_label}{key}[{index}]")
                                             for index in range(len(value)))
        details[key] = merged
    return AuthorizationDetails(path, details, where)


# What each documented file name must hold (docs/collectors/aws.md): a file under one of these names
# whose content is not recognised is an error naming the expected shape, never silently ignored.
DOCUMENTED = {
    "authorization-details.json": (
        "a JSON object with UserDetailList, GroupDetailList, RoleDetailList and Policies (or a list of such pages)",
        AUTH_FIX),
    "access-keys.json": ("a JSON object with AccessKeyMetadata (or a list of list-access-keys outputs)",
                         "re-run the list-access-keys loop in docs/collectors/aws.md"),
    "organizations-accounts.json": ("a JSON object with Accounts",
                                    "re-run `aws organizations list-accounts --output json`"),
    "organization.json": ("a JSON object with Organization",
                          "re-run `aws organizations describe-organization --output json`"),
    "mfa-devices.json": ("a JSON object with MFADevices", "re-run `aws iam list-mfa-devices --output json`"),
    "service-control-policies.json": ("a JSON object with ServiceControlPolicyLevels",
                                      "re-run `crosspath collect aws`"),
    "resource-policies.json": ("a JSON object with ResourcePolicies", "re-run `crosspath collect aws`"),
    "eks-clusters.json": ("a JSON object with EksClusters", "re-run `crosspath collect aws`"),
    "credential-report.csv": ("the credential report CSV (columns user, arn, mfa_active, password_enabled ...)",
                              "re-run get-credential-report as in docs/collectors/aws.md"),
    # The workload inventory files (collectors.aws.workloads.KINDS).
    **{k.file: ((f"a JSON list of outputs each holding {k.key}" if k.per_item else f"a JSON object with {k.key}"),
                f"re-run `{k.command}`") for k in KINDS.values()},
}


def _unrecognised(path: Path, data: Any, exports: Exports, got: str | None = None) -> None:
    """A file whose content is no AWS export: an error when its name is a documented one (it was meant to
    hold that export), else ignored (noted, and the source is partial)."""
    documented = DOCUMENTED.get(path.name.lower())
    if documented is not None:
        if got is None and isinstance(data, dict):
            got = "an object with " + (", ".join(sorted(map(str, data))[:6]) or "no keys")
        raise wrong_top_level(path, SOURCE, documented[0], data, documented[1], got)
    exports.ignored.append(path)


def classify(path: Path, data: Any, exports: Exports) -> None:
    empty = _PER_ITEM_FILES.get(path.name.lower())
    if data == [] and empty is not None:  # a per-item inventory with no item: collected, and empty
        exports.workloads.append((path, empty, []))
        return
    pages = _pages(data)
    if pages is None:
        _unrecognised(path, data, exports)
        return
    keys = set().union(*(page.keys() for page in pages))
    for key, target in (("MFADevices", exports.mfa_devices), ("ResourcePolicies", exports.resource_policies),
                        ("EksClusters", exports.eks_clusters)):
        if key in keys:
            target.append((path, _merge_lists(pages, key, path)))
            return
    kind = next((KIND_OF_KEY[key] for key in KIND_OF_KEY if key in keys), None)
    if kind is not None and _workload_file(path, pages, kind, exports):
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
        _unrecognised(path, data, exports)


_PER_ITEM_FILES = {k.file: k.kind for k in KINDS.values() if k.per_item}


def _workload_file(path: Path, pages: list[dict[str, Any]], kind: str, exports: Exports) -> bool:
    """A workload inventory file (collectors.aws.workloads): its items, checked record by record later."""
    spec = KINDS[kind]
    if spec.per_item or spec.wrapped:
        # Per-item describe outputs: every output holds the key (else it is some other export), unless the
        # file has the kind's documented name: then an output without it is that record's error.
        if not all(spec.key in page for page in pages) and path.name.lower() != spec.file:
            return False
    else:
        for index, page in enumerate(pages):
            value = page.get(spec.key)
            if value is not None and not isinstance(value, list):
                raise SourceFileError(RecordError(SOURCE, str(path), f"page #{index}", spec.key,
                                                  f"{spec.key} must be a list, got {type(value).__name__}",
                                                  f"re-run `{spec.command}`"))
        names = items_of(kind, pages)
        if kind == "ecs-cluster" and names and all(isinstance(item, str) for item in names):
            return False  # `aws eks list-clusters` prints cluster names under the same key
    items = items_of(kind, pages)
    exports.workloads.append((path, kind, items))
    if kind == "instance":
        exports.instances.append((path, items))
    return True


def read_exports(folder: Path) -> Exports:
    """Load every JSON and CSV file under folder; a bad file becomes an error, not a crash."""
    exports = Exports()
    exports.listing = list_exports(folder, (".json", ".csv"))
    paths = [p for p in exports.listing.files if p != folder / "collection.json"]
    read = guard(SOURCE, str, lambda path: _read_file(path, exports))
    for _ in checked(paths, read, exports.errors.append):
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
            columns = ", ".join(sorted(header)) or "none"
            _unrecognised(path, None, exports, f"a CSV file with the columns {columns}")


def _csv_header(path: Path) -> set[str]:
    try:
        first = read_bytes(path, SOURCE).decode("utf-8-sig").splitlines()[:1]
    except (SourceFileError, UnicodeDecodeError):
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
