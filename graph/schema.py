"""The graph vocabulary every part of Crosspath shares (see shared DESIGN.md).

Node families become Cypher labels and edge kinds become relationship types,
so the names here are also the names of the query library.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Provider(StrEnum):
    AWS = "aws"
    ENTRA = "entra"
    GCP = "gcp"
    K8S = "k8s"
    POSTGRES = "postgres"
    MYSQL = "mysql"
    EXTERNAL = "external"


class Family(StrEnum):
    IDENTITY = "Identity"
    CREDENTIAL = "Credential"
    RESOURCE = "Resource"
    PERSON = "Person"


# Kinds are open-ended per family, but identities and credentials have a fixed set
# because the path engine reasons about them.
IDENTITY_KINDS = frozenset({"User", "ServiceIdentity", "Group", "Role"})
CREDENTIAL_KINDS = frozenset(
    {"password", "access_key", "sa_key", "client_secret", "certificate", "token", "federated"}
)
PERSON_KINDS = frozenset({"Person"})


class EdgeKind(StrEnum):
    # Authentication: Credential -> Identity
    AUTHENTICATES = "AUTHENTICATES"
    # Transfer: one identity can act as, or gain, another's rights
    MEMBER_OF = "MEMBER_OF"
    CAN_ASSUME = "CAN_ASSUME"
    CAN_IMPERSONATE = "CAN_IMPERSONATE"
    CAN_CREATE_CREDENTIAL = "CAN_CREATE_CREDENTIAL"
    CAN_RUN_AS = "CAN_RUN_AS"
    FEDERATES_TO = "FEDERATES_TO"
    CAN_GRANT = "CAN_GRANT"
    CAN_READ_SECRET = "CAN_READ_SECRET"
    # Access: Identity -> Resource
    HAS_PERMISSION = "HAS_PERMISSION"
    # Correlation: account -> Person (not traversed by the path engine)
    BELONGS_TO = "BELONGS_TO"


AUTHENTICATION_EDGES = frozenset({EdgeKind.AUTHENTICATES})
TRANSFER_EDGES = frozenset(
    {
        EdgeKind.MEMBER_OF,
        EdgeKind.CAN_ASSUME,
        EdgeKind.CAN_IMPERSONATE,
        EdgeKind.CAN_CREATE_CREDENTIAL,
        EdgeKind.CAN_RUN_AS,
        EdgeKind.FEDERATES_TO,
        EdgeKind.CAN_GRANT,
        EdgeKind.CAN_READ_SECRET,
    }
)
ACCESS_EDGES = frozenset({EdgeKind.HAS_PERMISSION})
TRAVERSED_EDGES = AUTHENTICATION_EDGES | TRANSFER_EDGES

# Which families an edge kind may connect: (source families, target families).
_ID = {Family.IDENTITY}
EDGE_ENDPOINTS: dict[EdgeKind, tuple[set[Family], set[Family]]] = {
    EdgeKind.AUTHENTICATES: ({Family.CREDENTIAL}, _ID),
    EdgeKind.MEMBER_OF: (_ID, _ID),
    EdgeKind.CAN_ASSUME: (_ID, _ID),
    EdgeKind.CAN_IMPERSONATE: (_ID, _ID),
    EdgeKind.CAN_CREATE_CREDENTIAL: (_ID, {Family.IDENTITY, Family.CREDENTIAL}),
    EdgeKind.CAN_RUN_AS: (_ID, _ID),
    EdgeKind.FEDERATES_TO: (_ID, _ID),
    EdgeKind.CAN_GRANT: (_ID, {Family.IDENTITY, Family.RESOURCE}),
    EdgeKind.CAN_READ_SECRET: (_ID, {Family.CREDENTIAL}),
    EdgeKind.HAS_PERMISSION: (_ID, {Family.RESOURCE}),
    EdgeKind.BELONGS_TO: (_ID, {Family.PERSON}),
}

LEVELS = ("read", "write", "admin")
LEVEL_RANK = {level: rank for rank, level in enumerate(LEVELS)}
ENVIRONMENTS = ("prod", "nonprod", "unknown")

# Keys every node record carries; everything else is a free property.
NODE_KEYS = ("id", "family", "kind", "provider", "name", "scope")
EDGE_KEYS = ("source", "target", "kind", "via")


def person_id(email: str) -> str:
    return f"person:{normalise_email(email)}"


def normalise_email(value: str) -> str:
    """Lower-case, strip, and drop a `+tag` so that UPNs and emails correlate."""
    value = value.strip().lower()
    value = value.removeprefix("mailto:")
    local, _, domain = value.partition("@")
    local = local.split("+", 1)[0]
    return f"{local}@{domain}" if domain else local


# local@domain.tld: no spaces, one `@`, a dot in the domain (UPNs have this shape too).
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


def email_address(value: object) -> str | None:
    """The normalised email when `value` is an email address or UPN, else None.

    The one rule for "is this an email": a database login named `dana.ruiz@lumenfreight.com` gets it as
    its `email` (and so joins that person), identities.yaml rejects anything else, and
    `crosspath blast-radius` reads such an argument as a person's email.
    """
    if not isinstance(value, str):
        return None
    text = value.strip().removeprefix("mailto:")
    return normalise_email(text) if _EMAIL.fullmatch(text) else None
