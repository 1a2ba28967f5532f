"""Reading Microsoft Graph collection responses saved to files, including paging.

Graph returns every list as ``{"@odata.context": ..., "value": [...], "@odata.nextLink": ...}``
and stops after one page. An export of one collection named ``<stem>`` may therefore be:

* ``<stem>.json`` holding one response page;
* ``<stem>.json`` holding a JSON list of response pages (a script that appended each page);
* ``<stem>.json`` holding a bare JSON list of objects (``az ad user list``, ``ConvertTo-Json``);
* any of those followed by ``<stem>.page2.json``, ``<stem>.page3.json`` ... (one file per page).

The last page must not carry ``@odata.nextLink``; when it does, the export stopped early and
the collection is flagged incomplete.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collectors.base import (
    MISSING,
    SourceFileError,
    checked,
    file_problem,
    json_type,
    merge_duplicates,
    read_json,
    shape_problem,
)
from graph.records import RecordError

SOURCE = "entra"
NEXT_LINK = "@odata.nextLink"
_PAGE_FILE = re.compile(r"^(?P<stem>.+)\.page(?P<number>\d+)\.json$")
_FIX = "re-export it with the request in docs/collectors/entra.md (a Graph collection response)"


# The JSON types of the fields the transforms read, per collection (base.shape_problem; absent or null
# always passes). An object with another type is one error naming file, object and field, and is skipped.
_STRS = [str]
_PIM_RULES = [{"id": str, "enabledRules": _STRS, "isEnabled": bool, "claimValue": str, "setting": dict}]
_PIM_POLICY = {"roleDefinitionId": str, "policy": {"rules": _PIM_RULES},
               "properties": {"roleDefinitionId": str, "scope": str, "effectiveRules": _PIM_RULES}}
_CREDENTIALS = {"passwordCredentials": [dict], "keyCredentials": [dict]}
_ARM_ASSIGNMENT = {"id": str, "name": str, "properties": {
    "principalId": str, "roleDefinitionId": str, "scope": str, "principalType": str, "condition": str,
    "status": str}}
SHAPES: dict[str, dict[str, Any]] = {
    "organization": {"id": str, "displayName": str, "verifiedDomains": [{"name": str, "isDefault": bool}]},
    "users": {"id": str, "userPrincipalName": str, "displayName": str, "mail": str, "accountEnabled": bool,
              "userType": str, "otherMails": _STRS, "identities": [dict], "creationType": str},
    "groups": {"id": str, "displayName": str, "securityEnabled": bool, "isAssignableToRole": bool,
               "groupTypes": _STRS, "membershipRule": str},
    "servicePrincipals": {"id": str, "appId": str, "displayName": str, "appRoles": [dict],
                          "servicePrincipalType": str, "appOwnerOrganizationId": str, "tags": _STRS,
                          "accountEnabled": bool, **_CREDENTIALS},
    "applications": {"id": str, "appId": str, "displayName": str, **_CREDENTIALS},
    "roleDefinitions": {"id": str, "templateId": str, "displayName": str, "isBuiltIn": bool,
                        "rolePermissions": [{"allowedResourceActions": _STRS}]},
    "roleAssignments": {"id": str, "principalId": str, "roleDefinitionId": str, "directoryScopeId": str},
    "roleEligibilitySchedules": {"id": str, "principalId": str, "roleDefinitionId": str,
                                 "directoryScopeId": str, "status": str, "scheduleInfo": dict},
    "userRegistrationDetails": {"id": str, "userPrincipalName": str, "isMfaRegistered": bool,
                                "methodsRegistered": _STRS},
    "conditionalAccessPolicies": {"id": str, "displayName": str, "state": str, "conditions": {
        "users": {"includeUsers": _STRS, "excludeUsers": _STRS, "includeGroups": _STRS,
                  "excludeGroups": _STRS, "includeRoles": _STRS, "excludeRoles": _STRS,
                  "includeGuestsOrExternalUsers": dict, "excludeGuestsOrExternalUsers": dict},
        "applications": {"includeApplications": _STRS, "excludeApplications": _STRS,
                         "includeUserActions": _STRS, "includeAuthenticationContextClassReferences": _STRS},
        "clientAppTypes": _STRS, "platforms": dict, "locations": dict, "devices": dict,
        "authenticationFlows": dict, "signInRiskLevels": _STRS, "userRiskLevels": _STRS},
        "grantControls": {"builtInControls": _STRS, "operator": str, "authenticationStrength": dict,
                          "customAuthenticationFactors": _STRS, "termsOfUse": _STRS},
        "sessionControls": dict},
    "roleManagementPolicyAssignments": _PIM_POLICY,
    "group-members": {"id": str, "@odata.type": str},
    "group-owners": {"id": str, "@odata.type": str},
    "application-owners": {"id": str, "@odata.type": str},
    "servicePrincipal-owners": {"id": str, "@odata.type": str},
    "federatedIdentityCredentials": {"name": str, "issuer": str, "subject": str, "audiences": _STRS},
    "appRoleAssignedTo": {"principalId": str, "appRoleId": str, "principalType": str, "resourceId": str,
                          "resourceDisplayName": str, "principalDisplayName": str},
    "groupEligibilitySchedules": {"principalId": str, "groupId": str, "accessId": str, "status": str},
    "groupPolicyAssignments": _PIM_POLICY,
    "azure/subscriptions": {"subscriptionId": str, "displayName": str, "state": str, "tags": dict},
    "azure/roleAssignments": _ARM_ASSIGNMENT,
    "azure/roleEligibilityScheduleInstances": _ARM_ASSIGNMENT,
    "azure/roleDefinitions": {"name": str, "properties": {"roleName": str, "permissions": [
        {"actions": _STRS, "notActions": _STRS, "dataActions": _STRS, "notDataActions": _STRS}]}},
    "azure/roleManagementPolicyAssignments": _PIM_POLICY,
    "azure/resources": {"id": str, "name": str, "type": str, "identity": {
        "principalId": str, "userAssignedIdentities": dict}},
}


def shape_of(folder: Path, stem: str) -> dict[str, Any] | None:
    """The shape of one collection: by its name, or by its folder for per-object files (azure/ apart)."""
    if folder.name == "azure":
        return SHAPES.get(f"azure/{stem}")
    if folder.parent.name == "azure":
        return SHAPES.get(f"azure/{folder.name}")
    return SHAPES.get(stem) or SHAPES.get(folder.name)


@dataclass
class Item:
    """One object of a collection and the file it came from (for error messages)."""

    file: str
    index: int
    data: dict[str, Any]


@dataclass
class Collection:
    """Everything read for one Graph collection."""

    name: str
    present: bool = False
    items: list[Item] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    incomplete: bool = False  # the last page still had @odata.nextLink

    def objects(self) -> list[dict[str, Any]]:
        return [item.data for item in self.items]


def page_files(folder: Path, stem: str, names: list[str] | None = None) -> list[Path]:
    """``<stem>.json`` then ``<stem>.pageN.json`` in page-number order (page10 after page9).

    ``names``: the folder's file names when the caller already listed it (one listing for a
    folder of thousands of per-group files, instead of one per group)."""
    files: list[tuple[int, Path]] = []
    first = folder / f"{stem}.json"
    if (f"{stem}.json" in names) if names is not None else file_problem(first) != MISSING:
        files.append((1, first))
    if names is None:
        names = [p.name for p in folder.glob(f"{glob_escape(stem)}.page*.json")] if folder.is_dir() else []
    for name in names:
        match = _PAGE_FILE.match(name)
        if match and match.group("stem") == stem and file_problem(folder / name) != MISSING:
            files.append((int(match.group("number")), folder / name))
    # A FIFO, a symbolic-link loop ... is listed here (the collection is present) and not read: the
    # source's folder walk (base.list_exports) notes it and marks the source partial.
    return [path for _, path in sorted(files, key=lambda pair: (pair[0], pair[1].name))]


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def _pages_of(data: Any, path: Path) -> tuple[list[dict[str, Any]], RecordError | None]:
    """Normalise one file's JSON into a list of page objects."""
    if isinstance(data, dict):
        return [data], None
    if isinstance(data, list):
        if all(isinstance(entry, dict) and isinstance(entry.get("value"), list) for entry in data) and data:
            return list(data), None
        if all(isinstance(entry, dict) and "value" not in entry for entry in data):
            # A bare list of objects, as `az ad ... list` prints: one page, nothing to follow.
            return [{"value": data}], None
    return [], RecordError(
        SOURCE, str(path), "", "value",
        "expected a Graph collection response {\"value\": [...]}, a list of such pages "
        f"or a list of objects; got {json_type(data)}", _FIX,
    )


def load_collection(folder: Path, stem: str, names: list[str] | None = None,
                    key: str | None = None) -> Collection:
    """Read every page of one collection; a bad page is reported and the others still load.

    `key`: the field that names each object (`id`); two objects with the same value are a duplicate,
    merged into the first (base.merge_duplicates) and reported."""
    collection = Collection(stem)
    shape = shape_of(folder, stem)
    files = page_files(folder, stem, names)
    collection.present = bool(files)
    last_page: dict[str, Any] | None = None
    collection.files.extend(files)
    readable = [path for path in files if file_problem(path) is None]
    for path, data in checked(readable, lambda path: read_json(path, SOURCE), collection.errors.append):
        pages, error = _pages_of(data, path)
        if error is not None:
            collection.errors.append(error)
            continue
        for page_number, page in enumerate(pages, start=1):
            where = f"page {page_number}" if len(pages) > 1 else ""
            values = page.get("value")
            if not isinstance(values, list):
                collection.errors.append(
                    RecordError(SOURCE, str(path), where, "value",
                                "the page has no 'value' list of objects", _FIX)
                )
                continue
            last_page = page
            for index, value in enumerate(values):
                if not isinstance(value, dict):
                    collection.errors.append(
                        RecordError(SOURCE, str(path), f"{where} #{index}".strip(), "",
                                    f"expected an object, got {type(value).__name__}", _FIX)
                    )
                    continue
                problem = shape_problem(value, shape) if shape else None
                if problem is not None:
                    label = value.get("id") if isinstance(value.get("id"), str) else ""
                    collection.errors.append(
                        RecordError(SOURCE, str(path), f"{where} #{index} {label}".strip(), problem[0],
                                    f"{problem[1]}; object skipped", _FIX))
                    continue
                collection.items.append(Item(str(path), index, value))
    if last_page is not None and last_page.get(NEXT_LINK):
        collection.incomplete = True
    if key is not None:
        collection.items = merge_duplicates(
            collection.items, lambda item: item.data[key] if isinstance(item.data.get(key), str) else None,
            lambda item: (item.file, f"#{item.index}"), lambda item: item.data, SOURCE,
            stem.removesuffix("s"), collection.errors.append, key)
    return collection


def load_keyed_collections(folder: Path) -> dict[str, Collection]:
    """A folder of per-object responses, e.g. ``group-members/<groupId>.json`` (+ page files)."""
    result: dict[str, Collection] = {}
    if not folder.is_dir():
        return result
    by_stem: dict[str, list[str]] = {}
    for path in sorted(folder.glob("*.json")):
        match = _PAGE_FILE.match(path.name)
        by_stem.setdefault(match.group("stem") if match else path.name[: -len(".json")], []).append(path.name)
    for stem in sorted(by_stem):
        result[stem] = load_collection(folder, stem, by_stem[stem])
    return result


def load_object(folder: Path, name: str) -> tuple[dict[str, Any] | None, RecordError | None]:
    """A single-object response such as ``/policies/identitySecurityDefaultsEnforcementPolicy``."""
    path = folder / name
    if file_problem(path) is not None:  # missing, or noted by the source's folder walk
        return None, None
    try:
        data = read_json(path, SOURCE)
    except SourceFileError as exc:
        return None, exc.error
    if not isinstance(data, dict):
        return None, RecordError(SOURCE, str(path), "", "", f"expected a JSON object; got {json_type(data)}",
                                 _FIX)
    return data, None


def relative_name(path: Path, folder: Path) -> str:
    try:
        return path.relative_to(folder).as_posix()
    except ValueError:
        return str(path)
