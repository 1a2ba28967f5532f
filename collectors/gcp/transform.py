"""Wire the pure transforms over a loaded export: records grouped by the file they came from."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from collectors.gcp.activity import (
    KEY_ACTIVITY,
    KEY_ACTIVITY_FILE,
    SA_ACTIVITY,
    parse_activities,
    use_properties,
)
from collectors.gcp.bindings import CONDITION_NOTE, Grant, parse_policy, permission_edges
from collectors.gcp.deny import Denials, parse_deny_policies, remove_denied
from collectors.gcp.escalation import Scope
from collectors.gcp.exports import GcpExport, Loaded
from collectors.gcp.federation import PoolProvider, external_identity, parse_provider, resolve_member
from collectors.gcp.members import Member, identity_node, parse_member
from collectors.gcp.resources import (
    ancestors,
    bucket_id,
    folder_id,
    org_id,
    project_id,
    transform_bare_project,
    transform_bucket,
    transform_folder,
    transform_organization,
    transform_project,
)
from collectors.gcp.role_catalogue import RoleFormatError, inactive_roles, parse_roles
from collectors.gcp.roles import role_permissions
from collectors.gcp.service_accounts import (
    can_run_code,
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
BASIC_ACT_AS_ROLES = frozenset({"roles/owner", "roles/editor"})
ACT_AS_TECHNIQUE = "gcp.iam.act-as-with-compute"
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
    inactive_example: str | None = None  # one binding to a disabled / deleted custom role, for the note
    basic_role_act_as: bool = False  # some owner / editor binding drew a CAN_RUN_AS (ACT_AS_NOTE)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


def _custom_roles(loaded: Loaded | None, out: Transformed) -> dict[str, list[str]]:
    """Role descriptions (custom-roles.json, roles/predefined.json) -> role name -> includedPermissions."""
    if loaded is None:
        return {}
    fix = "export with `gcloud iam roles describe` (or roles.get / roles.list with view=FULL)"
    try:
        roles, problems = parse_roles(loaded.data)
    except RoleFormatError as exc:
        out.errors.append(RecordError(SOURCE, loaded.file, "", "", str(exc), fix))
        return {}
    for problem in problems:
        out.errors.append(RecordError(SOURCE, loaded.file, problem.record, problem.field, problem.message, fix))
    return roles


def _inactive_roles(export: GcpExport) -> dict[str, str]:
    """Custom roles (org / project custom-roles.json) that are disabled or deleted -> why."""
    found: dict[str, str] = {}
    for holder in [*export.organizations.values(), *export.projects.values()]:
        if holder.custom_roles is None:
            continue
        try:
            found.update(inactive_roles(holder.custom_roles.data))
        except RoleFormatError:
            continue  # reported by _custom_roles
    return found


def _drop_inactive(grants: list[Grant], binding_roles: list[str], inactive: dict[str, str], job: PolicyJob,
                   out: Transformed) -> list[Grant]:
    """A binding to a disabled or deleted custom role grants nothing: no HAS_PERMISSION, no escalation edge."""
    named = [role for role in binding_roles if role in inactive]
    if not named:
        return grants
    out.counts["skipped.inactive_role_bindings"] += len(named)
    if out.inactive_example is None:
        out.inactive_example = f"{named[0]} on {job.label} ({inactive[named[0]]})"
    return [grant for grant in grants if grant.role not in inactive]


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
    for ident, record in sorted(resources.items()):
        parent = record["scope"]
        if record["kind"] in ("project", "folder") and parent and parent not in resources:
            out.note(f"{ident.removeprefix('gcp:')}: parent {parent.removeprefix('gcp:')} not exported; "
                     "bindings inherited from it (and above) are unknown")
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
            out.counts["read.user_managed_keys"] += keys.user_managed
            out.counts["skipped.system_managed_keys"] += keys.system_managed
            for record in keys.nodes:
                reg.node(account.keys.file, record)
            for record in keys.edges:
                reg.edge(account.keys.file, record)
    return by_project


KEY_USE_NOTE = ("key last use not collected for {projects} (no {file}): last_used of their service-account keys "
                "is unknown, so an unused key is still advised 'rotate' (docs/collectors/gcp.md, Key last use)")


def _last_use(export: GcpExport, out: Transformed) -> None:
    """Policy Analyzer last-authentication exports -> `last_used` / `never_used` on key and account nodes.

    A key with no activity row stays unknown: the docs do not promise a row for every key."""
    reg = out.registry
    keys = {r["key_id"]: r for r in reg.nodes.values() if r["kind"] == "sa_key" and r["provider"] == "gcp"}
    accounts = {r["id"]: r for r in reg.nodes.values() if r["kind"] == "ServiceIdentity"
                and r["provider"] == "gcp"}
    by_unique = {str(r["unique_id"]): r for r in accounts.values() if r.get("unique_id")}
    not_collected: list[str] = []
    for ident, project in export.projects.items():
        pid = project_id(ident)
        project_keys = [r for r in keys.values() if r["scope"] == pid]
        if project.key_activity is None:
            if project_keys:
                not_collected.append(f"projects/{ident}")
        else:
            found = parse_activities(project.key_activity.data, KEY_ACTIVITY, project.key_activity.file)
            out.errors.extend(found.errors)
            for key_id, use in found.keys.items():
                record = keys.get(key_id)
                if record is None:  # a deleted, system-managed or other project's key
                    out.counts["skipped.key_activity_unmatched"] += 1
                    continue
                record.update(use_properties(use, record.get("created")))
                out.counts["read.key_last_authentications"] += 1
            unseen = [r for r in project_keys if r["key_id"] not in found.keys]
            if unseen:
                out.note(f"projects/{ident}: {len(unseen)} user-managed key(s) have no row in {KEY_ACTIVITY_FILE} "
                         f"(e.g. {unseen[0]['name']}): their last use is unknown, not 'never'")
        if project.account_activity is not None:
            found = parse_activities(project.account_activity.data, SA_ACTIVITY, project.account_activity.file)
            out.errors.extend(found.errors)
            for name, use in found.accounts.items():
                record = accounts.get(sa_node_id(name)) if "@" in name else by_unique.get(name)
                if record is not None and record.get("last_used") is None:
                    record.update({k: v for k, v in use_properties(use, None).items() if k != "unused_since"})
    if not_collected:
        out.note(KEY_USE_NOTE.format(projects=", ".join(not_collected), file=KEY_ACTIVITY_FILE))


@dataclass
class PolicyJob:
    """One IAM policy file, what holds it and what its bindings cover."""

    loaded: Loaded
    label: str  # e.g. projects/lumen-data-prod
    resource_kind: str | None  # None for a service account's own policy (not a resource)
    scope: Scope
    scope_note: str = ""
    attachments: list[str] = field(default_factory=list)  # nodes whose deny policies apply here


def _policy_jobs(export: GcpExport, out: Transformed, resources: dict[str, Record],
                 sas_by_project: dict[str, list[str]]) -> list[PolicyJob]:
    """Every readable policy with its scope: inheritance is resolved here, once."""
    below: dict[str, dict[str, list[str]]] = {}
    for ident, record in sorted(resources.items()):
        for parent in ancestors(ident, resources):
            below.setdefault(parent, {}).setdefault(record["kind"], []).append(ident)
    agents = {ident: f"gcp:serviceAccount/{record['project_number']}@cloudservices.gserviceaccount.com"
              for ident, record in resources.items() if record["kind"] == "project" and record.get("project_number")}

    def covered(holder: str, kind: str, note: str) -> Scope:
        nodes = below.get(holder, {})
        projects = [holder] if kind == "project" else nodes.get("project", [])
        accounts = [sa for pid in sorted(projects) for sa in sas_by_project.get(pid, [])]
        return Scope(holder, kind, accounts, nodes, [agents[pid] for pid in projects if pid in agents])

    def chain(node_id: str) -> list[str]:
        return [node_id, *ancestors(node_id, resources)]

    jobs: list[PolicyJob] = []
    for kind, holders, make_id in (("organization", export.organizations, org_id),
                                   ("folder", export.folders, folder_id)):
        for ident, holder in holders.items():
            label = f"{kind}s/{ident}"
            if holder.policy is None:
                out.note(f"{label}: iam-policy.json missing")
                continue
            jobs.append(PolicyJob(holder.policy, label, kind, covered(make_id(ident), kind, label),
                                  f"inherited by every service account in {label}", chain(make_id(ident))))
    for ident, project in export.projects.items():
        pid = project_id(ident)
        if project.policy is None:
            policy_file = str(export.folder / "projects" / ident / "iam-policy.json")
            if not any(error.file == policy_file for error in export.errors):
                out.note(f"projects/{ident}: iam-policy.json missing")
        else:
            jobs.append(PolicyJob(project.policy, f"projects/{ident}", "project", covered(pid, "project", ""),
                                  f"covers every service account of projects/{ident}", chain(pid)))
        for bucket, loaded in project.buckets.items():
            jobs.append(PolicyJob(loaded, f"buckets/{bucket}", "bucket", Scope(bucket_id(bucket), "bucket"),
                                  attachments=chain(pid)))
        for email, account in project.accounts.items():
            if account.policy is not None:
                sa = sa_node_id(email)
                jobs.append(PolicyJob(account.policy, f"serviceAccounts/{email}", None,
                                      Scope(sa, "serviceAccount", [sa]), attachments=chain(pid)))
    return jobs


def _apply_policy(out: Transformed, job: PolicyJob, grants: list[Grant], known_roles: dict[str, list[str]],
                  run_grants: dict[str, Grant], org_scope: str) -> None:
    """One parsed IAM policy -> identities, HAS_PERMISSION (resources only) and escalation edges."""
    reg = out.registry
    file = job.loaded.file
    for grant in grants:
        # GKE workload members are Kubernetes service accounts: the Kubernetes collector emits the
        # node and carries `gcp:workloadIdentity/...` as an alias, so edges from that id join it.
        # Federated pool members were resolved (and their nodes emitted) by _federated_grants.
        if grant.member.type in ("gke_workload", "external"):
            continue
        record = identity_node(grant.member, org_scope)
        if record is not None:
            reg.node(file, record)
    if job.resource_kind is not None:
        edges, notes = permission_edges(grants, job.resource_kind, known_roles)
        for text in notes:
            out.note(text)
        for record in edges:
            reg.edge(file, record)
    transfer = transfer_edges(grants, job.scope, known_roles, run_grants, job.scope_note)
    for text in transfer.notes:
        out.note(text)
    for record in transfer.nodes:
        reg.node(file, record)
    for record in transfer.edges:
        for technique_id in record.get("techniques", ()):
            out.counts[f"escalation.{technique_id}"] += 1
        if ACT_AS_TECHNIQUE in record.get("techniques", ()) and record.get("role") in BASIC_ACT_AS_ROLES:
            out.basic_role_act_as = True
        reg.edge(file, record)
    for target, subjects in transfer.subjects.items():
        account = reg.nodes.get(target)
        if account is None:
            continue
        account["federated_subjects"] = sorted(set(account.get("federated_subjects", [])) | set(subjects))
        pools = set(account.get("workload_identity_pools", [])) | set(transfer.pools.get(target, []))
        account["workload_identity_pools"] = sorted(pools)


def _pool_providers(export: GcpExport, resources: dict[str, Record],
                    out: Transformed) -> dict[tuple[str, str], list[PoolProvider]]:
    """(project number, pool id) -> providers, from each project's providers.json."""
    providers: dict[tuple[str, str], list[PoolProvider]] = {}
    for ident, project in export.projects.items():
        number = str(resources.get(project_id(ident), {}).get("project_number") or "")
        for pool, loaded in project.pool_providers.items():
            if not isinstance(loaded.data, list):
                out.errors.append(RecordError(SOURCE, loaded.file, "", "", "expected a JSON list of providers",
                                              "re-export with `gcloud iam workload-identity-pools providers "
                                              "list --format=json`"))
                continue
            if not number:
                out.note(f"projects/{ident}: project number unknown, pool {pool}'s members cannot be matched")
            parsed = [parse_provider(pool, p) for p in loaded.data if isinstance(p, dict)]
            providers[(number, pool)] = parsed
            out.counts["read.workload_identity_providers"] += len(parsed)
    return providers


def _federated_grants(grants: list[Grant], providers: dict[tuple[str, str], list[PoolProvider]],
                      out: Transformed, file: str) -> list[Grant]:
    """Replace each workload-identity-pool member by the identities its providers map it to."""
    expanded: list[Grant] = []
    for grant in grants:
        if grant.member.type != "external":
            expanded.append(grant)
            continue
        resolved = resolve_member(grant.member.raw, providers)
        if resolved is None:  # workforce pools and other principal forms: one external identity
            out.registry.node(file, external_identity(grant.member.raw))
            expanded.append(grant)
            continue
        if resolved.note:
            out.note(resolved.note)
        for record in resolved.nodes:
            out.registry.node(file, record)
        for ident in resolved.ids:
            member = Member(grant.member.raw, "external", ident)
            expanded.append(Grant(member, grant.role, grant.holder, grant.holder_label, grant.conditions,
                                  bounds=grant.bounds))
    return expanded


def _denials(export: GcpExport, out: Transformed) -> Denials:
    denials = Denials()
    holders = [(org_id(i), h) for i, h in export.organizations.items()]
    holders += [(folder_id(i), h) for i, h in export.folders.items()]
    holders += [(project_id(i), p) for i, p in export.projects.items()]
    for node_id, holder in holders:
        if holder.deny is None:
            continue
        rules, errors = parse_deny_policies(holder.deny.data, node_id, holder.deny.file)
        out.errors.extend(errors)
        for rule in rules:
            denials.add(rule)
        out.counts["deny.rules"] += len(rules)
    return denials


def _apply_denials(grants: list[Grant], job: PolicyJob, denials: Denials, known_roles: dict[str, list[str]],
                   out: Transformed) -> None:
    """Take permissions that deny policies remove away from each grant (mutates the grants)."""
    for grant in grants:
        applied, skipped = denials.denied(grant.member, job.attachments)
        for rule in skipped:
            out.note(f"deny policy {rule.policy} on {rule.attachment} has a denialCondition (not evaluated): "
                     f"{grant.member.raw} keeps {grant.role} on {job.label}")
        if not applied:
            continue
        permissions = role_permissions(grant.role, known_roles)
        if permissions is None:
            out.note(f"{job.label}: {grant.role} has unknown permissions; deny policies not applied to it")
            continue
        kept, removed = remove_denied(permissions, applied)
        if removed:
            grant.permissions, grant.denied = kept, removed
            grant.deny_policies = sorted({rule.policy for rule in applied})
            out.counts["deny.narrowed_grants"] += 1


def transform_export(export: GcpExport) -> Transformed:
    out = Transformed()
    org_scope = org_id(next(iter(export.organizations))) if len(export.organizations) == 1 else ""
    known_roles: dict[str, list[str]] = {}
    if export.predefined_roles is not None:
        known_roles.update(_custom_roles(export.predefined_roles, out))
    for holder in [*export.organizations.values(), *export.projects.values()]:
        known_roles.update(_custom_roles(holder.custom_roles, out))
    inactive = _inactive_roles(export)

    resources = _resources(export, out)
    sas_by_project = _service_accounts(export, out, org_scope)
    _last_use(export, out)
    jobs = _policy_jobs(export, out, resources, sas_by_project)
    providers = _pool_providers(export, resources, out)
    denials = _denials(export, out)
    parsed: list[tuple[PolicyJob, list[Grant]]] = []
    run_grants: dict[str, Grant] = {}
    for job in jobs:
        policy = parse_policy(job.loaded.data, job.scope.holder, job.label, job.loaded.file)
        out.errors.extend(policy.errors)
        for text in policy.notes:
            out.note(text)
        out.counts["read.bindings"] += policy.bindings
        out.counts["read.conditional_bindings"] += policy.conditional
        grants = _drop_inactive(policy.grants, policy.binding_roles, inactive, job, out)
        grants = _federated_grants(grants, providers, out, job.loaded.file)
        if denials:
            _apply_denials(grants, job, denials, known_roles, out)
        parsed.append((job, grants))
        for grant in grants:
            if grant.member.node_id and job.resource_kind and can_run_code(grant, known_roles):
                known = run_grants.get(grant.member.node_id)
                if known is None or (known.bounds and not grant.bounds):  # one without time bounds first
                    run_grants[grant.member.node_id] = grant
    for job, grants in parsed:
        _apply_policy(out, job, grants, known_roles, run_grants, org_scope)

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
    fixed = [MFA_NOTE]
    if any(r["kind"] == "Group" and r["id"].startswith("gcp:group/") for r in nodes):
        fixed.append(GROUP_NOTE)
    if out.counts["read.conditional_bindings"]:
        fixed.append(CONDITION_NOTE)
    if out.counts["skipped.system_managed_keys"]:
        fixed.append(f"{out.counts['skipped.system_managed_keys']} system-managed keys counted but not emitted "
                     "(Google-managed, rotated by Google, never downloadable)")
    if export.organizations or export.folders:
        fixed.append(INHERITANCE_NOTE)
    if out.basic_role_act_as:
        fixed.append(ACT_AS_NOTE)
    if out.inactive_example is not None:
        count = out.counts["skipped.inactive_role_bindings"]
        fixed.append(f"{count} binding{'s' if count > 1 else ''} named a disabled or deleted custom role and "
                     f"grant{'' if count > 1 else 's'} nothing (no edge drawn), e.g. {out.inactive_example}")
    out.notes[:0] = fixed
