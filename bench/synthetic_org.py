"""A synthetic organisation for Crosspath's benchmark, emitted as collector records.

``generate(identities, seed)`` returns one ``CollectResult`` per source (the keys of
``collectors.SOURCES``) whose records follow docs/records.md exactly: the same id
conventions and properties the real collectors emit, so the graph builder, the path
engine and the stores can be timed on a realistic shape rather than on random graphs.

``identities`` counts principals (users, service principals, IAM users and roles, GCP
and Kubernetes service accounts, database logins); groups come on top (about 3%).
Same ``identities`` and ``seed`` give identical records. Shape at N identities:

* split: Entra 30% (users 85%, service principals 15%), AWS 25% (accounts of ~2,000),
  GCP 15% (projects of ~500), Kubernetes 20% (clusters of ~5,000 SAs), databases 10%
  (servers of ~200 logins);
* about 0.5 N resources, ~40% prod, picked with Zipf-like popularity; permission levels
  read 50% / write 40% / admin 10%; humans in 2-6 power-law groups; ~10 edges per identity;
* cross-stack: Entra groups -> AWS Identity Center roles and AKS groups, K8s SAs -> AWS
  roles / GCP SAs / Entra apps (matching ``oidc_subject`` / ``federated_subjects``, a few
  deliberately untrusted), AWS roles -> RDS IAM logins (``aliases``), K8s SAs reading AWS keys.

CLI: ``python bench/synthetic_org.py --identities N --out DIR`` writes
``DIR/<source>/nodes.jsonl``, ``edges.jsonl`` and ``coverage.json`` for inspection.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

import orjson

from collectors import SOURCES
from graph.coverage import CollectResult, Coverage, CoverageStatus
from graph.records import Record, node

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
AS_OF_ISO = "2026-11-01T00:00:00Z"
DOMAIN = "northwind-synth.example"
REGION = "us-east-1"

SHARES = {"entra": 0.30, "aws": 0.25, "gcp": 0.15, "kubernetes": 0.20, "databases": 0.10}
# Resources per principal of each source, so the whole pool is about 0.5 N.
RESOURCES_PER_IDENTITY = {"aws": 0.8, "gcp": 0.55, "kubernetes": 0.1, "databases": 1.9}
ZIPF_RESOURCES = 0.9  # a few hot buckets / tables / namespaces, a long cold tail
ZIPF_GROUPS = 1.0  # a few groups with thousands of members
PROD_SHARE = 0.4


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST = _words(
    "ana ben chloe dev elif femi gita hugo ines jon kara lars mei nils olga pavel quinn rosa sven tara "
    "umar vera wen xavi yara zane aiko bruno chen dara"
)
LAST = _words(
    "adams berg costa diaz evans fischer garcia hale ito jensen khan lopez moreau novak okafor park quist "
    "rossi sato tanaka ueda vogel wong xu young zimmer banerjee castro dubois ek"
)
TEAMS = _words(
    "payments orders billing search identity analytics platform mobile web logistics fleet pricing catalog "
    "checkout fraud growth data ml support security ledger notify media routing"
)
PURPOSES = _words(
    "api worker etl cron deployer reader writer sync export ingest gateway scheduler backup migrator "
    "indexer reporter"
)
GROUP_PURPOSES = _words(
    "engineers oncall readers admins analysts developers leads ops contractors auditors sre release"
)
SSO_PERMISSION_SETS = _words(
    "AdministratorAccess PowerUserAccess ReadOnlyAccess Developer DataEngineer Deployer SecurityAudit Billing"
)

AWS_ACTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "bucket": {
        "read": ("s3:GetObject", "s3:ListBucket"),
        "write": ("s3:PutObject", "s3:DeleteObject", "s3:GetObject"),
        "admin": ("s3:*",),
    },
    "table": {
        "read": ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"),
        "write": ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"),
        "admin": ("dynamodb:*",),
    },
    "queue": {
        "read": ("sqs:ReceiveMessage", "sqs:GetQueueAttributes"),
        "write": ("sqs:SendMessage", "sqs:DeleteMessage"),
        "admin": ("sqs:*",),
    },
    "secret": {
        "read": ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"),
        "write": ("secretsmanager:PutSecretValue", "secretsmanager:UpdateSecret"),
        "admin": ("secretsmanager:*",),
    },
    "function": {
        "read": ("lambda:GetFunction",),
        "write": ("lambda:UpdateFunctionCode", "lambda:InvokeFunction"),
        "admin": ("lambda:*",),
    },
    "key": {"read": ("kms:DescribeKey",), "write": ("kms:Encrypt", "kms:Decrypt"), "admin": ("kms:*",)},
}
AWS_RESOURCE_MIX = (
    ("bucket", 0.45),
    ("table", 0.2),
    ("queue", 0.1),
    ("secret", 0.1),
    ("function", 0.1),
    ("key", 0.05),
)
GCP_ROLES: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    "bucket": {
        "read": ("roles/storage.objectViewer", ("storage.objects.get", "storage.objects.list")),
        "write": ("roles/storage.objectAdmin", ("storage.objects.create", "storage.objects.delete")),
        "admin": ("roles/storage.admin", ("storage.buckets.setIamPolicy", "storage.objects.delete")),
    },
    "dataset": {
        "read": ("roles/bigquery.dataViewer", ("bigquery.tables.getData",)),
        "write": ("roles/bigquery.dataEditor", ("bigquery.tables.updateData",)),
        "admin": ("roles/bigquery.admin", ("bigquery.datasets.update", "bigquery.tables.delete")),
    },
}
K8S_ROLES = {
    "read": ("view", ("get", "list", "watch")),
    "write": ("edit", ("create", "update", "patch", "delete")),
    "admin": ("admin", ("*",)),
}
SQL_PRIVILEGES = {
    "read": ("SELECT",),
    "write": ("SELECT", "INSERT", "UPDATE", "DELETE"),
    "admin": ("ALL PRIVILEGES",),
}
MFA_CONDITION = ["Bool aws:MultiFactorAuthPresent=true"]

_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_DAY_RANGE = 1500
# Day strings around AS_OF, so timestamps cost a list lookup instead of datetime arithmetic.
_DATES = [(AS_OF - timedelta(days=d)).strftime("%Y-%m-%d") for d in range(-_DAY_RANGE, _DAY_RANGE)]


def _date(days_ago: int) -> str:
    return _DATES[days_ago + _DAY_RANGE]


def _stamp(rng: random.Random, days_ago: int) -> str:
    """A time `days_ago` whole days (plus some hours) before AS_OF, so never after it."""
    return f"{_date(days_ago + 1)}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00Z"


def _guid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def _b32(rng: random.Random, length: int) -> str:
    bits = rng.getrandbits(5 * length)
    return "".join(_B32[(bits >> (5 * i)) & 31] for i in range(length))


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _zipf(n: int, exponent: float) -> list[float]:
    return list(accumulate(1.0 / (rank + 1) ** exponent for rank in range(n)))


def _level(x: float) -> str:
    return "read" if x < 0.5 else ("write" if x < 0.9 else "admin")


def _mfa(x: float) -> bool | None:
    return True if x < 0.8 else (False if x < 0.95 else None)


def _env(rng: random.Random) -> str:
    return "prod" if rng.random() < PROD_SHARE else "nonprod"


def _edge(source: str, target: str, kind: str, via: str, **properties: Any) -> Record:
    return {"source": source, "target": target, "kind": kind, "via": via, **properties}


def _transfer(source: str, target: str, kind: str, via: str, mfa_required: bool = False) -> Record:
    return {"source": source, "target": target, "kind": kind, "via": via, "mfa_required": mfa_required}


def _auth(credential: str, identity: str, via: str, mfa: bool | None = False) -> Record:
    return {"source": credential, "target": identity, "kind": "AUTHENTICATES", "via": via, "mfa": mfa}


@dataclass
class _Pool:
    """Resources of one scope with Zipf popularity: index 0 is the hottest."""

    ids: list[str]
    kinds: list[str]
    labels: list[str]
    cum: list[float]

    def pick(self, rng: random.Random, k: int) -> list[int]:
        if not self.ids:
            return []
        # dict.fromkeys drops repeats and keeps draw order, so output stays seed-deterministic.
        return list(dict.fromkeys(rng.choices(range(len(self.ids)), cum_weights=self.cum, k=k)))


def _pool(ids: list[str], kinds: list[str], labels: list[str]) -> _Pool:
    return _Pool(ids, kinds, labels, _zipf(len(ids), ZIPF_RESOURCES))


@dataclass
class _Group:
    id: str
    native: str  # object id / name / email as the other stacks reference it
    name: str


class _Org:
    """Builds every source's records; later sources link to earlier ones (cross-stack edges)."""

    def __init__(self, identities: int, seed: int):
        if identities < 100:
            raise ValueError("identities must be at least 100")
        self.n = identities
        self.seed = seed
        self.rng = random.Random(seed)
        self.nodes: dict[str, list[Record]] = {source: [] for source in SOURCES}
        self.edges: dict[str, list[Record]] = {source: [] for source in SOURCES}
        self.scopes: dict[str, list[str]] = {source: [] for source in SOURCES}
        budget = {source: int(identities * share) for source, share in SHARES.items()}
        budget["databases"] += identities - sum(budget.values())
        self.budget = budget
        self.used_names: set[str] = set()
        self.seen_edges: set[tuple[str, str, str]] = set()

    # -- shared helpers -------------------------------------------------------------------------

    def _once(self, edges: list[Record], record: Record) -> None:
        """Append a randomly paired edge unless the same (source, target, kind) exists already."""
        key = (record["source"], record["target"], record["kind"])
        if key not in self.seen_edges:
            self.seen_edges.add(key)
            edges.append(record)

    def _person(self) -> tuple[str, str]:
        rng = self.rng
        first, last = rng.choice(FIRST), rng.choice(LAST)
        local = first + "." + last
        if local in self.used_names:
            local = f"{local}{rng.randrange(10, 99)}"
            while local in self.used_names:
                local = f"{first}.{last}{rng.randrange(100, 100000)}"
        self.used_names.add(local)
        return local, f"{first.title()} {last.title()}"

    def _console_password(
        self, arn: str, name: str, user_id: str, acct_id: str, mfa: bool | None, nodes: list, edges: list
    ) -> None:
        """An IAM user's console password (LoginProfile) and its sign-in edge."""
        password_id = f"aws:password/{arn}"
        days, created = self._credential_times()
        nodes.append(
            node(password_id, "Credential", "password", "aws", f"{name} console password", acct_id,
                 created=created, expires=None, enabled=True, last_used=self._last_used(days))
        )
        edges.append(_auth(password_id, user_id, "console password (LoginProfile)", mfa=mfa))

    def _credential_times(self, max_age: int = 900) -> tuple[int, str]:
        days = self.rng.randrange(max_age + 1)
        return days, _stamp(self.rng, days)

    def _last_used(self, days: int) -> str | None:
        rng = self.rng
        return _stamp(rng, rng.randrange(min(days, 60) + 1)) if rng.random() < 0.8 else None

    def _grant(
        self,
        edges: list[Record],
        source: str,
        pool: _Pool,
        k: int,
        via: str,
        actions: dict[str, dict[str, tuple[str, ...]]],
    ) -> None:
        rng = self.rng
        for index in pool.pick(rng, k):
            level = _level(rng.random())
            edges.append(
                {
                    "source": source,
                    "target": pool.ids[index],
                    "kind": "HAS_PERMISSION",
                    "via": via,
                    "level": level,
                    "actions": list(actions[pool.kinds[index]][level]),
                }
            )

    def _memberships(
        self,
        edges: list[Record],
        member: str,
        groups: list[_Group],
        cum: list[float],
        low: int,
        high: int,
        via_prefix: str,
    ) -> None:
        rng = self.rng
        wanted = min(rng.randint(low, high), len(groups))
        picks = list(dict.fromkeys(rng.choices(range(len(groups)), cum_weights=cum, k=wanted)))
        while len(picks) < min(low, len(groups)):
            extra = rng.randrange(len(groups))
            if extra not in picks:
                picks.append(extra)
        for index in picks:
            group = groups[index]
            edges.append(_transfer(member, group.id, "MEMBER_OF", f"{via_prefix} {group.name}"))

    # -- Entra ID -------------------------------------------------------------------------------

    def build_entra(self) -> None:
        rng, nodes, edges = self.rng, self.nodes["entra"], self.edges["entra"]
        total = self.budget["entra"]
        n_users = round(total * 0.85)
        n_sps = total - n_users
        self.tenant_guid = _guid(rng)
        tenant = f"entra:tenant/{self.tenant_guid}"
        self.tenant = tenant
        self.scopes["entra"].append(tenant)
        nodes.append(
            node(
                tenant,
                "Resource",
                "tenant",
                "entra",
                DOMAIN,
                "",
                environment="unknown",
                tenant_id=self.tenant_guid,
            )
        )

        self.entra_users: list[tuple[str, str, str]] = []  # (node id, upn, local part)
        for _ in range(n_users):
            oid = _guid(rng)
            local, display = self._person()
            upn = f"{local}@{DOMAIN}"
            user_id = f"entra:{oid}"
            nodes.append(
                {
                    "id": user_id,
                    "family": "Identity",
                    "kind": "User",
                    "provider": "entra",
                    "name": upn,
                    "scope": tenant,
                    "human": True,
                    "mfa": _mfa(rng.random()),
                    "enabled": rng.random() < 0.97,
                    "email": upn,
                    "display_name": display,
                    "user_type": "Member" if rng.random() < 0.95 else "Guest",
                }
            )
            self.entra_users.append((user_id, upn, local))

        n_groups = max(8, n_users // 25)
        groups: list[_Group] = []
        for i in range(n_groups):
            gid = _guid(rng)
            name = f"{rng.choice(TEAMS)}-{rng.choice(GROUP_PURPOSES)}-{i}"
            groups.append(_Group(f"entra:{gid}", gid, name))
            nodes.append(
                node(
                    f"entra:{gid}",
                    "Identity",
                    "Group",
                    "entra",
                    name,
                    tenant,
                    human=False,
                    security_enabled=True,
                )
            )
        self.entra_groups = groups
        cum = _zipf(n_groups, ZIPF_GROUPS)
        for user_id, _, _ in self.entra_users:
            self._memberships(edges, user_id, groups, cum, 2, 6, "Entra group membership:")
        # A few nested groups; a parent always has a lower index, so nesting has no cycles.
        for child in range(1, n_groups):
            if rng.random() < 0.03:
                parent = groups[rng.randrange(child)]
                edges.append(
                    _transfer(
                        groups[child].id, parent.id, "MEMBER_OF", f"Entra group membership: {parent.name}"
                    )
                )
        # PIM for Groups: eligible members activate with MFA.
        for user_index in rng.sample(range(n_users), min(n_users, max(3, n_users // 100))):
            user_id = self.entra_users[user_index][0]
            group = groups[rng.randrange(n_groups)]
            edges.append(
                _transfer(
                    user_id,
                    group.id,
                    "CAN_ASSUME",
                    f"PIM for Groups eligibility: {group.name} (activation requires MFA)",
                    mfa_required=True,
                )
            )
        # Directory roles: a handful of Global Administrators and a role-assignable group.
        for user_index in rng.sample(range(n_users), max(2, n_users // 2500)):
            user_id = self.entra_users[user_index][0]
            edges.append(
                _edge(
                    user_id,
                    tenant,
                    "HAS_PERMISSION",
                    "directory role Global Administrator",
                    level="admin",
                    actions=["microsoft.directory/allEntities/allProperties/allTasks"],
                )
            )
        edges.append(
            _edge(
                groups[-1].id,
                tenant,
                "HAS_PERMISSION",
                "directory role User Administrator",
                level="admin",
                actions=["microsoft.directory/users/allProperties/allTasks"],
            )
        )

        self.entra_sps: list[Record] = []
        for i in range(n_sps):
            app_oid, app_id, sp_oid = _guid(rng), _guid(rng), _guid(rng)
            name = f"{rng.choice(TEAMS)}-{rng.choice(PURPOSES)}-app-{i}"
            sp_id = f"entra:{sp_oid}"
            sp = node(
                sp_id,
                "Identity",
                "ServiceIdentity",
                "entra",
                name,
                tenant,
                human=False,
                enabled=rng.random() < 0.97,
                app_id=app_id,
                application_object_id=app_oid,
                service_principal_type="Application",
            )
            nodes.append(sp)
            self.entra_sps.append(sp)
            roll = rng.random()
            n_secrets = 0 if roll < 0.15 else (1 if roll < 0.8 else 2)
            for _ in range(n_secrets):
                self._entra_credential(app_oid, sp_id, name, "password", "client_secret")
            if rng.random() < 0.25:
                self._entra_credential(app_oid, sp_id, name, "certificate", "certificate")
            if rng.random() < 0.2:
                group = groups[rng.randrange(n_groups)]
                edges.append(_transfer(sp_id, group.id, "MEMBER_OF", f"Entra group membership: {group.name}"))
        for sp in rng.sample(self.entra_sps, max(1, n_sps // 500)):
            edges.append(
                _edge(
                    sp["id"],
                    tenant,
                    "HAS_PERMISSION",
                    "directory role Privileged Role Administrator",
                    level="admin",
                    actions=["microsoft.directory/roleAssignments/allProperties/allTasks"],
                )
            )
            edges.append(
                _transfer(sp["id"], tenant, "CAN_GRANT", "directory role Privileged Role Administrator")
            )

    def _entra_credential(self, app_oid: str, sp_id: str, app_name: str, segment: str, kind: str) -> None:
        rng = self.rng
        key_id = _guid(rng)
        days, created = self._credential_times()
        roll = rng.random()
        # Graph caps new secrets at two years, but old apps still carry "never" (2299) ones.
        expires = None if roll < 0.05 else _stamp(rng, days - rng.choice((180, 365, 730)))
        cred_id = f"entra:{app_oid}/{segment}/{key_id}"
        self.nodes["entra"].append(
            node(
                cred_id,
                "Credential",
                kind,
                "entra",
                f"{app_name} {segment} {key_id[:8]}",
                self.tenant,
                created=created,
                expires=expires,
                key_id=key_id,
                enabled=True,
            )
        )
        self.edges["entra"].append(_auth(cred_id, sp_id, f"{segment}Credentials of application {app_name}"))

    # -- AWS ------------------------------------------------------------------------------------

    def build_aws(self) -> None:
        rng, nodes, edges = self.rng, self.nodes["aws"], self.edges["aws"]
        total = self.budget["aws"]
        n_accounts = max(2, round(total / 2000))
        self.aws_accounts: list[dict[str, Any]] = []
        self.aws_machine_keys: list[str] = []
        seen: set[str] = set()
        for index, size in enumerate(_split(total, n_accounts)):
            account = str(rng.randrange(10**11, 10**12))
            while account in seen:
                account = str(rng.randrange(10**11, 10**12))
            seen.add(account)
            self._aws_account(index, account, size, nodes, edges)
        # Cross-account trusts: a role in one account trusts a role in another.
        for target_account in self.aws_accounts:
            for _ in range(max(1, len(target_account["roles"]) // 100)):
                other = self.aws_accounts[rng.randrange(len(self.aws_accounts))]
                if other is target_account:
                    continue
                source = other["roles"][rng.randrange(len(other["roles"]))]["id"]
                target = target_account["roles"][rng.randrange(len(target_account["roles"]))]
                self._trust(edges, source, target, rng.random() < 0.2)

    def _aws_account(
        self, index: int, account: str, size: int, nodes: list[Record], edges: list[Record]
    ) -> None:
        rng = self.rng
        env = "prod" if rng.random() < PROD_SHARE else "nonprod"
        acct_id = f"aws:account/{account}"
        self.scopes["aws"].append(acct_id)
        name = f"synth-{rng.choice(TEAMS)}-{'prod' if env == 'prod' else 'dev'}-{index}"
        nodes.append(
            node(
                acct_id,
                "Resource",
                "account",
                "aws",
                name,
                "",
                environment=env,
                tags=[f"env={env}"],
                account_id=account,
            )
        )
        iam = f"arn:aws:iam::{account}"

        # Resources of the account.
        ids: list[str] = []
        kinds: list[str] = []
        mix_kinds = [k for k, _ in AWS_RESOURCE_MIX]
        mix_cum = list(accumulate(w for _, w in AWS_RESOURCE_MIX))
        for i in range(round(size * RESOURCES_PER_IDENTITY["aws"])):
            kind = rng.choices(mix_kinds, cum_weights=mix_cum)[0]
            renv = _env(rng)
            base = f"{rng.choice(TEAMS)}-{rng.choice(PURPOSES)}-{'prod' if renv == 'prod' else 'dev'}-{i}"
            if kind == "bucket":
                arn = f"arn:aws:s3:::synth-{account}-{base}"
            elif kind == "table":
                arn = f"arn:aws:dynamodb:{REGION}:{account}:table/{base}"
            elif kind == "queue":
                arn = f"arn:aws:sqs:{REGION}:{account}:{base}"
            elif kind == "secret":
                arn = f"arn:aws:secretsmanager:{REGION}:{account}:secret:{base}-{_b32(rng, 6)}"
            elif kind == "function":
                arn = f"arn:aws:lambda:{REGION}:{account}:function:{base}"
            else:
                arn = f"arn:aws:kms:{REGION}:{account}:key/{_guid(rng)}"
            nodes.append(
                {
                    "id": f"aws:{arn}",
                    "family": "Resource",
                    "kind": kind,
                    "provider": "aws",
                    "name": arn.rsplit(":", 1)[-1].rsplit("/", 1)[-1],
                    "scope": acct_id,
                    "environment": renv,
                    "tags": [f"env={renv}"],
                    "arn": arn,
                }
            )
            ids.append(f"aws:{arn}")
            kinds.append(kind)
        pool = _pool(ids, kinds, ids)

        n_users = round(size * 0.4)
        n_humans = round(n_users * 0.55)
        n_machines = n_users - n_humans
        n_roles = size - n_users
        record: dict[str, Any] = {
            "account": account,
            "id": acct_id,
            "roles": [],
            "regular_roles": [],
            "sso_roles": [],
            "humans": [],
        }

        # Groups, humans in 2-6 of them.
        groups: list[_Group] = []
        for i in range(max(3, n_humans // 12)):
            gname = f"{rng.choice(TEAMS)}-{rng.choice(GROUP_PURPOSES)}-{i}"
            group_id = f"aws:{iam}:group/{gname}"
            groups.append(_Group(group_id, gname, gname))
            nodes.append(node(group_id, "Identity", "Group", "aws", gname, acct_id, human=False))
            self._grant(
                edges, group_id, pool, rng.randint(20, 120), f"{iam}:policy/{gname}-access", AWS_ACTIONS
            )
        group_cum = _zipf(len(groups), ZIPF_GROUPS)

        entra_users = self.entra_users
        from_entra = rng.sample(range(len(entra_users)), min(len(entra_users), round(n_humans * 0.7)))
        for i in range(n_humans):
            if i < len(from_entra):
                _, email, local = entra_users[from_entra[i]]
            else:
                local, email = f"{rng.choice(FIRST)}.{rng.choice(LAST)}-{i}", None
            arn = f"{iam}:user/{local}"
            user_id = f"aws:{arn}"
            mfa = _mfa(rng.random())
            nodes.append(
                {
                    "id": user_id,
                    "family": "Identity",
                    "kind": "User",
                    "provider": "aws",
                    "name": local,
                    "scope": acct_id,
                    "human": True,
                    "mfa": mfa,
                    "enabled": True,
                    "email": email,
                    "arn": arn,
                    "tags": [f"email={email}"] if email else [],
                }
            )
            record["humans"].append(user_id)
            self._console_password(arn, local, user_id, acct_id, mfa, nodes, edges)
            if rng.random() < 0.3:
                self._access_key(user_id, local, acct_id, nodes, edges, machine=False)
            self._memberships(edges, user_id, groups, group_cum, 2, 6, "IAM group membership:")
            if rng.random() < 0.5:
                self._grant(
                    edges, user_id, pool, rng.randint(1, 3), f"inline policy {local}-extra", AWS_ACTIONS
                )

        for i in range(n_machines):
            uname = f"svc-{rng.choice(TEAMS)}-{rng.choice(PURPOSES)}-{i}"
            arn = f"{iam}:user/{uname}"
            user_id = f"aws:{arn}"
            nodes.append(
                {
                    "id": user_id,
                    "family": "Identity",
                    "kind": "ServiceIdentity",
                    "provider": "aws",
                    "name": uname,
                    "scope": acct_id,
                    "human": False,
                    "mfa": False,
                    "enabled": True,
                    "arn": arn,
                    "tags": ["type=service"],
                }
            )
            for _ in range(1 if rng.random() < 0.7 else 2):
                self._access_key(user_id, uname, acct_id, nodes, edges, machine=True)
            if rng.random() < 0.08:
                self._console_password(arn, uname, user_id, acct_id, False, nodes, edges)
            self._grant(
                edges, user_id, pool, rng.randint(2, 12), f"inline policy {uname}-policy", AWS_ACTIONS
            )

        # Roles: Identity Center roles first, then workload / ops roles.
        n_sso = min(len(SSO_PERMISSION_SETS), max(2, n_roles // 150))
        for i in range(n_roles):
            if i < n_sso:
                permission_set = SSO_PERMISSION_SETS[i]
                rname = f"AWSReservedSSO_{permission_set}_{rng.getrandbits(64):016x}"
                arn = f"{iam}:role/aws-reserved/sso.amazonaws.com/{rname}"
            else:
                permission_set = ""
                rname = f"{rng.choice(TEAMS)}-{rng.choice(PURPOSES)}-role-{i}"
                arn = f"{iam}:role/{rname}"
            role_id = f"aws:{arn}"
            role = node(role_id, "Identity", "Role", "aws", rname, acct_id, human=False, arn=arn)
            nodes.append(role)
            record["roles"].append(role)
            if permission_set:
                record["sso_roles"].append(role)
                self._sso_role(edges, role, permission_set, account, acct_id, pool)
            else:
                record["regular_roles"].append(role)
                if rng.random() < 0.006:
                    edges.append(
                        _edge(
                            role_id,
                            acct_id,
                            "HAS_PERMISSION",
                            "arn:aws:iam::aws:policy/AdministratorAccess",
                            level="admin",
                            actions=["*"],
                        )
                    )
                else:
                    self._grant(
                        edges, role_id, pool, rng.randint(5, 60), f"{iam}:policy/{rname}-policy", AWS_ACTIONS
                    )
                # Trust chains: a role trusts an earlier role or a human user of the account.
                if rng.random() < 0.35 and len(record["roles"]) > 1:
                    if rng.random() < 0.7:
                        source = record["roles"][rng.randrange(len(record["roles"]) - 1)]["id"]
                    else:
                        source = record["humans"][rng.randrange(len(record["humans"]))]
                    self._trust(edges, source, role, rng.random() < 0.2)
        # Scope admins: one human per account holds AdministratorAccess.
        edges.append(
            _edge(
                record["humans"][0],
                acct_id,
                "HAS_PERMISSION",
                "arn:aws:iam::aws:policy/AdministratorAccess",
                level="admin",
                actions=["*"],
            )
        )
        # Cycles: role pairs that trust each other.
        regular = record["regular_roles"]
        for _ in range(max(1, len(regular) // 400)):
            a, b = rng.sample(regular, 2)
            self._trust(edges, a["id"], b, False)
            self._trust(edges, b["id"], a, False)
        # iam:PassRole and iam:CreateAccessKey: escalation edges from a few principals.
        for _ in range(max(1, len(regular) // 100)):
            source = regular[rng.randrange(len(regular))]
            target = regular[rng.randrange(len(regular))]
            if source is not target:
                self._once(
                    edges,
                    _transfer(
                        source["id"],
                        target["id"],
                        "CAN_RUN_AS",
                        f"iam:PassRole in {iam}:policy/{source['name']}-policy",
                    ),
                )
        self.aws_accounts.append(record)

    def _access_key(
        self,
        user_id: str,
        user_name: str,
        acct_id: str,
        nodes: list[Record],
        edges: list[Record],
        machine: bool,
    ) -> None:
        rng = self.rng
        key = "AKIA" + _b32(rng, 16)
        key_node_id = f"aws:access-key/{key}"
        days, created = self._credential_times()
        enabled = rng.random() < 0.9
        nodes.append(
            node(
                key_node_id,
                "Credential",
                "access_key",
                "aws",
                key,
                acct_id,
                created=created,
                expires=None,
                enabled=enabled,
                key_id=key,
                user=user_name,
                last_used=self._last_used(days) if enabled else None,
            )
        )
        edges.append(_auth(key_node_id, user_id, f"access key of IAM user {user_name}"))
        if machine and enabled:
            self.aws_machine_keys.append(key_node_id)

    def _sso_role(
        self, edges: list[Record], role: Record, permission_set: str, account: str, acct_id: str, pool: _Pool
    ) -> None:
        rng = self.rng
        via = f"IAM Identity Center permission set {permission_set}"
        if permission_set == "AdministratorAccess":
            edges.append(_edge(role["id"], acct_id, "HAS_PERMISSION", via, level="admin", actions=["*"]))
        elif permission_set == "ReadOnlyAccess" or permission_set == "SecurityAudit":
            for index in pool.pick(rng, rng.randint(50, 200)):
                edges.append(
                    {
                        "source": role["id"],
                        "target": pool.ids[index],
                        "kind": "HAS_PERMISSION",
                        "via": via,
                        "level": "read",
                        "actions": list(AWS_ACTIONS[pool.kinds[index]]["read"]),
                    }
                )
        else:
            self._grant(edges, role["id"], pool, rng.randint(30, 150), via, AWS_ACTIONS)
        # Entra groups synced by SCIM and assigned this permission set in the account.
        for group in rng.sample(self.entra_groups, min(len(self.entra_groups), rng.randint(1, 3))):
            edges.append(
                _transfer(
                    group.id,
                    role["id"],
                    "CAN_ASSUME",
                    f"IAM Identity Center assignment: group {group.name} -> {permission_set} in {account}",
                )
            )

    def _trust(self, edges: list[Record], source: str, role: Record, mfa_required: bool) -> None:
        record = _transfer(
            source,
            role["id"],
            "CAN_ASSUME",
            f"trust policy of role {role['name']}",
            mfa_required=mfa_required,
        )
        if mfa_required:
            record["conditions"] = list(MFA_CONDITION)
        self._once(edges, record)

    # -- GCP ------------------------------------------------------------------------------------

    def build_gcp(self) -> None:
        rng, nodes, edges = self.rng, self.nodes["gcp"], self.edges["gcp"]
        total = self.budget["gcp"]
        org_number = str(rng.randrange(10**11, 10**12))
        org = f"gcp:organizations/{org_number}"
        self.scopes["gcp"].append(org)
        nodes.append(node(org, "Resource", "organization", "gcp", DOMAIN, "", environment="unknown"))
        n_users = round(total * 0.4)
        n_sas = total - n_users
        n_projects = max(1, round(total / 500))

        self.gcp_projects: list[dict[str, Any]] = []
        for index in range(n_projects):
            env = _env(rng)
            label = "prod" if env == "prod" else "dev"
            project = f"{rng.choice(TEAMS)}-{label}-{rng.randrange(1000, 9999)}-{index}"
            project_id = f"gcp:projects/{project}"
            self.scopes["gcp"].append(project_id)
            nodes.append(
                node(
                    project_id,
                    "Resource",
                    "project",
                    "gcp",
                    project,
                    org,
                    environment=env,
                    tags=[f"env={'prod' if env == 'prod' else 'dev'}"],
                    parent=org,
                )
            )
            self.gcp_projects.append({"project": project, "id": project_id, "sas": []})

        # Buckets and datasets of each project.
        for record, size in zip(self.gcp_projects, _split(n_sas, n_projects), strict=True):
            project, ids, kinds = record["project"], [], []
            for i in range(round(size * RESOURCES_PER_IDENTITY["gcp"] / 0.6)):
                renv = _env(rng)
                base = f"{rng.choice(TEAMS)}-{rng.choice(PURPOSES)}-{i}"
                if rng.random() < 0.7:
                    res_id, kind, name = f"gcp:buckets/{project}-{base}", "bucket", f"{project}-{base}"
                else:
                    name = base.replace("-", "_")
                    res_id, kind = f"gcp:projects/{project}/datasets/{name}", "dataset"
                nodes.append(
                    {
                        "id": res_id,
                        "family": "Resource",
                        "kind": kind,
                        "provider": "gcp",
                        "name": name,
                        "scope": record["id"],
                        "environment": renv,
                        "tags": [f"env={'prod' if renv == 'prod' else 'dev'}"],
                    }
                )
                ids.append(res_id)
                kinds.append(kind)
            record["pool"] = _pool(ids, kinds, ids)
            record["size"] = size

        # Users are the organisation's people (mostly the Entra ones) plus a few outside accounts.
        entra_users = self.entra_users
        picks = rng.sample(range(len(entra_users)), min(len(entra_users), round(n_users * 0.9)))
        users: list[str] = []
        for i in range(n_users):
            email = entra_users[picks[i]][1] if i < len(picks) else f"partner.{i}@gmail.com"
            user_id = f"gcp:user/{email}"
            users.append(user_id)
            nodes.append(
                node(
                    user_id,
                    "Identity",
                    "User",
                    "gcp",
                    email,
                    org,
                    human=True,
                    mfa=_mfa(rng.random()),
                    email=email,
                )
            )
        groups: list[_Group] = []
        for i in range(max(3, n_users // 20)):
            email = f"{rng.choice(TEAMS)}-{rng.choice(GROUP_PURPOSES)}-{i}@{DOMAIN}"
            group_id = f"gcp:group/{email}"
            groups.append(_Group(group_id, email, email))
            nodes.append(node(group_id, "Identity", "Group", "gcp", email, org, human=False, email=email))
            for project in rng.sample(self.gcp_projects, min(n_projects, rng.randint(1, 3))):
                self._gcp_grant(edges, group_id, project, rng.randint(10, 60))
        self.gcp_groups = groups
        group_cum = _zipf(len(groups), ZIPF_GROUPS)
        for user_id in users:
            self._memberships(edges, user_id, groups, group_cum, 2, 6, "Google group membership:")
            if rng.random() < 0.6:
                project = self.gcp_projects[rng.randrange(n_projects)]
                self._gcp_grant(edges, user_id, project, rng.randint(1, 4))
        edges.append(
            _edge(
                groups[0].id,
                org,
                "HAS_PERMISSION",
                "organization IAM policy: roles/resourcemanager.organizationAdmin",
                level="admin",
                actions=["resourcemanager.organizations.setIamPolicy"],
            )
        )

        for record in self.gcp_projects:
            project, project_id = record["project"], record["id"]
            for i in range(record["size"]):
                email = f"{rng.choice(TEAMS)}-{rng.choice(PURPOSES)}-{i}@{project}.iam.gserviceaccount.com"
                sa_id = f"gcp:serviceAccount/{email}"
                sa = node(
                    sa_id,
                    "Identity",
                    "ServiceIdentity",
                    "gcp",
                    email,
                    project_id,
                    human=False,
                    email=email,
                    enabled=rng.random() < 0.96,
                )
                nodes.append(sa)
                record["sas"].append(sa)
                roll = rng.random()
                for _ in range(0 if roll < 0.55 else (1 if roll < 0.9 else 2)):
                    self._gcp_key(sa_id, email, project_id)
                roll = rng.random()
                if roll < 0.02:
                    edges.append(
                        _edge(
                            sa_id,
                            project_id,
                            "HAS_PERMISSION",
                            f"projects/{project} IAM policy: roles/editor",
                            level="write",
                            actions=["*.create", "*.update", "*.delete"],
                        )
                    )
                else:
                    self._gcp_grant(edges, sa_id, record, rng.randint(5, 30))
            sas = record["sas"]
            # Owners: scope-admin grants on the project.
            owner = users[rng.randrange(len(users))]
            edges.append(
                _edge(
                    owner,
                    project_id,
                    "HAS_PERMISSION",
                    f"projects/{project} IAM policy: roles/owner",
                    level="admin",
                    actions=["resourcemanager.projects.setIamPolicy"],
                )
            )
            for _ in range(max(1, len(sas) // 30)):
                source, target = sas[rng.randrange(len(sas))], sas[rng.randrange(len(sas))]
                if source is not target:
                    self._once(
                        edges,
                        _transfer(
                            source["id"],
                            target["id"],
                            "CAN_IMPERSONATE",
                            f"{target['name']} IAM policy: roles/iam.serviceAccountTokenCreator",
                        ),
                    )
            for _ in range(max(1, len(sas) // 50)):
                user, target = users[rng.randrange(len(users))], sas[rng.randrange(len(sas))]
                self._once(
                    edges,
                    _transfer(
                        user,
                        target["id"],
                        "CAN_IMPERSONATE",
                        f"{target['name']} IAM policy: roles/iam.serviceAccountUser",
                    ),
                )
            for _ in range(max(1, len(sas) // 200)):
                source, target = sas[rng.randrange(len(sas))], sas[rng.randrange(len(sas))]
                if source is not target:
                    self._once(
                        edges,
                        _transfer(
                            source["id"],
                            target["id"],
                            "CAN_CREATE_CREDENTIAL",
                            f"projects/{project} IAM policy: roles/iam.serviceAccountKeyAdmin",
                        ),
                    )

    def _gcp_grant(self, edges: list[Record], principal: str, project: dict[str, Any], k: int) -> None:
        rng, pool = self.rng, project["pool"]
        for index in pool.pick(rng, k):
            level = _level(rng.random())
            role, actions = GCP_ROLES[pool.kinds[index]][level]
            edges.append(
                {
                    "source": principal,
                    "target": pool.ids[index],
                    "kind": "HAS_PERMISSION",
                    "via": f"{pool.labels[index]} IAM policy: {role}",
                    "level": level,
                    "actions": list(actions),
                }
            )

    def _gcp_key(self, sa_id: str, email: str, project_id: str) -> None:
        rng = self.rng
        key_id = f"{rng.getrandbits(160):040x}"
        cred_id = f"{sa_id}/key/{key_id}"
        days, created = self._credential_times()
        # An org policy (iam.serviceAccountKeyExpiryHours) gives some keys an end date.
        expires = _stamp(rng, days - rng.choice((90, 365))) if rng.random() < 0.15 else None
        self.nodes["gcp"].append(
            node(
                cred_id,
                "Credential",
                "sa_key",
                "gcp",
                f"{email} key {key_id[:8]}",
                project_id,
                created=created,
                expires=expires,
                key_id=key_id,
                enabled=rng.random() < 0.92,
                key_type="USER_MANAGED",
            )
        )
        self.edges["gcp"].append(_auth(cred_id, sa_id, f"user-managed key of {email}"))

    # -- Databases ------------------------------------------------------------------------------

    def build_databases(self) -> None:
        rng = self.rng
        nodes, edges = self.nodes["databases"], self.edges["databases"]
        total = self.budget["databases"]
        n_servers = max(2, round(total / 200))
        for index, size in enumerate(_split(total, n_servers)):
            engine = ("postgres", "mysql", "postgres", "postgres", "mysql")[index % 5]
            env = _env(rng)
            server = f"{rng.choice(TEAMS)}-{'prod' if env == 'prod' else 'dev'}-{index}"
            server_id = f"{engine}:{server}"
            self.scopes["databases"].append(server_id)
            rds = None
            props: dict[str, Any] = {"environment": env, "tags": [f"env={env}"], "engine": engine}
            # The first server is always RDS with IAM auth, so even a small org has AWS -> DB paths.
            if engine == "postgres" and (index == 0 or rng.random() < 0.6):
                account = self.aws_accounts[rng.randrange(len(self.aws_accounts))]
                rds = (account, f"db-{_b32(rng, 26)}")
                props.update(aws_account=account["account"], dbi_resource_id=rds[1], region=REGION)
            nodes.append(node(server_id, "Resource", "server", engine, server, "", **props))
            self._db_server(engine, server, server_id, size, rds, nodes, edges)

    def _db_server(
        self,
        engine: str,
        server: str,
        server_id: str,
        size: int,
        rds: tuple[dict[str, Any], str] | None,
        nodes: list[Record],
        edges: list[Record],
    ) -> None:
        rng = self.rng
        n_tables = round(size * RESOURCES_PER_IDENTITY["databases"])
        n_dbs = rng.randint(3, 6)
        databases, ids, kinds, labels = [], [], [], []
        for d in range(n_dbs):
            db = f"{rng.choice(TEAMS)}_{d}"
            db_id = f"{server_id}/db/{db}"
            denv = _env(rng)
            nodes.append(node(db_id, "Resource", "database", engine, db, server_id, environment=denv))
            databases.append((db_id, db, denv))
        for t in range(n_tables):
            db_id, db, denv = databases[rng.randrange(n_dbs)]
            table = f"{rng.choice(TEAMS)}_{rng.choice(PURPOSES)}_{t}"
            if engine == "postgres":
                schema = "public" if rng.random() < 0.8 else "reporting"
                table_id, label = f"{db_id}/schema/{schema}/table/{table}", f"{schema}.{table}"
            else:
                table_id, label = f"{db_id}/table/{table}", f"{db}.{table}"
            nodes.append(
                {
                    "id": table_id,
                    "family": "Resource",
                    "kind": "table",
                    "provider": engine,
                    "name": label,
                    "scope": server_id,
                    "environment": denv,
                }
            )
            ids.append(table_id)
            kinds.append("table")
            labels.append(label)
        pool = _pool(ids, kinds, labels)

        groups: list[_Group] = []
        if engine == "postgres":
            for g in range(max(2, size // 15)):
                gname = f"{rng.choice(TEAMS)}_{rng.choice(('readers', 'writers', 'owners', 'etl'))}_{g}"
                group_id = f"postgres:{server}/role/{gname}"
                groups.append(_Group(group_id, gname, gname))
                nodes.append(
                    node(
                        group_id,
                        "Identity",
                        "Group",
                        "postgres",
                        gname,
                        server_id,
                        human=False,
                        can_login=False,
                    )
                )
                self._sql_grant(edges, group_id, gname, pool, rng.randint(20, 80))
        group_cum = _zipf(len(groups), ZIPF_GROUPS) if groups else []

        entra_users = self.entra_users
        iam_logins: list[tuple[str, str]] = []
        for i in range(size):
            human = rng.random() < 0.2
            if human:
                _, email, local = entra_users[rng.randrange(len(entra_users))]
                login = f"{local.replace('.', '_')}_{i}"
            else:
                email = None
                login = f"app_{rng.choice(TEAMS)}_{rng.choice(PURPOSES)}_{i}"
            if engine == "postgres":
                login_id = f"postgres:{server}/role/{login}"
                password_id = f"{login_id}/password"
            else:
                host = "%" if rng.random() < 0.8 else "10.0.%"
                login_id = f"mysql:{server}/user/{login}@{host}"
                password_id = f"{login_id}/password"
            locked = rng.random() < 0.03
            props: dict[str, Any] = {"human": human, "mfa": False, "enabled": not locked, "can_login": True}
            if email:
                props["email"] = email
            iam_auth = rds is not None and not human and rng.random() < 0.15
            if iam_auth:
                account, dbi = rds
                alias = f"aws:arn:aws:rds-db:{REGION}:{account['account']}:dbuser:{dbi}/{login}"
                props["aliases"] = [alias]
                iam_logins.append((alias, login))
            nodes.append(
                node(
                    login_id,
                    "Identity",
                    "User" if human else "ServiceIdentity",
                    engine,
                    login,
                    server_id,
                    **props,
                )
            )
            if not iam_auth:
                if engine == "postgres":
                    # pg_authid keeps no password date; valuntil is the only expiry.
                    created = None
                    expires = _stamp(rng, -rng.randrange(30, 365)) if rng.random() < 0.1 else None
                else:
                    days, created = self._credential_times()
                    expires = _date(days - 90) + "T00:00:00Z" if rng.random() < 0.2 else None
                nodes.append(
                    node(
                        password_id,
                        "Credential",
                        "password",
                        engine,
                        f"{login} password",
                        server_id,
                        created=created,
                        expires=expires,
                        enabled=not locked,
                    )
                )
                edges.append(_auth(password_id, login_id, f"password of {login}"))
            if groups and rng.random() < 0.7:
                self._memberships(edges, login_id, groups, group_cum, 1, 3, "GRANT role")
            self._sql_grant(edges, login_id, login, pool, rng.randint(4, 20))
            if rng.random() < 0.01:
                db_id, db, _ = databases[rng.randrange(n_dbs)]
                edges.append(
                    _edge(
                        login_id,
                        db_id,
                        "HAS_PERMISSION",
                        f"OWNER of database {db}",
                        level="admin",
                        actions=["ALL PRIVILEGES"],
                    )
                )
            if i < 2 and not locked:
                via = "SUPERUSER" if engine == "postgres" else "GRANT ALL PRIVILEGES ON *.* WITH GRANT OPTION"
                edges.append(
                    _edge(
                        login_id, server_id, "HAS_PERMISSION", via, level="admin", actions=["ALL PRIVILEGES"]
                    )
                )
        # AWS roles of the RDS account connect as the IAM-auth logins (emitted by the AWS side).
        if rds is not None:
            roles = rds[0]["regular_roles"]
            for alias, login in iam_logins:
                role = roles[rng.randrange(len(roles))]
                self.edges["aws"].append(
                    _transfer(
                        role["id"],
                        alias,
                        "FEDERATES_TO",
                        f"rds-db:connect as {login} in policy {role['name']}-policy",
                    )
                )

    def _sql_grant(self, edges: list[Record], grantee_id: str, grantee: str, pool: _Pool, k: int) -> None:
        rng = self.rng
        for index in pool.pick(rng, k):
            level = _level(rng.random())
            privileges = SQL_PRIVILEGES[level]
            edges.append(
                {
                    "source": grantee_id,
                    "target": pool.ids[index],
                    "kind": "HAS_PERMISSION",
                    "via": f"GRANT {', '.join(privileges)} ON {pool.labels[index]} TO {grantee}",
                    "level": level,
                    "actions": list(privileges),
                }
            )

    # -- Kubernetes -----------------------------------------------------------------------------

    def build_kubernetes(self) -> None:
        rng = self.rng
        nodes, edges = self.nodes["kubernetes"], self.edges["kubernetes"]
        total = self.budget["kubernetes"]
        n_clusters = max(3, round(total / 5000))
        all_sas: list[tuple[str, str, str]] = []  # (node id, cluster, namespace)
        for index, size in enumerate(_split(total, n_clusters)):
            flavour = ("eks", "gke", "aks")[index % 3]
            env = "prod" if index % 5 in (0, 2) else "nonprod"
            cluster = f"{flavour}-{'prod' if env == 'prod' else 'dev'}-{index}"
            cluster_id = f"k8s:{cluster}"
            self.scopes["kubernetes"].append(cluster_id)
            props: dict[str, Any] = {"environment": env, "tags": [f"env={env}"], "platform": flavour}
            link: dict[str, Any] = {}
            if flavour == "eks":
                link = self.aws_accounts[rng.randrange(len(self.aws_accounts))]
                issuer = f"https://oidc.eks.{REGION}.amazonaws.com/id/{rng.getrandbits(128):032X}"
                props.update(aws_account=link["account"], oidc_issuer=issuer)
            elif flavour == "gke":
                link = self.gcp_projects[rng.randrange(len(self.gcp_projects))]
                props.update(gcp_project=link["project"])
            else:
                props.update(entra_tenant=self.tenant_guid)
            nodes.append(node(cluster_id, "Resource", "cluster", "k8s", cluster, "", **props))
            all_sas.extend(self._cluster(cluster, cluster_id, flavour, size, link, nodes, edges))

        # Opaque secrets holding AWS access keys that some service accounts can read.
        keys = self.aws_machine_keys
        for j in range(max(5, self.n // 300) if keys else 0):
            sa_id, _, namespace = all_sas[rng.randrange(len(all_sas))]
            key = keys[rng.randrange(len(keys))]
            via = (
                f"Role {namespace}/secret-reader (get secrets) -> Secret {namespace}/aws-creds-{j} "
                "holds AWS_ACCESS_KEY_ID"
            )
            self._once(edges, _transfer(sa_id, key, "CAN_READ_SECRET", via))

    def _cluster(
        self,
        cluster: str,
        cluster_id: str,
        flavour: str,
        size: int,
        link: dict[str, Any],
        nodes: list[Record],
        edges: list[Record],
    ) -> list[tuple[str, str, str]]:
        rng = self.rng
        n_ns = max(3, round(size * RESOURCES_PER_IDENTITY["kubernetes"]))
        namespaces: list[str] = []
        ids: list[str] = []
        for i in range(n_ns):
            namespace = f"{rng.choice(TEAMS)}-{rng.choice(PURPOSES)}-{i}"
            namespaces.append(namespace)
            ns_id = f"k8s:{cluster}/ns/{namespace}"
            ids.append(ns_id)
            env = _env(rng)
            nodes.append(
                {
                    "id": ns_id,
                    "family": "Resource",
                    "kind": "namespace",
                    "provider": "k8s",
                    "name": namespace,
                    "scope": cluster_id,
                    "environment": env,
                    "tags": [f"env={env}"],
                }
            )
        pool = _pool(ids, ["namespace"] * n_ns, namespaces)
        k8s_actions = {"namespace": {level: actions for level, (_, actions) in K8S_ROLES.items()}}

        sas: list[tuple[str, str, str]] = []
        by_namespace: dict[int, list[str]] = {}
        for i in range(size):
            ns_index = rng.randrange(n_ns)
            namespace = namespaces[ns_index]
            name = f"{rng.choice(PURPOSES)}-{i}"
            sa_id = f"k8s:{cluster}/sa/{namespace}/{name}"
            subject = f"system:serviceaccount:{namespace}:{name}"
            sa = node(
                sa_id,
                "Identity",
                "ServiceIdentity",
                "k8s",
                f"{namespace}/{name}",
                cluster_id,
                human=False,
                namespace=namespace,
                oidc_subject=subject,
            )
            nodes.append(sa)
            sas.append((sa_id, cluster, namespace))
            by_namespace.setdefault(ns_index, []).append(sa_id)
            level = _level(rng.random())
            role, actions = K8S_ROLES[level]
            edges.append(
                {
                    "source": sa_id,
                    "target": ids[ns_index],
                    "kind": "HAS_PERMISSION",
                    "via": f"RoleBinding {namespace}/{name}-{role} -> ClusterRole {role}",
                    "level": level,
                    "actions": list(actions),
                }
            )
            extra = rng.choice((0, 0, 1, 1, 2, 3, 5, 8))
            for index in pool.pick(rng, extra):
                if index != ns_index:
                    level = _level(rng.random())
                    role, actions = K8S_ROLES[level]
                    edges.append(
                        {
                            "source": sa_id,
                            "target": ids[index],
                            "kind": "HAS_PERMISSION",
                            "via": f"RoleBinding {namespaces[index]}/{namespace}-{name}-{role} -> "
                            f"ClusterRole {role}",
                            "level": level,
                            "actions": list(actions),
                        }
                    )
            if rng.random() < 0.08:
                secret = f"{name}-token"
                secret_id = f"k8s:{cluster}/secret/{namespace}/{secret}"
                days = rng.randint(180, 900)
                nodes.append(
                    node(
                        secret_id,
                        "Credential",
                        "token",
                        "k8s",
                        f"{namespace}/{secret}",
                        cluster_id,
                        created=_stamp(rng, days),
                        expires=None,
                        enabled=True,
                        secret_type="kubernetes.io/service-account-token",
                    )
                )
                edges.append(_auth(secret_id, sa_id, f"legacy token Secret {namespace}/{secret}"))
                if rng.random() < 0.2 and by_namespace[ns_index][0] != sa_id:
                    edges.append(
                        _transfer(
                            by_namespace[ns_index][0],
                            secret_id,
                            "CAN_READ_SECRET",
                            f"Role {namespace}/secret-reader (get secrets)",
                        )
                    )
            if rng.random() < 0.03 and len(by_namespace[ns_index]) > 1:
                target = by_namespace[ns_index][rng.randrange(len(by_namespace[ns_index]) - 1)]
                edges.append(
                    _transfer(
                        sa_id,
                        target,
                        "CAN_RUN_AS",
                        f"create pods in {namespace} (ClusterRole edit) mounting any service account",
                    )
                )
            if rng.random() < 0.05:
                self._federate(sa, subject, flavour, link, edges)
        for _ in range(max(1, size // 1000)):
            sa_id = sas[rng.randrange(len(sas))][0]
            self._once(
                edges,
                _edge(
                    sa_id,
                    cluster_id,
                    "HAS_PERMISSION",
                    f"ClusterRoleBinding {sa_id.rsplit('/', 1)[-1]}-admin -> ClusterRole cluster-admin",
                    level="admin",
                    actions=["*"],
                ),
            )

        # Group subjects, bound to many namespaces and linked to the identity provider.
        n_groups = max(4, size // 250)
        entra_groups = rng.sample(self.entra_groups, min(n_groups, len(self.entra_groups)))
        gcp_groups = rng.sample(self.gcp_groups, min(n_groups, len(self.gcp_groups)))
        for g in range(n_groups):
            if flavour == "aks" and g < len(entra_groups):
                entra_group = entra_groups[g]
                native, source, kind = entra_group.native, entra_group.id, "MEMBER_OF"
                via = f"AKS Entra ID integration: group {entra_group.name}"
            elif flavour == "gke" and g < len(gcp_groups):
                gcp_group = gcp_groups[g]
                native, source, kind = gcp_group.native, gcp_group.id, "MEMBER_OF"
                via = "GKE Google Groups for RBAC"
            elif flavour == "eks":
                native = (
                    "system:masters" if g == 0 else f"{rng.choice(TEAMS)}-{rng.choice(GROUP_PURPOSES)}-{g}"
                )
                role = link["roles"][rng.randrange(len(link["roles"]))]
                source, kind = role["id"], "FEDERATES_TO"
                via = f"aws-auth ConfigMap mapRoles: {role['name']} -> group {native}"
            else:
                break
            group_id = f"k8s:{cluster}/group/{native}"
            nodes.append(node(group_id, "Identity", "Group", "k8s", native, cluster_id, human=False))
            edges.append(_transfer(source, group_id, kind, via))
            if g == 0:
                edges.append(
                    _edge(
                        group_id,
                        cluster_id,
                        "HAS_PERMISSION",
                        f"ClusterRoleBinding {native}-admins -> ClusterRole cluster-admin",
                        level="admin",
                        actions=["*"],
                    )
                )
            else:
                self._grant(
                    edges, group_id, pool, rng.randint(10, 60), f"RoleBindings of group {native}", k8s_actions
                )
        return sas

    def _federate(
        self, sa: Record, subject: str, flavour: str, link: dict[str, Any], edges: list[Record]
    ) -> None:
        """Workload identity: the target trusts the SA's subject, except a few misconfigured ones."""
        rng = self.rng
        name = sa["name"]
        if flavour == "eks":
            target = link["regular_roles"][rng.randrange(len(link["regular_roles"]))]
            via = f"annotation eks.amazonaws.com/role-arn on ServiceAccount {name}"
        elif flavour == "gke":
            project_sas = link["sas"]
            target = project_sas[rng.randrange(len(project_sas))]
            via = f"annotation iam.gke.io/gcp-service-account on ServiceAccount {name}"
        else:
            target = self.entra_sps[rng.randrange(len(self.entra_sps))]
            via = f"annotation azure.workload.identity/client-id on ServiceAccount {name}"
        if rng.random() < 0.92:
            target.setdefault("federated_subjects", []).append(subject)
        edges.append(_transfer(sa["id"], target["id"], "FEDERATES_TO", via))

    # -- results --------------------------------------------------------------------------------

    def results(self) -> list[CollectResult]:
        out = []
        for source in SOURCES:
            nodes, edges = self.nodes[source], self.edges[source]
            coverage = Coverage(
                source,
                status=CoverageStatus.COMPLETE,
                files=[f"synthetic:{source}"],
                scopes=list(self.scopes[source]),
                notes=[f"synthetic organisation: identities={self.n}, seed={self.seed}, as_of={AS_OF_ISO}"],
            )
            coverage.count_records(nodes, edges)
            out.append(
                CollectResult(
                    source,
                    nodes=nodes,
                    edges=edges,
                    coverage=coverage,
                    origins=[(f"synthetic:{source}", len(nodes), len(edges))],
                )
            )
        return out


def generate(identities: int, seed: int = 7) -> list[CollectResult]:
    """One CollectResult per source (order of collectors.SOURCES) for a synthetic organisation."""
    # A million small acyclic dicts would make the cycle collector rescan them again and again
    # (half the run time); nothing here forms cycles, so pause it while building.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        org = _Org(identities, seed)
        org.build_entra()
        org.build_aws()
        org.build_gcp()
        org.build_databases()
        org.build_kubernetes()  # last: it federates to AWS roles, GCP SAs and Entra apps built above
        return org.results()
    finally:
        if was_enabled:
            gc.enable()


def write_jsonl(results: list[CollectResult], out: Path) -> None:
    for result in results:
        folder = out / result.source
        folder.mkdir(parents=True, exist_ok=True)
        for name, records in (("nodes.jsonl", result.nodes), ("edges.jsonl", result.edges)):
            with (folder / name).open("wb") as handle:
                handle.writelines(orjson.dumps(record) + b"\n" for record in records)
        (folder / "coverage.json").write_bytes(
            orjson.dumps(result.coverage.to_dict(), option=orjson.OPT_INDENT_2)
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a synthetic organisation as Crosspath records.")
    parser.add_argument("--identities", type=int, required=True, help="total identities across providers")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--out", type=Path, required=True, help="folder for <source>/nodes.jsonl, edges.jsonl"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    results = generate(args.identities, args.seed)
    elapsed = time.perf_counter() - started
    write_jsonl(results, args.out)
    nodes = sum(len(r.nodes) for r in results)
    edges = sum(len(r.edges) for r in results)
    print(f"{args.identities} identities: {nodes} nodes, {edges} edges in {elapsed:.2f}s -> {args.out}")
    for result in results:
        print(f"  {result.source:<11} {len(result.nodes):>9} nodes {len(result.edges):>9} edges")
    return 0


if __name__ == "__main__":
    sys.exit(main())
