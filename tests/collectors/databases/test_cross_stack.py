"""The sample's RDS IAM account joins the AWS side by its rds-db:connect ARN: a Kubernetes service
account federated to an AWS role (IRSA) that may `rds-db:connect` as billing_api reaches a write on
billing.invoices in one path."""

from __future__ import annotations

import json
from pathlib import Path

from collectors.databases import transform_mysql
from tests.graph_helpers import Org, by_entry

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "samples" / "databases" / "billing-prod.json"
DB_USER_ARN = "aws:arn:aws:rds-db:us-east-1:111111111111:dbuser:db-BILLINGPROD4M8X/billing_api"


def test_irsa_role_with_rds_db_connect_reaches_the_mysql_table() -> None:
    org = Org()
    records = transform_mysql(json.loads(SAMPLE.read_text()))
    for record in records.nodes + records.edges:
        org.add(record)
    sa = org.identity("k8s:prod-eks/sa/billing/billing-api", kind="ServiceIdentity")
    org.key("k8s:prod-eks/secret/billing/billing-api-token", sa, created="2024-02-01T00:00:00Z", kind="token")
    role = org.identity("aws:arn:aws:iam::111111111111:role/billing-api-irsa", kind="Role")
    org.link(sa, role, "FEDERATES_TO")
    # what the AWS collector emits for rds-db:connect on one dbuser ARN
    org.link(role, DB_USER_ARN, "FEDERATES_TO")

    finding = by_entry(org.analyze())["k8s:prod-eks/secret/billing/billing-api-token"]

    assert "CROSS_STACK" in finding.gap_types and "LONG_LIVED_NHI_KEY" in finding.gap_types
    assert finding.target["id"] == "mysql:billing-prod/db/billing/table/invoices"
    assert finding.target["level"] == "write"
    assert [step.target for step in finding.path][-2:] == ["mysql:billing-prod/user/billing_api@%",
                                                           "mysql:billing-prod/db/billing/table/invoices"]
