"""Wire the pure transforms over a loaded export: records grouped by the file they came from."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from collectors.gcp.bindings import CONDITION_NOTE, Grant, parse_policy, permission_edges
from collectors.gcp.exports import GcpExport, Loaded
from collectors.gcp.members import identity_node, parse_member
from collectors.gcp.resources import (
    ancestors,
    derive_hierarchy_environment,
    folder_id,
    org_id,
    project_id,
    transform_bare_project,
    transform_bucket,
    transform_folder,
    transform_organization,
    transform_project,
)
from collectors.gcp.roles import WORKLOAD_IDENTITY_USER
from collectors.gcp.service_accounts import (
    sa_node_id,
    transfer_edges,
    transform_keys,
    transform_service_accounts,
)
from graph.records import Record, RecordError

SOURCE = "gcp"

MFA_NOTE = ("GCP users' 2-Step Verification is a Google Workspace / Cloud Identity setting that IAM "
            "exports cannot see: mfa is null (unknown) for every gcp user")
GROUP_NOTE = ("group membership is not in IAM exports (Cloud Identity Groups API): "
              "groups have no MEMBER_OF edges offline")
INHERITANCE_NOTE = ("a binding on an organization or folder applies to every project below it: the edge goes "
                    "to the organization / folder node, which is marked prod when it holds a prod project")
ACT_AS_NOTE = ("roles/owner and roles/editor include iam.serviceAccounts.actAs: their members get CAN_RUN_AS "
               "to every service account of the projects the binding covers (Google-managed service agents "
               "excepted: nobody can sign in as them)")


@dataclass
class Registry:
    """Records per source file; a node seen in several files is merged into its first record."""

    batches: dict[str, tuple[list[Record], list[Record]]] = field(default_factory=dict)
    nodes: dict[str, Record] = field(default_factory=dict)
    _edge_keys: set[tuple[Any, ...]] = field(default_factory=set)

    def _batch(self, file: str) -> tuple[list[Record], list[Record]]:
        return self.batches.setdefault(file, ([], []))

    def node(self, file: str, record: Record) -> Record:
        existing = self.nodes.get(record["id"])
        if existing is None:
            self.nodes[record["id"]] = record
            self._batch(file)[0].append(record)
            return record
        for key, value in record.items():
            current = existing.get(key)
            if isinstance(current, list) and isinstance(value, list):
                existing[key] = current + [item for item in value if item not in current]
            elif (current is None or current == "") and value not in (None, ""):
                existing[key] = value
        return existing

    def edge(self, file: str, record: Record) -> None:
        key = (record["source"], record["target"], record["kind"], record["via"],
               tuple(record.get("conditions", [])))
        if key not in self._edge_keys:
            self._edge_keys.add(key)
            self._batch(file)[1].append(record)


@dataclass
class Transformed:
    registry: Registry = field(default_factory=Registry)
    errors: list[RecordError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


def _custom_roles(loaded: Loaded | None, out: Transformed) -> dict[str, list[str]]:
    """`gcloud iam roles describe` outputs as a JSON list -> role name -> includedPermissions."""
    if loaded is None:
        return {}
    if not isinstance(loaded.data, list):
        out.errors.append(RecordError(SOURCE, loaded.file, "", "", "expected a JSON list of role descriptions",
                                      "see docs/collectors/gcp.md for the describe loop"))
        return {}
    roles: dict[str, list[str]] = {}
    for index, role in enumerate(loaded.data):
        name = role.get("name") if isinstance(role, dict) else None
        permissions = role.get("includedPermissions", []) if isinstance(role, dict) else None
        if not isinstance(name, str) or not isinstance(permissions, list):
            out.errors.append(RecordError(SOURCE, loaded.file, f"#{index}", "name" if not name else
                                          "includedPermissions", "is missing or malformed",
                                          "export with `gcloud iam roles describe` (list omits permissions)"))
            continue
        roles[name] = [str(p) for p in permissions]
    return roles


def _resources(export: GcpExport, out: Transformed) -> dict[str, Record]:
    reg = out.registry
    resources: dict[str, Record] = {}
    for ident, org in export.organizations.items():
        loaded = org.info or org.policy
        record = transform_organization(ident, org.info.data if org.info and isinstance(org.info.data, dict)
                                        else None)
        resources[record["id"]] = reg.node(loaded.file if loaded else str(export.folder), record)
    for ident, folder in export.folders.items():
        loaded = folder.info or folder.policy
        if folder.info is None:
            out.note(f"folders/{ident}: no folder.json, parent unknown (inherited grants stop here)")
        record = transform_folder(ident, folder.info.data if folder.info and isinstance(folder.info.data, dict)
                                  else None)
        resources[record["id"]] = reg.node(loaded.file if loaded else str(export.folder), record)
    listed = export.projects_list
    if listed is not None and not isinstance(listed.data, list):
        out.errors.append(RecordError(SOURCE, listed.file, "", "", "expected a JSON list of projects",
                                      "re-export with `gcloud projects list --format=json`"))
    elif listed is not None:
        for index, info in enumerate(listed.data):
            if not isinstance(info, dict) or not isinstance(info.get("projectId"), str):
                out.errors.append(RecordError(SOURCE, listed.file, f"#{index}", "projectId",
                                              "is missing or not a string", "re-export the project list"))
                continue
            record = reg.node(listed.file, transform_project(info))
            resources[record["id"]] = record
            if str(info.get("lifecycleState") or info.get("state") or "ACTIVE") != "ACTIVE":
                out.note(f"projects/{info['projectId']} is {info.get('lifecycleState') or info.get('state')}")
    else:
        out.note("projects.json missing: project labels, parents and environments unknown")
    for ident, project in export.projects.items():
        if project_id(ident) not in resources:
            loaded = project.policy or project.service_accounts
            out.note(f"projects/{ident} is not in projects.json: labels and parent unknown")
            record = reg.node(loaded.file if loaded else str(export.folder), transform_bare_project(ident))
            resources[record["id"]] = record
    derive_hierarchy_environment(resources)
    for ident, project in export.projects.items():
        for bucket, loaded in project.buckets.items():
            record = reg.node(loaded.file, transform_bucket(bucket, resources[project_id(ident)]))
            resources[record["id"]] = record
    return resources


def _service_accounts(export: GcpExport, out: Transformed, org_scope: str) -> dict[str, list[str]]:
    """Service-account nodes and user-managed keys; returns project node id -> SA node ids."""
    reg = out.registry
    by_project: dict[str, list[str]] = {}
    for ident, project in export.projects.items():
        pid = project_id(ident)
        accounts = by_project.setdefault(pid, [])
        if project.service_accounts is None:
            out.note(f"projects/{ident}: service-accounts.json missing; only accounts named in policies are known")
        else:
            nodes, errors = transform_service_accounts(project.service_accounts.data, ident,
                                                       project.service_accounts.file)
            out.errors.extend(errors)
            for record in nodes:
                reg.node(project.service_accounts.file, record)
                accounts.append(record["id"])
        for email, account in project.accounts.items():
            sa = sa_node_id(email)
            if sa not in accounts:
                file = (account.keys or account.policy).file if (account.keys or account.policy) else ""
                record = identity_node(parse_member(f"serviceAccount:{email}"), org_scope)
                if record is not None and file:
                    record["scope"] = pid
                    reg.node(file, record)
                    accounts.append(sa)
            if account.keys is None:
                out.note(f"serviceAccounts/{email}: keys.json missing; its keys are unknown")
                continue
            keys = transform_keys(email, account.keys.data, pid, account.keys.file)
            out.errors.extend(keys.errors)
            out.counts["user_managed_keys"] += keys.user_managed
            out.counts["system_managed_keys"] += keys.system_managed
            for record in keys.nodes:
                reg.node(account.keys.file, record)
            for record in keys.edges:
                reg.edge(account.keys.file, record)
    return by_project


def _apply_policy(
    out: Transformed,
    loaded: Loaded,
    holder: str,
    holder_label: str,
    resource_kind: str | None,
    targets: list[str],
    scope_note: str,
    custom_roles: dict[str, list[str]],
    org_scope: str,
) -> None:
    """One IAM policy file -> identities, HAS_PERMISSION (resources only) and transfer edges."""
    reg = out.registry
    parsed = parse_policy(loaded.data, holder, holder_label, loaded.file)
    out.errors.extend(parsed.errors)
    for text in parsed.notes:
        out.note(text)
    out.counts["bindings"] += parsed.bindings
    out.counts["conditional_bindings"] += parsed.conditional
    grants: list[Grant] = parsed.grants
    for grant in grants:
        # A WI member on workloadIdentityUser is a K8s SA the Kubernetes collector emits itself.
        if grant.role == WORKLOAD_IDENTITY_USER and grant.member.type == "gke_workload":
            continue
        record = identity_node(grant.member, org_scope)
        if record is not None:
            reg.node(loaded.file, record)
    if resource_kind is not None:
        edges, notes = permission_edges(grants, resource_kind, custom_roles)
        for text in notes:
            out.note(text)
        for record in edges:
            reg.edge(loaded.file, record)
    transfer = transfer_edges(grants, targets, custom_roles, scope_note)
    for text in transfer.notes:
        out.note(text)
    for record in transfer.nodes:
        reg.node(loaded.file, record)
    for record in transfer.edges:
        reg.edge(loaded.file, record)
    for target, subjects in transfer.subjects.items():
        account = reg.nodes.get(target)
        if account is None:
            continue
        account["federated_subjects"] = sorted(set(account.get("federated_subjects", [])) | set(subjects))
        pools = set(account.get("workload_identity_pools", [])) | set(transfer.pools.get(target, []))
        account["workload_identity_pools"] = sorted(pools)


def transform_export(export: GcpExport) -> Transformed:
    out = Transformed()
    org_scope = org_id(next(iter(export.organizations))) if len(export.organizations) == 1 else ""
    custom_roles: dict[str, list[str]] = {}
    for org in export.organizations.values():
        custom_roles.update(_custom_roles(org.custom_roles, out))
    for project in export.projects.values():
        custom_roles.update(_custom_roles(project.custom_roles, out))

    resources = _resources(export, out)
    sas_by_project = _service_accounts(export, out, org_scope)

    def accounts_below(holder: str) -> list[str]:
        return [sa for pid, sas in sorted(sas_by_project.items()) if holder == pid or
                holder in ancestors(pid, resources) for sa in sas]

    for ident, org in export.organizations.items():
        if org.policy is None:
            out.note(f"organizations/{ident}: iam-policy.json missing")
            continue
        _apply_policy(out, org.policy, org_id(ident), f"organizations/{ident}", "organization",
                      accounts_below(org_id(ident)), f"inherited by every service account in "
                      f"organizations/{ident}", custom_roles, org_scope)
    for ident, folder in export.folders.items():
        if folder.policy is None:
            out.note(f"folders/{ident}: iam-policy.json missing")
            continue
        _apply_policy(out, folder.policy, folder_id(ident), f"folders/{ident}", "folder",
                      accounts_below(folder_id(ident)), f"inherited by every service account in folders/{ident}",
                      custom_roles, org_scope)
    for ident, project in export.projects.items():
        pid = project_id(ident)
        if project.policy is None:
            policy_file = str(export.folder / "projects" / ident / "iam-policy.json")
            if not any(error.file == policy_file for error in export.errors):
                out.note(f"projects/{ident}: iam-policy.json missing")
        else:
            _apply_policy(out, project.policy, pid, f"projects/{ident}", "project", sas_by_project.get(pid, []),
                          f"covers every service account of projects/{ident}", custom_roles, org_scope)
        for bucket, loaded in project.buckets.items():
            _apply_policy(out, loaded, f"gcp:buckets/{bucket}", f"buckets/{bucket}", "bucket", [], "",
                          custom_roles, org_scope)
        for email, account in project.accounts.items():
            if account.policy is not None:
                sa = sa_node_id(email)
                _apply_policy(out, account.policy, sa, f"serviceAccounts/{email}", None, [sa], "",
                              custom_roles, org_scope)

    _place_service_agents(out, resources)
    _summarise(export, out, resources)
    return out


def _place_service_agents(out: Transformed, resources: dict[str, Record]) -> None:
    """Service agents are named by project number (`service-<number>@...`): scope them to that project."""
    by_number = {str(r.get("project_number")): ident for ident, r in resources.items()
                 if r["kind"] == "project" and r.get("project_number")}
    for record in out.registry.nodes.values():
        if not record.get("google_managed"):
            continue
        local = record["name"].partition("@")[0]
        number = local.removeprefix("service-")
        if number in by_number:
            record["scope"] = by_number[number]


def _summarise(export: GcpExport, out: Transformed, resources: dict[str, Record]) -> None:
    out.scopes = sorted(ident for ident, record in resources.items()
                        if record["kind"] in ("organization", "folder", "project"))
    nodes = out.registry.nodes.values()
    edges = [record for _, batch in out.registry.batches.values() for record in batch]
    for record in nodes:
        out.counts[f"nodes.{record['kind']}"] += 1
    for record in edges:
        out.counts[f"edges.{record['kind']}"] += 1
    out.counts["service_accounts"] = sum(1 for r in nodes if r["id"].startswith("gcp:serviceAccount/")
                                         and r["family"] == "Identity")
    fixed = [MFA_NOTE]
    if any(r["kind"] == "Group" and r["id"].startswith("gcp:group/") for r in nodes):
        fixed.append(GROUP_NOTE)
    if out.counts["conditional_bindings"]:
        fixed.append(CONDITION_NOTE)
    if out.counts["system_managed_keys"]:
        fixed.append(f"{out.counts['system_managed_keys']} system-managed keys counted but not emitted "
                     "(Google-managed, rotated by Google, never downloadable)")
    if export.organizations or export.folders:
        fixed.append(INHERITANCE_NOTE)
    fixed.append(ACT_AS_NOTE)
    out.notes[:0] = fixed
