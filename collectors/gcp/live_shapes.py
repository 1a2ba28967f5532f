"""API objects -> the JSON `gcloud ... --format=json` prints, which the offline collector reads."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format


def message_dict(message: Any) -> dict[str, Any]:
    """A proto-plus or protobuf message as gcloud prints it (camelCase, enum names, RFC 3339 times)."""
    raw = getattr(type(message), "pb", None)
    pb = raw(message) if callable(raw) else message
    return json_format.MessageToDict(pb)


def policy_export(policy: Any) -> dict[str, Any]:
    data = message_dict(policy)
    data.setdefault("etag", "ACAB")
    return data


def state_name(value: Any) -> str:
    return getattr(value, "name", str(value))


def project_export(project: Any) -> dict[str, Any]:
    """v3 Project -> an entry of `gcloud projects list --format=json`."""
    kind, _, ident = str(project.parent).partition("/")
    return {
        "createTime": message_dict(project).get("createTime"),
        "labels": dict(project.labels),
        "lifecycleState": state_name(project.state),
        "name": project.display_name,
        "parent": {"id": ident, "type": kind.rstrip("s")} if ident else None,
        "projectId": project.project_id,
        "projectNumber": str(project.name).rpartition("/")[2],
    }


def key_export(key: Any) -> dict[str, Any]:
    """A key listing; never key material (list does not return it, and we drop it if it ever did)."""
    data = message_dict(key)
    for secret in ("privateKeyData", "publicKeyData"):
        data.pop(secret, None)
    return data
