"""pathfinding.cloud's paths through existing workloads as PathCases (tests/techniques/pathfinding.py):
each case's `extra` writes the workload inventory the path needs into the account folder."""

from __future__ import annotations

import json
from pathlib import Path

from tests.techniques.pathfinding import ACCT, PathCase, service_role

LAMBDA_FUNCTION = f"arn:aws:lambda:us-east-1:{ACCT}:function:billing"


def lambda_function(folder: Path) -> None:
    (folder / "resource-policies.json").write_text(json.dumps({"ResourcePolicies": [
        {"Service": "lambda", "ResourceArn": LAMBDA_FUNCTION, "ExecutionRole": service_role("lambda")}]}))


WORKLOAD_PATHS: dict[str, PathCase] = {
    "lambda-003": PathCase("aws.lambda.update-function-code", (("lambda:UpdateFunctionCode", LAMBDA_FUNCTION),),
                           extra=lambda_function),
}
