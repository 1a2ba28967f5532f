"""The path picture: provider colours, edge kinds with `via` tooltips, MFA marks, key age."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from queries.reports.path_picture import AGE_BADGE, NODE_W, PROVIDER_COLORS, render_path_svg
from tests.reports.builders import SCRIPT_NAME, hostile_names, long_lived_key, no_mfa_cross_stack

SVG = "{http://www.w3.org/2000/svg}"


def parse(finding) -> ET.Element:
    return ET.fromstring(render_path_svg(finding))  # also proves the SVG is well-formed XML


def texts(svg: ET.Element) -> list[str]:
    return [el.text or "" for el in svg.iter(f"{SVG}text")]


def node_fills(svg: ET.Element) -> list[str]:
    return [rect.get("fill") for rect in svg.iter(f"{SVG}rect") if rect.get("width") == str(NODE_W)]


def test_nodes_run_left_to_right_coloured_by_provider():
    svg = parse(no_mfa_cross_stack())
    assert node_fills(svg) == [PROVIDER_COLORS["entra"]] * 2 + [PROVIDER_COLORS["aws"]] * 2
    xs = [float(rect.get("x")) for rect in svg.iter(f"{SVG}rect") if rect.get("width") == str(NODE_W)]
    assert xs == sorted(xs)
    assert PROVIDER_COLORS == {"aws": "#FF9900", "entra": "#0078D4", "gcp": "#34A853", "k8s": "#3F51B5",
                               "postgres": "#6A5ACD", "mysql": "#008080", "external": "#808080"}


def test_edges_are_labelled_by_kind_with_via_as_tooltip():
    svg = parse(no_mfa_cross_stack())
    assert {"MEMBER_OF", "CAN_ASSUME", "HAS_PERMISSION (write)"} <= set(texts(svg))
    titles = [el.text for el in svg.iter(f"{SVG}title")]
    assert "IAM Identity Center assignment ProdDeployer" in titles
    assert "permission set ProdDeployer: s3:PutObject\ns3:prefix = invoices/" in titles


def test_entry_without_mfa_gets_a_red_mark_and_no_lock_is_drawn():
    svg = parse(no_mfa_cross_stack())
    assert "no MFA" in texts(svg)
    assert any(rect.get("fill") == "#C62828" for rect in svg.iter(f"{SVG}rect"))
    assert "MFA" not in texts(svg) and next(svg.iter(f"{SVG}path"), None) is None  # no padlock


def test_edge_that_requires_mfa_shows_a_lock_and_unknown_mfa_shows_a_question_mark():
    script, formula = hostile_names()
    locked = parse(formula)
    assert "MFA" in texts(locked) and next(locked.iter(f"{SVG}path"), None) is not None  # the drawn padlock
    assert "MFA ?" in texts(parse(script))


def test_key_age_is_shown_on_the_entry():
    assert "key 600 days old, never expires" in texts(parse(long_lived_key()))
    assert not [t for t in texts(parse(no_mfa_cross_stack())) if "days old" in t]


def test_hostile_names_are_escaped_text():
    script, _ = hostile_names()
    raw = render_path_svg(script)
    assert "<script" not in raw
    svg = ET.fromstring(raw)
    assert next(svg.iter(f"{SVG}script"), None) is None
    assert any(SCRIPT_NAME in (title.text or "") for title in svg.iter(f"{SVG}title"))


def test_a_machine_key_shows_its_age_as_the_badge_and_no_mfa_badge():
    svg = parse(long_lived_key())  # a CI access key: a machine cannot answer MFA
    assert "no MFA" not in texts(svg) and "MFA ?" not in texts(svg)
    assert not any(rect.get("fill") == "#C62828" for rect in svg.iter(f"{SVG}rect"))
    assert "key 600 days old, never expires" in texts(svg)
    assert any(rect.get("fill") == AGE_BADGE for rect in svg.iter(f"{SVG}rect"))
    assert "no MFA" in texts(parse(no_mfa_cross_stack()))  # a person keeps the MFA badge
