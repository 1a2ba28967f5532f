"""Microsoft Entra ID offline collector: Microsoft Graph v1.0 responses saved to files.

``collect_offline(folder)`` reads the files listed in docs/collectors/entra.md, turns them into
records with the pure transforms in ``transform``, ``directory_roles`` and
``conditional_access``, and records in Coverage what was read and what could not be known.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from collectors.base import SourceFileError, account_for, checked, list_exports
from collectors.entra.abuse import Tenant, abuse_edges
from collectors.entra.azure_rbac import (
    azure_activation_rules,
    role_table,
    scope_node,
    scope_node_id,
    transform_azure_assignment,
    transform_azure_eligibility,
    transform_subscription,
)
from collectors.entra.conditional_access import Directory, decide_mfa
from collectors.entra.directory_roles import (
    RoleInfo,
    role_of,
    roles_by_id,
    transform_role_assignment,
    unknown_role,
)
from collectors.entra.exports import (
    SOURCE,
    Collection,
    Item,
    load_collection,
    load_keyed_collections,
    load_object,
    relative_name,
)
from collectors.entra.federation import transform_federated_credentials
from collectors.entra.graph_permissions import (
    MICROSOFT_GRAPH_APP_ID,
    held_permissions,
    permission_names,
    transform_app_role_assignment,
)
from collectors.entra.last_use import APP_CREDENTIAL_ACTIVITY, SP_SIGN_IN_ACTIVITY, apply_last_use
from collectors.entra.managed_identities import run_as_edges
from collectors.entra.membership import build_memberships
from collectors.entra.pim import (
    activation_rules,
    role_node_id,
    transform_eligibility,
    transform_group_eligibility,
    transform_role_node,
)
from collectors.entra.transform import (
    app_alias,
    need,
    object_node_id,
    tenant_node_id,
    transform_credentials,
    transform_group,
    transform_group_members,
    transform_owners,
    transform_service_principal,
    transform_tenant,
    transform_user,
)
from collectors.live import apply_collection_log
from graph.coverage import CollectResult, CoverageStatus
from graph.records import Record, RecordError

__all__ = ["collect_offline"]

COLLECTIONS = (
    "organization",
    "users",
    "groups",
    "servicePrincipals",
    "applications",
    "roleDefinitions",
    "roleAssignments",
    "userRegistrationDetails",
    "conditionalAccessPolicies",
    "roleEligibilitySchedules",
    "roleManagementPolicyAssignments",
    "oauth2PermissionGrants",
)
# Newer files: older exports lack them, which costs edges but does not make the tenant partial.
OPTIONAL = frozenset({"roleEligibilitySchedules", "roleManagementPolicyAssignments", "oauth2PermissionGrants"})
GROUP_OWNERS_DIR = "group-owners"
FEDERATED_DIR = "federatedIdentityCredentials"
APP_ROLE_ASSIGNED_TO_DIR = "appRoleAssignedTo"
GROUP_ELIGIBILITY_DIR = "groupEligibilitySchedules"
GROUP_POLICY_DIR = "groupPolicyAssignments"
AZURE_DIR = "azure"
ROLE_PREFIX = role_node_id("")
MEMBERS_DIR = "group-members"
APP_OWNERS_DIR = "application-owners"
SP_OWNERS_DIR = "servicePrincipal-owners"
SECURITY_DEFAULTS = "identitySecurityDefaultsEnforcementPolicy.json"

# What a missing file costs, written into coverage notes.
MISSING_EFFECT = {
    "organization": "tenant id inferred from the applications, or unknown",
    "users": "no users",
    "groups": "no group nodes (membership edges may point at unknown groups)",
    "servicePrincipals": "no service principals; credentials point at entra:appId/<appId> aliases",
    "applications": "no application secrets or certificates",
    "roleDefinitions": "role names unknown; admin level only for well-known template ids",
    "roleAssignments": "no directory role permissions; CA role conditions undecidable",
    "userRegistrationDetails": "mfa_registered unknown",
    "conditionalAccessPolicies": "every user's mfa is unknown (null)",
    "roleEligibilitySchedules": "PIM eligible role assignments are not in the graph",
    "roleManagementPolicyAssignments": "whether PIM activation requires MFA is unknown (edges say so)",
    "oauth2PermissionGrants": "delegated consents (applications acting as the users who consented) are not "
                              "in the graph",
}


def collect_offline(folder: Path) -> CollectResult:
    folder = Path(folder)
    result = CollectResult(SOURCE)
    coverage = result.coverage
    listing = list_exports(folder) if folder.is_dir() else None
    exports = {name: load_collection(folder, name, key="id") for name in COLLECTIONS}
    members = load_keyed_collections(folder / MEMBERS_DIR)
    app_owners = load_keyed_collections(folder / APP_OWNERS_DIR)
    sp_owners = load_keyed_collections(folder / SP_OWNERS_DIR)
    group_owners = load_keyed_collections(folder / GROUP_OWNERS_DIR)
    federated = load_keyed_collections(folder / FEDERATED_DIR)
    app_role_assigned_to = load_keyed_collections(folder / APP_ROLE_ASSIGNED_TO_DIR)
    group_eligibility = load_keyed_collections(folder / GROUP_ELIGIBILITY_DIR)
    group_policies = load_keyed_collections(folder / GROUP_POLICY_DIR)
    security_defaults, sd_error = load_object(folder, SECURITY_DEFAULTS)

    if listing is not None:
        account_for(result, listing, "Microsoft Graph export (*.json)")
    if not any(c.present for c in exports.values()) and not members:
        coverage.status = CoverageStatus.FAILED if listing and listing.not_read else CoverageStatus.MISSING
        coverage.notes.append(f"no Microsoft Graph export files found in {folder}")
        return result

    for name, collection in exports.items():
        _account_for(result, folder, collection, MISSING_EFFECT[name], optional=name in OPTIONAL)
    for group_collection in [*members.values(), *app_owners.values(), *sp_owners.values(),
                             *group_owners.values(), *federated.values(), *app_role_assigned_to.values(),
                             *group_eligibility.values(), *group_policies.values()]:
        _account_for(result, folder, group_collection, "")
    if sd_error is not None:
        result.fail(sd_error)
    if not members:
        coverage.notes.append(f"{MEMBERS_DIR}/ missing: no membership edges; CA group conditions undecidable")
        coverage.status = CoverageStatus.PARTIAL
    if not app_owners and not sp_owners:
        coverage.notes.append(f"{APP_OWNERS_DIR}/ and {SP_OWNERS_DIR}/ not exported: owners who can add "
                              "credentials to an app are not in the graph")

    tenant_id = _tenant(result, folder, exports)
    tenant = tenant_node_id(tenant_id)
    coverage.scopes.append(tenant)

    # Groups and membership. Only role-assignable groups can hold directory roles (active or eligible).
    role_holders = {str(o.get("principalId")) for name in ("roleAssignments", "roleEligibilitySchedules")
                    for o in exports[name].objects() if o.get("principalId")}
    group_names: dict[str, str] = {}
    group_nodes = _records(result, exports["groups"], lambda item: transform_group(
        item.data, item.file, item.index, tenant, str(item.data.get("id")) in members,
        holds_role=str(item.data.get("id")) in role_holders))
    _unknown_note(result, [r["name"] for r in group_nodes if r["role_assignable"] is None],
                  "group(s) without isAssignableToRole and holding no directory role: treated as not "
                  "role-assignable, and edges that depend on it are marked assumed")
    for record in group_nodes:
        group_names[record["id"].removeprefix("entra:")] = record["name"]
    _add(result, folder, exports["groups"], group_nodes, [])
    memberships = build_memberships({gid: c.objects() for gid, c in members.items()}, set(group_names))
    for group_id, collection in members.items():
        edges, notes = transform_group_members(group_id, collection.objects())
        coverage.notes.extend(notes)
        if group_names and group_id not in group_names:
            coverage.notes.append(f"{MEMBERS_DIR}/{group_id}: group not in groups.json")
        _add(result, folder, collection, [], edges)
    without_members = sorted(set(group_names) - set(members))
    if members and without_members:
        coverage.notes.append(f"{len(without_members)} group(s) without an exported member list: "
                              + ", ".join(group_names[g] for g in without_members))

    # Directory roles.
    roles = roles_by_id(exports["roleDefinitions"].objects())
    principal_roles: dict[str, set[str]] = {}
    role_edges: list[Record] = []
    for item, principal in checked(exports["roleAssignments"].items, _role_assignment_principal, result.fail):
        role = role_of(item.data, roles)
        principal_roles.setdefault(principal, set()).add(role.template_id)
        role_edges.append(transform_role_assignment(item.data, roles, tenant))
    _add(result, folder, exports["roleAssignments"], [], role_edges)

    directory = Directory(
        memberships=memberships,
        group_names=group_names,
        principal_roles=principal_roles,
        role_names={info.template_id: info.name for info in roles.values()},
        roles_known=exports["roleAssignments"].present,
    )

    # Users and their MFA truth.
    cap = exports["conditionalAccessPolicies"]
    policies = cap.objects() if cap.present and (cap.items or not cap.errors) else None
    if cap.present and policies is None:
        coverage.notes.append("conditionalAccessPolicies unreadable: every user's mfa is unknown (null)")
    registrations = _registrations(exports["userRegistrationDetails"])
    user_nodes = _records(result, exports["users"], lambda item: transform_user(
        item.data, item.file, item.index, tenant,
        decide_mfa(item.data, policies, directory, security_defaults),
        registrations.get(str(item.data.get("id"))) or registrations.get(
            str(item.data.get("userPrincipalName", "")).lower())))
    _add(result, folder, exports["users"], user_nodes, [])
    _unknown_note(result, [r["upn"] for r in user_nodes if r["user_type"] == "unknown"],
                  "user(s) without userType: user_type unknown (not assumed Member); Conditional Access "
                  "conditions on guests are undecidable for them")

    # Service principals, application and SP credentials, owners.
    sp_nodes = _records(result, exports["servicePrincipals"], lambda item: transform_service_principal(
        item.data, item.file, item.index, tenant))
    _add(result, folder, exports["servicePrincipals"], sp_nodes, [])
    _unknown_note(result, [r["name"] for r in sp_nodes if not r["app_id"]],
                  "service principal(s) without appId kept: application credentials and Kubernetes workload "
                  "identity (which know only the client id) cannot be joined to them")
    sp_by_app = {record["app_id"]: record["id"] for record in sp_nodes if record["app_id"]}
    _credentials(result, folder, exports, sp_by_app, tenant)
    _last_use(result, folder)
    _owners(result, folder, exports, app_owners, sp_owners, sp_by_app)
    _federation(result, folder, exports, federated, sp_nodes)

    # PIM eligibility, Microsoft Graph application permissions, abuse techniques.
    role_templates = _eligibility(result, folder, exports, roles, tenant)
    _group_eligibility(result, folder, group_eligibility, group_policies, group_names)
    graph_permissions = _graph_permissions(result, folder, exports, app_role_assigned_to, tenant)
    # An eligible role, once activated, abuses like an active one: its role node holds it.
    holders = dict(principal_roles) | {f"role/{template}": {template} for template in role_templates}
    context = _abuse_context(tenant, exports, user_nodes, holders, roles, directory, graph_permissions,
                             group_owners, group_nodes)
    context.delegated_grants = _delegated_grants(result, exports, context)
    abuse = abuse_edges(context)
    for record in abuse:  # every role node an abuse edge touches exists in the graph
        for end in (record["source"], record["target"]):
            if end.startswith(ROLE_PREFIX):
                role_templates.add(end.removeprefix(ROLE_PREFIX))
    _role_nodes(result, role_templates, roles, tenant)
    if abuse:
        # Derived from several files, so listed as an origin for error messages, not as a file.
        result.origins.append(("abuse techniques (collectors/entra/abuse.py)", 0, len(abuse)))
        result.edges.extend(abuse)
    _azure(result, folder, tenant)

    apply_collection_log(folder, result)
    coverage.count_records(result.nodes, result.edges)
    if result.errors:
        coverage.degrade()
    return result


def _account_for(result: CollectResult, folder: Path, collection: Collection, missing_effect: str,
                 optional: bool = False) -> None:
    coverage = result.coverage
    for path in collection.files:
        name = relative_name(path, folder)
        if name not in coverage.files:
            coverage.files.append(name)
    for error in collection.errors:
        result.fail(error)
    if not collection.present and missing_effect:
        coverage.notes.append(f"{collection.name}.json missing: {missing_effect}")
        if not optional:
            coverage.status = CoverageStatus.PARTIAL
    if collection.incomplete:
        coverage.notes.append(
            f"{collection.name}: the last page still has @odata.nextLink; save the next page as "
            f"{collection.name}.page{len(collection.files) + 1}.json"
        )
        coverage.status = CoverageStatus.PARTIAL


def _unknown_note(result: CollectResult, names: list[str], text: str) -> None:
    """One coverage note for records kept with a field missing: how many, and an example."""
    if names:
        result.coverage.notes.append(f"{len(names)} {text} (e.g. {names[0]})")


def _records(result: CollectResult, collection: Collection, build: Callable[[Item], Record]) -> list[Record]:
    """Transform each object on its own, so one bad object is reported and skipped."""
    return [record for _, record in checked(collection.items, build, result.fail)]


def _label(item: Item, key: str = "id") -> str:
    return f"#{item.index} ({item.data.get(key, '')})"


def _role_assignment_principal(item: Item) -> str:
    """A directory role assignment's / eligibility's principal id; both fields are required."""
    label = _label(item)
    principal = need(item.data, "principalId", item.file, label)
    need(item.data, "roleDefinitionId", item.file, label)
    return principal


def _add(result: CollectResult, folder: Path, collection: Collection, nodes: list[Record],
         edges: list[Record]) -> None:
    file = relative_name(collection.files[0], folder) if collection.files else f"{collection.name}.json"
    if nodes or edges:
        result.add(file, nodes, edges)


def _tenant(result: CollectResult, folder: Path, exports: dict[str, Collection]) -> str:
    organization = exports["organization"]
    for _, record in checked(organization.items[:1], lambda item: transform_tenant(item.data, item.file),
                             result.fail):
        _add(result, folder, organization, [record], [])
        return record["tenant_id"]
    # Our own apps' service principals are owned by our tenant.
    own_apps = {str(a.get("appId")) for a in exports["applications"].objects()}
    owners = Counter(
        str(sp.get("appOwnerOrganizationId"))
        for sp in exports["servicePrincipals"].objects()
        if sp.get("appId") in own_apps and sp.get("appOwnerOrganizationId")
    )
    tenant_id = owners.most_common(1)[0][0] if owners else "unknown"
    result.coverage.notes.append(f"tenant id taken from service principals' appOwnerOrganizationId: {tenant_id}"
                                 if owners else "tenant id unknown: export organization.json")
    result.add("organization.json", [transform_tenant({"id": tenant_id, "displayName": tenant_id}, "")], [])
    return tenant_id


def _registrations(collection: Collection) -> dict[str, dict[str, Any]]:
    """Registration details by user object id and by lower-cased UPN (older exports lack ids)."""
    found: dict[str, dict[str, Any]] = {}
    for entry in collection.objects():
        if entry.get("id"):
            found[str(entry["id"])] = entry
        if entry.get("userPrincipalName"):
            found.setdefault(str(entry["userPrincipalName"]).lower(), entry)
    return found


def _credentials(result: CollectResult, folder: Path, exports: dict[str, Collection],
                 sp_by_app: dict[str, str], tenant: str) -> None:
    def of_application(item: Item) -> tuple[list[Record], list[Record]]:
        app_id = str(item.data.get("appId") or "")
        target = sp_by_app.get(app_id)
        if target is None:
            if item.data.get("passwordCredentials") or item.data.get("keyCredentials"):
                result.coverage.notes.append(
                    f"application {item.data.get('displayName')} ({app_id}) has credentials but no service "
                    f"principal in servicePrincipals.json; they point at {app_alias(app_id)}"
                )
            target = app_alias(app_id)
        return transform_credentials(item.data, "application", item.file, item.index, tenant, target)

    def of_service_principal(item: Item) -> tuple[list[Record], list[Record]]:
        return transform_credentials(item.data, "service principal", item.file, item.index, tenant,
                                     object_node_id(str(item.data.get("id"))))

    nodes: list[Record] = []
    edges: list[Record] = []
    collection = exports["applications"]
    for _, (more_nodes, more_edges) in checked(collection.items, of_application, result.fail):
        nodes.extend(more_nodes)
        edges.extend(more_edges)
    _add(result, folder, collection, nodes, edges)

    # Service principals can hold credentials of their own, invisible on the app registration.
    nodes, edges = [], []
    collection = exports["servicePrincipals"]
    holders = [item for item in collection.items
               if item.data.get("passwordCredentials") or item.data.get("keyCredentials")]
    for _, (more_nodes, more_edges) in checked(holders, of_service_principal, result.fail):
        nodes.extend(more_nodes)
        edges.extend(more_edges)
    if nodes:
        _add(result, folder, collection, nodes, edges)


def _last_use(result: CollectResult, folder: Path) -> None:
    """Credentials' last use from the optional beta reports (collectors/entra/last_use.py)."""
    reports = {name: load_collection(folder, name, key="id") for name in (APP_CREDENTIAL_ACTIVITY, SP_SIGN_IN_ACTIVITY)}
    _account_for(result, folder, reports[APP_CREDENTIAL_ACTIVITY],
                 "last use of application secrets and certificates unknown (last_used null; the report needs "
                 "AuditLog.Read.All and Entra ID P1/P2), so none is advised for deletion as unused", optional=True)
    _account_for(result, folder, reports[SP_SIGN_IN_ACTIVITY], "", optional=True)
    present = {name: collection.objects() if collection.present else None for name, collection in reports.items()}
    credentials, matched, app_level = apply_last_use(result.nodes, present[APP_CREDENTIAL_ACTIVITY],
                                                     present[SP_SIGN_IN_ACTIVITY])
    if present[APP_CREDENTIAL_ACTIVITY] is not None and credentials > matched:
        result.coverage.notes.append(
            f"{APP_CREDENTIAL_ACTIVITY}: {credentials - matched} of {credentials} application secret(s) / "
            "certificate(s) have no row (the report lists recent activity only): last use unknown, not taken as "
            "never used" + (f"; {app_level} carry their application's last app-only sign-in (app_last_sign_in, "
                            "which does not say with which credential)" if app_level else ""))


def _per_known_application(result: CollectResult, exports: dict[str, Collection],
                           per_app: dict[str, Collection]):
    """(application, collection) for each per-application export folder entry; a file named after an
    application that applications.json does not hold is an error, and the others still load."""
    apps = {str(a.get("id")): a for a in exports["applications"].objects()}
    for app_object_id, collection in per_app.items():
        app = apps.get(app_object_id)
        if app is None:
            result.fail(RecordError(SOURCE, str(collection.files[0]), "", "",
                                    f"application {app_object_id} is not in applications.json",
                                    "name the file after the application's object id (id, not appId)"))
            continue
        yield app, collection


def _owners(result: CollectResult, folder: Path, exports: dict[str, Collection],
            app_owners: dict[str, Collection], sp_owners: dict[str, Collection],
            sp_by_app: dict[str, str]) -> None:
    sps = {str(s.get("id")): s for s in exports["servicePrincipals"].objects()}
    for app, collection in _per_known_application(result, exports, app_owners):
        app_object_id = str(app.get("id"))
        app_id = str(app.get("appId") or "")
        target = sp_by_app.get(app_id, app_alias(app_id))
        edges = transform_owners(str(app.get("displayName") or app_object_id), "application", target,
                                 collection.objects())
        _add(result, folder, collection, [], edges)
    for sp_object_id, collection in sp_owners.items():
        sp = sps.get(sp_object_id)
        name = str(sp.get("displayName") or sp_object_id) if sp else sp_object_id
        edges = transform_owners(name, "service principal", object_node_id(sp_object_id), collection.objects())
        _add(result, folder, collection, [], edges)


def _federation(result: CollectResult, folder: Path, exports: dict[str, Collection],
                federated: dict[str, Collection], sp_nodes: list[Record]) -> None:
    sps_by_app = {record["app_id"]: record for record in sp_nodes if record["app_id"]}
    for app, collection in _per_known_application(result, exports, federated):
        app_object_id = str(app.get("id"))
        app_id = str(app.get("appId") or "")
        sp = sps_by_app.get(app_id)
        target = sp["id"] if sp else app_alias(app_id)
        nodes, edges, k8s_subjects = transform_federated_credentials(
            str(app.get("displayName") or app_object_id), target, collection.objects())
        if k8s_subjects and sp is not None:
            sp["federated_subjects"] = sorted(set(sp.get("federated_subjects") or []) | set(k8s_subjects))
        _add(result, folder, collection, nodes, edges)


def _eligibility(result: CollectResult, folder: Path, exports: dict[str, Collection],
                 roles: dict[str, RoleInfo], tenant: str) -> set[str]:
    """CAN_ASSUME edges for PIM eligible assignments; returns the role templates they reach."""
    activation = activation_rules(exports["roleManagementPolicyAssignments"].objects())
    collection = exports["roleEligibilitySchedules"]
    edges: list[Record] = []
    templates: set[str] = set()
    for item, _ in checked(collection.items, _role_assignment_principal, result.fail):
        if str(item.data.get("status") or "Provisioned") not in ("Provisioned", "Granted"):
            continue
        record, role = transform_eligibility(item.data, roles, activation)
        edges.append(record)
        templates.add(role.template_id)
    _add(result, folder, collection, [], edges)
    return templates


def _role_nodes(result: CollectResult, templates: set[str], roles: dict[str, RoleInfo], tenant: str) -> None:
    by_template = {info.template_id: info for info in roles.values()}
    nodes: list[Record] = []
    edges: list[Record] = []
    for template in sorted(templates):
        role_node, grant = transform_role_node(by_template.get(template) or unknown_role(template), tenant)
        nodes.append(role_node)
        edges.append(grant)
    if nodes:
        result.add("roleDefinitions.json", nodes, edges)


def _graph_permissions(result: CollectResult, folder: Path, exports: dict[str, Collection],
                       assigned_to: dict[str, Collection], tenant: str) -> dict[str, set[str]]:
    """HAS_PERMISSION for Microsoft Graph application permissions; returns who holds which."""
    graph_sp = next((sp for sp in exports["servicePrincipals"].objects()
                     if sp.get("appId") == MICROSOFT_GRAPH_APP_ID), None)
    names = permission_names(graph_sp)
    held: dict[str, set[str]] = {}
    for resource_id, collection in assigned_to.items():
        objects = collection.objects()
        is_graph = (graph_sp is not None and resource_id == str(graph_sp.get("id"))) or any(
            o.get("resourceDisplayName") == "Microsoft Graph" for o in objects)
        if not is_graph:
            result.coverage.notes.append(
                f"{APP_ROLE_ASSIGNED_TO_DIR}/{resource_id}: not Microsoft Graph, skipped")
            continue
        edges = [transform_app_role_assignment(item.data, names, tenant)
                 for item, _ in checked(collection.items, _app_role_assignment, result.fail)]
        for principal, permissions in held_permissions(objects, names).items():
            held.setdefault(principal, set()).update(permissions)
        _add(result, folder, collection, [], edges)
    return held


def _app_role_assignment(item: Item) -> None:
    label = _label(item, "principalDisplayName")
    need(item.data, "principalId", item.file, label)
    need(item.data, "appRoleId", item.file, label)


def _abuse_context(tenant: str, exports: dict[str, Collection], user_nodes: list[Record],
                   principal_roles: dict[str, set[str]], roles: dict[str, RoleInfo], directory: Directory,
                   graph_permissions: dict[str, set[str]], group_owners: dict[str, Collection],
                   group_nodes: list[Record]) -> Tenant:
    users = {str(u.get("id")): u for u in exports["users"].objects() if u.get("id")}
    own_tenant = tenant.removeprefix("entra:tenant/")
    return Tenant(
        tenant=tenant,
        users=users,
        user_mfa={record["id"].removeprefix("entra:"): record.get("mfa") for record in user_nodes},
        groups={str(g.get("id")): g for g in exports["groups"].objects() if g.get("id")},
        service_principals={str(sp.get("id")): sp for sp in exports["servicePrincipals"].objects()
                            if sp.get("id") and sp.get("appOwnerOrganizationId") in (own_tenant, None)},
        roles=principal_roles,
        role_infos={info.template_id: info for info in roles.values()},
        admins={user_id for user_id in users if directory.roles_of(user_id)},
        admin_groups_unknown=sorted(directory.group_name(group) for group in directory.principal_roles
                                    if group in directory.memberships.group_ids
                                    and directory.memberships.unknown_within(group) is not None),
        graph_permissions=graph_permissions,
        group_owners={group_id: c.objects() for group_id, c in group_owners.items()},
        group_role_assignable={r["id"].removeprefix("entra:"): r["role_assignable"] for r in group_nodes},
        all_service_principals={str(sp.get("id")): sp for sp in exports["servicePrincipals"].objects()
                                if sp.get("id")},
    )


def _delegated_grant(item: Item) -> dict[str, Any]:
    """An oauth2PermissionGrant the technique can use: client, consent type, resource and, for a one-user
    consent, the user; SourceFileError naming the field otherwise."""
    label = _label(item)
    need(item.data, "clientId", item.file, label)
    need(item.data, "resourceId", item.file, label)
    consent = need(item.data, "consentType", item.file, label)
    if consent not in ("AllPrincipals", "Principal"):
        raise SourceFileError(RecordError(SOURCE, item.file, label, "consentType",
                                          f"expected AllPrincipals or Principal, got {consent!r}",
                                          "re-export /oauth2PermissionGrants"))
    if consent == "Principal":
        need(item.data, "principalId", item.file, label)
    return item.data


def _delegated_grants(result: CollectResult, exports: dict[str, Collection], tenant: Tenant) -> list[dict[str, Any]]:
    """Valid delegated permission grants; grants naming a client or user that was not exported are noted."""
    grants = [grant for _, grant in checked(exports["oauth2PermissionGrants"].items, _delegated_grant, result.fail)]
    clients = sorted({str(g["clientId"]) for g in grants if str(g["clientId"]) not in tenant.all_service_principals})
    users = sorted({str(g["principalId"]) for g in grants
                    if g["consentType"] == "Principal" and str(g["principalId"]) not in tenant.users})
    if clients:
        result.coverage.notes.append(f"oauth2PermissionGrants: {len(clients)} client service principal(s) not in "
                                     f"servicePrincipals.json, their delegated consents are not drawn (e.g. {clients[0]})")
    if users:
        result.coverage.notes.append(f"oauth2PermissionGrants: {len(users)} consenting user(s) not in users.json, "
                                     f"their consents are not drawn (e.g. {users[0]})")
    return grants


def _subscription_id(item: Item) -> str:
    return need(item.data, "subscriptionId", item.file, f"#{item.index}")


def _principal_id(item: Item) -> str:
    return need(item.data, "principalId", item.file, _label(item))


def _arm_assignment_properties(item: Item) -> dict[str, Any]:
    """An Azure role assignment's / eligibility's `properties`; SourceFileError when it lacks the
    principal or the role definition."""
    label = _label(item, "name")
    props = need(item.data, "properties", item.file, label, kind=dict)
    need(props, "principalId", item.file, label)
    need(props, "roleDefinitionId", item.file, label)
    return props


def _azure(result: CollectResult, folder: Path, tenant: str) -> None:
    """Azure RBAC from azure/ (optional): subscriptions and their role assignments."""
    azure = folder / AZURE_DIR
    if not azure.is_dir():
        return
    subscriptions = load_collection(azure, "subscriptions")
    assignments = load_keyed_collections(azure / "roleAssignments")
    definitions = load_keyed_collections(azure / "roleDefinitions")
    eligibility = load_keyed_collections(azure / "roleEligibilityScheduleInstances")
    policies = load_keyed_collections(azure / "roleManagementPolicyAssignments")
    resources = load_keyed_collections(azure / "resources")
    for collection in [subscriptions, *assignments.values(), *definitions.values(), *eligibility.values(),
                       *policies.values(), *resources.values()]:
        _account_for(result, folder, collection, "")
    nodes: dict[str, Record] = {}
    names: dict[str, str] = {}
    for item, _ in checked(subscriptions.items, _subscription_id, result.fail):
        record = transform_subscription(item.data, tenant)
        nodes[record["id"]] = record
        names[str(item.data["subscriptionId"]).lower()] = record["name"]
    roles = role_table([d for c in definitions.values() for d in c.objects()])
    edges: list[Record] = []
    seen: set[str] = set()
    for collection in assignments.values():
        for item, props in checked(collection.items, _arm_assignment_properties, result.fail):
            key = str(item.data.get("id") or item.data.get("name") or "") or f"{item.file}#{item.index}"
            if key in seen:
                continue  # inherited assignments repeat in every subscription's list
            seen.add(key)
            scope = str(props.get("scope") or "")
            target = scope_node_id(scope, tenant)
            if target != tenant and target not in nodes:
                nodes[target] = scope_node(scope, tenant, names)
            edges.append(transform_azure_assignment(item.data, roles, tenant))
    rules = azure_activation_rules([p for c in policies.values() for p in c.objects()])
    for collection in eligibility.values():
        for item, props in checked(collection.items, _arm_assignment_properties, result.fail):
            key = str(item.data.get("id") or "") or f"{item.file}#{item.index}"
            if key in seen or str(props.get("status") or "Provisioned") not in ("Provisioned", "Granted"):
                continue
            seen.add(key)
            scope = str(props.get("scope") or "")
            target = scope_node_id(scope, tenant)
            if target != tenant and target not in nodes:
                nodes[target] = scope_node(scope, tenant, names)
            role_node, grant, assume = transform_azure_eligibility(item.data, roles, rules, tenant)
            nodes.setdefault(role_node["id"], role_node)
            edges.extend((grant, assume))
    # Writers of compute resources run code as the resources' managed identities.
    writers = [(e["source"], str(e.get("arm_scope") or ""), e["actions"][0]) for e in edges
               if e["kind"] == "HAS_PERMISSION" and e["level"] in ("write", "admin")]
    resource_nodes, run_as = run_as_edges([r for c in resources.values() for r in c.objects()], writers,
                                          tenant, names)
    for record in resource_nodes:
        nodes.setdefault(record["id"], record).update(
            {k: record[k] for k in ("resource_type", "managed_identities")})
    edges.extend(run_as)
    if nodes or edges:
        result.add(f"{AZURE_DIR}/subscriptions.json", list(nodes.values()), edges)
        result.coverage.scopes.extend(sorted(n["id"] for n in nodes.values() if n["kind"] == "subscription"))


def _group_eligibility(
    result: CollectResult,
    folder: Path,
    schedules: dict[str, Collection],
    policies: dict[str, Collection],
    group_names: dict[str, str],
) -> None:
    """PIM for Groups: CAN_ASSUME from eligible members / owners to the group."""
    for group_id, collection in schedules.items():
        activation = activation_rules(policies[group_id].objects()) if group_id in policies else {}
        edges: list[Record] = []
        for item, _ in checked(collection.items, _principal_id, result.fail):
            if str(item.data.get("status") or "Provisioned") not in ("Provisioned", "Granted"):
                continue
            schedule = {**item.data, "groupId": item.data.get("groupId") or group_id}
            edges.append(transform_group_eligibility(schedule, group_names.get(group_id, group_id), activation))
        _add(result, folder, collection, [], edges)
