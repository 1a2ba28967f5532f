"""Resource hierarchy: organization, folders, projects (and buckets with their own policy)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graph.records import Record, node
from graph.schema import Family, Provider
from graph.times import iso, parse_time

# Environment: Resource Manager has no field for a project's environment; the `env` label is a
# free-form label like any other. So every node here has environment "unknown" and carries its
# labels as `tags` ("env=prod"); the policy decides (queries/environment.py), including "an
# organization / folder holding a prod project is prod" (policy environment.from_contents).


def org_id(value: str) -> str:
    return f"gcp:organizations/{value}"


def folder_id(value: str) -> str:
    return f"gcp:folders/{value}"


def project_id(value: str) -> str:
    return f"gcp:projects/{value}"


def bucket_id(name: str) -> str:
    return f"gcp:buckets/{name}"


def label_list(labels: Mapping[str, Any] | None) -> list[str]:
    return [f"{key}={value}" for key, value in sorted((labels or {}).items())]


def parent_node_id(parent: Any) -> str:
    """Parent in either shape: v1 `{"type": "organization", "id": "1"}` or v3 `"organizations/1"`."""
    if isinstance(parent, dict):
        kind, ident = str(parent.get("type", "")), str(parent.get("id", ""))
        if kind == "organization" and ident:
            return org_id(ident)
        if kind == "folder" and ident:
            return folder_id(ident)
        return ""
    if isinstance(parent, str) and "/" in parent:
        return f"gcp:{parent}"
    return ""


def transform_organization(ident: str, info: Mapping[str, Any] | None) -> Record:
    """`gcloud organizations describe` output (v1: creationTime/owner, v3: createTime/directoryCustomerId)."""
    info = info or {}
    owner = info.get("owner") if isinstance(info.get("owner"), dict) else {}
    return node(
        org_id(ident), Family.RESOURCE, "organization", Provider.GCP,
        str(info.get("displayName") or f"organizations/{ident}"), "",
        environment="unknown",
        domain=info.get("displayName"),
        directory_customer_id=info.get("directoryCustomerId") or owner.get("directoryCustomerId"),
        state=info.get("lifecycleState") or info.get("state"),
        created=iso(parse_time(info.get("creationTime") or info.get("createTime"))),
    )


def transform_folder(ident: str, info: Mapping[str, Any] | None) -> Record:
    """`gcloud resource-manager folders describe` output; without it the folder's parent is unknown."""
    info = info or {}
    return node(
        folder_id(ident), Family.RESOURCE, "folder", Provider.GCP,
        str(info.get("displayName") or f"folders/{ident}"), parent_node_id(info.get("parent")),
        environment="unknown",
        state=info.get("lifecycleState") or info.get("state"),
        created=iso(parse_time(info.get("createTime"))),
    )


def transform_project(info: Mapping[str, Any]) -> Record:
    """One entry of `gcloud projects list --format=json` (projectId is required)."""
    labels = info.get("labels") if isinstance(info.get("labels"), dict) else {}
    number = str(info.get("projectNumber") or "")
    return node(
        project_id(str(info["projectId"])), Family.RESOURCE, "project", Provider.GCP,
        str(info["projectId"]), parent_node_id(info.get("parent")),
        environment="unknown",  # the `env` label is a tag for the policy
        labels=label_list(labels),
        tags=label_list(labels),
        display_name=info.get("name") or info.get("displayName"),
        project_number=number or None,
        state=info.get("lifecycleState") or info.get("state"),
        created=iso(parse_time(info.get("createTime"))),
        # IAM members and service agents name projects by number; let edges join on it.
        aliases=[f"gcp:projects/{number}"] if number else [],
    )


def transform_bare_project(ident: str) -> Record:
    """A project folder with no entry in projects.json: labels and parent unknown."""
    return node(project_id(ident), Family.RESOURCE, "project", Provider.GCP, ident, "",
                environment="unknown", labels=[], tags=[])


def transform_bucket(name: str, project: Record) -> Record:
    """A bucket with its own IAM policy; scoped to its project, whose environment it inherits
    (bucket labels are not exported, so it carries no tags of its own)."""
    return node(bucket_id(name), Family.RESOURCE, "bucket", Provider.GCP, name, project["id"],
                environment="unknown")


def ancestors(resource: str, resources: Mapping[str, Record]) -> list[str]:
    """Node ids above `resource` in the hierarchy (parent first)."""
    chain: list[str] = []
    parent = resources.get(resource, {}).get("scope", "")
    while parent and parent in resources and parent not in chain:
        chain.append(parent)
        parent = resources[parent]["scope"]
    return chain
