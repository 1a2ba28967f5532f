"""Read the gcloud JSON exports (the `get` half): folder layout -> raw JSON, nothing interpreted.

gcloud output omits the resource an IAM policy belongs to, so the folder layout carries
the ids (docs/collectors/gcp.md):

    organizations/<orgId>/organization.json        gcloud organizations describe (optional)
    organizations/<orgId>/iam-policy.json          gcloud organizations get-iam-policy
    organizations/<orgId>/custom-roles.json        gcloud iam roles describe ... (optional)
    folders/<folderId>/folder.json                 gcloud resource-manager folders describe (optional)
    folders/<folderId>/iam-policy.json             gcloud resource-manager folders get-iam-policy
    <organizations|folders|projects>/<id>/deny-policies.json  gcloud iam policies get ... --kind=denypolicies,
                                                   as a JSON list (optional)
    projects.json                                  gcloud projects list
    projects/<projectId>/iam-policy.json           gcloud projects get-iam-policy
    projects/<projectId>/custom-roles.json         (optional)
    projects/<projectId>/service-accounts.json     gcloud iam service-accounts list
    projects/<projectId>/service-accounts/<email>/keys.json        ... keys list
    projects/<projectId>/service-accounts/<email>/iam-policy.json  ... get-iam-policy
    projects/<projectId>/key-last-authentication.json
                                                   gcloud policy-intelligence query-activity
                                                   --activity-type=serviceAccountKeyLastAuthentication (optional)
    projects/<projectId>/service-account-last-authentication.json
                                                   ... --activity-type=serviceAccountLastAuthentication (optional)
    projects/<projectId>/buckets/<bucket>/iam-policy.json          gcloud storage buckets get-iam-policy (optional)
    projects/<projectId>/workload-identity-pools/<pool>/providers.json
                                                   gcloud iam workload-identity-pools providers list (optional)
    roles/predefined.json                          gcloud iam roles describe, for bound predefined roles (optional;
                                                   the live collector writes it, else the bundled catalogue is used)
    collection.json                                live collection log (denied / failed calls)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collectors.base import Listing, SourceFileError, list_exports, merge_duplicates, read_json
from collectors.gcp.activity import KEY_ACTIVITY_FILE, SA_ACTIVITY_FILE
from graph.records import RecordError

SOURCE = "gcp"
POLICY_FILE = "iam-policy.json"
CUSTOM_ROLES_FILE = "custom-roles.json"
DENY_FILE = "deny-policies.json"


@dataclass
class Loaded:
    """One export file's parsed JSON and where it came from."""

    path: Path
    data: Any

    @property
    def file(self) -> str:
        return str(self.path)


@dataclass
class NodeExport:
    """An organization or folder: its describe output and its IAM policy."""

    id: str
    info: Loaded | None = None
    policy: Loaded | None = None
    custom_roles: Loaded | None = None
    deny: Loaded | None = None


@dataclass
class ServiceAccountExport:
    email: str
    keys: Loaded | None = None
    policy: Loaded | None = None


@dataclass
class ProjectExport:
    id: str
    policy: Loaded | None = None
    service_accounts: Loaded | None = None
    custom_roles: Loaded | None = None
    deny: Loaded | None = None
    accounts: dict[str, ServiceAccountExport] = field(default_factory=dict)
    buckets: dict[str, Loaded] = field(default_factory=dict)
    pool_providers: dict[str, Loaded] = field(default_factory=dict)  # pool id -> providers.json
    key_activity: Loaded | None = None  # key-last-authentication.json (Policy Analyzer)
    account_activity: Loaded | None = None  # service-account-last-authentication.json


@dataclass
class GcpExport:
    """Everything read from one export folder, plus the files that could not be used."""

    folder: Path
    organizations: dict[str, NodeExport] = field(default_factory=dict)
    folders: dict[str, NodeExport] = field(default_factory=dict)
    projects_list: Loaded | None = None
    projects: dict[str, ProjectExport] = field(default_factory=dict)
    predefined_roles: Loaded | None = None
    errors: list[RecordError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # The one walk of the folder: what exists, what was found and could not be read, empty folders.
    listing: Listing | None = None
    readable: set[Path] = field(default_factory=set, repr=False)  # files the folder walk found readable

    def files(self) -> list[str]:
        """Every file that was read successfully, in a stable order."""
        loaded: list[Loaded | None] = [self.projects_list, self.predefined_roles]
        for holder in [*self.organizations.values(), *self.folders.values()]:
            loaded += [holder.info, holder.policy, holder.custom_roles, holder.deny]
        for project in self.projects.values():
            loaded += [project.policy, project.service_accounts, project.custom_roles, project.deny,
                       project.key_activity, project.account_activity]
            for account in project.accounts.values():
                loaded += [account.keys, account.policy]
            loaded += list(project.buckets.values()) + list(project.pool_providers.values())
        return sorted(item.file for item in loaded if item is not None)


# List files whose entries name one object each: a second entry with the same key is a duplicate.
LIST_KEYS = {"projects.json": ("projectId", "project"), "service-accounts.json": ("email", "service account"),
             "keys.json": ("name", "key"), CUSTOM_ROLES_FILE: ("name", "role"),
             "predefined.json": ("name", "role")}


def _merge_listed(loaded: Loaded, export: GcpExport) -> None:
    """Merge duplicate entries of a list file (base.merge_duplicates); each duplicate is an error."""
    key_field, what = LIST_KEYS.get(loaded.path.name, (None, ""))
    if key_field is None or not isinstance(loaded.data, list):
        return
    at = {id(entry): index for index, entry in enumerate(loaded.data)}

    def key(entry: Any) -> str | None:
        value = entry.get(key_field) if isinstance(entry, dict) else None
        return value.lower() if isinstance(value, str) and value else None

    loaded.data = merge_duplicates(loaded.data, key, lambda entry: (loaded.file, f"#{at[id(entry)]}"),
                                   lambda entry: entry, SOURCE, what, export.errors.append, key_field)


def load_file(path: Path, export: GcpExport) -> Loaded | None:
    """Parse one optional file; a broken file becomes an error and the rest still loads. A path the
    folder walk did not find readable is skipped here: the walk's listing already notes it."""
    if export.listing is not None and path not in export.readable:
        return None
    if export.listing is None and not path.is_file():
        return None
    try:
        loaded = Loaded(path, read_json(path, SOURCE))
    except SourceFileError as exc:
        export.errors.append(exc.error)
        return None
    _merge_listed(loaded, export)
    return loaded


def _subdirs(path: Path, export: GcpExport | None = None) -> list[Path]:
    """Sub-folders holding at least one export file (an empty one is noted by the listing, not read)."""
    if export is not None and export.listing is not None:
        empty = set(export.listing.empty)
        return [p for p in export.listing.subfolders(path) if p not in empty]
    return sorted(p for p in path.iterdir() if p.is_dir()) if path.is_dir() else []


def get_node_exports(folder: Path, kind: str, info_file: str, export: GcpExport) -> dict[str, NodeExport]:
    """`organizations/<id>/` or `folders/<id>/` sub-folders."""
    found: dict[str, NodeExport] = {}
    for sub in _subdirs(folder / kind, export):
        found[sub.name] = NodeExport(
            sub.name,
            info=load_file(sub / info_file, export),
            policy=load_file(sub / POLICY_FILE, export),
            custom_roles=load_file(sub / CUSTOM_ROLES_FILE, export),
            deny=load_file(sub / DENY_FILE, export),
        )
    return found


def get_project_export(project_dir: Path, export: GcpExport) -> ProjectExport:
    project = ProjectExport(
        project_dir.name,
        policy=load_file(project_dir / POLICY_FILE, export),
        service_accounts=load_file(project_dir / "service-accounts.json", export),
        custom_roles=load_file(project_dir / CUSTOM_ROLES_FILE, export),
        deny=load_file(project_dir / DENY_FILE, export),
        key_activity=load_file(project_dir / KEY_ACTIVITY_FILE, export),
        account_activity=load_file(project_dir / SA_ACTIVITY_FILE, export),
    )
    for sa_dir in _subdirs(project_dir / "service-accounts", export):
        email = sa_dir.name.lower()
        project.accounts[email] = ServiceAccountExport(
            email,
            keys=load_file(sa_dir / "keys.json", export),
            policy=load_file(sa_dir / POLICY_FILE, export),
        )
    for pool_dir in _subdirs(project_dir / "workload-identity-pools", export):
        loaded = load_file(pool_dir / "providers.json", export)
        if loaded is not None:
            project.pool_providers[pool_dir.name] = loaded
    for bucket_dir in _subdirs(project_dir / "buckets", export):
        loaded = load_file(bucket_dir / POLICY_FILE, export)
        if loaded is not None:
            project.buckets[bucket_dir.name] = loaded
    return project


def load_export(folder: Path) -> GcpExport:
    """Read every file of the documented layout under `folder`, found by one walk (base.list_exports)."""
    export = GcpExport(folder)
    export.listing = list_exports(folder)
    export.readable = set(export.listing.files)
    export.organizations = get_node_exports(folder, "organizations", "organization.json", export)
    export.folders = get_node_exports(folder, "folders", "folder.json", export)
    export.projects_list = load_file(folder / "projects.json", export)
    export.predefined_roles = load_file(folder / "roles" / "predefined.json", export)
    for project_dir in _subdirs(folder / "projects", export):
        export.projects[project_dir.name] = get_project_export(project_dir, export)
    return export
