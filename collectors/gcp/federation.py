"""Workload Identity Federation: pool principals -> the identity on the other side.

A member `principal://iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/subject/<S>`
or `principalSet://.../<pool>/attribute.<name>/<value>` (or `.../<pool>/*`) names tokens a pool's
providers accept. With the pool's providers exported (`gcloud iam workload-identity-pools providers
list`), the member becomes the identity that presents such a token:

| provider | member | identity |
|---|---|---|
| AWS (`aws.accountId`) | `subject/arn:aws:sts::<acct>:assumed-role/<role>/<session>`, `attribute.aws_role/arn:aws:sts::<acct>:assumed-role/<role>` | the AWS role `aws:arn:aws:iam::<acct>:role/<role>` (the AWS collector's node) |
| OIDC, Entra ID issuer (`sts.windows.net/<tenant>`, `login.microsoftonline.com/<tenant>`) | `subject/<objectId>` | the Entra principal `entra:<objectId>` |
| OIDC, GitHub Actions (`token.actions.githubusercontent.com`) | `subject/<sub>`, `attribute.repository/<owner/repo>` | `external:oidc/token.actions.githubusercontent.com/<sub>` (`repo:<owner/repo>:*` for a repository set) |
| any other OIDC issuer | `subject/<sub>` | `external:oidc/<issuer host>/<sub>` |

Anything else (SAML, unknown pools, other attributes, `*`) stays one `external:<member>` node that
carries the pool's issuers. GKE pools (`<project>.svc.id.goog`) are handled in members.py.

Workforce Identity Federation members (`principal://iam.googleapis.com/locations/global/workforcePools/
<pool>/subject/<sub>`) are people signing in through an external IdP: an `external` User (human, MFA
unknown: the IdP decides) whose `email` is the subject when it is one, so the builder correlates it
with the same person's Entra / Google account; `principalSet://...workforcePools/...` is a Group.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from graph.records import Record, node
from graph.schema import Family, Provider

GITHUB = "token.actions.githubusercontent.com"
_MEMBER = re.compile(
    r"^principal(?P<set>Set)?://iam\.googleapis\.com/projects/(?P<number>\d+)/locations/global/"
    r"workloadIdentityPools/(?P<pool>[^/]+)/(?P<rest>.+)$"
)
_WORKFORCE = re.compile(
    r"^principal(?P<set>Set)?://iam\.googleapis\.com/locations/global/workforcePools/(?P<pool>[^/]+)/(?P<rest>.+)$"
)
_ASSUMED_ROLE = re.compile(r"^arn:aws[\w-]*:sts::(?P<account>\d{12}):assumed-role/(?P<role>[^/]+)(/.*)?$")
_ENTRA_ISSUER = re.compile(r"^(sts\.windows\.net|login\.microsoftonline\.com)$")


@dataclass
class PoolProvider:
    """One provider of a workload identity pool, as `providers list --format=json` prints it."""

    pool: str
    name: str
    kind: str  # aws | github | entra | oidc | saml
    issuer_host: str = ""
    account: str = ""
    disabled: bool = False
    condition: str = ""


@dataclass
class Federated:
    """The identities a pool member stands for; `nodes` only for ids no other collector emits."""

    ids: list[str] = field(default_factory=list)
    nodes: list[Record] = field(default_factory=list)
    note: str = ""


def parse_provider(pool: str, data: Mapping[str, Any]) -> PoolProvider:
    name = str(data.get("name", "")).rsplit("/", 1)[-1]
    disabled = bool(data.get("disabled")) or data.get("state") == "DELETED"
    condition = str(data.get("attributeCondition") or "")
    if isinstance(data.get("aws"), dict):
        return PoolProvider(pool, name, "aws", account=str(data["aws"].get("accountId", "")), disabled=disabled,
                            condition=condition)
    if isinstance(data.get("oidc"), dict):
        host = urlparse(str(data["oidc"].get("issuerUri", ""))).netloc
        kind = "github" if host == GITHUB else "entra" if _ENTRA_ISSUER.match(host) else "oidc"
        return PoolProvider(pool, name, kind, issuer_host=host, disabled=disabled, condition=condition)
    return PoolProvider(pool, name, "saml", disabled=disabled, condition=condition)


def _oidc_node(host: str, subject: str, raw: str) -> Record:
    return node(f"external:oidc/{host}/{subject}", Family.IDENTITY, "ServiceIdentity", Provider.EXTERNAL,
                f"{host} {subject}", "", human=False, mfa=None, oidc_subject=subject, issuer=f"https://{host}",
                gcp_member=raw)


def _one(provider: PoolProvider, rest: str, raw: str) -> tuple[str, Record | None] | None:
    """The identity id one provider maps `rest` (subject/S, attribute.A/V) to, or None."""
    kind, _, value = rest.partition("/")
    if provider.kind == "aws" and kind in ("subject", "attribute.aws_role"):
        match = _ASSUMED_ROLE.match(value)
        if match:
            return f"aws:arn:aws:iam::{match['account']}:role/{match['role']}", None
    if provider.kind == "entra" and kind == "subject":
        return f"entra:{value.lower()}", None
    if provider.kind == "github" and kind == "attribute.repository":
        subject = f"repo:{value}:*"
        return f"external:oidc/{GITHUB}/{subject}", _oidc_node(GITHUB, subject, raw)
    if provider.kind in ("github", "oidc") and kind == "subject":
        return f"external:oidc/{provider.issuer_host}/{value}", _oidc_node(provider.issuer_host, value, raw)
    return None


def resolve_member(raw: str, providers: Mapping[tuple[str, str], list[PoolProvider]]) -> Federated | None:
    """The identities behind a pool member; None when `raw` is not a (non-GKE) pool member.

    `providers` is keyed by (project number, pool id), as members name them.
    """
    match = _MEMBER.match(raw.strip())
    if not match or match["pool"].endswith(".svc.id.goog"):
        return None
    pool, rest, key = match["pool"], match["rest"], (match["number"], match["pool"])
    found = Federated()
    active = [p for p in providers.get(key, []) if not p.disabled]
    for provider in active:
        mapped = _one(provider, rest, raw)
        if mapped and mapped[0] not in found.ids:
            found.ids.append(mapped[0])
            if mapped[1] is not None:
                found.nodes.append(mapped[1])
    if found.ids:
        return found
    issuers = sorted({p.issuer_host or p.kind for p in active})
    if key not in providers:
        note = f"{raw}: providers of pool {pool} not exported; kept as one external identity"
    elif not active:
        note = f"{raw}: every provider of pool {pool} is disabled or deleted"
    else:
        note = ""
    found.ids.append(f"external:{raw}")
    found.nodes.append(node(f"external:{raw}", Family.IDENTITY, "ServiceIdentity", Provider.EXTERNAL, raw, "",
                            human=False, mfa=None, workload_identity_pool=pool, issuers=issuers,
                            project_number=match["number"]))
    found.note = note
    return found


def external_identity(raw: str) -> Record:
    """The node for a `principal://` / `principalSet://` member no pool provider resolves."""
    workforce = _WORKFORCE.match(raw.strip())
    if workforce and not workforce["set"] and workforce["rest"].startswith("subject/"):
        subject = workforce["rest"].removeprefix("subject/")
        email = subject.lower() if "@" in subject else None
        return node(f"external:{raw}", Family.IDENTITY, "User", Provider.EXTERNAL, subject, "", human=True,
                    mfa=None, email=email, workforce_pool=workforce["pool"])
    if workforce:
        return node(f"external:{raw}", Family.IDENTITY, "Group", Provider.EXTERNAL, raw, "", human=False,
                    workforce_pool=workforce["pool"], members_known=False)
    return node(f"external:{raw}", Family.IDENTITY, "ServiceIdentity", Provider.EXTERNAL, raw, "", human=False,
                mfa=None)
