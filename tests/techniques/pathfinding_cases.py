"""pathfinding.cloud's IAM, STS and new-PassRole paths as PathCases (tests/techniques/pathfinding.py).

Resources are as narrow as the path allows, so that a technique that over-reaches (draws its edge
on the wrong resource) fails the absent cases.
"""

from __future__ import annotations

from tests.techniques.pathfinding import ADMIN_USER, PLAIN_ROLE, TRUSTING_ROLE, PathCase, service_role

PATHS: dict[str, PathCase] = {
    "sts-001": PathCase("aws.sts.assume-role", (("sts:AssumeRole", TRUSTING_ROLE),)),
    "iam-002": PathCase("aws.iam.create-access-key", (("iam:CreateAccessKey", ADMIN_USER),)),
    "iam-014": PathCase("aws.iam.attach-role-policy", (("iam:AttachRolePolicy", PLAIN_ROLE),
                                                       ("sts:AssumeRole", PLAIN_ROLE))),
    "ec2-001": PathCase("aws.ec2.pass-role-run-instances", (("iam:PassRole", service_role("ec2")),
                                                            ("ec2:RunInstances", "*"))),
}

# pathfinding.cloud path id -> why Crosspath does not detect it.
NOT_DETECTED: dict[str, str] = {}
