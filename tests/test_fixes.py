"""Top fixes (issue 18): each reported count equals the findings that disappear when the change is
applied and the scan rerun; greedy, exception-aware, deterministic."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pytest
from rich.console import Console

from crosspath.pipeline import scan
from graph.snapshot import read_snapshot
from queries.analysis import analyze
from queries.exceptions import load_exceptions
from queries.fixes import find_fixes
from queries.paths import PathEngine
from queries.policy import load_policy
from queries.reports.terminal_summary import render_summary
from tests.graph_helpers import AS_OF, Org

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data" / "samples"


def _apply_independently(graph: nx.MultiDiGraph, fix: dict) -> nx.MultiDiGraph:
    """The change a fix names, applied to a fresh copy from its ids alone (not through queries.fixes)."""
    changed = graph.copy()
    kind = fix["kind"]
    for ref in fix["edges"]:
        keys = [key for key, data in changed[ref["source"]][ref["target"]].items()
                if data["kind"] == ref["kind"] and data.get("via", "") == ref["via"]]
        assert keys, ref
        for key in keys:
            if kind.startswith("remove_"):
                changed.remove_edge(ref["source"], ref["target"], key)
            elif ref["kind"] == "AUTHENTICATES":
                changed[ref["source"]][ref["target"]][key]["mfa"] = True
            else:
                changed[ref["source"]][ref["target"]][key]["mfa_required"] = True
    for node_id in fix["nodes"]:
        if kind in ("delete_key", "rotate_key"):
            changed.remove_node(node_id)
        else:
            changed.nodes[node_id]["mfa"] = True
    return changed


def _open(analysis) -> set[str]:
    return {finding.id for finding in analysis.open_findings}


def _all(analysis) -> set[str]:
    return {finding.id for finding in analysis.findings}


def _check_each_fix(graph, policy, exceptions, as_of, fixes) -> None:
    """Applied alone on the original graph, each fix's own change closes exactly what it reports when
    nothing above it closed those; applied cumulatively, exactly its `closed` and `remaining_open`."""
    base = analyze(graph, {}, policy, exceptions, as_of)
    still = _open(base)
    current = graph
    for fix in fixes:
        current = _apply_independently(current, fix)
        rerun = analyze(current, {}, policy, exceptions, as_of)
        closed = still - _all(rerun)
        assert sorted(closed) == fix["closed"] and fix["closes"] == len(closed) > 0, fix
        still -= closed
        assert fix["remaining_open"] == len(still)


def _org_shared_group() -> Org:
    """Three people without MFA reach prod through one group and one role; one of them also through a
    second role; a CI key reaches the same bucket."""
    org = Org()
    bucket = org.resource("aws:bucket/prod-data")
    other = org.resource("aws:bucket/prod-logs")
    group = org.identity("entra:group/Contractors", kind="Group")
    role = org.identity("aws:role/Deployer")
    side = org.identity("aws:role/SideDoor")
    for name in ("dana.ruiz", "omar.haddad", "lee.park"):
        org.human(f"entra:user/{name}", mfa=False)
        org.link(f"entra:user/{name}", group, "MEMBER_OF")
    org.link(group, role, "CAN_ASSUME")
    org.grant(role, bucket, "write")
    org.grant(role, other, "write")
    org.link("entra:user/lee.park", side, "CAN_ASSUME")
    org.grant(side, bucket, "write")
    ci = org.identity("aws:user/ci", kind="User")
    org.key("aws:key/AKIACI", ci, created="2024-01-01T00:00:00Z")
    org.grant(ci, bucket, "write")
    return org


def _run(org: Org, exceptions=(), top=5, **kwargs):
    graph = org.build().graph
    policy = load_policy()
    analysis = analyze(graph, {}, policy, list(exceptions), AS_OF)
    search = find_fixes(graph, policy, _open(analysis), top, as_of=AS_OF, **kwargs)
    return graph, policy, analysis, search


def test_each_reported_count_is_what_disappears_when_the_change_is_applied_and_the_scan_rerun():
    graph, policy, analysis, search = _run(_org_shared_group())
    assert len(analysis.open_findings) == 4
    assert search.fixes
    _check_each_fix(graph, policy, [], AS_OF, search.fixes)
    first = search.fixes[0]
    # Two people through the group's assume (MFA on that edge, the smallest change closing the most);
    # lee.park keeps the side door, so neither the group's assume nor the shared grant closes him.
    assert first["kind"] == "enforce_mfa_edge" and first["closes"] == 2
    assert first["edges"] == [{"source": "entra:group/Contractors", "target": "aws:role/Deployer",
                               "kind": "CAN_ASSUME", "via": "CAN_ASSUME entra:group/Contractors->aws:role/Deployer"}]


def test_the_second_fix_counts_only_what_the_first_left_open():
    _, _, _, search = _run(_org_shared_group())
    first, second = search.fixes[:2]
    assert not set(first["closed"]) & set(second["closed"])
    assert second["remaining_open"] == first["remaining_open"] - second["closes"]
    total = sum(fix["closes"] for fix in search.fixes)
    assert search.fixes[-1]["remaining_open"] == search.open_before - total


def test_an_excepted_finding_is_not_counted(tmp_path):
    org = _org_shared_group()
    graph = org.build().graph
    policy = load_policy()
    dana = next(f for f in analyze(graph, {}, policy, [], AS_OF).findings if f.entry["id"] == "entra:user/dana.ruiz")
    path = tmp_path / "exceptions.yaml"
    path.write_text("exceptions:\n  - match: {entry: 'entra:user/dana.ruiz', gap_type: NO_MFA}\n"
                    "    owner: sec\n    justification: test\n    expires: 2027-01-01\n", encoding="utf-8")
    (exception,) = load_exceptions(path)
    analysis = analyze(graph, {}, policy, [exception], AS_OF)
    assert dana.id not in _open(analysis)
    search = find_fixes(graph, policy, _open(analysis), 5, as_of=AS_OF)
    assert all(dana.id not in fix["closed"] for fix in search.fixes)
    assert search.fixes[0]["closes"] == 1  # omar alone through the group now
    _check_each_fix(graph, policy, [exception], AS_OF, search.fixes)


def test_a_fix_that_only_reduces_targets_closes_nothing():
    """Removing the grant on prod-logs leaves every entry a path to prod-data: fewer targets, none closed."""
    org = Org()
    bucket = org.resource("aws:bucket/prod-data")
    logs = org.resource("aws:bucket/prod-logs")
    org.human("entra:user/dana", mfa=False)
    role = org.identity("aws:role/Deployer")
    org.link("entra:user/dana", role, "CAN_ASSUME")
    org.grant(role, bucket, "write")
    org.grant(role, logs, "write")
    graph, policy, analysis, search = _run(org)
    (finding,) = analysis.open_findings
    assert finding.targets_count == 2
    assert all("prod-logs" not in fix["description"] or fix["closes"] == 0 for fix in search.fixes)
    without_logs = next(edge for edge in graph.edges(keys=True, data=True) if edge[1].endswith("prod-logs"))
    changed = graph.copy()
    changed.remove_edge(*without_logs[:3])
    assert _open(analyze(changed, {}, policy, [], AS_OF)) == {finding.id}  # still open: not closed
    (fix,) = search.fixes
    assert fix["closes"] == 1 and fix["kind"] == "enforce_mfa_edge"


def test_mfa_on_an_edge_and_on_an_entry():
    org = Org()
    bucket = org.resource("aws:bucket/prod-data")
    org.human("entra:user/dana", mfa=False)
    role = org.identity("aws:role/Deployer")
    org.link("entra:user/dana", role, "CAN_ASSUME")
    org.grant(role, bucket, "write")
    org.human("entra:user/omar", mfa=False)
    org.grant("entra:user/omar", bucket, "write")
    graph, policy, _, search = _run(org)
    kinds = {fix["kind"]: fix for fix in search.fixes}
    assert kinds["enforce_mfa_edge"]["edges"][0]["kind"] == "CAN_ASSUME"
    assert kinds["enforce_mfa_entry"]["nodes"] == ["entra:user/omar"]
    assert kinds["enforce_mfa_entry"]["description"] == "enforce MFA on omar's sign-in"
    _check_each_fix(graph, policy, [], AS_OF, search.fixes)


def test_keys_are_deleted_when_unused_else_rotated():
    org = Org()
    bucket = org.resource("aws:bucket/prod-data")
    for name, use in (("a-unused", {"never_used": True}), ("b-used", {"last_used": "2026-10-30T00:00:00Z"}),
                      ("c-unknown", {}), ("d-stale", {"last_used": "2026-01-02T00:00:00Z"})):
        owner = org.identity(f"aws:user/{name}", kind="User")
        org.key(f"aws:key/{name}", owner, created="2024-01-01T00:00:00Z", **use)
        org.grant(owner, bucket, "write")
    graph, policy, _, search = _run(org, top=10)
    by_key = {fix["nodes"][0]: fix for fix in search.fixes if fix["nodes"]}
    assert by_key["aws:key/a-unused"]["kind"] == "delete_key"
    assert "(unused: never used, 1035 days)" in by_key["aws:key/a-unused"]["description"]
    assert by_key["aws:key/d-stale"]["kind"] == "delete_key"
    assert "(unused: last used 2026-01-02, 303 days)" in by_key["aws:key/d-stale"]["description"]
    assert by_key["aws:key/b-used"]["kind"] == "rotate_key"
    assert by_key["aws:key/c-unknown"]["kind"] == "rotate_key"  # use not recorded: unknown, never "unused"
    _check_each_fix(graph, policy, [], AS_OF, search.fixes)


def test_a_membership_is_named_by_person_and_group():
    org = Org()
    bucket = org.resource("aws:bucket/prod-data")
    group = org.identity("entra:group/Contractors", kind="Group")
    org.human("entra:user/dana.ruiz", mfa=None)
    org.link("entra:user/dana.ruiz", group, "MEMBER_OF")
    org.grant(group, bucket, "write")
    _, _, _, search = _run(org, top=10)
    assert "remove dana.ruiz from group Contractors" in [f["description"] for f in search.fixes] or \
        search.fixes[0]["kind"] == "enforce_mfa_entry"  # the entry's MFA is the equally small change


def test_deterministic_and_the_local_rerun_agrees_with_the_whole_graph():
    org = _org_shared_group()
    _, _, _, one = _run(org)
    _, _, _, two = _run(org)
    _, _, _, whole = _run(org, local=False)
    assert one.fixes == two.fixes == whole.fixes


def test_the_bound_says_when_it_cut_candidates(sample_scan):
    graph, _ = read_snapshot(sample_scan.snapshot)
    open_ids = _open(sample_scan.analysis)
    for bound in (1, 3):
        search = find_fixes(graph, load_policy(), open_ids, 5, max_candidates=bound, as_of=AS_OF)
        assert search.cut and f"--max-candidates {bound} left" in search.cut[0]
        cut_picks = [int(sentence.split()[1].rstrip(":")) for sentence in search.cut]
        for fix in search.fixes:
            assert (fix["unverified_candidates"] > 0) == (fix["rank"] in cut_picks)
        if len(search.fixes) < 5:  # stopped: the bound cut the pick that found nothing, and says so
            assert cut_picks[-1] == len(search.fixes) + 1 and "no fix verified" in search.cut[-1]
        assert search.verified <= 5 * bound
    unbounded = find_fixes(graph, load_policy(), open_ids, 5, max_candidates=None, as_of=AS_OF)
    assert unbounded.cut == [] and unbounded.fixes == sample_scan.analysis.top_fixes


def test_the_docs_describe_every_top_fix_field():
    schema = json.loads((ROOT / "docs" / "findings.schema.json").read_text(encoding="utf-8"))
    docs = (ROOT / "docs" / "findings.md").read_text(encoding="utf-8")
    fields = set(schema["$defs"]["topFix"]["properties"]) | {"top_fixes"}
    assert sorted(name for name in fields if f"`{name}`" not in docs) == []


@pytest.fixture(scope="module")
def sample_scan(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample") / "out"
    return scan(SAMPLES, out, exceptions_path=SAMPLES / "exceptions.yaml")


def test_the_sample_organisation_top_fixes_are_verified(sample_scan):
    analysis = sample_scan.analysis
    assert len(analysis.top_fixes) == 5
    assert [fix["rank"] for fix in analysis.top_fixes] == [1, 2, 3, 4, 5]
    closes = [fix["closes"] for fix in analysis.top_fixes]
    assert closes[0] >= 2 and all(count >= 1 for count in closes)
    excepted = {f.id for f in analysis.findings if f.status == "excepted"}
    assert excepted and not excepted & {fid for fix in analysis.top_fixes for fid in fix["closed"]}
    graph, _ = read_snapshot(sample_scan.snapshot)
    _check_each_fix(graph, load_policy(), load_exceptions(SAMPLES / "exceptions.yaml"),
                    AS_OF, analysis.top_fixes)
    written = json.loads(sample_scan.outputs["json"].read_text(encoding="utf-8"))
    assert written["top_fixes"] == analysis.top_fixes
    assert "## Top fixes" in sample_scan.outputs["md"].read_text(encoding="utf-8")
    assert 'id="top-fixes"' in sample_scan.outputs["html"].read_text(encoding="utf-8")
    console = Console(record=True, width=200)
    console.print(render_summary(analysis))
    shown = console.export_text()
    assert "Top fixes" in shown and analysis.top_fixes[0]["description"][:60] in shown


def test_the_fixes_command_on_the_sample(sample_scan):
    from click.testing import CliRunner

    from crosspath.cli import main
    args = ["fixes", "--snapshot", str(sample_scan.snapshot), "--exceptions", str(SAMPLES / "exceptions.yaml")]
    result = CliRunner().invoke(main, [*args, "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["top_fixes"] == sample_scan.analysis.top_fixes
    assert document["cut"] == []
    text = CliRunner().invoke(main, [*args, "--top", "2"])
    assert text.exit_code == 0 and text.output.count("closes ") == 2


def test_scan_top_fixes_option(tmp_path):
    from click.testing import CliRunner

    from crosspath.cli import main

    samples = Path(__file__).resolve().parent.parent / "data" / "samples"
    for count, folder in ((0, "none"), (2, "two")):
        result = CliRunner().invoke(main, ["scan", str(samples), "--out", str(tmp_path / folder), "--quiet",
                                           "--top-fixes", str(count)])
        assert result.exit_code == 0, result.output
        assert len(json.loads((tmp_path / folder / "findings.json").read_text())["top_fixes"]) == count


def test_an_engine_on_some_nodes_judges_what_their_subgraph_does(sample_scan):
    graph, _ = read_snapshot(sample_scan.snapshot)
    policy = load_policy()
    people = {node for node, data in graph.nodes(data=True) if data.get("provider") in ("entra", "aws")}

    def found(engine):  # what does not depend on the order the edges are walked in
        return sorted((engine.ids[gap.entry.node], gap.targets_count, gap.max_class, len(gap.edges))
                      for gap in engine.gap_paths())
    within = PathEngine(graph, policy, people)
    assert found(within) == found(PathEngine(graph.subgraph(people), policy))
    assert within.ids == sorted(people) and found(within) != found(PathEngine(graph, policy))


def test_a_report_of_the_scanned_snapshot_reuses_the_fixes_the_scan_verified(sample_scan, tmp_path, monkeypatch):
    import queries.analysis
    from crosspath.pipeline import run_analysis

    _, metadata = read_snapshot(sample_scan.snapshot)
    assert metadata["top_fixes"] == {"top": 5, "fixes": sample_scan.analysis.top_fixes}
    searches = []
    monkeypatch.setattr(queries.analysis, "fixes_for", lambda *args: searches.append(args) or [])
    loaded = read_snapshot(sample_scan.snapshot)
    exceptions = SAMPLES / "exceptions.yaml"
    assert run_analysis(loaded, None, exceptions, top_fixes=5).top_fixes == sample_scan.analysis.top_fixes
    assert run_analysis(loaded, None, exceptions, top_fixes=2).top_fixes == sample_scan.analysis.top_fixes[:2]
    assert searches == []
    # Anything that could change the answer verifies them again: another exceptions file (even with the
    # same content elsewhere), more picks than the scan made, another Crosspath version.
    copied = tmp_path / "exceptions.yaml"
    copied.write_bytes(exceptions.read_bytes())
    run_analysis(loaded, None, copied, top_fixes=5)
    run_analysis(loaded, None, exceptions, top_fixes=6)
    run_analysis((loaded[0], {**loaded[1], "tool_version": "0.0.1"}), None, exceptions, top_fixes=5)
    assert len(searches) == 3


def test_a_report_analyses_the_tables_unless_it_must_verify_fixes_anew(sample_scan, tmp_path, monkeypatch):
    """`crosspath report` (pipeline.analyse_snapshot) reads no networkx graph when the scan's fixes stand;
    verifying them again (another exceptions file) reads the graph, and both give the scan's findings."""
    import crosspath.pipeline
    from crosspath.pipeline import analyse_snapshot

    reads = []
    monkeypatch.setattr(crosspath.pipeline, "read_snapshot", lambda path: reads.append(path) or read_snapshot(path))
    exceptions = SAMPLES / "exceptions.yaml"
    on_tables = analyse_snapshot(sample_scan.snapshot, None, exceptions, top_fixes=5)
    assert reads == [] and on_tables.top_fixes == sample_scan.analysis.top_fixes
    assert on_tables.to_dict()["findings"] == sample_scan.analysis.to_dict()["findings"]
    copied = tmp_path / "exceptions.yaml"
    copied.write_bytes(exceptions.read_bytes())
    verified = analyse_snapshot(sample_scan.snapshot, None, copied, top_fixes=5)
    assert reads == [sample_scan.snapshot] and verified.top_fixes == sample_scan.analysis.top_fixes
    assert verified.to_dict()["findings"] == on_tables.to_dict()["findings"]


def test_recorded_fixes_that_are_damaged_are_verified_again_and_stay_out_of_findings_json(sample_scan):
    from crosspath.pipeline import recorded_fixes

    _, metadata = read_snapshot(sample_scan.snapshot)
    exceptions = SAMPLES / "exceptions.yaml"
    assert recorded_fixes(metadata, None, exceptions, 5) == sample_scan.analysis.top_fixes
    damaged = {**metadata, "top_fixes": {"top": 5, "fixes": [{"rank": 1}]}}
    assert recorded_fixes(damaged, None, exceptions, 5) is None
    written = json.loads(sample_scan.outputs["json"].read_text(encoding="utf-8"))
    assert "top_fixes" not in written["snapshot"] and written["top_fixes"] == sample_scan.analysis.top_fixes


def test_an_exceptions_file_edited_while_the_scan_reads_it_stops_the_scan(tmp_path, monkeypatch):
    from crosspath import pipeline

    exceptions = tmp_path / "exceptions.yaml"
    exceptions.write_bytes((SAMPLES / "exceptions.yaml").read_bytes())
    real = pipeline.load_exceptions

    def edited_meanwhile(path):
        loaded = real(path)
        path.write_text(path.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
        return loaded
    monkeypatch.setattr(pipeline, "load_exceptions", edited_meanwhile)
    with pytest.raises(pipeline.ScanError, match="changed while it was being read"):
        scan(SAMPLES, tmp_path / "out", exceptions_path=exceptions)
    assert not (tmp_path / "out" / "snapshot.arrow").exists()


@pytest.fixture(scope="module")
def synthetic():
    from bench.synthetic_org import generate
    from graph.builder import build_graph

    graph = build_graph(generate(1500), AS_OF).graph
    policy = load_policy()
    engine = PathEngine(graph, policy)
    return graph, policy, engine, sorted(_open(analyze(graph, {}, policy, [], AS_OF, engine=engine)))


def test_the_analysis_engine_as_the_first_run_gives_the_same_fixes(synthetic):
    graph, policy, engine, open_ids = synthetic
    reused = find_fixes(graph, policy, open_ids, 5, as_of=AS_OF, engine=engine)
    fresh = find_fixes(graph, policy, open_ids, 5, as_of=AS_OF)
    assert len(fresh.fixes) == 5 and fresh.verified > 5  # several picks, each over several candidates
    assert (reused.fixes, reused.verified, reused.candidates) == (fresh.fixes, fresh.verified, fresh.candidates)


def test_candidates_kept_from_an_earlier_pick_are_what_a_fresh_collect_finds(synthetic, monkeypatch):
    from queries import fixes

    graph, policy, _, open_ids = synthetic
    collect = fixes._Candidates.collect
    compared = []

    def checked(self, paths):
        collect(self, paths)
        fresh = fixes._Candidates(self.graph, self.policy, self.as_of)
        collect(fresh, paths)
        assert (self.changes, self.on_paths, self.composed, self._givers) == (
            fresh.changes, fresh.on_paths, fresh.composed, fresh._givers)
        assert self._known.keys() == paths.keys()  # a finding that left is counted out
        compared.append(len(paths))

    monkeypatch.setattr(fixes._Candidates, "collect", checked)
    find_fixes(graph, policy, open_ids, 5, as_of=AS_OF)
    assert len(compared) == 5 and compared[0] > compared[-1]  # later picks saw kept paths and new ones


def test_a_verification_decides_each_target_class_as_the_whole_graph_does(synthetic, monkeypatch):
    """The verifications that compile share their target classes (a local run's subgraph holds what a
    resource's environment is decided from): deciding them afresh in every run gives the same classes."""
    from queries import fixes

    graph, policy, _, open_ids = synthetic
    gaps = fixes._gaps
    local_classes: dict = {}

    def unshared(graph_, policy_, nodes=None, classes=None):
        found = gaps(graph_, policy_, nodes)  # no sharing: every class decided in this run
        local_classes.update(found[0].classes_by_id())
        return found

    monkeypatch.setattr(fixes, "_gaps", unshared)
    monkeypatch.setattr(fixes._Verifier, "_on_arrays", lambda self, change: None)  # every verification compiles
    assert find_fixes(graph, policy, open_ids, 5, as_of=AS_OF).compiled > 5
    whole = PathEngine(graph, policy)
    whole.gap_paths()
    decided = whole.classes_by_id()
    assert len(local_classes) > 100 and {pair: decided.get(pair) for pair in local_classes} == local_classes


def _judged_both_ways(graph, policy, picks: int = 2) -> tuple[dict[str, int], int]:
    """Every candidate of the first collect, verified on the first run's arrays and by compiling the changed
    graph again, on the unchanged graph and after each of `picks` kept picks: the same findings close, and
    the same entries stay open for the same reasons. Returns the candidates compared by kind, and how many
    verifications on the arrays compiled anyway (composition)."""
    from queries import fixes

    base, gaps = fixes._gaps(graph, policy)
    entries = {fid: base.ids[gap.entry.node] for fid, gap in gaps.items()}
    candidates = fixes._Candidates(graph, policy, AS_OF)
    candidates.collect({fid: (base, gap) for fid, gap in sorted(gaps.items())})
    on_arrays, compiling = fixes._Verifier(graph, policy, True, base), fixes._Verifier(graph, policy, True, None)
    kinds: dict[str, int] = {}
    gone_nodes: set[str] = set()
    gone_edges: set = set()
    for _ in range(picks + 1):
        best, best_closed = None, set()
        for change in sorted(candidates.changes.values(), key=lambda c: c.order):
            if gone_nodes & ({*change.nodes} | {end for edge in change.edges for end in edge[:2]}) or \
                    gone_edges & set(change.edges):
                continue  # what a kept pick took away cannot change again
            check = candidates.touched(change) | set(sorted(gaps)[:5])  # and some the change does not touch
            closed, engine, found = on_arrays.closed(change, check, entries)
            again, other, found_again = compiling.closed(change, check, entries)
            assert closed == again, change.description
            assert {fid: (engine.ids[path.entry.identity], path.entry.mfa, path.no_mfa, path.long_lived)
                    for fid, path in found.items() if fid in check} == {
                fid: (other.ids[path.entry.identity], path.entry.mfa, path.no_mfa, path.long_lived)
                for fid, path in found_again.items() if fid in check}, change.description
            kinds[change.kind] = kinds.get(change.kind, 0) + 1
            if len(closed) > len(best_closed):
                best, best_closed = change, closed
        if best is None:
            break
        for keeper in (on_arrays, compiling, candidates):
            keeper.keep(best)
        if best.kind in ("delete_key", "rotate_key"):
            gone_nodes.update(best.nodes)
        elif best.kind.startswith("remove_"):
            gone_edges.update(best.edges)
    assert compiling.compiled == compiling.runs and graph is on_arrays.graph
    return kinds, on_arrays.compiled


def test_a_change_judged_on_the_arrays_closes_what_compiling_the_changed_graph_closes(synthetic, sample_scan):
    graph, policy, _, _ = synthetic
    kinds, compiled = _judged_both_ways(graph, policy)
    sample, _ = read_snapshot(sample_scan.snapshot)
    sample_kinds, _ = _judged_both_ways(sample, policy)
    shared, _ = _judged_both_ways(_org_shared_group().build().graph, policy)
    assert compiled == 0  # no composition in the synthetic organisation: every change judged on the arrays
    seen = {kind for found in (kinds, sample_kinds, shared) for kind in found}
    assert seen >= {"remove_membership", "remove_trust", "remove_grant", "enforce_mfa_edge", "enforce_mfa_entry",
                    "rotate_key"}


def test_a_change_to_a_composed_path_is_verified_by_compiling_again(tmp_path):
    from tests.techniques.aws_cases import allow
    from tests.test_composition import DEPLOY, _engine

    engine = _engine(tmp_path, [allow("iam:PutRolePolicy", DEPLOY), allow("sts:AssumeRole", DEPLOY)])
    graph, policy = engine.graph, engine.policy
    open_ids = sorted(_open(analyze(graph, {}, policy, [], AS_OF, engine=engine)))
    search = find_fixes(graph, policy, open_ids, 3, as_of=AS_OF, engine=engine)
    whole = find_fixes(graph, policy, open_ids, 3, as_of=AS_OF, local=False)
    assert search.fixes == whole.fixes
    kinds, compiled = _judged_both_ways(graph, policy)
    assert kinds["remove_grant"] and compiled > 0  # removing the permission write changes the composition


def test_touching_composition_is_decided_by_the_parties_to_a_permission_write(tmp_path):
    from queries.paths import Without
    from tests.techniques.aws_cases import allow
    from tests.test_composition import DEPLOY, _engine

    engine = _engine(tmp_path, [allow("iam:PutRolePolicy", DEPLOY), allow("sts:AssumeRole", DEPLOY)])
    assume = next(number for number, (u, v, data) in enumerate(engine.edges)
                  if data["kind"] == "CAN_ASSUME" and engine.ids[v] == f"aws:{DEPLOY}")
    assert engine.touches_composition(Without(edges=frozenset({assume})))
    plain = PathEngine(_org_shared_group().build().graph, load_policy())  # no permission writes at all
    assert not plain.touches_composition(Without(edges=frozenset(range(len(plain.edges)))))


def test_the_engine_given_must_be_on_the_graph_given(synthetic):
    graph, policy, engine, open_ids = synthetic
    with pytest.raises(ValueError, match="another graph"):
        find_fixes(graph.copy(), policy, open_ids, 1, engine=engine)
