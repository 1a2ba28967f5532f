"""A privileged grant to a group whose members are not visible is a finding of its own (members unknown,
MFA unknown), never silence; a group whose members are known is not an entry."""

from __future__ import annotations

import json

from tests.graph_helpers import Org, by_entry

GROUP = "gcp:group/data-eng@lumenfreight.com"
ORG_NODE = "gcp:organizations/1"


def _org(members_known: bool | None, level: str = "admin") -> Org:
    org = Org()
    org.resource(ORG_NODE, kind="organization")
    props = {} if members_known is None else {"members_known": members_known}
    org.identity(GROUP, kind="Group", **props)
    org.grant(GROUP, ORG_NODE, level=level)
    return org


def test_an_owner_grant_to_a_group_with_unknown_members_is_a_finding():
    finding = by_entry(_org(members_known=False).analyze())[GROUP]
    assert finding.gap_types == ["NO_MFA"] and finding.mfa_unknown
    assert finding.entry["members_known"] is False and finding.entry["kind"] == "Group"
    assert "(members unknown, MFA unknown)" in finding.title
    assert finding.explanation[0].startswith(f"{GROUP.split('/', 1)[1]} is a group whose members the export")
    assert finding.remediation[0].startswith("Export the members of")
    assert finding.target["id"] == ORG_NODE and finding.severity in ("high", "critical")
    assert json.loads(json.dumps(finding.to_dict()))["entry"]["members_known"] is False


def test_a_group_whose_members_are_known_is_not_an_entry():
    assert GROUP not in by_entry(_org(members_known=True).analyze())
    assert GROUP not in by_entry(_org(members_known=None).analyze())


def test_a_read_grant_to_such_a_group_is_no_finding():
    assert GROUP not in by_entry(_org(members_known=False, level="read").analyze())
