"""AWS escalation at scale: hubs keep edges linear in identities + grants, and reach through hubs is
reach through direct edges. Figures: bench/aws_escalation_scale.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from collectors.aws import collect_offline, escalation, trust
from graph.builder import build_graph
from queries.paths import PathEngine
from queries.policy import load_policy
from tests.collectors.test_aws import doc, role_entry, user_entry, write_account
from tests.graph_helpers import AS_OF

ACCT = "666666666666"
TRANSFER = ("CAN_GRANT", "CAN_CREATE_CREDENTIAL", "CAN_RUN_AS", "CAN_ASSUME")
MFA = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
WINDOW = {"DateGreaterThan": {"aws:CurrentTime": "2025-01-01T00:00:00Z"},
          "DateLessThan": {"aws:CurrentTime": "2031-01-01T00:00:00Z"}}
ROOT = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "sts:AssumeRole"})


def arn(kind: str, name: str) -> str:
    return f"arn:aws:iam::{ACCT}:{kind}/{name}"


def allow(actions, resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": actions, "Resource": resource, **extra}


# Escalation kits, each held by every 8th user in turn (and a few roles): on `*`, on named ARNs, behind MFA,
# in a time window, with a NotResource and a Deny exception.
KITS = [
    [allow(["iam:PutUserPolicy", "iam:AttachUserPolicy"])],
    [allow("iam:PassRole"), allow(["lambda:CreateFunction", "lambda:InvokeFunction"])],
    [allow("iam:CreateAccessKey", arn("user", "*"))],
    [allow("iam:UpdateAssumeRolePolicy", arn("role", "app-*"), Condition=WINDOW)],
    [allow("sts:AssumeRole", arn("role", "*"), Condition=MFA)],
    [{"Effect": "Allow", "Action": ["iam:PutRolePolicy"], "NotResource": [arn("role", "admin-*")]}],
    [allow("iam:AttachRolePolicy"), {"Effect": "Deny", "Action": "iam:AttachRolePolicy", "Resource": arn("role", "app-0")}],
    [allow(["iam:CreateLoginProfile", "iam:UpdateLoginProfile"], arn("user", "*"))],
]


def _account(folder: Path, users: int) -> None:
    """users users, users/2 roles (Lambda service roles, roles trusting the account root, admins), users/10
    groups; every 8th user holds a kit, so does every 16th role."""
    roles = []
    for r in range(users // 2):
        kind = r % 4
        name = ["fn", "app", "app", "admin"][kind] + f"-{r}"
        if kind == 0:
            trust_doc = doc({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                             "Action": "sts:AssumeRole"})
        else:
            trust_doc = ROOT
        statements = [allow("s3:*")] if kind == 3 else [allow("sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCT}:{name}")]
        if r % 16 == 5:
            statements += KITS[(r // 16) % len(KITS)]
        roles.append(role_entry(ACCT, name, trust_doc, *statements))
    groups = [{"Path": "/", "GroupName": f"g{g}", "GroupId": f"AGPAG{g}", "Arn": arn("group", f"g{g}"),
               "CreateDate": "2026-01-01T00:00:00+00:00", "AttachedManagedPolicies": [],
               "GroupPolicyList": [{"PolicyName": "read", "PolicyDocument": doc(allow("s3:GetObject", f"arn:aws:s3:::g{g}/*"))}]}
              for g in range(users // 10)]
    entries = []
    for u in range(users):
        statements = [allow("s3:PutObject", f"arn:aws:s3:::home/u{u}/*")]
        if u % 8 == 0:
            statements += KITS[(u // 8) % len(KITS)]
        entry = user_entry(ACCT, f"u{u}", *statements)
        entry["GroupList"] = [f"g{u % (users // 10)}"]
        entries.append(entry)
    write_account(folder, ACCT, users=entries, roles=roles, groups=groups)


def _counts(folder: Path) -> tuple[int, int, int]:
    result = collect_offline(folder)
    assert not result.errors, result.errors
    identities = sum(1 for n in result.nodes if n["family"] == "Identity" and n["id"].startswith("aws:arn:"))
    return identities, len(result.edges), sum(1 for e in result.edges if e["kind"] in TRANSFER)


def test_edges_per_identity_stay_flat_as_the_account_grows(tmp_path):
    """4x the identities (and the holders of each kit): edges per identity do not grow. Before hubs were
    keyed by their set (not by technique and holder), they grew with the account (holders x identities)."""
    small, large = tmp_path / "n", tmp_path / "4n"
    _account(small, 200)
    _account(large, 800)
    n_ids, n_edges, n_transfer = _counts(small)
    big_ids, big_edges, big_transfer = _counts(large)
    assert big_ids == 4 * n_ids
    assert big_edges / big_ids <= 1.1 * n_edges / n_ids, (n_edges, big_edges)
    assert big_transfer / big_ids <= 1.1 * n_transfer / n_ids, (n_transfer, big_transfer)


def test_holders_of_one_wildcard_share_one_hub_per_set_whatever_the_technique(tmp_path):
    """PutUserPolicy and AttachUserPolicy on `*` by several users and a role: one hub, "every user of the account",
    whose edges to the users are drawn once; each holder has one edge to it (both techniques on it)."""
    _account(tmp_path, 200)
    edges = collect_offline(tmp_path).edges
    hub = f"aws:account/{ACCT}/reach/CAN_GRANT/policy-write/every-user"
    holders = [e for e in edges if e["target"] == hub]
    expected = {f"aws:{arn('user', f'u{u}')}" for u in range(0, 200, 64)} | {f"aws:{arn('role', 'app-5')}"}
    assert {e["source"] for e in holders} == expected
    assert all(e["techniques"] == ["aws.iam.put-user-policy", "aws.iam.attach-user-policy"] for e in holders)
    members = [e for e in edges if e["source"] == hub]
    assert len(members) == 200 and len({e["target"] for e in members}) == 200


def _ways(edges: list[dict]) -> dict[tuple[str, str, str], set[tuple]]:
    """(source, identity, kind) -> every way over one edge or through one hub: (MFA required, time bounds,
    assumed); a hub hop adds its member edge's own."""
    out: dict[tuple[str, str, str], set[tuple]] = {}
    members: dict[str, list[dict]] = {}
    for e in edges:
        if "/reach/" in e["source"]:
            members.setdefault(e["source"], []).append(e)
    for e in edges:
        if e["kind"] not in TRANSFER or "/reach/" in e["source"]:
            continue
        hops = [(e, m) for m in members[e["target"]]] if "/reach/" in e["target"] else [(e, None)]
        for first, second in hops:
            target = second["target"] if second else first["target"]
            if target == first["source"]:
                continue  # a holder in its own hub's set: a no-op
            steps = [first, second] if second else [first]
            out.setdefault((first["source"], target, first["kind"]), set()).add((
                any(s["mfa_required"] for s in steps),
                tuple(sorted(b for s in steps for b in s.get("time_bounds") or [])),
                any(s.get("assumed") for s in steps)))
    return out


def test_hubs_add_no_target_drop_none_and_keep_mfa_time_bounds_and_assumptions(tmp_path, monkeypatch):
    """Every (holder, identity, kind) reached through a hub is reached by a direct edge when hubs are off,
    and the reverse, with the same MFA requirements, time bounds and assumptions; exceptions (a NotResource,
    a Deny, named ARNs, services a role does not trust) give their holders their own sets."""
    _account(tmp_path, 120)
    monkeypatch.setattr(escalation, "HUB_MIN_TARGETS", 2)
    monkeypatch.setattr(trust, "HUB_MIN_ROLES", 2)
    through_hubs = collect_offline(tmp_path).edges
    monkeypatch.setattr(escalation, "HUB_MIN_TARGETS", 10**9)
    monkeypatch.setattr(trust, "HUB_MIN_ROLES", 10**9)
    direct = collect_offline(tmp_path).edges
    assert any("/reach/" in e["target"] for e in through_hubs)
    assert not any("/reach/" in e["target"] for e in direct)
    hub_ways, direct_ways = _ways(through_hubs), _ways(direct)
    assert set(hub_ways) == set(direct_ways)
    for key, ways in direct_ways.items():
        # direct edges of several techniques merge into one (MFA only if all need it): compare the easiest way
        assert min(hub_ways[key]) == min(ways), key
        assert {w[1] for w in hub_ways[key]} == {w[1] for w in ways}, key


def test_conditions_stay_on_the_holders_edge_and_assumptions_on_the_hubs(tmp_path):
    """An MFA or time condition is the holder's: on its edge to the hub, never on the hub's edges; an
    assumption about each target (no credential report row) is on the hub's edge to that target."""
    _account(tmp_path, 200)
    by_source: dict[str, list[dict]] = {}
    for e in collect_offline(tmp_path).edges:
        by_source.setdefault(e["source"], []).append(e)
    mfa = next(e for e in by_source[f"aws:{arn('user', 'u32')}"] if e["kind"] == "CAN_ASSUME")  # KITS[4]
    assert mfa["mfa_required"] is True and "/reach/" in mfa["target"]
    assert not any(m["mfa_required"] for m in by_source[mfa["target"]])
    window = next(e for e in by_source[f"aws:{arn('user', 'u24')}"] if e["kind"] == "CAN_GRANT")  # KITS[3]
    assert window["time_bounds"] and "/reach/" in window["target"]
    assert not any(m.get("time_bounds") for m in by_source[window["target"]])
    assumed = next(e for e in by_source[f"aws:{arn('user', 'u16')}"] if e["kind"] == "CAN_CREATE_CREDENTIAL")
    assert not assumed.get("assumed"), "the assumption is about each user: on the hub's edges"
    assert all(m["assumed"] and "No credential report row" in m["assumed_reason"] for m in by_source[assumed["target"]])


def _blast(folder: Path, threshold: int, monkeypatch) -> PathEngine:
    monkeypatch.setattr(escalation, "HUB_MIN_TARGETS", threshold)
    monkeypatch.setattr(trust, "HUB_MIN_ROLES", threshold)
    result = collect_offline(folder)
    assert not result.errors, result.errors
    return PathEngine(build_graph([result], AS_OF).graph, load_policy())


@pytest.mark.parametrize("holder", [
    "user/u0",  # PutUserPolicy / AttachUserPolicy on *
    "user/u8",  # PassRole + Lambda
    "user/u16",  # CreateAccessKey on user/* (assumed: no credential report)
    "user/u24",  # UpdateAssumeRolePolicy on role/app-* in a time window
    "user/u32",  # AssumeRole on role/* with MFA
    "user/u40",  # PutRolePolicy, NotResource role/admin-*
    "user/u48",  # AttachRolePolicy on *, Deny on role/app-0
    "user/u56",  # Create / UpdateLoginProfile on user/*
    "role/app-5",  # a role holding PutUserPolicy on *
    "user/u3",  # no kit
])
def test_reach_through_hubs_is_reach_through_direct_edges(holder, tmp_path, monkeypatch):
    """The same account with every set through a hub (threshold 2) and with none (threshold above any
    set): each principal's blast radius (targets, levels, MFA) is the same."""
    _account(tmp_path, 120)
    principal = f"aws:{arn(*holder.split('/'))}"
    through_hubs = _blast(tmp_path, 2, monkeypatch)
    direct = _blast(tmp_path, 10**9, monkeypatch)
    assert any(through_hubs.data[i].get("hub") for i in range(len(through_hubs.ids)))
    assert not any(direct.data[i].get("hub") for i in range(len(direct.ids)))

    def radius(engine: PathEngine) -> set[tuple]:
        return {(item["target"], item["level"], item["requires_mfa"]) for item in engine.blast_radius(principal)}

    assert radius(through_hubs) == radius(direct)


@pytest.mark.parametrize(("pattern", "may"), [
    ("*", True), ("arn:aws:iam::1:role/x", True), ("arn:aws:iam::*:role/*", True), ("arn:aws:iam::1:r*", True),
    ("arn:aws:iam::1:*", True), ("arn:*", True), ("arn:aws-cn:iam::1:role/a", True), ("arn:aws:iam::1:ro?e/x", True),
    ("arn:aws:iam::1:user/x", False), ("arn:aws:sqs:*:1:q", False), ("arn:aws:s3:::b/*", False),
    ("arn:aws:iam::1:role", False), ("arn:aws:iam::1:rolex/a", False), ("arn:aws:iam:us*", False),
])
def test_only_grants_that_may_name_a_role_are_checked_against_roles(pattern, may):
    """sts:AssumeRole in a NotAction grant on queues reaches no role: skipped before the roles x holders loop."""
    assert trust._may_be_role(pattern) is may
