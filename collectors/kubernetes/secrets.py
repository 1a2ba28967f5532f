"""Kubernetes Secrets: legacy service-account tokens, and the cloud key ids other secrets hold.

`kubectl get secrets -o json` carries every value (base64). Only data KEYS are looked at, plus
the few values that are identifiers (an AWS access key id, a GCP key's client_email and
private_key_id, an Entra client id). Decoded bytes never leave the function that reads one
identifier out of them, and nothing but ids reaches a record.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any

TOKEN_TYPE = "kubernetes.io/service-account-token"
SA_NAME_ANNOTATION = "kubernetes.io/service-account.name"

AWS_KEY_ID = re.compile(r"^(AKIA|ASIA)[A-Z0-9]{16}$")
GCP_KEY_ID = re.compile(r"^[0-9a-f]{40}$")
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_INI_KEY_ID = re.compile(r"^\s*aws_access_key_id\s*[=:]\s*(\S+)\s*$", re.IGNORECASE | re.MULTILINE)

AWS_KEY_ID_KEYS = frozenset({"aws_access_key_id", "awsaccesskeyid", "access_key_id", "accesskeyid"})
# Data keys whose value is an AWS shared-credentials file.
AWS_INI_KEYS = frozenset({"credentials", "aws_credentials", "aws-credentials", "config", "aws_config"})
AZURE_CLIENT_ID_KEYS = frozenset({"azure_client_id", "client_id", "clientid"})
AZURE_SECRET_KEYS = frozenset({"azure_client_secret", "client_secret", "clientsecret"})
SECRET_VALUE_KEYS = AZURE_SECRET_KEYS | frozenset(
    {"aws_secret_access_key", "aws_session_token", "password", "token", "ssh-privatekey", "private_key"}
)


@dataclass(frozen=True)
class HeldCredential:
    """A credential (by its graph id) that a secret holds, and which data key it sits under."""

    target: str
    data_key: str
    kind: str  # aws-access-key | gcp-sa-key


@dataclass
class SecretInfo:
    namespace: str
    name: str
    type: str
    uid: str | None
    created: Any
    data_keys: list[str]
    service_account: str | None = None  # token secrets: the SA the token authenticates
    held: list[HeldCredential] = field(default_factory=list)
    entra_client_ids: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # data keys that could not be decoded

    @property
    def is_token(self) -> bool:
        return self.type == TOKEN_TYPE


def _decode(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


def _aws_key_ids_from_ini(text: str) -> list[str]:
    return [m.group(1) for m in _INI_KEY_ID.finditer(text) if AWS_KEY_ID.match(m.group(1))]


def _gcp_key_from_json(text: str) -> str | None:
    """`gcp:serviceAccount/<client_email>/key/<private_key_id>` of a service-account key file."""
    if not text.lstrip().startswith("{"):
        return None
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    if not isinstance(doc, dict) or doc.get("type") != "service_account":
        return None
    email, key_id = doc.get("client_email"), doc.get("private_key_id")
    if not isinstance(email, str) or "@" not in email or not isinstance(key_id, str):
        return None
    if not GCP_KEY_ID.match(key_id):
        return None
    return f"gcp:serviceAccount/{email}/key/{key_id}"


def held_identifiers(data: dict[str, Any]) -> tuple[list[HeldCredential], list[str], list[str]]:
    """(held cloud credentials, Entra client ids with a client secret beside them, undecodable keys).

    Each value is decoded at most once, inside this function, and only its identifier is kept.
    """
    held: list[HeldCredential] = []
    problems: list[str] = []
    lowered = {key.lower(): key for key in data}
    for key in sorted(data):
        low = key.lower()
        if low in AWS_KEY_ID_KEYS:
            key_id = (_decode(data[key]) or "").strip()
            if AWS_KEY_ID.match(key_id):
                held.append(HeldCredential(f"aws:access-key/{key_id}", key, "aws-access-key"))
            else:
                problems.append(key)
            continue
        if low in AWS_INI_KEYS or low.endswith((".ini", "/credentials")):
            text = _decode(data[key])
            for key_id in _aws_key_ids_from_ini(text or ""):
                held.append(HeldCredential(f"aws:access-key/{key_id}", key, "aws-access-key"))
            continue
        if low in AZURE_CLIENT_ID_KEYS or low in SECRET_VALUE_KEYS or low.endswith((".key", ".pem")):
            continue  # never decode a value that is known to be the secret itself
        # Any other value may be a GCP key file (key.json, credentials.json, GOOGLE_CREDENTIALS, ...).
        target = _gcp_key_from_json(_decode(data[key]) or "")
        if target:
            held.append(HeldCredential(target, key, "gcp-sa-key"))
    entra: list[str] = []
    secret_present = any(low in AZURE_SECRET_KEYS for low in lowered)
    if secret_present:
        for low, key in lowered.items():
            if low in AZURE_CLIENT_ID_KEYS:
                client_id = (_decode(data[key]) or "").strip()
                if GUID.match(client_id):
                    entra.append(client_id.lower())
    unique: list[HeldCredential] = []
    for item in held:
        if item.target not in {h.target for h in unique}:
            unique.append(item)
    return unique, entra, problems


def inspect_secret(item: dict[str, Any]) -> SecretInfo:
    """What a Secret item tells the graph, without its values."""
    meta = item.get("metadata") or {}
    data = item.get("data") or {}
    if not isinstance(data, dict):
        data = {}
    info = SecretInfo(
        namespace=meta.get("namespace") or "default",
        name=meta["name"],
        type=item.get("type") or "Opaque",
        uid=meta.get("uid"),
        created=meta.get("creationTimestamp"),
        data_keys=sorted(data),
    )
    if info.is_token:
        info.service_account = (meta.get("annotations") or {}).get(SA_NAME_ANNOTATION)
        return info  # the token value is never decoded
    info.held, info.entra_client_ids, info.problems = held_identifiers(data)
    return info
