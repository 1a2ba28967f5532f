"""IAM techniques: writing policies, trust policies and group memberships, and minting another user's
credentials (pathfinding.cloud self-escalation and principal-access paths)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from collectors.aws.technique_rules import Context, Hit, allowing, can_at_all, identity_rule, technique
from collectors.aws.transform import Principal
from graph.schema import EdgeKind

_POLICY_WRITE_FIX = ("Allow IAM policy writes only to administrators, scope them to named resources (never `*`), "
                     "and cap delegated administrators with a permissions boundary that denies policy writes "
                     "outside their own path.")


def _simple_technique(technique_id: str, title: str, kind: EdgeKind, types: tuple[str, ...], action: str,
                      description: str, remediation: str, *, pathfinding: tuple[str, ...], pmapper: str = "",
                      mitre: str = "T1098.003", changes_permissions: bool = True) -> None:
    """One IAM action on the target identity's ARN is the whole technique (by default a policy write)."""
    technique(technique_id, title, kind, (action,), description, remediation, pathfinding=pathfinding,
              pmapper=pmapper, mitre=mitre, target=types[0],
              changes_permissions=changes_permissions)(identity_rule(types, action.lower()))


@technique("aws.iam.create-access-key", "Create an access key for another user", EdgeKind.CAN_CREATE_CREDENTIAL,
           ("iam:CreateAccessKey", "iam:DeleteAccessKey (when the user already has two keys)"),
           "mint an access key for another user (a user with two keys needs one deleted first)",
           "Restrict iam:CreateAccessKey to the caller's own user (arn:aws:iam::*:user/${aws:username}); "
           "alert on CreateAccessKey for another user.",
           pathfinding=("iam-002", "iam-003"), pmapper="iam_edges", mitre="T1098.001", target="user")
def _create_access_key(principal: Principal, ctx: Context) -> Iterator[Hit]:
    for hit in identity_rule(("user",), "iam:createaccesskey")(principal, ctx):
        keys = ctx.user_facts.get(hit.target.arn, {}).get("keys")
        if keys is not None and keys >= 2:
            delete = allowing(principal, "iam:deleteaccesskey", hit.target.arn)
            if delete is None:
                continue
            hit.grants.append(("iam:deleteaccesskey", delete))
        elif keys is None and allowing(principal, "iam:deleteaccesskey", hit.target.arn) is None:
            hit.assumed = (f"No credential report row for {hit.target.name}: assumed to have fewer than two "
                           "access keys (with two, iam:DeleteAccessKey is needed first).")
        yield hit


def _login_profile(action: str, has_password: bool) -> Callable[[Principal, Context], Iterator[Hit]]:
    """CreateLoginProfile only works on a user without a password, UpdateLoginProfile only with one
    (unknown without a credential report: then both are drawn)."""
    def find(principal: Principal, ctx: Context) -> Iterator[Hit]:
        for hit in identity_rule(("user",), action)(principal, ctx):
            password = ctx.user_facts.get(hit.target.arn, {}).get("password")
            if password is None:
                hit.assumed = (f"No credential report row for {hit.target.name}: assumed to "
                               f"{'have a' if has_password else 'have no'} console password.")
            if password in (None, has_password):
                yield hit
    return find


_LOGIN_FIX = ("Restrict console-password management to the caller's own user and to identity administrators; "
              "require MFA for console sign-in so a set password alone is not enough.")
technique("aws.iam.create-login-profile", "Set a console password for a user who has none",
          EdgeKind.CAN_CREATE_CREDENTIAL, ("iam:CreateLoginProfile",),
          "set a console password for a user who has none", _LOGIN_FIX, pathfinding=("iam-004",),
          pmapper="iam_edges", mitre="T1098.001", target="user")(_login_profile("iam:createloginprofile", False))
technique("aws.iam.update-login-profile", "Reset another user's console password", EdgeKind.CAN_CREATE_CREDENTIAL,
          ("iam:UpdateLoginProfile",), "reset another user's console password", _LOGIN_FIX,
          pathfinding=("iam-006",), pmapper="iam_edges", mitre="T1098.001",
          target="user")(_login_profile("iam:updateloginprofile", True))
_simple_technique("aws.iam.put-user-policy", "Write an inline policy on another user", EdgeKind.CAN_GRANT, ("user",),
                  "iam:PutUserPolicy", "write an inline policy on another user", _POLICY_WRITE_FIX,
                  pathfinding=("iam-007", "iam-018"), pmapper="iam_edges")
_simple_technique("aws.iam.attach-user-policy", "Attach a managed policy to another user", EdgeKind.CAN_GRANT,
                  ("user",), "iam:AttachUserPolicy",
                  "attach a managed policy (e.g. AdministratorAccess) to another user", _POLICY_WRITE_FIX,
                  pathfinding=("iam-008", "iam-015"), pmapper="iam_edges")
_simple_technique("aws.iam.put-role-policy", "Write an inline policy on a role", EdgeKind.CAN_GRANT, ("role",),
                  "iam:PutRolePolicy", "write an inline policy on a role", _POLICY_WRITE_FIX,
                  pathfinding=("iam-005", "iam-017", "iam-021"), pmapper="iam_edges")
_simple_technique("aws.iam.attach-role-policy", "Attach a managed policy to a role", EdgeKind.CAN_GRANT, ("role",),
                  "iam:AttachRolePolicy", "attach a managed policy to a role", _POLICY_WRITE_FIX,
                  pathfinding=("iam-009", "iam-014", "iam-019"), pmapper="iam_edges")
_simple_technique("aws.iam.put-group-policy", "Write an inline policy on a group", EdgeKind.CAN_GRANT, ("group",),
                  "iam:PutGroupPolicy", "write an inline policy on a group", _POLICY_WRITE_FIX,
                  pathfinding=("iam-011",), pmapper="iam_edges")
_simple_technique("aws.iam.attach-group-policy", "Attach a managed policy to a group", EdgeKind.CAN_GRANT,
                  ("group",), "iam:AttachGroupPolicy", "attach a managed policy to a group", _POLICY_WRITE_FIX,
                  pathfinding=("iam-010",), pmapper="iam_edges")
_simple_technique("aws.iam.add-user-to-group", "Add oneself to a group", EdgeKind.CAN_GRANT, ("group",),
                  "iam:AddUserToGroup", "add oneself to a group and inherit its policies",
                  "Grant iam:AddUserToGroup only to identity administrators and only on the groups they own; "
                  "alert on membership changes of privileged groups.",
                  pathfinding=("iam-013",), pmapper="iam_edges", changes_permissions=False)
# A trust policy naming a principal's ARN lets it assume the role within the account without any
# identity-policy permission, so rewriting the trust policy is enough.
_simple_technique("aws.iam.update-assume-role-policy", "Rewrite a role's trust policy", EdgeKind.CAN_GRANT,
                  ("role",), "iam:UpdateAssumeRolePolicy", "rewrite a role's trust policy to name oneself, then "
                  "assume it", "Allow iam:UpdateAssumeRolePolicy only to identity administrators, on named roles; "
                  "alert on trust-policy changes of privileged roles.", pathfinding=("iam-012",),
                  pmapper="iam_edges", changes_permissions=False)


@technique("aws.iam.create-policy-version", "Publish a new default version of a managed policy", EdgeKind.CAN_GRANT,
           ("iam:CreatePolicyVersion",),
           "publish a new default version of a customer-managed policy attached to the target",
           "Allow iam:CreatePolicyVersion only to the policy's owners, on named policy ARNs; a permissions "
           "boundary can deny it everywhere else.", pathfinding=("iam-001", "iam-016", "iam-020"),
           pmapper="iam_edges", mitre="T1098.003", target="policy holder", changes_permissions=True)
def _create_policy_version(principal: Principal, ctx: Context) -> Iterator[Hit]:
    if not can_at_all(principal, "iam:createpolicyversion"):
        return
    for member in ctx.accounts[principal.account].principals():
        for policy in member.policies:
            arn = policy.ref.arn
            if policy.ref.origin != "managed" or ":aws:policy/" in arn or member is principal:
                continue  # AWS managed policies cannot be versioned by customers
            grant = allowing(principal, "iam:createpolicyversion", arn)
            if grant:
                yield Hit(member, [("iam:createpolicyversion", grant)])


@technique("aws.iam.set-default-policy-version", "Switch a managed policy to another kept version",
           EdgeKind.CAN_GRANT, ("iam:SetDefaultPolicyVersion",),
           "make another kept version of a customer-managed policy the default (it may be broader)",
           "Delete old policy versions that grant more than the current one, and restrict "
           "iam:SetDefaultPolicyVersion to the policy's owners.", mitre="T1098.003", target="policy holder",
           changes_permissions=True)
def _set_default_policy_version(principal: Principal, ctx: Context) -> Iterator[Hit]:
    if not can_at_all(principal, "iam:setdefaultpolicyversion"):
        return
    data = ctx.accounts[principal.account]
    for member in data.principals():
        for policy in member.policies:
            arn = policy.ref.arn
            if policy.ref.origin != "managed" or member is principal or data.policy_versions.get(arn, 0) < 2:
                continue  # only a policy with another version to switch to
            grant = allowing(principal, "iam:setdefaultpolicyversion", arn)
            if grant:
                yield Hit(member, [("iam:setdefaultpolicyversion", grant)])
