"""Credential report + `aws iam list-access-keys` -> Credential nodes and AUTHENTICATES edges.

The credential report knows MFA devices, passwords and key usage but no key ids; the
list-access-keys outputs know the ids. Keys are matched to report slots by creation time.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from collectors.aws.exports import SOURCE
from collectors.aws.transform import AccountData
from collectors.base import merge_duplicates
from graph.records import Record, RecordError, edge, node
from graph.schema import EdgeKind, Family
from graph.times import iso, parse_time

ROOT_USER = "<root_account>"
REPORT_FIX = "re-run `aws iam generate-credential-report` and decode `aws iam get-credential-report`"


def _flag(value: str | None) -> bool | None:
    if value is None:
        return None
    text = value.strip().lower()
    return True if text == "true" else False if text == "false" else None


def _time(value: str | None) -> str | None:
    return iso(parse_time(value))


def index_report(rows: list[dict[str, str]], path: Path) -> tuple[dict[str, dict[str, str]], list[RecordError]]:
    """Report rows by user ARN; rows without an ARN are errors."""
    errors: list[RecordError] = []
    usable: list[tuple[int, str, dict[str, str]]] = []
    for index, row in enumerate(rows):
        arn = (row.get("arn") or "").strip()
        if not arn.startswith("arn:"):
            errors.append(RecordError(SOURCE, str(path), f"row {index + 2} ({row.get('user', '')})", "arn",
                                      "not an ARN", REPORT_FIX))
            continue
        usable.append((index, arn, row))
    # A user's second row is a duplicate: merged into the first (its values win, the second fills gaps).
    merged = merge_duplicates(usable, lambda item: item[1], lambda item: (str(path), f"row {item[0] + 2}"),
                              lambda item: item[2], SOURCE, "user", errors.append, "arn")
    return {arn: row for _, arn, row in merged}, errors


def sign_in_facts(row: dict[str, str] | None) -> dict[str, Any] | None:
    """What the user node needs from its report row: MFA device, console access, last use."""
    if row is None:
        return None
    used = [parse_time(row.get(k)) for k in ("password_last_used", "access_key_1_last_used_date",
                                             "access_key_2_last_used_date")]
    last = max((t for t in used if t), default=None)
    password = row.get("password_enabled", "")
    return {
        "mfa": _flag(row.get("mfa_active")),
        "password_enabled": True if password == "not_supported" else _flag(password),
        "last_used": iso(last),
        "has_keys": any(_flag(row.get(f"access_key_{n}_active")) for n in (1, 2)),
    }


def _slot(row: dict[str, str], number: int) -> dict[str, Any]:
    prefix = f"access_key_{number}_"
    return {
        "active": _flag(row.get(prefix + "active")),
        "created": parse_time(row.get(prefix + "last_rotated")),
        "last_used": _time(row.get(prefix + "last_used_date")),
        "never_used": row.get(prefix + "last_used_date") == "N/A",  # the report's "never used"
        "last_used_service": _service(row.get(prefix + "last_used_service")),
        "last_used_region": _service(row.get(prefix + "last_used_region")),
    }


def _service(value: str | None) -> str | None:
    return None if value in (None, "", "N/A") else value


def _match_slots(keys: list[dict[str, Any]], row: dict[str, str] | None) -> list[dict[str, Any] | None]:
    """For each listed key, the report slot describing it (by creation time, else by age order)."""
    if row is None:
        return [None] * len(keys)
    slots = [_slot(row, 1), _slot(row, 2)]
    matched: list[dict[str, Any] | None] = []
    free = [s for s in slots if s["created"] is not None]
    for key in sorted(keys, key=lambda k: str(k.get("CreateDate", ""))):
        created = parse_time(key.get("CreateDate"))
        hit = next((s for s in free if created and _same_time(s["created"], created)), None)
        if hit is None and free:
            hit = free[0]
        if hit is not None:
            free.remove(hit)
        matched.append(hit)
    return matched


def _same_time(a: datetime, b: datetime) -> bool:
    return abs((a - b).total_seconds()) < 120


def access_key_node(key_id: str, node_id: str, account: str, user_arn: str, user_name: str,
                    created: str | None, enabled: bool | None, slot: dict[str, Any] | None) -> Record:
    return node(
        node_id, Family.CREDENTIAL, "access_key", "aws", f"{key_id} ({user_name})" if key_id else
        f"access key of {user_name}", f"aws:account/{account}",
        key_id=key_id or None,
        created=created,
        expires=None,
        enabled=enabled,
        last_used=slot["last_used"] if slot else None,
        never_used=slot["never_used"] if slot else None,
        last_used_service=slot["last_used_service"] if slot else None,
        last_used_region=slot["last_used_region"] if slot else None,
        owner=user_arn,
    )


def _authenticates(cred_id: str, user_id: str, via: str, mfa: bool) -> Record:
    return edge(cred_id, user_id, EdgeKind.AUTHENTICATES, via, mfa=mfa)


def transform_access_keys(data: AccountData, keys: list[dict[str, Any]], report: dict[str, dict[str, str]],
                          path: Path) -> tuple[list[Record], list[Record], list[RecordError], list[str]]:
    """Access keys from list-access-keys outputs, enriched with the report's usage columns."""
    nodes: list[Record] = []
    edges: list[Record] = []
    errors: list[RecordError] = []
    notes: list[str] = []
    by_user: dict[str, list[dict[str, Any]]] = {}
    usable: list[tuple[int, dict[str, Any]]] = []
    for index, key in enumerate(keys):
        if not isinstance(key, dict) or not key.get("AccessKeyId") or not key.get("UserName"):
            field = "AccessKeyId" if isinstance(key, dict) and key.get("UserName") else "UserName"
            errors.append(RecordError(SOURCE, str(path), f"AccessKeyMetadata #{index}", field,
                                      "required field is missing",
                                      "re-run `aws iam list-access-keys --user-name <user>`"))
            continue
        usable.append((index, key))
    for _, key in merge_duplicates(usable, lambda item: str(item[1]["AccessKeyId"]),
                                   lambda item: (str(path), f"AccessKeyMetadata #{item[0]}"),
                                   lambda item: item[1], SOURCE, "access key", errors.append, "AccessKeyId"):
        by_user.setdefault(str(key["UserName"]), []).append(key)
    for user_name, user_keys in sorted(by_user.items()):
        principal = data.users.get(user_name)
        if principal is None:
            notes.append(f"{data.account}: access keys listed for user {user_name}, who is not in the "
                         "authorization details; skipped")
            continue
        ordered = sorted(user_keys, key=lambda k: str(k.get("CreateDate", "")))
        for key, slot in zip(ordered, _match_slots(ordered, report.get(principal.arn)), strict=True):
            key_id = str(key["AccessKeyId"])
            cred_id = f"aws:access-key/{key_id}"
            status = str(key.get("Status", ""))
            enabled = True if status == "Active" else False if status == "Inactive" else None
            nodes.append(access_key_node(key_id, cred_id, data.account, principal.arn, user_name,
                                         iso(parse_time(key.get("CreateDate"))), enabled, slot))
            edges.append(_authenticates(cred_id, principal.node_id, f"access key {key_id} of IAM user {user_name}",
                                        False))
    return nodes, edges, errors, notes


def transform_report_credentials(data: AccountData, report: dict[str, dict[str, str]],
                                 synthesise_keys: bool) -> tuple[list[Record], list[Record], list[str]]:
    """Console passwords (and, without list-access-keys, placeholder access keys) from the report."""
    nodes: list[Record] = []
    edges: list[Record] = []
    notes: list[str] = []
    users_by_arn = {p.arn: p for p in data.users.values()}
    for arn, row in report.items():
        is_root = row.get("user") == ROOT_USER
        principal = users_by_arn.get(arn)
        if principal is None and not is_root:
            notes.append(f"{data.account}: credential report row for {arn} has no user in the authorization "
                         "details; skipped")
            continue
        user_id = f"aws:{arn}"
        user_name = principal.name if principal else f"root ({data.account})"
        mfa = bool(_flag(row.get("mfa_active")))
        password = row.get("password_enabled", "")
        if is_root or _flag(password):
            cred_id = f"aws:password/{arn}"
            created = _time(row.get("password_last_changed")) or _time(row.get("user_creation_time"))
            nodes.append(node(
                cred_id, Family.CREDENTIAL, "password", "aws", f"console password ({user_name})",
                f"aws:account/{data.account}",
                created=created, expires=None, enabled=True,
                last_used=_time(row.get("password_last_used")),
                next_rotation=_time(row.get("password_next_rotation")),
                owner=arn,
            ))
            edges.append(_authenticates(cred_id, user_id, f"console sign-in of {user_name}"
                                        + (" (MFA device registered)" if mfa else " (no MFA device)"), mfa))
        if not synthesise_keys and not is_root:
            continue
        for number in (1, 2):
            slot = _slot(row, number)
            if slot["created"] is None and not slot["active"]:
                continue
            cred_id = f"aws:access-key/{arn}#{number}"
            nodes.append(access_key_node("", cred_id, data.account, arn, user_name, iso(slot["created"]),
                                         slot["active"], slot))
            edges.append(_authenticates(cred_id, user_id, f"access key {number} of {user_name} "
                                        "(id not exported)", False))
    return nodes, edges, notes


def transform_root(account: str, row: dict[str, str]) -> tuple[list[Record], list[Record]]:
    """The account root user: a human sign-in with full control of the account."""
    arn = row["arn"]
    user = node(f"aws:{arn}", Family.IDENTITY, "User", "aws", f"root ({account})", f"aws:account/{account}",
                human=True, mfa=_flag(row.get("mfa_active")), enabled=True, arn=arn, root=True,
                created=_time(row.get("user_creation_time")), last_used=sign_in_facts(row)["last_used"])
    grant = edge(f"aws:{arn}", f"aws:account/{account}", EdgeKind.HAS_PERMISSION,
                 f"root user of account {account} (full control, cannot be limited by IAM policies)",
                 level="admin", actions=["*"], mfa_required=False)
    return [user], [grant]
