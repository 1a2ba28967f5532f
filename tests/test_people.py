"""One person across stacks: database logins named by an email, identities.yaml, and looking a person
up by email or name (`crosspath blast-radius`, queries/people.py). The README's blast-radius commands
and their output are run by tests/test_shown_commands.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from collectors.databases import transform_mysql, transform_postgres
from crosspath.cli import main
from crosspath.pipeline import scan
from graph.builder import build_graph
from graph.coverage import CollectResult
from graph.identities import load_identities
from graph.records import node
from graph.yaml_files import ConfigError
from queries.people import People
from tests.collectors.test_databases import my_dump, my_user, pg_dump, pg_role
from tests.graph_helpers import AS_OF

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data" / "samples"
DANA = "entra:a1000000-0000-4000-8000-000000000001"
DANA_PERSON = "person:dana.ruiz@lumenfreight.com"
MARIA = "postgres:orders-prod/role/dba_maria"
MARIA_PERSON = "person:maria.santos@lumenfreight.com"


def _result(source: str, nodes: list, file: str = "export.json") -> CollectResult:
    result = CollectResult(source)
    result.add(file, nodes, [])
    return result


def _entra_dana() -> dict:
    return node(DANA, "Identity", "User", "entra", "Dana Ruiz", "", human=True, email="Dana.Ruiz@lumenfreight.com")


def _database_logins() -> CollectResult:
    pg = transform_postgres(pg_dump([pg_role("dana.ruiz@lumenfreight.com", rolcanlogin=True),
                                     pg_role("app_orders", rolcanlogin=True),
                                     pg_role("lee.wong@lumenfreight.com", rolcanlogin=True)]))
    my = transform_mysql(my_dump([my_user("dana.ruiz@lumenfreight.com")]))
    result = CollectResult("databases")
    result.add("pg1.json", pg.nodes, pg.edges)
    result.add("my1.json", my.nodes, my.edges)
    return result


def _belongs_to(graph, person: str) -> set[str]:
    return {u for u, _, kind in graph.in_edges(person, data="kind") if kind == "BELONGS_TO"}


# -- database logins named by an email ----------------------------------------------------------

def test_a_login_named_by_a_known_persons_email_joins_that_person():
    graph = build_graph([_result("entra", [_entra_dana()]), _database_logins()], AS_OF).graph
    assert _belongs_to(graph, DANA_PERSON) == {
        DANA, "postgres:pg1/role/dana.ruiz@lumenfreight.com", "mysql:my1/user/dana.ruiz@lumenfreight.com@%"}
    assert graph.nodes[DANA_PERSON]["providers"] == ["entra", "mysql", "postgres"]
    edge = graph.get_edge_data("postgres:pg1/role/dana.ruiz@lumenfreight.com", DANA_PERSON)
    assert [data["via"] for data in edge.values()] == ["same email dana.ruiz@lumenfreight.com"]


def test_a_login_named_like_an_application_joins_no_person():
    graph = build_graph([_result("entra", [_entra_dana()]), _database_logins()], AS_OF).graph
    login = "postgres:pg1/role/app_orders"
    assert "email" not in graph.nodes[login]
    assert not any(kind == "BELONGS_TO" for _, _, kind in graph.out_edges(login, data="kind"))


def test_a_login_whose_email_matches_nobody_else_is_a_person_of_its_own_as_for_every_source():
    graph = build_graph([_result("entra", [_entra_dana()]), _database_logins()], AS_OF).graph
    person = "person:lee.wong@lumenfreight.com"
    assert _belongs_to(graph, person) == {"postgres:pg1/role/lee.wong@lumenfreight.com"}
    assert graph.nodes[person]["accounts"] == 1  # as a lone Entra or AWS account with an email is


def test_a_machine_login_named_by_an_email_carries_no_email():
    dump = pg_dump([pg_role("etl@lumenfreight.com", rolcanlogin=True)])
    dump["identity_hints"] = {"machines": ["etl@lumenfreight.com"]}
    login = next(n for n in transform_postgres(dump).nodes if n["id"] == "postgres:pg1/role/etl@lumenfreight.com")
    assert login["human"] is False and "email" not in login


# -- identities.yaml ------------------------------------------------------------------------------

def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "identities.yaml"
    path.write_text(text)
    return path


MAPPING = """\
people:
  - email: dana.ruiz@lumenfreight.com
    name: Dana Ruiz
    identities: ["postgres:pg1/role/druiz", "aws:arn:aws:iam::111111111111:user/dana"]
  - email: lee.wong@lumenfreight.com
    identities:
      - postgres:pg1/role/app_orders
      - postgres:gone/role/lee
      - postgres:pg1/role/lee/password
"""


def _mapped_graph(tmp_path: Path):
    druiz = transform_postgres(pg_dump([pg_role("druiz", rolcanlogin=True), pg_role("app_orders", rolcanlogin=True),
                                        pg_role("lee", rolcanlogin=True, has_password=True)]))
    aws = node("aws:arn:aws:iam::111111111111:user/dana", "Identity", "User", "aws", "dana", "", human=True,
               email="dana@old-domain.example")
    databases = CollectResult("databases")
    databases.add("pg1.json", druiz.nodes, druiz.edges)
    identities = load_identities(_write(tmp_path, MAPPING))
    return build_graph([_result("entra", [_entra_dana()]), _result("aws", [aws]), databases], AS_OF, identities)


def test_identities_file_joins_listed_identities_to_the_person_and_names_it(tmp_path):
    build = _mapped_graph(tmp_path)
    graph = build.graph
    assert _belongs_to(graph, DANA_PERSON) == {
        DANA, "postgres:pg1/role/druiz", "aws:arn:aws:iam::111111111111:user/dana"}
    assert graph.nodes[DANA_PERSON]["name"] == "Dana Ruiz"
    via = [d["via"] for d in graph.get_edge_data("postgres:pg1/role/druiz", DANA_PERSON).values()]
    assert via == ["listed under dana.ruiz@lumenfreight.com in identities.yaml (line 2)"]
    # the file wins over the email the AWS user carries: no Person for the old address
    assert "person:dana@old-domain.example" not in graph
    # any identity may be listed, a machine login too; the Person is named by its email when the file gives no name
    assert _belongs_to(graph, "person:lee.wong@lumenfreight.com") == {"postgres:pg1/role/app_orders"}
    assert graph.nodes["person:lee.wong@lumenfreight.com"]["name"] == "lee.wong@lumenfreight.com"


def test_identities_file_ids_not_in_the_graph_are_a_coverage_note_not_an_error(tmp_path):
    build = _mapped_graph(tmp_path)
    assert build.errors == []
    coverage = build.coverage["identities"]
    assert coverage.status == "complete"
    assert coverage.counts["skipped.unknown_identities"] == 1 and coverage.counts["skipped.not_identities"] == 1
    assert coverage.notes[0].startswith("1 identity id(s) listed in ")
    assert coverage.notes[0].endswith("are not in the graph (their source is not collected, or the id is misspelt; "
                                      "ids as in docs/records.md), so they join no person: postgres:gone/role/lee")
    assert "postgres:pg1/role/lee/password" in coverage.notes[1] and "not identities" in coverage.notes[1]


def test_without_an_identities_file_there_is_no_identities_coverage():
    build = build_graph([_result("entra", [_entra_dana()])], AS_OF)
    assert "identities" not in build.coverage


@pytest.mark.parametrize(("text", "line", "expected"), [
    ("people:\n  - email: a@lumen.com\n    nmae: A\n", 2, ("unknown field(s) ['nmae']; allowed: ['email', "
     "'identities', 'name']")),
    ("people:\n  - email: dana.ruiz\n", 2, ("field 'email' must be an email address or UPN like "
     "dana.ruiz@example.com, got 'dana.ruiz'")),
    ("people:\n  - email: a@lumen.com\n    identities: [x:1]\n  - email: b@lumen.com\n    identities: [x:1]\n", 4,
     ("identity 'x:1' is already listed for a@lumen.com (line 2); an identity belongs to one person: remove it "
     "from one of them")),
    ("people:\n  - email: a@lumen.com\n  - email: A+work@Lumen.com\n", 3,
     "a@lumen.com is already listed at line 2; merge the two entries into one"),
    ("people:\n  - email: a@lumen.com\n    identities: x:1\n", 2, "field 'identities' must be a list of node ids"),
])
def test_identities_file_errors_name_the_file_the_line_and_the_fix(tmp_path, text, line, expected):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_identities(path)
    assert str(raised.value).startswith(f"{path}: person #")
    assert f"(line {line}): " in str(raised.value) and expected in str(raised.value)


def test_identities_file_with_another_top_level_key_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="expected a mapping with a list under 'people:' and nothing else"):
        load_identities(_write(tmp_path, "persons:\n  - email: a@lumen.com\n"))


def test_the_sample_identities_file_loads():
    identities = load_identities(SAMPLES / "identities.yaml")
    assert [p.email for p in identities.people] == ["maria.santos@lumenfreight.com", "dana.ruiz@lumenfreight.com"]
    assert identities.owners() == {MARIA: identities.people[0]}


# -- scan --identities ------------------------------------------------------------------------------

def test_cli_scan_with_identities_joins_them_and_notes_unknown_ids(tmp_path):
    mapping = _write(tmp_path, "people:\n  - email: maria.santos@lumenfreight.com\n    name: Maria Santos\n"
                               f"    identities: [{MARIA}, postgres:orders-prod/role/nobody]\n")
    out = tmp_path / "out"
    shown = CliRunner().invoke(main, ["scan", str(SAMPLES), "--out", str(out), "--identities", str(mapping),
                                      "--format", "json"])
    assert shown.exit_code == 0, shown.output
    assert "note: 1 identity id(s) listed in" in shown.output and "postgres:orders-prod/role/nobody" in shown.output
    assert "identities: covered" in shown.output
    result = CliRunner().invoke(main, ["blast-radius", "Maria Santos", "--snapshot", str(out / "snapshot.arrow"),
                                       "--json"])
    assert json.loads(result.output)["identities"] == [MARIA]


def test_cli_scan_with_a_broken_identities_file_fails_before_collecting(tmp_path):
    mapping = _write(tmp_path, "people:\n  - email: maria\n")
    shown = CliRunner().invoke(main, ["scan", str(SAMPLES), "--out", str(tmp_path / "out"), "--identities",
                                      str(mapping)])
    assert shown.exit_code == 1
    assert f"{mapping}: person #1 (line 2): field 'email' must be an email address" in shown.output
    assert not (tmp_path / "out").exists()


# -- looking a person up by email or name -------------------------------------------------------------

@pytest.fixture(scope="module")
def sample_snapshot(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("out")
    return scan(SAMPLES, out, identities_path=SAMPLES / "identities.yaml", formats=("json",)).snapshot


def _blast(snapshot: Path, *args: str):
    return CliRunner().invoke(main, ["blast-radius", *args, "--snapshot", str(snapshot)])


def test_people_lookup_rules(sample_snapshot):
    from graph.snapshot import read_snapshot

    people = People(read_snapshot(sample_snapshot)[0])
    assert people.lookup(DANA) == [DANA]  # an id is that node, even when it belongs to a person
    assert people.lookup("Dana.Ruiz+x@LumenFreight.com") == [DANA_PERSON]
    assert people.lookup("  dana   RUIZ ") == [DANA_PERSON]
    assert people.lookup("dba_maria") == [MARIA_PERSON]  # the login's name stands for its person
    assert people.lookup("readonly_bi") == ["postgres:orders-prod/role/readonly_bi"]  # no person: the login
    assert len(people.lookup("system:masters")) == 3
    assert people.lookup("nobody@lumenfreight.com") == [] and people.lookup("Dana") == []
    assert people.identities_of(MARIA_PERSON) == [MARIA] and people.identities_of(DANA) == [DANA]


@pytest.mark.parametrize("name", ["dana.ruiz@lumenfreight.com", "Dana Ruiz", DANA_PERSON])
def test_blast_radius_of_a_person_by_email_or_name(sample_snapshot, name):
    shown = _blast(sample_snapshot, name, "--json")
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.output)
    assert document["node"] == DANA_PERSON and document["identities"] == [DANA]
    assert [(t["name"], t["identity"]) for t in document["targets"]] == [("lumen-prod-invoices", DANA)]


def test_blast_radius_of_a_person_with_two_identities_names_the_identity_on_each_row(sample_snapshot):
    by_id = {}
    for account in ("aws:arn:aws:iam::111111111111:user/bob.martin", "entra:a1000000-0000-4000-8000-000000000006"):
        by_id[account] = {t["target"] for t in json.loads(_blast(sample_snapshot, account, "--json").output)["targets"]}
    document = json.loads(_blast(sample_snapshot, "Bob Martin", "--json").output)
    assert document["identities"] == sorted(by_id)
    assert {(t["identity"], t["target"]) for t in document["targets"]} == {
        (identity, target) for identity, targets in by_id.items() for target in targets}
    text = " ".join(_blast(sample_snapshot, "bob.martin@lumenfreight.com").output.split())
    assert "bob.martin@lumenfreight.com (person bob.martin@lumenfreight.com, 2 identities) reaches" in text
    assert "by bob.martin (aws:arn:aws:iam::111111111111:user/bob.martin)" in text


def test_blast_radius_of_an_identity_id_is_unchanged_by_people(sample_snapshot):
    document = json.loads(_blast(sample_snapshot, DANA, "--json").output)
    assert document["node"] == DANA and document["identities"] == [DANA]
    assert "person" not in _blast(sample_snapshot, DANA).output.split("\n")[0]


def test_blast_radius_of_a_name_several_nodes_carry_lists_them_and_exits_1(sample_snapshot):
    shown = _blast(sample_snapshot, "system:masters")
    assert shown.exit_code == 1
    assert "'system:masters' names 3 nodes in" in shown.output and "give one of these ids instead" in shown.output
    for cluster in ("aks-prod", "gke-analytics", "prod-eks"):
        assert f"k8s:{cluster}/group/system:masters  system:masters (k8s Group)" in shown.output


@pytest.mark.parametrize("name", ["nobody@lumenfreight.com", "Nobody Here"])
def test_blast_radius_of_an_unknown_name_is_a_clear_error(sample_snapshot, name):
    shown = _blast(sample_snapshot, name)
    assert shown.exit_code == 1
    assert f"no node id, person's email or name {name!r} in" in shown.output
