"""The technique registry: what it refuses, what it lists, and the generated docs/techniques.md."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from collectors import SOURCES, technique_catalogue
from crosspath.cli import main
from crosspath.cli_techniques import catalogue_markdown
from graph.schema import EdgeKind
from graph.techniques import Catalogue, References, Technique, TechniqueError

DOC = Path(__file__).resolve().parents[2] / "docs" / "techniques.md"
SAMPLE = Technique("aws.iam.sample-action", "A sample", "aws", EdgeKind.CAN_GRANT, ("iam:Sample",),
                   "what the attacker does", "what to change", References(mitre="T1098"))


def test_registry_refuses_a_duplicate_id():
    catalogue = Catalogue()
    catalogue.register(SAMPLE)
    with pytest.raises(TechniqueError, match="registered twice"):
        catalogue.register(replace(SAMPLE, title="another title"))
    assert len(catalogue) == 1


@pytest.mark.parametrize(("change", "message"), [
    ({"id": "CreateAccessKey"}, "<provider>.<service>.<action>"),
    ({"id": "gcp.iam.sample-action"}, "starts with aws."),
    ({"source": "azure"}, "unknown source"),
    ({"edge_kind": EdgeKind.HAS_PERMISSION}, "not a transfer edge"),
    ({"remediation": " "}, "remediation is empty"),
    ({"requires": ()}, "requires lists no permission"),
])
def test_registry_refuses_an_entry_without_the_contract(change, message):
    with pytest.raises(TechniqueError, match=message):
        Catalogue().register(replace(SAMPLE, **change))


def test_every_source_with_techniques_is_in_the_catalogue_with_every_field():
    catalogue = technique_catalogue()
    by_source = {source: catalogue.of(source) for source in SOURCES}
    assert all(by_source[s] for s in ("aws", "entra", "gcp", "kubernetes")), {s: len(t) for s, t in by_source.items()}
    for technique in catalogue:
        fields = technique.to_dict()
        assert all(fields[name] for name in ("id", "title", "source", "edge_kind", "requires", "description",
                                             "remediation")), fields
        references = fields["references"]
        assert references["mitre"] or references["links"], f"{technique.id} has no reference"


def test_aws_techniques_name_their_pathfinding_cloud_paths():
    aws = technique_catalogue().of("aws")
    referenced = {path for t in aws for path in t.references.pathfinding}
    assert {"iam-001", "iam-002", "sts-001", "lambda-001", "ssm-002"} <= referenced
    assert all(path.split("-")[0] in {"iam", "sts", "ec2", "lambda", "cloudformation", "codebuild", "sagemaker",
                                      "ecs", "glue", "datapipeline", "apprunner", "ssm", "ec2instanceconnect",
                                      "bedrock"} for path in referenced)


def test_cli_json_lists_every_technique_with_its_fields():
    result = CliRunner().invoke(main, ["techniques", "--format", "json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert [t["id"] for t in listed] == [t.id for t in technique_catalogue()]
    assert set(listed[0]) == {"id", "title", "source", "edge_kind", "requires", "description", "remediation",
                              "changes_permissions", "references"}


def test_cli_filters_by_source_and_prints_a_table():
    result = CliRunner().invoke(main, ["techniques", "--source", "kubernetes", "--format", "json"])
    assert {t["source"] for t in json.loads(result.output)} == {"kubernetes"}
    table = CliRunner().invoke(main, ["techniques", "--source", "databases"])
    assert table.exit_code == 0 and "postgres.roles.grant-with-admin-option" in table.output
    assert "k8s.rbac.bind" not in table.output


def test_generated_doc_is_current():
    expected = catalogue_markdown(list(technique_catalogue()))
    assert DOC.read_text() == expected, (
        "docs/techniques.md is out of date: run `crosspath techniques --format markdown > docs/techniques.md`")
    cli = CliRunner().invoke(main, ["techniques", "--format", "markdown"])
    assert cli.output == expected


def test_readme_counts_match_the_catalogue():
    readme = " ".join((Path(__file__).resolve().parents[2] / "README.md").read_text().split())
    catalogue = technique_catalogue()
    counts = {source: len(catalogue.of(source)) for source in SOURCES}
    assert (f"{len(catalogue)} techniques (AWS {counts['aws']}, Kubernetes {counts['kubernetes']}, "
            f"Entra ID {counts['entra']}, GCP {counts['gcp']}, databases {counts['databases']})") in readme
