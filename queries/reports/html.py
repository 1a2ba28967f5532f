"""report.html: the Markdown report's content as one self-contained page (inline CSS, no scripts,
no external assets), with a path picture for each of the top open findings.

Autoescape is on: node names come from customer data. The only markup passed in unescaped is
the SVG from path_picture, which escapes every text it draws.
"""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from graph.techniques import References, technique_anchor
from queries.findings import GAP_TYPES, SEVERITIES, Analysis
from queries.reports.coverage_text import coverage
from queries.reports.describe import (
    FIXES_NOTE,
    TOP_PICTURES,
    counts_text,
    exception_counts_text,
    exception_states_text,
    finding_views,
    fix_cut_text,
    short_list,
)
from queries.reports.path_picture import PROVIDER_COLORS, render_path_svg

_ENV = Environment(
    loader=PackageLoader("queries.reports", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(analysis: Analysis) -> str:
    open_views, excepted_views = finding_views(analysis)
    pictures = {view.finding.id: Markup(render_path_svg(view.finding)) for view in open_views[:TOP_PICTURES]}
    rows = coverage(analysis)
    return _ENV.get_template("report.html.j2").render(
        analysis=analysis,
        meta=analysis.metadata or {},
        summary=analysis.summary(),
        coverage=rows,
        coverage_gaps=[row.statement for row in rows if not row.complete],
        open_views=open_views,
        excepted_views=excepted_views,
        pictures=pictures,
        top_pictures=TOP_PICTURES,
        gap_types=GAP_TYPES,
        severities=list(reversed(SEVERITIES)),
        provider_colors=PROVIDER_COLORS,
        short_list=short_list,
        counts_text=counts_text,
        techniques=[analysis.techniques[t] for t in sorted(analysis.techniques)],
        anchor=technique_anchor,
        references=lambda entry: References.from_dict(entry["references"]).labelled(),
        zip=zip,
        exception_counts=exception_counts_text(analysis),
        states_text=exception_states_text,
        fixes_note=FIXES_NOTE,
        fix_cut=fix_cut_text,
    )
