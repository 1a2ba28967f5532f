"""AWS IAM offline collector: authorization details, credential reports, access keys,
Organizations accounts and IAM Identity Center exports -> records.

See docs/collectors/aws.md for the commands that produce each file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from collectors.aws.ceilings import apply_boundaries, apply_scps, parse_scp_levels
from collectors.aws.credentials import (
    ROOT_USER,
    index_report,
    sign_in_facts,
    transform_access_keys,
    transform_report_credentials,
    transform_root,
)
from collectors.aws.eks import transform_eks
from collectors.aws.escalation import escalation_edges
from collectors.aws.exports import SOURCE, AuthorizationDetails, Exports, account_from_path, read_exports
from collectors.aws.identity_center import transform_identity_center
from collectors.aws.permissions import transform_permissions
from collectors.aws.policy_documents import evaluate
from collectors.aws.resource_policies import transform_resource_policies
from collectors.aws.resources import account_of, parse_arn
from collectors.aws.technique_rules import Context
from collectors.aws.transform import (
    AccountData,
    Principal,
    detect_account,
    load_account,
    transform_account,
    transform_group,
    transform_role,
    transform_user,
)
from collectors.aws.trust import transform_trust, trust_properties
from collectors.aws.workloads import KINDS, Workload, link, parse_kind
from collectors.base import UNEXPECTED, SourceFileError, account_for, checked, guard, unexpected
from collectors.live import apply_collection_log
from graph.coverage import CollectResult, CoverageStatus
from graph.records import Record, RecordError, edge
from graph.schema import EdgeKind

__all__ = ["collect_offline"]

T = TypeVar("T")

STANDING_NOTES = [
    (
        "Session policies and resource control policies are not evaluated; explicit Denies are subtracted "
        "only when unconditional and covering the granted resource."
    ),
]


class _Principals:
    """Lookups across every collected account: by ARN (path-insensitive) and by unique id."""

    def __init__(self, accounts: dict[str, AccountData]):
        self.by_key: dict[tuple[str, str, str], Principal] = {}
        self.by_unique_id: dict[str, Principal] = {}
        for data in accounts.values():
            for principal in data.principals():
                self.by_key[(principal.account, principal.type, principal.name)] = principal
                if principal.unique_id:
                    self.by_unique_id[principal.unique_id] = principal

    def find(self, text: str) -> Principal | None:
        if text in self.by_unique_id:
            return self.by_unique_id[text]
        arn = parse_arn(text)
        if arn is None:
            return None
        kind, _, rest = arn.resource.partition("/")
        if arn.service == "sts" and kind == "assumed-role":
            return self.by_key.get((arn.account, "role", rest.split("/", 1)[0]))
        return self.by_key.get((arn.account, kind, rest.rsplit("/", 1)[-1]))

    def node_id(self, arn: str) -> str | None:
        found = self.find(arn)
        return found.node_id if found else None


class _Sink:
    """Adds records file by file, keeping the first node of each id."""

    def __init__(self, result: CollectResult):
        self.result = result
        self.seen: set[str] = set()

    def add(self, file: str, nodes: list[Record], edges: list[Record]) -> None:
        fresh = []
        for record in nodes:
            if record["id"] not in self.seen:
                self.seen.add(record["id"])
                fresh.append(record)
        if fresh or edges:
            self.result.add(file, fresh, edges)


def _per_file(result: CollectResult, file: str, step: Callable[..., T], *args: Any) -> T | None:
    """Run one file's step; an unexpected value in that file is an error naming it (base.UNEXPECTED), and
    the other files still load."""
    try:
        return step(*args)
    except UNEXPECTED as exc:
        result.fail(unexpected(SOURCE, file, "", exc))
        return None


def _account_for_file(path: Path, folder: Path, accounts: dict[str, AccountData]) -> str | None:
    """Which account an export without ARNs (list-access-keys) belongs to."""
    from_path = account_from_path(path, folder)
    if from_path:
        return from_path
    same_dir = [a for a, d in accounts.items() if d.path.parent == path.parent]
    if len(same_dir) == 1:
        return same_dir[0]
    return next(iter(accounts)) if len(accounts) == 1 else None


def _load_accounts(exports: Exports, folder: Path, result: CollectResult) -> dict[str, AccountData]:
    """One AccountData per account. Two authorization-details files of one account are merged (the entries
    of both count; an entry in both is merged by base.merge_duplicates) and reported."""
    by_account: dict[str, AuthorizationDetails] = {}

    def account_of_file(auth: AuthorizationDetails) -> str:
        account = detect_account(auth.details, auth.path, account_from_path(auth.path, folder))
        if account is None:
            raise SourceFileError(RecordError(
                SOURCE, str(auth.path), "", "Arn", "cannot tell which account this file is for: no ARN with an "
                "account id", "put the file in a folder named after the 12-digit account id"))
        return account

    for auth, account in checked(exports.authorization_details, account_of_file, result.fail):
        first = by_account.get(account)
        if first is None:
            by_account[account] = auth
            continue
        result.fail(RecordError(
            SOURCE, str(auth.path), "", "", f"a second authorization-details file for account {account} (first: "
            f"{first.path}); merged into the first: the entries of both count, an entry in both is merged",
            "keep one file per account"))
        first.extend(auth)

    def account_data(item: tuple[str, AuthorizationDetails]) -> AccountData:
        account, auth = item
        return load_account(auth, account)

    accounts: dict[str, AccountData] = {}
    for _, data in checked(list(by_account.items()),
                           guard(SOURCE, lambda item: str(item[1].path), account_data), result.fail):
        for error in data.errors:
            result.fail(error)
        result.coverage.notes.extend(data.notes)
        accounts[data.account] = data
    return accounts


def _reports(exports: Exports, folder: Path, result: CollectResult) -> dict[str, tuple[Path, dict]]:
    reports: dict[str, tuple[Path, dict]] = {}
    for path, rows in exports.credential_reports:
        index, errors = index_report(rows, path)
        for error in errors:
            result.fail(error)
        account = next((account_of(arn) for arn in index), None) or account_from_path(path, folder)
        if account:
            reports[account] = (path, index)
    return reports


def _principal_records(data: AccountData, report: dict | None, lookup: _Principals) -> tuple[list, list, list]:
    nodes: list[Record] = []
    edges: list[Record] = []
    notes: list[str] = []
    for user in data.users.values():
        nodes.append(transform_user(user, sign_in_facts(report.get(user.arn)) if report is not None else None))
        for group_name in user.raw.get("GroupList") or []:
            group = data.groups.get(str(group_name))
            if group is None:
                notes.append(f"{data.account}: user {user.name} is in group {group_name}, which is not exported")
                continue
            if user.groups_folded:
                continue  # its group grants are on the user, capped by its permissions boundary
            edges.append(edge(user.node_id, group.node_id, EdgeKind.MEMBER_OF, f"IAM group membership {group.name}"))
    nodes.extend(transform_group(group) for group in data.groups.values())
    nodes.extend(transform_role(role, trust_properties(role)) for role in data.roles.values())
    for principal in data.principals():
        permissions = transform_permissions(principal, data)
        nodes.extend(permissions.nodes)
        edges.extend(permissions.edges)
        notes.extend(permissions.notes)
    return nodes, edges, notes


def collect_offline(folder: Path) -> CollectResult:
    """Read every AWS export under folder; one bad file never stops the others."""
    folder = Path(folder)
    result = CollectResult(SOURCE)
    coverage = result.coverage
    if not folder.is_dir():
        result.fail(RecordError(SOURCE, str(folder), "", "", "export folder not found",
                                "point the collector at the folder holding the AWS exports"))
        coverage.status = CoverageStatus.MISSING
        return result
    exports = read_exports(folder)
    for error in exports.errors:
        result.fail(error)
    accounts = _load_accounts(exports, folder, result)
    reports = _reports(exports, folder, result)
    lookup = _Principals(accounts)
    for data in accounts.values():
        for principal in data.principals():
            principal.grants = evaluate(principal.policies, principal.variables)
        coverage.notes.extend(apply_boundaries(data))
    _service_control_policies(exports, folder, accounts, result)
    mfa_devices = _mfa_devices(exports, folder, accounts)

    sink = _Sink(result)
    org_names: dict[str, str] = {}
    for path, items in exports.organization_accounts:
        account_nodes = []
        for item in items:
            if isinstance(item, dict) and item.get("Id"):
                org_names[str(item["Id"])] = str(item.get("Name") or item["Id"])
                account_nodes.append(transform_account(str(item["Id"]), item.get("Name"),
                                                       organization_status=item.get("Status"),
                                                       collected=str(item["Id"]) in accounts))
        sink.add(str(path), account_nodes, [])
    for account, data in sorted(accounts.items()):
        account_node = transform_account(account, org_names.get(account), collected=True)
        report = reports.get(account, (None, None))[1]
        if report is None and account in mfa_devices:
            report = _report_from_mfa_devices(data, mfa_devices[account])
        nodes, edges, notes = _principal_records(data, report, lookup)
        coverage.notes.extend(notes)
        sink.add(str(data.path), [account_node, *nodes], edges)
        coverage.scopes.append(f"aws:account/{account}")

    trust = transform_trust([r for d in accounts.values() for r in d.roles.values()],
                            {a: d.principals() for a, d in accounts.items()}, lookup.find)
    coverage.notes.extend(trust.notes)
    if accounts:
        sink.add(str(next(iter(accounts.values())).path), trust.nodes, trust.edges)

    _credentials(exports, folder, accounts, reports, sink, result)
    context = Context(accounts, user_facts=_user_facts(reports))
    functions = _resource_policies(exports, folder, accounts, lookup, sink, result)
    _workloads(exports, folder, accounts, lookup, context, result, functions)
    escalations = escalation_edges(context)
    if accounts:
        sink.add(str(next(iter(accounts.values())).path), escalations.nodes, escalations.edges)
    for path, clusters in exports.eks_clusters:
        eks = _per_file(result, str(path), transform_eks, clusters, lookup.node_id)
        if eks is None:
            continue
        coverage.notes.extend(eks.notes)
        sink.add(str(path), [], eks.edges)

    center = None
    if exports.identity_center:
        files = sorted({str(path) for items in exports.identity_center.values() for path, _ in items})
        center = _per_file(result, ", ".join(files), transform_identity_center, exports.identity_center,
                           {a: d.roles for a, d in accounts.items()})
    if center is not None:
        coverage.notes.extend(center.notes)
        sink.add(center.files[-1] if center.files else str(folder), center.nodes, center.edges)
        for file in center.files:
            if file not in coverage.files:
                coverage.files.append(file)

    _stub_accounts(result, sink)
    for path in exports.ignored:
        coverage.notes.append(f"ignored {path}: not a recognised AWS export")
        coverage.degrade()
    account_for(result, exports.listing, "AWS export (*.json, *.csv)")
    coverage.notes.extend(STANDING_NOTES)
    if not exports.resource_policies:
        coverage.notes.append("no resource-policies export: bucket, key, secret, queue, topic and function "
                              "policies are not evaluated")
    apply_collection_log(folder, result)
    coverage.count_records(result.nodes, result.edges)
    if not accounts:
        unread = result.errors or exports.listing.not_read
        coverage.status = CoverageStatus.FAILED if unread else CoverageStatus.MISSING
    return result


def _credentials(exports: Exports, folder: Path, accounts: dict[str, AccountData],
                 reports: dict[str, tuple[Path, dict]], sink: _Sink, result: CollectResult) -> None:
    def key_account(entry: tuple[Path, list]) -> str:
        account = _account_for_file(entry[0], folder, accounts)
        if account is None:
            raise SourceFileError(RecordError(
                SOURCE, str(entry[0]), "", "", "cannot tell which collected account these access keys belong "
                "to", "put the file next to that account's authorization-details file, in a folder named "
                "after the account id"))
        return account

    keyed_accounts: set[str] = set()
    for (path, keys), account in checked(exports.access_keys, key_account, result.fail):
        if account not in accounts:
            result.coverage.notes.append(f"{path}: access keys of account {account} skipped, because that "
                                         "account's authorization details did not load")
            continue
        report = reports.get(account, (None, {}))[1]
        done = _per_file(result, str(path), transform_access_keys, accounts[account], keys, report, path)
        if done is None:
            continue
        nodes, edges, errors, notes = done
        for error in errors:
            result.fail(error)
        result.coverage.notes.extend(notes)
        sink.add(str(path), nodes, edges)
        keyed_accounts.add(account)
    for account in sorted(set(reports) - set(accounts)):
        result.coverage.notes.append(f"{reports[account][0]}: credential report of account {account} skipped, "
                                     "because that account's authorization details did not load")
    for account, data in sorted(accounts.items()):
        if account not in reports:
            result.coverage.notes.append(f"{account}: no credential report; console passwords and MFA devices "
                                         "are unknown (human users' mfa = null)")
            continue
        path, report = reports[account]
        synthesise = account not in keyed_accounts
        nodes, edges, notes = transform_report_credentials(data, report, synthesise)
        if synthesise and any(n["kind"] == "access_key" and ":root#" not in n["id"] for n in nodes):
            result.coverage.notes.append(f"{account}: no list-access-keys export; access keys are identified "
                                         "as aws:access-key/<user arn>#<slot> from the credential report and "
                                         "will not join keys found elsewhere (e.g. in Kubernetes secrets)")
        result.coverage.notes.extend(notes)
        root = next((row for row in report.values() if row.get("user") == ROOT_USER), None)
        if root is not None:
            root_nodes, root_edges = transform_root(account, root)
            nodes, edges = root_nodes + nodes, root_edges + edges
        sink.add(str(path), nodes, edges)


def _stub_accounts(result: CollectResult, sink: _Sink) -> None:
    """Resources of accounts we only saw in ARNs still need their scope node."""
    missing = sorted({r["scope"] for r in result.nodes if r["scope"].startswith("aws:account/")} - sink.seen)
    stubs = [transform_account(scope.split("/", 1)[1], None, collected=False) for scope in missing]
    if stubs:
        sink.add("(referenced in policies)", stubs, [])


def _service_control_policies(exports: Exports, folder: Path, accounts: dict[str, AccountData],
                              result: CollectResult) -> None:
    described = [org for _, org in exports.organization if isinstance(org, dict)]
    management = next((str(org.get("MasterAccountId")) for org in described if org.get("MasterAccountId")), None)
    covered = {management}
    for path, document in exports.service_control_policies:
        account = str(document.get("AccountId") or account_from_path(path, folder) or "")
        covered.add(account)
        if account not in accounts:
            result.coverage.notes.append(f"{path}: SCPs for account {account or '?'}, which was not collected")
            continue
        try:
            levels = parse_scp_levels(document)
        except (ValueError, TypeError, AttributeError) as exc:
            result.fail(RecordError(SOURCE, str(path), f"account {account}", "ServiceControlPolicyLevels",
                                    f"malformed SCP: {exc}", "re-run `crosspath collect aws`"))
            continue
        result.coverage.notes.extend(_per_file(result, str(path), apply_scps, accounts[account], levels,
                                               management) or [])
        if str(path) not in result.coverage.files:
            result.coverage.files.append(str(path))
    for account in sorted(set(accounts) - covered):
        result.coverage.notes.append(f"{account}: no service-control-policies export; SCPs are not applied")


def _mfa_devices(exports: Exports, folder: Path, accounts: dict[str, AccountData]) -> dict[str, set[str]]:
    """User names with an MFA device, per account (used when there is no credential report)."""
    found: dict[str, set[str]] = {}
    for path, devices in exports.mfa_devices:
        account = _account_for_file(path, folder, accounts)
        if account:
            found.setdefault(account, set()).update(str(d.get("UserName")) for d in devices if isinstance(d, dict))
    return found


def _report_from_mfa_devices(data: AccountData, users_with_mfa: set[str]) -> dict[str, dict[str, str]]:
    return {user.arn: {"user": user.name, "arn": user.arn,
                       "mfa_active": "true" if user.name in users_with_mfa else "false"}
            for user in data.users.values()}


def _resource_policies(exports: Exports, folder: Path, accounts: dict[str, AccountData], lookup: _Principals,
                       sink: _Sink, result: CollectResult) -> list[tuple[str, Workload]]:
    """Resource policies' edges; returns the Lambda functions they name with an execution role (account,
    workload), which join the inventory when lambda-functions.json does not list them."""
    collected = {a: d.principals() for a, d in accounts.items()}
    functions: list[tuple[str, Workload]] = []
    for path, items in exports.resource_policies:
        account = _account_for_file(path, folder, accounts) or ""
        records = _per_file(result, str(path), transform_resource_policies,
                            [i for i in items if isinstance(i, dict)], account, collected, lookup.find)
        if records is None:
            continue
        result.coverage.notes.extend(records.notes)
        sink.add(str(path), records.nodes, records.edges)
        for function_arn, role_arn in records.functions:
            role = lookup.find(role_arn)
            if role is not None:
                functions.append((account_of(function_arn) or account, Workload(
                    "lambda", "function", function_arn, function_arn.rsplit(":", 1)[-1], role,
                    {"source": "resource-policies.json"})))
    return functions


def _workloads(exports: Exports, folder: Path, accounts: dict[str, AccountData], lookup: _Principals,
               context: Context, result: CollectResult, functions: Sequence[tuple[str, Workload]] = ()) -> None:
    """The workload inventory (collectors.aws.workloads): each file's workloads with their roles, and which
    kinds were collected for which account. A bad record is an error naming it; the others load."""
    profiles: dict[str, dict[str, Principal]] = {}  # account -> instance profile ARN and name -> role
    for account, data in accounts.items():
        for role in data.roles.values():
            for profile in role.raw.get("InstanceProfileList") or []:
                if isinstance(profile, dict):
                    for key in ("Arn", "InstanceProfileName"):
                        if profile.get(key):
                            profiles.setdefault(account, {})[str(profile[key])] = role

    def find_profile(reference: str, account: str) -> Principal | None:
        return profiles.get(account_of(reference) or account, {}).get(reference)

    for path, kind, items in exports.workloads:
        account = _account_for_file(path, folder, accounts)
        if account is None:
            account = next((a for item in items if isinstance(item, dict)
                            for a in [account_of(str(item.get("FunctionArn") or item.get("arn") or ""))] if a), None)
        if account is None or account not in accounts:
            result.coverage.notes.append(f"{path}: {KINDS[kind].label} inventory of account {account or '?'} "
                                         "skipped, because that account's authorization details did not load")
            continue
        parsed = _per_file(result, str(path), parse_kind, kind, items, path, account, lookup.find, find_profile)
        if parsed is None:
            continue
        for error in parsed.errors:
            result.fail(error)
        result.coverage.notes.extend(parsed.notes)
        context.inventory.mark(account, kind)
        for workload in parsed.workloads:
            context.inventory.add(account_of(workload.arn) or account, workload)
        if str(path) not in result.coverage.files:
            result.coverage.files.append(str(path))
    # Functions known only from resource-policies.json (ExecutionRole entries) and which have a policy.
    with_policy = {str(i.get("ResourceArn")) for _, items in exports.resource_policies for i in items
                   if isinstance(i, dict) and i.get("Service") == "lambda" and i.get("Policy")}
    for account, function in functions:
        if function.arn not in {w.arn for w in context.inventory.workloads(account, "function")}:
            context.inventory.add(account, function)
    for account in accounts:
        for function in context.inventory.workloads(account, "function"):
            if function.arn in with_policy:
                function.facts["policy"] = True
    policies_known = {_account_for_file(path, folder, accounts) or "" for path, _ in exports.resource_policies}
    link(context.inventory, policies_known)
    for account in sorted(accounts):
        missing = [KINDS[k].file for k in KINDS if not context.inventory.collected(account, k)]
        if missing:
            result.coverage.notes.append(
                f"{account}: workload inventory not collected ({', '.join(missing)}); existing-workload "
                "techniques draw assumed edges for grants on every workload of those kinds")


def _user_facts(reports: dict[str, tuple[Path, dict]]) -> dict[str, dict[str, object]]:
    """What escalation techniques need to know about target users, from the credential reports."""
    facts: dict[str, dict[str, object]] = {}
    for _, rows in reports.values():
        for arn, row in rows.items():
            keys = sum(1 for n in (1, 2) if row.get(f"access_key_{n}_last_rotated", "N/A") not in ("N/A", "", None))
            password = row.get("password_enabled")
            facts[arn] = {"keys": keys, **({"password": password == "true"} if password in ("true", "false") else {})}
    return facts
