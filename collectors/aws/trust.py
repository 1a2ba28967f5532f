"""Role trust policies -> CAN_ASSUME edges, role properties and coverage notes.

- An AWS principal ARN named directly can assume the role (edge from it).
- `arn:aws:iam::<acct>:root` / a bare account id delegates to the account: every principal of
  that account whose identity policy allows sts:AssumeRole on the role can assume it.
- EKS OIDC providers: the allowed `sub` patterns go to `federated_subjects`; the Kubernetes
  collector draws the edge from the service-account side.
- Other OIDC providers (CI systems): an `external:oidc/<issuer>/<sub>` identity FEDERATES_TO the role.
- Service principals: `trusted_services`; AWSSSO SAML providers: left to the Identity Center exports;
  other SAML providers: an `external:saml/<account>/<provider>` group FEDERATES_TO the role.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from collectors.aws.policy_documents import (
    Grant,
    Statement,
    bound_properties,
    condition_items,
    render_conditions,
    requires_mfa,
    time_bounds,
)
from collectors.aws.resources import parse_arn
from collectors.aws.transform import Principal
from graph.records import Record, edge, node
from graph.schema import EdgeKind, Family
from graph.techniques import References, Technique, register

_ACCOUNT_ID = re.compile(r"^\d{12}$")
_EKS_ISSUER = re.compile(r"^oidc\.eks\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/id/", re.IGNORECASE)

ASSUME_ROLE = register(Technique(
    "aws.sts.assume-role", "Assume a role that trusts the principal", "aws", EdgeKind.CAN_ASSUME,
    ("sts:AssumeRole (when the trust policy names the account rather than the principal)",),
    "sts:AssumeRole where the role's trust policy names the principal (or its account, and then the identity "
    "policy must allow it too); cross-account included",
    "Name exact principals in trust policies instead of account roots, and require MFA "
    "(aws:MultiFactorAuthPresent) or an ExternalId where people or third parties assume the role.",
    References(pathfinding=("sts-001",), pmapper="sts_edges, cross_account_edges", mitre="T1078.004")))


def _values(principal: Any, key: str) -> list[str]:
    if principal == "*" and key == "AWS":
        return ["*"]
    if not isinstance(principal, dict):
        return []
    value = principal.get(key, [])
    return [value] if isinstance(value, str) else [str(v) for v in value if isinstance(v, str)]


def _provider_host(provider_arn: str) -> str:
    parsed = parse_arn(provider_arn)
    if parsed and parsed.resource.startswith("oidc-provider/"):
        return parsed.resource[len("oidc-provider/"):]
    return provider_arn


def _subjects(statement: Statement, host: str) -> list[str]:
    """`<issuer>:sub` values the trust condition allows (StringEquals / StringLike, any set operator)."""
    found = []
    for operator, key, values in condition_items(statement.condition):
        op = operator.lower().split(":")[-1]
        if key.lower() == f"{host.lower()}:sub" and op.startswith("string") and "not" not in op:
            found.extend(values)
    return found


def trust_properties(role: Principal) -> dict[str, Any]:
    """Properties the role node carries from its trust policy."""
    services: list[str] = []
    subjects: list[str] = []
    providers: list[str] = []
    saml: list[str] = []
    for statement in role.trust:
        if statement.effect != "Allow":
            continue
        services.extend(s for s in _values(statement.principal, "Service") if s not in services)
        for provider in _values(statement.principal, "Federated"):
            host = _provider_host(provider)
            if _EKS_ISSUER.match(host) or "oidc-provider/" in provider:
                providers.append(provider)
                subjects.extend(_subjects(statement, host) or ["*"])
            elif ":saml-provider/" in provider:
                saml.append(provider)
    return {
        "trusted_services": services,
        "federated_subjects": sorted(set(subjects)),
        "federated_providers": sorted(set(providers)),
        "saml_providers": sorted(set(saml)),
    }


@dataclass
class TrustRecords:
    nodes: list[Record] = field(default_factory=list)
    edges: list[Record] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class _Candidate:
    via: str
    mfa_required: bool
    conditions: list[str]
    # account-root delegation only: the trust half and the identity-policy half, kept apart for hubs:
    # (via, mfa_required, conditions, time bounds)
    trust: tuple[str, bool, tuple[str, ...], tuple[str, ...]] | None = None
    grant: tuple[str, bool, tuple[str, ...], tuple[str, ...]] | None = None
    bounds: tuple[str, ...] = ()  # time bounds of the trust statement and the grant (all must hold)
    grant_index: int = -1  # account-root delegation: the grant's place among its class's sts:AssumeRole grants

    def of(self, grants: list[Grant]) -> _Candidate:
        """This account-root delegation as one member of the class sees it (its own grant's statement)."""
        if self.grant_index < 0 or self.trust is None:
            return self
        grant = grants[self.grant_index]
        return _Candidate(f"{self.trust[0]} + {grant.via}", self.mfa_required, self.conditions, self.trust,
                          (grant.via, grant.mfa_required, tuple(grant.conditions), grant.bounds), self.bounds,
                          self.grant_index)


# From this many roles on, a principal's identical account-root delegations go through a hub node
# (see collectors.aws.escalation.HUB_MIN_TARGETS): one edge per principal plus one per role.
HUB_MIN_ROLES = 25


def _assume_grants(principal: Principal) -> list[Grant]:
    """Grants of sts:AssumeRole on a resource that may be a role (a NotAction grant on queues holds the
    action too, but no role ARN can match it: checking it against every role made trust O(roles x holders))."""
    return [g for g in principal.grants if "sts:assumerole" in g.actions and _may_be_role(g.resource)]


def _may_be_role(pattern: str) -> bool:
    """Can this resource pattern match some role ARN (`arn:<partition>:iam::<account>:role/...`)? Its text
    up to the first wildcard must agree with that shape (the part the wildcard cuts only as a prefix)."""
    literal = re.split(r"[*?]", pattern, maxsplit=1)[0]
    cut = literal != pattern
    parts = literal.split(":", 5)
    for index, (part, want) in enumerate(zip(parts[:5], ("arn", None, "iam", "", None))):
        if want is None:
            continue
        if cut and index == len(parts) - 1:
            if not want.startswith(part):
                return False
        elif part != want:
            return False
    if len(parts) < 6:
        return True
    resource = parts[5]
    return "role/".startswith(resource) if cut and len(resource) < 5 else resource.startswith("role/")


def _allowing_grants(grants: list[Grant], role: Principal) -> Iterable[tuple[int, Grant]]:
    """Identity-policy grants allowing sts:AssumeRole on the role, with their place in grants."""
    plain_arn = f"arn:{role.arn.split(':')[1]}:iam::{role.account}:role/{role.name}"
    for index, grant in enumerate(grants):
        if grant.covers(role.arn) or grant.covers(plain_arn):
            yield index, grant


def _best(candidates: list[_Candidate]) -> _Candidate:
    """The easiest way in: an edge without an MFA requirement wins, then one without time bounds."""
    return min(candidates, key=lambda c: (c.mfa_required, bool(c.bounds), c.via))


@dataclass
class _Assumers:
    """Principals of one account whose sts:AssumeRole grants are alike (resources, MFA, conditions, time
    bounds, and how their statement names compare; e.g. every holder of AdministratorAccess): what they
    may assume through account-root trust is worked out once for all of them, on the first one's grants."""

    number: int
    grants: list[Grant]
    members: list[tuple[Principal, list[Grant]]] = field(default_factory=list)  # with its own such grants


def _assumer_classes(collected: dict[str, list[Principal]]) -> dict[str, list[_Assumers]]:
    out: dict[str, list[_Assumers]] = {}
    seen: dict[tuple, _Assumers] = {}
    for acct, members in collected.items():
        for member in members:
            grants = _assume_grants(member)
            if not grants:
                continue
            vias = [g.via for g in grants]
            first: dict[str, int] = {}
            key = (acct, tuple((g.resource, g.excluded, g.mfa_required, tuple(g.conditions), g.bounds) for g in grants),
                   tuple(sorted(range(len(vias)), key=lambda i: (vias[i], i))),
                   tuple(first.setdefault(via, i) for i, via in enumerate(vias)))
            if key not in seen:
                seen[key] = _Assumers(len(seen), grants)
                out.setdefault(acct, []).append(seen[key])
            seen[key].members.append((member, grants))
    return out


def transform_trust(
    roles: list[Principal],
    collected: dict[str, list[Principal]],
    find_principal: Callable[[str], Principal | None],
) -> TrustRecords:
    """collected maps each collected account id to its principals."""
    out = TrustRecords()
    # Only principals that may call sts:AssumeRole at all matter for account-root trust.
    assumers = _assumer_classes(collected)
    class_of = {m.node_id: (c, grants) for classes in assumers.values() for c in classes for m, grants in c.members}
    delegated: dict[int, list[tuple[Principal, _Candidate]]] = {}  # class number -> (role, best way in)
    excluded: dict[str, set[str]] = {}  # principal -> roles it enters more easily by name than by delegation
    for role in roles:
        candidates: dict[str, list[_Candidate]] = {}
        by_class: dict[int, list[_Candidate]] = {}
        for statement in role.trust:
            if statement.effect != "Allow":
                continue
            trust_mfa = requires_mfa(statement.condition)
            trust_conditions = render_conditions(statement.condition)
            trust_bounds = time_bounds(statement.condition)
            for principal in _values(statement.principal, "AWS"):
                _aws_principal(role, principal, (trust_mfa, trust_conditions, trust_bounds), assumers,
                               find_principal, candidates, by_class, out)
            for provider in _values(statement.principal, "Federated"):
                host = _provider_host(provider)
                if ":saml-provider/" in provider:
                    if "AWSSSO_" not in provider:
                        _external_saml(role, statement, provider, out)
                elif not _EKS_ISSUER.match(host):
                    _external_oidc(role, statement, host, out)
        best_of_class = {number: _best(options) for number, options in by_class.items()}
        for number, best in best_of_class.items():
            delegated.setdefault(number, []).append((role, best))
        for source, options in candidates.items():  # trust policies naming the principal
            assumer, grants = class_of.get(source, (None, []))
            through_root = best_of_class.get(assumer.number) if assumer is not None else None
            through_root = through_root.of(grants) if through_root is not None else None
            best = _best(options + ([through_root] if through_root else []))
            if best is through_root:
                continue  # its account-root delegation is the easiest way in: drawn with its class
            if through_root is not None:
                excluded.setdefault(source, set()).add(role.node_id)
            out.edges.append(edge(source, role.node_id, EdgeKind.CAN_ASSUME, best.via,
                                  mfa_required=best.mfa_required, conditions=best.conditions,
                                  techniques=[ASSUME_ROLE.id], **bound_properties(best.bounds)))
    hubs: set[str] = set()
    for classes in assumers.values():
        for assumer in classes:
            pairs = delegated.get(assumer.number)
            if not pairs:
                continue
            _delegations(pairs, [(m.node_id, g) for m, g in assumer.members if m.node_id not in excluded], hubs, out)
            for member, grants in assumer.members:
                if member.node_id in excluded:
                    _delegations([(r, c) for r, c in pairs if r.node_id not in excluded[member.node_id]],
                                 [(member.node_id, grants)], hubs, out)
    return out


def _delegations(pairs: list[tuple[Principal, _Candidate]], sources: list[tuple[str, list[Grant]]],
                 hubs: set[str], out: TrustRecords) -> None:
    """Account-root delegations of sources (principals with alike sts:AssumeRole grants, each with its own)
    to the roles of pairs: direct edges, or through a hub when one grant reaches many roles.

    A role allowed to assume the roles trusting its account root is a candidate for itself too (a no-op):
    kept in the hub's set, so that every holder of the same grant shares one hub, never drawn directly."""
    by_grant: dict[tuple[str, bool, tuple[str, ...], tuple[str, ...]], list[tuple[Principal, _Candidate]]] = {}
    for role, candidate in pairs:
        by_grant.setdefault(candidate.grant, []).append((role, candidate))  # type: ignore[arg-type]
    for group in by_grant.values():
        role_ids = {role.node_id for role, _ in group}
        hub = ""
        for source, grants in sources:
            if len(group) - (source in role_ids) < HUB_MIN_ROLES:
                for role, candidate in group:
                    if role.node_id != source:
                        mine = candidate.of(grants)
                        out.edges.append(edge(source, role.node_id, EdgeKind.CAN_ASSUME, mine.via,
                                              mfa_required=mine.mfa_required, conditions=mine.conditions,
                                              techniques=[ASSUME_ROLE.id], **bound_properties(mine.bounds)))
                continue
            hub = hub or _delegation_hub(group, hubs, out)
            grant_via, grant_mfa, grant_conditions, grant_bounds = group[0][1].of(grants).grant  # type: ignore[misc]
            out.edges.append(edge(source, hub, EdgeKind.CAN_ASSUME, f"{grant_via} (sts:AssumeRole on {len(group)} "
                                  "roles that trust their account root)", mfa_required=grant_mfa,
                                  conditions=list(grant_conditions), techniques=[ASSUME_ROLE.id],
                                  **bound_properties(grant_bounds)))


def _delegation_hub(group: list[tuple[Principal, _Candidate]], hubs: set[str], out: TrustRecords) -> str:
    """The hub standing for these roles, each with the trust half its edge carries (drawn once)."""
    account = group[0][0].account
    members = sorted((role.node_id, candidate.trust) for role, candidate in group)
    digest = hashlib.sha1(repr(members).encode()).hexdigest()[:12]
    hub = f"aws:account/{account}/reach/AssumeRole/{digest}"
    if hub not in hubs:
        hubs.add(hub)
        out.nodes.append(node(hub, Family.IDENTITY, "Group", "aws",
                              f"{len(group)} roles trusting their account root in {account}",
                              f"aws:account/{account}", human=False, hub=True, techniques=[ASSUME_ROLE.id],
                              members=len(group)))
        for role, candidate in sorted(group, key=lambda pair: pair[0].node_id):
            trust_via, trust_mfa, trust_conditions, trust_bounds = candidate.trust  # type: ignore[misc]
            out.edges.append(edge(hub, role.node_id, EdgeKind.CAN_ASSUME, trust_via,
                                  mfa_required=trust_mfa, conditions=list(trust_conditions),
                                  techniques=[ASSUME_ROLE.id], **bound_properties(trust_bounds)))
    return hub


def _aws_principal(role: Principal, principal: str, trust: tuple[bool, list[str], tuple[str, ...]],
                   assumers: dict[str, list[_Assumers]], find_principal: Callable[[str], Principal | None],
                   candidates: dict[str, list[_Candidate]], by_class: dict[int, list[_Candidate]],
                   out: TrustRecords) -> None:
    trust_via = f"trust policy of role {role.name}"
    trust_mfa, trust_conditions, trust_bounds = trust
    account = _delegated_account(principal)
    if principal == "*":
        out.notes.append(f"role {role.name} ({role.account}) trusts any AWS principal (\"*\"); "
                         "edges drawn from every collected principal allowed to assume it")
        accounts: list[str] = []
    elif account is not None:
        accounts = [account]
    else:
        found = find_principal(principal)
        source = found.node_id if found else f"aws:{principal}"
        if found is None and not principal.startswith("arn:"):
            out.notes.append(f"role {role.name} ({role.account}) trusts {principal}, which is no longer a "
                             "principal (deleted identities show as unique ids); skipped")
            return
        if source != role.node_id:
            candidates.setdefault(source, []).append(_Candidate(trust_via, trust_mfa, list(trust_conditions),
                                                                bounds=trust_bounds))
        return
    for acct in accounts or sorted(assumers):
        members = assumers.get(acct)
        if members is None:
            out.notes.append(f"role {role.name} ({role.account}) trusts account {acct}, which was not "
                             "collected; who there may assume it is unknown")
            continue
        for assumer in members:
            # the role itself stays a candidate (a no-op) so that holders of one grant share a hub: _delegations
            for index, grant in _allowing_grants(assumer.grants, role):
                by_class.setdefault(assumer.number, []).append(_Candidate(
                    f"{trust_via} (account {acct}) + {grant.via}",
                    trust_mfa or grant.mfa_required,
                    list(trust_conditions) + [c for c in grant.conditions if c not in trust_conditions],
                    trust=(f"{trust_via} (account {acct})", trust_mfa, tuple(trust_conditions), trust_bounds),
                    grant=(grant.via, grant.mfa_required, tuple(grant.conditions), grant.bounds),
                    bounds=tuple(sorted(set(trust_bounds) | set(grant.bounds))),
                    grant_index=index,
                ))


def _delegated_account(principal: str) -> str | None:
    """The account a principal delegates to: `arn:...:iam::<acct>:root` or a bare account id."""
    if _ACCOUNT_ID.match(principal):
        return principal
    parsed = parse_arn(principal)
    if parsed and parsed.service == "iam" and parsed.resource == "root":
        return parsed.account
    return None


def _external_oidc(role: Principal, statement: Statement, host: str, out: TrustRecords) -> None:
    subjects = _subjects(statement, host) or ["*"]
    for subject in subjects:
        source = f"external:oidc/{host}/{subject}"
        out.nodes.append(node(source, Family.IDENTITY, "ServiceIdentity", "external", f"{host} {subject}", "",
                              human=False, oidc_subject=subject, issuer=f"https://{host}"))
        out.edges.append(edge(source, role.node_id, EdgeKind.FEDERATES_TO,
                              f"trust policy of role {role.name} (OIDC provider {host})",
                              mfa_required=False, conditions=render_conditions(statement.condition),
                              **bound_properties(time_bounds(statement.condition))))
        if subject == "*" or "*" in subject:
            out.notes.append(f"role {role.name} ({role.account}) trusts OIDC issuer {host} for subject "
                             f"{subject!r}; any matching workload can assume it")


def _external_saml(role: Principal, statement: Statement, provider: str, out: TrustRecords) -> None:
    """Users of an external SAML identity provider (Okta, AD FS, ...) as one group that federates to the role.

    Who they are and whether the IdP enforces MFA is the IdP's business, so the group is not an
    entry on its own; it shows who else reaches the role (blast radius, who-can-write).
    """
    name = provider.rsplit("/", 1)[-1]
    source = f"external:saml/{provider.split(':')[4]}/{name}"
    out.nodes.append(node(source, Family.IDENTITY, "Group", "external", f"{name} (SAML) users", "",
                          human=False, saml_provider=provider))
    out.edges.append(edge(source, role.node_id, EdgeKind.FEDERATES_TO,
                          f"trust policy of role {role.name} (SAML provider {name})",
                          mfa_required=requires_mfa(statement.condition),
                          conditions=render_conditions(statement.condition),
                          **bound_properties(time_bounds(statement.condition))))
