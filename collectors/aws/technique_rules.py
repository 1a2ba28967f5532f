"""The frame of the AWS privilege-escalation techniques: what a technique may look at (Context: the
account's identities and workloads), what it returns (Hit: a target and the grants that reach it),
and how one is registered (`technique`). The techniques themselves live in techniques_iam (policy
writes and credentials), techniques_pass_role (new compute running as a passed role) and
techniques_workloads (existing workloads and their roles); collectors.aws.escalation runs them all.

Every technique reads the principal's evaluated grants (identity policies after Denies,
permissions boundaries and SCPs), so a boundary or SCP that removes one required action removes
the edge. An edge's `via` names each policy and statement that allowed a required action.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from collectors.aws.policy_documents import Grant, condition_items, matches
from collectors.aws.transform import AccountData, Principal
from collectors.aws.workloads import Inventory, Workload
from graph.schema import EdgeKind
from graph.techniques import CATALOGUE, References, Technique, register


@dataclass
class Context:
    """What techniques may look at besides the principal: its account's identities and workloads."""

    accounts: dict[str, AccountData]
    # user ARN -> {"keys": number of access keys, "password": console password?} (credential report)
    user_facts: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The workload inventory (collectors.aws.workloads): workloads per account and kind, and which kinds
    # were collected for which account (collected and empty is not the same as not collected).
    inventory: Inventory = field(default_factory=Inventory)
    # Facts computed once per run from the collected accounts (roles_trusting).
    derived: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def workloads(self, account: str, kind: str) -> list[Workload]:
        """The account's workloads of a kind (collectors.aws.workloads.KINDS)."""
        return list(self.inventory.workloads(account, kind))

    def collected(self, account: str, kind: str) -> bool:
        """Was the account's inventory of this kind collected (even if empty)?"""
        return self.inventory.collected(account, kind)

    def roles_trusting(self, account: str, services: tuple[str, ...]) -> list[Principal]:
        """The account's roles whose trust policy names one of services (computed once per run)."""
        key = ("roles trusting", account, services)
        if key not in self.derived:
            self.derived[key] = [role for role in self.accounts[account].roles.values()
                                 if trusted_services(role) & set(services)]
        return self.derived[key]

    def identities(self, principal: Principal, *types: str) -> Iterator[Principal]:
        data = self.accounts[principal.account]
        for kind in types:
            for target in {"user": data.users, "group": data.groups, "role": data.roles}[kind].values():
                if target is not principal:
                    yield target


@dataclass
class Hit:
    """One way a principal reaches a target: the grants (one per required action) that allow it."""

    target: Principal
    grants: list[tuple[str, Grant]]  # (action, grant)
    # Why the hit stands on an assumption (inventory that would prove it was not collected); "" when proven.
    assumed: str = ""
    # The workload the hit goes through ("Lambda function billing (arn)"), named in the edge's `via`.
    via: str = ""

    @property
    def bounds(self) -> tuple[str, ...]:
        """The time bounds of every grant the hit needs (all must hold)."""
        return tuple(sorted({bound for _, grant in self.grants for bound in grant.bounds}))


@dataclass(frozen=True)
class Rule:
    """How an AWS technique finds its targets: the catalogue entry's `derive`."""

    find: Callable[[Principal, Context], Iterable[Hit]]
    # What it can reach: "user", "group", "role" (any role, or one trusting `services`), "policy holder",
    # or a workload kind of collectors.aws.workloads.KINDS ("function", "instance", "stack" ...): its role.
    target: str = "role"
    services: tuple[str, ...] = ()


def technique(technique_id: str, title: str, kind: EdgeKind, requires: tuple[str, ...], description: str,
              remediation: str, *, pathfinding: tuple[str, ...] = (), pmapper: str = "", mitre: str = "",
              target: str = "role", services: tuple[str, ...] = (), changes_permissions: bool = False):
    """Register one AWS technique in the catalogue, its finder beside its metadata."""
    def wrap(find: Callable[[Principal, Context], Iterable[Hit]]):
        register(Technique(technique_id, title, "aws", kind, requires, description, remediation,
                           References(pathfinding=pathfinding, pmapper=pmapper, mitre=mitre),
                           changes_permissions, derive=Rule(find, target, services)))
        return find
    return wrap


def techniques() -> list[Technique]:
    """The AWS techniques this module draws (role assumption is drawn by collectors.aws.trust)."""
    return [t for t in CATALOGUE.of("aws") if t.derive is not None]


# While collectors.aws.escalation runs every technique over every principal (`memoized`): each principal's
# grants by action and each role's trusted services, computed once instead of once per (holder, target).
_memo: dict[Any, tuple[Any, Any]] | None = None


@contextmanager
def memoized() -> Iterator[None]:
    global _memo
    _memo = {}
    try:
        yield
    finally:
        _memo = None


def _remember(key: Any, compute: Callable[[], Any]) -> Any:
    """compute() once per key object while memoized (the key is held, so its id stays its own)."""
    if _memo is None:
        return compute()
    found = _memo.get(id(key))
    if found is None or found[0] is not key:
        found = _memo[id(key)] = (key, compute())
    return found[1]


class Watched:
    """A principal's grants as a Probe shows them: `allowing`, `allowing_any` and `can_at_all` read them and
    note the action asked (`asked`); any other read (iteration, length, indexing) sets `touched`."""

    def __init__(self, grants: list[Grant]) -> None:
        self.grants = grants
        self.asked: set[str] = set()
        self.touched = False

    def _read(self) -> list[Grant]:
        self.touched = True
        return self.grants

    def __iter__(self) -> Iterator[Grant]:
        return iter(self._read())

    def __len__(self) -> int:
        return len(self._read())

    def __getitem__(self, index: Any) -> Any:
        return self._read()[index]

    def __contains__(self, item: object) -> bool:
        return item in self._read()


class Probe:
    """A stand-in for a principal while a technique runs on it (collectors.aws.escalation): not the principal
    object, so a technique skipping its holder reaches the principal like any other identity. It shows the
    account, the type and the grants (Watched); reading anything else sets `touched` (the result may then
    depend on who the principal is, not only on what it may do)."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal
        self.account = principal.account
        self.type = principal.type
        self.grants = Watched(principal.grants)
        self.touched = False

    def __getattr__(self, name: str) -> Any:  # only for attributes not set in __init__
        if name == "principal":
            raise AttributeError(name)
        self.touched = True
        return getattr(self.principal, name)


def _grants(principal: Principal, action: str) -> list[Grant]:
    """The grants holding action (all the principal's outside `memoized`), noting the action asked."""
    grants: Any = principal.grants
    if isinstance(grants, Watched):
        grants.asked.add(action)
        grants = grants.grants
    if _memo is None:
        return grants
    key = (id(grants), action)
    found = _memo.get(key)
    if found is None or found[0] is not grants:  # the list is held: its id stays its own
        found = _memo[key] = (grants, [g for g in grants if action in g.actions])
    return found[1]


def allowing(principal: Principal, action: str, resource: str,
             accept: Callable[[Grant], bool] | None = None) -> Grant | None:
    """The grant letting principal do action on resource; a grant without an MFA condition wins, then one
    without time bounds (which may have lapsed by the collection time)."""
    found = [g for g in _grants(principal, action) if g.allows(action, resource) and (accept is None or accept(g))]
    if len(found) < 2:  # the common case: no ordering (and no `via` text) needed
        return found[0] if found else None
    return min(found, key=lambda g: (g.mfa_required, bool(g.bounds), g.via))


def passes_to(grant: Grant, services: tuple[str, ...]) -> bool:
    """Does an `iam:PassedToService` condition on a PassRole grant let the role go to one of services?"""
    for operator, key, values in condition_items(grant.condition):
        op = operator.lower().split(":")[-1]
        if key.lower() != "iam:passedtoservice" or not op.startswith("string"):
            continue
        hit = any(matches(v, s, case_sensitive=False) for v in values for s in services)
        if hit == ("not" in op):
            return False
    return True


def can_at_all(principal: Principal, action: str) -> bool:
    return any(action in g.actions for g in _grants(principal, action))


def identity_rule(types: tuple[str, ...], *actions: str) -> Callable[[Principal, Context], Iterator[Hit]]:
    """Every one of actions on the target identity's ARN."""
    def find(principal: Principal, ctx: Context) -> Iterator[Hit]:
        if not all(can_at_all(principal, a) for a in actions):
            return
        for target in ctx.identities(principal, *types):
            grants = [(a, allowing(principal, a, target.arn)) for a in actions]
            if all(g for _, g in grants):
                yield Hit(target, grants)  # type: ignore[arg-type]
    return find




def allowing_any(principal: Principal, action: str) -> Grant | None:
    """A grant for action on any resource (compute actions are usually granted on `*`); one without time
    bounds first."""
    found = [g for g in _grants(principal, action) if action in g.actions]
    return min(found, key=lambda g: bool(g.bounds)) if found else None


def trusted_services(role: Principal) -> set[str]:
    return _remember(role.trust, lambda: _trusted_services(role))


def _trusted_services(role: Principal) -> set[str]:
    services: set[str] = set()
    for statement in role.trust:
        if statement.effect != "Allow" or not isinstance(statement.principal, dict):
            continue
        value: Any = statement.principal.get("Service", [])
        services.update([value] if isinstance(value, str) else value)
    return services
