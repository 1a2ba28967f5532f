"""Group membership as Graph exports it: direct members per group, walked transitively.

Conditional Access evaluates nested groups, so a user excluded through a group inside an
excluded group is excluded; the MFA decision needs the transitive view, while the graph
gets only the direct edges (the path engine follows nesting itself).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

# @odata.type of the directory objects a group can hold, mapped to our vocabulary.
MEMBER_TYPES = {
    "#microsoft.graph.user": "user",
    "#microsoft.graph.group": "group",
    "#microsoft.graph.servicePrincipal": "servicePrincipal",
    "#microsoft.graph.device": "device",
    "#microsoft.graph.orgContact": "orgContact",
}


@dataclass
class Memberships:
    """Direct membership (member id -> group ids) and which groups' members are known."""

    parents: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    children: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    known_groups: set[str] = field(default_factory=set)
    group_ids: set[str] = field(default_factory=set)  # every group in groups.json

    def add(self, group_id: str, member_id: str) -> None:
        self.parents[member_id].add(group_id)
        self.children[group_id].add(member_id)

    def unknown_within(self, group_id: str) -> str | None:
        """A group at or under group_id whose members were not exported, if any: membership
        in group_id can then not be ruled out."""
        seen: set[str] = set()
        stack = [group_id]
        while stack:
            group = stack.pop()
            if group in seen:
                continue
            seen.add(group)
            if group not in self.known_groups:
                return group
            stack.extend(child for child in self.children.get(group, ()) if child in self.group_ids)
        return None

    def groups_of(self, object_id: str) -> set[str]:
        """Every group the object is in, directly or through nested groups (cycle-safe)."""
        seen: set[str] = set()
        stack = list(self.parents.get(object_id, ()))
        while stack:
            group = stack.pop()
            if group in seen:
                continue
            seen.add(group)
            stack.extend(self.parents.get(group, ()))
        return seen

    def path_to(self, object_id: str, group_id: str) -> list[str]:
        """The chain of groups from the object's direct group up to group_id, for explanations."""
        previous: dict[str, str | None] = {}
        frontier = [(g, None) for g in sorted(self.parents.get(object_id, ()))]
        while frontier:
            next_frontier = []
            for group, parent in frontier:
                if group in previous:
                    continue
                previous[group] = parent
                if group == group_id:
                    chain = [group]
                    while previous[chain[-1]] is not None:
                        chain.append(previous[chain[-1]])  # type: ignore[arg-type]
                    return list(reversed(chain))
                next_frontier.extend((g, group) for g in sorted(self.parents.get(group, ())))
            frontier = next_frontier
        return []


def member_kind(member: dict[str, Any]) -> str | None:
    return MEMBER_TYPES.get(str(member.get("@odata.type", "")))


def build_memberships(
    members_by_group: dict[str, list[dict[str, Any]]], group_ids: set[str]
) -> Memberships:
    result = Memberships(group_ids=set(group_ids))
    for group_id, members in members_by_group.items():
        result.known_groups.add(group_id)
        for member in members:
            member_id = member.get("id")
            if isinstance(member_id, str) and member_id:
                result.add(group_id, member_id)
                if member_kind(member) == "group":
                    result.group_ids.add(member_id)
    return result
